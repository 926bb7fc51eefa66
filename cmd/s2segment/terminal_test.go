package main

import (
	"context"
	"io"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/creack/pty"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const terminalEvent = `{"type":"track","event":"A","userId":"u","messageId":"m1","timestamp":"2025-01-01T00:00:00Z"}`

// TestTerminalInputIsAnnounced: a command reading events from a real
// terminal (a pseudo-terminal here) says so, and how to end the input, and
// Ctrl-D ends it; from a pipe or /dev/null it says nothing.
func TestTerminalInputIsAnnounced(t *testing.T) {
	commands := []struct {
		name  string // as the announcement names it
		args  []string
		input string // one line typed at the terminal
	}{
		{"try", []string{"try"}, terminalEvent},
		{"map", []string{"map"}, `{"mapping":{"@path":"$.event"},"payload":` + terminalEvent + `}`},
		{"replay", []string{"replay", "--dry-run", "-"}, terminalEvent},
		{"warehouse plan", []string{"warehouse", "plan", "-"}, terminalEvent},
	}
	for _, c := range commands {
		t.Run(c.name, func(t *testing.T) {
			ptmx, tty, err := pty.Open()
			require.NoError(t, err)
			defer ptmx.Close()
			defer tty.Close()
			// Typed at the terminal: one event, then Ctrl-D at the start of a line.
			_, err = ptmx.Write([]byte(c.input + "\n\x04"))
			require.NoError(t, err)
			go func() { _, _ = io.Copy(io.Discard, ptmx) }() // the terminal's echo

			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			var out, errb syncBuffer
			code := run(ctx, c.args, tty, &out, &errb)
			require.NoError(t, ctx.Err(), "Ctrl-D did not end the input")
			assert.Equal(t, exitOK, code, "stderr: %s", errb.String())
			assert.Contains(t, errb.String(), "s2segment "+c.name+": reading events from the terminal, one JSON object per line; Ctrl-D ends the input, Ctrl-C stops")
			switch c.name {
			case "try", "map":
				assert.Equal(t, 1, strings.Count(out.String(), "\n"), "the typed line was read: %s", out.String())
			case "replay":
				assert.Regexp(t, `events read +1\n`, errb.String())
			}
		})
	}
	devNull, err := os.Open(os.DevNull)
	require.NoError(t, err)
	defer devNull.Close()
	for _, c := range commands {
		t.Run("not a terminal/"+c.name, func(t *testing.T) {
			var out, errb syncBuffer
			code := run(context.Background(), c.args, devNull, &out, &errb)
			assert.Equal(t, exitOK, code, "stderr: %s", errb.String())
			assert.NotContains(t, errb.String(), "reading events from the terminal")
			code = run(context.Background(), c.args, strings.NewReader(c.input+"\n"), &out, &errb)
			assert.Equal(t, exitOK, code, "stderr: %s", errb.String())
			assert.NotContains(t, errb.String(), "reading events from the terminal")
		})
	}
}

func TestIsTerminal(t *testing.T) {
	ptmx, tty, err := pty.Open()
	require.NoError(t, err)
	defer ptmx.Close()
	defer tty.Close()
	assert.True(t, isTerminal(tty))
	assert.True(t, isTerminal(newCtxReader(context.Background(), tty)), "seen through the interruptible reader")

	devNull, err := os.Open(os.DevNull)
	require.NoError(t, err)
	defer devNull.Close()
	assert.False(t, isTerminal(devNull), "a character device, not a terminal")
	assert.False(t, isTerminal(&syncBuffer{}))
	r, w, err := os.Pipe()
	require.NoError(t, err)
	defer r.Close()
	defer w.Close()
	assert.False(t, isTerminal(r))
}
