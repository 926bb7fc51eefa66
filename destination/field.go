package destination

import (
	"bytes"
	"encoding/json"
	"fmt"
)

// FieldType is the type of a field's value, as in Segment's field
// definitions.
type FieldType string

// The field types. Text and password are strings (the UI shows them
// differently); datetime is a string or a number that must read as a date;
// object is any JSON object.
const (
	TypeString   FieldType = "string"
	TypeText     FieldType = "text"
	TypePassword FieldType = "password"
	TypeNumber   FieldType = "number"
	TypeInteger  FieldType = "integer"
	TypeDatetime FieldType = "datetime"
	TypeBoolean  FieldType = "boolean"
	TypeObject   FieldType = "object"
)

// Operator compares a field with a value in a Condition.
type Operator string

// The condition operators.
const (
	Is    Operator = "is"
	IsNot Operator = "is_not"
)

// Match says whether all or any of the conditions must hold.
type Match string

// The ways conditions combine. The zero value means MatchAll.
const (
	MatchAll Match = "all"
	MatchAny Match = "any"
)

// Condition compares another field of the same payload with a value.
type Condition struct {
	// FieldKey is the key of the field compared; "parent.child" addresses a
	// child of an object field.
	FieldKey string `json:"fieldKey" validate:"required"`
	// Operator is Is or IsNot.
	Operator Operator `json:"operator" validate:"oneof=is is_not"`
	// Value is the value compared with (a string, number, boolean or nil).
	// nil means "is present" (Is: the field is absent or null; IsNot: the
	// field is present and not null).
	Value any `json:"value,omitempty"`
}

// Conditions is a set of conditions; a field with Required.When is required
// only when they hold.
type Conditions struct {
	Match      Match       `json:"match,omitempty" validate:"omitempty,oneof=all any"`
	Conditions []Condition `json:"conditions" validate:"required,min=1,dive"`
}

// Required says whether a field must be present. The zero value is an
// optional field; Always is a field that is always required; When makes it
// required only when the conditions hold, for example an "event" field that
// is required when "type" is "track":
//
//	Required: destination.RequiredWhen(destination.Condition{FieldKey: "type", Operator: destination.Is, Value: "track"})
type Required struct {
	Always bool
	When   *Conditions
}

// Always is the Required of a field that must always be present.
var Always = Required{Always: true}

// RequiredWhen returns the Required of a field that must be present when
// all the conditions hold.
func RequiredWhen(conds ...Condition) Required {
	return Required{When: &Conditions{Conditions: conds}}
}

// RequiredWhenAny returns the Required of a field that must be present when
// any of the conditions holds.
func RequiredWhenAny(conds ...Condition) Required {
	return Required{When: &Conditions{Match: MatchAny, Conditions: conds}}
}

// IsZero reports whether the field is optional.
func (r Required) IsZero() bool { return !r.Always && r.When == nil }

// MarshalJSON writes true, or the conditions object.
func (r Required) MarshalJSON() ([]byte, error) {
	if r.When != nil {
		return json.Marshal(r.When)
	}
	return json.Marshal(r.Always)
}

// UnmarshalJSON reads true, false or a conditions object.
func (r *Required) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if len(b) > 0 && b[0] == '{' {
		var c Conditions
		if err := json.Unmarshal(b, &c); err != nil {
			return fmt.Errorf("reading required conditions: %w", err)
		}
		*r = Required{When: &c}
		return nil
	}
	var always bool
	if err := json.Unmarshal(b, &always); err != nil {
		return fmt.Errorf("reading required: want true, false or {conditions: […]}: %w", err)
	}
	*r = Required{Always: always}
	return nil
}

// Choice is one allowed value of a field. A choice with no Label is written
// to the manifest as the bare value.
type Choice struct {
	Label string `json:"label"`
	Value string `json:"value"`
}

// MarshalJSON writes {label, value}, or the bare value when there is no label.
func (c Choice) MarshalJSON() ([]byte, error) {
	if c.Label == "" {
		return json.Marshal(c.Value)
	}
	type plain Choice
	return json.Marshal(plain(c))
}

// Field is one field of an action's payload or of a destination's settings,
// with every property of Segment's field definitions. Only Key, Label and
// Type are required; the zero value of every other property means "not set".
type Field struct {
	// Key is the field's key in the payload (and in the manifest).
	Key string `json:"-" validate:"required,max=256"`
	// Label is the field's title; validation messages start with it.
	Label string `json:"label" validate:"required"`
	// Description says what the field is for.
	Description string    `json:"description"`
	Type        FieldType `json:"type" validate:"required,oneof=string text password number integer datetime boolean object"`
	Required    Required  `json:"required,omitzero"`
	// Choices restricts the value to a list.
	Choices []Choice `json:"choices,omitempty" validate:"omitempty,dive"`
	// Minimum and Maximum bound numbers (value) and strings (length). As in
	// Segment, a bound of 0 is ignored, and they do nothing for other types.
	Minimum *float64 `json:"minimum,omitempty"`
	Maximum *float64 `json:"maximum,omitempty"`
	// AllowNull lets the value be null.
	AllowNull bool `json:"allowNull,omitempty"`
	// Multiple makes the value an array of values of Type.
	Multiple bool `json:"multiple,omitempty"`
	// Default is the field's default mapping: a literal or a mapping
	// directive such as {"@path": "$.userId"}. nil means none.
	Default json.RawMessage `json:"default,omitempty"`
	// Format is a string format checked on the value: date-time, date, time,
	// email, uri, hostname, ipv4, ipv6, uuid, text or password.
	Format      string `json:"format,omitempty" validate:"omitempty,oneof=date-time date time email uri hostname ipv4 ipv6 uuid text password date-like"`
	Placeholder string `json:"placeholder,omitempty"`
	// Properties are the known keys of an object field, validated like the
	// payload's own fields; other keys are removed unless
	// AdditionalProperties is true.
	Properties           Fields `json:"properties,omitempty" validate:"omitempty,dive"`
	AdditionalProperties bool   `json:"additionalProperties,omitempty"`
	// The remaining properties only change how Segment's UI shows the field.
	Dynamic              bool        `json:"dynamic,omitempty"`
	DependsOn            *Conditions `json:"depends_on,omitempty" validate:"omitempty"`
	UnsafeHidden         bool        `json:"unsafe_hidden,omitempty"`
	ReadOnly             bool        `json:"readOnly,omitempty"`
	Category             string      `json:"category,omitempty"`
	DisplayMode          string      `json:"displayMode,omitempty"`
	DisabledInputMethods []string    `json:"disabledInputMethods,omitempty"`
	DefaultObjectUI      string      `json:"defaultObjectUI,omitempty"`
}

// Fields is an ordered list of fields. In JSON it is an object keyed by
// field key, in order.
type Fields []Field

// MarshalJSON writes the fields as one object, in order.
func (fs Fields) MarshalJSON() ([]byte, error) {
	var b bytes.Buffer
	b.WriteByte('{')
	for i, f := range fs {
		if i > 0 {
			b.WriteByte(',')
		}
		k, err := json.Marshal(f.Key)
		if err != nil {
			return nil, err
		}
		v, err := json.Marshal(f)
		if err != nil {
			return nil, fmt.Errorf("writing field %q: %w", f.Key, err)
		}
		b.Write(k)
		b.WriteByte(':')
		b.Write(v)
	}
	b.WriteByte('}')
	return b.Bytes(), nil
}

// Get returns the field with the given key.
func (fs Fields) Get(key string) (*Field, bool) {
	for i := range fs {
		if fs[i].Key == key {
			return &fs[i], true
		}
	}
	return nil, false
}

// Float returns a pointer to f, for Field.Minimum and Field.Maximum.
func Float(f float64) *float64 { return &f }

// PathDefault returns the default mapping {"@path": path}.
func PathDefault(path string) json.RawMessage {
	b, _ := json.Marshal(map[string]string{"@path": path})
	return b
}

// LiteralDefault returns v as a literal default mapping. It panics if v
// cannot be marshalled, which is a programming error in a definition.
func LiteralDefault(v any) json.RawMessage {
	b, err := json.Marshal(v)
	if err != nil {
		panic(fmt.Sprintf("destination: default %v: %v", v, err))
	}
	return b
}
