package destination

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/tidwall/gjson"
)

// This file compiles Fields into the validation schema Segment builds from
// them (fields-to-jsonschema): the JSON types of each field, its enum,
// bounds and format, nested object schemas, and the conditions of
// conditionally required fields. validate.go applies it.

// jsonType is a JSON-schema type, as a bit so a field's types form a set.
type jsonType uint8

const (
	jtString jsonType = 1 << iota
	jtNumber
	jtInteger
	jtBoolean
	jtObject
	jtArray
	jtNull
)

func (t jsonType) String() string {
	switch t {
	case jtString:
		return "string"
	case jtNumber:
		return "number"
	case jtInteger:
		return "integer"
	case jtBoolean:
		return "boolean"
	case jtObject:
		return "object"
	case jtArray:
		return "array"
	case jtNull:
		return "null"
	}
	return "?"
}

// fieldSchema is the compiled schema of one field (or of the items of a
// multiple field).
type fieldSchema struct {
	key     string
	keyJSON string // the key as a JSON string, for rebuilding objects
	title   string // the field's label: the preamble of its messages
	types   []jsonType
	set     jsonType

	enum     []gjson.Result // nil: no enum
	enumText string         // `"a", "b", or "c"`

	minLen, maxLen     int // 0: none (Segment ignores falsy bounds)
	minimum, maximum   float64
	hasMin, hasMax     bool
	format             string
	object             *objectSchema // an object field with Properties
	items              *fieldSchema  // a multiple field
	required           bool
	typeMessageExpects string // "a string or null"
}

// objectSchema is the compiled schema of the payload or of an object field
// with Properties.
type objectSchema struct {
	fields     []fieldSchema
	byKey      map[string]int
	required   []int
	additional bool
	title      string // preamble of "is missing the required field" errors
	conds      []condSchema
}

func (o *objectSchema) index(key string) int {
	if i, ok := o.byKey[key]; ok {
		return i
	}
	return -1
}

// condSchema is the if/then of one conditionally required field.
type condSchema struct {
	target      string // the field made required ("parent.child" for a nested one)
	parent      string // for a nested target: the object field
	child       string // and its key
	single      bool   // one condition: Segment's null-aware form
	any         bool
	tests       []condTest
	targetIndex int // root index of target (or of parent), -1 when unknown
}

type condTest struct {
	key    string // root field key ("parent" for a dotted condition)
	index  int    // its root index, -1 when unknown
	child  string // "child" of a dotted "parent.child" condition
	not    bool   // is_not
	has    bool   // a value was given
	value  gjson.Result
	dotted bool
}

// compileFields compiles the payload schema of a list of fields.
func compileFields(fs Fields) (*objectSchema, error) {
	root, err := compileObject(fs, "", "", false, false)
	if err != nil {
		return nil, err
	}
	// Conditions are collected at the top level, nested ones included, in
	// the order Segment builds them.
	for _, f := range fs {
		if f.Type == TypeObject && len(f.Properties) > 0 {
			for _, p := range f.Properties {
				if p.Required.When != nil {
					c, err := compileCondition(root, f.Key+"."+p.Key, p.Required.When)
					if err != nil {
						return nil, err
					}
					root.conds = append(root.conds, c)
				}
			}
		}
		if f.Required.When != nil {
			c, err := compileCondition(root, f.Key, f.Required.When)
			if err != nil {
				return nil, err
			}
			root.conds = append(root.conds, c)
		}
	}
	return root, nil
}

func compileObject(fs Fields, pointer, title string, additional, omitRequired bool) (*objectSchema, error) {
	o := &objectSchema{byKey: make(map[string]int, len(fs)), additional: additional, title: title}
	for _, f := range fs {
		fsch, err := compileField(f, pointer)
		if err != nil {
			return nil, err
		}
		if _, dup := o.byKey[f.Key]; dup {
			return nil, fmt.Errorf("field key %q is used twice", f.Key)
		}
		o.byKey[f.Key] = len(o.fields)
		if f.Required.Always && !omitRequired {
			o.required = append(o.required, len(o.fields))
		}
		o.fields = append(o.fields, fsch)
	}
	return o, nil
}

func baseTypes(t FieldType) ([]jsonType, error) {
	switch t {
	case TypeString, TypeText, TypePassword:
		return []jsonType{jtString}, nil
	case TypeNumber:
		return []jsonType{jtNumber}, nil
	case TypeInteger:
		return []jsonType{jtInteger}, nil
	case TypeBoolean:
		return []jsonType{jtBoolean}, nil
	case TypeObject:
		return []jsonType{jtObject}, nil
	case TypeDatetime:
		return []jsonType{jtString, jtNumber}, nil
	}
	return nil, fmt.Errorf("unknown field type %q", t)
}

func compileField(f Field, parentPointer string) (fieldSchema, error) {
	base, err := baseTypes(f.Type)
	if err != nil {
		return fieldSchema{}, fmt.Errorf("field %q: %w", f.Key, err)
	}
	keyJSON, _ := json.Marshal(f.Key)
	s := fieldSchema{key: f.Key, keyJSON: string(keyJSON), title: f.Label, required: f.Required.Always}
	s.types = append([]jsonType(nil), base...)

	switch f.Type {
	case TypeDatetime:
		s.format = "date-like"
	case TypePassword, TypeText:
		s.format = ""
	case TypeString:
		s.format = f.Format
		if f.Minimum != nil && *f.Minimum != 0 {
			s.minLen = int(*f.Minimum)
		}
		if f.Maximum != nil && *f.Maximum != 0 {
			s.maxLen = int(*f.Maximum)
		}
	case TypeNumber:
		s.format = f.Format
		if f.Minimum != nil && *f.Minimum != 0 {
			s.minimum, s.hasMin = *f.Minimum, true
		}
		if f.Maximum != nil && *f.Maximum != 0 {
			s.maximum, s.hasMax = *f.Maximum, true
		}
	default:
		s.format = f.Format
	}
	if s.format == "text" || s.format == "password" {
		s.format = ""
	}

	var enum []any
	if f.Choices != nil {
		enum = make([]any, 0, len(f.Choices)+1)
		for _, c := range f.Choices {
			enum = append(enum, c.Value)
		}
	}
	if f.AllowNull {
		s.types = append(s.types, jtNull)
		if enum != nil {
			enum = append(enum, nil)
		}
	}

	if f.Multiple {
		items := fieldSchema{types: append([]jsonType(nil), base...), format: s.format}
		items.setTypes()
		if enum != nil {
			if err := items.setEnum(enum); err != nil {
				return fieldSchema{}, fmt.Errorf("field %q: %w", f.Key, err)
			}
			enum = nil
		}
		if f.Type == TypeObject && len(f.Properties) > 0 {
			obj, err := compileObject(f.Properties, "", "", f.AdditionalProperties, hasConditional(f.Properties))
			if err != nil {
				return fieldSchema{}, fmt.Errorf("field %q: %w", f.Key, err)
			}
			items = fieldSchema{types: []jsonType{jtObject}, object: obj}
			items.setTypes()
		}
		s.items = &items
		s.types = []jsonType{jtArray}
		s.format = ""
		s.minLen, s.maxLen, s.hasMin, s.hasMax = 0, 0, false, false
	} else if f.Type == TypeObject && len(f.Properties) > 0 {
		obj, err := compileObject(f.Properties, parentPointer+"/"+pointerEscape(f.Key), f.Label, f.AdditionalProperties, hasConditional(f.Properties))
		if err != nil {
			return fieldSchema{}, fmt.Errorf("field %q: %w", f.Key, err)
		}
		s.object = obj
		// Segment spreads the nested schema over the field's, so its type
		// becomes plain "object" even with allowNull.
		s.types = []jsonType{jtObject}
	}
	if enum != nil {
		if err := s.setEnum(enum); err != nil {
			return fieldSchema{}, fmt.Errorf("field %q: %w", f.Key, err)
		}
	}
	s.setTypes()
	return s, nil
}

func hasConditional(fs Fields) bool {
	for _, f := range fs {
		if f.Required.When != nil {
			return true
		}
	}
	return false
}

func (s *fieldSchema) setTypes() {
	s.set = 0
	names := make([]string, len(s.types))
	for i, t := range s.types {
		s.set |= t
		names[i] = t.String()
	}
	list := humanizeList(names, "or")
	s.typeMessageExpects = indefiniteArticle(list) + " " + list
}

func (s *fieldSchema) setEnum(values []any) error {
	s.enum = make([]gjson.Result, 0, len(values))
	texts := make([]string, 0, len(values))
	for _, v := range values {
		b, err := json.Marshal(v)
		if err != nil {
			return fmt.Errorf("choice %v: %w", v, err)
		}
		s.enum = append(s.enum, gjson.ParseBytes(b))
		texts = append(texts, string(b))
	}
	s.enumText = humanizeList(texts, "or")
	return nil
}

// indefiniteArticle is "an" before a vowel and "a" otherwise, as in
// ajv-human-errors.
func indefiniteArticle(s string) string {
	if s != "" && strings.IndexByte("aeiou", s[0]) >= 0 {
		return "an"
	}
	return "a"
}

func compileCondition(root *objectSchema, target string, c *Conditions) (condSchema, error) {
	cs := condSchema{target: target, any: c.Match == MatchAny, single: len(c.Conditions) == 1, targetIndex: -1}
	if parent, child, ok := strings.Cut(target, "."); ok {
		cs.parent, cs.child = parent, child
		cs.targetIndex = root.index(parent)
	} else {
		cs.targetIndex = root.index(target)
	}
	for _, cond := range c.Conditions {
		t := condTest{not: cond.Operator == IsNot, has: cond.Value != nil}
		if cond.Operator != Is && cond.Operator != IsNot {
			return condSchema{}, fmt.Errorf("field %q: unsupported condition operator %q", target, cond.Operator)
		}
		if parent, child, ok := strings.Cut(cond.FieldKey, "."); ok {
			t.key, t.child, t.dotted = parent, child, true
		} else {
			t.key = cond.FieldKey
		}
		t.index = root.index(t.key)
		if t.has {
			b, err := json.Marshal(cond.Value)
			if err != nil {
				return condSchema{}, fmt.Errorf("field %q: condition value %v: %w", target, cond.Value, err)
			}
			t.value = gjson.ParseBytes(b)
		}
		cs.tests = append(cs.tests, t)
	}
	return cs, nil
}

// jsonEqual is JSON deep equality (ajv's const and enum): numbers by value,
// objects regardless of key order.
func jsonEqual(a, b gjson.Result) bool {
	ka, kb := kindOf(a), kindOf(b)
	if ka != kb {
		return false
	}
	switch ka {
	case jtString:
		return a.Str == b.Str
	case jtNumber:
		return a.Num == b.Num
	case jtBoolean:
		return a.Type == b.Type
	case jtNull:
		return true
	case jtArray:
		aa, ba := a.Array(), b.Array()
		if len(aa) != len(ba) {
			return false
		}
		for i := range aa {
			if !jsonEqual(aa[i], ba[i]) {
				return false
			}
		}
		return true
	case jtObject:
		am, bm := a.Map(), b.Map()
		if len(am) != len(bm) {
			return false
		}
		for k, v := range am {
			w, ok := bm[k]
			if !ok || !jsonEqual(v, w) {
				return false
			}
		}
		return true
	}
	return false
}

// kindOf is the JSON type of a present value (numbers are jtNumber).
func kindOf(r gjson.Result) jsonType {
	switch r.Type {
	case gjson.String:
		return jtString
	case gjson.Number:
		return jtNumber
	case gjson.True, gjson.False:
		return jtBoolean
	case gjson.Null:
		return jtNull
	case gjson.JSON:
		if strings.HasPrefix(r.Raw, "[") {
			return jtArray
		}
		return jtObject
	}
	return 0
}

// humanizeTypeOf is JavaScript's typeof in ajv-human-errors' words.
func humanizeTypeOf(r gjson.Result) string {
	switch kindOf(r) {
	case jtString:
		return "a string"
	case jtNumber:
		return "a number"
	case jtBoolean:
		return "a boolean"
	case jtNull:
		return "null"
	case jtArray:
		return "an array"
	case jtObject:
		return "an object"
	}
	return "undefined"
}

// formatLabels are ajv-human-errors' names of formats.
var formatLabels = map[string]string{
	"date-time": "date and time", "time": "time", "date": "date", "email": "email address",
	"hostname": "hostname", "ipv4": "IPv4 address", "ipv6": "IPv6 address", "uri": "URI",
	"uri-reference": "URI Reference", "uri-template": "URI-template", "json-pointer": "JSON Pointer",
	"relative-json-pointer": "relative JSON Pointer", "regex": "regular expression",
}

func formatLabel(f string) string {
	if l, ok := formatLabels[f]; ok {
		return l
	}
	return f
}

// numberText formats a bound for a message, as JavaScript would.
func numberText(f float64) string { return jsFormat(f) }
