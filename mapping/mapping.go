package mapping

import (
	"sync"
	"unsafe"

	"github.com/s2segment/s2segment/internal/jsontext"
)

// Mapping is a compiled mapping. It is immutable and safe for concurrent use.
type Mapping struct {
	root node

	// First-level event keys read by the mapping's static paths; when there
	// are several, one pass over the event fetches them all.
	slotIndex map[string]int
	prefetch  bool
}

// Compile parses and validates a mapping (JSON text) and prepares it for
// Apply. Every error matches ErrInvalidMapping; validation problems come as
// ValidationErrors, all of them, in mapping-kit's order and wording.
func Compile(mapping []byte) (*Mapping, error) {
	v, err := parseMapping(mapping)
	if err != nil {
		return nil, err
	}
	c := &compiler{slotIndex: map[string]int{}}
	root, err := c.program(v)
	if err != nil {
		return nil, err
	}
	m := &Mapping{root: root, slotIndex: c.slotIndex}
	m.prefetch = len(c.slotIndex) >= 3
	return m, nil
}

// Apply maps one event (a JSON object) and returns the output JSON. defined
// is false when the whole mapping resolved to undefined; out is then nil.
func (m *Mapping) Apply(event []byte) (out []byte, defined bool, err error) {
	return m.AppendApply(nil, event)
}

// AppendApply is Apply appending the output to dst, so a caller can reuse
// one buffer for many events. On error or undefined output, dst is returned
// unchanged.
func (m *Mapping) AppendApply(dst, event []byte) (out []byte, defined bool, err error) {
	ev := event
	for len(ev) > 0 && jsonSpace(ev[0]) {
		ev = ev[1:]
	}
	for len(ev) > 0 && jsonSpace(ev[len(ev)-1]) {
		ev = ev[:len(ev)-1]
	}
	raw := bytesToString(ev)
	if kindOf(raw) != kObject {
		return dst, false, notObjectErr(raw)
	}
	st := getState(m, raw)
	defer putState(st)
	n := len(dst)
	out, defined, err = st.write(m.root, payload{raw: raw, root: true}, dst)
	if err != nil || !defined {
		return dst[:n], false, err
	}
	return out, true, nil
}

func bytesToString(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	return unsafe.String(&b[0], len(b))
}

// state is the scratch space of one Apply call. Strings it hands out point
// into the event or into arena, which only grows during a call, so they stay
// valid until the call returns.
type state struct {
	m       *Mapping
	root    string
	slots   []string
	fetched bool
	arena   []byte
	free    [][]byte
}

var statePool = sync.Pool{New: func() any { return new(state) }}

func getState(m *Mapping, root string) *state {
	st := statePool.Get().(*state)
	st.m, st.root, st.fetched = m, root, false
	n := len(m.slotIndex)
	if cap(st.slots) < n {
		st.slots = make([]string, n)
	}
	st.slots = st.slots[:n]
	clear(st.slots)
	return st
}

// maxRetained is the largest buffer a pooled state keeps between calls.
const maxRetained = 1 << 20

func putState(st *state) {
	st.m, st.root = nil, ""
	clear(st.slots)
	if cap(st.arena) > maxRetained {
		st.arena = nil
	}
	st.arena = st.arena[:0]
	kept := st.free[:0]
	for _, b := range st.free {
		if cap(b) <= maxRetained {
			kept = append(kept, b[:0])
		}
	}
	clear(st.free[len(kept):])
	st.free = kept
	statePool.Put(st)
}

// view returns arena[start:] as a string.
func (st *state) view(start int) string {
	if start == len(st.arena) {
		return ""
	}
	return unsafe.String(&st.arena[start], len(st.arena)-start)
}

// keep copies b into the arena.
func (st *state) keep(b []byte) string {
	start := len(st.arena)
	st.arena = append(st.arena, b...)
	return st.view(start)
}

// keepString stores s as a JSON string in the arena.
func (st *state) keepString(s string) string {
	start := len(st.arena)
	st.arena = jsontext.AppendString(st.arena, s)
	return st.view(start)
}

func (st *state) scratch() []byte {
	if n := len(st.free); n > 0 {
		b := st.free[n-1]
		st.free = st.free[:n-1]
		return b[:0]
	}
	return make([]byte, 0, 256)
}

func (st *state) release(b []byte) { st.free = append(st.free, b[:0]) }
