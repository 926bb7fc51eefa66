package eventsource

import (
	"bytes"
	"fmt"
	"unicode/utf8"

	"github.com/s2segment/s2segment/internal/checked"
)

// ExpandBatch calls fn for each item of body, a Tracking API batch body
// ({"batch":[...], "context":{...}, "integrations":{...}, ...}), in order.
//
// Each item receives the body's top-level "context" and "integrations" the
// way Segment merges them, one level deep: when the item has no such member,
// or has it as null, it gets the body's object; when the item's member is an
// object, the body's members whose keys the item does not have are added to
// it (the item's keys win, and nested objects such as context.library are not
// merged further); when the item's member is anything else, it is kept. A
// top-level context or integrations that is not an object is ignored, and so
// are the body's other members (writeKey, sentAt, ...). An item that needs no
// change is passed as a subslice of body; a merged one is a new slice.
//
// fn receives an event whose Format is FormatBatch and whose Index, Line and
// Offset locate the item in body, or, for an item that is not a JSON object
// or holds invalid UTF-8, a zero Event and an [*Error]. ExpandBatch returns an
// [*Error] when body is not well-formed JSON (ErrMalformed) or not an object
// with a "batch" array (ErrNotBatch), and otherwise the first non-nil error fn
// returns, which stops the expansion. Events are not size-checked.
func ExpandBatch(body []byte, fn func(ev Event, err error) error) error {
	s := newMemScanner(body, 0, 1, 0)
	c, ok := s.skipSpace()
	if !ok {
		return &Error{Format: FormatBatch, Index: -1, Offset: -1, Err: fmt.Errorf("%w, got an empty body", ErrNotBatch)}
	}
	at := s.position()
	bodyErr := func(err error) error {
		return &Error{Format: FormatBatch, Line: at.line, Index: -1, Offset: at.off, Err: err}
	}
	if err := s.scanValue(); err != nil {
		return bodyErr(err)
	}
	end := s.pos
	if _, ok := s.skipSpace(); ok {
		return bodyErr(s.syntaxError("the end of the body"))
	}
	if c != '{' {
		return bodyErr(fmt.Errorf("%w, got %s", ErrNotBatch, kindOf(c)))
	}
	it, isBatch := newBatchIter(body[at.off:end], at, 0)
	if !isBatch {
		return bodyErr(ErrNotBatch)
	}
	for {
		ev, err, ok := it.next(nil)
		if !ok {
			return nil
		}
		if err := fn(ev, err); err != nil {
			return err
		}
	}
}

// batchIter delivers the items of a batch body held in memory.
type batchIter struct {
	s            *scanner // over the body, inside the batch array
	context      []byte   // the body's top-level context object, or nil
	integrations []byte   // the body's top-level integrations object, or nil
	badContext   int64    // offset of invalid UTF-8 in context, or -1
	badIntegr    int64    // offset of invalid UTF-8 in integrations, or -1
	limit        int      // largest event, or 0 for no limit
	index        int
	started      bool
	done         bool
	scratch      []byte
	m            merger
}

// newBatchIter returns an iterator over the items of body, a well-formed
// JSON object that starts at at, and whether body has a "batch" array.
func newBatchIter(body []byte, at position, limit int) (*batchIter, bool) {
	b := &batchIter{badContext: -1, badIntegr: -1, limit: limit}
	var batch *scanner
	var seenBatch, seenContext, seenIntegr bool
	s := newMemScanner(body, at.off, at.line, at.lineOff)
	ok := s.members(func(key []byte, vs int, vat position) {
		v := body[vs:s.pos]
		switch {
		case !seenBatch && isKey(key, "batch"):
			seenBatch = true
			if v[0] == '[' {
				batch = newMemScanner(body, at.off, vat.line, vat.lineOff)
				batch.pos = vs + 1
			}
		case !seenContext && isKey(key, "context"):
			seenContext = true
			if v[0] == '{' {
				b.context, b.badContext = v, s.badUTF8
			}
		case !seenIntegr && isKey(key, "integrations"):
			seenIntegr = true
			if v[0] == '{' {
				b.integrations, b.badIntegr = v, s.badUTF8
			}
		}
	})
	if !ok || batch == nil {
		return nil, false
	}
	b.s = batch
	return b, true
}

// next returns the next item. ok is false after the last one. It copies the
// event with copyOut when that is set.
func (b *batchIter) next(copyOut func([]byte) []byte) (ev Event, err error, ok bool) {
	s := b.s
	if b.done {
		return Event{}, nil, false
	}
	c, _ := s.skipSpace()
	if b.started && c == ',' {
		s.pos++
		c, _ = s.skipSpace()
	} else if c == ']' || b.started {
		b.done = true
		return Event{}, nil, false
	}
	b.started = true
	at := s.position()
	index := b.index
	b.index++
	fail := func(err error) (Event, error, bool) {
		return Event{}, &Error{Format: FormatBatch, Line: at.line, Index: index, Offset: at.off, Err: err}, true
	}
	start := s.pos
	if err := s.scanValue(); err != nil {
		b.done = true // not reached for a validated body
		return fail(err)
	}
	item := s.buf[start:s.pos]
	if c != '{' {
		return fail(fmt.Errorf("%w, got %s", ErrNotObject, kindOf(c)))
	}
	bad := s.badUTF8
	out, changed := b.m.appendMerged(b.scratch[:0], item, b.context, b.integrations)
	if changed {
		b.scratch = out
		if bad < 0 && !utf8.Valid(out) {
			bad = b.badContext
			if bad < 0 || b.badIntegr >= 0 && b.badIntegr < bad {
				bad = b.badIntegr
			}
		}
	}
	if b.limit > 0 && len(out) > b.limit {
		return fail(fmt.Errorf("%w: the event is %d bytes, over the limit of %d", ErrTooLarge, len(out), b.limit))
	}
	if bad >= 0 {
		return fail(fmt.Errorf("%w at byte %d", ErrInvalidUTF8, bad))
	}
	if copyOut != nil {
		out = copyOut(out)
	} else if changed {
		b.scratch = nil // the caller keeps out
	}
	ev = Event{Data: out, Format: FormatBatch, Line: at.line, Index: index, Offset: at.off}
	// A batch item is scanned again here, for its members: it may have
	// been rewritten by the merge. (Events of streams and arrays are not.)
	if c, err := checked.Scan(out, nil); err == nil {
		ev.checked = c
	}
	return ev, nil, true
}

// members calls fn for each member of the well-formed object at pos, with the
// member's raw key (without quotes), the index of its value and the value's
// position, and with pos just after the value. It leaves pos after the
// object and reports whether the object was well-formed.
func (s *scanner) members(fn func(key []byte, vs int, vat position)) bool {
	if c, ok := s.skipSpace(); !ok || c != '{' {
		return false
	}
	s.pos++
	c, ok := s.skipSpace()
	if ok && c == '}' {
		s.pos++
		return true
	}
	for {
		if !ok || c != '"' {
			return false
		}
		ks := s.pos
		if s.scanString() != nil {
			return false
		}
		key := s.buf[ks+1 : s.pos-1]
		if c, ok = s.skipSpace(); !ok || c != ':' {
			return false
		}
		s.pos++
		if _, ok = s.skipSpace(); !ok {
			return false
		}
		vs, vat := s.pos, s.position()
		if s.scanValue() != nil {
			return false
		}
		fn(key, vs, vat)
		c, ok = s.skipSpace()
		switch {
		case ok && c == ',':
			s.pos++
			c, ok = s.skipSpace()
		case ok && c == '}':
			s.pos++
			return true
		default:
			return false
		}
	}
}

// isKey reports whether the raw key (without quotes) means name.
func isKey(raw []byte, name string) bool {
	if bytes.IndexByte(raw, '\\') < 0 {
		return string(raw) == name
	}
	return unquote(raw) == name
}

// merger merges batch bodies' top-level objects into items, reusing its
// memory from one item to the next.
type merger struct {
	s, t scanner
	keys [][]byte
}

// appendMerged merges the top-level context and integrations objects (either
// may be nil) into item, a well-formed JSON object, as ExpandBatch describes.
// When nothing changes it returns item itself and false; otherwise it appends
// the merged event to dst and returns it and true.
func (m *merger) appendMerged(dst, item, context, integrations []byte) ([]byte, bool) {
	if context == nil && integrations == nil {
		return item, false
	}
	if dst == nil {
		dst = make([]byte, 0, len(item)+len(context)+len(integrations)+32)
	}
	tops := [2][]byte{context, integrations}
	names := [2]string{"context", "integrations"}
	var vals [2][2]int // value bounds in item of its own context and integrations
	var found [2]bool
	hasMembers := false
	s := &m.s
	s.reset(item, 0, 1, 0)
	s.members(func(key []byte, vs int, _ position) {
		hasMembers = true
		for i, name := range names {
			if !found[i] && isKey(key, name) {
				found[i], vals[i] = true, [2]int{vs, s.pos}
			}
		}
	})
	// Replacements in the order they appear in item, then additions.
	order := [2]int{0, 1}
	if found[0] && found[1] && vals[1][0] < vals[0][0] {
		order = [2]int{1, 0}
	}
	changed := false
	prev := 0
	for _, i := range order {
		if tops[i] == nil || !found[i] {
			continue
		}
		v := item[vals[i][0]:vals[i][1]]
		switch {
		case string(v) == "null":
			dst = append(dst, item[prev:vals[i][0]]...)
			dst = append(dst, tops[i]...)
		case v[0] == '{':
			dst = append(dst, item[prev:vals[i][0]]...)
			dst = m.appendMergedObject(dst, v, tops[i])
		default:
			continue
		}
		prev = vals[i][1]
		changed = true
	}
	closing := len(item) - 1 // item ends with '}'
	for i, name := range names {
		if tops[i] == nil || found[i] {
			continue
		}
		changed = true
		dst = append(dst, item[prev:closing]...)
		prev = closing
		dst = appendMember(dst, hasMembers, name, tops[i])
		hasMembers = true
	}
	if !changed {
		return item, false
	}
	return append(dst, item[prev:]...), true
}

// appendMember appends the member "key":value to an object being written,
// after a comma when it has members already. The key is raw text, escapes
// kept, as it was read.
func appendMember[K string | []byte](dst []byte, hasMembers bool, key K, value []byte) []byte {
	if hasMembers {
		dst = append(dst, ',')
	}
	dst = append(dst, '"')
	dst = append(dst, key...)
	dst = append(dst, '"', ':')
	return append(dst, value...)
}

// appendMergedObject appends obj with the members of top whose keys it does
// not have added at its end. Both are well-formed JSON objects.
func (m *merger) appendMergedObject(dst, obj, top []byte) []byte {
	keys := m.keys[:0]
	s := &m.t
	s.reset(obj, 0, 1, 0)
	s.members(func(key []byte, _ int, _ position) { keys = append(keys, key) })
	m.keys = keys
	dst = append(dst, obj[:len(obj)-1]...)
	has := len(keys) > 0
	t := &m.t
	t.reset(top, 0, 1, 0)
	t.members(func(key []byte, vs int, _ position) {
		for _, k := range keys {
			if sameKey(k, key) {
				return
			}
		}
		dst = appendMember(dst, has, key, top[vs:t.pos])
		has = true
	})
	return append(dst, '}')
}

// sameKey reports whether two raw keys (without quotes) are the same string.
func sameKey(a, b []byte) bool {
	if bytes.Equal(a, b) {
		return true
	}
	if bytes.IndexByte(a, '\\') < 0 && bytes.IndexByte(b, '\\') < 0 {
		return false
	}
	return unquote(a) == unquote(b)
}
