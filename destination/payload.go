package destination

import (
	"fmt"

	"github.com/s2segment/s2segment/mapping"

	"github.com/tidwall/gjson"
)

// Schema validates payloads (or settings objects) against a list of fields,
// with Segment's rules and messages:
//
//   - null is removed where a field does not allow null, "" where a field is
//     not a string (and, in Single delivery, from top-level string fields);
//   - values are coerced as ajv's coerceTypes: 'array' does (123 becomes
//     "123" for a string field, "5" becomes 5 for a number, a scalar becomes
//     [x] for a multiple field, a one-item array becomes its item);
//   - keys that are not fields are removed;
//   - then required fields (always, or under conditions), types, choices,
//     bounds (only when truthy, as in Segment), formats and nested object
//     fields are checked, and every problem is reported.
//
// It works on the raw JSON: a payload that needs no change is used as it
// is, without a copy. A Schema is immutable and safe for concurrent use.
type Schema struct {
	root *objectSchema
	keys []string
}

// NewSchema compiles the schema of fs.
func NewSchema(fs Fields) (*Schema, error) {
	root, err := compileFields(fs)
	if err != nil {
		return nil, fmt.Errorf("compiling fields: %w", err)
	}
	keys := make([]string, len(fs))
	for i, f := range fs {
		keys[i] = f.Key
	}
	return &Schema{root: root, keys: keys}, nil
}

// Validate validates data, one JSON object, and fills p with the resulting
// payload. When the payload had to change (values removed or coerced), its
// JSON is appended to dst and p.JSON points there; otherwise p.JSON is data
// itself. The returned slice is dst, possibly extended.
//
// A payload that fails is reported as a *ValidationError whose message is
// Segment's (its messages joined by a space). Neither data nor the bytes p
// points into may be modified while p is in use.
func (s *Schema) Validate(dst, data []byte, d Delivery, p *Payload) ([]byte, error) {
	p.source = nil
	return s.validate(dst, data, d, p, nil)
}

// validate is Validate with the known container values of the event the
// payload was mapped from (see eachMemberKnown).
func (s *Schema) validate(dst, data []byte, d Delivery, p *Payload, known []string) ([]byte, error) {
	p.JSON, p.schema, p.values, p.checked = nil, nil, p.values[:0], false
	root := gjson.Parse(bytesToString(data))
	if !root.IsObject() {
		return dst, &ValidationError{Errors: []FieldError{{Path: "$", Message: "The root value must be an object but it was " + humanizeTypeOf(root) + "."}}}
	}
	r := run{single: d == Single, known: known}
	entries, changed := r.object(s.root, root, "", true, p.entries[:0])
	p.entries = entries
	if len(r.errs) > 0 {
		return dst, &ValidationError{Errors: r.errs}
	}
	p.schema = s
	if cap(p.values) < len(s.keys) {
		p.values = make([]gjson.Result, len(s.keys))
	}
	p.values = p.values[:len(s.keys)]
	clear(p.values)
	for _, e := range entries {
		if e.idx >= 0 {
			p.values[e.idx] = e.val
		}
	}
	if !changed {
		p.JSON = data
		return dst, nil
	}
	start := len(dst)
	dst = appendObject(dst, entries)
	p.JSON = dst[start:len(dst):len(dst)]
	return dst, nil
}

// Payload is one validated payload: the JSON object an action's perform
// receives, with its fields' values at hand. The zero value is ready to be
// filled by Schema.Validate or Pipeline.Process; reusing a Payload reuses
// its memory.
type Payload struct {
	// Index is the event's position in the batch it came in.
	Index int
	// JSON is the payload, a JSON object of the action's fields.
	JSON []byte

	schema  *Schema
	values  []gjson.Result
	entries []entry
	known   []string      // scratch of Pipeline.Process
	event   mapping.Event // scratch of Pipeline.Process
	source  []byte        // the event the payload was made from
	checked bool
}

// Event returns the raw event the payload was made from by
// Pipeline.Process or ProcessEvent (nil for a payload filled by
// Schema.Validate): a perform function that writes more than the mapped
// fields (a whole event, as the warehouse schema does) reads it here. It
// is the caller's event, not a copy, and valid for as long as the payload.
func (p *Payload) Event() []byte { return p.source }

// Checked reports whether the payload was made by Pipeline.ProcessEvent
// (or Process) from a checked event, so that every value in it is
// well-formed JSON: row encoders may then vouch for the rows they write.
func (p *Payload) Checked() bool { return p.checked }

// Value returns the value of the i-th field of the action (in the order of
// its Fields); the zero gjson.Result (Exists() false) when it is absent.
func (p *Payload) Value(i int) gjson.Result {
	if i < 0 || i >= len(p.values) {
		return gjson.Result{}
	}
	return p.values[i]
}

// Get returns the value of the field with the given key; the zero
// gjson.Result (Exists() false) when it is absent or not a field.
func (p *Payload) Get(key string) gjson.Result {
	if p.schema == nil {
		return gjson.Result{}
	}
	for i, k := range p.schema.keys {
		if k == key && i < len(p.values) {
			return p.values[i]
		}
	}
	return gjson.Result{}
}
