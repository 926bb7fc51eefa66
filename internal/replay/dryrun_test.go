package replay

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/s2segment/s2segment/batch"
	"github.com/s2segment/s2segment/dataapi"
	"github.com/s2segment/s2segment/destination/singlestore"
	"github.com/s2segment/s2segment/fixtures"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// TestDryRunBodies writes pretty-printed events (newlines inside the JSON
// columns) and checks each line is the body that would be sent, on one line.
func TestDryRunBodies(t *testing.T) {
	pretty := []byte("{\n  \"type\": \"track\",\n  \"event\": \"E\",\n  \"messageId\": \"p-1\",\r\n  \"timestamp\": \"2025-07-07T10:19:25Z\",\n  \"properties\": {\n    \"a\": \"line\\nbreak\",\n    \"n\": 12345678901234567890\n  }\n}")
	events := [][]byte{pretty, fixtures.Generate(0, 2000), fixtures.Generate(1, 2000), fixtures.Generate(2, 2000)}

	var out bytes.Buffer
	dry := NewDryRun(&out)
	var sent [][]byte
	rec := recorder{DryRun: dry, bodies: &sent}
	w, err := singlestore.NewWriter(rec, singlestore.WriterConfig{Database: testDB, MaxRequestBytes: 5000})
	require.NoError(t, err)
	ms := w.Write(context.Background(), events)
	require.Zero(t, ms.Failed())
	require.NoError(t, dry.Flush())

	lines := bytes.Split(bytes.TrimSuffix(out.Bytes(), []byte("\n")), []byte("\n"))
	require.Len(t, lines, len(sent))
	require.Greater(t, len(sent), 1, "the cap splits the events over several requests")
	rows := 0
	for i, line := range lines {
		assert.True(t, json.Valid(line), "line %d", i)
		assert.Len(t, line, len(sent[i]), "same length as the body")
		assert.LessOrEqual(t, len(line), 5000)
		var a, b bytes.Buffer
		require.NoError(t, json.Compact(&a, line))
		require.NoError(t, json.Compact(&b, sent[i]))
		assert.Equal(t, b.String(), a.String(), "the same JSON value")
		var body struct {
			SQL      string            `json:"sql"`
			Database string            `json:"database"`
			Args     []json.RawMessage `json:"args"`
		}
		require.NoError(t, json.Unmarshal(line, &body))
		assert.Equal(t, testDB, body.Database)
		assert.Zero(t, len(body.Args)%len(singlestore.Columns))
		rows += len(body.Args) / len(singlestore.Columns)
	}
	assert.Equal(t, len(events), rows)
	assert.Contains(t, string(lines[0]), `12345678901234567890`, "big integers keep their digits")
	st := dry.Stats()
	assert.Equal(t, Transport{Requests: int64(len(sent)), BytesSent: int64(out.Len() - len(sent)), RowsAffected: int64(len(events))}, st)

	// The DDL is not written.
	_, err = dry.Exec(context.Background(), "CREATE TABLE t (a INT)")
	require.NoError(t, err)
	require.NoError(t, dry.Flush())
	assert.Equal(t, len(lines), bytes.Count(out.Bytes(), []byte("\n")))
}

// recorder keeps the bodies a DryRun is given.
type recorder struct {
	*DryRun
	bodies *[][]byte
}

func (r recorder) ExecBatch(ctx context.Context, req *batch.Request) dataapi.BatchResult {
	*r.bodies = append(*r.bodies, bytes.Clone(req.Body())) // the Writer reuses bodies
	return r.DryRun.ExecBatch(ctx, req)
}

func TestDryRunOutputError(t *testing.T) {
	dry := NewDryRun(failingWriter{})
	w, err := singlestore.NewWriter(dry, singlestore.WriterConfig{Database: testDB})
	require.NoError(t, err)
	// A body larger than the buffer is written through at once.
	ms := w.Write(context.Background(), [][]byte{fixtures.Generate(0, 300_000)})
	require.Equal(t, 1, ms.Failed())
	assert.ErrorIs(t, ms.Results[0].Err, ErrDryRunOutput)
	assert.ErrorIs(t, ms.Results[0].Err, errDiskFull)
	assert.Equal(t, Failed, classify(&ms.Results[0]))
	assert.ErrorIs(t, dry.Flush(), errDiskFull)
	assert.Zero(t, dry.Stats().Requests)
}

func TestDryRunCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	var out bytes.Buffer
	dry := NewDryRun(&out)
	w, err := singlestore.NewWriter(dry, singlestore.WriterConfig{Database: testDB})
	require.NoError(t, err)
	ms := w.Write(ctx, [][]byte{fixtures.Generate(0, 1000)})
	require.Equal(t, 1, ms.Failed())
	assert.True(t, errors.Is(ms.Results[0].Err, context.Canceled))
	require.NoError(t, dry.Flush())
	assert.Zero(t, out.Len())
}

func FuzzWriteLine(f *testing.F) {
	f.Add([]byte(`{"sql":"INSERT","args":[{"a":` + "\n" + `1}]}`))
	f.Add([]byte("[\r\n1,\t\"x\\ny\"\n]"))
	f.Add(fixtures.Large(3000))
	f.Fuzz(func(t *testing.T, body []byte) {
		if !json.Valid(body) {
			return
		}
		var out bytes.Buffer
		d := NewDryRun(&out)
		require.NoError(t, d.writeLine(body))
		require.NoError(t, d.Flush())
		line := out.Bytes()
		require.Equal(t, byte('\n'), line[len(line)-1])
		line = line[:len(line)-1]
		require.Len(t, line, len(body))
		require.False(t, bytes.ContainsAny(line, "\r\n"))
		var a, b bytes.Buffer
		require.NoError(t, json.Compact(&a, line), "line %q", line)
		require.NoError(t, json.Compact(&b, body))
		require.Equal(t, b.String(), a.String())
	})
}

func TestSummaryText(t *testing.T) {
	s := newSummary(0)
	for range 1203 {
		s.add(Written, "", nil)
	}
	s.Types = map[string]int64{"track": 1000, "identify": 200, "alias": 3}
	for range 4 {
		s.add(Filtered, "", nil)
	}
	for i := range 9 {
		text := "The root value is missing the required field 'event'. The root value must match \"then\" schema."
		if i%3 == 0 {
			text = "Timestamp must be a valid date and time string but it was not."
		}
		s.add(Rejected, text, func() string { return "a.ndjson line 7 (messageId m-7)" })
	}
	s.add(ReadError, "malformed JSON", func() string {
		return "a.ndjson: line 12 (byte 3301): malformed JSON: invalid character '}' looking for beginning of object key string; reading resumes at line 13"
	})
	s.Transport = Transport{Requests: 13, Retries: 2, BytesSent: 3_456_789, RowsAffected: 1200}
	s.Duration = 1500 * time.Millisecond

	var b bytes.Buffer
	require.NoError(t, s.WriteText(&b, TextOptions{Dedupe: true}))
	b.WriteString("---- dry run, all good\n")
	ok := newSummary(0)
	ok.add(Written, "", nil)
	ok.Types["page"] = 1
	ok.Transport = Transport{Requests: 1, BytesSent: 950, RowsAffected: 1}
	ok.Duration = 20 * time.Millisecond
	require.NoError(t, ok.WriteText(&b, TextOptions{DryRun: true}))
	b.WriteString("---- interrupted\n")
	ok.Interrupted = true
	require.NoError(t, ok.WriteText(&b, TextOptions{}))
	b.WriteString("---- replayed again, many reasons\n")
	again := newSummary(0)
	for i := range 6 {
		again.add(Failed, fmt.Sprint("Failed to insert data: reason ", i), func() string { return "" })
	}
	for i := range 7 {
		again.add(Rejected, fmt.Sprint("Rejected for reason ", i), func() string { return "" })
	}
	for range 40 {
		again.add(Written, "", nil)
	}
	again.Types["track"] = 40
	again.Transport = Transport{Requests: 1, BytesSent: 9000}
	require.NoError(t, again.WriteText(&b, TextOptions{Dedupe: true}))
	golden(t, "summary.golden", b.Bytes())
}

func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		require.NoError(t, os.MkdirAll("testdata", 0o755))
		require.NoError(t, os.WriteFile(path, got, 0o644))
	}
	want, err := os.ReadFile(path)
	require.NoError(t, err, "run with -update to create it")
	assert.Equal(t, string(want), string(got))
}

func TestFormatting(t *testing.T) {
	for n, want := range map[int64]string{0: "0", 999: "999", 1000: "1,000", -1234567: "-1,234,567"} {
		assert.Equal(t, want, groupDigits(n))
	}
	for n, want := range map[int64]string{950: "950 B", 112_900: "112.9 kB", 3_400_000: "3.4 MB", 2_500_000_000: "2.50 GB"} {
		assert.Equal(t, want, FormatBytes(n))
	}
	assert.Equal(t, "a b…", clip("a\n  b c d", 4))
	for d, want := range map[time.Duration]string{0: "<1ms", 20 * time.Millisecond: "20ms", 1500 * time.Millisecond: "1.5s", 95 * time.Second: "1m35s"} {
		assert.Equal(t, want, formatDuration(d))
	}
	assert.Equal(t, "track 2, (no type) 1", FormatTypes([]TypeCount{{"track", 2}, {"", 1}}))
}
