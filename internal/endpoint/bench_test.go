package endpoint

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// dbSink models a database behind a connection pool: at most conns Write
// calls run at once, and each costs one round trip, whatever its size. It
// writes nothing; it counts events and calls.
type dbSink struct {
	conns  chan struct{}
	rtt    time.Duration
	calls  atomic.Int64
	events atomic.Int64
}

func newDBSink(conns int, rtt time.Duration) *dbSink {
	return &dbSink{conns: make(chan struct{}, conns), rtt: rtt}
}

func (d *dbSink) Write(ctx context.Context, events [][]byte) []Result {
	d.conns <- struct{}{}
	defer func() { <-d.conns }()
	if d.rtt > 0 {
		time.Sleep(d.rtt)
	}
	d.calls.Add(1)
	d.events.Add(int64(len(events)))
	return failAll(len(events), Result{Status: 200})
}

// BenchmarkSingleEvents posts one track event per request from 64 concurrent
// senders through a real HTTP server, with group commit (the defaults) and
// without a linger (events group only while every write slot is busy), and
// without group commit (one Write per request, the baseline), against a sink
// with a pool of 4 connections and a round trip of 1 ms or none.
func BenchmarkSingleEvents(b *testing.B) {
	const senders = 64
	event := []byte(`{"userId":"user-1234","event":"Order Completed","messageId":"0b8d2a8e-6a53-4d5b-9a2e-5f8c3b1a7d90","timestamp":"2025-07-07T10:19:25.665Z","properties":{"orderId":"o-42","total":99.5,"currency":"EUR","products":[{"sku":"p-1","price":49.75,"quantity":2}]},"context":{"ip":"203.0.113.7","library":{"name":"analytics-go","version":"3.3.0"}}}`)
	for _, rtt := range []time.Duration{time.Millisecond, 0} {
		for _, mode := range []struct {
			name  string
			group GroupConfig
		}{
			{"group-commit", GroupConfig{}},
			{"group-commit-no-linger", GroupConfig{Linger: NoLinger}},
			{"baseline-one-write-per-request", GroupConfig{Disabled: true}},
		} {
			b.Run(fmt.Sprintf("rtt=%v/%s", rtt, mode.name), func(b *testing.B) {
				sink := newDBSink(4, rtt)
				s, err := New(Config{Sources: []Source{{WriteKey: testWriteKey, Sink: sink}}, Group: mode.group})
				if err != nil {
					b.Fatal(err)
				}
				ts := serve(b, s)
				client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: senders, MaxConnsPerHost: senders}}
				defer client.CloseIdleConnections()
				auth := basic(testWriteKey)["Authorization"]
				b.SetParallelism((senders + runtime.GOMAXPROCS(0) - 1) / runtime.GOMAXPROCS(0))
				b.ReportAllocs()
				b.ResetTimer()
				start := time.Now()
				b.RunParallel(func(pb *testing.PB) {
					for pb.Next() {
						req, _ := http.NewRequest("POST", ts.URL+"/v1/track", bytes.NewReader(event))
						req.Header.Set("Authorization", auth)
						resp, err := client.Do(req)
						if err != nil {
							b.Error(err)
							return
						}
						_, _ = io.Copy(io.Discard, resp.Body)
						resp.Body.Close()
						if resp.StatusCode != 200 {
							b.Errorf("status %d", resp.StatusCode)
							return
						}
					}
				})
				elapsed := time.Since(start)
				b.StopTimer()
				b.ReportMetric(float64(sink.events.Load())/elapsed.Seconds(), "events/s")
				b.ReportMetric(float64(sink.events.Load())/float64(max(1, sink.calls.Load())), "events/write")
			})
		}
	}
}

// BenchmarkEventChecks measures the per-event UTF-8 check against the
// body's JSON check (checkJSON: depth scan and gjson.ValidBytes), the
// baseline every body already pays, on a typical 330-byte track event and
// on a 16 KiB one with non-ASCII text.
func BenchmarkEventChecks(b *testing.B) {
	small := []byte(`{"userId":"user-1234","event":"Order Completed","messageId":"0b8d2a8e-6a53-4d5b-9a2e-5f8c3b1a7d90","timestamp":"2025-07-07T10:19:25.665Z","properties":{"orderId":"o-42","total":99.5,"currency":"EUR","products":[{"sku":"p-1","price":49.75,"quantity":2}]},"context":{"ip":"203.0.113.7","library":{"name":"analytics-go","version":"3.3.0"}}}`)
	large := []byte(`{"type":"track","properties":{"text":"` + strings.Repeat("Grüße aus Köln, 東京 😀 ", 600) + `"}}`)
	for _, ev := range []struct {
		name string
		data []byte
	}{{"330B", small}, {"16KiB-non-ascii", large}} {
		b.Run(ev.name+"/baseline-checkJSON", func(b *testing.B) {
			b.SetBytes(int64(len(ev.data)))
			b.ReportAllocs()
			for b.Loop() {
				if checkJSON(ev.data) != nil {
					b.Fatal("invalid")
				}
			}
		})
		b.Run(ev.name+"/checkUTF8", func(b *testing.B) {
			b.SetBytes(int64(len(ev.data)))
			b.ReportAllocs()
			for b.Loop() {
				if checkUTF8(ev.data, 0) != nil {
					b.Fatal("invalid")
				}
			}
		})
	}
}

// BenchmarkWebhookRefusal refuses a 4 MB webhook array with a wrong
// signature through the handler (no network), against the baseline of a
// handler that only reads the same body: the refusal costs the read, one
// HMAC-SHA1 over the bytes, and nothing that grows with the elements.
func BenchmarkWebhookRefusal(b *testing.B) {
	var body bytes.Buffer
	body.WriteByte('[')
	for i := 0; body.Len() < DefaultMaxBodyBytes-200; i++ {
		if i > 0 {
			body.WriteByte(',')
		}
		fmt.Fprintf(&body, `{"type":"identify","messageId":"f-%07d","userId":"attacker","traits":{"plan":"pro"}}`, i)
	}
	body.WriteByte(']')
	raw := body.Bytes()
	s, err := New(Config{Sources: []Source{{WebhookSecret: testSecret, Sink: newMemSink()}}})
	if err != nil {
		b.Fatal(err)
	}
	read := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.ReadAll(r.Body)
		w.WriteHeader(http.StatusUnauthorized)
	})
	for _, h := range []struct {
		name string
		h    http.Handler
	}{{"baseline-read-only", read}, {"wrong-signature", s.Handler()}} {
		b.Run(h.name, func(b *testing.B) {
			b.SetBytes(int64(len(raw)))
			b.ReportAllocs()
			for b.Loop() {
				req, _ := http.NewRequest(http.MethodPost, "/webhook", bytes.NewReader(raw))
				req.ContentLength = int64(len(raw))
				req.Header.Set(SignatureHeader, strings.Repeat("ab", 20))
				w := &discardWriter{h: http.Header{}}
				h.h.ServeHTTP(w, req)
				if w.code != http.StatusUnauthorized {
					b.Fatalf("answered %d", w.code)
				}
			}
		})
	}
}

// discardWriter is an http.ResponseWriter that keeps only the status.
type discardWriter struct {
	h    http.Header
	code int
}

func (w *discardWriter) Header() http.Header { return w.h }
func (w *discardWriter) Write(p []byte) (int, error) {
	if w.code == 0 {
		w.code = http.StatusOK
	}
	return len(p), nil
}
func (w *discardWriter) WriteHeader(code int) {
	if w.code == 0 {
		w.code = code
	}
}
