package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/s2segment/s2segment/destination/singlestore"
	"github.com/s2segment/s2segment/internal/adapter"
	"github.com/s2segment/s2segment/internal/diagnose"
)

func init() { register(newCheckCmd) }

// defaultCheckTimeout bounds a whole check.
const defaultCheckTimeout = 20 * time.Second

type checkFlags struct {
	target  targetFlags
	schema  string
	timeout time.Duration
}

func newCheckCmd() *cobra.Command {
	var f checkFlags
	cmd := &cobra.Command{
		Use:   "check [settings flags] [--schema dedupe|reference]",
		Short: "Test the connection settings and create the table",
		Long: `check does what Segment's "test authentication" does for the destination:
it connects to the Data API with the settings, creates the table if it is
missing (in the dedupe schema by default), and compares the columns of the
table with the 11 that s2segment writes.

On success it prints one "ok: …" line and exits 0. On failure it says what
went wrong and what to do, and exits 1:

  unknown host (DNS)               check --host
  connection refused, timeout      check --port, the firewall or IP allowlist
  TLS scheme or certificate        --scheme http for the dev image on 9000, --ca-cert for a private CA
  wrong credentials (401)          check --user and --password
  missing privilege (403)          the GRANT statement to run
  unknown database (1049)          the CREATE DATABASE statement to run
  table with a different schema    the columns that differ

Bad flags exit 2. --host is required: check has no embedded emulator.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runCheck(cmd, &f)
		},
	}
	fs := cmd.Flags()
	f.target.register(fs)
	fs.StringVar(&f.schema, "schema", "dedupe", "schema of the table to create or expect: dedupe (messageId unique) or reference (Segment's keyless table)")
	fs.DurationVar(&f.timeout, "timeout", defaultCheckTimeout, "bound on the whole check")
	return cmd
}

func runCheck(cmd *cobra.Command, f *checkFlags) error {
	out, errOut := cmd.OutOrStdout(), cmd.ErrOrStderr()
	if err := f.target.resolve(nil); err != nil {
		return usageError(err)
	}
	t := f.target
	schema, err := singlestore.ParseSchema(f.schema)
	if err != nil {
		return usageError(fmt.Errorf("--schema: %w", err))
	}
	switch {
	case t.Host == "":
		return usageError(errors.New("--host (S2_HOST) is required: check tests a real Data API (start one with 's2segment emulator')"))
	case t.User == "":
		return usageError(errors.New("--user (S2_USER) is required"))
	case t.Database == "":
		return usageError(errors.New("--database (S2_DATABASE) is required"))
	case f.timeout <= 0:
		return usageError(fmt.Errorf("--timeout: want a positive duration, got %v", f.timeout))
	}
	if err := singlestore.ValidateDatabaseName(t.Database); err != nil {
		return usageError(fmt.Errorf("--database: %w", err))
	}
	if err := singlestore.ValidateTableName(t.Table); err != nil {
		return usageError(fmt.Errorf("--table: %w", err))
	}
	conn := adapter.Connection{Scheme: t.Scheme, InsecureSkipVerify: t.Insecure, Timeout: f.timeout}
	if t.CACert != "" {
		if conn.CACert, err = os.ReadFile(t.CACert); err != nil {
			return usageError(fmt.Errorf("--ca-cert: %w", err))
		}
	}
	settings := singlestore.Settings{Host: t.Host, Port: t.Port, Username: t.User, Password: t.Password, DBName: t.Database, TableName: t.Table}
	client, err := conn.NewClient(settings)
	if err != nil {
		return usageError(err)
	}
	defer client.CloseIdleConnections()
	target := conn.TargetOf(settings, schema)

	ctx, cancel := context.WithTimeout(cmd.Context(), f.timeout)
	defer cancel()
	res, err := diagnose.Check(ctx, client, target)
	if err != nil {
		if cmd.Context().Err() != nil {
			return failedError(fmt.Errorf("check interrupted: %w", cmd.Context().Err()))
		}
		printCheckFailure(errOut, target, err)
		return failedError(nil)
	}
	for _, w := range res.Warnings {
		fmt.Fprintf(errOut, "warning: %s\n", w)
	}
	what := "already there with the expected columns"
	if res.Created {
		what = "created"
	}
	fmt.Fprintf(out, "ok: %s as %s: table %s.%s %s (%s schema)\n", target.Endpoint(), t.User,
		singlestore.QuoteIdentifier(t.Database), singlestore.QuoteIdentifier(t.Table), what, schema)
	return nil
}

// printCheckFailure writes what went wrong and what to do.
func printCheckFailure(w io.Writer, t diagnose.Target, err error) {
	var ce *diagnose.CheckError
	if !errors.As(err, &ce) {
		ce = diagnose.Explain(err, t)
	}
	fmt.Fprintf(w, "check failed (%s): %s\n", ce.Kind, ce.Summary)
	if ce.Hint != "" {
		for _, line := range strings.Split(ce.Hint, "\n") {
			fmt.Fprintf(w, "  %s\n", line)
		}
	}
	if ce.Err != nil && ce.Kind != diagnose.KindOther && ce.Kind != diagnose.KindSchemaMismatch {
		fmt.Fprintf(w, "  (%v)\n", ce.Err)
	}
}
