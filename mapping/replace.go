package mapping

import (
	"strconv"
	"strings"
	"unicode/utf8"
)

// jsReplace is String#replace with a literal pattern turned into a regular
// expression (flags g and i as asked): only matches of the pattern are
// replaced, and the replacement understands JavaScript's patterns $$, $&,
// $` and $' (there are no groups, so $1 stays as it is).
func jsReplace(s, pattern, replacement string, global, ignorecase bool) (string, error) {
	if utf16Len(pattern) > maxPatternLength {
		return "", rtErr("@replace", `@replace requires a "pattern" less than `+strconv.Itoa(maxPatternLength)+" characters")
	}
	if utf16Len(replacement) > maxReplacementLength {
		return "", rtErr("@replace", `@replace requires a "replacement" less than `+strconv.Itoa(maxReplacementLength)+" characters")
	}
	find := strings.Index
	if ignorecase {
		find = indexFold
	}
	var b strings.Builder
	pos := 0
	for pos <= len(s) {
		i := -1
		n := 0
		if pattern == "" {
			i = pos
		} else if j := find(s[pos:], pattern); j >= 0 {
			i = pos + j
			n = matchLen(s[i:], pattern, ignorecase)
		}
		if i < 0 {
			break
		}
		b.WriteString(s[pos:i])
		expandReplacement(&b, replacement, s, i, i+n)
		pos = i + n
		if !global {
			break
		}
		if n == 0 { // an empty match: step over one character
			if pos >= len(s) {
				pos = len(s) + 1
				break
			}
			_, size := utf8.DecodeRuneInString(s[pos:])
			b.WriteString(s[pos : pos+size])
			pos += size
		}
	}
	if pos < len(s) {
		b.WriteString(s[pos:])
	}
	return b.String(), nil
}

func expandReplacement(b *strings.Builder, repl, s string, start, end int) {
	for i := 0; i < len(repl); i++ {
		c := repl[i]
		if c != '$' || i+1 == len(repl) {
			b.WriteByte(c)
			continue
		}
		switch repl[i+1] {
		case '$':
			b.WriteByte('$')
		case '&':
			b.WriteString(s[start:end])
		case '`':
			b.WriteString(s[:start])
		case '\'':
			b.WriteString(s[end:])
		default:
			b.WriteByte('$')
			continue
		}
		i++
	}
}

// indexFold finds pattern in s comparing characters the way a JavaScript
// regular expression with the i flag does.
func indexFold(s, pattern string) int {
	for i := 0; i < len(s); {
		if matchLen(s[i:], pattern, true) >= 0 {
			return i
		}
		_, size := utf8.DecodeRuneInString(s[i:])
		i += size
	}
	return -1
}

// matchLen returns how many bytes of s the pattern matches at its start, or
// -1 when it does not match there.
func matchLen(s, pattern string, ignorecase bool) int {
	if !ignorecase {
		if strings.HasPrefix(s, pattern) {
			return len(pattern)
		}
		return -1
	}
	j := 0
	for _, pr := range pattern {
		if j >= len(s) {
			return -1
		}
		sr, size := utf8.DecodeRuneInString(s[j:])
		if sr != pr && canonicalize(sr) != canonicalize(pr) {
			return -1
		}
		j += size
	}
	return j
}
