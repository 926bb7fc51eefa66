package jsontext

import "unicode/utf8"

// depthClass classifies the bytes that matter when measuring nesting: 1
// opens a string, 2 opens a container, 3 closes one.
var depthClass = [256]uint8{'"': 1, '{': 2, '[': 2, '}': 3, ']': 3}

// TooDeep returns the byte offset of the bracket in s that opens nesting
// level limit+1, or -1 when s nests no deeper than limit. It scans bytes,
// without recursion, and does not check the syntax: brackets inside strings
// (escapes included) do not count, and unbalanced or unterminated input is
// measured as far as it goes. It is the check to run on untrusted JSON
// before any recursive parser sees it.
func TooDeep(s string, limit int) int {
	depth := 0
	for i := 0; i < len(s); i++ {
		switch depthClass[s[i]] {
		case 0:
			continue
		case 1: // a string: skipped whole, escapes included
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
		case 2:
			depth++
			if depth > limit {
				return i
			}
		case 3:
			if depth > 0 {
				depth--
			}
		}
	}
	return -1
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
