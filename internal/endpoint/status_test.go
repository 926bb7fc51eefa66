package endpoint

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func statusGet(t *testing.T, url, token string) (int, []byte) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, url, nil)
	require.NoError(t, err)
	if token != "" {
		req.SetBasicAuth("anyone", token)
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp.StatusCode, b
}

func TestStatusRoutes(t *testing.T) {
	sink := SinkFunc(func(_ context.Context, events [][]byte) []Result {
		out := make([]Result, len(events))
		for i, e := range events {
			switch {
			case strings.Contains(string(e), `"skip"`):
				out[i] = Result{Status: 400, Message: "not selected", Filtered: true}
			case strings.Contains(string(e), `"bad"`):
				out[i] = Result{Status: 400, ErrorType: "PAYLOAD_VALIDATION_FAILED", Message: "bad event"}
			case strings.Contains(string(e), `"down"`):
				out[i] = Result{Status: 503, Message: "database unavailable", Retryable: true}
			default:
				out[i] = Result{Status: 200}
			}
		}
		return out
	})
	s, err := New(Config{Sources: []Source{{Name: "web", WriteKey: "wk_status_secret", Sink: sink}}, AdminToken: "tok_status"})
	require.NoError(t, err)
	ts := httptest.NewServer(s.Handler())
	defer ts.Close()

	status, _ := statusGet(t, ts.URL+"/status", "")
	assert.Equal(t, http.StatusNotFound, status, "no status page until enabled")

	s.EnableStatus(StatusOptions{Sources: []string{"web"},
		Try: func(_ context.Context, source string, event []byte) (json.RawMessage, error) {
			return json.Marshal(map[string]any{"source": source, "echo": json.RawMessage(event)})
		}})
	for _, ev := range []string{"ok", "ok", "skip", "bad", "down"} {
		req, _ := http.NewRequest(http.MethodPost, ts.URL+"/v1/track", strings.NewReader(`{"type":"track","event":"`+ev+`","userId":"u"}`))
		req.SetBasicAuth("wk_status_secret", "")
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		resp.Body.Close()
	}

	status, _ = statusGet(t, ts.URL+"/status.json", "")
	assert.Equal(t, http.StatusUnauthorized, status)
	status, _ = statusGet(t, ts.URL+"/status.json", "wrong")
	assert.Equal(t, http.StatusUnauthorized, status)

	admin := httptest.NewServer(s.AdminHandler())
	defer admin.Close()
	status, _ = statusGet(t, admin.URL+"/status.json", "")
	assert.Equal(t, http.StatusOK, status, "the admin address needs no token")

	status, page := statusGet(t, ts.URL+"/status", "tok_status")
	require.Equal(t, http.StatusOK, status)
	assert.Contains(t, string(page), "<title>s2segment status</title>")
	for _, external := range []string{"<link", "src=", "href=", "@import", "url("} {
		assert.NotContains(t, string(page), external, "no external assets")
	}

	status, body := statusGet(t, ts.URL+"/status.json", "tok_status")
	require.Equal(t, http.StatusOK, status, string(body))
	assert.NotContains(t, string(body), "wk_status_secret")
	assert.NotContains(t, string(body), "tok_status")
	var snap statusSnapshot
	require.NoError(t, json.Unmarshal(body, &snap))
	require.Len(t, snap.Series, 1)
	se := snap.Series[0]
	assert.Equal(t, "web", se.Source)
	assert.Equal(t, "send", se.Action)
	assert.Equal(t, statusCounts{Received: 5, Written: 2, Filtered: 1, Rejected: 1, Failed: 1}, se.Totals)
	assert.Len(t, se.Written, statusMinutes)
	assert.Equal(t, int64(2), se.Written[statusMinutes-1], "this minute is the last bucket")
	require.Len(t, snap.Failures, 2)
	assert.Equal(t, "database unavailable", snap.Failures[0].Message, "newest first")
	assert.True(t, snap.Failures[0].Retryable)
	assert.Equal(t, "bad event", snap.Failures[1].Message)
	assert.Positive(t, snap.Latency.Count)
	assert.True(t, snap.Try)

	req, _ := http.NewRequest(http.MethodPost, ts.URL+"/status/try", strings.NewReader(`{"source":"web","event":{"type":"track"}}`))
	req.Header.Set("Authorization", "Bearer tok_status")
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	assert.Equal(t, http.StatusOK, resp.StatusCode)
	assert.JSONEq(t, `{"source":"web","echo":{"type":"track"}}`, string(b))
}

// TestStatusRecorderWindow: minutes older than an hour drop out, and the
// failures kept are bounded.
func TestStatusRecorderWindow(t *testing.T) {
	now := time.Date(2026, 1, 1, 12, 0, 30, 0, time.UTC)
	r := newStatusRecorder(func() time.Time { return now })
	r.record("a", "track", []Result{{Status: 200}, {Status: 400, Message: "x"}})
	now = now.Add(30 * time.Minute)
	r.record("a", "track", []Result{{Status: 200}})
	snap := r.snapshot()
	require.Len(t, snap.Series, 1)
	assert.Equal(t, int64(2), snap.Series[0].Totals.Written)
	assert.Equal(t, int64(1), snap.Series[0].Written[statusMinutes-31])

	now = now.Add(45 * time.Minute) // the first minute is now 75 minutes old
	snap = r.snapshot()
	assert.Equal(t, int64(1), snap.Series[0].Totals.Written)
	assert.Empty(t, snap.Failures, "failures older than an hour are not shown")

	for range 3 * statusFailures {
		r.record("a", "track", []Result{{Status: 500, Retryable: true, Message: "down"}})
	}
	assert.Len(t, r.snapshot().Failures, statusFailures)
	r.observeWrite(10 * time.Millisecond)
	r.observeWrite(30 * time.Millisecond)
	l := r.snapshot().Latency
	assert.Equal(t, int64(2), l.Count)
	assert.Equal(t, 20.0, l.MeanMs)
	assert.Equal(t, 30.0, l.MaxMs)
}

// TestStatusNotOnMainAddressWithoutAdminToken: with no admin token the
// status page is only on the admin handler.
func TestStatusNotOnMainAddressWithoutAdminToken(t *testing.T) {
	s, err := New(Config{Sources: []Source{{Name: "web", WriteKey: "k", Sink: SinkFunc(nil)}}})
	require.NoError(t, err)
	s.EnableStatus(StatusOptions{})
	ts := httptest.NewServer(s.Handler())
	defer ts.Close()
	status, _ := statusGet(t, ts.URL+"/status", "anything")
	assert.Equal(t, http.StatusNotFound, status)
	admin := httptest.NewServer(s.AdminHandler())
	defer admin.Close()
	status, _ = statusGet(t, admin.URL+"/status", "")
	assert.Equal(t, http.StatusOK, status)
}
