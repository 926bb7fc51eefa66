package destination

import (
	"errors"
	"fmt"
	"reflect"
	"strconv"
	"strings"
	"sync"

	"github.com/go-playground/validator/v10"
)

// Sentinel errors. Every error of the package wraps one of them, so callers
// branch with errors.Is and never on the text.
var (
	// ErrValidation is wrapped by *ValidationError: a payload or settings
	// object that does not satisfy its fields.
	ErrValidation = errors.New("validation failed")
	// ErrNoMatch is returned for an event its subscription does not select.
	// Its Result carries Segment's message, NoMatchMessage.
	ErrNoMatch = errors.New("event does not match the subscription")
	// ErrInvalidDefinition is wrapped by *DefinitionError.
	ErrInvalidDefinition = errors.New("invalid destination definition")
	// ErrInvalidEvent is returned for an event that is not a JSON object.
	ErrInvalidEvent = errors.New("event is not a JSON object")
)

// FieldError is one problem with one value, in Segment's words.
type FieldError struct {
	// Path is a JSONPath to the value: "$" for the payload itself,
	// "$.event", "$.items[0]".
	Path string `json:"path"`
	// Pointer is the JSON pointer to the value: "", "/event", "/items/0".
	Pointer string `json:"pointer"`
	// Message is a full sentence starting with the field's label, such as
	// "Event must be a string but it was an object.".
	Message string `json:"message"`
}

func (e *FieldError) Error() string { return e.Message }

// ValidationError is a payload (or settings object) that failed validation:
// Segment's AggregateAjvError. Its message is the messages of its errors
// joined with a space, exactly as Segment reports it.
type ValidationError struct {
	Errors []FieldError
}

func (e *ValidationError) Error() string {
	var b strings.Builder
	for i := range e.Errors {
		if i > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(e.Errors[i].Message)
	}
	return b.String()
}

// Unwrap makes errors.Is(err, ErrValidation) hold.
func (e *ValidationError) Unwrap() error { return ErrValidation }

// NewValidationError returns a *ValidationError for one value: message is a
// sentence such as "Timestamp must be a valid date and time string but it
// was not.", pointer the value's JSON pointer ("/timestamp"). Actions use it
// for checks of their own that must be reported as 400 payload errors.
func NewValidationError(pointer, message string) *ValidationError {
	return &ValidationError{Errors: []FieldError{{Path: jsonPath(pointer), Pointer: pointer, Message: message}}}
}

// DefinitionError lists the problems of a Definition or Action.
type DefinitionError struct {
	Problems []FieldError
}

func (e *DefinitionError) Error() string {
	var b strings.Builder
	b.WriteString("invalid destination definition:")
	for _, p := range e.Problems {
		fmt.Fprintf(&b, " %s: %s", p.Path, p.Message)
	}
	return b.String()
}

// Unwrap makes errors.Is(err, ErrInvalidDefinition) hold.
func (e *DefinitionError) Unwrap() error { return ErrInvalidDefinition }

// jsonPath turns a JSON pointer into the JSONPath that Segment reports:
// "" is "$", "/a/0/b.c" is "$.a[0].b\.c".
func jsonPath(pointer string) string {
	if pointer == "" {
		return "$"
	}
	var b strings.Builder
	b.WriteByte('$')
	for _, seg := range strings.Split(pointer[1:], "/") {
		seg = strings.ReplaceAll(seg, "~1", "/")
		seg = strings.ReplaceAll(seg, "~0", "~")
		seg = strings.ReplaceAll(seg, ".", `\.`)
		if seg != "" && strings.Trim(seg, "0123456789") == "" {
			b.WriteString("[" + seg + "]")
		} else {
			b.WriteString("." + seg)
		}
	}
	return b.String()
}

// pointerEscape escapes one JSON pointer segment.
func pointerEscape(s string) string {
	if !strings.ContainsAny(s, "~/") {
		return s
	}
	s = strings.ReplaceAll(s, "~", "~0")
	return strings.ReplaceAll(s, "/", "~1")
}

// structValidator is the package's one go-playground validator. It checks
// definitions (through their struct tags) and typed settings structs
// (ValidateStruct); its errors are translated into FieldErrors, so its types
// never reach callers.
var structValidator = sync.OnceValue(func() *validator.Validate {
	v := validator.New(validator.WithRequiredStructEnabled())
	v.RegisterTagNameFunc(func(f reflect.StructField) string {
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if name == "" || name == "-" {
			return strings.ToLower(f.Name[:1]) + f.Name[1:]
		}
		return name
	})
	return v
})

// ValidateStruct validates a typed struct, such as a destination's settings,
// with the go-playground/validator tags on its fields, and reports problems
// in Segment's wording. A field's `label:"…"` tag starts its messages, as a
// field's Label does in payload validation. The error is a *ValidationError.
//
//	type Settings struct {
//		Host string `json:"host" label:"Host" validate:"required,hostname|ip"`
//	}
func ValidateStruct(v any) error {
	err := structValidator().Struct(v)
	if err == nil {
		return nil
	}
	var invalid *validator.InvalidValidationError
	if errors.As(err, &invalid) {
		return fmt.Errorf("validating %T: %w", v, invalid)
	}
	labels := map[string]string{}
	if t := reflect.TypeOf(v); t != nil {
		for t.Kind() == reflect.Pointer {
			t = t.Elem()
		}
		if t.Kind() == reflect.Struct {
			for i := 0; i < t.NumField(); i++ {
				f := t.Field(i)
				name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
				if l := f.Tag.Get("label"); l != "" && name != "" {
					labels[name] = l
				}
			}
		}
	}
	return &ValidationError{Errors: translateWithLabels(err, labels)}
}

// translateStructErrors turns validator errors about a definition into
// FieldErrors.
func translateStructErrors(err error) []FieldError {
	return translateWithLabels(err, nil)
}

func translateWithLabels(err error, labels map[string]string) []FieldError {
	var ves validator.ValidationErrors
	if !errors.As(err, &ves) {
		return []FieldError{{Path: "$", Message: capitalize(err.Error()) + "."}}
	}
	out := make([]FieldError, 0, len(ves))
	for _, fe := range ves {
		// The namespace starts with the struct's type name.
		ns := fe.Namespace()
		if _, rest, ok := strings.Cut(ns, "."); ok {
			ns = rest
		}
		pointer, path := namespacePaths(ns)
		parentPointer := pointer[:strings.LastIndex(pointer, "/")]
		preamble := "the value at " + pointer
		if l, ok := labels[ns]; ok {
			preamble = l
		}
		var msg string
		switch fe.Tag() {
		case "required", "required_if", "required_unless", "required_with", "required_without":
			parent := "the root value"
			if parentPointer != "" {
				parent = "the value at " + parentPointer
			}
			msg = fmt.Sprintf("%s is missing the required field '%s'", parent, fe.Field())
		case "oneof":
			vals := strings.Fields(fe.Param())
			for i, v := range vals {
				vals[i] = strconv.Quote(v)
			}
			msg = fmt.Sprintf("%s must be one of: %s", preamble, humanizeList(vals, "or"))
		case "min", "gte", "max", "lte", "len":
			msg = boundMessage(preamble, fe)
		case "hostname", "hostname_rfc1123", "fqdn":
			msg = fmt.Sprintf("%s must be a valid hostname string but it was not", preamble)
		case "ip", "ipv4", "ipv6":
			msg = fmt.Sprintf("%s must be a valid IP address string but it was not", preamble)
		case "url", "uri", "http_url":
			msg = fmt.Sprintf("%s must be a valid URI string but it was not", preamble)
		case "email":
			msg = fmt.Sprintf("%s must be a valid email address string but it was not", preamble)
		case "numeric", "number":
			msg = fmt.Sprintf("%s must be a number but it was not", preamble)
		default:
			if strings.Contains(fe.Tag(), "|") {
				msg = fmt.Sprintf("%s must be one of %s but it was not", preamble, strings.ReplaceAll(fe.Tag(), "|", " or "))
			} else {
				msg = fmt.Sprintf("%s must satisfy %q but it did not", preamble, fe.Tag())
			}
		}
		out = append(out, FieldError{Path: path, Pointer: pointer, Message: capitalize(msg) + "."})
	}
	return out
}

func boundMessage(preamble string, fe validator.FieldError) string {
	limit := fe.Param()
	more := fe.Tag() == "min" || fe.Tag() == "gte"
	switch fe.Kind() {
	case reflect.String:
		n, _ := strconv.Atoi(limit)
		actual := len([]rune(fmt.Sprint(fe.Value())))
		switch fe.Tag() {
		case "len":
			return fmt.Sprintf("%s must be exactly %d %s but it was %d %s", preamble, n, pluralize("character", n), actual, pluralize("character", actual))
		case "min", "gte":
			return fmt.Sprintf("%s must be %d %s or more but it was %d %s", preamble, n, pluralize("character", n), actual, pluralize("character", actual))
		}
		return fmt.Sprintf("%s must be %d %s or fewer but it was %d %s", preamble, n, pluralize("character", n), actual, pluralize("character", actual))
	case reflect.Slice, reflect.Map, reflect.Array:
		if more {
			return fmt.Sprintf("%s must have %s or more items", preamble, limit)
		}
		return fmt.Sprintf("%s must have %s or fewer items", preamble, limit)
	}
	if fe.Tag() == "len" {
		return fmt.Sprintf("%s must be equal to %s", preamble, limit)
	}
	if more {
		return fmt.Sprintf("%s must be equal to or greater than %s", preamble, limit)
	}
	return fmt.Sprintf("%s must be equal to or less than %s", preamble, limit)
}

// namespacePaths turns a validator namespace ("actions[0].fields[2].label")
// into a JSON pointer and a JSONPath.
func namespacePaths(ns string) (pointer, path string) {
	var p strings.Builder
	for _, part := range strings.Split(ns, ".") {
		name, idx, hasIdx := strings.Cut(part, "[")
		p.WriteString("/" + pointerEscape(name))
		if hasIdx {
			p.WriteString("/" + strings.TrimSuffix(idx, "]"))
		}
	}
	pointer = p.String()
	return pointer, jsonPath(pointer)
}

// capitalize upper-cases the first letter, as ajv-human-errors does.
func capitalize(s string) string {
	if s == "" {
		return s
	}
	if c := s[0]; c >= 'a' && c <= 'z' {
		return string(c-'a'+'A') + s[1:]
	}
	return s
}

func pluralize(word string, n int) string {
	if n == 1 {
		return word
	}
	return word + "s"
}

// humanizeList joins items as "a", "a or b", "a, b, or c" (with the Oxford
// comma), as ajv-human-errors does.
func humanizeList(items []string, conj string) string {
	switch len(items) {
	case 0:
		return "nothing"
	case 1:
		return items[0]
	case 2:
		return items[0] + " " + conj + " " + items[1]
	}
	return strings.Join(items[:len(items)-1], ", ") + ", " + conj + " " + items[len(items)-1]
}
