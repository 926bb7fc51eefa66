package main

import (
	"net/http"
	"runtime"
	"runtime/metrics"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/s2segment/s2segment/dataapi/emulator"
)

// serveLiveHeap returns the live heap after the last GC, in bytes.
func serveLiveHeap() uint64 {
	s := []metrics.Sample{{Name: "/gc/heap/live:bytes"}}
	metrics.Read(s)
	if s[0].Value.Kind() != metrics.KindUint64 {
		return 0
	}
	return s[0].Value.Uint64()
}

// TestServeLoadWithFaultsAndShutdown sends many single-event requests from 64
// concurrent senders through serve into an emulator that fails, resets and
// delays requests (after running them, so retries meet rows already
// written), stops serve as SIGTERM does half way through, and then checks
// that every acknowledged event is in the table exactly once, that no event
// is there twice, and that the live heap stayed bounded.
func TestServeLoadWithFaultsAndShutdown(t *testing.T) {
	total, senders := 4000, 64
	if testing.Short() {
		total = 1200
	}
	d := startServeDB(t, serveBackend{name: "embedded"}, emulator.Faults{
		FailRate: 0.05, FailStatus: 500, ResetRate: 0.03, AfterExec: true,
		Latency: time.Millisecond, LatencyMax: 5 * time.Millisecond, Seed: 42,
	})
	runtime.GC()
	baseHeap := serveLiveHeap()
	r := serveStart(t, append(d.flags(), "--write-key", serveTestKey, "--actions=false", "--log-level", "error",
		"--max-in-flight-bytes", strconv.Itoa(768<<10), "--max-batch-bytes", strconv.Itoa(256<<10), "--max-body-bytes", strconv.Itoa(256<<10))...)

	var (
		next, acked, refused atomic.Int64
		stopped              atomic.Bool
		mu                   sync.Mutex
		ackedIDs             = make(map[string]bool, total)
		peakHeap             atomic.Uint64
		wg                   sync.WaitGroup
	)
	sampleDone := make(chan struct{})
	go func() { // sample the live heap while the load runs
		defer close(sampleDone)
		for !stopped.Load() {
			if h := serveLiveHeap(); h > peakHeap.Load() {
				peakHeap.Store(h)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}()
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: senders}, Timeout: 30 * time.Second}
	defer client.CloseIdleConnections()
	auth := basicAuth(serveTestKey)["Authorization"]
	shutdownAt := int64(total / 2)
	// Each request carries 16 KB that the mapping does not write, so the
	// bytes through the server (64 MB in all) dwarf the table: a server
	// that held on to request bodies would show in the heap.
	padding := strings.Repeat("p", 16<<10)
	var overloaded atomic.Int64
	var shutdownOnce sync.Once

	for range senders {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				n := next.Add(1)
				if n > int64(total) {
					return
				}
				id := "load-" + strconv.FormatInt(n, 10)
				body := strings.Replace(serveEvent("track", id), "{", `{"padding":"`+padding+`",`, 1)
				for attempt := 0; attempt < 40; attempt++ {
					req, _ := http.NewRequest(http.MethodPost, r.url+"/v1/track", strings.NewReader(body))
					req.Header.Set("Authorization", auth)
					req.Header.Set("Content-Type", "application/json")
					resp, err := client.Do(req)
					if err != nil { // serve has stopped listening
						refused.Add(1)
						return
					}
					resp.Body.Close()
					if resp.StatusCode == http.StatusOK {
						mu.Lock()
						ackedIDs[id] = true
						mu.Unlock()
						if acked.Add(1) == shutdownAt {
							shutdownOnce.Do(func() { r.stop() }) // SIGTERM, mid-run
						}
						break
					}
					if resp.StatusCode == http.StatusTooManyRequests {
						overloaded.Add(1)
					}
					if resp.StatusCode != http.StatusServiceUnavailable && resp.StatusCode != http.StatusTooManyRequests && resp.StatusCode < 500 {
						t.Errorf("event %s: status %d", id, resp.StatusCode)
						return
					}
					time.Sleep(10 * time.Millisecond) // the sender's retry
				}
			}
		}()
	}
	wg.Wait()
	stopped.Store(true)
	<-sampleDone
	require.Equal(t, exitOK, r.wait(t), r.stderr.String())

	counts := rowCounts(t, d.url, d.database, "segment_data")
	lost, twice := 0, 0
	for id := range ackedIDs {
		if counts[id] != 1 {
			lost++
			t.Errorf("acknowledged event %s is in the table %d times", id, counts[id])
			if lost > 10 {
				break
			}
		}
	}
	for id, n := range counts {
		if n > 1 {
			twice++
			t.Errorf("event %s is in the table %d times", id, n)
		}
	}
	st := d.em.Stats()
	t.Logf("%d events acknowledged of %d sent before the shutdown, %d rows; emulator: %d requests, %d injected failures, %d resets; live heap %d MB at start, peak %d MB",
		len(ackedIDs), min(next.Load(), int64(total)), len(counts), st.Requests, st.InjectedFailures, st.InjectedResets, baseHeap>>20, peakHeap.Load()>>20)
	assert.GreaterOrEqual(t, int64(len(ackedIDs)), shutdownAt, "the load ran until the shutdown")
	assert.Less(t, int64(len(ackedIDs)), int64(total), "the shutdown came before the end")
	assert.Positive(t, st.InjectedFailures+st.InjectedResets, "faults were injected")
	assert.GreaterOrEqual(t, len(counts), len(ackedIDs))
	// The request bytes in flight are capped at 768 KB; the rest is the
	// engine's table, the connections' buffers and the test's bookkeeping.
	assert.Less(t, peakHeap.Load(), baseHeap+(24<<20), "live heap peaked at %d MB", peakHeap.Load()>>20)
	assert.Contains(t, r.stdout.String(), "s2segment serve: stopped")
	t.Logf("%d requests turned away at the in-flight limit (429), %d found the listener closed", overloaded.Load(), refused.Load())
}
