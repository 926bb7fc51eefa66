package dataapi

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"net"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/s2segment/s2segment/internal/wait"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestRetriesAndFinalAnswers(t *testing.T) {
	date := time.Date(2025, 6, 1, 12, 0, 3, 0, time.UTC).Format(http.TimeFormat) // fake clock + 3 s
	tests := []struct {
		name     string
		steps    []step
		edit     func(*Config)
		attempts int
		waits    []time.Duration
		check    func(t *testing.T, err error)
	}{
		{name: "429 with Retry-After seconds", steps: []step{status(429, "slow down", "Retry-After", "2"), execOK},
			attempts: 2, waits: []time.Duration{2 * time.Second}},
		{name: "429 with Retry-After date", steps: []step{status(429, "", "Retry-After", date), execOK},
			attempts: 2, waits: []time.Duration{3 * time.Second}},
		{name: "503 then success", steps: []step{status(503, "busy"), status(503, "busy"), execOK},
			attempts: 3, waits: []time.Duration{50 * time.Millisecond, 100 * time.Millisecond}},
		{name: "500 502 504 408 then success", steps: []step{status(500, ""), status(502, ""), status(504, ""), status(408, ""), execOK},
			edit: func(c *Config) { c.MaxAttempts = 5 }, attempts: 5,
			waits: []time.Duration{50 * time.Millisecond, 100 * time.Millisecond, 200 * time.Millisecond, 400 * time.Millisecond}},
		{name: "503 until attempts run out", steps: []step{status(503, "Error 2205: partitions offline")},
			attempts: 4, waits: []time.Duration{50 * time.Millisecond, 100 * time.Millisecond, 200 * time.Millisecond},
			check: func(t *testing.T, err error) {
				var ae *APIError
				require.ErrorAs(t, err, &ae)
				assert.Equal(t, APIError{Path: pathExec, StatusCode: 503, Errno: 2205, Message: "partitions offline", Retryable: true, Attempts: 4}, withoutKind(ae))
				assert.Equal(t, "dataapi: /api/v2/exec: 503 Service Unavailable: Error 2205: partitions offline (after 4 attempts)", err.Error())
			}},
		{name: "Retry-After beyond MaxRetryTime", steps: []step{status(429, "", "Retry-After", "3600"), execOK},
			attempts: 1, check: func(t *testing.T, err error) {
				var ae *APIError
				require.ErrorAs(t, err, &ae)
				assert.True(t, ae.Retryable)
				assert.Equal(t, 429, ae.StatusCode)
			}},
		{name: "connection reset then success", steps: []step{reset, execOK}, attempts: 2,
			waits: []time.Duration{50 * time.Millisecond}},
		{name: "timeout then success", steps: []step{stall, execOK}, edit: func(c *Config) { c.Timeout = 100 * time.Millisecond },
			attempts: 2, waits: []time.Duration{50 * time.Millisecond}},
		{name: "401 is final", steps: []step{status(401, "Access denied for user 'admin'", "WWW-Authenticate", "Basic")}, attempts: 1,
			check: func(t *testing.T, err error) {
				assert.ErrorIs(t, err, ErrUnauthorized)
				assert.NotErrorIs(t, err, ErrRequestTooLarge)
			}},
		{name: "403 is final", steps: []step{status(403, "Error 1142 (42000): INSERT command denied")}, attempts: 1,
			check: func(t *testing.T, err error) { assert.ErrorIs(t, err, ErrForbidden) }},
		{name: "400 SQL error is final", steps: []step{status(400, "Error 1146 (42S02): Table 'db.t' doesn't exist\n")}, attempts: 1,
			check: func(t *testing.T, err error) {
				var ae *APIError
				require.ErrorAs(t, err, &ae)
				assert.Equal(t, APIError{Path: pathExec, StatusCode: 400, Errno: 1146, SQLState: "42S02", Message: "Table 'db.t' doesn't exist", Attempts: 1}, withoutKind(ae))
				assert.Equal(t, "dataapi: /api/v2/exec: 400 Bad Request: Error 1146 (42S02): Table 'db.t' doesn't exist", err.Error())
			}},
		{name: "413 is final", steps: []step{status(413, "")}, attempts: 1,
			check: func(t *testing.T, err error) { assert.ErrorIs(t, err, ErrRequestTooLarge) }},
		{name: "400 body too large is final", steps: []step{status(400, "Error reading request body: http: request body too large")}, attempts: 1,
			check: func(t *testing.T, err error) { assert.ErrorIs(t, err, ErrRequestTooLarge) }},
		{name: "501 is not retried", steps: []step{status(501, "not implemented"), execOK}, attempts: 1,
			check: func(t *testing.T, err error) {
				var ae *APIError
				require.ErrorAs(t, err, &ae)
				assert.False(t, ae.Retryable)
			}},
		{name: "505 is not retried", steps: []step{status(505, ""), execOK}, attempts: 1, check: apiStatus(505, false)},
		{name: "404 is not retried", steps: []step{status(404, ""), execOK}, attempts: 1, check: apiStatus(404, false)},
		{name: "retries off", steps: []step{status(503, ""), execOK}, edit: func(c *Config) { c.MaxAttempts = 1 }, attempts: 1,
			check: apiStatus(503, true)},
		{name: "error object in a 200", steps: []step{ok(`{"error":{"code":1062,"message":"Duplicate entry 'x' for key 'PRIMARY'"}}`)}, attempts: 1,
			check: func(t *testing.T, err error) {
				var ae *APIError
				require.ErrorAs(t, err, &ae)
				assert.Equal(t, APIError{Path: pathExec, StatusCode: 200, Errno: 1062, Message: "Duplicate entry 'x' for key 'PRIMARY'", Attempts: 1}, withoutKind(ae))
			}},
		{name: "unreadable 200 is not retried", steps: []step{ok(`<html>`), execOK}, attempts: 1,
			check: func(t *testing.T, err error) { assert.ErrorIs(t, err, ErrUnexpectedResponse) }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := &fakeAPI{steps: tc.steps}
			c, clock, _ := serve(t, f, tc.edit)
			res, err := c.Exec(context.Background(), "INSERT INTO t VALUES (?)", 1)
			assert.Equal(t, tc.attempts, f.attempts(), "attempts")
			assert.Equal(t, tc.waits, clock.slept(), "waits")
			st := c.Stats()
			assert.Equal(t, int64(tc.attempts), st.Requests)
			assert.Equal(t, int64(len(tc.waits)), st.Retries)
			if tc.check == nil {
				require.NoError(t, err)
				assert.Equal(t, ExecResult{RowsAffected: 1}, res)
				assert.Equal(t, int64(0), st.Failures)
				return
			}
			require.Error(t, err)
			assert.Equal(t, int64(1), st.Failures)
			tc.check(t, err)
		})
	}
}

func apiStatus(code int, retryable bool) func(*testing.T, error) {
	return func(t *testing.T, err error) {
		var ae *APIError
		require.ErrorAs(t, err, &ae)
		assert.Equal(t, code, ae.StatusCode)
		assert.Equal(t, retryable, ae.Retryable)
		assert.Equal(t, http.StatusText(code), ae.Message, "an empty body gives the status text")
	}
}

func withoutKind(e *APIError) APIError {
	v := *e
	v.kind = nil
	return v
}

func TestCancelledContextIsNeverRetried(t *testing.T) {
	f := &fakeAPI{steps: []step{status(503, "", "Retry-After", "600")}}
	c, _, _ := serve(t, f, func(c *Config) { c.MaxRetryTime = time.Hour })
	ctx, cancel := context.WithCancel(context.Background())
	c.sleep = func(ctx context.Context, d time.Duration) error {
		cancel() // the caller gives up during the wait
		return wait.Sleep(ctx, d)
	}
	_, err := c.Exec(ctx, "SELECT 1")
	require.ErrorIs(t, err, context.Canceled)
	var ae *APIError
	assert.ErrorAs(t, err, &ae, "the last answer is kept")
	assert.Equal(t, 1, f.attempts())

	_, err = c.Exec(ctx, "SELECT 1")
	assert.ErrorIs(t, err, context.Canceled)
	assert.Equal(t, 1, f.attempts(), "a done context sends nothing")
	assert.False(t, DefaultRetryPolicy(ctx, &http.Response{StatusCode: 503}, nil))
}

func TestMaxInFlight(t *testing.T) {
	var cur, peak atomic.Int32
	f := &fakeAPI{steps: []step{func(w http.ResponseWriter, r *http.Request, b []byte) {
		n := cur.Add(1)
		for {
			p := peak.Load()
			if n <= p || peak.CompareAndSwap(p, n) {
				break
			}
		}
		time.Sleep(20 * time.Millisecond)
		cur.Add(-1)
		execOK(w, r, b)
	}}}
	c, _, _ := serve(t, f, func(c *Config) { c.MaxInFlight = 2 })
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			_, err := c.Exec(context.Background(), "SELECT 1")
			assert.NoError(t, err)
		})
	}
	wg.Wait()
	assert.Equal(t, 8, f.attempts())
	assert.LessOrEqual(t, peak.Load(), int32(2))
}

func TestWaitingForASlotHonoursContext(t *testing.T) {
	release := make(chan struct{})
	f := &fakeAPI{steps: []step{func(w http.ResponseWriter, r *http.Request, b []byte) {
		<-release
		execOK(w, r, b)
	}}}
	c, _, _ := serve(t, f, func(c *Config) { c.MaxInFlight = 1 })
	done := make(chan error)
	go func() {
		_, err := c.Exec(context.Background(), "SELECT 1")
		done <- err
	}()
	require.Eventually(t, func() bool { return f.attempts() == 1 }, 5*time.Second, time.Millisecond)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	_, err := c.Exec(ctx, "SELECT 2")
	assert.ErrorIs(t, err, context.DeadlineExceeded)
	close(release)
	assert.NoError(t, <-done)
	assert.Equal(t, 1, f.attempts(), "the second call never got a slot")
}

func TestExecSendsStatement(t *testing.T) {
	f := &fakeAPI{steps: []step{ok(`{"lastInsertId":7,"rowsAffected":2}`)}}
	c, _, _ := serve(t, f, nil)
	res, err := c.Exec(context.Background(), "INSERT INTO t VALUES (?, ?, ?, ?)",
		"a<b>", json.Number("12345678901234567890"), nil, json.RawMessage(`{"k":[1,2]}`))
	require.NoError(t, err)
	assert.Equal(t, ExecResult{LastInsertID: 7, RowsAffected: 2}, res)
	r := f.req(0)
	assert.Equal(t, http.MethodPost, r.method)
	assert.Equal(t, "/api/v2/exec", r.path)
	assert.Equal(t, "application/json", r.contentType)
	assert.Equal(t, "Basic "+base64.StdEncoding.EncodeToString([]byte("admin:pw")), r.auth)
	assert.JSONEq(t, `{"sql":"INSERT INTO t VALUES (?, ?, ?, ?)","database":"db","args":["a<b>",12345678901234567890,null,{"k":[1,2]}]}`, string(r.body))
	assert.Equal(t, int64(len(r.body)), c.Stats().BytesSent)

	_, err = c.Exec(context.Background(), "SELECT ?", make(chan int))
	assert.ErrorContains(t, err, "dataapi: encoding arguments")
}

func TestExecBodyIsSentAsIs(t *testing.T) {
	f := &fakeAPI{steps: []step{execOK}}
	c, _, _ := serve(t, f, nil)
	body := []byte(`{"sql":"INSERT INTO t VALUES (?)","database":"other","args":[1]}`)
	_, err := c.ExecBody(context.Background(), body)
	require.NoError(t, err)
	assert.Equal(t, string(body), string(f.req(0).body))
}

func TestQueries(t *testing.T) {
	f := &fakeAPI{steps: []step{
		ok(`{"results":[{"rows":[{"id":12345678901234567890,"doc":{"a":1},"s":"x"},{"id":2,"doc":null,"s":null}]}]}`),
		ok(`{"results":[{"columns":[{"name":"id","dataType":"BIGINT UNSIGNED","nullable":false},{"name":"s","dataType":"TEXT","nullable":true}],"rows":[[12345678901234567890,"x"],[2,null]]}]}`),
		ok(`{"results":[{"rows":[]}]}`),
		ok(`{"results":[]}`),
	}}
	c, _, _ := serve(t, f, nil)
	ctx := context.Background()
	rows, err := c.QueryRows(ctx, "SELECT * FROM t WHERE id > ?", 0)
	require.NoError(t, err)
	require.Len(t, rows, 2)
	assert.Equal(t, "12345678901234567890", string(rows[0]["id"]))
	assert.Equal(t, `{"a":1}`, string(rows[0]["doc"]))
	assert.Equal(t, "null", string(rows[1]["s"]))
	assert.Equal(t, "/api/v2/query/rows", f.req(0).path)

	tu, err := c.QueryTuples(ctx, "SELECT id, s FROM t")
	require.NoError(t, err)
	assert.Equal(t, []Column{{"id", "BIGINT UNSIGNED", false}, {"s", "TEXT", true}}, tu.Columns)
	assert.Equal(t, "12345678901234567890", string(tu.Rows[0][0]))
	assert.Equal(t, "/api/v2/query/tuples", f.req(1).path)

	rows, err = c.QueryRows(ctx, "SELECT 1 WHERE 0")
	require.NoError(t, err)
	assert.Empty(t, rows)
	tu, err = c.QueryTuples(ctx, "SELECT 1 WHERE 0")
	require.NoError(t, err)
	assert.Empty(t, tu.Rows)
}

func TestPing(t *testing.T) {
	f := &fakeAPI{steps: []step{ok("pong"), ok("nope"), status(503, "")}}
	c, _, _ := serve(t, f, nil)
	ctx := context.Background()
	require.NoError(t, c.Ping(ctx))
	assert.Equal(t, "/ping", f.req(0).path)
	assert.Equal(t, http.MethodGet, f.req(0).method)
	assert.Empty(t, f.req(0).auth, "ping sends no credentials")
	assert.ErrorIs(t, c.Ping(ctx), ErrUnexpectedResponse)
	var ae *APIError
	assert.ErrorAs(t, c.Ping(ctx), &ae)
	assert.Equal(t, 3, f.attempts(), "ping makes one attempt")
}

func TestRedirectIsNotFollowed(t *testing.T) {
	var elsewhere atomic.Int32
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { elsewhere.Add(1) }))
	defer other.Close()
	f := &fakeAPI{steps: []step{status(307, "", "Location", other.URL+"/api/v2/exec")}}
	c, _, _ := serve(t, f, nil)
	_, err := c.Exec(context.Background(), "SELECT 1")
	var ae *APIError
	require.ErrorAs(t, err, &ae)
	assert.Equal(t, 307, ae.StatusCode)
	assert.Equal(t, int32(0), elsewhere.Load())
	assert.Equal(t, 1, f.attempts())
}

func TestConnectionsAreReused(t *testing.T) {
	f := &fakeAPI{steps: []step{execOK}}
	var conns atomic.Int32
	srv := httptest.NewUnstartedServer(f)
	srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			conns.Add(1)
		}
	}
	srv.Start()
	defer srv.Close()
	c, _ := clientFor(t, srv, nil)
	for range 10 {
		_, err := c.Exec(context.Background(), "SELECT 1")
		require.NoError(t, err)
	}
	assert.Equal(t, int32(1), conns.Load())
}
