package mapping

import (
	"errors"
	"strings"
)

var (
	// ErrInvalidMapping is matched (errors.Is) by every error Compile returns:
	// malformed JSON, a null mapping, or mapping-kit validation failures.
	ErrInvalidMapping = errors.New("invalid mapping")

	// ErrEventNotObject is wrapped by the *RuntimeError that Apply returns when
	// the event is not a JSON object ("data must be an object, got array"), and
	// by @transform when the data it is applied to is not an object.
	ErrEventNotObject = errors.New("event is not a JSON object")

	// ErrTooDeep is wrapped by the *RuntimeError returned when a value nests
	// deeper than the engine follows (10,000 levels); JavaScript fails there
	// with a stack overflow.
	ErrTooDeep = errors.New("value nested too deeply")
)

// ValidationError is one problem found in a mapping by Compile. Path is the
// place of the problem as keys from the root of the mapping (directive names
// included, e.g. ["a", "b", "@if", "then", "@template"]); Message is
// mapping-kit's wording without the path and the final period.
type ValidationError struct {
	Path    []string
	Message string
}

// Error returns the message exactly as mapping-kit writes it:
// "/a/b/@if should be an object but it is a number.".
func (e *ValidationError) Error() string {
	return "/" + strings.Join(e.Path, "/") + " " + e.Message + "."
}

// Is reports whether target is ErrInvalidMapping.
func (e *ValidationError) Is(target error) bool { return target == ErrInvalidMapping }

// ValidationErrors is every problem Compile found in a mapping, in
// mapping-kit's order. Use errors.As to get it from Compile's error.
type ValidationErrors []*ValidationError

// Error joins the messages with "; ".
func (es ValidationErrors) Error() string {
	msgs := make([]string, len(es))
	for i, e := range es {
		msgs[i] = e.Error()
	}
	return strings.Join(msgs, "; ")
}

// Unwrap returns each *ValidationError, so errors.As(err, &ve) finds the first.
func (es ValidationErrors) Unwrap() []error {
	errs := make([]error, len(es))
	for i, e := range es {
		errs[i] = e
	}
	return errs
}

// Is reports whether target is ErrInvalidMapping.
func (es ValidationErrors) Is(target error) bool { return target == ErrInvalidMapping }

// RuntimeError is a failure while a mapping is applied to an event: a
// directive whose options are unusable at run time (which validation lets
// through, e.g. @merge without "direction"), a @liquid template error, or an
// event that is not an object. Message is mapping-kit's wording.
type RuntimeError struct {
	// Directive is the directive that failed ("@merge", "@liquid", …), or
	// empty when the event itself was rejected.
	Directive string
	// Message is the error message, e.g. `@merge requires a "direction" key`.
	Message string
	// Err is the underlying cause, if any (ErrEventNotObject, ErrTooDeep, or
	// the template engine's error for @liquid).
	Err error
}

// Error returns Message.
func (e *RuntimeError) Error() string { return e.Message }

// Unwrap returns the underlying cause.
func (e *RuntimeError) Unwrap() error { return e.Err }

func rtErr(directive, msg string) error { return &RuntimeError{Directive: directive, Message: msg} }

func notObjectErr(raw string) error {
	return &RuntimeError{Message: "data must be an object, got " + realType(raw), Err: ErrEventNotObject}
}

func tooDeepErr() error {
	return &RuntimeError{Message: "Maximum call stack size exceeded", Err: ErrTooDeep}
}
