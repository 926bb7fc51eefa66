package adapter

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"runtime"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/s2segment/s2segment/dataapi/emulator"
	"github.com/s2segment/s2segment/destination/singlestore"
	"github.com/s2segment/s2segment/internal/endpoint"
)

// countingSink counts the Write calls of a Sink.
type countingSink struct {
	*Sink
	calls atomic.Int64
}

func (c *countingSink) Write(ctx context.Context, events [][]byte) []endpoint.Result {
	c.calls.Add(1)
	return c.Sink.Write(ctx, events)
}

// BenchmarkServeSingleEvents posts one track event per request to /v1/track
// from 64 concurrent senders, through real HTTP, into a dedupe table of the
// emulator (embedded engine, and MariaDB when S2_TEST_MARIADB_DSN is set),
// every event with its own messageId. Modes: group commit with no linger
// (groups form while writes are in flight; serve's default), with a 2 ms
// linger (internal/endpoint's default), and without group commit (one write
// per request, the baseline). It reports events/s, the p50 and p99 latency
// of a request, and the events per database write.
//
// The embedded engine slows down as a table with a unique key grows, so run
// it with a fixed count: -benchtime=3000x.
func BenchmarkServeSingleEvents(b *testing.B) {
	const senders = 64
	for _, be := range backends() {
		for _, mode := range []struct {
			name  string
			group endpoint.GroupConfig
		}{
			{"group-commit-no-linger", endpoint.GroupConfig{Linger: endpoint.NoLinger, MaxEvents: singlestore.DefaultBatchSize}},
			{"group-commit-linger-2ms", endpoint.GroupConfig{Linger: 2 * time.Millisecond, MaxEvents: singlestore.DefaultBatchSize}},
			{"baseline-one-write-per-request", endpoint.GroupConfig{Disabled: true}},
		} {
			b.Run(be.name+"/"+mode.name, func(b *testing.B) {
				d := startEmulator(b, be, emulator.Faults{})
				table := "bench"
				d.createTable(b, table, singlestore.SchemaDedupe)
				conn := httpConn()
				conn.MaxInFlight = 16
				c, err := conn.NewClient(d.settings(table))
				if err != nil {
					b.Fatal(err)
				}
				inner, err := NewSink(singlestore.NewExecutor(c), SinkConfig{WriterConfig: singlestore.WriterConfig{Database: d.database, Table: table}})
				if err != nil {
					b.Fatal(err)
				}
				sink := &countingSink{Sink: inner}
				s, err := endpoint.New(endpoint.Config{Sources: []endpoint.Source{{WriteKey: "bench-key", Sink: sink}}, Group: mode.group})
				if err != nil {
					b.Fatal(err)
				}
				ts := httptest.NewServer(s.Handler())
				defer ts.Close()
				client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: senders, MaxConnsPerHost: senders}}
				defer client.CloseIdleConnections()

				var (
					seq       atomic.Int64
					mu        sync.Mutex
					latencies = make([]time.Duration, 0, b.N)
				)
				b.SetParallelism((senders + runtime.GOMAXPROCS(0) - 1) / runtime.GOMAXPROCS(0))
				b.ReportAllocs()
				b.ResetTimer()
				start := time.Now()
				b.RunParallel(func(pb *testing.PB) {
					var local []time.Duration
					for pb.Next() {
						id := "bench-" + strconv.FormatInt(seq.Add(1), 10)
						req, _ := http.NewRequest("POST", ts.URL+"/v1/track", bytes.NewReader(track(id)))
						req.SetBasicAuth("bench-key", "")
						t0 := time.Now()
						resp, err := client.Do(req)
						if err != nil {
							b.Error(err)
							return
						}
						_, _ = io.Copy(io.Discard, resp.Body)
						resp.Body.Close()
						local = append(local, time.Since(t0))
						if resp.StatusCode != 200 {
							b.Errorf("status %d", resp.StatusCode)
							return
						}
					}
					mu.Lock()
					latencies = append(latencies, local...)
					mu.Unlock()
				})
				elapsed := time.Since(start)
				b.StopTimer()
				_ = s.Shutdown(context.Background())
				if n := int64(len(latencies)); n > 0 {
					slices.Sort(latencies)
					b.ReportMetric(float64(n)/elapsed.Seconds(), "events/s")
					b.ReportMetric(ms(latencies[len(latencies)/2]), "p50-ms")
					b.ReportMetric(ms(latencies[len(latencies)*99/100]), "p99-ms")
					b.ReportMetric(float64(inner.Stats().Written)/float64(max(1, sink.calls.Load())), "events/write")
				}
				if st := inner.Stats(); st.Written != int64(len(latencies)) {
					b.Errorf("%d events acknowledged, %d written", len(latencies), st.Written)
				}
			})
		}
	}
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
