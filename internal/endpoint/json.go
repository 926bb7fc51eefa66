package endpoint

import (
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"unicode/utf8"
	"unsafe"

	"github.com/s2segment/s2segment/internal/jsontext"
	"github.com/tidwall/gjson"
)

// maxJSONDepth is the deepest nesting of objects and arrays accepted in a
// body. Segment events are a few levels deep; the limit keeps a hostile body
// from making the validators recurse without bound.
const maxJSONDepth = 128

// JSONError reports a body that is not the JSON expected, with the byte
// offset of the problem when one is known.
type JSONError struct {
	// Offset is the byte offset in the body, or -1 when the problem is not
	// at one place.
	Offset int64
	// Reason says what was found and what was expected.
	Reason string
}

func (e *JSONError) Error() string {
	if e.Offset < 0 {
		return e.Reason
	}
	return fmt.Sprintf("%s at byte offset %d", e.Reason, e.Offset)
}

// view returns b as a string without copying. The server never modifies a
// body after reading it, so the strings gjson returns stay valid and can be
// turned back into sub-slices of the body with rawBytes.
func view(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	return unsafe.String(unsafe.SliceData(b), len(b))
}

// rawBytes returns r's raw JSON as a slice of body when r was read from view(body)
// (no copy), and as a copy otherwise.
func rawBytes(body []byte, r gjson.Result) []byte {
	if r.Index >= 0 && r.Index+len(r.Raw) <= len(body) && len(r.Raw) > 0 &&
		unsafe.StringData(r.Raw) == unsafe.SliceData(body[r.Index:]) {
		return body[r.Index : r.Index+len(r.Raw) : r.Index+len(r.Raw)]
	}
	return []byte(r.Raw)
}

// sameBytes reports whether a and b are the same memory.
func sameBytes(a, b []byte) bool {
	return len(a) == len(b) && unsafe.SliceData(a) == unsafe.SliceData(b)
}

// within reports whether sub lies inside the memory of b.
func within(sub, b []byte) bool {
	if len(sub) == 0 || len(b) == 0 {
		return false
	}
	start := uintptr(unsafe.Pointer(unsafe.SliceData(b)))
	p := uintptr(unsafe.Pointer(unsafe.SliceData(sub)))
	return p >= start && p+uintptr(len(sub)) <= start+uintptr(len(b))
}

// checkJSON reports whether body is one well-formed JSON value nested at most
// maxJSONDepth deep.
func checkJSON(body []byte) error {
	if at := jsontext.TooDeep(view(body), maxJSONDepth); at >= 0 {
		return &JSONError{Offset: int64(at), Reason: fmt.Sprintf("JSON nested more than %d levels deep", maxJSONDepth)}
	}
	if gjson.ValidBytes(body) {
		return nil
	}
	// The slow path finds where it goes wrong.
	var v json.RawMessage
	err := json.Unmarshal(body, &v)
	var syn *json.SyntaxError
	if errors.As(err, &syn) {
		// encoding/json counts the bytes read, the offending one included.
		return &JSONError{Offset: max(0, syn.Offset-1), Reason: "invalid JSON: " + syn.Error()}
	}
	if len(body) == 0 {
		return &JSONError{Offset: 0, Reason: "empty body: expected JSON"}
	}
	return &JSONError{Offset: -1, Reason: "invalid JSON"}
}

// checkUTF8 reports whether ev, one event's raw bytes, is valid UTF-8. The
// error is a *JSONError whose Offset is that of the first invalid byte in
// ev plus base (the offset of ev in the body it was read from). The check
// is utf8.Valid; the offset is looked for only when it fails.
func checkUTF8(ev []byte, base int) error {
	if utf8.Valid(ev) {
		return nil
	}
	return &JSONError{Offset: int64(base + jsontext.InvalidUTF8At(ev)), Reason: "invalid UTF-8"}
}

// offsetIn returns the offset of sub in body when sub lies in body's
// memory, and 0 otherwise.
func offsetIn(sub, body []byte) int {
	if !within(sub, body) {
		return 0
	}
	return int(uintptr(unsafe.Pointer(unsafe.SliceData(sub))) - uintptr(unsafe.Pointer(unsafe.SliceData(body))))
}

// member is one key/value pair of a JSON object, as offsets into the object.
type member struct {
	key        string // unescaped
	start, end int    // raw bytes of `"key":value`
	value      gjson.Result
}

// members lists the top-level members of the JSON object obj, in order.
func members(obj []byte, dst []member) []member {
	// gjson.Parse drops leading white space without counting it in the
	// offsets it reports, so skip it here and add it back.
	off := 0
	for off < len(obj) && isSpace(obj[off]) {
		off++
	}
	gjson.Parse(view(obj[off:])).ForEach(func(k, v gjson.Result) bool {
		v.Index += off
		dst = append(dst, member{key: k.Str, start: k.Index + off, end: v.Index + len(v.Raw), value: v})
		return true
	})
	return dst
}

// eventEdits are the changes the HTTP Tracking API makes to an event before it
// is written, as Segment's API does on receipt.
type eventEdits struct {
	typ        string // set "type" to this when the event has none ("" for no change)
	fill       bool   // set messageId, timestamp and receivedAt when absent
	receivedAt string // server time, RFC 3339 with milliseconds, UTC
	// messageID returns the messageId of an event that has none, from the
	// event's content (see contentMessageID).
	messageID func(content []byte) string
}

// editEvent returns ev (a JSON object) with "writeKey" removed and the edits
// applied. ev itself is returned, unchanged and uncopied, when nothing
// changes. Members keep their raw bytes; members added by edits come first.
func editEvent(ev []byte, e *eventEdits) []byte {
	var buf [16]member
	ms := members(ev, buf[:0])
	var hasType, hasID, hasTS, hasRecv, hasKey bool
	for _, m := range ms {
		switch m.key {
		case "type":
			hasType = true
		case "messageId":
			hasID = true
		case "timestamp":
			hasTS = true
		case "receivedAt":
			hasRecv = true
		case "writeKey":
			hasKey = true
		}
	}
	addType := e.typ != "" && !hasType
	addID := e.fill && !hasID
	addTS := e.fill && !hasTS
	addRecv := e.fill && !hasRecv
	if !addType && !addID && !addTS && !addRecv && !hasKey {
		return ev
	}

	out := make([]byte, 0, len(ev)+128)
	out = append(out, '{')
	str := func(k, v string) {
		if len(out) > 1 {
			out = append(out, ',')
		}
		out = appendJSONString(out, k)
		out = append(out, ':')
		out = appendJSONString(out, v)
	}
	if addType {
		str("type", e.typ)
	}
	if addID {
		// The id is derived from what the sender sent (the route's type
		// and every member but writeKey, in order), before the server's
		// own timestamp and receivedAt are added: a resend of the same
		// event after a lost answer gets the same id and is deduplicated.
		h := sha256.New()
		h.Write([]byte(e.typ))
		h.Write([]byte{0})
		for _, m := range ms {
			if m.key != "writeKey" {
				h.Write(ev[m.start:m.end])
				h.Write([]byte{0})
			}
		}
		str("messageId", e.messageID(h.Sum(nil)))
	}
	if addTS {
		str("timestamp", e.receivedAt)
	}
	if addRecv {
		str("receivedAt", e.receivedAt)
	}
	for _, m := range ms {
		if m.key == "writeKey" {
			continue
		}
		if len(out) > 1 {
			out = append(out, ',')
		}
		out = append(out, ev[m.start:m.end]...)
	}
	return append(out, '}')
}

// appendJSONString appends s as a JSON string.
func appendJSONString(dst []byte, s string) []byte {
	return append(dst, quote(s)...)
}

// quote returns s as a JSON string.
func quote(s string) []byte {
	b, _ := json.Marshal(s) // a string always marshals
	return b
}

// obj2 returns the JSON object {k1: v1, k2: v2}; v1 and v2 are JSON values.
func obj2(k1 string, v1 []byte, k2 string, v2 []byte) []byte {
	out := make([]byte, 0, len(k1)+len(v1)+len(k2)+len(v2)+8)
	out = append(out, '{')
	out = append(append(appendJSONString(out, k1), ':'), v1...)
	out = append(out, ',')
	out = append(append(appendJSONString(out, k2), ':'), v2...)
	return append(out, '}')
}

// itemEvents checks the elements of a JSON body as events. An element that
// is not an object, is over MaxEventBytes or is not valid UTF-8 gets its
// final result and a nil event; the others are returned to be delivered.
// label names element i in messages ("payload[0]", "element 0"). utf8Err is
// the first UTF-8 error, for routes that answer a one-event request with it.
func (s *Server) itemEvents(body []byte, items []gjson.Result, label func(int) string) (events [][]byte, results []Result, utf8Err error) {
	events = make([][]byte, len(items))
	results = make([]Result, len(items))
	for i, it := range items {
		raw := rawBytes(body, it)
		switch {
		case !it.IsObject():
			results[i] = invalidEvent(fmt.Sprintf("%s must be an event object, not %s", label(i), jsonKind(it)))
		case int64(len(raw)) > s.cfg.MaxEventBytes:
			results[i] = tooLarge(i, len(raw), s.cfg.MaxEventBytes)
		default:
			if err := checkUTF8(raw, offsetIn(raw, body)); err != nil {
				if utf8Err == nil {
					utf8Err = err
				}
				results[i] = invalidEvent(fmt.Sprintf("%s: %v", label(i), err))
				continue
			}
			events[i] = raw
		}
	}
	return events, results, utf8Err
}
