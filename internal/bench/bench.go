package bench

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"maps"
	"runtime"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/s2segment/s2segment/batch"
	"github.com/s2segment/s2segment/dataapi"
	"github.com/s2segment/s2segment/destination/singlestore"
)

// Stage is the part of s2segment a run drives events through.
type Stage string

// The stages.
const (
	StagePipeline Stage = "pipeline"
	StageReplay   Stage = "replay"
	StageServe    Stage = "serve"
)

// ErrUnknownStage is wrapped by ParseStage for a name it does not know.
var ErrUnknownStage = errors.New("unknown stage")

// ParseStage reads "pipeline", "replay" or "serve".
func ParseStage(s string) (Stage, error) {
	switch st := Stage(strings.ToLower(strings.TrimSpace(s))); st {
	case StagePipeline, StageReplay, StageServe:
		return st, nil
	}
	return "", fmt.Errorf("%w %q: want pipeline, replay or serve", ErrUnknownStage, s)
}

// Defaults of a Config.
const (
	// DefaultEvents is the number of events of a run.
	DefaultEvents = 10_000
	// DefaultTable is the table the replay and serve stages write: a table
	// of its own, so benchmark rows never land in segment_data unless asked.
	DefaultTable = "s2segment_bench"
	// DefaultReplayConcurrency and DefaultServeConcurrency are the workers
	// of those stages; the pipeline stage has one per processor
	// (GOMAXPROCS).
	DefaultReplayConcurrency = 4
	DefaultServeConcurrency  = 16
	// MaxHTTPAttempts bounds the attempts of one request to the endpoint
	// in the serve stage; 429 and 503 answers and transport errors are
	// tried again after Retry-After (at most MaxRetryWait).
	MaxHTTPAttempts = 5
	MaxRetryWait    = 5 * time.Second
)

// Config describes a run. The zero value of every field means its default;
// the zero Config runs the pipeline stage over DefaultEvents medium events
// with seed 0.
type Config struct {
	// Stage is what the events are driven through; "" means StagePipeline.
	Stage Stage
	// Events is the number of events; 0 means DefaultEvents.
	Events int
	// Generator makes the events (seed and size class).
	Generator Generator
	// Concurrency is the number of workers (pipeline, replay) or of
	// requests in flight (serve); 0 means the stage's default.
	Concurrency int
	// BatchSize caps the rows of one Data API request (and the events of
	// one /v1/batch request); 0 means singlestore.DefaultBatchSize.
	BatchSize int
	// MaxRequestBytes caps a Data API request body; 0 means
	// batch.DefaultMaxBytes.
	MaxRequestBytes int
	// Duration, when positive, stops the run from taking new events once
	// it has run that long; the report then counts the events driven.
	Duration time.Duration
	// Baseline also runs the stage's baseline over the same events and
	// reports the stage's speed as a ratio to it.
	Baseline bool

	// DataAPI is the Data API that the replay stage and the in-process
	// serve stage write to; nil starts an embedded emulator on a loopback
	// port. Its Database is required.
	DataAPI *dataapi.Config
	// Table is the table written; "" means DefaultTable. It is created if
	// missing, in Schema.
	Table string
	// Schema is the table's schema (the dedupe schema by default).
	Schema singlestore.Schema

	// URL is the endpoint of the serve stage, such as
	// http://127.0.0.1:3000/v1/track; "" starts an in-process endpoint.
	URL string
	// WriteKey is sent as the user name of Basic auth to URL.
	WriteKey string

	// ServerPID, when not 0, is the process of the Data API the run
	// writes to (an s2segment emulator started apart, say): the report
	// then gives the CPU time that process spent during the stage and each
	// baseline, next to this process's own (Linux only).
	ServerPID int

	// Logf, when set, receives notes on what the run does (never secrets).
	Logf func(format string, args ...any)
}

// ConfigError reports a Config that Run cannot use.
type ConfigError struct {
	Field  string
	Reason string
}

// Error returns "bench: Config.<Field>: <Reason>".
func (e *ConfigError) Error() string { return "bench: Config." + e.Field + ": " + e.Reason }

// Report is the outcome of a run. Its JSON form is what "s2segment bench
// --json" prints; every field is documented in the README.
type Report struct {
	Stage           Stage  `json:"stage"`
	Target          string `json:"target"`
	Size            string `json:"size"`
	Seed            uint64 `json:"seed"`
	Concurrency     int    `json:"concurrency"`
	BatchSize       int    `json:"batch_size"`
	MaxRequestBytes int    `json:"max_request_bytes"`

	// Events is the number of events driven (Config.Events unless
	// Duration cut the run short); OK + Failed = Events.
	Events     int            `json:"events"`
	OK         int            `json:"ok"`
	Failed     int            `json:"failed"`
	Failures   map[string]int `json:"failures"`
	EventBytes int64          `json:"event_bytes"`

	Seconds    float64  `json:"seconds"`
	CPUSeconds *float64 `json:"cpu_seconds"`
	// ServerCPUSeconds is the CPU time of Config.ServerPID during the
	// stage, or nil.
	ServerCPUSeconds *float64 `json:"server_cpu_seconds"`
	EventsPerS       float64  `json:"events_per_s"`
	MBPerS           float64  `json:"mb_per_s"`

	Requests     int64    `json:"requests"`
	RequestBytes int64    `json:"request_bytes"`
	Retries      int64    `json:"retries"`
	Fill         *float64 `json:"fill"`
	Latency      Latency  `json:"latency"`
	DataAPI      *APIStat `json:"dataapi"`

	Allocs             uint64  `json:"allocs"`
	AllocBytes         uint64  `json:"alloc_bytes"`
	AllocsPerEvent     float64 `json:"allocs_per_event"`
	AllocBytesPerEvent float64 `json:"alloc_bytes_per_event"`
	GCCycles           uint64  `json:"gc_cycles"`
	PeakRSSBytes       *int64  `json:"peak_rss_bytes"`
	PeakRSSScope       string  `json:"peak_rss_scope"`

	Baselines []Baseline `json:"baselines"`

	GoVersion  string `json:"go_version"`
	GOMAXPROCS int    `json:"gomaxprocs"`
}

// APIStat counts the Data API requests of a run that this process made.
type APIStat struct {
	// Batches counts the Writer's requests (ExecBatch calls).
	Batches int64 `json:"batches"`
	// Requests counts HTTP requests: retries and split halves included.
	Requests int64 `json:"requests"`
	Retries  int64 `json:"retries"`
	Splits   int64 `json:"splits"`
	// Bytes sums the bodies of the batches, as first sent.
	Bytes int64 `json:"bytes"`
	// Fill is the mean of body bytes / max_request_bytes over the batches.
	Fill float64 `json:"fill"`
}

// Baseline is the same events through a baseline, in the same run.
type Baseline struct {
	Name           string  `json:"name"`
	Events         int     `json:"events"`
	Seconds        float64 `json:"seconds"`
	EventsPerS     float64 `json:"events_per_s"`
	MBPerS         float64 `json:"mb_per_s"`
	AllocsPerEvent float64 `json:"allocs_per_event"`
	// CPUSeconds is this process's CPU time during the baseline, and
	// ServerCPUSeconds that of Config.ServerPID (nil when unknown).
	CPUSeconds       *float64 `json:"cpu_seconds"`
	ServerCPUSeconds *float64 `json:"server_cpu_seconds"`
	// Ratio is the stage's events/s divided by the baseline's.
	Ratio float64 `json:"ratio"`
}

// stageResult is what a stage's driver measured.
type stageResult struct {
	target       string
	driven       int
	eventBytes   int64
	ok           int
	failures     map[string]int
	requests     int64
	requestBytes int64
	retries      int64
	fill         *float64
	latency      Latency
	dataapi      *APIStat
	clock        measured
}

// Run generates the events and drives them through cfg.Stage.
func Run(ctx context.Context, cfg Config) (*Report, error) {
	if err := cfg.fill(); err != nil {
		return nil, err
	}
	cfg.logf("generating %d %s events (seed %d)", cfg.Events, cfg.Generator.Size, cfg.Generator.Seed)
	events := generate(cfg.Generator, cfg.Events, cfg.Concurrency)

	var (
		res *stageResult
		err error
	)
	switch cfg.Stage {
	case StagePipeline:
		res, err = runPipeline(ctx, &cfg, events)
	case StageReplay:
		res, err = runReplay(ctx, &cfg, events, cfg.Table)
	case StageServe:
		res, err = runServe(ctx, &cfg, events, serveOptions{table: cfg.Table})
	}
	if err != nil {
		return nil, err
	}
	rep := cfg.report(res)
	if cfg.Baseline {
		bs, err := runBaselines(ctx, &cfg, events, res)
		if err != nil {
			return nil, fmt.Errorf("running baseline: %w", err)
		}
		rep.Baselines = bs
	}
	return rep, nil
}

// fill checks cfg and fills in its defaults.
func (c *Config) fill() error {
	if c.Stage == "" {
		c.Stage = StagePipeline
	}
	if _, err := ParseStage(string(c.Stage)); err != nil {
		return &ConfigError{"Stage", err.Error()}
	}
	if c.Events < 0 {
		return &ConfigError{"Events", fmt.Sprintf("%d: want a positive number", c.Events)}
	}
	if c.Events == 0 {
		c.Events = DefaultEvents
	}
	if c.Generator.Size > SizeMixed {
		return &ConfigError{"Generator.Size", c.Generator.Size.String() + ": want small, medium, large or mixed"}
	}
	if c.Concurrency < 0 {
		return &ConfigError{"Concurrency", fmt.Sprintf("%d: want a positive number", c.Concurrency)}
	}
	if c.Concurrency == 0 {
		switch c.Stage {
		case StagePipeline:
			c.Concurrency = runtime.GOMAXPROCS(0)
		case StageReplay:
			c.Concurrency = DefaultReplayConcurrency
		case StageServe:
			c.Concurrency = DefaultServeConcurrency
		}
	}
	if c.BatchSize == 0 {
		c.BatchSize = singlestore.DefaultBatchSize
	}
	if c.BatchSize < 1 || c.BatchSize > singlestore.MaxBatchSize {
		return &ConfigError{"BatchSize", fmt.Sprintf("%d: want 1 to %d", c.BatchSize, singlestore.MaxBatchSize)}
	}
	if c.MaxRequestBytes == 0 {
		c.MaxRequestBytes = batch.DefaultMaxBytes
	}
	if c.MaxRequestBytes < 0 || c.MaxRequestBytes > batch.LimitMaxBytes {
		return &ConfigError{"MaxRequestBytes", fmt.Sprintf("%d: want 1 to %d", c.MaxRequestBytes, batch.LimitMaxBytes)}
	}
	if c.Duration < 0 {
		return &ConfigError{"Duration", "want a positive duration, or 0 for no limit"}
	}
	if c.Table == "" {
		c.Table = DefaultTable
	}
	if err := singlestore.ValidateTableName(c.Table); err != nil {
		return &ConfigError{"Table", err.Error()}
	}
	if c.DataAPI != nil && c.DataAPI.Database == "" {
		return &ConfigError{"DataAPI.Database", "a database is required to write to a Data API"}
	}
	if c.URL != "" && c.Stage != StageServe {
		return &ConfigError{"URL", "only the serve stage sends to an endpoint"}
	}
	if c.URL != "" && c.Baseline {
		return &ConfigError{"Baseline", "the serve stage's baseline needs the in-process endpoint: leave URL empty"}
	}
	return nil
}

func (c *Config) logf(format string, args ...any) {
	if c.Logf != nil {
		c.Logf(format, args...)
	}
}

// generate makes n events with up to workers goroutines.
func generate(g Generator, n, workers int) [][]byte {
	events := make([][]byte, n)
	workers = max(1, min(workers, runtime.GOMAXPROCS(0)))
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; i < n; i += workers {
				events[i] = g.Event(i)
			}
		}()
	}
	wg.Wait()
	return events
}

// feeder hands out consecutive chunks of event indexes to workers until the
// events or the time run out.
type feeder struct {
	next     atomic.Int64
	n        int
	chunk    int
	deadline time.Time
}

func newFeeder(n, chunk int, d time.Duration) *feeder {
	f := &feeder{n: n, chunk: max(chunk, 1)}
	if d > 0 {
		f.deadline = time.Now().Add(d)
	}
	return f
}

// take returns the next chunk [from, to); ok is false when there is none.
func (f *feeder) take(ctx context.Context) (from, to int, ok bool) {
	if ctx.Err() != nil || (!f.deadline.IsZero() && time.Now().After(f.deadline)) {
		return 0, 0, false
	}
	end := int(f.next.Add(int64(f.chunk)))
	from = end - f.chunk
	if from >= f.n {
		return 0, 0, false
	}
	return from, min(end, f.n), true
}

// drive runs workers goroutines until the feed ends and measures the run
// with a clock (serverPID's CPU time too, when it is not 0). Each worker
// ranges over the chunks [from, to) it takes; the feed ends when the events
// or the time run out, or ctx is done.
func (f *feeder) drive(ctx context.Context, workers, serverPID int, worker func(chunks iter.Seq2[int, int])) measured {
	chunks := func(yield func(from, to int) bool) {
		for {
			from, to, ok := f.take(ctx)
			if !ok || !yield(from, to) {
				return
			}
		}
	}
	var wg sync.WaitGroup
	clk := startClock(serverPID)
	for range workers {
		wg.Go(func() { worker(chunks) })
	}
	wg.Wait()
	return clk.stop()
}

// driven returns how many events were handed out.
func (f *feeder) driven() int { return min(int(f.next.Load()), f.n) }

// measured is what the clock saw over a measured phase.
type measured struct {
	wall      time.Duration
	cpu       time.Duration
	cpuOK     bool
	mem       memSnapshot
	rss       int64
	rssOK     bool
	rssScoped bool
	server    time.Duration // CPU time of the server process
	serverOK  bool
}

// clock measures a phase: wall and CPU time, allocations, peak RSS.
type clock struct {
	start    time.Time
	cpu0     time.Duration
	cpuOK    bool
	mem0     memSnapshot
	rssReset bool
	pid      int
	server0  time.Duration
	serverOK bool
}

func startClock(serverPID int) *clock {
	runtime.GC()
	c := &clock{rssReset: resetPeakRSS(), pid: serverPID}
	c.mem0 = readMem()
	c.cpu0, c.cpuOK = cpuTime()
	if serverPID != 0 {
		c.server0, c.serverOK = processCPU(serverPID)
	}
	c.start = time.Now()
	return c
}

func (c *clock) stop() measured {
	m := measured{wall: time.Since(c.start)}
	mem := readMem()
	m.mem = memSnapshot{objects: mem.objects - c.mem0.objects, bytes: mem.bytes - c.mem0.bytes, gcs: mem.gcs - c.mem0.gcs}
	if cpu, ok := cpuTime(); ok && c.cpuOK {
		m.cpu, m.cpuOK = cpu-c.cpu0, true
	}
	m.rss, m.rssOK = peakRSS()
	m.rssScoped = c.rssReset
	if c.serverOK {
		if t, ok := processCPU(c.pid); ok {
			m.server, m.serverOK = t-c.server0, true
		}
	}
	return m
}

// cpuSeconds returns the CPU time of this process and of the server, in
// seconds, each nil when unknown.
func (m measured) cpuSeconds() (own, server *float64) {
	if m.cpuOK {
		s := round3(m.cpu.Seconds())
		own = &s
	}
	if m.serverOK {
		s := round3(m.server.Seconds())
		server = &s
	}
	return own, server
}

// report builds the Report of a stage's result.
func (c *Config) report(r *stageResult) *Report {
	rep := &Report{
		Stage: c.Stage, Target: r.target, Size: c.Generator.Size.String(), Seed: c.Generator.Seed,
		Concurrency: c.Concurrency, BatchSize: c.BatchSize, MaxRequestBytes: c.MaxRequestBytes,
		Events: r.driven, OK: r.ok, Failed: r.driven - r.ok, Failures: r.failures, EventBytes: r.eventBytes,
		Requests: r.requests, RequestBytes: r.requestBytes, Retries: r.retries, Fill: r.fill,
		Latency: r.latency, DataAPI: r.dataapi, Baselines: []Baseline{},
		GoVersion: runtime.Version(), GOMAXPROCS: runtime.GOMAXPROCS(0),
	}
	if rep.Failures == nil {
		rep.Failures = map[string]int{}
	}
	m := r.clock
	rep.Seconds = round3(m.wall.Seconds())
	rep.CPUSeconds, rep.ServerCPUSeconds = m.cpuSeconds()
	if secs := m.wall.Seconds(); secs > 0 {
		rep.EventsPerS = round3(float64(r.driven) / secs)
		rep.MBPerS = round3(float64(r.eventBytes) / 1e6 / secs)
	}
	rep.Allocs, rep.AllocBytes, rep.GCCycles = m.mem.objects, m.mem.bytes, m.mem.gcs
	if r.driven > 0 {
		rep.AllocsPerEvent = round3(float64(m.mem.objects) / float64(r.driven))
		rep.AllocBytesPerEvent = round3(float64(m.mem.bytes) / float64(r.driven))
	}
	if m.rssOK {
		rss := m.rss
		rep.PeakRSSBytes = &rss
		rep.PeakRSSScope = "process"
		if m.rssScoped {
			rep.PeakRSSScope = "run"
		}
	}
	return rep
}

// sumBytes returns the total length of events[:n].
func sumBytes(events [][]byte, n int) int64 {
	var t int64
	for _, e := range events[:n] {
		t += int64(len(e))
	}
	return t
}

// failureSet counts failures by reason from several goroutines.
type failureSet struct {
	mu sync.Mutex
	m  map[string]int
}

func (f *failureSet) add(reason string, n int) {
	if n == 0 {
		return
	}
	f.mu.Lock()
	if f.m == nil {
		f.m = map[string]int{}
	}
	f.m[reason] += n
	f.mu.Unlock()
}

func (f *failureSet) total() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	t := 0
	for _, n := range f.m {
		t += n
	}
	return t
}

func (f *failureSet) snapshot() map[string]int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return maps.Clone(f.m)
}

// reasonOf names a failure by status and error type, e.g.
// "400 PAYLOAD_VALIDATION_FAILED".
func reasonOf(status int, errType string) string {
	if errType == "" {
		return fmt.Sprint(status)
	}
	return fmt.Sprintf("%d %s", status, errType)
}

// sortedReasons returns the reasons of m, most frequent first.
func sortedReasons(m map[string]int) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		if m[keys[i]] != m[keys[j]] {
			return m[keys[i]] > m[keys[j]]
		}
		return keys[i] < keys[j]
	})
	return keys
}
