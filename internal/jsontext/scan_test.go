package jsontext

import (
	"encoding/json"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/stretchr/testify/assert"
)

func TestInvalidUTF8At(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want int
	}{
		{"", 0},
		{"plain ascii", 11},
		{"é😀中", 9},
		{"a\xffb", 1},
		{"ab\xc3", 2},              // a sequence cut short at the end
		{"ab\xc3(", 2},             // a lead byte without its continuation
		{"\x80", 0},                // a stray continuation byte
		{"ok \xc0\x80", 3},         // overlong encoding of U+0000
		{"ok \xed\xa0\x80", 3},     // an encoded surrogate
		{"ok \xf4\x90\x80\x80", 3}, // beyond U+10FFFF
		{strings.Repeat("x", 100) + "é\xfe", 102},
	} {
		assert.Equal(t, tc.want, InvalidUTF8At([]byte(tc.in)), "%q", tc.in)
	}
}

// FuzzInvalidUTF8At checks the offset against the standard library: it is
// len(b) exactly when b is valid, and otherwise the bytes before it are
// valid and the bytes from it are not.
func FuzzInvalidUTF8At(f *testing.F) {
	for _, s := range []string{"", "é", "a\xffb", "\xed\xa0\x80", "abc\xf0\x9f\x98"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		i := InvalidUTF8At(b)
		if utf8.Valid(b) {
			if i != len(b) {
				t.Fatalf("valid %q: offset %d", b, i)
			}
			return
		}
		if i < 0 || i >= len(b) || !utf8.Valid(b[:i]) {
			t.Fatalf("%q: offset %d", b, i)
		}
		if r, size := utf8.DecodeRune(b[i:]); r != utf8.RuneError || size != 1 {
			t.Fatalf("%q: offset %d starts a valid rune", b, i)
		}
	})
}

func TestTooDeep(t *testing.T) {
	for _, tc := range []struct {
		in    string
		limit int
		want  int
	}{
		{``, 2, -1},
		{`[[1]]`, 2, -1},
		{`[[[1]]]`, 2, 2},
		{`{"a":{"b":[0]}}`, 2, 10},
		{`["[[[[", "\"[[[["]`, 1, -1}, // brackets in strings, escaped quotes included
		{`[]]]]][[[`, 2, 8},           // a close below zero does not lend depth
		{`[[[`, 3, -1},                // unterminated, measured as far as it goes
		{strings.Repeat("[", 10001), MaxDepth, 10000},
	} {
		assert.Equal(t, tc.want, TooDeep(tc.in, tc.limit), "%q limit %d", tc.in, tc.limit)
	}
}

func TestSkipContainerAndTooDeep(t *testing.T) {
	const noContainer = -2 // in does not start with a bracket: SkipContainer does not apply
	for _, tc := range []struct {
		in        string
		end       int // SkipContainer(in, 0)
		deepAt2   int // TooDeep(in, 2)
		deepAtBig int // TooDeep(in, 100)
	}{
		{`{}`, 2, -1, -1},
		{`[1,[2,[3]]]`, 11, 6, -1},
		{`{"a":"}]\"[{"}`, 14, -1, -1},
		{`{"a":[{"b":1}]} trailing`, 15, 6, -1},
		{`{"a":"unterminated`, -1, -1, -1},
		{`[[`, -1, -1, -1},
		{`]][[[`, noContainer, 4, -1}, // an unbalanced close does not lower the floor
	} {
		if tc.end != noContainer {
			assert.Equal(t, tc.end, SkipContainer(tc.in, 0), "SkipContainer(%q)", tc.in)
		}
		assert.Equal(t, tc.deepAt2, TooDeep(tc.in, 2), "TooDeep(%q, 2)", tc.in)
		assert.Equal(t, tc.deepAtBig, TooDeep(tc.in, 100), "TooDeep(%q, 100)", tc.in)
	}
}

// FuzzWalk checks SkipContainer and TooDeep on valid JSON against the
// standard library's decoder: the container ends where the decoder's
// offset is after its closing token, and the first bracket that opens a
// level deeper than limit is the one the token stream reaches it at.
func FuzzWalk(f *testing.F) {
	for _, s := range []string{`{}`, `[1,[2,[3]]]`, `{"a":"}]\"[{"}`, `{"k":[{"x":"\u005b"}],"y":[[[]]]}`} {
		f.Add(s, 2)
	}
	f.Fuzz(func(t *testing.T, s string, limit int) {
		if !json.Valid([]byte(s)) || limit < 0 || limit > 64 {
			return
		}
		dec := json.NewDecoder(strings.NewReader(s))
		depth, deepAt, end := 0, -1, -1
		start := strings.IndexAny(s, "{[")
		for {
			before := dec.InputOffset()
			tok, err := dec.Token()
			if err != nil {
				break
			}
			d, ok := tok.(json.Delim)
			if !ok {
				continue
			}
			switch d {
			case '{', '[':
				depth++
				if depth > limit && deepAt < 0 {
					deepAt = int(before) + strings.IndexAny(s[before:], "{[")
				}
			default:
				depth--
				if depth == 0 && end < 0 {
					end = int(dec.InputOffset())
				}
			}
		}
		assert.Equal(t, deepAt, TooDeep(s, limit), "TooDeep(%q, %d)", s, limit)
		if start >= 0 && strings.TrimSpace(s[:start]) == "" {
			assert.Equal(t, end, SkipContainer(s, start), "SkipContainer(%q, %d)", s, start)
		}
	})
}
