package endpoint

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/tidwall/gjson"
)

func TestGroupCommitFlushesWhenFull(t *testing.T) {
	const n = 16
	a := newTestActions()
	// The linger is far longer than the test: the group is written because
	// it is full, the moment the n-th event joins it.
	_, ts := start(t, Config{Actions: a, Group: GroupConfig{Linger: time.Hour, MaxEvents: n}, WriteTimeout: -1})
	// Build the sink first so every request shares one committer.
	r := do(t, ts, "POST", "/send", sendBody("g", `[]`), nil)
	require.Equal(t, 200, r.status)

	replies := make([]reply, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			fail := ""
			if i%2 == 1 {
				fail = `,"properties":{"fail":"reject"}`
			}
			replies[i] = do(t, ts, "POST", "/send", sendBody("g", fmt.Sprintf(`{"type":"track","messageId":"g%d"%s}`, i, fail)), nil)
		})
	}
	wg.Wait()
	assert.Equal(t, []int{n}, a.sink("g").writeSizes(), "n concurrent requests, one Write")
	for i, r := range replies {
		require.Equal(t, 200, r.status, r.body)
		if i%2 == 0 {
			assert.JSONEq(t, fmt.Sprintf(`{"multistatus":[{"status":200,"sent":{"id":"g%d"}}]}`, i), r.body, "request %d gets its own result", i)
		} else {
			assert.Equal(t, fmt.Sprintf("rejected g%d", i), gjson.Get(r.body, "multistatus.0.errormessage").String(), "request %d gets its own result", i)
		}
	}
}

func TestGroupCommitGrowsWhileTheSinkIsBusy(t *testing.T) {
	const n = 10
	sink := newMemSink()
	sink.gate = make(chan struct{})
	sink.entered = make(chan int, n)
	s, ts := start(t, Config{
		Sources: []Source{{WriteKey: testWriteKey, Sink: sink}},
		Group:   GroupConfig{MaxConcurrentWrites: 1},
	})
	track := func(i int) reply {
		return do(t, ts, "POST", "/v1/track", fmt.Appendf(nil, `{"event":"E","messageId":"m%d"}`, i), basic(testWriteKey))
	}
	replies := make([]reply, n)
	var wg sync.WaitGroup
	wg.Go(func() { replies[0] = track(0) })
	assert.Equal(t, 1, <-sink.entered, "the first request is written alone")
	for i := 1; i < n; i++ {
		wg.Go(func() { replies[i] = track(i) })
	}
	// The only write slot is busy: the others wait in one open group.
	waitFor(t, "every event to reach a group", func() bool {
		return metricValue(t, s.Registry(), "s2segment_server_pending_events") == n
	})
	close(sink.gate)
	wg.Wait()
	assert.Equal(t, []int{1, n - 1}, sink.writeSizes())
	for i, r := range replies {
		assert.Equal(t, 200, r.status, "request %d: %s", i, r.body)
	}
	assert.Equal(t, float64(n), metricValue(t, s.Registry(), "s2segment_server_events_total", "result", "written"))
	assert.Equal(t, 2.0, metricValue(t, s.Registry(), "s2segment_server_group_events"))
	assert.Equal(t, 0.0, metricValue(t, s.Registry(), "s2segment_server_pending_events"))
}

func TestGroupCommitDisabledWritesEachRequestAlone(t *testing.T) {
	const n = 8
	sink := newMemSink()
	_, ts := start(t, Config{
		Sources: []Source{{WriteKey: testWriteKey, Sink: sink}},
		Group:   GroupConfig{Disabled: true},
	})
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			r := do(t, ts, "POST", "/v1/track", fmt.Appendf(nil, `{"event":"E","messageId":"d%d"}`, i), basic(testWriteKey))
			assert.Equal(t, 200, r.status)
		})
	}
	wg.Wait()
	assert.Equal(t, []int{1, 1, 1, 1, 1, 1, 1, 1}, sink.writeSizes())
}

func TestGroupKeepsARequestTogether(t *testing.T) {
	sink := newMemSink()
	sink.gate = make(chan struct{})
	sink.entered = make(chan int, 4)
	s, ts := start(t, Config{
		Sources: []Source{{WriteKey: testWriteKey, Sink: sink}},
		Group:   GroupConfig{MaxEvents: 4, MaxConcurrentWrites: 1, Linger: NoLinger},
	})
	batch := func(prefix string, n int) []byte {
		var evs []string
		for i := range n {
			evs = append(evs, fmt.Sprintf(`{"type":"track","messageId":"%s%d"}`, prefix, i))
		}
		return []byte(`{"batch":[` + strings.Join(evs, ",") + `]}`)
	}
	var wg sync.WaitGroup
	wg.Go(func() {
		assert.Equal(t, 200, do(t, ts, "POST", "/v1/batch", batch("a", 6), basic(testWriteKey)).status)
	})
	assert.Equal(t, 6, <-sink.entered, "a request larger than MaxEvents is a group of its own")
	wg.Go(func() {
		assert.Equal(t, 200, do(t, ts, "POST", "/v1/batch", batch("b", 3), basic(testWriteKey)).status)
	})
	waitFor(t, "b to join a group", func() bool {
		return metricValue(t, s.Registry(), "s2segment_server_pending_events") == 9
	})
	// c does not fit beside b (3+2 > 4): b's group is sealed and waits.
	wg.Go(func() {
		assert.Equal(t, 200, do(t, ts, "POST", "/v1/batch", batch("c", 2), basic(testWriteKey)).status)
	})
	waitFor(t, "c to join a group", func() bool {
		return metricValue(t, s.Registry(), "s2segment_server_pending_events") == 11
	})
	close(sink.gate)
	wg.Wait()
	assert.Equal(t, []int{6, 3, 2}, sink.writeSizes())
	assert.Equal(t, 11, sink.count())
}

func TestCancelledRequestDoesNotBreakOthers(t *testing.T) {
	sink := newMemSink()
	sink.gate = make(chan struct{})
	sink.entered = make(chan int, 1)
	s, ts := start(t, Config{
		Sources: []Source{{WriteKey: testWriteKey, Sink: sink}},
		Group:   GroupConfig{MaxEvents: 3, Linger: time.Hour}, WriteTimeout: -1,
	})
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() {
		_, err := send(ctx, ts.Client(), ts.URL, "POST", "/v1/track", []byte(`{"event":"E","messageId":"gone"}`), basic(testWriteKey))
		errc <- err
	}()
	waitFor(t, "the first event to join a group", func() bool {
		return metricValue(t, s.Registry(), "s2segment_server_pending_events") == 1
	})
	replies := make([]reply, 2)
	var wg sync.WaitGroup
	for i := range 2 {
		wg.Go(func() {
			replies[i] = do(t, ts, "POST", "/v1/track", fmt.Appendf(nil, `{"event":"E","messageId":"stay%d"}`, i), basic(testWriteKey))
		})
	}
	assert.Equal(t, 3, <-sink.entered, "the three requests share one Write")
	cancel()
	require.ErrorIs(t, <-errc, context.Canceled)
	waitFor(t, "the server to see the sender go away", func() bool {
		return metricValue(t, s.Registry(), "s2segment_server_events_total", "result", "abandoned") == 1
	})
	close(sink.gate)
	wg.Wait()
	for i, r := range replies {
		assert.Equal(t, 200, r.status, "request %d", i)
		_, ok := sink.row(fmt.Sprintf("stay%d", i))
		assert.True(t, ok)
	}
	_, ok := sink.row("gone")
	assert.True(t, ok, "the events of a request that went away are still written with their group")
	waitFor(t, "the in-flight bytes to be given back", func() bool {
		return metricValue(t, s.Registry(), "s2segment_server_inflight_bytes") == 0
	})
}

func TestOverloadTurnsRequestsAway(t *testing.T) {
	sink := newMemSink()
	sink.gate = make(chan struct{})
	sink.entered = make(chan int, 1)
	a := newTestActions()
	s, ts := start(t, Config{
		Sources:          []Source{{WriteKey: testWriteKey, WebhookSecret: testSecret, Sink: sink}},
		Actions:          a,
		MaxEventBytes:    1024,
		MaxBatchBytes:    2048,
		MaxBodyBytes:     2048,
		MaxInFlightBytes: 2048,
		RetryAfter:       3 * time.Second,
	})
	var evs []string
	for i := range 12 {
		evs = append(evs, fmt.Sprintf(`{"type":"track","messageId":"o%d","properties":{"pad":"%s"}}`, i, strings.Repeat("p", 60)))
	}
	big := []byte(`{"batch":[` + strings.Join(evs, ",") + `]}`)
	require.Greater(t, len(big), 1024)
	done := make(chan reply, 1)
	go func() { done <- do(t, ts, "POST", "/v1/batch", big, basic(testWriteKey)) }()
	<-sink.entered

	one := []byte(`{"type":"track","messageId":"late"}`)
	tests := []struct {
		name   string
		path   string
		header map[string]string
		body   []byte
		want   int
	}{
		{"tracking", "/v1/track", basic(testWriteKey), one, 429},
		{"batch", "/v1/batch", basic(testWriteKey), []byte(`{"batch":[]}`), 429},
		{"webhook", "/webhook/default", sigHeader(one), one, 503},
		{"send", "/send", nil, sendBody("h", `{}`), 429},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := do(t, ts, "POST", tc.path, tc.body, tc.header)
			assert.Equal(t, tc.want, r.status, r.body)
			assert.Equal(t, "3", r.header.Get("Retry-After"))
		})
	}
	assert.Equal(t, 4.0, metricValue(t, s.Registry(), "s2segment_server_overload_rejects_total"))
	close(sink.gate)
	assert.Equal(t, 200, (<-done).status)
	assert.Equal(t, 12, sink.count(), "the admitted request is written in full")
	waitFor(t, "the in-flight bytes to be given back", func() bool {
		return metricValue(t, s.Registry(), "s2segment_server_inflight_bytes") == 0
	})
	assert.Equal(t, 200, do(t, ts, "POST", "/v1/track", one, basic(testWriteKey)).status, "admitted again once the bytes are written")
}

func TestBudget(t *testing.T) {
	var gauge float64
	b := &budget{limit: 100, gauge: func(v float64) { gauge = v }}
	l1, ok := b.acquire(60)
	require.True(t, ok)
	_, ok = b.acquire(41)
	assert.False(t, ok, "61+41 passes the limit")
	l2, ok := b.acquire(40)
	require.True(t, ok)
	assert.Equal(t, 100.0, gauge)
	l1.resize(10)
	assert.Equal(t, 50.0, gauge)
	l1.retain()
	l1.release()
	assert.Equal(t, 50.0, gauge, "still held by its second reference")
	l1.release()
	l2.release()
	assert.Equal(t, 0.0, gauge)
	assert.Equal(t, int64(0), b.used.Load())
}
