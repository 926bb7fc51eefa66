package bench

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/s2segment/s2segment/batch"
	"github.com/s2segment/s2segment/dataapi"
	"github.com/s2segment/s2segment/dataapi/emulator"
	"github.com/s2segment/s2segment/destination"
	"github.com/s2segment/s2segment/destination/singlestore"
	"github.com/s2segment/s2segment/internal/adapter"
)

// target is a Data API to write to, with the client that speaks to it.
type target struct {
	client   *dataapi.Client
	database string
	desc     string
	api      apiEndpoint // for a bare client
	close    func()
}

// openTarget connects to c.DataAPI, or starts an embedded emulator on a
// loopback port when it is nil.
func openTarget(ctx context.Context, c *Config) (*target, error) {
	inFlight := max(c.Concurrency, dataapi.DefaultMaxInFlight)
	if c.DataAPI != nil {
		dc := *c.DataAPI
		dc.MaxInFlight = max(dc.MaxInFlight, inFlight)
		client, err := dataapi.New(dc)
		if err != nil {
			return nil, fmt.Errorf("configuring the Data API client: %w", err)
		}
		if err := client.Ping(ctx); err != nil {
			return nil, fmt.Errorf("reaching the Data API: %w", err)
		}
		scheme := dc.Scheme
		if scheme == "" {
			scheme = dataapi.DefaultScheme
		}
		desc := scheme + "://" + net.JoinHostPort(dc.Host, portOr(dc.Port, scheme)) + " database " + dc.Database
		ep, err := endpointOf(c, "")
		if err != nil {
			return nil, err
		}
		return &target{client: client, database: dc.Database, desc: desc, api: ep, close: client.CloseIdleConnections}, nil
	}
	local, err := emulator.Listen(ctx, emulator.Config{})
	if err != nil {
		return nil, fmt.Errorf("starting the emulator: %w", err)
	}
	client, err := dataapi.New(dataapi.Config{
		Host: local.Host(), Port: local.Port(), Scheme: "http", User: "root",
		Database: emulator.DefaultDatabase, MaxInFlight: inFlight,
	})
	if err != nil {
		_ = local.Close()
		return nil, fmt.Errorf("configuring the Data API client: %w", err)
	}
	addr := net.JoinHostPort(local.Host(), local.Port())
	ep, _ := endpointOf(c, addr) // no TLS to configure
	return &target{
		client: client, database: emulator.DefaultDatabase, api: ep,
		desc: "embedded emulator at " + local.URL() + " (" + local.Server().Engine() + ")",
		close: func() {
			client.CloseIdleConnections()
			_ = local.Close()
		},
	}, nil
}

func portOr(p, scheme string) string {
	switch {
	case p != "":
		return p
	case scheme == "http":
		return "80"
	}
	return "443"
}

// countingExecutor is the Writer's Executor over a Data API client that
// times each batch and sums its body.
type countingExecutor struct {
	inner    singlestore.Executor
	maxBytes int
	lat      recorder

	mu      sync.Mutex
	batches int64
	bytes   int64
	fillSum float64
}

func newCountingExecutor(c *dataapi.Client, maxBytes int) *countingExecutor {
	return &countingExecutor{inner: singlestore.NewExecutor(c), maxBytes: maxBytes}
}

// Exec runs a statement (the DDL) uncounted.
func (e *countingExecutor) Exec(ctx context.Context, sql string, args ...any) (dataapi.ExecResult, error) {
	return e.inner.Exec(ctx, sql, args...)
}

// ExecBatch writes a batch and counts it.
func (e *countingExecutor) ExecBatch(ctx context.Context, req *batch.Request) dataapi.BatchResult {
	t0 := time.Now()
	res := e.inner.ExecBatch(ctx, req)
	e.lat.add(time.Since(t0))
	n := len(req.Body())
	e.mu.Lock()
	e.batches++
	e.bytes += int64(n)
	e.fillSum += float64(n) / float64(e.maxBytes)
	e.mu.Unlock()
	return res
}

// stat returns the batches counted and the client's request counters since
// before.
func (e *countingExecutor) stat(before, after dataapi.Stats) *APIStat {
	e.mu.Lock()
	defer e.mu.Unlock()
	s := &APIStat{
		Batches: e.batches, Bytes: e.bytes,
		Requests: after.Requests - before.Requests, Retries: after.Retries - before.Retries,
		Splits: after.Splits - before.Splits,
	}
	if e.batches > 0 {
		s.Fill = round3(e.fillSum / float64(e.batches))
	}
	return s
}

// fill returns the mean fill, or nil when no batch was sent.
func (s *APIStat) fill() *float64 {
	if s.Batches == 0 {
		return nil
	}
	f := s.Fill
	return &f
}

// newWriter opens the table of a stage: a Writer on exec that creates the
// table if it is missing.
func newWriter(ctx context.Context, c *Config, exec singlestore.Executor, database, table string, batchSize int) (*singlestore.Writer, error) {
	w, err := singlestore.NewWriter(exec, writerConfig(c, database, table, batchSize))
	if err != nil {
		return nil, fmt.Errorf("creating the writer: %w", err)
	}
	if err := w.CreateTable(ctx); err != nil {
		return nil, err
	}
	return w, nil
}

// newSink is newWriter's table behind the endpoint's SingleStore adapter,
// as serve writes it.
func newSink(ctx context.Context, c *Config, exec singlestore.Executor, database, table string, batchSize int) (*adapter.Sink, error) {
	sink, err := adapter.NewSink(exec, adapter.SinkConfig{WriterConfig: writerConfig(c, database, table, batchSize)})
	if err != nil {
		return nil, fmt.Errorf("creating the sink: %w", err)
	}
	if err := sink.Writer().CreateTable(ctx); err != nil {
		return nil, err
	}
	return sink, nil
}

// writerConfig is the bench's Send Data writer for table.
func writerConfig(c *Config, database, table string, batchSize int) singlestore.WriterConfig {
	return singlestore.WriterConfig{
		Options: singlestore.Options{Schema: c.Schema}, Database: database, Table: table,
		BatchSize: batchSize, MaxRequestBytes: c.MaxRequestBytes, Concurrency: 1,
	}
}

// tallyResults counts the written events of a MultiStatus and names the
// failures.
func tallyResults(ms *destination.MultiStatus, fails *failureSet) (ok int) {
	for _, r := range ms.Results {
		if r.OK() {
			ok++
			continue
		}
		typ := r.ErrorType
		if typ == "" {
			typ = destination.ErrorTypeFor(r.Status)
		}
		fails.add(reasonOf(r.Status, typ), 1)
	}
	return ok
}

// runReplay writes the events with a singlestore.Writer: each worker takes
// BatchSize events at a time and writes them with one Write call.
func runReplay(ctx context.Context, c *Config, events [][]byte, table string) (*stageResult, error) {
	tg, err := openTarget(ctx, c)
	if err != nil {
		return nil, err
	}
	defer tg.close()
	c.logf("writing to %s, table %s", tg.desc, singlestore.QuoteIdentifier(table))
	exec := newCountingExecutor(tg.client, c.MaxRequestBytes)
	w, err := newWriter(ctx, c, exec, tg.database, table, c.BatchSize)
	if err != nil {
		return nil, err
	}
	var (
		fails   failureSet
		written atomic.Int64
	)
	before := tg.client.Stats()
	feed := newFeeder(len(events), c.BatchSize, c.Duration)
	m := feed.drive(ctx, c.Concurrency, c.ServerPID, func(chunks iter.Seq2[int, int]) {
		for from, to := range chunks {
			ms := w.Write(ctx, events[from:to])
			written.Add(int64(tallyResults(ms, &fails)))
		}
	})
	if err := ctx.Err(); err != nil && errors.Is(err, context.Canceled) {
		return nil, err
	}
	n := feed.driven()
	api := exec.stat(before, tg.client.Stats())
	return &stageResult{
		target: tg.desc, driven: n, eventBytes: sumBytes(events, n),
		ok: int(written.Load()), failures: fails.snapshot(),
		requests: api.Requests, requestBytes: api.Bytes, retries: api.Retries, fill: api.fill(),
		latency: exec.lat.summary("batch"), dataapi: api, clock: m,
	}, nil
}
