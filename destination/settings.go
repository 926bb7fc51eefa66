package destination

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/tidwall/gjson"
)

// Settings are a destination instance's validated settings: the JSON
// object of its authentication fields.
type Settings struct {
	JSON []byte
}

// ParseSettings validates raw settings against the definition's
// authentication fields and returns them: a field that is absent and has a
// literal Default takes it, unknown keys are removed and values coerced.
// The error is a *ValidationError in Segment's words.
func (d *Definition) ParseSettings(raw []byte) (Settings, error) {
	var fields Fields
	if d.Authentication != nil {
		fields = d.Authentication.Fields
	}
	s, err := NewSchema(fields)
	if err != nil {
		return Settings{}, fmt.Errorf("compiling settings fields: %w", err)
	}
	if len(bytes.TrimSpace(raw)) == 0 {
		raw = []byte("{}")
	}
	var de *DepthError
	if errors.As(CheckDepth(raw), &de) {
		return Settings{}, &ValidationError{Errors: []FieldError{{Path: "$", Message: "The settings are " + de.Error() + "."}}}
	}
	if !gjson.ValidBytes(raw) {
		return Settings{}, &ValidationError{Errors: []FieldError{{Path: "$", Message: "The settings are not valid JSON."}}}
	}
	if r := gjson.ParseBytes(raw); r.IsObject() {
		raw = withDefaults(raw, r, fields)
	}
	var p Payload
	if _, err := s.Validate(nil, raw, Batched, &p); err != nil {
		return Settings{}, err
	}
	return Settings{JSON: append([]byte(nil), p.JSON...)}, nil
}

// Get returns a setting's value.
func (s Settings) Get(key string) gjson.Result {
	return gjson.GetBytes(s.JSON, gjson.Escape(key))
}

// String returns a setting's value as a string ("" when absent).
func (s Settings) String(key string) string { return s.Get(key).String() }

// withDefaults adds the literal defaults of absent fields to obj.
func withDefaults(raw []byte, obj gjson.Result, fields Fields) []byte {
	var add []byte
	for _, f := range fields {
		if len(f.Default) == 0 || isDirective(f.Default) || memberOf(obj, f.Key).Exists() {
			continue
		}
		k, _ := json.Marshal(f.Key)
		add = append(add, ',')
		add = append(add, k...)
		add = append(add, ':')
		add = append(add, f.Default...)
	}
	if add == nil {
		return raw
	}
	body := bytes.TrimSpace(raw)
	body = body[:len(body)-1] // the closing brace of an object
	out := append([]byte(nil), body...)
	if bytes.Equal(bytes.TrimSpace(body), []byte("{")) {
		add = add[1:]
	}
	out = append(out, add...)
	return append(out, '}')
}

// isDirective reports whether a default is a mapping directive (an object
// with an "@" key) rather than a literal.
func isDirective(def json.RawMessage) bool {
	r := gjson.ParseBytes(def)
	if !r.IsObject() {
		return false
	}
	found := false
	r.ForEach(func(k, _ gjson.Result) bool {
		found = strings.HasPrefix(k.Str, "@")
		return !found
	})
	return found
}
