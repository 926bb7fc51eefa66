package reliability

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/s2segment/s2segment/dataapi"
	"github.com/s2segment/s2segment/dataapi/emulator"
	"github.com/s2segment/s2segment/destination"
	"github.com/s2segment/s2segment/destination/singlestore"
	"github.com/s2segment/s2segment/internal/adapter"
	"github.com/s2segment/s2segment/internal/endpoint"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/tidwall/gjson"
)

// database is the emulator's default database, where the suites write.
const database = emulator.DefaultDatabase

// liveAPI is an emulator served over real HTTP on a fixed loopback address,
// behind an optional fault-injecting front, that can be restarted: stop
// closes the listener and every open connection; start listens again on the
// same address. The emulator (its engine and data) lives across restarts.
type liveAPI struct {
	t    *testing.T
	emu  *emulator.Server
	h    http.Handler
	addr string

	mu       sync.Mutex
	hs       *http.Server
	restarts atomic.Int64
	// clean serves the same emulator without the front, for setup and
	// reading back; closing it closes the emulator.
	clean *emulator.Local
}

// newEmulator starts an emulator. emulator.New is safe to call from
// parallel tests: it serializes the embedded engine's construction itself.
func newEmulator(t *testing.T, cfg emulator.Config) *emulator.Server {
	t.Helper()
	emu, err := emulator.New(cfg)
	require.NoError(t, err)
	return emu
}

func newLiveAPI(t *testing.T, cfg emulator.Config, f *front) *liveAPI {
	t.Helper()
	clean, err := emulator.Listen(t.Context(), cfg)
	require.NoError(t, err)
	t.Cleanup(func() { _ = clean.Close() }) // after stop: cleanups run last first
	emu := clean.Server()
	a := &liveAPI{t: t, emu: emu, h: emu, clean: clean}
	if f != nil {
		f.next, f.api = emu, a
		a.h = f
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	a.addr = ln.Addr().String()
	a.serve(ln)
	t.Cleanup(a.stop)
	return a
}

func (a *liveAPI) serve(ln net.Listener) {
	hs := &http.Server{Handler: a.h, ReadHeaderTimeout: 10 * time.Second}
	a.mu.Lock()
	a.hs = hs
	a.mu.Unlock()
	go func() { _ = hs.Serve(ln) }()
}

// stop closes the HTTP server: the listener and every connection, idle or
// in flight.
func (a *liveAPI) stop() {
	a.mu.Lock()
	hs := a.hs
	a.hs = nil
	a.mu.Unlock()
	if hs != nil {
		_ = hs.Close()
	}
}

// start listens again on the same address.
func (a *liveAPI) start() {
	var err error
	for range 100 {
		var ln net.Listener
		if ln, err = net.Listen("tcp", a.addr); err == nil {
			a.serve(ln)
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	a.t.Errorf("restarting the Data API on %s: %v", a.addr, err)
}

// restart stops the server, waits down, and starts it again.
func (a *liveAPI) restart(down time.Duration) {
	a.stop()
	time.Sleep(down)
	a.start()
	a.restarts.Add(1)
}

// clientConfig returns the config of a client of the faulty address.
func (a *liveAPI) clientConfig() dataapi.Config {
	host, port, _ := net.SplitHostPort(a.addr)
	return dataapi.Config{
		Host: host, Port: port, Scheme: "http", User: "root", Database: database,
		MaxAttempts: 4, BackoffBase: 10 * time.Millisecond, BackoffMax: 200 * time.Millisecond,
		Timeout: 5 * time.Second,
	}
}

// client returns a client of the faulty address, configured by tweak.
func (a *liveAPI) client(tweak func(*dataapi.Config)) *dataapi.Client {
	cfg := a.clientConfig()
	if tweak != nil {
		tweak(&cfg)
	}
	c, err := dataapi.New(cfg)
	require.NoError(a.t, err)
	return c
}

// reader returns a client of the emulator without the front, retrying the
// emulator's own faults many times, for setup and reading back.
func (a *liveAPI) reader() *dataapi.Client {
	c, err := dataapi.New(dataapi.Config{
		Host: a.clean.Host(), Port: a.clean.Port(), Scheme: "http", User: "root", Database: database,
		MaxAttempts: 60, BackoffBase: time.Millisecond, BackoffMax: 5 * time.Millisecond,
	})
	require.NoError(a.t, err)
	return c
}

// fault is what the front does with one Data API request.
type fault struct {
	status     int           // answer with this status instead of passing it on
	retryAfter string        // Retry-After of that answer
	delay      time.Duration // wait this long first (the client may time out)
	restart    time.Duration // restart the server in the background, down this long
}

// front injects faults into the Data API requests it passes to the emulator,
// by the number of the request (1-based), from a plan.
type front struct {
	plan func(n int64) fault
	next http.Handler
	api  *liveAPI

	count, injected atomic.Int64
	// running counts the requests in the front's hands, held ones
	// included, so a test can wait for late writes to land before it
	// reads the table.
	running sync.WaitGroup

	// bodies counts the requests by body, and held lists the bodies of
	// the requests held past their delay, so a test can tell that each
	// held request was sent again, whatever else timed out on a loaded
	// machine.
	mu     sync.Mutex
	bodies map[[32]byte]int
	held   [][32]byte
}

// resentHeld returns how many held requests were sent again, and how many
// were held.
func (f *front) resentHeld() (resent, held int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, h := range f.held {
		if f.bodies[h] >= 2 {
			resent++
		}
	}
	return resent, len(f.held)
}

func (f *front) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if !strings.HasPrefix(r.URL.Path, "/api/") {
		f.next.ServeHTTP(w, r)
		return
	}
	f.running.Add(1)
	defer f.running.Done()
	body, _ := io.ReadAll(r.Body)
	r.Body = io.NopCloser(bytes.NewReader(body))
	sum := sha256.Sum256(body)
	ft := f.plan(f.count.Add(1))
	f.mu.Lock()
	if f.bodies == nil {
		f.bodies = map[[32]byte]int{}
	}
	f.bodies[sum]++
	if ft.delay > 0 {
		f.held = append(f.held, sum)
	}
	f.mu.Unlock()
	if ft.restart > 0 {
		f.injected.Add(1)
		go f.api.restart(ft.restart)
	}
	if ft.delay > 0 {
		// Hold the request, then run it even if the client has given up
		// meanwhile, as a slow server would: the write lands unseen.
		f.injected.Add(1)
		time.Sleep(ft.delay)
		r = r.WithContext(context.WithoutCancel(r.Context()))
	}
	if ft.status != 0 {
		f.injected.Add(1)
		_, _ = io.Copy(io.Discard, r.Body)
		if ft.retryAfter != "" {
			w.Header().Set("Retry-After", ft.retryAfter)
		}
		w.Header().Set("Content-Type", "text/plain")
		w.WriteHeader(ft.status)
		fmt.Fprintf(w, "Error 1105 (HY000): injected by the front (%d)", ft.status)
		return
	}
	f.next.ServeHTTP(w, r)
}

// newWriter returns a Writer of the dedupe table on exec, after creating the
// table through setup (a client that does not see the front's faults).
func newWriter(t *testing.T, setup, exec *dataapi.Client, table string, batchSize int) *singlestore.Writer {
	t.Helper()
	cfg := singlestore.WriterConfig{Database: database, Table: table, BatchSize: batchSize}
	ddl, err := singlestore.NewWriter(singlestore.NewExecutor(setup), cfg)
	require.NoError(t, err)
	require.NoError(t, ddl.CreateTable(context.Background()))
	w, err := singlestore.NewWriter(singlestore.NewExecutor(exec), cfg)
	require.NoError(t, err)
	return w
}

// outcome is the final result of every event of a run.
type outcome struct {
	results []destination.Result
	rounds  int
	sent    int // event sends over all rounds
}

func (o *outcome) written() int {
	n := 0
	for _, r := range o.results {
		if r.OK() {
			n++
		}
	}
	return n
}

// failures counts the failed events by status and error type.
func (o *outcome) failures() map[string]int {
	m := map[string]int{}
	for _, r := range o.results {
		if !r.OK() {
			m[fmt.Sprintf("%d %s", r.Status, r.ErrorType)]++
		}
	}
	return m
}

// redrive writes events with w in chunks, conc at a time, and drives the
// events whose result is retryable again, up to rounds times, as Segment's
// pipeline retries them. An event still failing after the last round keeps
// its last result: reported failed, with a reason.
func redrive(t *testing.T, w *singlestore.Writer, events [][]byte, chunk, conc, rounds int) *outcome {
	t.Helper()
	o := &outcome{results: make([]destination.Result, len(events))}
	pending := make([]int, len(events))
	for i := range pending {
		pending[i] = i
	}
	for round := 0; round < rounds && len(pending) > 0; round++ {
		if round > 0 {
			time.Sleep(min(time.Duration(round)*100*time.Millisecond, time.Second))
		}
		o.rounds++
		o.sent += len(pending)
		var (
			mu    sync.Mutex
			retry []int
			wg    sync.WaitGroup
			next  atomic.Int64
		)
		for range conc {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for {
					from := int(next.Add(int64(chunk))) - chunk
					if from >= len(pending) {
						return
					}
					idx := pending[from:min(from+chunk, len(pending))]
					evs := make([][]byte, len(idx))
					for k, i := range idx {
						evs[k] = events[i]
					}
					ms := w.Write(context.Background(), evs)
					mu.Lock()
					for k, i := range idx {
						r := ms.Results[k]
						r.Sent, r.Body = nil, nil
						o.results[i] = r
						if !r.OK() && r.Retryable() {
							retry = append(retry, i)
						}
					}
					mu.Unlock()
				}
			}()
		}
		wg.Wait()
		pending = retry
	}
	return o
}

// countByID reads back how many rows each messageId has.
func countByID(t *testing.T, c *dataapi.Client, table string) map[string]int {
	t.Helper()
	rows, err := c.QueryRows(context.Background(),
		"SELECT messageId AS id, COUNT(*) AS n FROM "+singlestore.QuoteIdentifier(table)+" GROUP BY messageId")
	require.NoError(t, err)
	out := make(map[string]int, len(rows))
	for _, r := range rows {
		var id string
		var n int
		require.NoError(t, json.Unmarshal(r["id"], &id))
		require.NoError(t, json.Unmarshal(r["n"], &n))
		out[id] = n
	}
	return out
}

// checkExactlyOnce checks the suites' invariant on a run: every event is
// either written exactly once, or reported failed with a reason (and then,
// unless the failure leaves it open whether the request landed, absent);
// nothing else is in the table and nothing is there twice.
func checkExactlyOnce(t *testing.T, c *dataapi.Client, table string, events [][]byte, o *outcome) {
	t.Helper()
	counts := countByID(t, c, table)
	ids := make(map[string]bool, len(events))
	for i, ev := range events {
		id := gjson.GetBytes(ev, "messageId").Str
		ids[id] = true
		r := o.results[i]
		switch {
		case r.OK():
			assert.Equal(t, 1, counts[id], "event %d (%s) reported written must be in the table once", i, id)
		case r.Retryable():
			assert.GreaterOrEqual(t, r.Status, 400, "event %d: a failure has a status", i)
			assert.NotEmpty(t, r.ErrorMessage, "event %d: a failure has a reason", i)
			assert.LessOrEqual(t, counts[id], 1, "event %d (%s) is never in the table twice", i, id)
		default:
			assert.GreaterOrEqual(t, r.Status, 400, "event %d: a failure has a status", i)
			assert.NotEmpty(t, r.ErrorMessage, "event %d: a failure has a reason", i)
			assert.Zero(t, counts[id], "event %d (%s) failed for good and must not be in the table", i, id)
		}
	}
	for id, n := range counts {
		assert.Equal(t, 1, n, "messageId %s is in the table %d times", id, n)
		assert.True(t, ids[id], "messageId %s in the table is not one of the events", id)
	}
}

// checkColumns reads back type and userId of every row and compares them
// with the events'.
func checkColumns(t *testing.T, c *dataapi.Client, table string, events [][]byte) {
	t.Helper()
	rows, err := c.QueryRows(context.Background(), "SELECT messageId, type, userId FROM "+singlestore.QuoteIdentifier(table))
	require.NoError(t, err)
	byID := make(map[string][]byte, len(events))
	for _, ev := range events {
		byID[gjson.GetBytes(ev, "messageId").Str] = ev
	}
	for _, r := range rows {
		var id string
		require.NoError(t, json.Unmarshal(r["messageId"], &id))
		ev := byID[id]
		if !assert.NotNil(t, ev, "row %s", id) {
			continue
		}
		assert.JSONEq(t, gjson.GetBytes(ev, "type").Raw, string(r["type"]), "type of %s", id)
		if u := gjson.GetBytes(ev, "userId"); u.Exists() {
			assert.JSONEq(t, u.Raw, string(r["userId"]), "userId of %s", id)
		} else {
			assert.Equal(t, "null", string(r["userId"]), "userId of %s", id)
		}
	}
}

// writerSink is the hosted endpoint's Sink over a Writer, converting
// results with the shipped conversion (adapter.Results), and remembering
// the events that failed for good.
type writerSink struct {
	w *singlestore.Writer

	mu       sync.Mutex
	rejected map[string]string // messageId → message of final failures
}

func (s *writerSink) Write(ctx context.Context, events [][]byte) []endpoint.Result {
	out := adapter.Results(s.w.Write(ctx, events), len(events), false)
	for i, res := range out {
		if !res.OK() && !res.Retryable {
			s.mu.Lock()
			if s.rejected == nil {
				s.rejected = map[string]string{}
			}
			s.rejected[gjson.GetBytes(events[i], "messageId").Str] = res.Message
			s.mu.Unlock()
		}
	}
	return out
}

func (s *writerSink) rejection(id string) (string, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	m, ok := s.rejected[id]
	return m, ok
}

// post sends body to url with the write key and returns the status and the
// answer.
func post(t *testing.T, client *http.Client, url, writeKey string, body []byte) (int, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, url, strings.NewReader(string(body)))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/json")
	if writeKey != "" {
		req.SetBasicAuth(writeKey, "")
	}
	resp, err := client.Do(req)
	if err != nil {
		return 0, err.Error()
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	return resp.StatusCode, string(b)
}

// skipShort skips a long suite under go test -short.
func skipShort(t *testing.T, what string) {
	t.Helper()
	if testing.Short() {
		t.Skipf("-short: %s runs in the full test command", what)
	}
}
