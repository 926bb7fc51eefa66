package jsontext

import (
	"math"
	"unicode/utf8"
)

// structural classifies the bytes that matter when walking the structure
// of JSON text: 1 opens a string, 2 opens a container, 3 closes one.
var structural = [256]uint8{'"': 1, '{': 2, '[': 2, '}': 3, ']': 3}

// SkipString returns the offset just past the string that starts at s[i]
// (a '"'), or -1 when it is not terminated. Escapes are skipped whole and
// not checked.
func SkipString(s string, i int) int {
	for i++; i < len(s); i++ {
		c := s[i]
		if c > '\\' {
			continue // letters and most text: the common case first
		}
		if c == '"' {
			return i + 1
		}
		if c == '\\' {
			i++ // the escaped character, whatever it is
		}
	}
	return -1
}

// SkipContainer returns the offset just past the object or array that
// starts at s[i], matching brackets and skipping strings, or -1 when it is
// not closed. Like TooDeep it does not check the syntax between brackets.
func SkipContainer(s string, i int) int {
	end, _ := walk(s, i, math.MaxInt, true)
	return end
}

// TooDeep returns the byte offset of the bracket in s that opens nesting
// level limit+1, or -1 when s nests no deeper than limit. It scans bytes,
// without recursion, and does not check the syntax: brackets inside strings
// (escapes included) do not count, and unbalanced or unterminated input is
// measured as far as it goes. It is the check to run on untrusted JSON
// before any recursive parser sees it.
func TooDeep(s string, limit int) int {
	if at, deep := walk(s, 0, limit, false); deep {
		return at
	}
	return -1
}

// walk is the one structure scan behind SkipContainer and TooDeep: from
// s[i] it skips strings and counts brackets, and stops at the bracket that
// opens level limit+1 (its offset, deep true) or, when one is set, just
// past the bracket that brings the depth back to zero. Otherwise, at an
// unterminated string or the end of s, it returns -1. A plain loop over a
// lookup table beats word-at-a-time tricks here: JSON events are mostly
// short strings, so the structural bytes are close together.
func walk(s string, i, limit int, one bool) (at int, deep bool) {
	depth := 0
	for ; i < len(s); i++ {
		switch structural[s[i]] {
		case 0:
			continue
		case 1: // SkipString, by hand: this loop is the hot path
			for i++; i < len(s); i++ {
				c := s[i]
				if c > '\\' {
					continue
				}
				if c == '"' {
					break
				}
				if c == '\\' {
					i++
				}
			}
			if i >= len(s) {
				return -1, false
			}
		case 2:
			if depth++; depth > limit {
				return i, true
			}
		case 3:
			if depth--; depth <= 0 {
				if one {
					return i + 1, false
				}
				depth = 0 // an unbalanced close does not lower the floor
			}
		}
	}
	return -1, false
}

// InvalidUTF8At returns the offset of the first byte of b that does not
// start a valid UTF-8 sequence, or len(b) when there is none.
func InvalidUTF8At(b []byte) int {
	for i := 0; i < len(b); {
		if b[i] < utf8.RuneSelf {
			i++
			continue
		}
		r, size := utf8.DecodeRune(b[i:])
		if r == utf8.RuneError && size == 1 {
			return i
		}
		i += size
	}
	return len(b)
}
