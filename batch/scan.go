package batch

import (
	"encoding/binary"
	"fmt"
	"math/bits"
	"strconv"

	"github.com/s2segment/s2segment/internal/jsontext"
)

// maxDepth is the deepest nesting a row may have: a row sits two levels
// down in the body (the object and its "args" array), and the body may be
// nested at most jsontext.MaxDepth deep.
const maxDepth = jsontext.MaxDepth - 2

// plain marks the bytes that may appear unescaped inside a JSON string
// without ending it.
var plain = func() (t [256]bool) {
	for c := 0x20; c < 256; c++ {
		t[c] = c != '"' && c != '\\'
	}
	return t
}()

// scanner checks rows. Its stack of open containers is reused between rows.
type scanner struct {
	stack []byte
}

// row checks that b is a comma-separated list of exactly want JSON values.
// It accepts exactly the rows r for which encoding/json's Valid accepts
// {"args":[r]} (strings are not checked for valid UTF-8, as there), except
// an empty list. On failure it returns the byte offset of the problem and
// what was expected there; reason is "" when the row is good.
func (s *scanner) row(b []byte, want int) (off int, reason string) {
	n, i := 0, 0
	for {
		if n == want {
			return i - 1, fmt.Sprintf("more than %d values", want)
		}
		if i, reason = s.value(b, skipSpace(b, i)); reason != "" {
			return i, reason
		}
		n++
		i = skipSpace(b, i)
		if i == len(b) {
			break
		}
		if b[i] != ',' {
			return i, fmt.Sprintf("invalid character %s after a value, expected ','", quoteChar(b[i]))
		}
		i++
	}
	if n != want {
		return len(b), fmt.Sprintf("%d values, expected %d", n, want)
	}
	return 0, ""
}

// value scans one JSON value starting at b[i] and returns the offset just
// after it.
func (s *scanner) value(b []byte, i int) (int, string) {
	s.stack = s.stack[:0]
	var reason string
	for {
		// A value is expected at b[i].
		i = skipSpace(b, i)
		if i >= len(b) {
			return i, "unexpected end of row, expected a value"
		}
		switch c := b[i]; {
		case c == '{' || c == '[':
			if len(s.stack) == maxDepth {
				return i, fmt.Sprintf("nesting deeper than %d levels", maxDepth)
			}
			j := skipSpace(b, i+1)
			if j < len(b) && b[j] == c+2 { // '{'+2 is '}', '['+2 is ']'
				i = j + 1
				break
			}
			s.stack = append(s.stack, c)
			i = j
			if c == '{' {
				if i, reason = key(b, i); reason != "" {
					return i, reason
				}
			}
			continue
		case c == '"':
			if i, reason = str(b, i); reason != "" {
				return i, reason
			}
		case c == '-' || c >= '0' && c <= '9':
			if i, reason = number(b, i); reason != "" {
				return i, reason
			}
		case c == 't':
			if i, reason = literal(b, i, "true"); reason != "" {
				return i, reason
			}
		case c == 'f':
			if i, reason = literal(b, i, "false"); reason != "" {
				return i, reason
			}
		case c == 'n':
			if i, reason = literal(b, i, "null"); reason != "" {
				return i, reason
			}
		default:
			return i, fmt.Sprintf("invalid character %s, expected a value", quoteChar(c))
		}
		// A value ended at i: close the containers it completes.
		for {
			if len(s.stack) == 0 {
				return i, ""
			}
			i = skipSpace(b, i)
			top := s.stack[len(s.stack)-1]
			if i >= len(b) {
				return i, fmt.Sprintf("unexpected end of row, expected ',' or %q", top+2)
			}
			if c := b[i]; c == ',' {
				i++
				if top == '{' {
					if i, reason = key(b, i); reason != "" {
						return i, reason
					}
				}
				break
			} else if c == top+2 {
				s.stack = s.stack[:len(s.stack)-1]
				i++
				continue
			}
			return i, fmt.Sprintf("invalid character %s, expected ',' or %q", quoteChar(b[i]), top+2)
		}
	}
}

func skipSpace(b []byte, i int) int {
	for i < len(b) {
		switch b[i] {
		case ' ', '\t', '\n', '\r':
			i++
		default:
			return i
		}
	}
	return i
}

// key scans an object key and its colon, starting at b[i] (after optional
// white space), and returns the offset after the colon.
func key(b []byte, i int) (int, string) {
	i = skipSpace(b, i)
	if i >= len(b) {
		return i, "unexpected end of row, expected an object key"
	}
	if b[i] != '"' {
		return i, fmt.Sprintf("invalid character %s, expected an object key", quoteChar(b[i]))
	}
	i, reason := str(b, i)
	if reason != "" {
		return i, reason
	}
	i = skipSpace(b, i)
	if i >= len(b) {
		return i, "unexpected end of row, expected ':'"
	}
	if b[i] != ':' {
		return i, fmt.Sprintf("invalid character %s after an object key, expected ':'", quoteChar(b[i]))
	}
	return i + 1, ""
}

// str scans the string starting at b[i] == '"'.
func str(b []byte, i int) (int, string) {
	start := i
	i++
	for {
		i = skipPlain(b, i)
		if i >= len(b) {
			return start, "unterminated string"
		}
		switch c := b[i]; c {
		case '"':
			return i + 1, ""
		case '\\':
			if i+1 >= len(b) {
				return start, "unterminated string"
			}
			switch b[i+1] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				i += 2
			case 'u':
				for k := i + 2; k < i+6; k++ {
					if k >= len(b) {
						return start, "unterminated string"
					}
					if !isHex(b[k]) {
						return k, fmt.Sprintf("invalid character %s in \\u escape, expected a hex digit", quoteChar(b[k]))
					}
				}
				i += 6
			default:
				return i + 1, fmt.Sprintf("invalid character %s after '\\' in string", quoteChar(b[i+1]))
			}
		default:
			return i, fmt.Sprintf("control character %s in string", quoteChar(c))
		}
	}
}

// Masks for skipPlain, one byte repeated eight times.
const (
	ones   = 0x0101010101010101
	highs  = 0x8080808080808080
	quotes = '"' * ones
	slashs = '\\' * ones
	spaces = 0x20 * ones
)

// skipPlain returns the offset of the first byte at or after i that is not
// plain (a quote, a backslash or a control character), or len(b). It looks
// at eight bytes at a time: in each word it flags bytes equal to '"' or '\\'
// (as zero bytes of x^quotes, x^slashs) and bytes below 0x20; the lowest
// flagged byte of such a test is always a true match, so TrailingZeros finds
// the first one.
func skipPlain(b []byte, i int) int {
	for ; i+8 <= len(b); i += 8 {
		x := binary.LittleEndian.Uint64(b[i:])
		q, s := x^quotes, x^slashs
		t := (q-ones)&^q | (s-ones)&^s | (x - spaces)
		if t &= ^x & highs; t != 0 {
			return i + bits.TrailingZeros64(t)/8
		}
	}
	for i < len(b) && plain[b[i]] {
		i++
	}
	return i
}

func isHex(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F'
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

// number scans the number starting at b[i].
func number(b []byte, i int) (int, string) {
	if b[i] == '-' {
		i++
	}
	switch {
	case i >= len(b):
		return i, "unexpected end of row in number, expected a digit"
	case b[i] == '0':
		i++
	case isDigit(b[i]):
		for i < len(b) && isDigit(b[i]) {
			i++
		}
	default:
		return i, fmt.Sprintf("invalid character %s in number, expected a digit", quoteChar(b[i]))
	}
	if i < len(b) && b[i] == '.' {
		i++
		if i >= len(b) || !isDigit(b[i]) {
			return i, "expected a digit after the decimal point"
		}
		for i < len(b) && isDigit(b[i]) {
			i++
		}
	}
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		i++
		if i < len(b) && (b[i] == '+' || b[i] == '-') {
			i++
		}
		if i >= len(b) || !isDigit(b[i]) {
			return i, "expected a digit in the exponent"
		}
		for i < len(b) && isDigit(b[i]) {
			i++
		}
	}
	return i, ""
}

// literal scans the literal word (true, false or null) starting at b[i].
func literal(b []byte, i int, word string) (int, string) {
	for k := 0; k < len(word); k++ {
		if i+k >= len(b) {
			return i + k, fmt.Sprintf("unexpected end of row in literal %s", word)
		}
		if b[i+k] != word[k] {
			return i + k, fmt.Sprintf("invalid character %s in literal %s", quoteChar(b[i+k]), word)
		}
	}
	return i + len(word), ""
}

// quoteChar formats c for an error message the way encoding/json does.
func quoteChar(c byte) string {
	if c == '\'' {
		return `'\''`
	}
	if c == '"' {
		return `'"'`
	}
	s := strconv.Quote(string(rune(c)))
	if c >= 0x80 {
		s = fmt.Sprintf("%q", []byte{c})
		return "byte " + s[1:len(s)-1]
	}
	return "'" + s[1:len(s)-1] + "'"
}
