package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"runtime/debug"
	"runtime/pprof"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/s2segment/s2segment/batch"
	"github.com/s2segment/s2segment/dataapi"
	"github.com/s2segment/s2segment/dataapi/emulator"
	"github.com/s2segment/s2segment/destination/singlestore"
	"github.com/s2segment/s2segment/destination/singlestore/warehouse"
	"github.com/s2segment/s2segment/fixtures"
	"github.com/s2segment/s2segment/internal/eventsource"
	"github.com/s2segment/s2segment/internal/replay"
)

func init() { register(newReplayCmd) }

// replayFlags are the command line of "s2segment replay".
type replayFlags struct {
	target          targetFlags
	mapping         string
	subscription    string
	batchSize       int
	maxRequestBytes int
	concurrency     int
	dedupe          bool
	createTable     bool
	jsonStrings     bool
	dryRun          bool
	out             string
	quiet           bool
	report          string
	cpuProfile      string
	timeout         time.Duration
	retries         *retryCounter
	action          string
	maxColumns      int
}

// Limits of the replay flags.
const (
	defaultReplayConcurrency = 4
	maxReplayConcurrency     = 64
	// chunkRequests is how many full requests' worth of events one Write
	// call gets: enough to keep requests full, small enough to keep memory
	// flat.
	chunkRequests = 2
	// memoryFloor is the memory budget's share for the binary's own data
	// and buffers, before any chunk of events.
	memoryFloor = 32 << 20
)

// memoryBudget is the soft memory limit replay runs under when the rows go
// out of the process: the floor, plus each chunk of events that can exist
// at once (see replay.Run) twice over, for the events and the payloads made
// of them. The collector then runs at gcPercent, so it collects less often
// while the heap is small, and at the latest when the heap reaches the
// budget, which keeps the resident size flat over any input length.
func memoryBudget(workers, chunkBytes int) int64 {
	return memoryFloor + int64(2*workers+1)*int64(chunkBytes)*2
}

// gcPercent is the GOGC replay runs with under its memory budget.
const gcPercent = 200

// tuneMemory sets replay's memory budget and GC percent, except those the
// environment sets (GOMEMLIMIT, GOGC win), and returns what restores them.
func tuneMemory(budget int64) (restore func()) {
	var undo []func()
	if _, set := os.LookupEnv("GOMEMLIMIT"); !set {
		prev := debug.SetMemoryLimit(budget)
		undo = append(undo, func() { debug.SetMemoryLimit(prev) })
	}
	if _, set := os.LookupEnv("GOGC"); !set {
		prev := debug.SetGCPercent(gcPercent)
		undo = append(undo, func() { debug.SetGCPercent(prev) })
	}
	return func() {
		for _, u := range undo {
			u()
		}
	}
}

func newReplayCmd() *cobra.Command {
	f := &replayFlags{retries: newRetryCounter()}
	cmd := &cobra.Command{
		Use:   "replay [flags] [PATH...]",
		Short: "Send event files through the destination and show what landed",
		Long: `replay reads Segment events and writes them to SingleStore through the Send
Data action, exactly as the hosted endpoint does: subscription, mapping,
validation, rows packed into INSERTs under the Data API's 1 MB request limit.

Inputs (PATH): files holding one event, a JSON array of events, a Tracking API
/v1/batch body (its top-level context and integrations are merged into each
event), NDJSON / JSON Lines, any of these gzip-compressed, whole directories
(read recursively in name order), and - for standard input. The format is found
from the content, not the file name. With no PATH, the fixture events bundled in
the binary are replayed. Events stream through in chunks, so memory stays flat
whatever the input size.

Target: the settings flags or S2_* variables. With no --host, an embedded Data
API emulator (a real SQL engine, in memory) is started on a loopback port and
the rows go there; the run says so, and the rows are gone when it exits. With
--dry-run nothing is sent and no server is needed: each request body is written
as one JSON line to standard output (or --out).

The table is created first unless --create-table=false: with --dedupe (the
default) messageId is its unique key and replaying the same events again adds
no rows; --dedupe=false creates Segment's keyless table and uses plain INSERTs.

Output: a progress line on a terminal, then a summary on standard error (events
read, written, filtered by the subscription, rejected by validation with the top
reasons, failed, unreadable lines or files, requests, bytes, retries, speed),
then what landed on standard output: row counts by type and a few rows read back
through the Data API (for a --host, the table's total row count). --report FILE
writes one JSON line per event and per read error: where it came from, its
messageId, and what became of it.

Exit status: 0 when every event was written or filtered, 1 when any event was
rejected or failed or any input could not be read, 2 for usage or configuration
errors (bad flags, a mapping or subscription that does not compile, a server
that cannot be reached or refuses the credentials).`,
		Example: `  s2segment replay                                   # bundled fixtures into the embedded emulator
  s2segment replay events/ more.ndjson.gz            # your files, same
  s2segment replay --dry-run --out bodies.ndjson -   # stdin to request bodies, nothing sent
  S2_PASSWORD=… s2segment replay --host svc.example.singlestore.com --user admin --database analytics events/`,
		Args: cobra.ArbitraryArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return runReplay(cmd, f, args)
		},
	}
	fs := cmd.Flags()
	f.target.register(fs)
	fs.StringVar(&f.mapping, "mapping", "", "mapping to overlay on the defaults: a JSON object, or a file holding one")
	fs.StringVar(&f.subscription, "subscription", "", "FQL subscription replacing the default one (events it does not select are filtered, not failed)")
	fs.IntVar(&f.batchSize, "batch-size", singlestore.DefaultBatchSize, fmt.Sprintf("most rows per request, 1 to %d; when not given, the mapping's max_batch_size if it sets one", singlestore.MaxBatchSize))
	fs.IntVar(&f.maxRequestBytes, "max-request-bytes", batch.DefaultMaxBytes, fmt.Sprintf("largest request body in bytes, at most %d", batch.LimitMaxBytes))
	fs.IntVar(&f.concurrency, "concurrency", defaultReplayConcurrency, fmt.Sprintf("requests in flight at once, 1 to %d", maxReplayConcurrency))
	fs.BoolVar(&f.dedupe, "dedupe", true, "dedupe schema: messageId is the table's unique key and a replayed event is written once; false for Segment's keyless table and plain INSERTs")
	fs.BoolVar(&f.createTable, "create-table", true, "create the table (IF NOT EXISTS) before sending")
	fs.BoolVar(&f.jsonStrings, "json-strings", false, "send properties, traits and context as JSON-encoded strings")
	fs.BoolVar(&f.dryRun, "dry-run", false, "send nothing: write each request body as one JSON line to standard output or --out")
	fs.StringVar(&f.out, "out", "", "with --dry-run, the file the request bodies go to (default standard output)")
	fs.BoolVarP(&f.quiet, "quiet", "q", false, "no progress line and no rows read back; the summary is still printed")
	fs.StringVar(&f.report, "report", "", "write one JSON line per event and per read error to this file")
	fs.StringVar(&f.cpuProfile, "cpuprofile", "", "write a CPU profile of the run to this file")
	fs.DurationVar(&f.timeout, "timeout", dataapi.DefaultTimeout, "bound on each Data API request, from connecting to the end of the answer (retries get their own)")
	fs.StringVar(&f.action, "action", singlestore.SendActionKey, `the action: "send" (Send Data: one row per event in the table) or "warehouse" (Segment's warehouse schema: tracks, identifies, users, one table per event …; see docs/warehouse.md)`)
	fs.IntVar(&f.maxColumns, "max-columns", warehouse.DefaultMaxColumns, "with --action warehouse, the most columns a table may have; values past it go to _unmapped")
	return cmd
}

// replayTarget is where a replay writes: the executor and what to close.
type replayTarget struct {
	exec      singlestore.Executor
	client    *dataapi.Client // nil for a dry run
	dry       *replay.DryRun  // nil unless a dry run
	local     *emulator.Local // nil unless the embedded emulator runs
	database  string
	transport func() replay.Transport
	closers   []func() error
}

func runReplay(cmd *cobra.Command, f *replayFlags, paths []string) (err error) {
	ctx := cmd.Context()
	stdout, stderr := cmd.OutOrStdout(), cmd.ErrOrStderr()
	fl := cmd.Flags()

	// Flags and settings: everything that can be wrong before any I/O.
	if err := f.target.resolve(nil); err != nil {
		return usageError(err)
	}
	if err := f.check(fl.Changed); err != nil {
		return usageError(err)
	}
	opts, err := f.options(fl.Changed("subscription"))
	if err != nil {
		return usageError(err)
	}
	// closeLater runs a clean-up when runReplay returns, and reports its
	// error unless an earlier one is being returned.
	closeLater := func(close func() error) {
		if cerr := close(); cerr != nil && err == nil {
			err = failedError(cerr)
		}
	}
	if f.cpuProfile != "" {
		stop, perr := startCPUProfile(f.cpuProfile)
		if perr != nil {
			return usageError(fmt.Errorf("--cpuprofile: %w", perr))
		}
		defer closeLater(stop)
	}
	var report *os.File
	if f.report != "" {
		if report, err = os.Create(f.report); err != nil {
			return usageError(fmt.Errorf("--report: %w", err))
		}
		defer closeLater(func() error {
			if err := report.Close(); err != nil {
				return fmt.Errorf("writing the report: %w", err)
			}
			return nil
		})
	}

	// Where the rows go.
	tgt, err := f.openTarget(ctx, stdout, stderr)
	if err != nil {
		return err
	}
	defer closeLater(tgt.close)
	batchSize := 0 // the mapping's max_batch_size, or the default
	if fl.Changed("batch-size") {
		batchSize = f.batchSize
	}
	out, err := f.newWriter(ctx, tgt, opts, batchSize)
	if err != nil {
		return err
	}

	// What is read.
	inputs := &countingFS{}
	if len(paths) == 0 {
		inputs.base = fixtures.FS()
		paths = []string{fixtures.DefaultDir}
		fmt.Fprintf(stderr, "s2segment replay: no PATH given, so replaying the sample events bundled in the binary (fixtures/%s)\n"+
			"  (name files, directories or - for standard input to replay your own)\n", fixtures.DefaultDir)
	}
	if eventsource.ReadsStdin(paths) {
		announceTerminalInput(cmd.InOrStdin(), stderr, "replay")
	}
	src, err := eventsource.Open(ctx, eventsource.Config{FS: inputs}, paths, countingReader{r: cmd.InOrStdin(), n: &inputs.read})
	if err != nil {
		return failedError(err)
	}
	defer src.Close()

	workers := f.concurrency
	if f.dryRun {
		workers = 1 // bodies come out in input order; there is no network to wait for
	}
	runCfg := replay.Config{
		Writer:      out.writer,
		Workers:     workers,
		ChunkEvents: chunkRequests * out.batchSize,
		ChunkBytes:  chunkRequests * f.maxRequestBytes,
		Transport:   tgt.transport,
	}
	if report != nil {
		runCfg.Report = report
	}
	var progress *progressDisplay
	if !f.quiet {
		total := inputs.inputSize(paths)
		progress = newProgressDisplay(stderr, isTerminal(stderr), func() replay.Input {
			return replay.Input{Read: inputs.read.Load(), Total: total}
		})
		defer progress.finish()
		runCfg.Progress = progress.update
	}

	// The embedded emulator keeps its tables in this process, so its
	// memory grows with the rows and must not be squeezed.
	if tgt.local == nil {
		defer tuneMemory(memoryBudget(workers, runCfg.ChunkBytes))()
	}
	sum, runErr := replay.Run(ctx, runCfg, interruptible{ctx: ctx, src: src})
	if progress != nil {
		progress.finish() // before anything else is printed
	}
	return f.conclude(ctx, stdout, stderr, tgt, out, sum, runErr)
}

// startCPUProfile starts writing a CPU profile to the file at path and
// returns what stops it and closes the file.
func startCPUProfile(path string) (stop func() error, err error) {
	pf, err := os.Create(path)
	if err != nil {
		return nil, err
	}
	if err := pprof.StartCPUProfile(pf); err != nil {
		pf.Close()
		return nil, err
	}
	return func() error {
		pprof.StopCPUProfile()
		if err := pf.Close(); err != nil {
			return fmt.Errorf("writing the CPU profile: %w", err)
		}
		return nil
	}, nil
}

// replayWriter is the writer of one replay, for the action it runs.
type replayWriter struct {
	writer    replay.Writer
	batchSize int                          // the most rows in one request
	warehouse *singlestore.WarehouseWriter // nil unless --action warehouse
}

// newWriter makes the writer of the chosen action on top of the target,
// creates the Send Data table when asked to, and sets the target's
// transport counts to those of this run. batchSize 0 is the action's own.
func (f *replayFlags) newWriter(ctx context.Context, tgt *replayTarget, opts singlestore.Options, batchSize int) (replayWriter, error) {
	counting := replay.NewCounting(tgt.exec)
	var out replayWriter
	if f.action == singlestore.WarehouseActionKey {
		ww, err := newWarehouseReplayWriter(f, tgt, counting, batchSize)
		if err != nil {
			return out, usageError(err)
		}
		out = replayWriter{writer: ww, batchSize: ww.BatchSize(), warehouse: ww}
	} else {
		w, err := singlestore.NewWriter(counting, singlestore.WriterConfig{
			Options:         opts,
			Database:        tgt.database,
			Table:           f.target.Table,
			BatchSize:       batchSize,
			MaxRequestBytes: f.maxRequestBytes,
			Concurrency:     1, // replay.Run runs --concurrency writes at once
		})
		if err != nil {
			var ce *batch.ConfigError
			if errors.As(err, &ce) {
				return out, usageError(fmt.Errorf("--max-request-bytes: %w", err))
			}
			return out, usageError(err)
		}
		if tgt.client != nil {
			if err := f.prepareTable(ctx, tgt, w); err != nil {
				return out, err
			}
		}
		out = replayWriter{writer: w, batchSize: w.BatchSize()}
	}
	if tgt.client != nil {
		before := tgt.client.Stats()
		f.retries.reset() // the run's own retries, as for the other counts
		tgt.transport = func() replay.Transport {
			s := tgt.client.Stats()
			return replay.Transport{
				Requests: s.Requests - before.Requests, Retries: s.Retries - before.Retries,
				Splits: s.Splits - before.Splits, BytesSent: s.BytesSent - before.BytesSent,
				RowsAffected: counting.RowsAffected(), RetryReasons: f.retries.snapshot(),
			}
		}
	}
	return out, nil
}

// conclude prints the summary of a finished run and, unless it was quiet,
// interrupted or dry, what landed; it returns the run's exit error.
func (f *replayFlags) conclude(ctx context.Context, stdout, stderr io.Writer, tgt *replayTarget, out replayWriter, sum *replay.Summary, runErr error) error {
	if tgt.dry != nil {
		if err := tgt.dry.Flush(); err != nil && runErr == nil {
			runErr = fmt.Errorf("writing request bodies: %w", err)
		}
		sum.Transport = tgt.dry.Stats()
	}
	if err := sum.WriteText(stderr, replay.TextOptions{DryRun: f.dryRun, Dedupe: f.dedupe}); err != nil && runErr == nil {
		runErr = err
	}
	if out.warehouse != nil {
		printWarehouseConflicts(stderr, out.warehouse.Conflicts())
	}
	if tgt.dry != nil && f.out != "" {
		fmt.Fprintf(stderr, "request bodies: %s\n", f.out)
	}
	if f.report != "" {
		fmt.Fprintf(stderr, "report: %s\n", f.report)
	}

	if !f.quiet && tgt.client != nil && !sum.Interrupted {
		show := func() error {
			return showLanded(ctx, stdout, tgt.client, tgt.database, f.target.Table, tgt.local != nil)
		}
		if out.warehouse != nil {
			show = func() error { return showWarehouseLanded(ctx, stdout, tgt.client, tgt.database) }
		}
		if err := show(); err != nil {
			fmt.Fprintf(stderr, "s2segment replay: reading the rows back: %v\n", err)
			if runErr == nil && sum.OK() {
				return failedError(nil)
			}
		}
	}
	switch {
	case runErr != nil:
		return failedError(runErr)
	case sum.Interrupted:
		return failedError(errors.New("interrupted"))
	case !sum.OK():
		return failedError(nil) // the summary says what failed
	}
	return nil
}

// check validates the flags that need no I/O.
func (f *replayFlags) check(changed func(string) bool) error {
	if changed("batch-size") && (f.batchSize < 1 || f.batchSize > singlestore.MaxBatchSize) {
		return fmt.Errorf("--batch-size: want 1 to %d, got %d", singlestore.MaxBatchSize, f.batchSize)
	}
	if f.maxRequestBytes < 1 || f.maxRequestBytes > batch.LimitMaxBytes {
		return fmt.Errorf("--max-request-bytes: want 1 to %d (the Data API's limit), got %d", batch.LimitMaxBytes, f.maxRequestBytes)
	}
	if f.concurrency < 1 || f.concurrency > maxReplayConcurrency {
		return fmt.Errorf("--concurrency: want 1 to %d, got %d", maxReplayConcurrency, f.concurrency)
	}
	if f.timeout <= 0 {
		return fmt.Errorf("--timeout: want a positive duration, got %s", f.timeout)
	}
	switch f.action {
	case singlestore.SendActionKey:
	case singlestore.WarehouseActionKey:
		if f.dryRun {
			return errors.New("--dry-run goes with --action send; for the warehouse schema, \"s2segment warehouse plan\" shows what the events would create")
		}
		for _, flag := range []string{"mapping", "subscription", "json-strings", "dedupe", "create-table", "table"} {
			if changed(flag) {
				return fmt.Errorf("--%s goes with --action send; the warehouse action has its own tables and always dedupes on messageId", flag)
			}
		}
		if f.maxColumns < 1 || f.maxColumns > warehouse.MaxColumnsLimit {
			return fmt.Errorf("--max-columns: want 1 to %d, got %d", warehouse.MaxColumnsLimit, f.maxColumns)
		}
	default:
		return fmt.Errorf("--action: want %q or %q, got %q", singlestore.SendActionKey, singlestore.WarehouseActionKey, f.action)
	}
	if f.out != "" && !f.dryRun {
		return errors.New("--out goes with --dry-run; without it the rows are sent to the Data API")
	}
	if f.target.Host != "" && !f.dryRun && f.target.Database == "" {
		return errors.New("--database (or S2_DATABASE) is required with --host")
	}
	if f.target.Database != "" {
		if err := singlestore.ValidateDatabaseName(f.target.Database); err != nil {
			return fmt.Errorf("--database: %w", err)
		}
	}
	if err := singlestore.ValidateTableName(f.target.Table); err != nil {
		return fmt.Errorf("--table: %w", err)
	}
	return nil
}

// options compiles the mapping and the subscription once, so that a problem
// with either is reported against its flag.
func (f *replayFlags) options(subscriptionGiven bool) (singlestore.Options, error) {
	opts := singlestore.Options{Subscription: f.subscription, Schema: singlestore.SchemaDedupe}
	if !f.dedupe {
		opts.Schema = singlestore.SchemaReference
	}
	if f.jsonStrings {
		opts.JSONColumns = singlestore.JSONString
	}
	if subscriptionGiven && strings.TrimSpace(f.subscription) == "" {
		return opts, errors.New("--subscription: the subscription is empty; leave the flag out to use the default")
	}
	if f.mapping != "" {
		m, err := readMappingFlag(f.mapping)
		if err != nil {
			return opts, err
		}
		opts.Mapping = m
	}
	if _, err := singlestore.NewEncoder(opts); err != nil {
		return opts, describeCompileError(err, f.subscription)
	}
	return opts, nil
}

// openTarget sets up the dry-run output, the embedded emulator, or the
// client of the configured Data API.
func (f *replayFlags) openTarget(ctx context.Context, stdout, stderr io.Writer) (*replayTarget, error) {
	t := f.target
	tgt := &replayTarget{database: t.Database}
	if f.dryRun {
		if tgt.database == "" {
			tgt.database = emulator.DefaultDatabase
		}
		out := stdout
		if f.out != "" {
			file, err := os.Create(f.out)
			if err != nil {
				return nil, usageError(fmt.Errorf("--out: %w", err))
			}
			tgt.closers = append(tgt.closers, file.Close)
			out = file
		}
		tgt.dry = replay.NewDryRun(out)
		tgt.exec = tgt.dry
		return tgt, nil
	}

	cfg := dataapi.Config{
		Host: t.Host, Port: t.Port, Scheme: t.Scheme, User: t.User, Password: t.Password,
		InsecureSkipVerify: t.Insecure, MaxInFlight: f.concurrency,
		Timeout: f.timeout, Logger: slog.New(f.retries),
	}
	if t.Host == "" {
		if tgt.database == "" {
			tgt.database = emulator.DefaultDatabase
		}
		// Not ctx: an interrupted replay is reported as interrupted by the
		// run, not as an emulator that failed to start.
		local, err := emulator.Listen(context.Background(), emulator.Config{Databases: []string{tgt.database}})
		if err != nil {
			return nil, failedError(fmt.Errorf("starting the embedded emulator: %w", err))
		}
		tgt.local = local
		tgt.closers = append(tgt.closers, local.Close)
		cfg.Host, cfg.Port, cfg.Scheme, cfg.User, cfg.Password = local.Host(), local.Port(), "http", "root", ""
		cfg.InsecureSkipVerify = false
		fmt.Fprintf(stderr, "s2segment replay: no --host given, so the rows go to an embedded Data API emulator at %s\n"+
			"  (%s%s; the rows are gone when replay exits)\n", local.URL(), local.Server().Engine(), rulesNote(local.Server()))
	} else if t.CACert != "" {
		pem, err := os.ReadFile(t.CACert)
		if err != nil {
			return nil, usageError(fmt.Errorf("--ca-cert: %w", err))
		}
		cfg.CACert = pem
	}
	cfg.Database = tgt.database
	c, err := dataapi.New(cfg)
	if err != nil {
		_ = tgt.close()
		return nil, usageError(err)
	}
	tgt.client = c
	tgt.exec = singlestore.NewExecutor(c)
	if tgt.local == nil {
		defer announceWait(stderr, fmt.Sprintf("waiting for the Data API at %s://%s to answer (each try gives up after --timeout %s)",
			t.Scheme, net.JoinHostPort(t.Host, t.Port), f.timeout))()
		if err := c.Ping(ctx); err != nil {
			_ = tgt.close()
			return nil, usageError(fmt.Errorf("cannot reach the Data API at %s://%s (check --host, --port and --scheme): %w",
				t.Scheme, net.JoinHostPort(t.Host, t.Port), err))
		}
	}
	return tgt, nil
}

// prepareTable creates the table unless told not to. Refused credentials
// are a configuration error.
func (f *replayFlags) prepareTable(ctx context.Context, tgt *replayTarget, w *singlestore.Writer) error {
	if !f.createTable {
		return nil
	}
	if err := w.CreateTable(ctx); err != nil {
		if errors.Is(err, dataapi.ErrUnauthorized) || errors.Is(err, dataapi.ErrForbidden) {
			return usageError(fmt.Errorf("%w (check --user and --password)", err))
		}
		return failedError(err)
	}
	return nil
}

func (t *replayTarget) close() error {
	var errs []error
	for i := len(t.closers) - 1; i >= 0; i-- {
		errs = append(errs, t.closers[i]())
	}
	t.closers = nil
	return errors.Join(errs...)
}
