package mapping

import (
	"strconv"
	"strings"

	"github.com/tidwall/gjson"
)

// A path is mapping-kit's get() path, split at compile time:
//
//   - "" and "." are the whole value;
//   - the path splits at "." and at "[" when a quote or a digit follows it,
//     so a[0], a['b'] and a["b c"] are index or key steps, while a[b] is one
//     key named "a[b]" and a[-1] one key named "a[-1]";
//   - a "]" that closes a quote or a digit is dropped, and every quote
//     character is deleted (so "it's" reads the key "its");
//   - each step is a JavaScript property access: a key of an object, an
//     index or "length" of an array or a string; a falsy value (null, false,
//     0, "") on the way is the result itself, any other value gives undefined.
type path struct {
	root bool
	segs []seg
	slot int // index of the first key in the root prefetch, or -1
}

type seg struct {
	key    string // property name
	esc    string // gjson path of the key
	index  int    // canonical array index, or -1
	idxStr string // index as a gjson path
	length bool   // key == "length"
}

// stripDollar removes the first "$." of a @path or @arrayPath path.
func stripDollar(p string) string { return strings.Replace(p, "$.", "", 1) }

func parsePath(p string) *path {
	if p == "" || p == "." {
		return &path{root: true, slot: -1}
	}
	var raw []string
	start := 0
	for i := 0; i < len(p); i++ {
		switch p[i] {
		case '.':
			raw = append(raw, p[start:i])
			start = i + 1
		case '[':
			if i+1 < len(p) && (p[i+1] == '\'' || p[i+1] == '"' || (p[i+1] >= '0' && p[i+1] <= '9')) {
				raw = append(raw, p[start:i])
				start = i + 1
			}
		}
	}
	raw = append(raw, p[start:])
	pa := &path{slot: -1, segs: make([]seg, len(raw))}
	for i, r := range raw {
		if n := len(r); n >= 2 && r[n-1] == ']' {
			if c := r[n-2]; c == '\'' || c == '"' || (c >= '0' && c <= '9') {
				r = r[:n-1]
			}
		}
		if strings.ContainsAny(r, `'"`) {
			r = strings.NewReplacer(`'`, "", `"`, "").Replace(r)
		}
		pa.segs[i] = newSeg(r)
	}
	return pa
}

func newSeg(key string) seg {
	s := seg{key: key, esc: gjson.Escape(key), index: -1, length: key == "length"}
	if n, ok := isArrayIndex(key); ok {
		s.index = n
		s.idxStr = key
	}
	return s
}

// payload is the data a mapping is resolved against: the event, an item of
// @arrayPath or the output of @transform's apply.
type payload struct {
	raw  string
	root bool // raw is the event, whose first-level keys may be prefetched
}

// get reads a path from p.
func (st *state) get(p payload, pa *path) string {
	cur := p.raw
	if pa.root {
		return cur
	}
	i := 0
	if p.root && pa.slot >= 0 {
		cur = st.rootKey(pa)
		i = 1
	}
	for ; i < len(pa.segs); i++ {
		if !truthy(cur) {
			return cur
		}
		cur = st.step(cur, &pa.segs[i])
	}
	return cur
}

// step is one property access on a truthy value.
func (st *state) step(cur string, s *seg) string {
	switch kindOf(cur) {
	case kObject:
		return gjson.Get(cur, s.esc).Raw
	case kArray:
		if s.index >= 0 {
			return gjson.Get(cur, s.idxStr).Raw
		}
		if s.length {
			n := 0
			gjson.Parse(cur).ForEach(func(_, _ gjson.Result) bool { n++; return true })
			return st.keepInt(n)
		}
	case kString:
		if s.length {
			return st.keepInt(utf16Len(strOf(cur)))
		}
		if s.index >= 0 {
			out := ""
			utf16Units(strOf(cur), func(i int, u uint16) {
				if i == s.index {
					start := len(st.arena)
					st.arena = appendUTF16Unit(st.arena, u)
					out = st.view(start)
				}
			})
			return out
		}
	}
	return ""
}

// rootKey reads the first key of pa from the event, through the prefetch
// when the mapping reads several first-level keys.
func (st *state) rootKey(pa *path) string {
	if !st.m.prefetch && !st.fetched {
		return gjson.Get(st.root, pa.segs[0].esc).Raw
	}
	if !st.fetched {
		st.prefetchRoot()
	}
	return st.slots[pa.slot]
}

// prefetchRoot reads every first-level key the mapping uses in one pass
// over the event; the first occurrence of a duplicate key wins, as with
// gjson.Get.
func (st *state) prefetchRoot() {
	st.fetched = true
	idx := st.m.slotIndex
	found := 0
	gjson.Parse(st.root).ForEach(func(k, v gjson.Result) bool {
		if i, ok := idx[k.Str]; ok && st.slots[i] == "" {
			st.slots[i] = v.Raw
			found++
		}
		return found < len(st.slots)
	})
}

func (st *state) keepInt(n int) string {
	start := len(st.arena)
	st.arena = strconv.AppendInt(st.arena, int64(n), 10)
	return st.view(start)
}
