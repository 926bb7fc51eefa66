package endpoint

import (
	"context"
	"fmt"
	"log/slog"
	"runtime/debug"
	"sync"
	"time"
)

// tracker counts the work in progress (requests being handled and writes
// running) so that Shutdown can wait for it, and refuses new work once closed.
type tracker struct {
	mu     sync.Mutex
	n      int
	closed bool
	idle   chan struct{} // closed when n drops to 0 after close
}

func newTracker() *tracker { return &tracker{idle: make(chan struct{})} }

// enter counts one unit of work, or reports false once the tracker is closed.
func (t *tracker) enter() bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.closed {
		return false
	}
	t.n++
	return true
}

// add counts one unit of work started on behalf of work already counted, so
// it is accepted even after close.
func (t *tracker) add() {
	t.mu.Lock()
	t.n++
	t.mu.Unlock()
}

func (t *tracker) done() {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.n--
	if t.n == 0 && t.closed {
		close(t.idle)
	}
}

// close refuses new work and returns a channel closed once all work is done.
func (t *tracker) close() <-chan struct{} {
	t.mu.Lock()
	defer t.mu.Unlock()
	if !t.closed {
		t.closed = true
		if t.n == 0 {
			close(t.idle)
		}
	}
	return t.idle
}

func (t *tracker) isClosed() bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.closed
}

// group is one shared Write: the events of several requests, each request
// knowing the offset of its own events.
type group struct {
	events   [][]byte
	bytes    int64
	leases   []*lease
	lingered bool // the linger is over: write as soon as a slot is free
	timer    *time.Timer
	results  []Result
	done     chan struct{} // closed once results is set
}

// committer packs the events of concurrent requests for one Sink into shared
// Write calls. At most one group is open (taking events); it is written when
// it is full, or when its linger is over and a write slot is free. While every
// slot is busy the open group keeps growing, so the busier the sink, the larger
// the groups.
type committer struct {
	sink       Sink
	disabled   bool
	linger     time.Duration
	maxEvents  int
	maxBytes   int64
	maxWriters int
	timeout    time.Duration
	work       *tracker
	m          *metrics
	log        *slog.Logger
	base       context.Context

	mu       sync.Mutex
	open     *group
	ready    []*group // full groups waiting for a slot, oldest first
	busy     int      // write slots in use
	draining bool     // shutting down: no more lingering
}

func newCommitter(s *Server, sink Sink) *committer {
	return &committer{
		sink:       sink,
		disabled:   s.cfg.Group.Disabled,
		linger:     s.cfg.linger,
		maxEvents:  s.cfg.maxEvents,
		maxBytes:   s.cfg.maxBytes,
		maxWriters: s.cfg.maxWriters,
		timeout:    s.cfg.SinkTimeout,
		work:       s.work,
		m:          s.metrics,
		log:        s.log,
		base:       s.base,
	}
}

// write hands events (size bytes in all, held under l) to a group and waits
// for their results, in order. If ctx is done first it returns ctx's error;
// the events are still written with their group, and l is released then.
func (c *committer) write(ctx context.Context, events [][]byte, size int64, l *lease) ([]Result, error) {
	if c.disabled {
		return c.call(events, size), nil
	}
	l.retain()
	g, off := c.submit(events, size, l)
	select {
	case <-g.done:
		return g.results[off : off+len(events)], nil
	case <-ctx.Done():
		return nil, fmt.Errorf("waiting for the events to be written: %w", ctx.Err())
	}
}

func (c *committer) submit(events [][]byte, size int64, l *lease) (*group, int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	g := c.open
	if g != nil && (len(g.events)+len(events) > c.maxEvents || g.bytes+size > c.maxBytes) {
		c.seal(g) // it cannot take this request: write it and open another
		g = nil
	}
	if g == nil {
		g = &group{done: make(chan struct{})}
		c.open = g
		if c.draining || c.linger <= 0 {
			g.lingered = true
		} else {
			g.timer = time.AfterFunc(c.linger, func() { c.expire(g) })
		}
	}
	off := len(g.events)
	g.events = append(g.events, events...)
	g.bytes += size
	g.leases = append(g.leases, l)
	c.m.pending.Add(float64(len(events)))
	if len(g.events) >= c.maxEvents || g.bytes >= c.maxBytes || (g.lingered && c.busy < c.maxWriters) {
		c.seal(g)
	}
	return g, off
}

// seal closes g to new events and starts its write, or queues it for the
// next free slot. c.mu is held.
func (c *committer) seal(g *group) {
	if c.open == g {
		c.open = nil
	}
	if g.timer != nil {
		g.timer.Stop()
	}
	if c.busy < c.maxWriters {
		c.busy++
		c.start(g)
		return
	}
	c.ready = append(c.ready, g)
}

// expire ends g's linger. c.mu is not held.
func (c *committer) expire(g *group) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.open != g {
		return
	}
	g.lingered = true
	if c.busy < c.maxWriters {
		c.seal(g)
	}
}

// drain ends the linger of the open group, now and for every later group.
func (c *committer) drain() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.draining = true
	if g := c.open; g != nil {
		g.lingered = true
		if c.busy < c.maxWriters {
			c.seal(g)
		}
	}
}

// start runs g's write in a goroutine that holds one slot. c.mu is held.
func (c *committer) start(g *group) {
	c.work.add()
	go c.run(g)
}

func (c *committer) run(g *group) {
	defer c.work.done()
	for g != nil {
		g.results = c.call(g.events, g.bytes)
		c.m.pending.Sub(float64(len(g.events)))
		close(g.done)
		for _, l := range g.leases {
			l.release()
		}
		// Hand the slot to the next group, if one is waiting.
		c.mu.Lock()
		switch {
		case len(c.ready) > 0:
			g = c.ready[0]
			c.ready[0] = nil
			c.ready = c.ready[1:]
		case c.open != nil && c.open.lingered:
			g = c.open
			c.open = nil
		default:
			g = nil
			c.busy--
		}
		c.mu.Unlock()
	}
}

// call runs one Sink.Write and returns exactly one normalized result per
// event: a panic or a short answer becomes retryable failures, never a loss.
func (c *committer) call(events [][]byte, size int64) (results []Result) {
	c.m.groupEvents.Observe(float64(len(events)))
	c.m.groupBytes.Observe(float64(size))
	ctx, cancel := context.WithTimeout(c.base, c.timeout)
	defer cancel()
	start := time.Now()
	defer func() {
		c.m.writeSeconds.Observe(time.Since(start).Seconds())
		if v := recover(); v != nil {
			c.log.Error("sink panicked; its events are reported as retryable failures",
				"events", len(events), "panic", fmt.Sprint(v), "stack", string(debug.Stack()))
			results = failAll(len(events), Result{Status: 500, ErrorType: "INTERNAL_SERVER_ERROR", Message: "the sink failed unexpectedly", Retryable: true})
		}
	}()
	got := c.sink.Write(ctx, events)
	if len(got) != len(events) {
		c.log.Error("sink returned the wrong number of results", "events", len(events), "results", len(got))
	}
	results = make([]Result, len(events))
	for i := range results {
		if i < len(got) {
			results[i] = got[i].normalize()
		} else {
			results[i] = Result{}.normalize()
		}
	}
	return results
}

func failAll(n int, r Result) []Result {
	out := make([]Result, n)
	for i := range out {
		out[i] = r
	}
	return out
}
