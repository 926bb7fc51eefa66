package singlestore

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"

	"github.com/s2segment/s2segment/batch"
	"github.com/s2segment/s2segment/destination"
	"github.com/s2segment/s2segment/internal/checked"
	"github.com/s2segment/s2segment/mapping"
	"golang.org/x/sync/errgroup"
)

// ProcessEvent is Process for an event checked already (see
// destination.Pipeline.ProcessEvent): it is not walked again.
func (e *Encoder) ProcessEvent(buf []byte, ev *mapping.Event, out *destination.Payload) ([]byte, error) {
	return e.pipeline.ProcessEvent(buf, ev, destination.Batched, out)
}

// Stream writes the events of successive Write calls into shared requests:
// a request is sent when it is full (by bytes or rows), not when a call's
// events run out, so only the last request of a stream may be short. It is
// what a replay of a long input uses; Writer.Write packs each call on its
// own, which suits callers that need the results of one batch at once.
//
// Calls take turns in the order of their tickets (Ticket), so rows reach
// the requests in input order whatever order the callers encode them in.
// A request left open by a call is sent once MaxOpen further calls have
// taken their turn without filling it, so that a caller waiting for one
// call's results while holding back later calls cannot wait forever.
type Stream struct {
	w       *Writer
	ctx     context.Context
	maxOpen int
	sends   errgroup.Group // Go waits while Concurrency requests are in flight

	mu      sync.Mutex
	turn    sync.Cond
	next    int // the ticket whose turn it is
	tickets int // tickets handed out
	packer  *batch.Packer
	opened  int // the ticket whose call opened the pending request
	pending map[int]*Pending
	closed  bool

	scratchPool sync.Pool // of *streamScratch
}

// streamScratch is the memory a Write call encodes its rows in; the rows
// are copied into the requests, so it goes back to the pool after the call.
type streamScratch struct {
	rows []byte
	ends []int
}

func (s *Stream) scratch(bytes, events int) *streamScratch {
	sc, ok := s.scratchPool.Get().(*streamScratch)
	if !ok {
		sc = &streamScratch{}
	}
	if cap(sc.rows) < bytes {
		sc.rows = make([]byte, 0, bytes)
	}
	if cap(sc.ends) < events {
		sc.ends = make([]int, 0, events)
	}
	sc.rows, sc.ends = sc.rows[:0], sc.ends[:events]
	return sc
}

// StreamConfig configures a Stream; the zero value of a field means its
// default.
type StreamConfig struct {
	// Concurrency is the number of requests in flight; 0 means the
	// Writer's.
	Concurrency int
	// MaxOpen is the number of further calls a request may stay open
	// across; 0 means 1.
	MaxOpen int
}

// maxStreamEvents bounds the events of one Stream.Write call (row
// references carry the ticket above the event's index).
const maxStreamEvents = 1 << 24

// Stream returns a Stream writing with ctx. Close it to send the last
// request.
func (w *Writer) Stream(ctx context.Context, cfg StreamConfig) *Stream {
	conc := cfg.Concurrency
	if conc <= 0 {
		conc = w.concurrency
	}
	s := &Stream{w: w, ctx: ctx, maxOpen: max(cfg.MaxOpen, 1), pending: map[int]*Pending{}}
	s.sends.SetLimit(conc)
	s.turn.L = &s.mu
	return s
}

// Pending is the outcome of one Stream.Write call, complete once every
// request holding its rows has been answered.
type Pending struct {
	ms     *destination.MultiStatus
	sent   [][]byte
	left   atomic.Int64 // rows not yet answered, plus one while packing
	done   chan struct{}
	onDone func()
}

// Wait returns the results of the call's events, in order, once complete.
func (p *Pending) Wait() *destination.MultiStatus {
	<-p.done
	return p.ms
}

func (p *Pending) finish(n int64) {
	if p.left.Add(-n) == 0 {
		if p.onDone != nil {
			p.onDone()
		}
		close(p.done)
	}
}

// Ticket returns the next ticket: calls to Write take turns in ticket
// order, and every ticket must be used by exactly one Write call.
func (s *Stream) Ticket() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	t := s.tickets
	s.tickets++
	return t
}

// ErrStreamClosed is the error of the events of a Write call made after
// Close.
var ErrStreamClosed = errors.New("writing to a closed stream")

// Write runs events through the Send Data action as Writer.Write does and
// adds their rows to the stream's requests, in the turn of ticket. It
// returns once the rows are added (requests that fill up are sent, at most
// Concurrency at once); the Pending completes when they are answered.
// events (at most 16,777,216) must not be modified until then.
//
// scanned, when not nil, holds the events as checked already (by a reader
// of this module, or mapping.ParseEvent), index for index: an event whose
// entry is Valid is not walked again (Encoder.ProcessEvent).
func (s *Stream) Write(ticket int, events [][]byte, scanned []mapping.Event) *Pending {
	p := &Pending{ms: destination.NewMultiStatus(len(events)), sent: make([][]byte, len(events)), done: make(chan struct{})}
	p.left.Store(1)
	defer p.finish(1)
	if len(events) > maxStreamEvents {
		for i := range events {
			p.ms.Fail(i, errors.New("writing: too many events in one call"))
		}
		events = nil
	}
	// Encode outside the turn: calls encode in parallel.
	total := 0
	for _, ev := range events {
		total += len(ev) + payloadSlack
	}
	scratch := s.scratch(total, len(events))
	defer s.scratchPool.Put(scratch)
	var (
		buf  = make([]byte, 0, total) // the payloads, which the results keep
		rows = scratch.rows
		ends = scratch.ends // end of each event's row in rows; -1 for none
		pl   destination.Payload
	)
	defer func() { scratch.rows, scratch.ends = rows[:0], ends[:0] }()
	enc := s.w.enc
	for i, ev := range events {
		var err error
		start := len(rows)
		ends[i] = -1
		if i < len(scanned) && scanned[i].Valid() {
			buf, err = enc.ProcessEvent(buf, &scanned[i], &pl)
		} else {
			buf, err = enc.Process(buf, ev, &pl)
		}
		if err != nil {
			p.ms.Fail(i, err)
			continue
		}
		if rows, err = enc.AppendRow(rows, &pl); err != nil {
			rows = rows[:start]
			p.ms.Fail(i, err)
			continue
		}
		ends[i] = len(rows)
		p.sent[i] = pl.JSON
		if !pl.Checked() {
			ends[i] = -2 - ends[i] // checked by the packer
		}
	}

	s.mu.Lock()
	for s.next != ticket {
		s.turn.Wait()
	}
	closed := s.closed
	if !closed {
		s.pending[ticket] = p
		p.onDone = func() {
			s.mu.Lock()
			delete(s.pending, ticket)
			s.mu.Unlock()
		}
		if s.packer == nil {
			s.packer, _ = s.w.packer() // checked by NewWriter
		}
	}
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		s.next++
		s.turn.Broadcast()
		s.mu.Unlock()
	}()
	if closed {
		for i := range events {
			p.ms.Fail(i, ErrStreamClosed)
		}
		return p
	}

	start := 0
	for i := range events {
		end := ends[i]
		if end == -1 {
			continue
		}
		trusted := end >= 0
		if !trusted {
			end = -2 - end
		}
		row := rows[start:end]
		start = end
		ref := ticket<<24 | i
		p.left.Add(1)
		wasEmpty := s.packer.Len() == 0
		var (
			full *batch.Request
			err  error
		)
		if trusted {
			full, err = s.packer.AddTrusted(checked.TrustRow(row), ref)
		} else {
			full, err = s.packer.Add(row, ref)
		}
		if err != nil {
			p.ms.Results[i] = rowResult(err)
			p.finish(1)
			continue
		}
		if wasEmpty || full != nil {
			s.opened = ticket
		}
		if full != nil {
			s.send(full)
		}
	}
	if s.packer.Len() > 0 && ticket-s.opened >= s.maxOpen {
		s.send(s.packer.Flush())
	}
	return p
}

// Close sends the last request and waits for every request to be
// answered. Write calls after Close fail their events.
func (s *Stream) Close() {
	s.mu.Lock()
	for s.next != s.tickets {
		s.turn.Wait()
	}
	s.closed = true
	packer := s.packer
	s.packer = nil
	s.mu.Unlock()
	if packer != nil {
		if last := packer.Flush(); last != nil {
			s.send(last)
		}
		s.w.packers.Put(packer)
	}
	_ = s.sends.Wait() // sends report into the Pendings, never an error
}

// send writes one request, at most Concurrency at once, and records the
// result of each row in the Pending of its call.
func (s *Stream) send(req *batch.Request) {
	s.sends.Go(func() error {
		res := s.w.exec.ExecBatch(s.ctx, req)
		refs := req.Refs()
		body := affectedBody(res.RowsAffected)
		var (
			cur     *Pending
			curT    = -1
			answers int64
		)
		for j, ref := range refs {
			t, i := ref>>24, ref&(maxStreamEvents-1)
			if t != curT {
				if cur != nil {
					cur.finish(answers)
				}
				s.mu.Lock()
				cur, curT, answers = s.pending[t], t, 0
				s.mu.Unlock()
			}
			s.w.record(s.ctx, res, body, j, len(refs), i, cur.sent, cur.ms.Results)
			answers++
		}
		if cur != nil {
			cur.finish(answers)
		}
		releaseWritten(req, res)
		return nil
	})
}
