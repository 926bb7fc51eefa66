package destination

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"strings"
)

// Definition describes a destination: its name, its settings (the
// authentication fields) and its actions. It is plain data, written next to
// the code that performs the actions; Manifest turns it into the JSON that
// Segment's tooling reads, and Compile turns one action into a Pipeline.
type Definition struct {
	Name string `json:"name" validate:"required"`
	Slug string `json:"slug,omitempty" validate:"omitempty,max=256"`
	// Mode is "cloud" (events are sent from servers) or "device".
	Mode        string `json:"mode" validate:"required,oneof=cloud device"`
	Description string `json:"description,omitempty"`
	// Authentication holds the settings fields, validated once per
	// destination instance by ParseSettings.
	Authentication *Authentication `json:"authentication,omitempty"`
	Actions        []*Action       `json:"-" validate:"dive,required"`
}

// Authentication is a destination's authentication scheme and its ordered
// settings fields.
type Authentication struct {
	// Scheme is "custom", "basic", "oauth2" or "oauth-managed".
	Scheme string `json:"scheme" validate:"required,oneof=custom basic oauth2 oauth-managed"`
	Fields Fields `json:"fields" validate:"dive"`
}

// PerformFunc delivers one valid payload and says how it went. Results fail
// closed: a Result with Status 0 (one nobody set) is a retryable 500, so a
// delivered payload's Result says 200 (or another 2xx).
type PerformFunc func(ctx context.Context, settings Settings, payload *Payload) Result

// PerformBatchFunc delivers valid payloads together and returns one Result
// per payload, in the same order. The payloads are valid until it returns;
// their JSON stays valid for as long as the results are kept. A missing result, or one with Status 0, is
// a retryable 500 for that payload: a perform function acknowledges only
// what it says it delivered. A Result's nil Sent is filled in with the
// payload; one that sent nothing sets Sent to an empty, non-nil value.
type PerformBatchFunc func(ctx context.Context, settings Settings, payloads []*Payload) []Result

// Action is one thing a destination does with an event, such as "Send Data".
type Action struct {
	// Key is the action's key in the manifest and in URLs ("send").
	Key         string `json:"-" validate:"required,max=256"`
	Title       string `json:"title" validate:"required"`
	Description string `json:"description"`
	// DefaultSubscription is the FQL subscription used when none is given.
	DefaultSubscription string `json:"defaultSubscription,omitempty"`
	Fields              Fields `json:"fields" validate:"dive"`
	// Perform and PerformBatch deliver payloads; at least one is needed to
	// Execute an action. An action that only describes (a Definition's
	// actions, read by Manifest) may leave both nil; the code that delivers
	// sets them on its copy of the action, as singlestore.Writer does.
	Perform      PerformFunc      `json:"-"`
	PerformBatch PerformBatchFunc `json:"-"`
}

// Action returns the action with the given key.
func (d *Definition) Action(key string) (*Action, bool) {
	for _, a := range d.Actions {
		if a.Key == key {
			return a, true
		}
	}
	return nil, false
}

// Manifest returns the definition as JSON, in the shape of Segment's
// destination definitions: {name, slug, mode, authentication: {scheme,
// fields}, actions: {KEY: {title, description, defaultSubscription,
// fields}}}, with fields and actions in their defined order.
func (d *Definition) Manifest() ([]byte, error) {
	type head Definition
	h, err := json.Marshal((*head)(d))
	if err != nil {
		return nil, fmt.Errorf("writing definition %q: %w", d.Name, err)
	}
	var b bytes.Buffer
	b.Write(h[:len(h)-1])
	b.WriteString(`,"actions":{`)
	for i, a := range d.Actions {
		if i > 0 {
			b.WriteByte(',')
		}
		k, _ := json.Marshal(a.Key)
		v, err := json.Marshal(a)
		if err != nil {
			return nil, fmt.Errorf("writing action %q: %w", a.Key, err)
		}
		b.Write(k)
		b.WriteByte(':')
		b.Write(v)
	}
	b.WriteString("}}")
	return b.Bytes(), nil
}

// Validate checks that the definition is well formed: required properties,
// known types and formats, unique keys, bounds in order, defaults that are
// JSON, conditions on existing fields, and default subscriptions that parse.
// The error is a *DefinitionError listing every problem.
func (d *Definition) Validate() error {
	var problems []FieldError
	if err := structValidator().Struct(d); err != nil {
		problems = append(problems, translateStructErrors(err)...)
	}
	if d.Authentication != nil {
		problems = append(problems, checkFields("$.authentication.fields", d.Authentication.Fields, d.Authentication.Fields)...)
	}
	seen := map[string]bool{}
	for i, a := range d.Actions {
		if a == nil {
			continue
		}
		path := fmt.Sprintf("$.actions.%s", a.Key)
		if seen[a.Key] {
			problems = append(problems, FieldError{Path: fmt.Sprintf("$.actions[%d]", i), Message: fmt.Sprintf("Action key %q is used twice.", a.Key)})
		}
		seen[a.Key] = true
		problems = append(problems, a.check(path)...)
	}
	if len(problems) > 0 {
		return &DefinitionError{Problems: problems}
	}
	return nil
}

// Validate checks the action on its own, as Definition.Validate does.
func (a *Action) Validate() error {
	var problems []FieldError
	if err := structValidator().Struct(a); err != nil {
		problems = append(problems, translateStructErrors(err)...)
	}
	problems = append(problems, a.check("$.actions."+a.Key)...)
	if len(problems) > 0 {
		return &DefinitionError{Problems: problems}
	}
	return nil
}

func (a *Action) check(path string) []FieldError {
	var problems []FieldError
	if a.DefaultSubscription != "" {
		if _, err := ParseSubscription(a.DefaultSubscription); err != nil {
			problems = append(problems, FieldError{Path: path + ".defaultSubscription", Message: fmt.Sprintf("The default subscription does not parse: %v.", err)})
		}
	}
	return append(problems, checkFields(path+".fields", a.Fields, a.Fields)...)
}

// checkFields checks what struct tags cannot: unique keys, bounds, defaults,
// properties only on objects, and conditions that name existing fields.
// Conditions, nested ones included, name fields of the top level (root).
func checkFields(path string, fs, root Fields) []FieldError {
	var problems []FieldError
	add := func(p, format string, args ...any) {
		problems = append(problems, FieldError{Path: p, Message: fmt.Sprintf(format, args...)})
	}
	seen := map[string]bool{}
	for _, f := range fs {
		fp := path + "." + f.Key
		if f.Key == "" {
			continue // reported by the struct tags
		}
		if seen[f.Key] {
			add(fp, "Field key %q is used twice.", f.Key)
		}
		seen[f.Key] = true
		if strings.ContainsAny(f.Key, ".") {
			add(fp, "Field key %q contains '.', which conditions use to address children of object fields.", f.Key)
		}
		if f.Minimum != nil && f.Maximum != nil && *f.Minimum > *f.Maximum {
			add(fp, "Minimum %v is greater than maximum %v.", *f.Minimum, *f.Maximum)
		}
		if len(f.Default) > 0 && !json.Valid(f.Default) {
			add(fp+".default", "The default is not valid JSON.")
		}
		if len(f.Properties) > 0 && f.Type != TypeObject {
			add(fp+".properties", "Properties are only allowed on object fields, and this field is a %s.", f.Type)
		}
		if len(f.Properties) > 0 {
			problems = append(problems, checkFields(fp+".properties", f.Properties, root)...)
		}
		for _, c := range conditionsOf(f) {
			head, _, _ := strings.Cut(c.FieldKey, ".")
			if _, ok := root.Get(head); !ok {
				add(fp+".required", "The condition names field %q, which this action does not have.", c.FieldKey)
			}
			if _, err := json.Marshal(c.Value); err != nil {
				add(fp+".required", "The condition value %v is not JSON: %v.", c.Value, err)
			}
		}
	}
	return problems
}

func conditionsOf(f Field) []Condition {
	if f.Required.When == nil {
		return nil
	}
	return f.Required.When.Conditions
}
