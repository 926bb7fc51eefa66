package destination

import (
	"math"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/tidwall/gjson"

	"github.com/s2segment/s2segment/internal/jsontext"
)

// This file validates a mapped payload against its compiled schema the way
// Segment does (removeEmptyValues, then ajv with coerceTypes: 'array',
// allErrors and removeAdditional), over the raw JSON with gjson. Nothing is
// decoded into maps: a payload that needs no change is used as it is, and
// one that does is rebuilt once from slices of the original.

// Delivery says how payloads are validated: as Segment's executeBatch does
// (Batched, the zero value) or as its single-event execute does (Single).
// The one difference is that Single also removes "" from top-level string
// fields, so an empty string counts as missing.
type Delivery uint8

// The deliveries.
const (
	Batched Delivery = iota
	Single
)

// entry is one member of an object being validated.
type entry struct {
	idx int          // field index, -1 for an unknown key that is kept
	key string       // the key's JSON text, quotes included
	val gjson.Result // the current value
}

type run struct {
	single bool
	errs   []FieldError
	known  []string // container values of the event, for the top level
}

func (r *run) fail(pointer, message string) {
	r.errs = append(r.errs, FieldError{Path: jsonPath(pointer), Pointer: pointer, Message: message})
}

func (f *fieldSchema) preamble(at path) string {
	if f.title != "" {
		return f.title
	}
	return "the value at " + at.String()
}

func (o *objectSchema) preamble(pointer string) string {
	if o.title != "" {
		return o.title
	}
	if pointer == "" {
		return "the root value"
	}
	return "the value at " + pointer
}

// scan reads the members of obj, applying removeEmptyValues (null where the
// type does not allow it, "" where it is not a string, and in Single
// delivery "" in top-level string fields), dropping unknown keys unless the
// schema allows them, and keeping the last of duplicate keys. Nested objects
// and arrays with schemas are cleaned the same way. changed reports whether
// the members differ from obj's.
func (r *run) scan(o *objectSchema, obj gjson.Result, isRoot bool, entries []entry) ([]entry, bool, bool) {
	changed := false
	var known []string
	if isRoot {
		known = r.known
	}
	ok := eachMemberKnown(obj.Raw, known, func(rawKey string, val gjson.Result) bool {
		idx := o.index(keyString(rawKey))
		if idx < 0 {
			if !o.additional {
				changed = true
				return true
			}
		} else {
			f := &o.fields[idx]
			switch kindOf(val) {
			case jtNull:
				if f.set&jtNull == 0 {
					changed = true
					return true
				}
			case jtString:
				if val.Raw == `""` && (f.set&jtString == 0 || (isRoot && r.single)) {
					changed = true
					return true
				}
			case jtArray:
				if f.items != nil {
					if text, ch := r.cleanArray(f.items, val); ch {
						val = parseString(text)
						changed = true
					}
				}
			case jtObject:
				if f.object != nil {
					if text, ch := r.clean(f.object, val); ch {
						val = parseString(text)
						changed = true
					}
				}
			}
			for i := range entries {
				if entries[i].idx == idx {
					// JSON.parse keeps the last value at the first key's place.
					entries[i].val = val
					changed = true
					return true
				}
			}
		}
		entries = append(entries, entry{idx: idx, key: rawKey, val: val})
		return true
	})
	return entries, changed, ok
}

// clean applies scan to a nested object and returns its new text.
func (r *run) clean(o *objectSchema, obj gjson.Result) (string, bool) {
	entries, changed, ok := r.scan(o, obj, false, nil)
	if !changed || !ok {
		return obj.Raw, false
	}
	return string(appendObject(nil, entries)), true
}

// cleanArray drops the items removeEmptyValues drops from a multiple field.
func (r *run) cleanArray(items *fieldSchema, arr gjson.Result) (string, bool) {
	changed := false
	var kept []string
	eachItem(arr.Raw, func(item gjson.Result) bool {
		switch kindOf(item) {
		case jtNull:
			if items.set&jtNull == 0 {
				changed = true
				return true
			}
		case jtString:
			if item.Raw == `""` && items.set&jtString == 0 {
				changed = true
				return true
			}
		case jtObject:
			if items.object != nil {
				if text, ch := r.clean(items.object, item); ch {
					kept = append(kept, text)
					changed = true
					return true
				}
			}
		}
		kept = append(kept, item.Raw)
		return true
	})
	if !changed {
		return arr.Raw, false
	}
	return "[" + strings.Join(kept, ",") + "]", true
}

func appendObject(dst []byte, entries []entry) []byte {
	dst = append(dst, '{')
	for i, e := range entries {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = append(dst, e.key...)
		dst = append(dst, ':')
		dst = append(dst, e.val.Raw...)
	}
	return append(dst, '}')
}

func parseString(s string) gjson.Result { return gjson.Parse(s) }

// object validates an object value: conditions (top level only), required
// fields, then each present field in the schema's order. It returns the
// object's members and whether they differ from obj's (a value was removed
// or coerced); appendObject rebuilds the object from them.
func (r *run) object(o *objectSchema, obj gjson.Result, pointer string, isRoot bool, entries []entry) ([]entry, bool) {
	entries, changed, ok := r.scan(o, obj, isRoot, entries[:0])
	if !ok {
		r.fail(pointer, capitalize(o.preamble(pointer))+" is not a valid JSON object.")
		return entries, false
	}
	lookup := func(idx int) (gjson.Result, bool) {
		if idx < 0 {
			return gjson.Result{}, false
		}
		for i := range entries {
			if entries[i].idx == idx {
				return entries[i].val, true
			}
		}
		return gjson.Result{}, false
	}
	if isRoot {
		r.conditions(o, lookup)
	}
	for _, idx := range o.required {
		if _, ok := lookup(idx); !ok {
			r.fail(pointer, capitalize(o.preamble(pointer))+" is missing the required field '"+o.fields[idx].key+"'.")
		}
	}
	for idx := range o.fields {
		f := &o.fields[idx]
		for i := range entries {
			if entries[i].idx != idx {
				continue
			}
			if text, ch := r.value(f, entries[i].val, path{pointer, f.key}); ch {
				entries[i].val = parseString(text)
				changed = true
			}
			break
		}
	}
	return entries, changed
}

// conditions applies the if/then schemas of conditionally required fields.
func (r *run) conditions(o *objectSchema, lookup func(int) (gjson.Result, bool)) {
	for ci := range o.conds {
		c := &o.conds[ci]
		if !c.holds(lookup) {
			continue
		}
		failed := false
		switch {
		case c.parent != "" && c.single:
			parent, ok := lookup(c.targetIndex)
			if !ok {
				r.fail("", "The root value is missing the required field '"+c.parent+"'.")
				failed = true
			} else if kindOf(parent) == jtObject && !memberOf(parent, c.child).Exists() {
				r.fail("/"+pointerEscape(c.parent), "The value at /"+pointerEscape(c.parent)+" is missing the required field '"+c.child+"'.")
				failed = true
			}
		case c.parent != "":
			// Segment requires the dotted key itself here, which no
			// payload field can be.
			r.fail("", "The root value is missing the required field '"+c.target+"'.")
			failed = true
		default:
			if _, ok := lookup(c.targetIndex); !ok {
				r.fail("", "The root value is missing the required field '"+c.target+"'.")
				failed = true
			}
		}
		if failed {
			r.fail("", `The root value must match "then" schema.`)
		}
	}
}

func (c *condSchema) holds(lookup func(int) (gjson.Result, bool)) bool {
	if c.single {
		return c.tests[0].holds(lookup, true)
	}
	for i := range c.tests {
		ok := c.tests[i].holds(lookup, false)
		if c.any && ok {
			return true
		}
		if !c.any && !ok {
			return false
		}
	}
	return !c.any
}

// holds evaluates one condition. single selects Segment's one-condition
// form, in which a null value counts as absent for a presence test.
func (t *condTest) holds(lookup func(int) (gjson.Result, bool), single bool) bool {
	v, present := lookup(t.index)
	if t.dotted {
		if !present {
			return false
		}
		if kindOf(v) != jtObject {
			return true
		}
		child := memberOf(v, t.child)
		switch {
		case !t.has && !t.not:
			return child.Exists()
		case !t.has && t.not:
			return false
		}
		return child.Exists() && jsonEqual(child, t.value) != t.not
	}
	if !t.has {
		if single {
			isNull := present && kindOf(v) == jtNull
			if t.not {
				return present && !isNull
			}
			return !present || isNull
		}
		return present == t.not
	}
	return present && jsonEqual(v, t.value) != t.not
}

// memberOf returns the first member of obj named key, as gjson.Get would.
func memberOf(obj gjson.Result, key string) gjson.Result {
	var found gjson.Result
	eachMember(obj.Raw, func(rawKey string, v gjson.Result) bool {
		if keyString(rawKey) == key {
			found = v
			return false
		}
		return true
	})
	return found
}

func (f *fieldSchema) typeMatches(v gjson.Result) bool {
	k := kindOf(v)
	if k == jtNumber {
		return f.set&jtNumber != 0 || (f.set&jtInteger != 0 && isIntegral(v.Num))
	}
	return f.set&k != 0
}

func isIntegral(f float64) bool { return f == math.Trunc(f) && !math.IsInf(f, 0) }

// value validates one value: its type (coercing it when ajv would), its
// enum, then the checks of its type (bounds, format, nested object or
// items). It returns the value's new text when it changed.
// path is the JSON pointer of a value, its parent's pointer and its key,
// joined only when needed (an error, or a nested value).
type path struct {
	parent, key string
}

func (p path) String() string { return p.parent + "/" + pointerEscape(p.key) }

func (r *run) value(f *fieldSchema, v gjson.Result, at path) (string, bool) {
	cur := v
	text, changed := v.Raw, false
	if !f.typeMatches(cur) {
		if coerced, seen, ok := f.coerce(cur); ok {
			text, changed = coerced, true
			cur = parseString(coerced)
		} else {
			cur = seen
			r.fail(at.String(), capitalize(f.preamble(at))+" must be "+f.typeMessageExpects+" but it was "+humanizeTypeOf(cur)+".")
		}
	}
	if f.enum != nil {
		found := false
		for _, e := range f.enum {
			if jsonEqual(cur, e) {
				found = true
				break
			}
		}
		if !found {
			r.fail(at.String(), capitalize(f.preamble(at))+" must be one of: "+f.enumText+".")
		}
	}
	switch kindOf(cur) {
	case jtNumber:
		if f.hasMin && cur.Num < f.minimum {
			r.fail(at.String(), capitalize(f.preamble(at))+" must be equal to or greater than "+numberText(f.minimum)+".")
		}
		if f.hasMax && cur.Num > f.maximum {
			r.fail(at.String(), capitalize(f.preamble(at))+" must be equal to or less than "+numberText(f.maximum)+".")
		}
	case jtString:
		if f.minLen > 0 || f.maxLen > 0 {
			n := utf8.RuneCountInString(cur.Str)
			if f.minLen > 0 && n < f.minLen {
				r.fail(at.String(), capitalize(f.preamble(at))+" must be "+strconv.Itoa(f.minLen)+" "+pluralize("character", f.minLen)+" or more but it was "+strconv.Itoa(n)+" "+pluralize("character", n)+".")
			}
			if f.maxLen > 0 && n > f.maxLen {
				r.fail(at.String(), capitalize(f.preamble(at))+" must be "+strconv.Itoa(f.maxLen)+" "+pluralize("character", f.maxLen)+" or fewer but it was "+strconv.Itoa(n)+" "+pluralize("character", n)+".")
			}
		}
		if f.format != "" && !validFormat(f.format, cur.Str) {
			r.fail(at.String(), capitalize(f.preamble(at))+" must be a valid "+formatLabel(f.format)+" string but it was not.")
		}
	case jtObject:
		if f.object != nil {
			if entries, ch := r.object(f.object, cur, at.String(), false, nil); ch {
				text, changed = string(appendObject(nil, entries)), true
			}
		}
	case jtArray:
		if f.items != nil {
			var parts []string
			i := 0
			itemsChanged := false
			eachItem(cur.Raw, func(item gjson.Result) bool {
				t, ch := r.value(f.items, item, path{at.String(), strconv.Itoa(i)})
				itemsChanged = itemsChanged || ch
				parts = append(parts, t)
				i++
				return true
			})
			if itemsChanged {
				text, changed = "["+strings.Join(parts, ",")+"]", true
			}
		}
	}
	return text, changed
}

// coerce converts v to one of the field's types as ajv's coerceTypes:
// 'array' does: a one-item array is unwrapped; numbers and booleans become
// strings; numeric strings, booleans and null become numbers; "true",
// "false", 1, 0 and null become booleans; "", 0 and false become null; and
// a scalar becomes a one-item array. It returns the new text, or the value
// the type error must describe (the unwrapped item, if any) and false.
func (f *fieldSchema) coerce(v gjson.Result) (text string, seen gjson.Result, ok bool) {
	d := v
	if kindOf(d) == jtArray {
		items := d.Array()
		if len(items) == 1 {
			d = items[0]
			if f.typeMatches(d) {
				return d.Raw, d, true
			}
		}
	}
	k := kindOf(d)
	for _, t := range f.types {
		switch t {
		case jtString:
			switch k {
			case jtNumber:
				return `"` + numberString(d) + `"`, d, true
			case jtBoolean:
				return `"` + d.Raw + `"`, d, true
			case jtNull:
				return `""`, d, true
			}
		case jtNumber, jtInteger:
			switch k {
			case jtBoolean:
				if d.Type == gjson.True {
					return "1", d, true
				}
				return "0", d, true
			case jtNull:
				return "0", d, true
			case jtString:
				if d.Str == "" {
					break
				}
				n := jsNumber(d.Str)
				if math.IsNaN(n) || math.IsInf(n, 0) || (t == jtInteger && !isIntegral(n)) {
					break
				}
				return string(jsontext.AppendNumber(nil, n)), d, true
			}
		case jtBoolean:
			switch {
			case k == jtString && d.Str == "false", k == jtNumber && d.Num == 0, k == jtNull:
				return "false", d, true
			case k == jtString && d.Str == "true", k == jtNumber && d.Num == 1:
				return "true", d, true
			}
		case jtNull:
			if (k == jtString && d.Str == "") || (k == jtNumber && d.Num == 0) || (k == jtBoolean && d.Type == gjson.False) {
				return "null", d, true
			}
		case jtArray:
			switch k {
			case jtString, jtNumber, jtBoolean, jtNull:
				return "[" + d.Raw + "]", d, true
			}
		}
	}
	return "", d, false
}

// numberString is "" + n in JavaScript, except that an integer keeps its
// exact digits (JavaScript would round 12345678901234567890 to
// 12345678901234567000).
func numberString(n gjson.Result) string {
	raw := n.Raw
	digits := strings.TrimPrefix(raw, "-")
	if digits != "" && strings.Trim(digits, "0123456789") == "" && (digits == "0" || digits[0] != '0') {
		if raw == "-0" {
			return "0"
		}
		return raw
	}
	return jsFormat(n.Num)
}
