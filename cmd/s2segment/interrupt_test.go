package main

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/s2segment/s2segment/internal/replay"
)

// interruptAfter returns a context that ends as Ctrl-C does, after d.
func interruptAfter(t *testing.T, d time.Duration) context.Context {
	t.Helper()
	ctx, cancel := context.WithCancelCause(context.Background())
	timer := time.AfterFunc(d, func() { cancel(&signalError{sig: syscall.SIGINT}) })
	t.Cleanup(func() { timer.Stop(); cancel(nil) })
	return ctx
}

func TestCtxReaderReturnsWhenCancelled(t *testing.T) {
	pr, pw := io.Pipe() // a read that blocks until written, like a terminal
	defer pw.Close()
	ctx, cancel := context.WithCancel(context.Background())
	r := newCtxReader(ctx, pr)

	go func() { _, _ = pw.Write([]byte("line 1\n")) }()
	buf := make([]byte, 64)
	n, err := r.Read(buf)
	require.NoError(t, err)
	assert.Equal(t, "line 1\n", string(buf[:n]))

	done := make(chan error, 1)
	go func() { _, err := r.Read(buf); done <- err }()
	time.Sleep(20 * time.Millisecond)
	cancel()
	select {
	case err := <-done:
		assert.ErrorIs(t, err, context.Canceled)
	case <-time.After(5 * time.Second):
		t.Fatal("Read still blocked after the context ended")
	}
	_, err = r.Read(buf)
	assert.ErrorIs(t, err, context.Canceled, "every later Read fails too")
}

// TestInterruptWhileReadingATerminal: Ctrl-C while try, map or replay -
// wait for input ends them at once with status 130, replay with its
// summary so far.
func TestInterruptWhileReadingATerminal(t *testing.T) {
	for _, args := range [][]string{{"try"}, {"map"}, {"replay", "--dry-run", "-"}} {
		t.Run(args[0], func(t *testing.T) {
			pr, pw := io.Pipe()
			defer pw.Close()
			go func() {
				_, _ = pw.Write([]byte(`{"type":"track","event":"A","userId":"u","messageId":"m1","timestamp":"2025-01-01T00:00:00Z"}` + "\n"))
			}()
			var out, errb syncBuffer
			start := time.Now()
			code := run(interruptAfter(t, 300*time.Millisecond), args, pr, &out, &errb)
			assert.Equal(t, exitInterrupted, code, "stderr: %s", errb.String())
			assert.Less(t, time.Since(start), 5*time.Second)
			assert.Contains(t, errb.String(), "s2segment: interrupted")
			if args[0] == "replay" {
				assert.Contains(t, errb.String(), "replay summary")
				assert.Contains(t, errb.String(), "INTERRUPTED")
				assert.Regexp(t, `read errors +0 `, errb.String(), "the interruption is not an unreadable input")
			}
		})
	}
}

func TestSignalExitCodes(t *testing.T) {
	assert.Equal(t, 130, (&signalError{sig: syscall.SIGINT}).exitCode())
	assert.Equal(t, 143, (&signalError{sig: syscall.SIGTERM}).exitCode())
	_, ok := interruptedCode(context.Background())
	assert.False(t, ok)
}

func TestInputSize(t *testing.T) {
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "a.ndjson"), make([]byte, 100), 0o600))
	require.NoError(t, os.MkdirAll(filepath.Join(dir, "sub"), 0o700))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "sub", "b.ndjson"), make([]byte, 23), 0o600))
	require.NoError(t, os.WriteFile(filepath.Join(dir, ".hidden"), make([]byte, 1000), 0o600))
	c := &countingFS{}
	assert.Equal(t, int64(123), c.inputSize([]string{dir}))
	assert.Equal(t, int64(223), c.inputSize([]string{dir, filepath.Join(dir, "a.ndjson")}))
	assert.Equal(t, int64(-1), c.inputSize([]string{dir, "-"}), "standard input has no known size")
	assert.Equal(t, int64(0), c.inputSize([]string{filepath.Join(dir, "missing")}))
}

// TestPlainProgressLines: with standard error not a terminal, a line comes
// every interval, and none once finished.
func TestPlainProgressLines(t *testing.T) {
	old := plainProgressEvery
	plainProgressEvery = 20 * time.Millisecond
	defer func() { plainProgressEvery = old }()

	var w syncBuffer
	d := newProgressDisplay(&w, false, func() replay.Input { return replay.Input{Read: 250_000, Total: 1_000_000} })
	d.mu.Lock()
	d.start = d.start.Add(-2 * time.Second) // as if started 2 s ago
	d.mu.Unlock()
	d.update(replay.Progress{Events: 1200, Written: 1200, Elapsed: 2 * time.Second})
	assert.Eventually(t, func() bool { return strings.Count(w.String(), "\n") >= 2 }, 5*time.Second, 5*time.Millisecond)
	d.finish()
	got := w.String()
	time.Sleep(60 * time.Millisecond)
	assert.Equal(t, got, w.String(), "nothing is written after finish")
	line := strings.SplitN(got, "\n", 2)[0]
	assert.Regexp(t, `^replay progress: 250\.0 kB of 1\.0 MB \(25%\), 1,200 events, [0-9,]+ events/s, ETA \d+[ms0-9.]*s$`, line)
	d.finish() // twice is fine
}

// TestTerminalProgressFinishes: the bar shows the total and is gone from
// its line before the summary.
func TestTerminalProgressFinishes(t *testing.T) {
	var w syncBuffer
	d := newProgressDisplay(&w, true, func() replay.Input { return replay.Input{Read: 500_000, Total: 1_000_000} })
	d.update(replay.Progress{Events: 1200, Written: 1200, Elapsed: 2 * time.Second})
	d.finish()
	got := w.String()
	assert.Contains(t, got, "/1.0 MB")
	assert.Contains(t, got, "1,200 events")
	assert.Contains(t, got, "ETA 2s")
	assert.True(t, strings.HasSuffix(got, "\r"), "the bar's line is cleared: %q", got)
	d.update(replay.Progress{Events: 2400})
	assert.Equal(t, got, w.String(), "nothing is drawn after finish")
}
