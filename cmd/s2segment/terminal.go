package main

import (
	"fmt"
	"io"
	"os"

	"golang.org/x/term"
)

// isTerminal reports whether f (a reader or writer) is a terminal: the
// progress bar is drawn only on one, and reading one is announced. A
// character device that is not a terminal, such as /dev/null, is not one.
func isTerminal(f any) bool {
	if c, ok := f.(*ctxReader); ok {
		f = c.r
	}
	file, ok := f.(*os.File)
	return ok && term.IsTerminal(int(file.Fd()))
}

// announceTerminalInput tells the user, on stderr, that the command reads
// events typed at the terminal on in, and how to end or stop that; it writes
// nothing when in is a file or a pipe. Without it a command started with no
// input redirected looks as if it hangs.
func announceTerminalInput(in io.Reader, stderr io.Writer, command string) {
	if isTerminal(in) {
		fmt.Fprintf(stderr, "s2segment %s: reading events from the terminal, one JSON object per line; Ctrl-D ends the input, Ctrl-C stops\n", command)
	}
}
