package jsontext

import (
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
