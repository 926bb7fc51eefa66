package mapping

import "github.com/s2segment/s2segment/internal/checked"

// Event is an event checked once: a JSON object proven well-formed, valid
// UTF-8 and nested at most 10000 levels deep, with the offsets of its
// top-level members, so that nothing after the check walks it again. Make
// one with ParseEvent; the zero Event is not an object.
type Event = checked.Event

// ParseEvent checks data, one JSON object, and returns its Event. The error
// gives the byte offset of the first problem. Pass the Event of the
// previous call as prev to reuse its memory (or nil); data must not be
// modified while the Event is in use.
func ParseEvent(data []byte, prev *Event) (Event, error) {
	var ms []checked.Member
	if prev != nil {
		ms = checked.MembersOf(prev)
	}
	return checked.Scan(data, ms)
}

// AppendApplyEvent is AppendApply for a checked event: the first-level
// keys the mapping reads come from the event's member offsets, so the
// event is not walked again.
func (m *Mapping) AppendApplyEvent(dst []byte, ev *Event) (out []byte, defined bool, err error) {
	if !ev.Valid() {
		return m.AppendApply(dst, ev.Bytes())
	}
	st := getState(m, bytesToString(trimSpace(ev.Bytes())))
	defer putState(st)
	idx := m.slotIndex
	if len(st.slots) > 0 {
		found := 0
		for i := 0; i < ev.Len() && found < len(st.slots); i++ {
			if k, ok := idx[ev.KeyString(i)]; ok && st.slots[k] == "" {
				st.slots[k] = ev.Value(i)
				found++
			}
		}
	}
	st.fetched = true
	n := len(dst)
	out, defined, err = st.write(m.root, payload{raw: st.root, root: true}, dst)
	if err != nil || !defined {
		return dst[:n], false, err
	}
	return out, true, nil
}

func trimSpace(ev []byte) []byte {
	for len(ev) > 0 && jsonSpace(ev[0]) {
		ev = ev[1:]
	}
	for len(ev) > 0 && jsonSpace(ev[len(ev)-1]) {
		ev = ev[:len(ev)-1]
	}
	return ev
}
