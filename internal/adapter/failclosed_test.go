package adapter

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/s2segment/s2segment/destination"
	"github.com/s2segment/s2segment/internal/endpoint"
)

// TestForgottenResultIsNeverAcknowledged: a writer that forgets to set an
// event's result (status 0) makes the endpoint answer that event with a
// retryable non-2xx, through the shipped conversion (Results), never 200.
func TestForgottenResultIsNeverAcknowledged(t *testing.T) {
	forgetful := endpoint.SinkFunc(func(_ context.Context, events [][]byte) []endpoint.Result {
		ms := destination.NewMultiStatus(len(events))
		for i := range events {
			if i%2 == 0 { // writes the even events, forgets the odd ones
				ms.Succeed(i)
			}
		}
		return Results(ms, len(events), false)
	})
	srv, err := endpoint.New(endpoint.Config{
		Sources: []endpoint.Source{{Name: "s", WriteKey: "wk", Sink: forgetful}},
		Group:   endpoint.GroupConfig{Disabled: true},
	})
	require.NoError(t, err)
	ts := httptest.NewServer(srv.Handler())
	defer ts.Close()

	post := func(path, body string) (int, string) {
		req, _ := http.NewRequest(http.MethodPost, ts.URL+path, strings.NewReader(body))
		req.SetBasicAuth("wk", "")
		req.Header.Set("Content-Type", "application/json")
		resp, err := ts.Client().Do(req)
		require.NoError(t, err)
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	status, body := post("/v1/batch", `{"batch":[{"type":"track","event":"a","userId":"u","messageId":"m0"},{"type":"track","event":"b","userId":"u","messageId":"m1"}]}`)
	assert.GreaterOrEqual(t, status, 500, "the forgotten event is not acknowledged: %s", body)
	assert.Contains(t, body, "1 of 2 events could not be written yet")

	status, _ = post("/v1/track", `{"event":"a","userId":"u","messageId":"m0"}`)
	assert.Equal(t, http.StatusOK, status, "an event whose result is set is answered 200")

	// The conversion itself: unset and missing results are retryable 500s.
	rs := Results(&destination.MultiStatus{Results: []destination.Result{{}, {Status: 200}}}, 3, false)
	for _, i := range []int{0, 2} {
		assert.Equal(t, 500, rs[i].Status, "result %d", i)
		assert.True(t, rs[i].Retryable, "result %d", i)
	}
	assert.True(t, rs[1].OK())
}
