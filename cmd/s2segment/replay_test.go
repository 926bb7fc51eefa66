package main

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/s2segment/s2segment/dataapi"
	"github.com/s2segment/s2segment/dataapi/emulator"
	"github.com/s2segment/s2segment/fixtures"
	"github.com/s2segment/s2segment/internal/replay"
)

// summaryLine matches the count lines of the replay summary.
var summaryLine = regexp.MustCompile(`(?m)^  (events read|written|filtered|rejected|failed|read errors|requests|new rows) +([\d,]+)(?: {3}(.*))?$`)

// replaySummary is the summary replay printed on standard error.
type replaySummary struct {
	counts map[string]int64
	notes  map[string]string
}

func parseSummary(t *testing.T, stderr string) replaySummary {
	t.Helper()
	s := replaySummary{counts: map[string]int64{}, notes: map[string]string{}}
	for _, m := range summaryLine.FindAllStringSubmatch(stderr, -1) {
		n, err := strconv.ParseInt(strings.ReplaceAll(m[2], ",", ""), 10, 64)
		require.NoError(t, err)
		s.counts[m[1]] = n
		s.notes[m[1]] = m[3]
	}
	require.Contains(t, s.counts, "events read", "no summary in:\n%s", stderr)
	return s
}

// typesLine writes row counts by type as the summary and the landed rows do.
func typesLine(rows map[string]int) string {
	var counts []replay.TypeCount
	for k, v := range rows {
		counts = append(counts, replay.TypeCount{Type: k, Count: int64(v)})
	}
	sort.Slice(counts, func(i, j int) bool {
		if counts[i].Count != counts[j].Count {
			return counts[i].Count > counts[j].Count
		}
		return counts[i].Type < counts[j].Type
	})
	return replay.FormatTypes(counts)
}

func sumRows(rows map[string]int) (n int64) {
	for _, v := range rows {
		n += int64(v)
	}
	return n
}

// TestReplayQuickStart is the README's first command: no flags, no
// server. It replays the bundled fixtures into the embedded emulator and
// shows the summary and what landed.
func TestReplayQuickStart(t *testing.T) {
	want, err := fixtures.Expect(fixtures.DefaultDir)
	require.NoError(t, err)
	code, out, errOut := runCLI(t, "", "replay")
	require.Equal(t, exitOK, code, errOut)

	assert.Contains(t, errOut, "no --host given, so the rows go to an embedded Data API emulator at http://127.0.0.1:")
	assert.Contains(t, errOut, "replaying the sample events bundled in the binary")
	s := parseSummary(t, errOut)
	assert.Equal(t, int64(want.Events), s.counts["events read"])
	assert.Equal(t, sumRows(want.Rows), s.counts["written"])
	assert.Equal(t, typesLine(want.Rows), s.notes["written"])
	assert.Equal(t, int64(want.Rejected), s.counts["rejected"])
	assert.Equal(t, int64(want.Errors), s.counts["read errors"])
	assert.Zero(t, s.counts["failed"])
	assert.Zero(t, s.counts["filtered"])
	assert.Equal(t, sumRows(want.Rows), s.counts["new rows"])
	assert.Positive(t, s.counts["requests"])
	assert.Contains(t, errOut, "OK: every event was written or filtered.")

	// What landed, read back through the Data API.
	assert.Contains(t, out, fmt.Sprintf("Landed in s2segment.segment_data (read back through the Data API): %d rows\n", sumRows(want.Rows)))
	assert.Contains(t, out, "  by type: "+typesLine(want.Rows)+"\n")
	assert.Contains(t, out, "messageId")
	assert.Contains(t, out, fmt.Sprintf("(%d of %d rows, earliest timestamp first)", landedSampleRows, sumRows(want.Rows)))
	sample := 0
	for _, id := range want.MessageIDs {
		if strings.Contains(out, "  "+id+" ") {
			sample++
		}
	}
	assert.Positive(t, sample, "the sample rows are fixture rows:\n%s", out)
}

// TestReplayQuiet keeps the summary and drops the rows read back.
func TestReplayQuiet(t *testing.T) {
	code, out, errOut := runCLI(t, "", "replay", "--quiet")
	require.Equal(t, exitOK, code, errOut)
	assert.Empty(t, out)
	assert.Contains(t, errOut, "replay summary")
}

// testTarget is an emulator served over HTTP for replay to write to, and a
// client to read back what landed.
type testTarget struct {
	em       *emulator.Server
	client   *dataapi.Client
	host     string
	port     string
	database string
	mariadb  bool
	requests atomic.Int64
}

var testDBSeq atomic.Int64

// newTestTarget starts an emulator on the embedded engine (dsn "") or on a
// MySQL-protocol server, with a database of its own.
func newTestTarget(t *testing.T, dsn string) *testTarget {
	t.Helper()
	tt := &testTarget{database: fmt.Sprintf("s2replay_%d_%d", os.Getpid(), testDBSeq.Add(1)), mariadb: dsn != ""}
	em, err := emulator.New(emulator.Config{DSN: dsn, Databases: []string{tt.database}})
	require.NoError(t, err)
	tt.em = em
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		tt.requests.Add(1)
		em.ServeHTTP(w, r)
	}))
	u, err := url.Parse(srv.URL)
	require.NoError(t, err)
	tt.host, tt.port = u.Hostname(), u.Port()
	tt.client, err = dataapi.New(dataapi.Config{Host: tt.host, Port: tt.port, Scheme: "http", User: "root", Database: tt.database})
	require.NoError(t, err)
	t.Cleanup(func() {
		if tt.mariadb {
			_, err := tt.client.Exec(context.Background(), "DROP DATABASE IF EXISTS `"+tt.database+"`")
			assert.NoError(t, err)
		}
		srv.Close()
		_ = em.Close()
	})
	return tt
}

// args are the settings flags that point replay at the target.
func (tt *testTarget) args(more ...string) []string {
	return append([]string{"replay", "--host", tt.host, "--port", tt.port, "--scheme", "http",
		"--user", "root", "--password", "not-checked", "--database", tt.database}, more...)
}

func (tt *testTarget) count(t *testing.T, table string) int64 {
	t.Helper()
	rows, err := tt.client.QueryRows(context.Background(), "SELECT COUNT(*) AS n FROM `"+table+"`")
	require.NoError(t, err)
	n, err := strconv.ParseInt(string(rows[0]["n"]), 10, 64)
	require.NoError(t, err)
	return n
}

// backends are the engines the end-to-end tests run on: the embedded one,
// and MariaDB when S2_TEST_MARIADB_DSN names a server.
func backends() map[string]string {
	b := map[string]string{"embedded": ""}
	if dsn := os.Getenv("S2_TEST_MARIADB_DSN"); dsn != "" && !testing.Short() { // -short: the embedded engine only
		b["mariadb"] = dsn
	}
	return b
}

// writeFixtures copies the fixtures under dirs into a temporary directory,
// as stored (gzip files stay compressed), and returns its path.
func writeFixtures(t *testing.T, dirs ...string) string {
	t.Helper()
	root := t.TempDir()
	var names []string
	for _, dir := range dirs {
		n, err := fixtures.List(dir)
		require.NoError(t, err)
		names = append(names, n...)
	}
	for _, name := range names {
		data, err := fixtures.Read(name)
		require.NoError(t, err)
		path := filepath.Join(root, filepath.FromSlash(name))
		require.NoError(t, os.MkdirAll(filepath.Dir(path), 0o755))
		require.NoError(t, os.WriteFile(path, data, 0o644))
	}
	return root
}

type reportEntry struct {
	Source    string `json:"source"`
	Line      int    `json:"line"`
	Index     int    `json:"index"`
	MessageID string `json:"messageId"`
	Status    string `json:"status"`
	Code      int    `json:"code"`
	Error     string `json:"error"`
}

func readReportFile(t *testing.T, path string) []reportEntry {
	t.Helper()
	data, err := os.ReadFile(path)
	require.NoError(t, err)
	var out []reportEntry
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		var e reportEntry
		require.NoError(t, json.Unmarshal(sc.Bytes(), &e), "report line %q", sc.Text())
		out = append(out, e)
	}
	return out
}

// TestReplayBadInput replays the fixtures' broken inputs: each bad line,
// value or file is a read error in the report and the summary, and every
// other event is still written.
func TestReplayBadInput(t *testing.T) {
	want, err := fixtures.Expect("invalid")
	require.NoError(t, err)
	manifest, err := fixtures.Manifest()
	require.NoError(t, err)
	root := writeFixtures(t, "invalid")
	tt := newTestTarget(t, "")
	reportPath := filepath.Join(t.TempDir(), "report.ndjson")

	code, _, errOut := runCLI(t, "", tt.args("--report", reportPath, filepath.Join(root, "invalid"))...)
	assert.Equal(t, exitFailed, code, errOut)
	s := parseSummary(t, errOut)
	assert.Equal(t, int64(want.Events), s.counts["events read"])
	assert.Equal(t, sumRows(want.Rows), s.counts["written"])
	assert.Equal(t, int64(want.Errors), s.counts["read errors"])
	for _, reason := range []string{"malformed JSON", "not a JSON object", "invalid UTF-8", "event too large", "truncated input"} {
		assert.Regexp(t, `\d+ ×   `+regexp.QuoteMeta(reason)+`\n`, errOut)
	}
	assert.Contains(t, errOut, "FAILED: ")
	assert.Contains(t, errOut, "report: "+reportPath)

	// One report line per event and per read error, in input order.
	report := readReportFile(t, reportPath)
	require.Len(t, report, want.Events+want.Errors)
	perFile := map[string]map[string]int{}
	var written []string
	for _, e := range report {
		rel, err := filepath.Rel(root, e.Source)
		require.NoError(t, err)
		rel = filepath.ToSlash(rel)
		if perFile[rel] == nil {
			perFile[rel] = map[string]int{}
		}
		perFile[rel][e.Status]++
		switch e.Status {
		case "written":
			written = append(written, e.MessageID)
		case "read_error":
			assert.True(t, strings.HasPrefix(e.Error, e.Source+":"), "the error names its file: %q", e.Error)
		default:
			t.Errorf("unexpected status %q: %+v", e.Status, e)
		}
	}
	for _, f := range manifest {
		if !strings.HasPrefix(f.Path, "invalid/") {
			continue
		}
		assert.Equal(t, f.Errors, perFile[f.Path]["read_error"], f.Path)
		assert.Equal(t, len(f.Events), perFile[f.Path]["written"], f.Path)
	}
	assert.Equal(t, want.MessageIDs, written)
	for _, e := range report {
		if strings.HasSuffix(e.Source, "too-large.ndjson.gz") && e.Status == "read_error" {
			assert.Contains(t, e.Error, "too large")
		}
		if strings.HasSuffix(e.Source, "truncated.ndjson.gz") && e.Status == "read_error" {
			assert.Contains(t, e.Error, "truncated")
		}
	}

	// Every good event landed.
	assert.Equal(t, sumRows(want.Rows), tt.count(t, "segment_data"))
}

// TestReplayDryRun sends nothing, needs no server, and writes valid request
// bodies under the cap whose rows are the events accepted.
func TestReplayDryRun(t *testing.T) {
	want, err := fixtures.Expect(".")
	require.NoError(t, err)
	root := writeFixtures(t, "batch", "events", "invalid", "rejected") // not the mappings
	const limit = 50_000

	// A server is configured but never contacted.
	var hits atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { hits.Add(1) }))
	t.Cleanup(srv.Close)
	u, err := url.Parse(srv.URL)
	require.NoError(t, err)

	bodies := filepath.Join(t.TempDir(), "bodies.ndjson")
	code, out, errOut := runCLI(t, "", "replay", "--dry-run", "--out", bodies, "--max-request-bytes", strconv.Itoa(limit), "--batch-size", "20",
		"--host", u.Hostname(), "--port", u.Port(), "--scheme", "http", "--database", "analytics", root)
	assert.Equal(t, exitFailed, code, "the fixtures include rejected events and read errors")
	assert.Empty(t, out)
	assert.Zero(t, hits.Load(), "nothing is sent")
	assert.NotContains(t, errOut, "emulator")
	s := parseSummary(t, errOut)
	assert.Equal(t, int64(want.Events), s.counts["events read"])
	assert.Equal(t, sumRows(want.Rows), s.counts["written"])
	assert.Equal(t, int64(want.Errors), s.counts["read errors"])
	assert.Equal(t, int64(want.Rejected), s.counts["rejected"]+s.counts["filtered"])
	assert.Contains(t, s.notes["requests"], "nothing sent")

	data, err := os.ReadFile(bodies)
	require.NoError(t, err)
	lines := strings.Split(strings.TrimSuffix(string(data), "\n"), "\n")
	assert.Equal(t, int64(len(lines)), s.counts["requests"])
	assert.Greater(t, len(lines), 1)
	var rows int64
	var ids []string
	for i, line := range lines {
		assert.LessOrEqual(t, len(line), limit, "body %d", i)
		var body struct {
			SQL      string            `json:"sql"`
			Database string            `json:"database"`
			Args     []json.RawMessage `json:"args"`
		}
		require.NoError(t, json.Unmarshal([]byte(line), &body), "body %d is not JSON", i)
		assert.True(t, strings.HasPrefix(body.SQL, "INSERT INTO `segment_data` ("), body.SQL)
		assert.Contains(t, body.SQL, "ON DUPLICATE KEY UPDATE")
		assert.Equal(t, "analytics", body.Database)
		require.Zero(t, len(body.Args)%11)
		assert.Equal(t, len(body.Args)/11, strings.Count(body.SQL, "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"))
		rows += int64(len(body.Args) / 11)
		for j := 0; j < len(body.Args); j += 11 {
			var id string
			require.NoError(t, json.Unmarshal(body.Args[j], &id))
			ids = append(ids, id)
		}
	}
	assert.Equal(t, sumRows(want.Rows), rows, "rows = events accepted")
	assert.Equal(t, want.MessageIDs, ids, "in input order")

	// Without --out the bodies go to standard output, and without --host no
	// emulator starts.
	code, out, errOut = runCLI(t, "", "replay", "--dry-run", "--dedupe=false", "--batch-size", "7")
	require.Equal(t, exitOK, code, errOut)
	assert.NotContains(t, errOut, "emulator")
	var n int
	for _, line := range strings.Split(strings.TrimSuffix(out, "\n"), "\n") {
		var body struct {
			SQL      string            `json:"sql"`
			Database string            `json:"database"`
			Args     []json.RawMessage `json:"args"`
		}
		require.NoError(t, json.Unmarshal([]byte(line), &body))
		assert.NotContains(t, body.SQL, "ON DUPLICATE KEY UPDATE")
		assert.Equal(t, emulator.DefaultDatabase, body.Database)
		assert.LessOrEqual(t, len(body.Args)/11, 7)
		n += len(body.Args) / 11
	}
	wantDefault, err := fixtures.Expect(fixtures.DefaultDir)
	require.NoError(t, err)
	assert.Equal(t, sumRows(wantDefault.Rows), int64(n))
}

// TestReplayInputs reads NDJSON and a /v1/batch body from standard input,
// a gzip file and a JSON array.
func TestReplayInputs(t *testing.T) {
	tt := newTestTarget(t, "")
	dir := t.TempDir()
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	for i := range 50 {
		zw.Write(fixtures.Generate(1000+i, 1500))
		zw.Write([]byte("\n"))
	}
	require.NoError(t, zw.Close())
	require.NoError(t, os.WriteFile(filepath.Join(dir, "events.gz"), gz.Bytes(), 0o644))
	array := "[" + string(fixtures.Generate(2000, 900)) + ",\n" + string(fixtures.Generate(2001, 900)) + "]"
	require.NoError(t, os.WriteFile(filepath.Join(dir, "array.json"), []byte(array), 0o644))

	batchBody := `{"batch":[{"type":"track","event":"A","messageId":"b-1","timestamp":"2025-07-07T10:19:25Z"},` +
		`{"type":"identify","messageId":"b-2","timestamp":"2025-07-07T10:19:26Z","userId":"u"}],` +
		`"context":{"library":{"name":"analytics-go"}},"writeKey":"secret-write-key"}`
	code, _, errOut := runCLI(t, batchBody, tt.args("--quiet", "--report", filepath.Join(dir, "r.ndjson"), filepath.Join(dir, "events.gz"), "-", filepath.Join(dir, "array.json"))...)
	require.Equal(t, exitOK, code, errOut)
	s := parseSummary(t, errOut)
	assert.Equal(t, int64(54), s.counts["written"])
	assert.NotContains(t, errOut, "secret-write-key")

	rows, err := tt.client.QueryRows(context.Background(), "SELECT `context` FROM `segment_data` WHERE `messageId` = 'b-2'")
	require.NoError(t, err)
	require.Len(t, rows, 1)
	assert.Contains(t, string(rows[0]["context"]), "analytics-go", "the batch's context is merged into its items")

	report := readReportFile(t, filepath.Join(dir, "r.ndjson"))
	require.Len(t, report, 54)
	assert.Equal(t, "<stdin>", report[50].Source)
	assert.Equal(t, "b-1", report[50].MessageID)
}

// TestReplaySubscription: events the subscription does not select are
// filtered, not failed.
func TestReplaySubscription(t *testing.T) {
	want, err := fixtures.Expect(fixtures.DefaultDir)
	require.NoError(t, err)
	tt := newTestTarget(t, "")
	code, out, errOut := runCLI(t, "", tt.args("--subscription", `type = "track"`)...)
	require.Equal(t, exitOK, code, errOut)
	s := parseSummary(t, errOut)
	assert.Equal(t, int64(want.Rows["track"]), s.counts["written"])
	assert.Equal(t, int64(want.Events-want.Rows["track"]), s.counts["filtered"])
	assert.Equal(t, int64(want.Rows["track"]), tt.count(t, "segment_data"))
	assert.Equal(t, fmt.Sprintf("%s.segment_data now holds %d rows (SELECT COUNT(*) through the Data API).\n", tt.database, want.Rows["track"]), out)
}

// TestReplayFailures: a table that does not exist fails every event with
// the Data API's answer, and the exit status is 1.
func TestReplayFailures(t *testing.T) {
	tt := newTestTarget(t, "")
	code, _, errOut := runCLI(t, "", tt.args("--create-table=false", "--quiet", "--table", "nowhere")...)
	assert.Equal(t, exitFailed, code)
	s := parseSummary(t, errOut)
	assert.Equal(t, s.counts["events read"], s.counts["failed"])
	assert.Zero(t, s.counts["written"])
	assert.Contains(t, errOut, "Failed to insert data: the destination cannot take writes (400 Error 1146")
	assert.NotContains(t, errOut, "not-checked", "the password never shows")
}

// TestReplayReferenceSchema: --dedupe=false creates Segment's keyless table
// and a second replay writes every event again.
func TestReplayReferenceSchema(t *testing.T) {
	want, err := fixtures.Expect(fixtures.DefaultDir)
	require.NoError(t, err)
	tt := newTestTarget(t, "")
	for range 2 {
		code, _, errOut := runCLI(t, "", tt.args("--dedupe=false", "--quiet", "--table", "ref", "--concurrency", "2", "--batch-size", "5")...)
		require.Equal(t, exitOK, code, errOut)
	}
	assert.Equal(t, 2*sumRows(want.Rows), tt.count(t, "ref"))
}

func TestReplayUsageErrors(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	_, closedPort, _ := net.SplitHostPort(ln.Addr().String())
	require.NoError(t, ln.Close())
	mappingFile := filepath.Join(t.TempDir(), "m.json")
	require.NoError(t, os.WriteFile(mappingFile, []byte(`{"event":{"@nope":1}}`), 0o644))

	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--batch-size", "0"}, "--batch-size: want 1 to 1000, got 0"},
		{[]string{"--batch-size", "1001"}, "--batch-size"},
		{[]string{"--max-request-bytes", "1048577"}, "--max-request-bytes: want 1 to 1048576"},
		{[]string{"--max-request-bytes", "100"}, "--max-request-bytes"},
		{[]string{"--concurrency", "0"}, "--concurrency"},
		{[]string{"--scheme", "ftp"}, "--scheme"},
		{[]string{"--mapping", `{"event":`}, "--mapping"},
		{[]string{"--mapping", mappingFile}, "--mapping"},
		{[]string{"--mapping", filepath.Join(t.TempDir(), "missing.json")}, "--mapping"},
		{[]string{"--subscription", `(type = "track"`}, "--subscription"},
		{[]string{"--subscription", ` `}, "--subscription: the subscription is empty"},
		{[]string{"--out", "x.ndjson"}, "--out goes with --dry-run"},
		{[]string{"--host", "db.example.com"}, "--database (or S2_DATABASE) is required"},
		{[]string{"--table", "bad\x00name"}, "--table"},
		{[]string{"--database", "a/b"}, "--database"},
		{[]string{"--host", "127.0.0.1", "--port", closedPort, "--scheme", "http", "--database", "d"}, "cannot reach the Data API at http://127.0.0.1:" + closedPort},
		{[]string{"--report", filepath.Join(t.TempDir(), "no", "such", "dir", "r.ndjson")}, "--report"},
		{[]string{"--no-such-flag"}, "unknown flag"},
	} {
		code, out, errOut := runCLI(t, "", append([]string{"replay"}, tc.args...)...)
		assert.Equal(t, exitUsage, code, "%q: %s", tc.args, errOut)
		assert.Contains(t, errOut, tc.want, "%q", tc.args)
		assert.Empty(t, out, "%q", tc.args)
		assert.NotContains(t, errOut, "replay summary", "%q: nothing was replayed", tc.args)
	}
}

// TestReplayRefusedCredentials: a server that refuses the credentials is a
// configuration error, and the password does not show.
func TestReplayRefusedCredentials(t *testing.T) {
	l, err := emulator.Listen(t.Context(), emulator.Config{User: "admin", Password: "right"})
	require.NoError(t, err)
	t.Cleanup(func() { _ = l.Close() })
	t.Setenv("S2_PASSWORD", "wrong-secret")
	code, _, errOut := runCLI(t, "", "replay", "--host", l.Host(), "--port", l.Port(), "--scheme", "http", "--user", "admin", "--database", "s2segment")
	assert.Equal(t, exitUsage, code, errOut)
	assert.Contains(t, errOut, "check --user and --password")
	assert.NotContains(t, errOut, "wrong-secret")
}

// TestReplayInterrupted stops at once when the context is done.
func TestReplayInterrupted(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	var out, errOut bytes.Buffer
	code := run(ctx, []string{"replay", "--dry-run"}, strings.NewReader(""), &out, &errOut)
	assert.Equal(t, exitFailed, code)
	assert.Contains(t, errOut.String(), "INTERRUPTED")
	assert.Contains(t, errOut.String(), "s2segment: interrupted")
}

func TestReplayCPUProfile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "cpu.pprof")
	code, _, errOut := runCLI(t, "", "replay", "--dry-run", "--quiet", "--out", os.DevNull, "--cpuprofile", path)
	require.Equal(t, exitOK, code, errOut)
	info, err := os.Stat(path)
	require.NoError(t, err)
	assert.Positive(t, info.Size())
}

// TestReplayJSONStrings sends the JSON columns as JSON-encoded strings.
func TestReplayJSONStrings(t *testing.T) {
	code, out, errOut := runCLI(t, `{"type":"track","event":"E","messageId":"j-1","timestamp":"2025-07-07T10:19:25Z","properties":{"n":12345678901234567890}}`,
		"replay", "--dry-run", "--json-strings", "-")
	require.Equal(t, exitOK, code, errOut)
	var body struct {
		Args []json.RawMessage `json:"args"`
	}
	require.NoError(t, json.Unmarshal([]byte(out), &body))
	require.Len(t, body.Args, 11)
	assert.Equal(t, `"{\"n\":12345678901234567890}"`, string(body.Args[5]))
}
