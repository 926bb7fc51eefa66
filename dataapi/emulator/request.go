package emulator

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"iter"
	"strconv"
	"unicode/utf8"
)

// request is a decoded Data API request body:
// {"sql": "…", "database": "…", "args": […]}.
type request struct {
	// SQL is the statement text, with ? placeholders.
	SQL string
	// Database is the context database; empty means none.
	Database string
	// Args are the placeholder values converted for database/sql: nil,
	// bool, int64, uint64, float64, string, or json.RawMessage (the
	// compact JSON text of an object or array argument).
	Args []any
}

// bodyError is returned by parseRequest for a body that is not a valid
// request. Offset is the byte offset in the body where the problem was
// found.
type bodyError struct {
	Offset int64
	Reason string
	Err    error // the underlying JSON error, if any
}

func (e *bodyError) Error() string {
	return fmt.Sprintf("at byte %d: %s", e.Offset, e.Reason)
}

func (e *bodyError) Unwrap() error { return e.Err }

// parseRequest decodes a request body. The field names are exact
// (case-sensitive) and each may appear once: "sql" (a string, required),
// "database" (a string or null) and "args" (an array or null). Anything
// else, and anything after the object, is an error.
//
// Arguments keep their JSON meaning without a float64 round trip: strings,
// booleans and null as such; integers as int64 or uint64, and integers
// beyond 64 bits as their decimal text; other numbers as float64 when
// they have at most 15 significant digits and as their text otherwise, so
// no digit is lost; objects and arrays as their compact JSON text
// (json.RawMessage), which JSON columns accept.
func parseRequest(body []byte) (*request, error) {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	fail := func(reason string, err error) error {
		return &bodyError{Offset: dec.InputOffset(), Reason: reason, Err: err}
	}
	tok, err := dec.Token()
	if err != nil {
		if errors.Is(err, io.EOF) {
			return nil, fail("empty body, want a JSON object", nil)
		}
		return nil, fail("invalid JSON: "+err.Error(), err)
	}
	if d, ok := tok.(json.Delim); !ok || d != '{' {
		return nil, fail("want a JSON object", nil)
	}
	req := &request{}
	var seenSQL, seenDB, seenArgs bool
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, fail("invalid JSON: "+err.Error(), err)
		}
		key, _ := tok.(string)
		switch key {
		case "sql", "database":
			if (key == "sql" && seenSQL) || (key == "database" && seenDB) {
				return nil, fail(fmt.Sprintf("duplicate field %q", key), nil)
			}
			v, err := dec.Token()
			if err != nil {
				return nil, fail(fmt.Sprintf("invalid JSON in field %q: %v", key, err), err)
			}
			str, isString := v.(string)
			if key == "sql" {
				seenSQL = true
				if !isString {
					return nil, fail(`field "sql" must be a string`, nil)
				}
				req.SQL = str
				continue
			}
			seenDB = true
			if !isString && v != nil {
				return nil, fail(`field "database" must be a string or null`, nil)
			}
			req.Database = str
		case "args":
			if seenArgs {
				return nil, fail(`duplicate field "args"`, nil)
			}
			seenArgs = true
			var raw json.RawMessage
			if err := dec.Decode(&raw); err != nil {
				return nil, fail(fmt.Sprintf("invalid JSON in field %q: %v", key, err), err)
			}
			if string(raw) == "null" {
				continue
			}
			if raw[0] != '[' {
				return nil, fail(`field "args" must be an array or null`, nil)
			}
			req.Args = make([]any, 0, 16)
			// raw is valid JSON (the decoder checked it): split its
			// elements in place instead of decoding each one again.
			for i, item := range arrayElements(raw) {
				arg, err := convertArg(item)
				if err != nil {
					return nil, fail(fmt.Sprintf("args[%d]: %v", i, err), err)
				}
				req.Args = append(req.Args, arg)
			}
		default:
			return nil, fail(fmt.Sprintf("unknown field %q, want sql, database or args", key), nil)
		}
	}
	if _, err := dec.Token(); err != nil { // the closing '}'
		return nil, fail("invalid JSON: "+err.Error(), err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, fail("unexpected data after the JSON object", nil)
	}
	if !seenSQL {
		return nil, fail(`missing field "sql"`, nil)
	}
	return req, nil
}

// arrayElements yields the elements of a valid JSON array, as slices of
// arr.
func arrayElements(arr []byte) iter.Seq2[int, []byte] {
	return func(yield func(int, []byte) bool) {
		depth, inString, escaped := 0, false, false
		start, n := -1, 0
		for i, c := range arr {
			if inString {
				switch {
				case escaped:
					escaped = false
				case c == '\\':
					escaped = true
				case c == '"':
					inString = false
				}
				continue
			}
			switch c {
			case ' ', '\t', '\n', '\r':
				continue
			case '"':
				inString = true
			case '[', '{':
				depth++
				if depth == 1 {
					continue
				}
			case ']', '}':
				depth--
				if depth == 0 {
					if start >= 0 && !yield(n, bytes.TrimSpace(arr[start:i])) {
						return
					}
					return
				}
			case ',':
				if depth == 1 {
					if !yield(n, bytes.TrimSpace(arr[start:i])) {
						return
					}
					n++
					start = -1
					continue
				}
			}
			if start < 0 && depth >= 1 {
				start = i
			}
		}
	}
}

// convertArg converts one JSON argument (valid JSON, as decoded by
// encoding/json) into a database/sql value.
func convertArg(raw json.RawMessage) (any, error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 {
		return nil, errors.New("empty value")
	}
	switch raw[0] {
	case 'n':
		return nil, nil
	case 't':
		return true, nil
	case 'f':
		return false, nil
	case '"':
		if plain := raw[1 : len(raw)-1]; bytes.IndexByte(plain, '\\') < 0 && utf8.Valid(plain) {
			return string(plain), nil // no escapes: the text is the string
		}
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			return nil, err
		}
		return s, nil
	case '{', '[':
		var b bytes.Buffer
		if err := json.Compact(&b, raw); err != nil {
			return nil, err
		}
		return json.RawMessage(b.Bytes()), nil
	default:
		return convertNumber(string(raw)), nil
	}
}

// convertNumber converts a JSON number literal without losing digits.
func convertNumber(lit string) any {
	integer := true
	for i := 0; i < len(lit); i++ {
		if c := lit[i]; c == '.' || c == 'e' || c == 'E' {
			integer = false
			break
		}
	}
	if integer {
		if v, err := strconv.ParseInt(lit, 10, 64); err == nil {
			return v
		}
		if v, err := strconv.ParseUint(lit, 10, 64); err == nil {
			return v
		}
		return lit
	}
	if significantDigits(lit) <= 15 {
		if v, err := strconv.ParseFloat(lit, 64); err == nil {
			return v
		}
	}
	return lit
}

// significantDigits counts the digits of a number literal's mantissa,
// leading zeros excluded.
func significantDigits(lit string) int {
	n, leading := 0, true
	for i := 0; i < len(lit); i++ {
		c := lit[i]
		if c == 'e' || c == 'E' {
			break
		}
		if c < '0' || c > '9' {
			continue
		}
		if leading && c == '0' {
			continue
		}
		leading = false
		n++
	}
	return n
}
