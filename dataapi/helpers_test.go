package dataapi

import (
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// step answers one attempt.
type step func(w http.ResponseWriter, r *http.Request, body []byte)

// fakeAPI is an httptest Data API that answers each request with the next
// step (the last one repeats) and records what it received.
type fakeAPI struct {
	t     *testing.T
	mu    sync.Mutex
	steps []step
	calls int
	reqs  []recorded
}

type recorded struct {
	method, path, auth, contentType string
	body                            []byte
}

func (f *fakeAPI) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		return
	}
	f.mu.Lock()
	i := f.calls
	f.calls++
	f.reqs = append(f.reqs, recorded{r.Method, r.URL.Path, r.Header.Get("Authorization"), r.Header.Get("Content-Type"), body})
	s := f.steps[min(i, len(f.steps)-1)]
	f.mu.Unlock()
	s(w, r, body)
}

func (f *fakeAPI) attempts() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.calls
}

func (f *fakeAPI) req(i int) recorded {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.reqs[i]
}

func (f *fakeAPI) all() []recorded {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]recorded(nil), f.reqs...)
}

func status(code int, body string, header ...string) step {
	return func(w http.ResponseWriter, _ *http.Request, _ []byte) {
		for i := 0; i+1 < len(header); i += 2 {
			w.Header().Set(header[i], header[i+1])
		}
		w.WriteHeader(code)
		_, _ = io.WriteString(w, body)
	}
}

func ok(body string) step {
	return func(w http.ResponseWriter, _ *http.Request, _ []byte) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, body)
	}
}

var execOK = ok(`{"lastInsertId":0,"rowsAffected":1}`)

// reset closes the connection without answering.
func reset(w http.ResponseWriter, _ *http.Request, _ []byte) {
	conn, _, err := w.(http.Hijacker).Hijack()
	if err != nil {
		panic(err)
	}
	if tc, ok := conn.(*net.TCPConn); ok {
		_ = tc.SetLinger(0) // RST rather than FIN
	}
	conn.Close()
}

// stall answers only after the client has given up.
func stall(_ http.ResponseWriter, r *http.Request, _ []byte) {
	select {
	case <-r.Context().Done():
	case <-time.After(10 * time.Second):
	}
}

// fakeClock replaces time in a Client: sleeps are recorded and advance
// the clock at once.
type fakeClock struct {
	mu    sync.Mutex
	t     time.Time
	waits []time.Duration
}

func (c *fakeClock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) sleep(ctx context.Context, d time.Duration) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.waits = append(c.waits, d)
	c.t = c.t.Add(d)
	return nil
}

func (c *fakeClock) slept() []time.Duration {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]time.Duration(nil), c.waits...)
}

// serve starts f on an httptest server and returns a client for it whose
// clock and sleeps are fake and whose jitter is 0.5.
func serve(t *testing.T, f *fakeAPI, edit func(*Config)) (*Client, *fakeClock, *httptest.Server) {
	t.Helper()
	f.t = t
	srv := httptest.NewServer(f)
	t.Cleanup(srv.Close)
	c, clock := clientFor(t, srv, edit)
	return c, clock, srv
}

func clientFor(t *testing.T, srv *httptest.Server, edit func(*Config)) (*Client, *fakeClock) {
	t.Helper()
	u, err := url.Parse(srv.URL)
	require.NoError(t, err)
	cfg := Config{Host: u.Hostname(), Port: u.Port(), Scheme: u.Scheme, User: "admin", Password: "pw", Database: "db"}
	if edit != nil {
		edit(&cfg)
	}
	c, err := New(cfg)
	require.NoError(t, err)
	clock := &fakeClock{t: time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)}
	c.now, c.sleep, c.jitter = clock.now, clock.sleep, func() float64 { return 0.5 }
	t.Cleanup(c.CloseIdleConnections)
	return c, clock
}
