package endpoint

import (
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestMetricsPresentFromStart: the event and overload counters of every
// intake route are served at 0 before any request.
func TestMetricsPresentFromStart(t *testing.T) {
	s, err := New(Config{Sources: []Source{{Name: "web", WriteKey: "k", Sink: SinkFunc(nil)}}})
	require.NoError(t, err)
	ts := httptest.NewServer(s.Handler())
	defer ts.Close()
	resp, err := http.Get(ts.URL + "/metrics")
	require.NoError(t, err)
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	assert.Contains(t, string(b), `s2segment_server_overload_rejects_total{route="batch"} 0`)
	assert.Contains(t, string(b), `s2segment_server_events_total{result="written",route="track"} 0`)
	assert.Contains(t, string(b), `s2segment_server_events_total{result="failed",route="send"} 0`)
}
