package destination

import (
	"strconv"
	"strings"

	"github.com/s2segment/s2segment/internal/jsontext"
	"github.com/tidwall/gjson"
)

// This file walks the members of a JSON object without parsing the values
// it does not need: a nested object is skipped by matching brackets over a
// byte-class table, faster than validating it, and only scalars at the
// level walked are parsed. Values come back as gjson.Results, so
// the rest of the package reads them the gjson way. On malformed input the
// walk stops and reports false; it never panics and never loops.

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

func skipSpace(s string, i int) int {
	for i < len(s) && isSpace(s[i]) {
		i++
	}
	return i
}

// skipValue returns the index just past the JSON value starting at s[i],
// or -1 when there is none. Containers are matched bracket for bracket
// (strings skipped whole); scalars run to the next delimiter.
func skipValue(s string, i int) int {
	if i >= len(s) {
		return -1
	}
	switch s[i] {
	case '"':
		return jsontext.SkipString(s, i)
	case '{', '[':
		return jsontext.SkipContainer(s, i)
	case '}', ']', ',', ':':
		return -1
	}
	start := i
	for i < len(s) {
		switch c := s[i]; {
		case c == ',' || c == '}' || c == ']' || isSpace(c):
			if i == start {
				return -1
			}
			return i
		}
		i++
	}
	if i == start {
		return -1
	}
	return i
}

// eachMember calls fn with the raw key (quotes included) and the value of
// every member of the object obj, in order, until fn returns false. It
// reports whether obj was walked to its end as a well-formed object.
func eachMember(obj string, fn func(rawKey string, val gjson.Result) bool) bool {
	return eachMemberKnown(obj, nil, fn)
}

// eachMemberKnown is eachMember with known values: raw texts of complete
// JSON containers (taken from the event a payload was mapped from). A
// member whose value starts with one of them, followed by a delimiter, is
// that value, since a complete JSON container cannot be the beginning of a
// longer one; a byte comparison then replaces the bracket matching.
func eachMemberKnown(obj string, known []string, fn func(rawKey string, val gjson.Result) bool) bool {
	i := skipSpace(obj, 0)
	if i >= len(obj) || obj[i] != '{' {
		return false
	}
	i = skipSpace(obj, i+1)
	if i < len(obj) && obj[i] == '}' {
		return true
	}
	for i < len(obj) {
		if obj[i] != '"' {
			return false
		}
		ke := jsontext.SkipString(obj, i)
		if ke < 0 {
			return false
		}
		rawKey := obj[i:ke]
		i = skipSpace(obj, ke)
		if i >= len(obj) || obj[i] != ':' {
			return false
		}
		i = skipSpace(obj, i+1)
		ve := -1
		if len(known) > 0 && i < len(obj) && (obj[i] == '{' || obj[i] == '[') {
			ve = knownEnd(obj, i, known)
		}
		if ve < 0 {
			if ve = skipValue(obj, i); ve < 0 {
				return false
			}
		}
		if !fn(rawKey, resultOf(obj[i:ve])) {
			return true
		}
		i = skipSpace(obj, ve)
		if i >= len(obj) {
			return false
		}
		switch obj[i] {
		case ',':
			i = skipSpace(obj, i+1)
		case '}':
			return true
		default:
			return false
		}
	}
	return false
}

// eachItem is eachMember for the items of an array.
func eachItem(arr string, fn func(val gjson.Result) bool) bool {
	i := skipSpace(arr, 0)
	if i >= len(arr) || arr[i] != '[' {
		return false
	}
	i = skipSpace(arr, i+1)
	if i < len(arr) && arr[i] == ']' {
		return true
	}
	for i < len(arr) {
		ve := skipValue(arr, i)
		if ve < 0 {
			return false
		}
		if !fn(resultOf(arr[i:ve])) {
			return true
		}
		i = skipSpace(arr, ve)
		if i >= len(arr) {
			return false
		}
		switch arr[i] {
		case ',':
			i = skipSpace(arr, i+1)
		case ']':
			return true
		default:
			return false
		}
	}
	return false
}

// keyString returns the unescaped text of a raw JSON key or string.
func keyString(raw string) string {
	if len(raw) >= 2 && strings.IndexByte(raw, '\\') < 0 {
		return raw[1 : len(raw)-1]
	}
	return gjson.Parse(raw).Str
}

// resultOf makes the gjson.Result of one raw JSON value (which skipValue
// delimited), parsing only what a scalar needs.
func resultOf(raw string) gjson.Result {
	if raw == "" {
		return gjson.Result{}
	}
	switch raw[0] {
	case '"':
		if strings.IndexByte(raw, '\\') < 0 && len(raw) >= 2 {
			return gjson.Result{Type: gjson.String, Raw: raw, Str: raw[1 : len(raw)-1]}
		}
		return gjson.Parse(raw)
	case '{', '[':
		return gjson.Result{Type: gjson.JSON, Raw: raw}
	case 't':
		return gjson.Result{Type: gjson.True, Raw: raw}
	case 'f':
		return gjson.Result{Type: gjson.False, Raw: raw}
	case 'n':
		return gjson.Result{Type: gjson.Null, Raw: raw}
	}
	f, _ := strconv.ParseFloat(raw, 64)
	return gjson.Result{Type: gjson.Number, Raw: raw, Num: f}
}

// knownEnd returns the end of the container at s[i] when it is one of the
// known values, or -1.
func knownEnd(s string, i int, known []string) int {
	rest := s[i:]
	for _, k := range known {
		if len(k) < len(rest) && rest[0] == k[0] && rest[:len(k)] == k {
			switch c := rest[len(k)]; {
			case c == ',' || c == '}' || c == ']' || isSpace(c):
				return i + len(k)
			}
		}
	}
	return -1
}
