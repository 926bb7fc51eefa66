package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"math/big"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/s2segment/s2segment/destination"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func readTryVectors(t *testing.T, name string) []map[string]json.RawMessage {
	t.Helper()
	f, err := os.Open(filepath.Join("testdata", "try", name))
	require.NoError(t, err)
	defer f.Close()
	var out []map[string]json.RawMessage
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		var c map[string]json.RawMessage
		require.NoError(t, json.Unmarshal(sc.Bytes(), &c))
		out = append(out, c)
	}
	require.NoError(t, sc.Err())
	return out
}

func decodeTryLines(t *testing.T, out string) []tryLine {
	t.Helper()
	var lines []tryLine
	for _, l := range strings.Split(strings.TrimSuffix(out, "\n"), "\n") {
		if l == "" {
			continue
		}
		var tl tryLine
		require.NoError(t, json.Unmarshal([]byte(l), &tl), "line %q", l)
		lines = append(lines, tl)
	}
	return lines
}

// TestTrySendData runs every Send Data vector through "s2segment try" at
// once, one event per line, and checks each line's status, error and row.
func TestTrySendData(t *testing.T) {
	cases := readTryVectors(t, "send-data.ndjson")
	require.Len(t, cases, 55)
	var in bytes.Buffer
	for _, c := range cases {
		in.Write(c["event"])
		in.WriteByte('\n')
	}
	code, out, errOut := runCLI(t, in.String(), "try")
	assert.Equal(t, exitFailed, code, "the vectors include invalid events")
	assert.Empty(t, errOut)
	lines := decodeTryLines(t, out)
	require.Len(t, lines, len(cases))
	for i, c := range cases {
		var name string
		require.NoError(t, json.Unmarshal(c["name"], &name))
		var expect struct {
			Status int             `json:"status"`
			Error  string          `json:"error"`
			Row    json.RawMessage `json:"row"`
		}
		require.NoError(t, json.Unmarshal(c["expect"], &expect))
		got := lines[i]
		if !assert.Equal(t, expect.Status, got.Status, "%s: %s", name, got.Error) {
			continue
		}
		if expect.Status != 200 {
			assert.Equal(t, expect.Error, got.Error, name)
			assert.Nil(t, got.Row, name)
			continue
		}
		assert.True(t, got.Match, name)
		assert.Empty(t, diffJSONValues(expect.Row, got.Row), "%s: row %s", name, got.Row)
		assert.True(t, json.Valid(got.Payload), name)
	}
}

// TestTrySubscriptions runs every subscription vector through
// "s2segment try --subscription": matching cases must report the expected
// match, and subscriptions the reference cannot parse must be refused with
// exit status 2 before any event is read.
func TestTrySubscriptions(t *testing.T) {
	cases := readTryVectors(t, "subscription.ndjson")
	require.Len(t, cases, 143)
	type group struct {
		events  []json.RawMessage
		names   []string
		matches []*bool
	}
	groups := map[string]*group{}
	var order []string
	for _, c := range cases {
		var fql, name string
		require.NoError(t, json.Unmarshal(c["subscription"], &fql))
		require.NoError(t, json.Unmarshal(c["name"], &name))
		g, ok := groups[fql]
		if !ok {
			g = &group{}
			groups[fql] = g
			order = append(order, fql)
		}
		g.events = append(g.events, c["event"])
		g.names = append(g.names, name)
		var m *bool
		if raw, ok := c["match"]; ok {
			m = new(bool)
			require.NoError(t, json.Unmarshal(raw, m))
		}
		g.matches = append(g.matches, m)
	}
	checked := 0
	for _, fql := range order {
		g := groups[fql]
		var in bytes.Buffer
		for _, e := range g.events {
			in.Write(e)
			in.WriteByte('\n')
		}
		args := []string{"try", "--subscription", fql}
		if g.matches[0] == nil {
			code, out, errOut := runCLI(t, in.String(), args...)
			assert.Equal(t, exitUsage, code, "%s: %q must be refused", g.names[0], fql)
			assert.Empty(t, out, g.names[0])
			assert.Contains(t, errOut, "--subscription", g.names[0])
			checked += len(g.names)
			continue
		}
		code, out, errOut := runCLI(t, in.String(), args...)
		require.NotEqual(t, exitUsage, code, "%s: %s", g.names[0], errOut)
		lines := decodeTryLines(t, out)
		require.Len(t, lines, len(g.events), g.names[0])
		for i := range g.events {
			require.NotNil(t, g.matches[i], g.names[i])
			assert.Equal(t, *g.matches[i], lines[i].Match, "%s: %s on %s", g.names[i], fql, g.events[i])
			if !lines[i].Match {
				assert.Equal(t, 400, lines[i].Status, g.names[i])
				assert.Equal(t, "Payload is either invalid or does not match the subscription", lines[i].Error, g.names[i])
			}
			checked++
		}
	}
	assert.Equal(t, 143, checked)
}

func TestTryRefusesBadMappingAndSubscription(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.json")
	require.NoError(t, os.WriteFile(bad, []byte(`{"event": {"@path": 5}}`), 0o600))
	notJSON := filepath.Join(dir, "not.json")
	require.NoError(t, os.WriteFile(notJSON, []byte(`{"event": `), 0o600))
	tests := []struct {
		args []string
		want []string
	}{
		{[]string{"--mapping", `{"event": {"@path": 5}}`}, []string{"--mapping", "/event/@path"}},
		{[]string{"--mapping", bad}, []string{"--mapping", "/event/@path"}},
		{[]string{"--mapping", notJSON}, []string{"--mapping", "not.json is not JSON", "offset"}},
		{[]string{"--mapping", filepath.Join(dir, "missing.json")}, []string{"--mapping", "reading mapping file"}},
		{[]string{"--mapping", `[1]`}, []string{"--mapping", "must be a JSON object"}},
		{[]string{"--subscription", `type = "track`}, []string{"--subscription", "offset 7", "unterminated string", "\n         ^"}},
		{[]string{"--subscription", `properties.total>5`}, []string{"--subscription", "offset 16"}},
		{[]string{"--subscription", `anonymousId = "x"`}, []string{"--subscription", "no supported condition"}},
		{[]string{"--subscription", ""}, []string{"--subscription", "empty"}},
		{[]string{"--schema", "wide"}, []string{"--schema"}},
	}
	for _, tc := range tests {
		code, out, errOut := runCLI(t, `{"type":"track"}`+"\n", append([]string{"try"}, tc.args...)...)
		assert.Equal(t, exitUsage, code, "%q", tc.args)
		assert.Empty(t, out, "%q: nothing is read or printed", tc.args)
		for _, w := range tc.want {
			assert.Contains(t, errOut, w, "%q", tc.args)
		}
	}
}

func TestTryLines(t *testing.T) {
	in := strings.Join([]string{
		`{"type":"track","event":"E","messageId":"m1","timestamp":"2025-07-07T10:19:25.665Z","userId":42}`,
		``,
		`not json`,
		`[1,2]`,
		`{"type":"delete","messageId":"m2","timestamp":"2025-07-07T10:19:25Z"}`,
		`{"type":"track","messageId":"m3","timestamp":"2025-07-07T10:19:25Z"}`,
	}, "\n") // no final newline: the last line still counts
	code, out, _ := runCLI(t, in, "try", "--mapping", `{"name":{"@template":"{{event}}!"}}`, "--json-strings")
	assert.Equal(t, exitFailed, code)
	lines := decodeTryLines(t, out)
	require.Len(t, lines, 5, out)

	assert.Equal(t, tryLine{Match: true, Status: 200,
		Payload: json.RawMessage(`{"messageid":"m1","timestamp":"2025-07-07T10:19:25.665Z","type":"track","event":"E","name":"E!","userId":"42","max_batch_size":100,"enable_batching":true}`),
		Row:     json.RawMessage(`["m1","2025-07-07 10:19:25.665000","track","E","E!",null,"42",null,null,null,null]`)}, lines[0])
	assert.Equal(t, 400, lines[1].Status)
	assert.Contains(t, lines[1].Error, "line 3 is not JSON")
	assert.Equal(t, "line 4 is not a JSON object", lines[2].Error)
	assert.Equal(t, tryLine{Match: false, Status: 400, Error: "Payload is either invalid or does not match the subscription"}, lines[3])
	assert.Equal(t, tryLine{Match: true, Status: 400, Error: `The root value is missing the required field 'event'. The root value must match "then" schema.`}, lines[4])

	// Only filtered events: exit status 0.
	code, _, _ = runCLI(t, `{"type":"delete"}`, "try")
	assert.Equal(t, exitOK, code)
}

// TestManifestCommand checks "s2segment manifest" against the reference
// definition, value for value, with the Warehouse action (which the
// reference does not have) listed beside Send Data.
func TestManifestCommand(t *testing.T) {
	code, out, errOut := runCLI(t, "", "manifest")
	require.Equal(t, exitOK, code, errOut)
	ref, err := os.ReadFile(filepath.Join("testdata", "try", "reference-manifest.json"))
	require.NoError(t, err)
	var m map[string]any
	require.NoError(t, json.Unmarshal([]byte(out), &m))
	actions := m["actions"].(map[string]any)
	require.Contains(t, actions, "warehouse")
	delete(actions, "warehouse")
	sendOnly, err := json.Marshal(m)
	require.NoError(t, err)
	assert.Empty(t, diffJSONValues(ref, sendOnly))
	assert.True(t, strings.HasSuffix(out, "}\n"))

	code, _, _ = runCLI(t, "", "manifest", "extra")
	assert.Equal(t, exitUsage, code)
}

// diffJSONValues compares JSON texts as values (key order ignored, numbers
// by value, integers digit for digit) and describes the first difference.
func diffJSONValues(a, b []byte) string {
	decode := func(x []byte) (any, error) {
		d := json.NewDecoder(bytes.NewReader(x))
		d.UseNumber()
		var v any
		err := d.Decode(&v)
		return v, err
	}
	va, err := decode(a)
	if err != nil {
		return err.Error()
	}
	vb, err := decode(b)
	if err != nil {
		return err.Error()
	}
	var diff func(path string, x, y any) string
	diff = func(path string, x, y any) string {
		switch xv := x.(type) {
		case map[string]any:
			yv, ok := y.(map[string]any)
			if !ok || len(xv) != len(yv) {
				return fmt.Sprintf("%s: %v vs %v", path, x, y)
			}
			keys := make([]string, 0, len(xv))
			for k := range xv {
				keys = append(keys, k)
			}
			sort.Strings(keys)
			for _, k := range keys {
				if d := diff(path+"."+k, xv[k], yv[k]); d != "" {
					return d
				}
			}
		case []any:
			yv, ok := y.([]any)
			if !ok || len(xv) != len(yv) {
				return fmt.Sprintf("%s: %v vs %v", path, x, y)
			}
			for i := range xv {
				if d := diff(fmt.Sprintf("%s[%d]", path, i), xv[i], yv[i]); d != "" {
					return d
				}
			}
		case json.Number:
			yv, ok := y.(json.Number)
			if !ok {
				return fmt.Sprintf("%s: %v vs %v", path, x, y)
			}
			if !strings.ContainsAny(string(xv)+string(yv), ".eE") {
				if xv != yv {
					return fmt.Sprintf("%s: %s vs %s", path, xv, yv)
				}
				return ""
			}
			fx, _, e1 := big.ParseFloat(string(xv), 10, 200, big.ToNearestEven)
			fy, _, e2 := big.ParseFloat(string(yv), 10, 200, big.ToNearestEven)
			if e1 != nil || e2 != nil || fx.Cmp(fy) != 0 {
				return fmt.Sprintf("%s: %s vs %s", path, xv, yv)
			}
		default:
			if x != y {
				return fmt.Sprintf("%s: %#v vs %#v", path, x, y)
			}
		}
		return ""
	}
	return diff("$", va, vb)
}

// TestTryDeepNesting gives try lines nested past destination.MaxDepth, and
// about 6 million deep (deeper than gjson's recursive validator survives):
// each is refused alone with where it is too deep, and the next line runs.
func TestTryDeepNesting(t *testing.T) {
	good := `{"type":"track","event":"E","messageId":"m1","timestamp":"2025-07-07T10:19:25Z","userId":"u"}`
	for _, n := range []int{destination.MaxDepth + 1, 6_000_000} {
		for _, closed := range []bool{true, false} {
			v := strings.Repeat("[", n)
			if closed {
				v += strings.Repeat("]", n)
			}
			deep := `{"type":"track","event":"E","messageId":"m0","timestamp":"2025-07-07T10:19:25Z","properties":{"p":` + v + `}}`
			code, out, _ := runCLI(t, deep+"\n"+good+"\n", "try")
			assert.Equal(t, exitFailed, code)
			lines := decodeTryLines(t, out)
			require.Len(t, lines, 2, "n=%d closed=%v", n, closed)
			assert.Equal(t, tryLine{Status: 400, Error: fmt.Sprintf("line 1 is not JSON: nested more than 10000 levels deep at byte offset %d",
				strings.IndexByte(deep, '[')+destination.MaxDepth-2)}, lines[0])
			assert.Equal(t, 200, lines[1].Status, lines[1].Error)
		}
	}
	// A deep --mapping is refused before any event is read.
	code, _, errOut := runCLI(t, good, "try", "--mapping", `{"properties":{"@literal":`+strings.Repeat("[", destination.MaxDepth+1)+`}}`)
	assert.Equal(t, exitUsage, code)
	assert.Contains(t, errOut, "--mapping")
}
