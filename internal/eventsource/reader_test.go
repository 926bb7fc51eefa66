package eventsource_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/fstest"
	"testing/iotest"
	"unicode/utf8"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/s2segment/s2segment/fixtures"
	"github.com/s2segment/s2segment/internal/checked"
	"github.com/s2segment/s2segment/internal/eventsource"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/golden")

// item is one result of Reader.Next: an event or an error.
type item struct {
	ev  eventsource.Event
	err error
}

// readAll reads everything from r until io.EOF.
func readAll(t testing.TB, r *eventsource.Reader) []item {
	t.Helper()
	var items []item
	for {
		ev, err := r.Next()
		if err == io.EOF {
			return items
		}
		if err != nil {
			var e *eventsource.Error
			require.ErrorAs(t, err, &e, "Next returned an error that is not an *Error")
		}
		items = append(items, item{ev, err})
		require.Less(t, len(items), 1_000_000, "runaway reader")
	}
}

// readInput reads data given as standard input.
func readInput(t testing.TB, cfg eventsource.Config, data io.Reader) []item {
	t.Helper()
	r, err := eventsource.Open(context.Background(), cfg, []string{"-"}, data)
	require.NoError(t, err)
	return readAll(t, r)
}

var sentinels = []struct {
	name string
	err  error
}{
	{"ErrMalformed", eventsource.ErrMalformed},
	{"ErrNotObject", eventsource.ErrNotObject},
	{"ErrTooLarge", eventsource.ErrTooLarge},
	{"ErrInvalidUTF8", eventsource.ErrInvalidUTF8},
	{"ErrTruncated", eventsource.ErrTruncated},
	{"ErrNotBatch", eventsource.ErrNotBatch},
	{"fs.ErrNotExist", fs.ErrNotExist},
}

// kind names the sentinel err wraps.
func kind(err error) string {
	for _, s := range sentinels {
		if errors.Is(err, s.err) {
			return s.name
		}
	}
	return "other"
}

// render writes items as text, one line each, for golden files.
func render(items []item) string {
	var b strings.Builder
	for _, it := range items {
		if it.err != nil {
			fmt.Fprintf(&b, "error [%s] %v\n", kind(it.err), it.err)
			continue
		}
		e := it.ev
		data := string(e.Data)
		if len(data) > 160 {
			data = fmt.Sprintf("%s…(%d bytes)", data[:120], len(data))
		}
		fmt.Fprintf(&b, "event %s line %d index %d offset %d: %s\n", e.Format, e.Line, e.Index, e.Offset, data)
	}
	return b.String()
}

// checkEvents asserts what holds for every event of any input: it is one
// well-formed JSON object in valid UTF-8 and, unless it is a batch item
// (which may have been merged), its bytes are the input's at its offset and
// its line is the line of that offset.
func checkEvents(t *testing.T, input []byte, items []item) {
	t.Helper()
	lastOff, lastLine := int64(0), 1 // events come in the order of their offsets
	for _, it := range items {
		if it.err != nil {
			continue
		}
		e := it.ev
		require.True(t, json.Valid(e.Data), "not JSON: %s", e.Data)
		require.True(t, utf8.Valid(e.Data), "not UTF-8: %q", e.Data)
		require.Equal(t, byte('{'), e.Data[0])
		// What the reader found while checking the event is what one
		// scan of the event finds.
		want, err := checked.Scan(e.Data, nil)
		require.NoError(t, err)
		got := e.Checked()
		require.True(t, got.Valid(), "the event comes checked")
		require.Equal(t, string(e.Data), string(got.Bytes()))
		require.Equal(t, want.Len(), got.Len(), "members of %s", e.Data)
		for i := range want.Len() {
			require.Equal(t, want.Key(i), got.Key(i))
			require.Equal(t, want.Value(i), got.Value(i))
		}
		if input == nil {
			continue
		}
		require.GreaterOrEqual(t, e.Offset, int64(0))
		require.Less(t, e.Offset, int64(len(input)))
		if e.Format != eventsource.FormatBatch {
			assert.Equal(t, string(input[e.Offset:e.Offset+int64(len(e.Data))]), string(e.Data), "event at offset %d", e.Offset)
		} else {
			assert.Equal(t, byte('{'), input[e.Offset])
		}
		require.GreaterOrEqual(t, e.Offset, lastOff, "events out of order")
		lastLine += bytes.Count(input[lastOff:e.Offset], []byte("\n"))
		lastOff = e.Offset
		assert.Equal(t, lastLine, e.Line, "line of offset %d", e.Offset)
	}
}

var bigEvent = string(fixtures.Large(2 << 20))

// cases are inputs of every kind, read as standard input with a limit of
// 1 MiB per event. Their full results are in testdata/golden.
var cases = []struct {
	name   string
	input  string
	events int
	errs   []error // sentinels of the errors, in order
}{
	{"single-event", `{"type":"track","event":"A","messageId":"m1"}`, 1, nil},
	{"single-pretty", "{\n  \"type\": \"identify\",\n  \"traits\": {\"a\": [1, 2]}\n}\n", 1, nil},
	{"ndjson", "{\"a\":1}\n{\"b\":2}\n{\"c\":3}\n", 3, nil},
	{"ndjson-crlf-blank-lines", "{\"a\":1}\r\n\r\n\n{\"b\":2}\r\n   \n\t{\"c\":3}", 3, nil},
	{"several-values-on-a-line", `{"a":1}{"b":2} {"c":3}`, 3, nil},
	{"pretty-concatenated", "{\n  \"a\": 1\n}\n{\n  \"b\": {\n    \"c\": 2\n  }\n}\n", 2, nil},
	{"byte-order-mark", "\ufeff{\"a\":1}\n{\"b\":2}\n", 2, nil},
	{"empty", "", 0, nil},
	{"white-space-only", " \n\t\r\n", 0, nil},
	{"array", `[{"a":1},{"b":2},{"c":{"d":[]}}]`, 3, nil},
	{"array-pretty", "[\n  {\n    \"a\": 1\n  },\n  {\n    \"b\": 2\n  }\n]\n", 2, nil},
	{"array-empty", " [ ] ", 0, nil},
	{"array-then-stream", "[{\"a\":1}]\n{\"b\":2}\n", 2, nil},
	{"batch", `{"batch":[{"type":"track","event":"A"},{"type":"identify","context":{"ip":"1.2.3.4"}}],"context":{"ip":"9.9.9.9","library":{"name":"http"}},"integrations":{"All":false},"writeKey":"wk"}`, 2, nil},
	{"batch-context-first-pretty", "{\n  \"context\": {\"locale\": \"de-DE\"},\n  \"batch\": [\n    {\"type\": \"page\"},\n    {\"type\": \"screen\", \"context\": null}\n  ]\n}\n", 2, nil},
	{"batch-then-event", "{\"batch\":[{\"type\":\"track\"}]}\n{\"type\":\"alias\"}\n", 2, nil},
	{"batch-key-not-array", `{"type":"track","batch":"not a batch body"}`, 1, nil},
	{"batch-empty", `{"batch":[]}`, 0, nil},
	{"big-numbers-and-escapes", `{"n":12345678901234567890,"f":-1.5e-300,"s":"\u00e9\ud83d\ude00\"\\\/\b\f\n\r\t","u":"😀"}`, 1, nil},
	{"malformed-line", "{\"a\":1}\n{\"b\":2,,}\n{\"c\":3}\n", 2, []error{eventsource.ErrMalformed}},
	{"unclosed-line", "{\"a\":1\n{\"b\":2}\n", 1, []error{eventsource.ErrMalformed}},
	{"unterminated-string", "{\"a\":\"x\n{\"b\":2}\n", 1, []error{eventsource.ErrMalformed}},
	{"garbage-lines", "not json\nstill not\n{\"a\":1}\n", 1, []error{eventsource.ErrMalformed}},
	{"trailing-text-after-object", "{\"a\":1} garbage\n{\"b\":2}\n{\"c\":3} x\n{\"d\":4}\n", 4,
		[]error{eventsource.ErrMalformed, eventsource.ErrMalformed}},
	{"trailing-comma-after-object", "{\"a\":1},\n  {\"b\":2}\n[{\"c\":3}]]\n{\"d\":4}\n", 3,
		[]error{eventsource.ErrMalformed, eventsource.ErrNotObject, eventsource.ErrMalformed}},
	{"broken-line-then-pretty", "{\"a\":1,,}\n{\n  \"b\": [\n    {\"c\": 3}\n  ]\n}\n", 1, []error{eventsource.ErrMalformed}},
	{"broken-multi-line-value-after-object", "{\"a\":1} {\"b\":\n2,,}\n{\"c\":3}\n", 2, []error{eventsource.ErrMalformed}},
	{"broken-pretty-value", "{\n  \"a\": [\n    {\"x\": 1},\n    {\"y\": oops}\n  ]\n}\n{\"b\":2}\n", 1, []error{eventsource.ErrMalformed}},
	{"not-objects", "[1]\n{\"ok\":1}\n\"s\"\n42\n-0.5e3\ntrue\nfalse\nnull\n[{\"a\":1}]\n", 1,
		[]error{eventsource.ErrNotObject, eventsource.ErrNotObject, eventsource.ErrNotObject, eventsource.ErrNotObject, eventsource.ErrNotObject, eventsource.ErrNotObject, eventsource.ErrNotObject, eventsource.ErrNotObject}},
	{"array-of-non-objects", `[{"a":1}, 2, "x", [3], null, {"b":2}]`, 2,
		[]error{eventsource.ErrNotObject, eventsource.ErrNotObject, eventsource.ErrNotObject, eventsource.ErrNotObject}},
	{"array-missing-comma", "[\n  {\"a\":1}\n  {\"b\":2},\n  {\"c\":3}\n]\n", 3, []error{eventsource.ErrMalformed}},
	{"array-broken-element", "[\n  {\"a\":1},\n  {\"b\" 2},\n  {\"c\":3}\n]\n", 2, []error{eventsource.ErrMalformed}},
	{"array-broken-one-line", `[{"a":1},{"b" 2},{"c":3}]`, 1, []error{eventsource.ErrMalformed}},
	{"array-unclosed", "[{\"a\":1},", 1, []error{eventsource.ErrTruncated}},
	{"truncated-value", "{\"a\":1}\n{\"b\":[1,", 1, []error{eventsource.ErrTruncated}},
	{"invalid-utf8", "{\"a\":1}\n{\"b\":\"\xff\xfe\"}\n{\"c\":\"\xe2\x82\"}\n{\"d\":\"\xed\xa0\x80\"}\n{\"e\":2}\n", 2,
		[]error{eventsource.ErrInvalidUTF8, eventsource.ErrInvalidUTF8, eventsource.ErrInvalidUTF8}},
	{"invalid-utf8-in-key", "{\"\xc0\":1}\n", 0, []error{eventsource.ErrInvalidUTF8}},
	{"bad-escapes", "{\"a\":\"\\x\"}\n{\"b\":\"\\u12g4\"}\n{\"c\":1}\n", 1, []error{eventsource.ErrMalformed, eventsource.ErrMalformed}},
	{"bad-numbers", "{\"a\":01}\n{\"b\":1.}\n{\"c\":-}\n{\"d\":1e}\n{\"e\":.5}\n{\"f\":1}\n", 1,
		[]error{eventsource.ErrMalformed, eventsource.ErrMalformed, eventsource.ErrMalformed, eventsource.ErrMalformed, eventsource.ErrMalformed}},
	{"bad-literals", "{\"a\":tru}\n{\"b\":nul}\n{\"c\":True}\n{\"d\":true}\n", 1, []error{eventsource.ErrMalformed, eventsource.ErrMalformed, eventsource.ErrMalformed}},
	{"two-mb-event-between-good-ones", "{\"a\":1}\n" + bigEvent + "\n{\"b\":2}\n", 2, []error{eventsource.ErrTooLarge}},
	{"two-mb-element-between-good-ones", "[{\"a\":1},\n" + bigEvent + ",\n{\"b\":2}]", 2, []error{eventsource.ErrTooLarge}},
	{"batch-bad-items", `{"batch":[{"type":"track"},7,"x",{"type":"page","p":"` + "\xff" + `"},{"type":"screen"}],"context":{"ip":"1.1.1.1"}}`, 2,
		[]error{eventsource.ErrNotObject, eventsource.ErrNotObject, eventsource.ErrInvalidUTF8}},
	{"batch-bad-utf8-in-context", `{"batch":[{"type":"track"},{"type":"page","context":{"ip":"x"}}],"context":{"ip":"` + "\xff" + `"}}`, 1, []error{eventsource.ErrInvalidUTF8}},
	{"batch-too-large-item", `{"batch":[{"type":"track"},` + bigEvent + `,{"type":"page"}]}`, 2, []error{eventsource.ErrTooLarge}},
	{"deep-nesting", strings.Repeat(`{"a":`, 10001) + "1" + strings.Repeat("}", 10001) + "\n{\"a\":1}\n", 1, []error{eventsource.ErrMalformed}},
	{"deep-nesting-at-the-limit", strings.Repeat(`{"a":`, 5000) + strings.Repeat("[", 5000) + strings.Repeat("]", 5000) + strings.Repeat("}", 5000), 1, nil},
}

func TestInputKinds(t *testing.T) {
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			input := []byte(tc.input)
			items := readInput(t, eventsource.Config{}, bytes.NewReader(input))
			checkEvents(t, input, items)
			var errs []error
			events := 0
			for _, it := range items {
				if it.err != nil {
					errs = append(errs, it.err)
				} else {
					events++
				}
			}
			assert.Equal(t, tc.events, events, "events")
			require.Len(t, errs, len(tc.errs), "errors: %v", errs)
			for i, err := range errs {
				assert.ErrorIs(t, err, tc.errs[i], "error %d", i)
				assert.Equal(t, eventsource.StdinName, err.(*eventsource.Error).Source)
			}
			golden(t, filepath.Join("testdata", "golden", tc.name+".golden"), render(items))
		})
	}
}

// golden compares got with the golden file, or rewrites it under -update.
func golden(t *testing.T, name, got string) {
	t.Helper()
	if *update {
		require.NoError(t, os.MkdirAll(filepath.Dir(name), 0o755))
		require.NoError(t, os.WriteFile(name, []byte(got), 0o644))
		return
	}
	want, err := os.ReadFile(name)
	require.NoError(t, err, "run go test -update to create the golden files")
	assert.Equal(t, string(want), got)
}

// TestReadSizesDoNotMatter reads every case through readers that return one
// byte, half of what is asked, or the data with the last chunk's io.EOF, and
// through gzip, and expects exactly what reading it whole gives.
func TestReadSizesDoNotMatter(t *testing.T) {
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			input := []byte(tc.input)
			want := render(readInput(t, eventsource.Config{}, bytes.NewReader(input)))
			if len(input) < 1<<20 {
				assert.Equal(t, want, render(readInput(t, eventsource.Config{}, iotest.OneByteReader(bytes.NewReader(input)))), "one byte at a time")
			}
			assert.Equal(t, want, render(readInput(t, eventsource.Config{}, iotest.HalfReader(bytes.NewReader(input)))), "half reads")
			assert.Equal(t, want, render(readInput(t, eventsource.Config{}, iotest.DataErrReader(bytes.NewReader(input)))), "EOF with data")
			assert.Equal(t, want, render(readInput(t, eventsource.Config{}, bytes.NewReader(gzipped(t, input)))), "gzip")
		})
	}
}

func gzipped(t testing.TB, data []byte) []byte {
	t.Helper()
	var b bytes.Buffer
	zw := gzip.NewWriter(&b)
	_, err := zw.Write(data)
	require.NoError(t, err)
	require.NoError(t, zw.Close())
	return b.Bytes()
}

func TestLimits(t *testing.T) {
	event := `{"type":"track","event":"` + strings.Repeat("x", 100) + `"}`
	body := `{"batch":[` + event + `,` + event + `]}`
	input := "[" + event + "]\n" + event + "\n" + body
	n, b := len(event), len(body)
	for _, tc := range []struct {
		name     string
		cfg      eventsource.Config
		events   int
		tooLarge int
	}{
		{"defaults", eventsource.Config{}, 4, 0},
		{"event limit exact", eventsource.Config{MaxEventBytes: n}, 4, 0},
		{"event limit one short", eventsource.Config{MaxEventBytes: n - 1, MaxBatchBytes: 1000}, 0, 4},
		{"batch limit exact", eventsource.Config{MaxEventBytes: n, MaxBatchBytes: b}, 4, 0},
		{"batch limit one short", eventsource.Config{MaxEventBytes: n, MaxBatchBytes: b - 1}, 2, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			items := readInput(t, tc.cfg, strings.NewReader(input))
			require.Equal(t, render(items), render(readInput(t, tc.cfg, iotest.OneByteReader(strings.NewReader(input)))),
				"one byte at a time")
			events, tooLarge := 0, 0
			for _, it := range items {
				switch {
				case it.err == nil:
					events++
				case errors.Is(it.err, eventsource.ErrTooLarge):
					tooLarge++
				default:
					t.Errorf("unexpected error: %v", it.err)
				}
			}
			assert.Equal(t, tc.events, events)
			assert.Equal(t, tc.tooLarge, tooLarge)
		})
	}
}

func TestConfigErrors(t *testing.T) {
	for _, cfg := range []eventsource.Config{
		{MaxEventBytes: -1},
		{MaxBatchBytes: -1},
		{MaxEventBytes: 2000, MaxBatchBytes: 1000},
	} {
		_, err := eventsource.Open(context.Background(), cfg, nil, nil)
		var ce *eventsource.ConfigError
		require.ErrorAs(t, err, &ce, "%+v", cfg)
		assert.Contains(t, err.Error(), "Config."+ce.Field)
	}
	r, err := eventsource.Open(context.Background(), eventsource.Config{MaxEventBytes: 32 << 20}, nil, nil)
	require.NoError(t, err, "a large MaxEventBytes raises the default MaxBatchBytes")
	_, err = r.Next()
	assert.Equal(t, io.EOF, err)
}

func TestTruncatedGzip(t *testing.T) {
	var b strings.Builder
	for i := range 2000 {
		fmt.Fprintf(&b, "{\"type\":\"track\",\"messageId\":\"m%d\",\"properties\":{\"i\":%d,\"pad\":%q}}\n", i, i, strings.Repeat("ab", i%40))
	}
	full := gzipped(t, []byte(b.String()))
	for _, cut := range []int{len(full) / 3, len(full) / 2, len(full) - 9, len(full) - 4} {
		t.Run(fmt.Sprint(cut), func(t *testing.T) {
			items := readInput(t, eventsource.Config{}, bytes.NewReader(full[:cut]))
			require.NotEmpty(t, items)
			last := items[len(items)-1]
			require.ErrorIs(t, last.err, eventsource.ErrTruncated, "the last result is the truncation")
			assert.Contains(t, last.err.Error(), "compressed stream is cut short")
			for i, it := range items[:len(items)-1] {
				require.NoError(t, it.err)
				assert.Equal(t, fmt.Sprintf(`"m%d"`, i), gjsonString(it.ev.Data, "messageId"))
			}
			if cut <= len(full)/2 {
				assert.Less(t, len(items)-1, 2000)
			}
			assert.Greater(t, len(items)-1, 100, "events before the cut are delivered")
		})
	}
}

// gjsonString returns the raw JSON of a top-level member.
func gjsonString(data []byte, key string) string {
	var m map[string]json.RawMessage
	if json.Unmarshal(data, &m) != nil {
		return ""
	}
	return string(m[key])
}

func TestStdin(t *testing.T) {
	r, err := eventsource.Open(context.Background(), eventsource.Config{}, []string{"-"}, strings.NewReader("{\"a\":1}\n"))
	require.NoError(t, err)
	items := readAll(t, r)
	require.Len(t, items, 1)
	assert.Equal(t, eventsource.StdinName, items[0].ev.Source)

	r, err = eventsource.Open(context.Background(), eventsource.Config{}, []string{"-"}, nil)
	require.NoError(t, err)
	items = readAll(t, r)
	require.Len(t, items, 1)
	assert.EqualError(t, items[0].err, "<stdin>: opening: no standard input")
}

// tree creates files under a temporary directory and returns it.
func tree(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, content := range files {
		p := filepath.Join(dir, filepath.FromSlash(name))
		require.NoError(t, os.MkdirAll(filepath.Dir(p), 0o755))
		require.NoError(t, os.WriteFile(p, []byte(content), 0o644))
	}
	return dir
}

func TestDirectoryOrder(t *testing.T) {
	dir := tree(t, map[string]string{
		"b.json":             `{"n":"b"}`,
		"a.ndjson":           "{\"n\":\"a1\"}\n{\"n\":\"a2\"}\n",
		"c/z.json":           `{"n":"c/z"}`,
		"c/a.json":           `[{"n":"c/a"}]`,
		"B.json":             `{"n":"B"}`,
		"a0/x.json":          `{"n":"a0/x"}`,
		".hidden.json":       `{"n":"hidden"}`,
		".git/objects/x":     `{"n":"hidden dir"}`,
		"d/.also-hidden.txt": `{"n":"hidden in subdir"}`,
	})
	require.NoError(t, os.WriteFile(filepath.Join(dir, "e.gz"), gzipped(t, []byte(`{"n":"e.gz"}`)), 0o644))
	require.NoError(t, os.Symlink(filepath.Join(dir, "c"), filepath.Join(dir, "link-to-dir")))
	require.NoError(t, os.Symlink(filepath.Join(dir, "b.json"), filepath.Join(dir, "link-to-file")))
	require.NoError(t, os.Symlink(filepath.Join(dir, "missing"), filepath.Join(dir, "link-dangling")))

	r, err := eventsource.Open(context.Background(), eventsource.Config{}, []string{dir, filepath.Join(dir, ".hidden.json")}, nil)
	require.NoError(t, err)
	var got []string
	for _, it := range readAll(t, r) {
		if it.err != nil {
			rel, _ := filepath.Rel(dir, it.err.(*eventsource.Error).Source)
			got = append(got, "error "+rel+" "+kind(it.err))
			continue
		}
		rel, _ := filepath.Rel(dir, it.ev.Source)
		got = append(got, rel+"="+strings.Trim(gjsonString(it.ev.Data, "n"), `"`))
	}
	assert.Equal(t, []string{
		"B.json=B", "a.ndjson=a1", "a.ndjson=a2", "a0/x.json=a0/x", "b.json=b",
		"c/a.json=c/a", "c/z.json=c/z", "e.gz=e.gz",
		"error link-dangling fs.ErrNotExist", "link-to-file=b",
		".hidden.json=hidden", // named explicitly
	}, got)
}

func TestUnreadableInputs(t *testing.T) {
	dir := tree(t, map[string]string{"ok.json": `{"a":1}`})
	fsys := fstest.MapFS{
		"good.ndjson": {Data: []byte("{\"a\":1}\n")},
		"dir/x.json":  {Data: []byte(`{"b":2}`)},
	}
	t.Run("os", func(t *testing.T) {
		r, err := eventsource.Open(context.Background(), eventsource.Config{},
			[]string{filepath.Join(dir, "missing.json"), filepath.Join(dir, "ok.json")}, nil)
		require.NoError(t, err)
		items := readAll(t, r)
		require.Len(t, items, 2)
		require.ErrorIs(t, items[0].err, fs.ErrNotExist)
		assert.Contains(t, items[0].err.Error(), "missing.json: opening: no such file or directory")
		assert.Equal(t, -1, items[0].err.(*eventsource.Error).Index)
		require.NoError(t, items[1].err)
	})
	t.Run("fs", func(t *testing.T) {
		r, err := eventsource.Open(context.Background(), eventsource.Config{FS: failingFS{fsys}},
			[]string{"good.ndjson", "nope.json", "dir", "broken.json", "."}, nil)
		require.NoError(t, err)
		got := render(readAll(t, r))
		assert.Equal(t, `event stream line 1 index 0 offset 0: {"a":1}
error [fs.ErrNotExist] nope.json: opening: file does not exist
event stream line 1 index 0 offset 0: {"b":2}
event stream line 1 index 0 offset 0: {"c":3}
error [other] broken.json: line 2 (byte 8): reading after byte 13 (line 2): disk on fire
event stream line 1 index 0 offset 0: {"c":3}
error [other] broken.json: line 2 (byte 8): reading after byte 13 (line 2): disk on fire
event stream line 1 index 0 offset 0: {"b":2}
event stream line 1 index 0 offset 0: {"a":1}
`, got)
	})
}

// failingFS adds broken.json, whose reads fail after its first line.
type failingFS struct{ fstest.MapFS }

func (f failingFS) Open(name string) (fs.File, error) {
	if name == "broken.json" {
		return &brokenFile{data: []byte("{\"c\":3}\n{\"d\":")}, nil
	}
	return f.MapFS.Open(name)
}

func (f failingFS) Stat(name string) (fs.FileInfo, error) {
	if name == "broken.json" {
		return fstest.MapFS{"broken.json": {}}.Stat(name)
	}
	return f.MapFS.Stat(name)
}

func (f failingFS) ReadDir(name string) ([]fs.DirEntry, error) {
	entries, err := f.MapFS.ReadDir(name)
	if name == "." {
		extra, _ := fstest.MapFS{"broken.json": {}}.ReadDir(".")
		entries = append(extra, entries...)
	}
	return entries, err
}

// brokenFile returns its data, then an error.
type brokenFile struct{ data []byte }

func (b *brokenFile) Read(p []byte) (int, error) {
	if len(b.data) == 0 {
		return 0, errors.New("disk on fire")
	}
	n := copy(p, b.data)
	b.data = b.data[n:]
	return n, nil
}
func (b *brokenFile) Close() error { return nil }
func (b *brokenFile) Stat() (fs.FileInfo, error) {
	return fstest.MapFS{"broken.json": {}}.Stat("broken.json")
}

func TestContextCancel(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	r, err := eventsource.Open(ctx, eventsource.Config{}, []string{"-"}, strings.NewReader("{\"a\":1}\n{\"b\":2}\n"))
	require.NoError(t, err)
	_, err = r.Next()
	require.NoError(t, err)
	cancel()
	_, err = r.Next()
	require.ErrorIs(t, err, context.Canceled)
	_, err = r.Next()
	require.ErrorIs(t, err, context.Canceled, "the error sticks")

	ctx2, cancel2 := context.WithCancel(context.Background())
	defer cancel2()
	r, err = eventsource.Open(ctx2, eventsource.Config{}, []string{"-"}, strings.NewReader("{\"a\":1}\n{\"b\":2}\n"))
	require.NoError(t, err)
	var seen []error
	for _, err := range r.All() {
		seen = append(seen, err)
		cancel2()
	}
	require.Len(t, seen, 2)
	require.NoError(t, seen[0])
	require.ErrorIs(t, seen[1], context.Canceled, "All ends with the context's error")
}

func TestClose(t *testing.T) {
	r, err := eventsource.Open(context.Background(), eventsource.Config{}, []string{"-", "-"}, strings.NewReader("{\"a\":1}\n{\"b\":2}\n"))
	require.NoError(t, err)
	_, err = r.Next()
	require.NoError(t, err)
	require.NoError(t, r.Close())
	_, err = r.Next()
	require.Equal(t, io.EOF, err)
}

// TestFixtures reads every fixture file and checks it against the manifest
// of the fixtures package, which was written independently of this reader.
func TestFixtures(t *testing.T) {
	manifest, err := fixtures.Manifest()
	require.NoError(t, err)
	for _, f := range manifest {
		t.Run(f.Path, func(t *testing.T) {
			r, err := eventsource.Open(context.Background(), eventsource.Config{FS: fixtures.FS()}, []string{f.Path}, nil)
			require.NoError(t, err)
			var ids []string
			errs := 0
			for _, it := range readAll(t, r) {
				if it.err != nil {
					errs++
					continue
				}
				assert.Equal(t, f.Format, it.ev.Format.String())
				var id string
				_ = json.Unmarshal([]byte(gjsonString(it.ev.Data, "messageId")), &id)
				ids = append(ids, id)
			}
			var want []string
			for _, e := range f.Events {
				want = append(want, e.MessageID)
			}
			assert.Equal(t, want, ids)
			assert.Equal(t, f.Errors, errs)
		})
	}
}

func TestDefaultFixtureSet(t *testing.T) {
	x, err := fixtures.Expect(fixtures.DefaultDir)
	require.NoError(t, err)
	r, err := eventsource.Open(context.Background(), eventsource.Config{FS: fixtures.Default()}, []string{"."}, nil)
	require.NoError(t, err)
	var ids []string
	for _, it := range readAll(t, r) {
		require.NoError(t, it.err)
		var id string
		require.NoError(t, json.Unmarshal([]byte(gjsonString(it.ev.Data, "messageId")), &id))
		ids = append(ids, id)
	}
	assert.Equal(t, x.MessageIDs, ids)
}

// TestTrailingTextResumesAtNextLine pins the error for text after an
// object on its line: it names the line and byte where the text starts and
// what was expected, and the events of the following lines are delivered.
func TestTrailingTextResumesAtNextLine(t *testing.T) {
	input := "{\"a\":1}\n{\"b\":2} garbage\n{\"c\":3}\n"
	items := readInput(t, eventsource.Config{}, strings.NewReader(input))
	require.Len(t, items, 4, "%s", render(items))
	var e *eventsource.Error
	require.ErrorAs(t, items[2].err, &e)
	assert.Equal(t, 2, e.Line)
	assert.Equal(t, int64(16), e.Offset)
	assert.Equal(t, "<stdin>: line 2 (byte 16): malformed JSON at byte 16 (line 2): expected a JSON value, got 'g'; reading resumes at line 3", e.Error())
	assert.Equal(t, `{"c":3}`, string(items[3].ev.Data))
	assert.Equal(t, 3, items[3].ev.Line)
}

func TestErrorText(t *testing.T) {
	for _, tc := range []struct {
		err  eventsource.Error
		want string
	}{
		{eventsource.Error{Source: "a.ndjson", Line: 7, Index: 6, Offset: 120, Err: eventsource.ErrNotObject},
			"a.ndjson: line 7 (byte 120): expected a JSON object"},
		{eventsource.Error{Source: "a.json", Format: eventsource.FormatArray, Line: 3, Index: 2, Offset: 40, Err: eventsource.ErrTooLarge},
			"a.json: element 2 at line 3 (byte 40): too large"},
		{eventsource.Error{Source: "a.json", Format: eventsource.FormatBatch, Index: 2, Offset: -1, Err: eventsource.ErrTooLarge},
			"a.json: element 2: too large"},
		{eventsource.Error{Source: "dir", Index: -1, Offset: -1, Err: fs.ErrPermission},
			"dir: permission denied"},
		{eventsource.Error{Index: -1, Offset: 9, Err: eventsource.ErrMalformed}, "byte 9: malformed JSON"},
	} {
		assert.Equal(t, tc.want, tc.err.Error())
	}
	assert.Equal(t, "batch", eventsource.FormatBatch.String())
	assert.Equal(t, "Format(9)", eventsource.Format(9).String())
}
