package destination

import (
	"math"
	"strconv"
	"strings"
	"unicode"

	"github.com/s2segment/s2segment/internal/jsontext"
)

// jsNumber converts s the way JavaScript's Number(string) does: surrounding
// white space is ignored, "" is 0, "Infinity" and hexadecimal, octal and
// binary literals are accepted, and anything else that is not a decimal
// literal is NaN.
func jsNumber(s string) float64 {
	s = strings.TrimFunc(s, isJSSpace)
	if s == "" {
		return 0
	}
	switch s {
	case "Infinity", "+Infinity":
		return math.Inf(1)
	case "-Infinity":
		return math.Inf(-1)
	}
	if len(s) > 2 && s[0] == '0' {
		base := 0
		switch s[1] {
		case 'x', 'X':
			base = 16
		case 'o', 'O':
			base = 8
		case 'b', 'B':
			base = 2
		}
		if base != 0 {
			return parseRadix(s[2:], base)
		}
	}
	if !isDecimalLiteral(s) {
		return math.NaN()
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil {
		// Only a range error is possible here: the literal was checked, and
		// ParseFloat already returned ±Inf or ±0 as JavaScript would.
		return f
	}
	return f
}

// parseRadix reads digits in base as a float64 (so long literals lose
// precision the way JavaScript's do, instead of overflowing).
func parseRadix(s string, base int) float64 {
	if s == "" {
		return math.NaN()
	}
	v := 0.0
	for _, c := range s {
		var d int
		switch {
		case c >= '0' && c <= '9':
			d = int(c - '0')
		case c >= 'a' && c <= 'z':
			d = int(c-'a') + 10
		case c >= 'A' && c <= 'Z':
			d = int(c-'A') + 10
		default:
			return math.NaN()
		}
		if d >= base {
			return math.NaN()
		}
		v = v*float64(base) + float64(d)
	}
	return v
}

// isDecimalLiteral reports whether s is a JavaScript StrDecimalLiteral:
// [+-] (digits [. digits] | . digits) [(e|E) [+-] digits].
func isDecimalLiteral(s string) bool {
	i := 0
	if i < len(s) && (s[i] == '+' || s[i] == '-') {
		i++
	}
	intDigits := 0
	for i < len(s) && s[i] >= '0' && s[i] <= '9' {
		i++
		intDigits++
	}
	fracDigits := 0
	if i < len(s) && s[i] == '.' {
		i++
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i++
			fracDigits++
		}
	}
	if intDigits+fracDigits == 0 {
		return false
	}
	if i < len(s) && (s[i] == 'e' || s[i] == 'E') {
		i++
		if i < len(s) && (s[i] == '+' || s[i] == '-') {
			i++
		}
		expDigits := 0
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i++
			expDigits++
		}
		if expDigits == 0 {
			return false
		}
	}
	return i == len(s)
}

// isJSSpace reports whether r is white space or a line terminator for
// JavaScript's string-to-number conversion.
func isJSSpace(r rune) bool {
	switch r {
	case '\t', '\n', '\v', '\f', '\r', ' ', 0xA0, 0xFEFF, 0x2028, 0x2029:
		return true
	}
	return unicode.Is(unicode.Zs, r)
}

// jsFormat formats f the way JavaScript's String(number) does: the shortest
// digits that round-trip, plain notation for magnitudes in [1e-6, 1e21) and
// exponent notation ("1e+21", "1.5e-7") outside it.
func jsFormat(f float64) string {
	return string(jsontext.AppendNumber(nil, f))
}
