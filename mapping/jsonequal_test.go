package mapping

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math/big"
	"strconv"
	"strings"
	"testing"
)

// jsonEqual compares two JSON texts as values: object key order does not
// matter, numbers compare by exact decimal value (never through float64, so
// 12345678901234567890 and 12345678901234567000 differ), strings exactly.
func jsonEqual(a, b []byte) (bool, error) {
	va, err := decodeJSON(a)
	if err != nil {
		return false, fmt.Errorf("decoding %s: %w", a, err)
	}
	vb, err := decodeJSON(b)
	if err != nil {
		return false, fmt.Errorf("decoding %s: %w", b, err)
	}
	return valuesEqual(va, vb), nil
}

func decodeJSON(b []byte) (any, error) {
	dec := json.NewDecoder(bytes.NewReader(markLoneSurrogates(b)))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, err
	}
	if dec.More() {
		return nil, fmt.Errorf("trailing data")
	}
	return v, nil
}

func valuesEqual(a, b any) bool {
	switch a := a.(type) {
	case map[string]any:
		bm, ok := b.(map[string]any)
		if !ok || len(a) != len(bm) {
			return false
		}
		for k, v := range a {
			w, ok := bm[k]
			if !ok || !valuesEqual(v, w) {
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
			if !valuesEqual(a[i], bs[i]) {
				return false
			}
		}
		return true
	case json.Number:
		bn, ok := b.(json.Number)
		if !ok {
			return false
		}
		ra, oka := new(big.Rat).SetString(strings.TrimPrefix(string(a), "+"))
		rb, okb := new(big.Rat).SetString(strings.TrimPrefix(string(bn), "+"))
		return oka && okb && ra.Cmp(rb) == 0
	}
	return a == b
}

// loneMark stands for a lone UTF-16 surrogate in a decoded string, followed
// by its four hex digits: encoding/json would decode every lone surrogate
// to U+FFFD, so "\ud83d" and "\ufffd" would compare equal.
const loneMark = "\\ufffe"

// markLoneSurrogates rewrites each \uXXXX escape of a lone surrogate (one
// not part of a high-low pair) in the strings of a JSON text as loneMark
// and the escape's hex digits, so that decoded strings keep it apart.
func markLoneSurrogates(b []byte) []byte {
	if !bytes.Contains(b, []byte(`\u`)) && !bytes.Contains(b, []byte(`\U`)) {
		return b
	}
	surrogate := func(i int) (uint64, bool) { // the unit of an escape at b[i:]
		if i+6 > len(b) || b[i] != '\\' || b[i+1] != 'u' {
			return 0, false
		}
		u, err := strconv.ParseUint(string(b[i+2:i+6]), 16, 16)
		return u, err == nil && u >= 0xd800 && u <= 0xdfff
	}
	out := make([]byte, 0, len(b))
	inString := false
	for i := 0; i < len(b); i++ {
		c := b[i]
		switch {
		case c == '"':
			inString = !inString
		case inString && c == '\\' && i+1 < len(b) && b[i+1] != 'u':
			out = append(out, c, b[i+1])
			i++
			continue
		case inString && c == '\\':
			if u, ok := surrogate(i); ok {
				if v, ok2 := surrogate(i + 6); u < 0xdc00 && ok2 && v >= 0xdc00 {
					out = append(out, b[i:i+12]...) // a pair
					i += 11
					continue
				}
				out = append(out, loneMark...)
				out = append(out, bytes.ToLower(b[i+2:i+6])...)
				i += 5
				continue
			}
		}
		out = append(out, c)
	}
	return out
}

func TestJSONEqualStrings(t *testing.T) {
	for _, c := range []struct {
		a, b string
		want bool
	}{
		{`"\ud83d"`, `"\ufffd"`, false},
		{`"\ud83d"`, `"\uD83D"`, true},
		{`"\ud83d\ude00"`, `"😀"`, true},
		{`"\ude00\ud83d"`, `"\ufffd\ufffd"`, false},
		{`["\\ud83d"]`, `["\\ud83d"]`, true},
		{`"\\ud83d"`, `"\ud83d"`, false},
		{`{"k\ud83d":1}`, `{"k\ufffd":1}`, false},
		{`"a\"\ud83d"`, `"a\"\ud83d"`, true},
		{`"é"`, `"\u00e9"`, true},
	} {
		got, err := jsonEqual([]byte(c.a), []byte(c.b))
		if err != nil || got != c.want {
			t.Errorf("jsonEqual(%s, %s) = %v, %v; want %v", c.a, c.b, got, err, c.want)
		}
	}
}
