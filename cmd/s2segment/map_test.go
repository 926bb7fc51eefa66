package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// mapCase is one line of the mapping conformance vectors.
type mapCase struct {
	Name      string          `json:"name"`
	Mapping   json.RawMessage `json:"mapping"`
	Payload   json.RawMessage `json:"payload"`
	Output    json.RawMessage `json:"output"`
	Undefined bool            `json:"undefined"`
	Error     *string         `json:"error"`
}

// mapResult is one output line of s2segment map.
type mapResult struct {
	Output    json.RawMessage `json:"output"`
	Undefined bool            `json:"undefined"`
	Error     *string         `json:"error"`
}

func TestMapConformance(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join("..", "..", "mapping", "testdata", "mapping.ndjson"))
	require.NoError(t, err)
	var cases []mapCase
	var stdin bytes.Buffer
	sc := bufio.NewScanner(bytes.NewReader(raw))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var c mapCase
		require.NoError(t, json.Unmarshal(sc.Bytes(), &c))
		cases = append(cases, c)
		line, err := json.Marshal(map[string]json.RawMessage{"mapping": c.Mapping, "payload": c.Payload})
		require.NoError(t, err)
		stdin.Write(line)
		stdin.WriteByte('\n')
	}
	require.Len(t, cases, 203)

	code, out, errOut := runCLI(t, stdin.String(), "map")
	lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
	require.Len(t, lines, len(cases))
	errorsWanted, passed := 0, 0
	for i, c := range cases {
		var r mapResult
		require.NoError(t, json.Unmarshal([]byte(lines[i]), &r), "output line %d: %s", i+1, lines[i])
		if c.Error != nil {
			errorsWanted++
		}
		if msg := mapCheck(c, r); msg != "" {
			t.Errorf("%s: %s", c.Name, msg)
			continue
		}
		passed++
	}
	t.Logf("map conformance: %d of %d cases pass", passed, len(cases))
	assert.Equal(t, exitFailed, code, "error lines make the run fail")
	assert.Contains(t, errOut, fmt.Sprintf("%d of %d lines gave an error", errorsWanted, len(cases)))
}

// mapCheck compares an output line with a case by the vectors' rules.
func mapCheck(c mapCase, r mapResult) string {
	switch {
	case c.Error != nil:
		if r.Error == nil {
			return "want error " + *c.Error + ", got " + string(r.Output)
		}
		if bytes.Equal(c.Mapping, []byte("null")) {
			return ""
		}
		want, got := *c.Error, *r.Error
		if i := strings.Index(want, ", line:"); i >= 0 {
			want, _, _ = strings.Cut(want, ", line:")
			got, _, _ = strings.Cut(got, ", line:")
		}
		if want != got {
			return "want error " + want + ", got " + got
		}
	case r.Error != nil:
		return "unexpected error " + *r.Error
	case c.Undefined:
		if !r.Undefined {
			return "want undefined, got " + string(r.Output)
		}
	default:
		if !mapJSONEqual(c.Output, r.Output) {
			return "want " + string(c.Output) + ", got " + string(r.Output)
		}
	}
	return ""
}

// mapJSONEqual compares JSON values: key order ignored, numbers by exact
// decimal value.
func mapJSONEqual(a, b []byte) bool {
	decode := func(b []byte) (any, bool) {
		dec := json.NewDecoder(bytes.NewReader(b))
		dec.UseNumber()
		var v any
		return v, dec.Decode(&v) == nil
	}
	va, oka := decode(a)
	vb, okb := decode(b)
	return oka && okb && mapValuesEqual(va, vb)
}

func mapValuesEqual(a, b any) bool {
	switch a := a.(type) {
	case map[string]any:
		bm, ok := b.(map[string]any)
		if !ok || len(a) != len(bm) {
			return false
		}
		for k, v := range a {
			if w, ok := bm[k]; !ok || !mapValuesEqual(v, w) {
				return false
			}
		}
		return true
	case []any:
		bs, ok := b.([]any)
		if !ok || len(a) != len(bs) {
			return false
		}
		for i := range a {
			if !mapValuesEqual(a[i], bs[i]) {
				return false
			}
		}
		return true
	case json.Number:
		bn, ok := b.(json.Number)
		if !ok {
			return false
		}
		ra, oka := new(big.Rat).SetString(string(a))
		rb, okb := new(big.Rat).SetString(string(bn))
		return oka && okb && ra.Cmp(rb) == 0
	}
	return a == b
}

func TestMapWithMappingFlag(t *testing.T) {
	mappingJSON := `{"name":{"@path":"$.event"},"plan":{"@case":{"operator":"upper","value":{"@path":"$.properties.plan"}}},"big":{"@path":"$.properties.big"}}`
	file := filepath.Join(t.TempDir(), "mapping.json")
	require.NoError(t, os.WriteFile(file, []byte(mappingJSON), 0o600))
	long := strings.Repeat("x", 200<<10) // longer than any default scanner buffer
	stdin := strings.Join([]string{
		`{"event":"Signed Up","properties":{"plan":"pro","big":12345678901234567890}}`,
		``,
		`{"event":"a", "properties": {"plan": "free",}}`,
		`[1,2]`,
		`{"mapping":{"@path":"$.x"},"payload":{"x":[true]}}`,
		`{"event":"` + long + `"}` + "\r",
		`   `,
		`{"event":"last"}`,
	}, "\n")
	want := []string{
		`{"output":{"name":"Signed Up","plan":"PRO","big":12345678901234567890}}`,
		`{"error":"line 3: invalid JSON at byte offset 45: invalid character '}' looking for beginning of object key string"}`,
		`{"error":"data must be an object, got array"}`,
		`{"output":[true]}`,
		`{"output":{"name":"` + long + `"}}`,
		`{"output":{"name":"last"}}`,
	}
	for _, arg := range []string{mappingJSON, file} {
		code, out, errOut := runCLI(t, stdin, "map", "--mapping", arg)
		assert.Equal(t, exitFailed, code)
		assert.Equal(t, strings.Join(want, "\n")+"\n", out)
		assert.Contains(t, errOut, "2 of 6 lines gave an error")
	}
}

func TestMapDeepNesting(t *testing.T) {
	deep := strings.Repeat("[", 5_000_000)
	code, out, _ := runCLI(t, deep+"\n"+`{"mapping":{"a":1},"payload":{}}`+"\n", "map")
	assert.Equal(t, exitFailed, code)
	assert.Equal(t, `{"error":"line 1: nested more than 10000 levels deep at byte offset 10000"}`+"\n"+`{"output":{"a":1}}`+"\n", out)

	code, _, errOut := runCLI(t, "{}\n", "map", "--mapping", strings.Repeat("[", 5_000_000))
	assert.Equal(t, exitUsage, code)
	assert.Contains(t, errOut, "nested deeper than")
}

func TestMapWithoutMapping(t *testing.T) {
	code, out, _ := runCLI(t, `{"mapping":{"a":{"@literal":1}},"payload":{}}`+"\n"+`{"type":"track"}`+"\n", "map")
	assert.Equal(t, exitFailed, code)
	assert.Equal(t, `{"output":{"a":1}}`+"\n"+
		`{"error":"line 2: not an object with exactly the keys \"mapping\" and \"payload\", and no --mapping was given to apply to it"}`+"\n", out)

	code, out, errOut := runCLI(t, `{"mapping":{"@path":"$.missing"},"payload":{}}`, "map")
	assert.Equal(t, exitOK, code)
	assert.Equal(t, `{"undefined":true}`+"\n", out)
	assert.Empty(t, errOut)
}

func TestMapBadMapping(t *testing.T) {
	code, out, errOut := runCLI(t, "{}\n", "map", "--mapping", `{"a":{"@oops":1},"b":{"@if":3}}`)
	assert.Equal(t, exitUsage, code)
	assert.Empty(t, out)
	assert.Contains(t, errOut, "/a has an invalid directive: @oops.; /b/@if should be an object but it is a number.")

	code, _, errOut = runCLI(t, "{}\n", "map", "--mapping", filepath.Join(t.TempDir(), "missing.json"))
	assert.Equal(t, exitUsage, code)
	assert.Contains(t, errOut, "reading --mapping")

	code, _, errOut = runCLI(t, "{}\n", "map", "--mapping", `{"a":`)
	assert.Equal(t, exitUsage, code)
	assert.Contains(t, errOut, "not valid JSON")
}

func TestMapHelp(t *testing.T) {
	code, out, _ := runCLI(t, "", "map", "--help")
	assert.Equal(t, exitOK, code)
	for _, s := range []string{`"mapping" and "payload"`, `{"undefined": true}`, "Blank lines are skipped", "Exit status", "Examples:", "--mapping"} {
		assert.Contains(t, out, s)
	}
}
