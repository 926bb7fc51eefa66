package replay

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/fstest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/s2segment/s2segment/dataapi"
	"github.com/s2segment/s2segment/dataapi/emulator"
	"github.com/s2segment/s2segment/destination"
	"github.com/s2segment/s2segment/destination/singlestore"
	"github.com/s2segment/s2segment/fixtures"
	"github.com/s2segment/s2segment/internal/eventsource"
)

const testDB = "s2segment"

// event returns a valid track event with the given messageId.
func event(id string) string {
	return `{"type":"track","event":"Signed Up","messageId":"` + id + `","timestamp":"2025-07-07T10:19:25.665Z","userId":"u1","properties":{"plan":"pro"}}`
}

// mixedInput is one NDJSON file with every outcome: written, filtered (by
// a subscription on track), rejected, and read errors.
func mixedInput() fstest.MapFS {
	lines := []string{
		event("w-1"),
		`{"type":"identify","messageId":"f-1","timestamp":"2025-07-07T10:19:25Z","userId":"u1"}`,
		`{"type":"track","messageId":"r-1","timestamp":"2025-07-07T10:19:25Z"}`, // no event
		`{"type":"track","event":"x",`, // malformed
		`[1,2]`,                        // not an object
		event("w-2"),
		`{"type":"track","event":"T","messageId":"r-2","timestamp":"not a date"}`,
		event("w-3"),
	}
	return fstest.MapFS{"in.ndjson": {Data: []byte(strings.Join(lines, "\n") + "\n")}}
}

func newDryWriter(t testing.TB, out io.Writer, opts singlestore.Options, batchSize int) (*singlestore.Writer, *DryRun) {
	t.Helper()
	dry := NewDryRun(out)
	w, err := singlestore.NewWriter(dry, singlestore.WriterConfig{Options: opts, Database: testDB, BatchSize: batchSize, Concurrency: 1})
	require.NoError(t, err)
	return w, dry
}

func open(t testing.TB, fsys fstest.MapFS, paths ...string) *eventsource.Reader {
	t.Helper()
	r, err := eventsource.Open(context.Background(), eventsource.Config{FS: fsys}, paths, nil)
	require.NoError(t, err)
	t.Cleanup(func() { _ = r.Close() })
	return r
}

type reportLine struct {
	Source    string `json:"source"`
	Line      *int   `json:"line"`
	Index     *int   `json:"index"`
	Offset    *int64 `json:"offset"`
	MessageID string `json:"messageId"`
	Type      string `json:"type"`
	Status    string `json:"status"`
	Code      int    `json:"code"`
	Error     string `json:"error"`
}

func readReport(t *testing.T, data []byte) []reportLine {
	t.Helper()
	var out []reportLine
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		var l reportLine
		require.NoError(t, json.Unmarshal(sc.Bytes(), &l), "report line %q", sc.Text())
		out = append(out, l)
	}
	return out
}

func TestRunAccountsForEveryEvent(t *testing.T) {
	for _, workers := range []int{1, 3} {
		t.Run(fmt.Sprintf("workers=%d", workers), func(t *testing.T) {
			var bodies, report bytes.Buffer
			w, dry := newDryWriter(t, &bodies, singlestore.Options{Subscription: `type = "track"`}, 1)
			var progress []Progress
			sum, err := Run(context.Background(), Config{
				Writer: w, Workers: workers, ChunkEvents: 2, Report: &report,
				Progress:  func(p Progress) { progress = append(progress, p) },
				Transport: dry.Stats,
			}, open(t, mixedInput(), "in.ndjson"))
			require.NoError(t, err)
			require.NoError(t, dry.Flush())

			assert.Equal(t, int64(6), sum.Events)
			assert.Equal(t, int64(3), sum.Written)
			assert.Equal(t, int64(1), sum.Filtered)
			assert.Equal(t, int64(2), sum.Rejected)
			assert.Equal(t, int64(0), sum.Failed)
			assert.Equal(t, int64(2), sum.ReadErrors)
			assert.Equal(t, map[string]int64{"track": 3}, sum.Types)
			assert.False(t, sum.OK())
			assert.Equal(t, int64(4), sum.Problems())
			assert.Equal(t, Transport{Requests: 3, BytesSent: int64(bodies.Len() - 3), RowsAffected: 3}, sum.Transport)

			rejected, rest := sum.Reasons(Rejected, 0)
			require.Len(t, rejected, 2)
			assert.Zero(t, rest)
			assert.Equal(t, "The root value is missing the required field 'event'. The root value must match \"then\" schema.", rejected[0].Text)
			assert.Equal(t, "in.ndjson line 3 (messageId r-1)", rejected[0].Example)
			assert.Equal(t, "Timestamp must be a valid date and time string but it was not.", rejected[1].Text)
			readErrs, _ := sum.Reasons(ReadError, 0)
			require.Len(t, readErrs, 2)
			assert.Equal(t, "malformed JSON", readErrs[0].Text)
			assert.Contains(t, readErrs[0].Example, "in.ndjson: line 4")
			assert.Equal(t, "not a JSON object", readErrs[1].Text)

			// The report lists everything in input order, whatever the workers.
			lines := readReport(t, report.Bytes())
			require.Len(t, lines, 8)
			var got []string
			for _, l := range lines {
				assert.Equal(t, "in.ndjson", l.Source)
				require.NotNil(t, l.Line)
				got = append(got, fmt.Sprintf("%d %s %s %d", *l.Line, l.MessageID, l.Status, l.Code))
			}
			assert.Equal(t, []string{
				"1 w-1 written 0", "2 f-1 filtered 400", "3 r-1 rejected 400", "4  read_error 0",
				"5  read_error 0", "6 w-2 written 0", "7 r-2 rejected 400", "8 w-3 written 0",
			}, got)
			assert.Equal(t, destination.NoMatchMessage, lines[1].Error)
			assert.Contains(t, lines[3].Error, "malformed JSON")
			require.NotNil(t, lines[3].Offset)
			assert.Equal(t, "track", lines[0].Type)

			require.NotEmpty(t, progress)
			last := progress[len(progress)-1]
			assert.Equal(t, Progress{Events: 6, Written: 3, Filtered: 1, Failures: 4, Elapsed: last.Elapsed}, last)
		})
	}
}

// TestRunAllWrittenIsOK replays the bundled fixtures through a dry run and
// checks the counts against the fixtures' manifest.
func TestRunAllWrittenIsOK(t *testing.T) {
	want, err := fixtures.Expect(fixtures.DefaultDir)
	require.NoError(t, err)
	w, dry := newDryWriter(t, io.Discard, singlestore.Options{}, 0)
	r, err := eventsource.Open(context.Background(), eventsource.Config{FS: fixtures.FS()}, []string{fixtures.DefaultDir}, nil)
	require.NoError(t, err)
	sum, err := Run(context.Background(), Config{Writer: w, Transport: dry.Stats}, r)
	require.NoError(t, err)
	assert.True(t, sum.OK())
	assert.Equal(t, int64(want.Events), sum.Events)
	assert.Equal(t, int64(want.Events), sum.Written)
	wantTypes := map[string]int64{}
	for k, v := range want.Rows {
		wantTypes[k] = int64(v)
	}
	assert.Equal(t, wantTypes, sum.Types)
	assert.Equal(t, int64(want.Events), sum.Transport.RowsAffected)
}

// TestRunFailedRequests sends to a real emulator whose table does not exist:
// every event fails with the Data API's answer.
func TestRunFailedRequests(t *testing.T) {
	l, err := emulator.Listen(t.Context(), emulator.Config{})
	require.NoError(t, err)
	t.Cleanup(func() { _ = l.Close() })
	c, err := dataapi.New(dataapi.Config{Host: l.Host(), Port: l.Port(), Scheme: "http", User: "root", Database: testDB, MaxAttempts: 1})
	require.NoError(t, err)
	counting := NewCounting(singlestore.NewExecutor(c))
	w, err := singlestore.NewWriter(counting, singlestore.WriterConfig{Database: testDB, Table: "missing", BatchSize: 2})
	require.NoError(t, err)

	var report bytes.Buffer
	fsys := fstest.MapFS{"a.ndjson": {Data: []byte(event("a") + "\n" + event("b") + "\n" + event("c") + "\n")}}
	sum, err := Run(context.Background(), Config{Writer: w, Workers: 2, ChunkEvents: 2, Report: &report}, open(t, fsys, "a.ndjson"))
	require.NoError(t, err)
	assert.Equal(t, int64(3), sum.Failed)
	assert.Equal(t, int64(3), sum.Events)
	assert.Zero(t, counting.RowsAffected())
	failed, _ := sum.Reasons(Failed, 0)
	require.Len(t, failed, 1)
	assert.Contains(t, failed[0].Text, "Failed to insert data: the destination cannot take writes (400 Error 1146")
	for _, l := range readReport(t, report.Bytes()) {
		assert.Equal(t, "failed", l.Status)
		assert.Equal(t, 503, l.Code, "a missing table is the destination's failure, not the events'")
	}
}

// TestRunInterrupted cancels the run half-way: reading stops, the chunks
// handed over are still accounted for, and the summary says so.
func TestRunInterrupted(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var b strings.Builder
	for i := range 1000 {
		b.WriteString(event(fmt.Sprint("m-", i)) + "\n")
	}
	r, err := eventsource.Open(ctx, eventsource.Config{FS: fstest.MapFS{"a.ndjson": {Data: []byte(b.String())}}}, []string{"a.ndjson"}, nil)
	require.NoError(t, err)
	w, _ := newDryWriter(t, io.Discard, singlestore.Options{}, 10)
	sum, err := Run(ctx, Config{Writer: w, ChunkEvents: 10, Progress: func(p Progress) {
		if p.Events >= 100 {
			cancel()
		}
	}}, r)
	require.NoError(t, err)
	assert.True(t, sum.Interrupted)
	assert.False(t, sum.OK())
	assert.Less(t, sum.Events, int64(1000))
	assert.Equal(t, sum.Events, sum.Written+sum.Failed, "events handed over after the cancel fail, none is lost")
}

// generated is a Source of n generated events that records how far ahead
// of the accounting it has read.
type generated struct {
	n, i     int
	size     int
	counted  atomic.Int64
	maxAhead int64
}

func (g *generated) Next() (eventsource.Event, error) {
	if g.i == g.n {
		return eventsource.Event{}, io.EOF
	}
	if ahead := int64(g.i) - g.counted.Load(); ahead > g.maxAhead {
		g.maxAhead = ahead
	}
	ev := eventsource.Event{Data: fixtures.Generate(g.i, g.size), Source: "gen", Line: g.i + 1, Index: g.i}
	g.i++
	return ev, nil
}

// slowWriter delays each Write, so that reading could race ahead if
// nothing held it back.
type slowWriter struct {
	Writer
	delay time.Duration
}

func (s slowWriter) Write(ctx context.Context, events [][]byte) *destination.MultiStatus {
	time.Sleep(s.delay)
	return s.Writer.Write(ctx, events)
}

// TestRunBoundedMemory checks that reading never gets more than a fixed
// number of chunks ahead of the accounting, however long the input.
func TestRunBoundedMemory(t *testing.T) {
	const workers, chunk = 3, 20
	g := &generated{n: 1500, size: 800}
	w, _ := newDryWriter(t, io.Discard, singlestore.Options{}, 10)
	sum, err := Run(context.Background(), Config{
		Writer: slowWriter{w, time.Millisecond}, Workers: workers, ChunkEvents: chunk,
		Progress: func(p Progress) { g.counted.Store(p.Events) },
	}, g)
	require.NoError(t, err)
	assert.Equal(t, int64(1500), sum.Written)
	// Chunks in existence: one being filled, `workers` being written and
	// `workers` waiting in order for the accounting.
	assert.LessOrEqual(t, g.maxAhead, int64((2*workers+1)*chunk))
}

func TestRunReportWriteError(t *testing.T) {
	w, _ := newDryWriter(t, io.Discard, singlestore.Options{}, 0)
	sum, err := Run(context.Background(), Config{Writer: w, Report: failingWriter{}}, open(t, mixedInput(), "in.ndjson"))
	require.ErrorIs(t, err, errDiskFull)
	assert.ErrorContains(t, err, "writing the report")
	assert.Equal(t, int64(6), sum.Events, "the run goes on")
}

var errDiskFull = fmt.Errorf("disk full")

type failingWriter struct{}

func (failingWriter) Write([]byte) (int, error) { return 0, errDiskFull }

func TestRunNeedsWriter(t *testing.T) {
	_, err := Run(context.Background(), Config{}, &generated{})
	assert.Error(t, err)
}

func TestReasonsAreBounded(t *testing.T) {
	s := newSummary(2)
	for i := range 5 {
		for range i + 1 {
			s.add(Rejected, fmt.Sprint("reason ", i), func() string { return fmt.Sprint("at ", i) })
		}
	}
	s.add(Failed, "refused", func() string { return "" })
	top, rest := s.Reasons(Rejected, 0)
	require.Len(t, top, 2)
	assert.Equal(t, Reason{Kind: Rejected, Text: "reason 1", Count: 2, Example: "at 1"}, top[0])
	assert.Equal(t, Reason{Kind: Rejected, Text: "reason 0", Count: 1, Example: "at 0"}, top[1])
	assert.Equal(t, int64(3+4+5), rest, "reasons beyond the bound are still counted")
	top, rest = s.Reasons(Rejected, 1)
	assert.Len(t, top, 1)
	assert.Equal(t, int64(1+12), rest)
	assert.Equal(t, int64(15), s.Rejected)
	assert.Equal(t, int64(1), s.Failed)
	failed, _ := s.Reasons(Failed, 0)
	assert.Equal(t, []Reason{{Kind: Failed, Text: "refused", Count: 1}}, failed, "each kind has its own bound")
}

func TestKindString(t *testing.T) {
	assert.Equal(t, "written filtered rejected failed read_error Kind(9)",
		strings.Join([]string{Written.String(), Filtered.String(), Rejected.String(), Failed.String(), ReadError.String(), Kind(9).String()}, " "))
}

// TestCountingConcurrent checks the rows-affected sum under concurrent
// writes.
func TestCountingConcurrent(t *testing.T) {
	c := NewCounting(NewDryRun(io.Discard))
	w, err := singlestore.NewWriter(c, singlestore.WriterConfig{Database: testDB, BatchSize: 3, Concurrency: 4})
	require.NoError(t, err)
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Go(func() {
			evs := make([][]byte, 25)
			for i := range evs {
				evs[i] = fixtures.Generate(g*100+i, 800)
			}
			assert.Zero(t, w.Write(context.Background(), evs).Failed())
		})
	}
	wg.Wait()
	assert.Equal(t, int64(100), c.RowsAffected())
}

func TestProgressString(t *testing.T) {
	assert.Equal(t, "200 events", Progress{Events: 200, Elapsed: 100 * time.Millisecond}.String())
	assert.Equal(t, "56,200 events, 28,100 events/s, 3 failed", Progress{Events: 56200, Failures: 3, Elapsed: 2 * time.Second}.String())
}
