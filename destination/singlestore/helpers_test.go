package singlestore

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"math/big"
	"os"
	"sort"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// sendCase is one line of testdata/send-data.ndjson.
type sendCase struct {
	Name   string          `json:"name"`
	Event  json.RawMessage `json:"event"`
	Expect struct {
		Status int             `json:"status"`
		Row    json.RawMessage `json:"row"`
		Error  string          `json:"error"`
	} `json:"expect"`
	Note string `json:"note"`
}

func readSendCases(t testing.TB) []sendCase {
	t.Helper()
	f, err := os.Open("testdata/send-data.ndjson")
	require.NoError(t, err)
	defer f.Close()
	var out []sendCase
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		var c sendCase
		require.NoError(t, json.Unmarshal(sc.Bytes(), &c))
		out = append(out, c)
	}
	require.NoError(t, sc.Err())
	return out
}

// jsonValuesEqual compares two JSON texts as values, the way the
// conformance vectors are compared: object key order does not matter,
// numbers compare by value, and integers digit for digit (never through
// float64). It returns "" when they are equal, else where they differ.
func jsonValuesEqual(a, b []byte) string {
	va, err := decodeJSON(a)
	if err != nil {
		return "first: " + err.Error()
	}
	vb, err := decodeJSON(b)
	if err != nil {
		return "second: " + err.Error()
	}
	return diffJSON("$", va, vb)
}

func decodeJSON(b []byte) (any, error) {
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber()
	var v any
	if err := d.Decode(&v); err != nil {
		return nil, err
	}
	return v, nil
}

func diffJSON(path string, a, b any) string {
	switch av := a.(type) {
	case map[string]any:
		bv, ok := b.(map[string]any)
		if !ok {
			return fmt.Sprintf("%s: object vs %T", path, b)
		}
		keys := map[string]bool{}
		for k := range av {
			keys[k] = true
		}
		for k := range bv {
			keys[k] = true
		}
		sorted := make([]string, 0, len(keys))
		for k := range keys {
			sorted = append(sorted, k)
		}
		sort.Strings(sorted)
		for _, k := range sorted {
			x, okA := av[k]
			y, okB := bv[k]
			if okA != okB {
				return fmt.Sprintf("%s.%s: present %v vs %v", path, k, okA, okB)
			}
			if d := diffJSON(path+"."+k, x, y); d != "" {
				return d
			}
		}
		return ""
	case []any:
		bv, ok := b.([]any)
		if !ok || len(av) != len(bv) {
			return fmt.Sprintf("%s: array of %d vs %v", path, len(av), b)
		}
		for i := range av {
			if d := diffJSON(fmt.Sprintf("%s[%d]", path, i), av[i], bv[i]); d != "" {
				return d
			}
		}
		return ""
	case json.Number:
		bv, ok := b.(json.Number)
		if !ok {
			return fmt.Sprintf("%s: number %s vs %v", path, av, b)
		}
		if isInteger(string(av)) && isInteger(string(bv)) {
			if strings.TrimPrefix(string(av), "-") == "0" && strings.TrimPrefix(string(bv), "-") == "0" {
				return ""
			}
			if av != bv {
				return fmt.Sprintf("%s: %s vs %s", path, av, bv)
			}
			return ""
		}
		x, _, errA := big.ParseFloat(string(av), 10, 200, big.ToNearestEven)
		y, _, errB := big.ParseFloat(string(bv), 10, 200, big.ToNearestEven)
		if errA != nil || errB != nil || x.Cmp(y) != 0 {
			return fmt.Sprintf("%s: %s vs %s", path, av, bv)
		}
		return ""
	default:
		if a != b {
			return fmt.Sprintf("%s: %#v vs %#v", path, a, b)
		}
		return ""
	}
}

func isInteger(s string) bool {
	return !strings.ContainsAny(s, ".eE")
}
