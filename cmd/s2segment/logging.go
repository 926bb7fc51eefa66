package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"regexp"
	"strings"
	"sync"
	"time"
)

// logOptions are the handler options of every logger the commands make:
// durations are written as text ("1.5s"), not as nanoseconds.
func logOptions(level slog.Leveler) *slog.HandlerOptions {
	return &slog.HandlerOptions{Level: level, ReplaceAttr: durationsAsText}
}

// durationsAsText writes a time.Duration attribute as its String.
func durationsAsText(_ []string, a slog.Attr) slog.Attr {
	if a.Value.Kind() == slog.KindDuration {
		return slog.String(a.Key, a.Value.Duration().String())
	}
	return a
}

// newJSONLogger returns a JSON logger to w at level, durations as text.
func newJSONLogger(w io.Writer, level slog.Leveler) *slog.Logger {
	return slog.New(slog.NewJSONHandler(w, logOptions(level)))
}

// newTextLogger returns a text logger to w, durations as text.
func newTextLogger(w io.Writer) *slog.Logger {
	return slog.New(slog.NewTextHandler(w, logOptions(slog.LevelInfo)))
}

// retryLog is the message the Data API client logs before each retry.
const retryLog = "dataapi: retrying"

// retryCounter is a slog.Handler for a Data API client's logger that counts
// its retries by cause, for replay's summary.
type retryCounter struct {
	mu      sync.Mutex
	reasons map[string]int64
}

func newRetryCounter() *retryCounter { return &retryCounter{reasons: map[string]int64{}} }

// Enabled takes the client's warnings, where its retries are.
func (c *retryCounter) Enabled(_ context.Context, l slog.Level) bool { return l >= slog.LevelWarn }

// Handle counts a retry by the cause in its "error" attribute.
func (c *retryCounter) Handle(_ context.Context, r slog.Record) error {
	if r.Message != retryLog {
		return nil
	}
	reason := "unknown cause"
	r.Attrs(func(a slog.Attr) bool {
		if a.Key == "error" {
			reason = retryReason(a.Value.String())
			return false
		}
		return true
	})
	c.mu.Lock()
	c.reasons[reason]++
	c.mu.Unlock()
	return nil
}

func (c *retryCounter) WithAttrs([]slog.Attr) slog.Handler { return c }
func (c *retryCounter) WithGroup(string) slog.Handler      { return c }

// reset forgets the retries counted so far.
func (c *retryCounter) reset() {
	c.mu.Lock()
	clear(c.reasons)
	c.mu.Unlock()
}

// snapshot returns the counts so far, or nil when there were no retries.
func (c *retryCounter) snapshot() map[string]int64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.reasons) == 0 {
		return nil
	}
	return maps.Clone(c.reasons)
}

var (
	// "dataapi: /api/v2/exec: 500 Internal Server Error: Error 1213 (40001): Deadlock found…"
	sqlErrno = regexp.MustCompile(`Error (\d+)(?: \([0-9A-Z]{5}\))?: ([^;:(]*)`)
	// "dataapi: /api/v2/exec: 503 Service Unavailable: …"
	httpStatus = regexp.MustCompile(`: (\d{3} [A-Za-z][A-Za-z '-]*)`)
	// "dataapi: calling /api/v2/exec (attempt 1): …"
	callPrefix = regexp.MustCompile(`^dataapi: calling \S+ \(attempt \d+\): `)
)

// retryReason condenses a retried error to its cause: the database's error
// number and message, the HTTP status, or the transport error.
func retryReason(msg string) string {
	if m := sqlErrno.FindStringSubmatch(msg); m != nil {
		return "Error " + m[1] + ": " + strings.TrimSpace(m[2])
	}
	if !strings.HasPrefix(msg, "dataapi: calling ") {
		if m := httpStatus.FindStringSubmatch(msg); m != nil {
			return strings.TrimSpace(m[1])
		}
	}
	return callPrefix.ReplaceAllString(msg, "")
}

// announceAfter is how long a command waits in silence for a server before
// saying what it waits for.
var announceAfter = 3 * time.Second

// announceWait writes "s2segment: " + what to w once the call it brackets
// has taken announceAfter, so that a server that never answers does not
// look like a hung command. The function returned ends the wait.
func announceWait(w io.Writer, what string) (done func()) {
	t := time.AfterFunc(announceAfter, func() { fmt.Fprintf(w, "s2segment: %s…\n", what) })
	return func() { t.Stop() }
}
