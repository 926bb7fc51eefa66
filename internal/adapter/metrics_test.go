package adapter

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/s2segment/s2segment/destination/singlestore"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestClientMetrics counts real requests of two clients, one answered 503
// once (a retry), and keeps a retired client's figures in the sums.
func TestClientMetrics(t *testing.T) {
	var calls atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if calls.Add(1) == 1 {
			w.Header().Set("Retry-After", "0")
			http.Error(w, "busy", http.StatusServiceUnavailable)
			return
		}
		_, _ = w.Write([]byte(`{"lastInsertId":0,"rowsAffected":1}`))
	}))
	defer srv.Close()
	u, _ := url.Parse(srv.URL)

	m := NewClientMetrics()
	conn := Connection{Scheme: "http", Metrics: m}
	settings := singlestore.Settings{Host: u.Hostname(), Port: u.Port(), Username: "u", Password: "pw", DBName: "db"}
	a, err := conn.NewClient(settings)
	require.NoError(t, err)
	b, err := conn.NewClient(settings)
	require.NoError(t, err)

	_, err = a.Exec(context.Background(), "INSERT INTO t VALUES (1)")
	require.NoError(t, err)
	_, err = b.Exec(context.Background(), "INSERT INTO t VALUES (2)")
	require.NoError(t, err)

	got := m.Total()
	assert.Equal(t, int64(3), got.Requests, "two calls, one of them retried")
	assert.Equal(t, int64(1), got.Retries)

	m.Retire(a)
	m.Retire(a) // twice is harmless
	_, err = a.Exec(context.Background(), "INSERT INTO t VALUES (3)")
	require.NoError(t, err)
	assert.Equal(t, int64(3), m.Total().Requests, "a retired client's later work is not read, its earlier work stays")

	want := `
# HELP s2segment_dataapi_requests_total HTTP requests sent to Data APIs, retries and split halves included.
# TYPE s2segment_dataapi_requests_total counter
s2segment_dataapi_requests_total 3
# HELP s2segment_dataapi_retries_total Data API requests that were tried again after a transport error, 408, 429 or 5xx.
# TYPE s2segment_dataapi_retries_total counter
s2segment_dataapi_retries_total 1
`
	require.NoError(t, testutil.CollectAndCompare(m, strings.NewReader(want),
		"s2segment_dataapi_requests_total", "s2segment_dataapi_retries_total"))
}
