// Command s2segment moves Segment events into SingleStore.
//
// It is one binary with several commands: serve (the hosted Actions
// endpoint), replay (send event files through the destination), emulator (a
// local Data API on a real SQL engine), map and try (check a mapping or a
// subscription against events without sending anything), check (test the
// connection settings and create the table), manifest and version.
//
// Run "s2segment help" or "s2segment COMMAND --help" for the details of each.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/spf13/cobra"
)

// Exit statuses shared by every command.
const (
	exitOK     = 0 // everything was written, filtered or answered
	exitFailed = 1 // some events failed, or the command could not do its job
	exitUsage  = 2 // the command line or the configuration is wrong
)

// exitError carries an exit status out of a command's RunE.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string {
	if e.err == nil {
		return fmt.Sprintf("exit status %d", e.code)
	}
	return e.err.Error()
}

func (e *exitError) Unwrap() error { return e.err }

// usageError marks err as a usage or configuration error (exit status 2).
func usageError(err error) error { return &exitError{code: exitUsage, err: err} }

// failedError marks err as a run that did its work but where something failed
// (exit status 1). A nil err still exits 1 without printing anything more.
func failedError(err error) error { return &exitError{code: exitFailed, err: err} }

// commands holds the constructors of the subcommands; each command's file
// adds itself in an init function, so the commands stay independent.
var commands []func() *cobra.Command

func register(newCmd func() *cobra.Command) { commands = append(commands, newCmd) }

func newRootCmd() *cobra.Command {
	root := &cobra.Command{
		Use:   "s2segment",
		Short: "Send Segment events to SingleStore",
		Long: `s2segment is a Segment Actions destination for SingleStore.

It maps Segment events (track, identify, page, screen, group, alias) to the
fields of the Send Data action, validates them, packs them into INSERTs that
always stay under the Data API's 1 MB request limit, and writes them to a
SingleStore table through the Data API. With no host configured, replay and
serve start an embedded Data API emulator, so nothing else is needed to try it.`,
		SilenceUsage:  true,
		SilenceErrors: true,
		Args:          cobra.ArbitraryArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) > 0 {
				msg := fmt.Sprintf("unknown command %q", args[0])
				if s := cmd.SuggestionsFor(args[0]); len(s) > 0 {
					msg += " (did you mean " + strings.Join(quoteAll(s), " or ") + "?)"
				}
				return usageError(errors.New(msg + "; run 's2segment help' for the list"))
			}
			return cmd.Help()
		},
	}
	root.AddCommand(newVersionCmd())
	// --version prints what "version" prints.
	root.Version = readBuildVersion().Version
	root.SetVersionTemplate("{{with .Annotations}}{{.version}}{{end}}\n")
	root.Annotations = map[string]string{"version": readBuildVersion().String()}
	// "did you mean" for a mistyped command.
	root.SuggestionsMinimumDistance = 2
	for _, newCmd := range commands {
		root.AddCommand(newCmd())
	}
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return usageError(err) })
	markUsageErrors(root)
	registerCompletions(root)
	return root
}

// run executes the command line args and returns the process exit status.
func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	root := newRootCmd()
	root.SetArgs(args)
	if stdin != nil {
		stdin = newCtxReader(ctx, stdin)
	}
	root.SetIn(stdin)
	root.SetOut(stdout)
	root.SetErr(stderr)
	cmd, err := root.ExecuteContextC(ctx)
	if err == nil && cmd != nil && cmd.Annotations[annotationStopsOnSignal] == "true" {
		// A server's normal stop: it has shut down cleanly.
		return exitOK
	}
	if code, ok := interruptedCode(ctx); ok {
		// The command has said what it got done (replay's partial summary).
		fmt.Fprintln(stderr, "s2segment: interrupted")
		return code
	}
	if err == nil {
		return exitOK
	}
	var ee *exitError
	if errors.As(err, &ee) {
		if ee.err != nil {
			fmt.Fprintf(stderr, "s2segment: %v\n", ee.err)
		}
		return ee.code
	}
	fmt.Fprintf(stderr, "s2segment: %v\n", err)
	return exitFailed
}

// markUsageErrors makes the positional-argument checks of cmd and all its
// subcommands report usage errors (exit status 2). A command without its own
// check accepts no arguments, so a mistyped command name is an error too.
func markUsageErrors(cmd *cobra.Command) {
	check := cmd.Args
	if check == nil {
		check = cobra.NoArgs
	}
	cmd.Args = func(c *cobra.Command, args []string) error {
		if err := check(c, args); err != nil {
			return usageError(err)
		}
		return nil
	}
	for _, sub := range cmd.Commands() {
		markUsageErrors(sub)
	}
}

func main() {
	ctx, stop := notifyContext(context.Background(), os.Stderr)
	code := run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

func quoteAll(s []string) []string {
	out := make([]string, len(s))
	for i, v := range s {
		out[i] = fmt.Sprintf("%q", v)
	}
	return out
}
