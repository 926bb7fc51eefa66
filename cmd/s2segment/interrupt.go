package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"sync"
	"syscall"

	"github.com/s2segment/s2segment/internal/eventsource"
	"github.com/s2segment/s2segment/internal/replay"
)

// exitInterrupted is the exit status after Ctrl-C (128 + SIGINT), the shell's
// convention; SIGTERM gives 143.
const exitInterrupted = 130

// annotationStopsOnSignal marks the commands (serve, emulator) that run
// until a signal asks them to stop: a clean shutdown after SIGINT or SIGTERM
// exits 0, not 128 plus the signal.
const annotationStopsOnSignal = "s2segment/stops-on-signal"

// signalError is the cause of a context ended by a signal.
type signalError struct{ sig os.Signal }

func (e *signalError) Error() string { return "interrupted by " + e.sig.String() }

// exitCode is 128 plus the signal's number.
func (e *signalError) exitCode() int {
	if s, ok := e.sig.(syscall.Signal); ok {
		return 128 + int(s)
	}
	return exitInterrupted
}

// interruptedCode returns the exit status for a run whose context ended by a
// signal, and false when it did not.
func interruptedCode(ctx context.Context) (int, bool) {
	var se *signalError
	if errors.As(context.Cause(ctx), &se) {
		return se.exitCode(), true
	}
	return 0, false
}

// notifyContext returns a context that ends with the first SIGINT or
// SIGTERM, its cause a *signalError. A second signal ends the process at once
// with the same status, for a command that does not stop in time.
func notifyContext(parent context.Context, stderr io.Writer) (context.Context, func()) {
	ctx, cancel := context.WithCancelCause(parent)
	ch := make(chan os.Signal, 2)
	signal.Notify(ch, os.Interrupt, syscall.SIGTERM)
	done := make(chan struct{})
	go func() {
		select {
		case sig := <-ch:
			se := &signalError{sig: sig}
			cancel(se)
			select {
			case <-ch:
				fmt.Fprintln(stderr, "\ns2segment: interrupted again, exiting at once")
				os.Exit(se.exitCode())
			case <-done:
			}
		case <-done:
		}
	}()
	return ctx, func() {
		signal.Stop(ch)
		close(done)
		cancel(nil)
	}
}

// ctxReader is an io.Reader whose Read returns as soon as ctx is done, even
// when the read underneath is blocked (a terminal, a pipe that stays open):
// Ctrl-C then ends "try", "map" and "replay -" at once. Each Read runs in a
// goroutine of its own; one still blocked when ctx ends is left behind, its
// data dropped, and every later Read returns ctx's error.
type ctxReader struct {
	ctx context.Context
	r   io.Reader

	mu      sync.Mutex
	pending chan readResult // a Read still running underneath, or nil
	buf     []byte
}

type readResult struct {
	n   int
	err error
}

func newCtxReader(ctx context.Context, r io.Reader) *ctxReader { return &ctxReader{ctx: ctx, r: r} }

func (c *ctxReader) Read(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	if len(p) == 0 {
		return 0, nil
	}
	if c.pending == nil {
		if cap(c.buf) < len(p) {
			c.buf = make([]byte, len(p))
		}
		buf := c.buf[:len(p)]
		ch := make(chan readResult, 1)
		c.pending = ch
		go func() {
			n, err := c.r.Read(buf)
			ch <- readResult{n, err}
		}()
	}
	select {
	case res := <-c.pending:
		c.pending = nil
		n := copy(p, c.buf[:res.n])
		return n, res.err
	case <-c.ctx.Done():
		return 0, c.ctx.Err()
	}
}

// interruptible reports a read that failed because ctx ended (Ctrl-C while
// standard input was being read) as the end of the run, not as an unreadable
// input.
type interruptible struct {
	ctx context.Context
	src replay.Source
}

func (s interruptible) Next() (eventsource.Event, error) {
	ev, err := s.src.Next()
	if err != nil {
		if cerr := s.ctx.Err(); cerr != nil && errors.Is(err, cerr) {
			return eventsource.Event{}, cerr
		}
	}
	return ev, err
}
