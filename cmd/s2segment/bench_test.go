package main

import (
	"bufio"
	"bytes"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/tidwall/gjson"
)

// benchReportFields are the fields of the JSON report, as --help and the
// README document them.
var benchReportFields = []string{
	"stage", "target", "size", "seed", "concurrency", "batch_size", "max_request_bytes",
	"events", "ok", "failed", "failures", "event_bytes",
	"seconds", "cpu_seconds", "server_cpu_seconds", "events_per_s", "mb_per_s",
	"requests", "request_bytes", "retries", "fill", "latency", "dataapi",
	"allocs", "alloc_bytes", "allocs_per_event", "alloc_bytes_per_event", "gc_cycles",
	"peak_rss_bytes", "peak_rss_scope", "baselines", "go_version", "gomaxprocs",
}

var benchLatencyFields = []string{"unit", "count", "mean_ms", "p50_ms", "p90_ms", "p99_ms", "max_ms"}

var benchDataAPIFields = []string{"batches", "requests", "retries", "splits", "bytes", "fill"}

// benchJSON runs bench with --json and returns the parsed report.
func benchJSON(t *testing.T, wantCode int, args ...string) gjson.Result {
	t.Helper()
	code, out, errOut := runCLI(t, "", append([]string{"bench", "--json"}, args...)...)
	require.Equal(t, wantCode, code, "stderr: %s", errOut)
	require.True(t, gjson.Valid(out), "not JSON: %s", out)
	rep := gjson.Parse(out)
	for _, k := range benchReportFields {
		assert.True(t, rep.Get(k).Exists(), "field %q missing from %s", k, out)
	}
	for _, k := range benchLatencyFields {
		assert.True(t, rep.Get("latency."+k).Exists(), "latency.%s missing", k)
	}
	// Every documented field is in --help, and nothing undocumented is in
	// the report.
	rep.ForEach(func(k, _ gjson.Result) bool {
		assert.Contains(t, benchReportFields, k.Str, "undocumented field")
		assert.Contains(t, benchJSONSchema, k.Str, "field not in --help")
		return true
	})
	return rep
}

// checkConsistent checks what holds for every successful run of n events.
func checkConsistent(t *testing.T, rep gjson.Result, stage string, n int) {
	t.Helper()
	assert.Equal(t, stage, rep.Get("stage").Str)
	assert.EqualValues(t, n, rep.Get("events").Int())
	assert.EqualValues(t, n, rep.Get("ok").Int())
	assert.EqualValues(t, 0, rep.Get("failed").Int())
	assert.Empty(t, rep.Get("failures").Map())
	assert.GreaterOrEqual(t, rep.Get("requests").Int(), int64(1))
	assert.Positive(t, rep.Get("request_bytes").Int())
	fill := rep.Get("fill").Float()
	assert.True(t, fill > 0 && fill <= 1, "fill %v not in (0,1]", fill)
	assert.Positive(t, rep.Get("seconds").Float())
	assert.Positive(t, rep.Get("events_per_s").Float())
	assert.Positive(t, rep.Get("mb_per_s").Float())
	// events_per_s is events over the unrounded duration; seconds is rounded
	// to the millisecond, so the rate must lie within what that rounding
	// allows (a short run's rounding is a large fraction of it).
	secs, rate := rep.Get("seconds").Float(), rep.Get("events_per_s").Float()
	lo := float64(n) / (secs + 0.0005)
	assert.GreaterOrEqual(t, rate, lo*0.999, "events_per_s %v for %d events in %vs", rate, n, secs)
	if secs > 0.0005 {
		hi := float64(n) / (secs - 0.0005)
		assert.LessOrEqual(t, rate, hi*1.001, "events_per_s %v for %d events in %vs", rate, n, secs)
	}
	// Medium events are 3 KB ± 10%.
	eb := rep.Get("event_bytes").Float() / float64(n)
	assert.InDelta(t, 3072, eb, 310, "mean event size")
	lat := rep.Get("latency")
	assert.Positive(t, lat.Get("count").Int())
	p50, p90, p99, mx := lat.Get("p50_ms").Float(), lat.Get("p90_ms").Float(), lat.Get("p99_ms").Float(), lat.Get("max_ms").Float()
	assert.True(t, 0 <= p50 && p50 <= p90 && p90 <= p99 && p99 <= mx, "percentiles out of order: %s", lat.Raw)
	assert.True(t, rep.Get("allocs").Exists() && rep.Get("allocs_per_event").Float() >= 0)
	assert.Equal(t, "go"+strings.TrimPrefix(rep.Get("go_version").Str, "go"), rep.Get("go_version").Str)
	if rss := rep.Get("peak_rss_bytes"); rss.Type != gjson.Null {
		assert.Positive(t, rss.Int())
		assert.Contains(t, []string{"run", "process"}, rep.Get("peak_rss_scope").Str)
	}
	assert.Equal(t, "[]", rep.Get("baselines").Raw)
}

func TestBenchPipelineStage(t *testing.T) {
	rep := benchJSON(t, exitOK, "--stage", "pipeline", "--events", "450", "--seed", "7")
	checkConsistent(t, rep, "pipeline", 450)
	// 100 medium rows (~300 KB) fit in a 1 MB request: 5 requests.
	assert.EqualValues(t, 5, rep.Get("requests").Int())
	assert.Equal(t, "event", rep.Get("latency.unit").Str)
	assert.EqualValues(t, 450, rep.Get("latency.count").Int())
	assert.Equal(t, gjson.Null, rep.Get("dataapi").Type)
	assert.EqualValues(t, 0, rep.Get("retries").Int())
}

func TestBenchReplayStage(t *testing.T) {
	rep := benchJSON(t, exitOK, "--stage", "replay", "--events", "250", "--batch-size", "50", "--concurrency", "2")
	checkConsistent(t, rep, "replay", 250)
	assert.Contains(t, rep.Get("target").Str, "embedded emulator")
	assert.Equal(t, "batch", rep.Get("latency.unit").Str)
	api := rep.Get("dataapi")
	for _, k := range benchDataAPIFields {
		assert.True(t, api.Get(k).Exists(), "dataapi.%s missing", k)
	}
	assert.EqualValues(t, 5, api.Get("batches").Int(), "250 events in batches of 50")
	assert.EqualValues(t, 5, rep.Get("latency.count").Int())
	assert.EqualValues(t, api.Get("requests").Int(), rep.Get("requests").Int())
	assert.Equal(t, api.Get("fill").Float(), rep.Get("fill").Float())
}

func TestBenchServeStage(t *testing.T) {
	rep := benchJSON(t, exitOK, "--stage", "serve", "--events", "200", "--concurrency", "8")
	checkConsistent(t, rep, "serve", 200)
	assert.Contains(t, rep.Get("target").Str, "in-process endpoint")
	assert.Equal(t, "request", rep.Get("latency.unit").Str)
	assert.EqualValues(t, 200, rep.Get("requests").Int(), "one request per event")
	api := rep.Get("dataapi")
	b := api.Get("batches").Int()
	assert.True(t, b >= 1 && b <= 200, "Data API batches %d", b)
}

func TestBenchBaselines(t *testing.T) {
	rep := benchJSON(t, exitOK, "--stage", "pipeline", "--events", "300", "--baseline")
	bs := rep.Get("baselines").Array()
	require.Len(t, bs, 2)
	assert.Equal(t, "encoding/json pipeline", bs[0].Get("name").Str)
	assert.Equal(t, "gjson.ValidBytes pass", bs[1].Get("name").Str)
	for _, b := range bs {
		assert.EqualValues(t, 300, b.Get("events").Int())
		assert.Positive(t, b.Get("events_per_s").Float())
		assert.Positive(t, b.Get("ratio").Float())
	}

	rep = benchJSON(t, exitOK, "--stage", "serve", "--events", "60", "--concurrency", "4", "--baseline")
	bs = rep.Get("baselines").Array()
	require.Len(t, bs, 2)
	assert.Equal(t, "serve, one Data API request per event", bs[0].Get("name").Str)
	assert.EqualValues(t, 60, bs[0].Get("events").Int())
	// The floor posts the same events' bodies, built beforehand.
	assert.Equal(t, "pre-built bodies, bare HTTP client", bs[1].Get("name").Str)
	assert.EqualValues(t, 60, bs[1].Get("events").Int())
	assert.Positive(t, bs[1].Get("events_per_s").Float())
	assert.True(t, bs[1].Get("cpu_seconds").Exists())
	assert.True(t, rep.Get("server_cpu_seconds").Type == gjson.Null, "no --server-pid")
}

func TestBenchTable(t *testing.T) {
	code, out, errOut := runCLI(t, "", "bench", "--events", "120", "--size", "small")
	require.Equal(t, exitOK, code, errOut)
	for _, row := range []string{"stage", "target", "events", "ok / failed", "throughput", "requests", "mean fill", "retries", "latency per event", "allocations", "peak RSS"} {
		assert.Regexp(t, `(?m)^`+row+`\s{2,}\S`, out, "row %q", row)
	}
	assert.Contains(t, out, "120 (small, seed 1,")
}

func TestBenchFailedEventsExit1(t *testing.T) {
	// A 40 KB event can never fit in a 20 KB request.
	rep := benchJSON(t, exitFailed, "--stage", "pipeline", "--size", "large", "--events", "5", "--max-request-bytes", "20000")
	assert.EqualValues(t, 5, rep.Get("failed").Int())
	assert.EqualValues(t, 0, rep.Get("ok").Int())
	assert.EqualValues(t, 5, rep.Get("failures.413 PAYLOAD_TOO_LARGE").Int())
	assert.Equal(t, gjson.Null, rep.Get("fill").Type, "no request was built")
}

func TestBenchWriteNDJSON(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct {
		size   string
		target float64
	}{{"small", 512}, {"medium", 3072}, {"large", 40960}, {"mixed", 3174}} {
		t.Run(tc.size, func(t *testing.T) {
			n := 200
			if tc.size == "mixed" {
				n = 2000 // enough for the mix to average out
			}
			file := filepath.Join(dir, tc.size+".ndjson")
			code, out, errOut := runCLI(t, "", "bench", "--write", file, "--size", tc.size, "--events", strconv.Itoa(n), "--seed", "3")
			require.Equal(t, exitOK, code, errOut)
			assert.Empty(t, out)
			assert.Contains(t, errOut, "wrote "+strconv.Itoa(n)+" "+tc.size+" events")
			data, err := os.ReadFile(file)
			require.NoError(t, err)
			assert.Contains(t, errOut, "("+strconv.Itoa(len(data))+" bytes, seed 3)", "the reported size is the file's")
			lines := readLines(t, data)
			require.Len(t, lines, n)
			ids := map[string]bool{}
			total := 0
			for i, l := range lines {
				require.True(t, gjson.ValidBytes(l), "line %d is not JSON", i+1)
				require.True(t, gjson.ParseBytes(l).IsObject(), "line %d is not an object", i+1)
				ids[gjson.GetBytes(l, "messageId").Str] = true
				total += len(l)
				if tc.size != "mixed" {
					assert.InDelta(t, tc.target, float64(len(l)), tc.target*0.11+60, "line %d", i+1)
				}
			}
			assert.Len(t, ids, n, "messageIds are unique")
			assert.InEpsilon(t, tc.target, float64(total)/float64(n), 0.12, "mean size")

			// The same seed writes the same bytes; another seed does not.
			code, again, _ := runCLI(t, "", "bench", "--write", "-", "--size", tc.size, "--events", strconv.Itoa(n), "--seed", "3")
			require.Equal(t, exitOK, code)
			assert.Equal(t, string(data), again)
			code, other, _ := runCLI(t, "", "bench", "--write", "-", "--size", tc.size, "--events", strconv.Itoa(n), "--seed", "4")
			require.Equal(t, exitOK, code)
			assert.NotEqual(t, string(data), other)
		})
	}
}

func readLines(t *testing.T, data []byte) [][]byte {
	t.Helper()
	var out [][]byte
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		out = append(out, bytes.Clone(sc.Bytes()))
	}
	require.NoError(t, sc.Err())
	return out
}

// TestBenchServeURL drives an endpoint given by --url: each event goes to the
// route of its type with the write key, and a 429 with Retry-After is tried
// again.
func TestBenchServeURL(t *testing.T) {
	const key = "wk_SECRET_bench_1234"
	var (
		mu       sync.Mutex
		byRoute  = map[string]int{}
		ids      = map[string]int{}
		requests atomic.Int64
	)
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := requests.Add(1)
		user, _, ok := r.BasicAuth()
		if !ok || user != key {
			http.Error(w, "bad key", http.StatusUnauthorized)
			return
		}
		if n%10 == 3 {
			w.Header().Set("Retry-After", "0")
			http.Error(w, "slow down", http.StatusTooManyRequests)
			return
		}
		var buf bytes.Buffer
		_, _ = buf.ReadFrom(r.Body)
		typ := gjson.GetBytes(buf.Bytes(), "type").Str
		if r.URL.Path != "/v1/"+typ {
			http.Error(w, "wrong route "+r.URL.Path+" for "+typ, http.StatusBadRequest)
			return
		}
		mu.Lock()
		byRoute[typ]++
		ids[gjson.GetBytes(buf.Bytes(), "messageId").Str]++
		mu.Unlock()
		_, _ = w.Write([]byte(`{"success":true}`))
	}))
	defer ts.Close()

	t.Setenv(benchWriteKeyEnv, key)
	rep := benchJSON(t, exitOK, "--stage", "serve", "--url", ts.URL+"/v1/track", "--events", "100", "--concurrency", "4")
	assert.EqualValues(t, 100, rep.Get("ok").Int())
	assert.Len(t, ids, 100)
	assert.Greater(t, len(byRoute), 1, "events of several types, each to its route: %v", byRoute)
	assert.Positive(t, rep.Get("retries").Int())
	assert.EqualValues(t, requests.Load(), rep.Get("requests").Int())
	assert.Equal(t, gjson.Null, rep.Get("fill").Type)
	assert.Equal(t, gjson.Null, rep.Get("dataapi").Type)
	assert.NotContains(t, rep.Raw, key)

	// A wrong key fails every event, with the status as the reason.
	t.Setenv(benchWriteKeyEnv, "wrong")
	rep = benchJSON(t, exitFailed, "--stage", "serve", "--url", ts.URL+"/v1/track", "--events", "5")
	assert.EqualValues(t, 5, rep.Get("failures.HTTP 401").Int())
}

// TestBenchServeBatchURL sends /v1/batch bodies of --batch-size events.
func TestBenchServeBatchURL(t *testing.T) {
	var events, requests atomic.Int64
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		requests.Add(1)
		var buf bytes.Buffer
		_, _ = buf.ReadFrom(r.Body)
		if r.URL.Path != "/v1/batch" || !gjson.ValidBytes(buf.Bytes()) {
			http.Error(w, "bad", http.StatusBadRequest)
			return
		}
		events.Add(int64(len(gjson.GetBytes(buf.Bytes(), "batch").Array())))
		_, _ = w.Write([]byte(`{"success":true}`))
	}))
	defer ts.Close()
	rep := benchJSON(t, exitOK, "--stage", "serve", "--url", ts.URL+"/v1/batch", "--events", "95", "--batch-size", "20", "--write-key", "k")
	assert.EqualValues(t, 95, events.Load())
	assert.EqualValues(t, 5, requests.Load())
	assert.EqualValues(t, 5, rep.Get("requests").Int())
}

func TestBenchUsageErrors(t *testing.T) {
	for _, args := range [][]string{
		{"--stage", "nope"},
		{"--size", "huge"},
		{"--events", "0"},
		{"--batch-size", "0"},
		{"--batch-size", "1001"},
		{"--max-request-bytes", "2000000"},
		{"--schema", "other"},
		{"--url", "http://127.0.0.1:1/v1/track"},
		{"--stage", "serve", "--url", "http://127.0.0.1:1/v1/track", "--baseline"},
		{"--stage", "serve", "--url", "ftp://x/v1/track"},
		{"--stage", "replay", "--host", "127.0.0.1"},
		{"--table", "bad\x00name"},
		{"extra-arg"},
	} {
		code, _, errOut := runCLI(t, "", append([]string{"bench"}, args...)...)
		assert.Equal(t, exitUsage, code, "args %q: %s", args, errOut)
		assert.Contains(t, errOut, "s2segment: ", "args %q", args)
	}
}

func TestBenchHelpDocumentsSchema(t *testing.T) {
	code, out, _ := runCLI(t, "", "bench", "--help")
	require.Equal(t, exitOK, code)
	for _, k := range append(append([]string{}, benchReportFields...), benchLatencyFields...) {
		assert.Contains(t, out, k)
	}
	assert.Contains(t, out, "--write")
	assert.Contains(t, out, "s2segment_bench")
}
