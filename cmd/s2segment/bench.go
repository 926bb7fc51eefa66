package main

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/s2segment/s2segment/dataapi"
	"github.com/s2segment/s2segment/destination/singlestore"
	"github.com/s2segment/s2segment/internal/bench"
	"github.com/spf13/cobra"
)

func init() { register(newBenchCmd) }

// benchFlags are the flags of bench.
type benchFlags struct {
	target          targetFlags
	stage           string
	events          int
	size            string
	seed            uint64
	concurrency     int
	batchSize       int
	maxRequestBytes int
	duration        time.Duration
	json            bool
	write           string
	baseline        bool
	url             string
	writeKey        string
	schema          string
	serverPID       int
}

// benchWriteKeyEnv stands in for --write-key, which would otherwise show in
// process lists.
const benchWriteKeyEnv = "S2_WRITE_KEY"

// benchJSONSchema documents the JSON report; the README's bench section
// holds the same table.
const benchJSONSchema = `JSON report (--json), one object:
  stage                 "pipeline", "replay" or "serve"
  target                where the events went (never credentials)
  size, seed            the generated events' size class and seed
  concurrency           workers (pipeline, replay) or requests in flight (serve)
  batch_size            rows per Data API request at most (events per /v1/batch request)
  max_request_bytes     cap of a Data API request body, bytes
  events                events driven (--events unless --duration cut the run short)
  ok, failed            events that succeeded / did not; ok + failed = events
                        (pipeline: packed into a request; replay: written;
                        serve: acknowledged 2xx and written)
  failures              reason ("413 PAYLOAD_TOO_LARGE", "HTTP 503", ...) -> events
  event_bytes           bytes of the events driven (their JSON)
  seconds, cpu_seconds  wall time and process CPU time of the run, s (cpu_seconds null if unknown)
  server_cpu_seconds    CPU time of --server-pid during the run, s; null without it
  events_per_s, mb_per_s  events / seconds, event_bytes / 10^6 / seconds
  requests              pipeline: request bodies packed; replay: Data API HTTP
                        requests (retries and split halves included); serve:
                        HTTP requests to the endpoint (retries included)
  request_bytes         bytes of those request bodies
  retries               requests sent again (replay: by the Data API client;
                        serve: after 429/503/transport errors from the endpoint)
  fill                  mean of body bytes / max_request_bytes over the Data API
                        request bodies, in (0, 1]; null when not seen (serve --url)
  latency               {unit, count, mean_ms, p50_ms, p90_ms, p99_ms, max_ms}: unit
                        "event" (pipeline: one event's action, encoding, packing),
                        "batch" (replay: one Writer request, retries included) or
                        "request" (serve: one HTTP round trip), in milliseconds
  dataapi               Data API requests this process made, null for pipeline
                        and serve --url: {batches, requests, retries, splits,
                        bytes, fill}
  allocs, alloc_bytes   heap allocations during the run, objects and bytes, whole
                        process (in-process servers included)
  allocs_per_event, alloc_bytes_per_event   the same divided by events
  gc_cycles             garbage collections during the run
  peak_rss_bytes        peak resident memory (VmHWM), bytes; null off Linux
  peak_rss_scope        "run" (reset at the start of the run) or "process"
  baselines             with --baseline: [{name, events, seconds, events_per_s,
                        mb_per_s, allocs_per_event, cpu_seconds, server_cpu_seconds,
                        ratio}], ratio = the stage's events/s divided by the
                        baseline's; [] without
  go_version, gomaxprocs   the Go runtime of the run`

func newBenchCmd() *cobra.Command {
	var f benchFlags
	cmd := &cobra.Command{
		Use:   "bench [--stage pipeline|replay|serve] [--events N] [--size small|medium|large|mixed] [flags]",
		Short: "Measure throughput, latency and memory of a stage on generated events",
		Long: `bench generates realistic Segment events and drives them through one stage
of s2segment, then reports events/s, MB/s, requests, mean request fill,
latency percentiles, retries, allocations and peak memory, as a table or as
JSON (--json).

Events are generated deterministically from --seed: small (~0.5 KB, a server
library's event), medium (~3 KB, analytics.js with its browser context), large
(~40 KB, an order with a long product list), or mixed (70% small, 25% medium,
5% large). Each has its own messageId "bench-SEED-N", so the same seed writes
the same rows, and a second run of it into the same dedupe table measures
the path of events already there.

Stages:
  pipeline  the Send Data action, row encoding and packing into request bodies,
            in process, no network (one packer per worker)
  replay    a Writer with a real Data API client, writing --batch-size events per
            request: to the Data API of the settings flags (--host ...), or to an
            embedded emulator on a loopback port when no host is given
  serve     HTTP requests to the endpoint --url with --write-key (a single-event
            route such as http://127.0.0.1:3000/v1/track sends each event to the
            route of its type; /v1/batch sends --batch-size events per request);
            with no --url, an in-process endpoint (group commit) with a Writer
            and the Data API of the settings flags or an embedded emulator. 429
            and 503 answers are tried again after Retry-After, up to 5 attempts.

--baseline runs, in the same process and on the same events, the stage's
baseline and reports the stage's speed as a ratio to it: an encoding/json
pipeline and a gjson.ValidBytes pass (pipeline), the pipeline stage (replay),
one Data API request per event without group commit (serve, in-process only),
and for replay and in-process serve the floor: the same events' request
bodies built beforehand and posted with a bare HTTP client.

--write FILE writes the generated events as NDJSON ("-" for standard output)
and exits without running a stage, for replay and other tools.

The replay and serve stages write to the table --table (default
s2segment_bench; S2_TABLE is not read, so benchmark rows never land in
segment_data unless asked), created with --schema if missing.

` + benchJSONSchema + `

Exit status: 0 when every event succeeded, 1 when any failed, 2 for usage errors.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runBench(cmd, &f)
		},
	}
	fs := cmd.Flags()
	fs.StringVar(&f.stage, "stage", string(bench.StagePipeline), "pipeline, replay or serve")
	fs.IntVar(&f.events, "events", bench.DefaultEvents, "number of events")
	fs.StringVar(&f.size, "size", "medium", "event size: small (~0.5 KB), medium (~3 KB), large (~40 KB) or mixed")
	fs.Uint64Var(&f.seed, "seed", 1, "seed of the generated events")
	fs.IntVar(&f.concurrency, "concurrency", 0, "workers or requests in flight (default: GOMAXPROCS for pipeline, 4 for replay, 16 for serve)")
	fs.IntVar(&f.batchSize, "batch-size", singlestore.DefaultBatchSize, "rows per Data API request at most (1 to 1000)")
	fs.IntVar(&f.maxRequestBytes, "max-request-bytes", 1_000_000, "cap of a Data API request body in bytes (at most 1048576)")
	fs.DurationVar(&f.duration, "duration", 0, "stop taking new events after this long (0: run every event)")
	fs.BoolVar(&f.json, "json", false, "print the report as JSON")
	fs.StringVar(&f.write, "write", "", "write the generated events as NDJSON to FILE (- for stdout) and exit")
	fs.BoolVar(&f.baseline, "baseline", false, "also run the stage's baseline on the same events and report the ratio")
	fs.StringVar(&f.url, "url", "", "serve stage: endpoint to send to, e.g. http://127.0.0.1:3000/v1/track (default: in-process)")
	fs.StringVar(&f.writeKey, "write-key", "", "serve stage: write key for --url (env "+benchWriteKeyEnv+")")
	fs.StringVar(&f.schema, "schema", "dedupe", "schema of the table created: dedupe or reference")
	fs.IntVar(&f.serverPID, "server-pid", 0, "process of the Data API written to (e.g. an s2segment emulator started apart): report its CPU time too (Linux)")
	f.target.register(fs)
	fs.Lookup("table").DefValue = bench.DefaultTable
	fs.Lookup("table").Usage = "table written by replay and serve (S2_TABLE is not read)"
	f.target.Table = bench.DefaultTable
	return cmd
}

func runBench(cmd *cobra.Command, f *benchFlags) error {
	cfg, err := f.config(cmd)
	if err != nil {
		return usageError(err)
	}
	if f.write != "" {
		return benchWriteEvents(cmd, cfg.Generator, cfg.Events, f.write)
	}
	stderr := cmd.ErrOrStderr()
	cfg.Logf = func(format string, args ...any) { fmt.Fprintf(stderr, "bench: "+format+"\n", args...) }
	rep, err := bench.Run(cmd.Context(), cfg)
	if err != nil {
		var ce *bench.ConfigError
		if errors.As(err, &ce) {
			return usageError(err)
		}
		return failedError(fmt.Errorf("running bench: %w", err))
	}
	out := cmd.OutOrStdout()
	if f.json {
		err = rep.WriteJSON(out)
	} else {
		err = rep.WriteTable(out)
	}
	if err != nil {
		return failedError(fmt.Errorf("writing report: %w", err))
	}
	if rep.Failed > 0 {
		return failedError(fmt.Errorf("%d of %d events failed", rep.Failed, rep.Events))
	}
	return nil
}

// config reads the flags into a bench.Config.
func (f *benchFlags) config(cmd *cobra.Command) (bench.Config, error) {
	fs := cmd.Flags()
	if err := f.target.resolve(nil); err != nil {
		return bench.Config{}, err
	}
	if !fs.Changed("table") {
		f.target.Table = bench.DefaultTable
	}
	stage, err := bench.ParseStage(f.stage)
	if err != nil {
		return bench.Config{}, fmt.Errorf("--stage: %w", err)
	}
	size, err := bench.ParseSize(f.size)
	if err != nil {
		return bench.Config{}, fmt.Errorf("--size: %w", err)
	}
	schema, err := singlestore.ParseSchema(f.schema)
	if err != nil {
		return bench.Config{}, fmt.Errorf("--schema: %w", err)
	}
	switch {
	case f.events < 1:
		return bench.Config{}, fmt.Errorf("--events: want at least 1, got %d", f.events)
	case f.concurrency < 0:
		return bench.Config{}, fmt.Errorf("--concurrency: want a positive number, got %d", f.concurrency)
	case f.batchSize < 1 || f.batchSize > singlestore.MaxBatchSize:
		return bench.Config{}, fmt.Errorf("--batch-size: want 1 to %d, got %d", singlestore.MaxBatchSize, f.batchSize)
	case f.maxRequestBytes < 1 || f.maxRequestBytes > 1<<20:
		return bench.Config{}, fmt.Errorf("--max-request-bytes: want 1 to %d, got %d", 1<<20, f.maxRequestBytes)
	case f.duration < 0:
		return bench.Config{}, fmt.Errorf("--duration: want a positive duration, got %s", f.duration)
	case f.url != "" && stage != bench.StageServe:
		return bench.Config{}, errors.New("--url: only the serve stage sends to an endpoint; add --stage serve")
	case f.url != "" && f.baseline:
		return bench.Config{}, errors.New("--baseline: the serve baseline runs in process; leave out --url")
	}
	cfg := bench.Config{
		Stage: stage, Events: f.events, Generator: bench.Generator{Seed: f.seed, Size: size},
		Concurrency: f.concurrency, BatchSize: f.batchSize, MaxRequestBytes: f.maxRequestBytes,
		Duration: f.duration, Baseline: f.baseline, Table: f.target.Table, Schema: schema, ServerPID: f.serverPID,
		URL: f.url, WriteKey: f.writeKey,
	}
	if cfg.WriteKey == "" {
		cfg.WriteKey = os.Getenv(benchWriteKeyEnv)
	}
	if f.target.Host != "" && stage != bench.StagePipeline && f.url == "" {
		if f.target.Database == "" {
			return bench.Config{}, errors.New("--database: a database is required with --host (or S2_DATABASE)")
		}
		dc := dataapi.Config{
			Host: f.target.Host, Port: f.target.Port, Scheme: f.target.Scheme,
			User: f.target.User, Password: f.target.Password, Database: f.target.Database,
			InsecureSkipVerify: f.target.Insecure,
		}
		if f.target.CACert != "" {
			pem, err := os.ReadFile(f.target.CACert)
			if err != nil {
				return bench.Config{}, fmt.Errorf("--ca-cert: %w", err)
			}
			dc.CACert = pem
		}
		cfg.DataAPI = &dc
	}
	return cfg, nil
}

// benchWriteEvents writes n generated events as NDJSON to name ("-" is
// standard output).
func benchWriteEvents(cmd *cobra.Command, g bench.Generator, n int, name string) (err error) {
	var w io.Writer = cmd.OutOrStdout()
	if name != "-" {
		file, err := os.Create(name)
		if err != nil {
			return failedError(fmt.Errorf("creating %s: %w", name, err))
		}
		defer func() {
			if cerr := file.Close(); cerr != nil && err == nil {
				err = failedError(fmt.Errorf("writing %s: %w", name, cerr))
			}
		}()
		w = file
	}
	bw := bufio.NewWriterSize(w, 1<<20)
	var total int64
	for i := range n {
		if err := cmd.Context().Err(); err != nil {
			return failedError(fmt.Errorf("writing events: %w", err))
		}
		ev := g.Event(i)
		total += int64(len(ev)) + 1 // the line and its newline: the size of what was written
		bw.Write(ev)
		bw.WriteByte('\n')
	}
	if err := bw.Flush(); err != nil {
		return failedError(fmt.Errorf("writing %s: %w", name, err))
	}
	fmt.Fprintf(cmd.ErrOrStderr(), "bench: wrote %d %s events (%d bytes, seed %d) to %s\n", n, g.Size, total, g.Seed, name)
	return nil
}
