package mapping

import (
	"encoding/json"
	"errors"
	"fmt"
	"sort"

	"github.com/tidwall/gjson"

	"github.com/s2segment/s2segment/internal/jsontext"
)

// jv is a JSON value of a mapping as JavaScript's JSON.parse builds it:
// object keys are unique (the last duplicate wins, at the place of the
// first) and in Object.keys order (array-index keys first, ascending, then
// the others in order of appearance).
type jv struct {
	kind kind
	raw  string // JSON text of a scalar
	str  string // text of a string
	keys []string
	vals []*jv // object values or array elements
}

// maxMappingDepth bounds the nesting of a mapping.
const maxMappingDepth = 1000

func (v *jv) get(key string) *jv {
	if v == nil || v.kind != kObject {
		return nil
	}
	for i, k := range v.keys {
		if k == key {
			return v.vals[i]
		}
	}
	return nil
}

// set replaces the value of key, or adds key at the end.
func (v *jv) set(key string, val *jv) {
	for i, k := range v.keys {
		if k == key {
			v.vals[i] = val
			return
		}
	}
	v.keys = append(v.keys, key)
	v.vals = append(v.vals, val)
	orderKeys(v)
}

// parseMapping parses the JSON text of a mapping.
func parseMapping(b []byte) (*jv, error) {
	// gjson validates recursively: bound the nesting first.
	if tooDeep(b, maxMappingDepth) {
		return nil, fmt.Errorf("%w: nested deeper than %d levels", ErrInvalidMapping, maxMappingDepth)
	}
	if !gjson.ValidBytes(b) {
		return nil, syntaxError(b)
	}
	return fromResult(gjson.Parse(string(b)), 0)
}

// tooDeep reports whether the arrays and objects of a JSON text nest deeper
// than limit, without recursion.
func tooDeep[T string | []byte](b T, limit int) bool {
	depth, inString := 0, false
	for i := 0; i < len(b); i++ {
		c := b[i]
		switch {
		case inString:
			if c == '\\' {
				i++
			} else if c == '"' {
				inString = false
			}
		case c == '"':
			inString = true
		case c == '[' || c == '{':
			if depth++; depth > limit {
				return true
			}
		case c == ']' || c == '}':
			depth--
		}
	}
	return false
}

func syntaxError(b []byte) error {
	var raw json.RawMessage
	err := json.Unmarshal(b, &raw)
	var se *json.SyntaxError
	if errors.As(err, &se) {
		return fmt.Errorf("%w: not valid JSON at byte offset %d: %s", ErrInvalidMapping, se.Offset, se.Error())
	}
	if err != nil {
		return fmt.Errorf("%w: not valid JSON: %s", ErrInvalidMapping, err.Error())
	}
	return fmt.Errorf("%w: not valid JSON", ErrInvalidMapping)
}

func fromResult(r gjson.Result, depth int) (*jv, error) {
	if depth > maxMappingDepth {
		return nil, fmt.Errorf("%w: nested deeper than %d levels", ErrInvalidMapping, maxMappingDepth)
	}
	switch r.Type {
	case gjson.Null:
		return &jv{kind: kNull, raw: "null"}, nil
	case gjson.False:
		return &jv{kind: kFalse, raw: "false"}, nil
	case gjson.True:
		return &jv{kind: kTrue, raw: "true"}, nil
	case gjson.Number:
		return &jv{kind: kNumber, raw: r.Raw}, nil
	case gjson.String:
		return &jv{kind: kString, raw: r.Raw, str: r.Str}, nil
	}
	var err error
	if r.IsArray() {
		v := &jv{kind: kArray}
		r.ForEach(func(_, e gjson.Result) bool {
			var ev *jv
			ev, err = fromResult(e, depth+1)
			v.vals = append(v.vals, ev)
			return err == nil
		})
		return v, err
	}
	v := &jv{kind: kObject}
	var index map[string]int
	r.ForEach(func(k, e gjson.Result) bool {
		var ev *jv
		if ev, err = fromResult(e, depth+1); err != nil {
			return false
		}
		if index == nil {
			index = make(map[string]int)
		}
		if i, dup := index[k.Str]; dup {
			v.vals[i] = ev
			return true
		}
		index[k.Str] = len(v.keys)
		v.keys = append(v.keys, k.Str)
		v.vals = append(v.vals, ev)
		return true
	})
	orderKeys(v)
	return v, err
}

// orderKeys puts array-index keys first, in ascending order, as JavaScript
// does for the properties of an object.
func orderKeys(v *jv) {
	indexes := 0
	for _, k := range v.keys {
		if _, ok := isArrayIndex(k); ok {
			indexes++
		}
	}
	if indexes == 0 {
		return
	}
	type kv struct {
		k string
		v *jv
	}
	all := make([]kv, len(v.keys))
	for i := range v.keys {
		all[i] = kv{v.keys[i], v.vals[i]}
	}
	sort.SliceStable(all, func(i, j int) bool {
		ni, oki := isArrayIndex(all[i].k)
		nj, okj := isArrayIndex(all[j].k)
		if oki && okj {
			return ni < nj
		}
		return oki && !okj
	})
	for i := range all {
		v.keys[i], v.vals[i] = all[i].k, all[i].v
	}
}

// elem returns element i of an array, or nil (undefined) when v has no
// element i.
func (v *jv) elem(i int) *jv {
	if i < len(v.vals) {
		return v.vals[i]
	}
	return nil
}

// appendKey appends the start of member i of an object: the comma that
// separates it from the one before, its key k escaped, and the colon.
func appendKey(dst []byte, i int, k string) []byte {
	if i > 0 {
		dst = append(dst, ',')
	}
	dst = jsontext.AppendString(dst, k)
	return append(dst, ':')
}

// appendJV appends v as compact JSON.
func appendJV(dst []byte, v *jv) []byte {
	switch v.kind {
	case kObject:
		dst = append(dst, '{')
		for i, k := range v.keys {
			dst = appendJV(appendKey(dst, i, k), v.vals[i])
		}
		return append(dst, '}')
	case kArray:
		dst = append(dst, '[')
		for i, e := range v.vals {
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = appendJV(dst, e)
		}
		return append(dst, ']')
	}
	return append(dst, v.raw...)
}

// jvRealType is mapping-kit's realTypeOf; nil is undefined.
func jvRealType(v *jv) string {
	if v == nil {
		return kUndefined.typeName()
	}
	return v.kind.typeName()
}

// jvTruthy is JavaScript truthiness of a raw option; nil is undefined.
func jvTruthy(v *jv) bool {
	if v == nil {
		return false
	}
	switch v.kind {
	case kNull, kFalse:
		return false
	case kNumber:
		return !isZeroNumber(v.raw)
	case kString:
		return v.str != "" || len(v.raw) > 2
	}
	return true
}

// jvTypeof is JavaScript's typeof: realTypeOf's name, with null and
// arrays folded into "object".
func jvTypeof(v *jv) string {
	if v == nil {
		return "undefined"
	}
	switch v.kind {
	case kNull, kArray:
		return "object"
	}
	return v.kind.typeName()
}

// isDirectiveJV is mapping-kit's isDirective: an object with an @-key and
// no other keys than @-keys and _metadata.
func isDirectiveJV(v *jv) bool {
	if v == nil || v.kind != kObject {
		return false
	}
	has := false
	for _, k := range v.keys {
		switch {
		case len(k) > 0 && k[0] == '@':
			has = true
		case k != "_metadata":
			return false
		}
	}
	return has
}

// hasAtKey reports whether an object has a key starting with @.
func hasAtKey(v *jv) bool {
	for _, k := range v.keys {
		if len(k) > 0 && k[0] == '@' {
			return true
		}
	}
	return false
}

// firstAtKey is the first key starting with @.
func firstAtKey(v *jv) string {
	for _, k := range v.keys {
		if len(k) > 0 && k[0] == '@' {
			return k
		}
	}
	return ""
}

const rootDirectiveKey = "__segment_internal_directive"

// prepareRoot does what transform does to a mapping before validating it:
// it copies it with object spread (a string becomes an object of its
// characters, an array an object of its elements, other scalars {}), then
// handles __segment_internal_directive, whose directive becomes the root
// with every other key injected as its "mapping" option.
func prepareRoot(v *jv) (*jv, error) {
	if v == nil || v.kind == kNull {
		return nil, fmt.Errorf("%w: the mapping is null; it must be a JSON object", ErrInvalidMapping)
	}
	spread := &jv{kind: kObject}
	switch v.kind {
	case kObject:
		spread.keys = append([]string(nil), v.keys...)
		spread.vals = append([]*jv(nil), v.vals...)
	case kArray:
		for i, e := range v.vals {
			spread.keys = append(spread.keys, fmt.Sprint(i))
			spread.vals = append(spread.vals, e)
		}
	case kString:
		utf16Units(v.str, func(i int, u uint16) {
			raw := string(appendUTF16Unit(nil, u))
			spread.keys = append(spread.keys, fmt.Sprint(i))
			spread.vals = append(spread.vals, &jv{kind: kString, raw: raw, str: gjson.Parse(raw).Str})
		})
	}
	rootVal := spread.get(rootDirectiveKey)
	if rootVal == nil {
		return spread, nil
	}
	customer := &jv{kind: kObject}
	for i, k := range spread.keys {
		if k != rootDirectiveKey {
			customer.keys = append(customer.keys, k)
			customer.vals = append(customer.vals, spread.vals[i])
		}
	}
	var first *jv
	switch rootVal.kind {
	case kNull:
		return nil, fmt.Errorf("%w: Cannot convert undefined or null to object", ErrInvalidMapping)
	case kObject:
		if len(rootVal.keys) > 1 {
			return nil, fmt.Errorf("%w: The root mapping must only have a single directive object", ErrInvalidMapping)
		}
		if len(rootVal.keys) == 1 {
			first = rootVal.vals[0]
		}
	case kArray:
		if len(rootVal.vals) > 1 {
			return nil, fmt.Errorf("%w: The root mapping must only have a single directive object", ErrInvalidMapping)
		}
		if len(rootVal.vals) == 1 {
			first = rootVal.vals[0]
		}
	case kString:
		if utf16Len(rootVal.str) > 1 {
			return nil, fmt.Errorf("%w: The root mapping must only have a single directive object", ErrInvalidMapping)
		}
	}
	if first == nil || (first.kind != kObject && first.kind != kArray) {
		return nil, fmt.Errorf("%w: The root directive must be an object", ErrInvalidMapping)
	}
	if first.kind == kObject {
		// Copy the directive's options so the parsed mapping is not changed.
		opts := &jv{kind: kObject, keys: append([]string(nil), first.keys...), vals: append([]*jv(nil), first.vals...)}
		opts.set("mapping", customer)
		root := &jv{kind: rootVal.kind}
		root.keys = append([]string(nil), rootVal.keys...)
		root.vals = []*jv{opts}
		return root, nil
	}
	return rootVal, nil
}
