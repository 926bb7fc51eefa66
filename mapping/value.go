package mapping

import (
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/tidwall/gjson"

	"github.com/s2segment/s2segment/internal/jsontext"
)

// Values are handled as their JSON text (a slice of the event, of the
// mapping, or of the per-call arena); the empty string stands for
// JavaScript's undefined.

type kind uint8

const (
	kUndefined kind = iota
	kNull
	kFalse
	kTrue
	kNumber
	kString
	kArray
	kObject
)

// maxDepth bounds every recursion that follows the nesting of a value.
const maxDepth = jsontext.MaxDepth

func kindOf(raw string) kind {
	if raw == "" {
		return kUndefined
	}
	switch raw[0] {
	case '{':
		return kObject
	case '[':
		return kArray
	case '"':
		return kString
	case 't':
		return kTrue
	case 'f':
		return kFalse
	case 'n':
		return kNull
	}
	return kNumber
}

// realType is mapping-kit's realTypeOf for a JSON value.
func realType(raw string) string { return kindOf(raw).typeName() }

// typeName is mapping-kit's realTypeOf for a value of kind k: the
// JavaScript typeof, with null and array told apart from object.
func (k kind) typeName() string {
	switch k {
	case kUndefined:
		return "undefined"
	case kNull:
		return "null"
	case kFalse, kTrue:
		return "boolean"
	case kNumber:
		return "number"
	case kString:
		return "string"
	case kArray:
		return "array"
	}
	return "object"
}

// truthy is JavaScript truthiness.
func truthy(raw string) bool {
	switch kindOf(raw) {
	case kUndefined, kNull, kFalse:
		return false
	case kNumber:
		return !isZeroNumber(raw)
	case kString:
		return len(raw) > 2
	}
	return true
}

// isZeroNumber reports whether a JSON number is zero as a double (0, -0,
// 0.0, 0e5, and literals that underflow such as 1e-400).
func isZeroNumber(raw string) bool {
	nonzero, exp := false, false
	for i := 0; i < len(raw); i++ {
		c := raw[i]
		if c == 'e' || c == 'E' {
			exp = true
			break
		}
		if c >= '1' && c <= '9' {
			nonzero = true
		}
	}
	if !nonzero {
		return true
	}
	if exp {
		f, _ := strconv.ParseFloat(raw, 64)
		return f == 0
	}
	return false
}

// isIntegerLiteral reports whether raw is -?[0-9]+.
func isIntegerLiteral(raw string) bool {
	s := strings.TrimPrefix(raw, "-")
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// appendJSNumber appends a JSON number as JavaScript's Number#toString
// prints it (1.0 → 1, 1e-07 → 1e-7, 1e21 → 1e+21). Integer literals keep
// their digits, so integers above 2^53 are not rounded.
func appendJSNumber(dst []byte, raw string) []byte {
	if isIntegerLiteral(raw) {
		if isZeroNumber(raw) {
			return append(dst, '0')
		}
		return append(dst, raw...)
	}
	f, err := strconv.ParseFloat(raw, 64)
	if err != nil && !isRangeErr(err) {
		return append(dst, raw...) // not a number: only from a malformed event
	}
	return jsontext.AppendNumber(dst, f)
}

func isRangeErr(err error) bool {
	ne, ok := err.(*strconv.NumError)
	return ok && ne.Err == strconv.ErrRange
}

// strOf returns the text of a JSON string value.
func strOf(raw string) string {
	if len(raw) < 2 {
		return ""
	}
	inner := raw[1 : len(raw)-1]
	if strings.IndexByte(inner, '\\') < 0 {
		return inner
	}
	return gjson.Parse(raw).Str
}

// appendUTF16Unit appends a JSON string holding one UTF-16 code unit.
func appendUTF16Unit(dst []byte, u uint16) []byte {
	if u >= 0xd800 && u <= 0xdfff {
		dst = append(dst, '"')
		dst = jsontext.AppendUTF16Escape(dst, u)
		return append(dst, '"')
	}
	var b [4]byte
	n := utf8.EncodeRune(b[:], rune(u))
	return jsontext.AppendString(dst, string(b[:n]))
}

// utf16Len is the JavaScript length of s.
func utf16Len(s string) int {
	n := 0
	for _, r := range s {
		if r > 0xffff {
			n += 2
		} else {
			n++
		}
	}
	return n
}

// utf16Units calls fn with each UTF-16 code unit of s, in order.
func utf16Units(s string, fn func(i int, u uint16)) {
	i := 0
	for _, r := range s {
		if r > 0xffff {
			r -= 0x10000
			fn(i, uint16(0xd800+(r>>10)))
			fn(i+1, uint16(0xdc00+(r&0x3ff)))
			i += 2
			continue
		}
		fn(i, uint16(r))
		i++
	}
}

// isArrayIndex reports whether s is a canonical array index ("0", "17"),
// the keys JavaScript orders first in an object and accepts as indexes.
func isArrayIndex(s string) (int, bool) {
	if s == "" || len(s) > 10 || (len(s) > 1 && s[0] == '0') {
		return 0, false
	}
	n := 0
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, false
		}
		n = n*10 + int(s[i]-'0')
	}
	if n > 4294967294 {
		return 0, false
	}
	return n, true
}

// appendPlain appends String(value ?? ”) for a JSON value: what a template
// prints. Arrays print as Array#toString (elements joined with ",", null
// as empty), objects as "[object Object]".
func appendPlain(dst []byte, raw string, depth int) ([]byte, error) {
	switch kindOf(raw) {
	case kUndefined, kNull:
		return dst, nil
	case kString:
		return append(dst, strOf(raw)...), nil
	case kNumber:
		return appendJSNumber(dst, raw), nil
	case kTrue:
		return append(dst, "true"...), nil
	case kFalse:
		return append(dst, "false"...), nil
	case kObject:
		return append(dst, "[object Object]"...), nil
	}
	if depth > maxDepth {
		return dst, tooDeepErr()
	}
	return appendElements(dst, raw, depth, appendPlain)
}

// plainEmpty reports whether String(value) is "" for a value compared with
// == ” (the @if blank check): arrays whose Array#toString is empty.
func plainEmpty(raw string, depth int) bool {
	switch kindOf(raw) {
	case kUndefined, kNull:
		return true
	case kString:
		return len(raw) == 2
	case kArray:
		if depth > maxDepth {
			return false
		}
		n, empty := 0, true
		gjson.Parse(raw).ForEach(func(_, v gjson.Result) bool {
			n++
			if n > 1 || !plainEmpty(v.Raw, depth+1) {
				empty = false
				return false
			}
			return true
		})
		return empty
	}
	return false
}

// looselyNotEmpty is JavaScript's `value != ”` for a defined, non-null value.
func looselyNotEmpty(raw string) bool {
	switch kindOf(raw) {
	case kString:
		return len(raw) > 2
	case kNumber:
		return !isZeroNumber(raw)
	case kFalse:
		return false
	case kTrue, kObject:
		return true
	case kArray:
		return !plainEmpty(raw, 0)
	}
	return false
}

// jsSpace reports whether r is white space for String#trim.
func jsSpace(r rune) bool {
	switch r {
	case '\t', '\n', '\v', '\f', '\r', ' ', 0xa0, 0x1680, 0x2028, 0x2029, 0x202f, 0x205f, 0x3000, 0xfeff:
		return true
	}
	return r >= 0x2000 && r <= 0x200a
}

// jsonSpace reports whether c is JSON white space.
func jsonSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

func trimJSONSpace(s string) string {
	for len(s) > 0 && jsonSpace(s[0]) {
		s = s[1:]
	}
	for len(s) > 0 && jsonSpace(s[len(s)-1]) {
		s = s[:len(s)-1]
	}
	return s
}

// appendElements appends the elements of the JSON array raw, each with
// appendValue at depth+1 and separated by commas, and stops at the first
// error: the element loop of JSON.stringify and of Array#toString.
func appendElements(dst []byte, raw string, depth int, appendValue func([]byte, string, int) ([]byte, error)) ([]byte, error) {
	var err error
	first := true
	gjson.Parse(raw).ForEach(func(_, v gjson.Result) bool {
		if !first {
			dst = append(dst, ',')
		}
		first = false
		dst, err = appendValue(dst, v.Raw, depth+1)
		return err == nil
	})
	return dst, err
}
