// Package jsontext holds the rules of JSON text that every package of this
// module shares: strings written with only quotes, backslashes and control
// characters escaped ([AppendString], [AppendEscaped]), numbers as
// JavaScript prints them ([AppendNumber]), [MaxDepth], the deepest nesting
// any package here accepts, the scan that enforces a depth limit without
// recursion ([TooDeep]), and the offset of the first invalid UTF-8 byte
// ([InvalidUTF8At]). It imports only the standard library, so every package
// that reads or writes JSON can use it.
package jsontext

import (
	"math"
	"strconv"
	"strings"
	"unicode/utf8"
	"unsafe"
)

// MaxDepth is the deepest nesting of arrays and objects this module reads
// or writes: encoding/json's limit, so that a document one package accepts
// is never refused by another, and recursive readers cannot be exhausted.
const MaxDepth = 10000

const hexDigits = "0123456789abcdef"

// shortEscapes holds, for each ASCII byte with a two-character escape, the
// character after the backslash.
var shortEscapes = [utf8.RuneSelf]byte{'"': '"', '\\': '\\', '\b': 'b', '\f': 'f', '\n': 'n', '\r': 'r', '\t': 't'}

// AppendString appends s as a JSON string, the way JavaScript's
// JSON.stringify and Go's encoding/json (without HTML escaping) write it:
// '"' and '\' are escaped, control characters are written as \b, \f, \n,
// \r, \t or \u00XX, and every other character as its own UTF-8. Bytes that
// are not valid UTF-8 become \ufffd, as encoding/json does, so the output
// is always valid JSON.
func AppendString(dst []byte, s string) []byte {
	dst = append(dst, '"')
	dst = AppendEscaped(dst, s)
	return append(dst, '"')
}

// AppendBytes is [AppendString] for a byte slice. b is only read.
func AppendBytes(dst, b []byte) []byte {
	return AppendString(dst, unsafe.String(unsafe.SliceData(b), len(b)))
}

// AppendEscaped appends the inside of [AppendString]'s JSON string for s:
// the escaped characters without the surrounding quotes.
func AppendEscaped(dst []byte, s string) []byte {
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c >= 0x20 && c != '"' && c != '\\' && c < utf8.RuneSelf {
			i++
			continue
		}
		if c >= utf8.RuneSelf {
			r, size := utf8.DecodeRuneInString(s[i:])
			if r == utf8.RuneError && size == 1 {
				dst = append(dst, s[start:i]...)
				dst = append(dst, `\ufffd`...)
				i++
				start = i
				continue
			}
			i += size
			continue
		}
		dst = append(dst, s[start:i]...)
		if e := shortEscapes[c]; e != 0 {
			dst = append(dst, '\\', e)
		} else {
			dst = AppendControl(dst, c)
		}
		i++
		start = i
	}
	return append(dst, s[start:]...)
}

// AppendControl appends the escape \u00XX of byte c, for a control
// character that has no shorter escape.
func AppendControl(dst []byte, c byte) []byte {
	return append(dst, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
}

// AppendUTF16Escape appends the escape \uXXXX of one UTF-16 code unit.
func AppendUTF16Escape(dst []byte, u uint16) []byte {
	return append(dst, '\\', 'u', hexDigits[u>>12], hexDigits[(u>>8)&0xf], hexDigits[(u>>4)&0xf], hexDigits[u&0xf])
}

// AppendNumber appends f as JavaScript's Number#toString writes it: the
// shortest digits that round-trip; plain notation for magnitudes in [1e-6,
// 1e21), exponent notation such as 1e+21 and 1.5e-7 outside it; NaN,
// Infinity, -Infinity; 0 for both zeros. Mapping-kit's templates and
// Segment's type coercion both print numbers this way.
func AppendNumber(dst []byte, f float64) []byte {
	switch {
	case math.IsNaN(f):
		return append(dst, "NaN"...)
	case math.IsInf(f, 1):
		return append(dst, "Infinity"...)
	case math.IsInf(f, -1):
		return append(dst, "-Infinity"...)
	case f == 0:
		return append(dst, '0')
	}
	if f < 0 {
		dst = append(dst, '-')
		f = -f
	}
	var buf [32]byte
	s := strconv.AppendFloat(buf[:0], f, 'e', -1, 64)
	e := strings.IndexByte(string(s), 'e')
	mant, exps := s[:e], string(s[e+1:])
	exp, _ := strconv.Atoi(exps)
	var digits [24]byte
	d := digits[:0]
	for _, c := range mant {
		if c != '.' {
			d = append(d, c)
		}
	}
	k, n := len(d), exp+1
	switch {
	case k <= n && n <= 21:
		dst = append(dst, d...)
		for i := 0; i < n-k; i++ {
			dst = append(dst, '0')
		}
	case 0 < n && n <= 21:
		dst = append(dst, d[:n]...)
		dst = append(dst, '.')
		dst = append(dst, d[n:]...)
	case -6 < n && n <= 0:
		dst = append(dst, "0."...)
		for i := 0; i < -n; i++ {
			dst = append(dst, '0')
		}
		dst = append(dst, d...)
	default:
		dst = append(dst, d[0])
		if k > 1 {
			dst = append(dst, '.')
			dst = append(dst, d[1:]...)
		}
		dst = append(dst, 'e')
		if x := n - 1; x >= 0 {
			dst = append(dst, '+')
			dst = strconv.AppendInt(dst, int64(x), 10)
		} else {
			dst = append(dst, '-')
			dst = strconv.AppendInt(dst, int64(-x), 10)
		}
	}
	return dst
}
