package mapping

import (
	"strconv"
	"strings"

	"github.com/tidwall/gjson"
)

// A path is mapping-kit's get() path, split at compile time the way get()
// splits it, with path.split(/\[(?="|'|\d)|\.|(?<="|'|\d)]+/), drops the
// empty pieces and deletes every quote character:
//
//   - "" and "." are the whole value, and so is a path made only of
//     separators, such as ".." or "$.." (but "[0" reads the key "0");
//   - the path splits at every ".", at a "[" followed by a quote or a digit,
//     and at a run of "]" that follows a quote or a digit; so a[0], a['b'],
//     a["b c"], $.[0] and ["b"].c are index or key steps, while a[b] is one
//     key named "a[b]" and a[-1] one key named "a[-1]";
//   - empty pieces are dropped before the quotes are deleted: a..b reads
//     a.b, [0] reads 0, and a[""] reads the key "" of a ("it's" reads the
//     key "its");
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
	esc    string // gjson path of the key; "" for the empty key, which gjson cannot name
	index  int    // canonical array index, or -1
	idxStr string // index as a gjson path
	length bool   // key == "length"
}

// stripDollar removes the first "$." of a @path or @arrayPath path, as
// String#replace with the string "$." does: "$.[0]" becomes "[0]",
// "a.$.b" becomes "a.b".
func stripDollar(p string) string { return strings.Replace(p, "$.", "", 1) }

// quoteOrDigit is the class (?="|'|\d) of get()'s separator.
func quoteOrDigit(c byte) bool { return c == '"' || c == '\'' || (c >= '0' && c <= '9') }

// splitPath splits p into get()'s property names.
func splitPath(p string) []string {
	var keys []string
	start := 0
	piece := func(end int) {
		if end > start { // .filter((f) => f)
			keys = append(keys, p[start:end])
		}
	}
	for i := 0; i < len(p); {
		switch c := p[i]; {
		case c == '.', c == '[' && i+1 < len(p) && quoteOrDigit(p[i+1]):
			piece(i)
			i++
		case c == ']' && i > 0 && quoteOrDigit(p[i-1]):
			piece(i)
			for i < len(p) && p[i] == ']' {
				i++
			}
		default:
			i++
			continue
		}
		start = i
	}
	piece(len(p))
	for i, k := range keys {
		if strings.ContainsAny(k, `'"`) {
			keys[i] = strings.NewReplacer(`'`, "", `"`, "").Replace(k)
		}
	}
	return keys
}

func parsePath(p string) *path {
	if p == "" || p == "." {
		return &path{root: true, slot: -1}
	}
	keys := splitPath(p)
	if len(keys) == 0 {
		return &path{root: true, slot: -1}
	}
	pa := &path{slot: -1, segs: make([]seg, len(keys))}
	for i, k := range keys {
		pa.segs[i] = newSeg(k)
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
	if p.root && pa.slot >= 0 && pa.segs[0].key != "" { // gjson cannot name the empty key; step reads it
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
		return objectKey(cur, s)
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

// objectKey reads the key of s from an object; the first occurrence of a
// duplicate key wins, as with gjson.Get.
func objectKey(obj string, s *seg) string {
	if s.key != "" {
		return gjson.Get(obj, s.esc).Raw
	}
	out := ""
	gjson.Parse(obj).ForEach(func(k, v gjson.Result) bool {
		if k.Str == "" {
			out = v.Raw
			return false
		}
		return true
	})
	return out
}
