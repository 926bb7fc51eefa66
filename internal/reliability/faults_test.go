package reliability

import (
	"context"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/s2segment/s2segment/batch"
	"github.com/s2segment/s2segment/dataapi"
	"github.com/s2segment/s2segment/dataapi/emulator"
	"github.com/s2segment/s2segment/destination"
	"github.com/s2segment/s2segment/destination/singlestore"
	"github.com/s2segment/s2segment/internal/bench"
	"github.com/s2segment/s2segment/internal/endpoint"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/tidwall/gjson"
)

// faultCase is one row of the fault matrix.
type faultCase struct {
	name   string
	emu    emulator.Config
	plan   func(n int64) fault // the front's plan; nil: no front faults
	client func(*dataapi.Config)
	events bench.Generator
	n      int
	chunk  int // events per Write call
	rounds int
	// allWritten: every event must end written (the faults are transient
	// and the rounds enough); otherwise tooLarge names the events that must
	// fail with 413 and all others must be written.
	allWritten bool
	tooLarge   int // events whose single-row request exceeds this must fail with 413
	// check runs after the invariants with what the run saw.
	check func(t *testing.T, a *liveAPI, f *front, c *dataapi.Client, o *outcome)
}

// TestFaults drives events through singlestore.Writer (dedupe schema) to an
// emulator over loopback HTTP while faults are injected, re-driving
// retryable results, and checks that every event ends written exactly once
// or reported failed with a reason.
func TestFaults(t *testing.T) {
	skipShort(t, "the fault matrix")
	small := bench.Generator{Seed: 11, Size: bench.SizeSmall}
	cases := []faultCase{
		{
			name: "5xx bursts",
			// Two bursts of consecutive failures, longer than one call's
			// attempts: 500 and 502 without Retry-After, then 503 with one.
			plan: func(n int64) fault {
				switch {
				case n >= 5 && n < 15:
					return fault{status: []int{500, 502}[n%2]}
				case n >= 30 && n < 36:
					return fault{status: 503, retryAfter: "1"}
				}
				return fault{}
			},
			client: func(c *dataapi.Config) { c.MaxAttempts = 2 },
			events: small, n: 800, chunk: 20, rounds: 10, allWritten: true,
			check: func(t *testing.T, _ *liveAPI, f *front, _ *dataapi.Client, o *outcome) {
				assert.EqualValues(t, 16, f.injected.Load())
				assert.Greater(t, o.rounds, 1, "a burst longer than the client's attempts makes events retryable")
			},
		},
		{
			name: "429 with Retry-After",
			plan: func(n int64) fault {
				if n%9 == 4 {
					return fault{status: http.StatusTooManyRequests, retryAfter: "1"}
				}
				return fault{}
			},
			events: small, n: 600, chunk: 20, rounds: 10, allWritten: true,
			check: func(t *testing.T, _ *liveAPI, f *front, _ *dataapi.Client, _ *outcome) {
				assert.Positive(t, f.injected.Load())
			},
		},
		{
			name: "latency spikes past the client timeout",
			// Every request is delayed 1-40 ms by the emulator; every 11th
			// is held 1.5 s by the front, past the client's 1 s timeout,
			// and then runs anyway: the write may land after the client
			// gave up on it.
			emu: emulator.Config{Faults: emulator.Faults{Latency: time.Millisecond, LatencyMax: 40 * time.Millisecond, Seed: 3}},
			plan: func(n int64) fault {
				if n%11 == 5 {
					return fault{delay: 1500 * time.Millisecond}
				}
				return fault{}
			},
			client: func(c *dataapi.Config) { c.Timeout = time.Second },
			events: small, n: 600, chunk: 20, rounds: 10, allWritten: true,
			check: func(t *testing.T, _ *liveAPI, f *front, c *dataapi.Client, _ *outcome) {
				// On a loaded machine other requests may pass the 1 s
				// timeout too, so the retries are counted per held request.
				resent, held := f.resentHeld()
				assert.Positive(t, held)
				assert.Equal(t, held, resent, "each held request timed out and was sent again")
				assert.GreaterOrEqual(t, c.Stats().Retries, int64(held))
			},
		},
		{
			name:   "connection resets before the statement",
			emu:    emulator.Config{Faults: emulator.Faults{ResetRate: 0.15, Seed: 5}},
			events: small, n: 800, chunk: 20, rounds: 10, allWritten: true,
			check: func(t *testing.T, a *liveAPI, _ *front, _ *dataapi.Client, _ *outcome) {
				assert.Positive(t, a.emu.Stats().InjectedResets)
			},
		},
		{
			name: "resets and 500s after the statement ran",
			// The write lands but the client sees a failure and sends it
			// again: the dedupe schema must keep one row.
			emu:    emulator.Config{Faults: emulator.Faults{ResetRate: 0.1, FailRate: 0.1, FailStatus: 500, AfterExec: true, Seed: 7}},
			events: small, n: 800, chunk: 20, rounds: 10, allWritten: true,
			check: func(t *testing.T, a *liveAPI, _ *front, _ *dataapi.Client, _ *outcome) {
				s := a.emu.Stats()
				assert.Positive(t, s.InjectedResets)
				assert.Positive(t, s.InjectedFailures)
			},
		},
		{
			name: "413 from a low body limit",
			// Mixed events in batches of 50 (~150 KB) against a 32 KB limit:
			// every batch is refused and split down; an event whose
			// request alone is over 32 KB fails with 413, alone.
			emu:    emulator.Config{MaxBodyBytes: 32 << 10},
			events: bench.Generator{Seed: 13, Size: bench.SizeMixed}, n: 500, chunk: 50, rounds: 3,
			tooLarge: 32 << 10,
		},
		{
			name:   "413 answered as 400 request body too large",
			emu:    emulator.Config{MaxBodyBytes: 32 << 10, TooLargeStatus: http.StatusBadRequest},
			events: bench.Generator{Seed: 14, Size: bench.SizeMixed}, n: 300, chunk: 50, rounds: 3,
			tooLarge: 32 << 10,
		},
		{
			name: "restarts mid-run",
			// The HTTP server is stopped (listener and connections closed,
			// requests in flight cut) and started again on the same
			// address, twice; the engine keeps its data.
			plan: func(n int64) fault {
				if n == 10 || n == 35 {
					return fault{restart: 300 * time.Millisecond}
				}
				return fault{}
			},
			client: func(c *dataapi.Config) { c.MaxAttempts = 3; c.BackoffBase = 20 * time.Millisecond },
			events: small, n: 800, chunk: 20, rounds: 12, allWritten: true,
			check: func(t *testing.T, a *liveAPI, _ *front, _ *dataapi.Client, _ *outcome) {
				assert.EqualValues(t, 2, a.restarts.Load())
			},
		},
		{
			name: "everything at once",
			emu: emulator.Config{
				MaxBodyBytes: 100_000,
				Faults:       emulator.Faults{ResetRate: 0.05, FailRate: 0.05, FailStatus: 500, AfterExec: true, LatencyMax: 5 * time.Millisecond, Seed: 17},
			},
			plan: func(n int64) fault {
				switch {
				case n >= 4 && n < 8:
					return fault{status: 500}
				case n == 12:
					return fault{restart: 200 * time.Millisecond}
				case n == 15 || n == 22:
					return fault{status: http.StatusTooManyRequests, retryAfter: "1"}
				case n == 18 || n == 26:
					return fault{delay: 1500 * time.Millisecond}
				}
				return fault{}
			},
			client: func(c *dataapi.Config) { c.Timeout = time.Second; c.MaxAttempts = 3 },
			events: bench.Generator{Seed: 19, Size: bench.SizeMixed}, n: 800, chunk: 50, rounds: 12,
			tooLarge: 100_000,
			check: func(t *testing.T, a *liveAPI, f *front, c *dataapi.Client, _ *outcome) {
				assert.EqualValues(t, 1, a.restarts.Load())
				assert.EqualValues(t, 9, f.injected.Load(), "every front fault of the plan was injected")
				s := a.emu.Stats()
				assert.Positive(t, s.InjectedResets+s.InjectedFailures)
				assert.Positive(t, c.Stats().Splits, "batches over 100 KB were split")
			},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var f *front
			if tc.plan != nil {
				f = &front{plan: tc.plan}
			}
			a := newLiveAPI(t, tc.emu, f)
			table := "faults_" + strings.NewReplacer(" ", "_", "-", "_").Replace(tc.name)
			c := a.client(tc.client)
			w := newWriter(t, a.reader(), c, table, tc.chunk)
			events := tc.events.Events(0, tc.n)

			o := redrive(t, w, events, tc.chunk, 4, tc.rounds)
			if f != nil {
				f.running.Wait() // held requests may still write
			}
			t.Logf("%d events, %d rounds, %d sends, written %d, failures %v", len(events), o.rounds, o.sent, o.written(), o.failures())

			checkExactlyOnce(t, a.reader(), table, events, o)
			checkColumns(t, a.reader(), table, events)
			switch {
			case tc.allWritten:
				assert.Equal(t, len(events), o.written(), "transient faults: every event ends written; failures %v", o.failures())
			case tc.tooLarge > 0:
				checkTooLarge(t, w.Encoder(), table, events, o, tc.tooLarge)
			}
			if tc.check != nil {
				tc.check(t, a, f, c, o)
			}
		})
	}
}

// checkTooLarge checks that exactly the events whose request alone is over
// limit failed, each with 413 PAYLOAD_TOO_LARGE, and all others were written.
func checkTooLarge(t *testing.T, enc *singlestore.Encoder, table string, events [][]byte, o *outcome, limit int) {
	t.Helper()
	prefix, suffix, err := singlestore.InsertSQL(table, singlestore.SchemaDedupe)
	require.NoError(t, err)
	var (
		buf, row []byte
		p        destination.Payload
		big      int
	)
	for i, ev := range events {
		buf, err = enc.Process(buf[:0], ev, &p)
		require.NoError(t, err)
		row, err = enc.AppendRow(row[:0], &p)
		require.NoError(t, err)
		pk, err := batch.New(batch.Config{Prefix: prefix, Suffix: suffix, Columns: len(singlestore.Columns), Database: database})
		require.NoError(t, err)
		_, err = pk.Add(row, i)
		require.NoError(t, err)
		size := len(pk.Flush().Body())
		r := o.results[i]
		if size > limit {
			big++
			assert.Equal(t, http.StatusRequestEntityTooLarge, r.Status, "event %d (request of %d bytes)", i, size)
			assert.Equal(t, "PAYLOAD_TOO_LARGE", r.ErrorType, "event %d", i)
			assert.Contains(t, r.ErrorMessage, "too large", "event %d", i)
		} else {
			assert.True(t, r.OK(), "event %d (request of %d bytes) must be written: %d %s", i, size, r.Status, r.ErrorMessage)
		}
	}
	if limit < 40<<10 {
		assert.Positive(t, big, "the mix has events over the limit")
	}
}

// TestFaultsOutage stops the Data API for good halfway through: the events
// not written by then are all reported failed, retryable, with a reason;
// none is lost without one and none is written twice.
func TestFaultsOutage(t *testing.T) {
	skipShort(t, "the fault matrix")
	t.Parallel()
	var stopped atomic.Bool
	var f *front
	f = &front{plan: func(n int64) fault {
		if n == 15 && stopped.CompareAndSwap(false, true) {
			go f.api.stop()
		}
		return fault{}
	}}
	a := newLiveAPI(t, emulator.Config{}, f)
	w := newWriter(t, a.reader(), a.client(func(c *dataapi.Config) { c.MaxAttempts = 2 }), "outage", 20)
	events := bench.Generator{Seed: 23, Size: bench.SizeSmall}.Events(0, 600)
	o := redrive(t, w, events, 20, 4, 3)
	checkExactlyOnce(t, a.reader(), "outage", events, o)
	failed := 0
	for i, r := range o.results {
		if r.OK() {
			continue
		}
		failed++
		assert.True(t, r.Retryable(), "event %d: an unreachable Data API is worth retrying: %d %s", i, r.Status, r.ErrorType)
		assert.Contains(t, r.ErrorMessage, "Failed to insert data", "event %d", i)
	}
	assert.Positive(t, failed, "the outage left events unwritten")
	assert.Positive(t, o.written(), "events before the outage were written")
	assert.Equal(t, 3, o.rounds)
}

// TestFaultsThroughEndpoint sends single events to the hosted endpoint
// (internal/endpoint with group commit, a Writer as its Sink) while the Data
// API fails and resets connections after running statements. The sender
// sends again every event not acknowledged, as Segment does: an
// acknowledged event is always in the table, exactly once.
func TestFaultsThroughEndpoint(t *testing.T) {
	skipShort(t, "the fault matrix")
	t.Parallel()
	a := newLiveAPI(t, emulator.Config{Faults: emulator.Faults{FailRate: 0.1, FailStatus: 500, ResetRate: 0.05, AfterExec: true, Seed: 29}}, nil)
	// One attempt per Data API request and groups of at most 10 events:
	// the 400 events take at least 40 requests, so at least 40 fates are
	// drawn from the seeded sequence, and every injected fault reaches the
	// senders of its group. Which requests are grouped depends on timing;
	// that some faults reach a sender does not (the client's own retries,
	// which would hide them, are TestFaults' subject).
	w := newWriter(t, a.reader(), a.client(func(c *dataapi.Config) { c.MaxAttempts = 1 }), "endpoint", 100)
	sink := &writerSink{w: w}
	const key = "wk_reliability"
	srv, err := endpoint.New(endpoint.Config{
		Sources: []endpoint.Source{{Name: "rel", WriteKey: key, Sink: sink}},
		Group:   endpoint.GroupConfig{MaxEvents: 10},
	})
	require.NoError(t, err)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	done := make(chan error, 1)
	go func() { done <- srv.Serve(context.Background(), ln) }()
	defer func() {
		require.NoError(t, srv.Shutdown(context.Background()))
		<-done
	}()
	url := "http://" + ln.Addr().String() + "/v1/"
	client := &http.Client{Timeout: 30 * time.Second}

	events := bench.Generator{Seed: 31, Size: bench.SizeSmall}.Events(0, 400)
	acked := make([]bool, len(events))
	answers := map[int]int{}
	var mu sync.Mutex
	pending := make([]int, len(events))
	for i := range pending {
		pending[i] = i
	}
	for round := 0; round < 8 && len(pending) > 0; round++ {
		var (
			retry []int
			wg    sync.WaitGroup
			next  atomic.Int64
		)
		for range 16 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for {
					k := int(next.Add(1)) - 1
					if k >= len(pending) {
						return
					}
					i := pending[k]
					status, _ := post(t, client, url+gjson.GetBytes(events[i], "type").Str, key, events[i])
					mu.Lock()
					answers[status]++
					if status == http.StatusOK {
						acked[i] = true
					} else {
						retry = append(retry, i)
					}
					mu.Unlock()
				}
			}()
		}
		wg.Wait()
		pending = retry
	}
	t.Logf("answers: %v, unacknowledged after 8 rounds: %d", answers, len(pending))
	assert.Positive(t, answers[http.StatusInternalServerError]+answers[http.StatusServiceUnavailable], "faults reached the sender as retryable answers")

	counts := countByID(t, a.reader(), "endpoint")
	for i, ev := range events {
		id := gjson.GetBytes(ev, "messageId").Str
		_, rejected := sink.rejection(id)
		assert.False(t, rejected, "event %d: the Data API's faults are all retryable", i)
		if acked[i] {
			assert.Equal(t, 1, counts[id], "event %d (%s) was acknowledged: it must be in the table once", i, id)
		} else {
			assert.LessOrEqual(t, counts[id], 1, "event %d (%s)", i, id)
		}
	}
	for id, n := range counts {
		assert.Equal(t, 1, n, "messageId %s is in the table %d times", id, n)
	}
	assert.Empty(t, pending, "every event is acknowledged within 8 rounds")
}
