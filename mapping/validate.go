package mapping

import (
	"strconv"
	"strings"

	"github.com/s2segment/s2segment/internal/jsontext"
)

// The validator mirrors mapping-kit's validate.ts: a check either passes
// (nil) or "throws" one or more errors; objects aggregate the errors of
// their keys, and a directive's option object aggregates the errors of its
// fields.

type verrs = []*ValidationError

type validator func(v *jv, stack []string) verrs

func push(stack []string, k string) []string {
	s := make([]string, len(stack), len(stack)+1)
	copy(s, stack)
	return append(s, k)
}

func fail(stack []string, msg string) verrs {
	return verrs{{Path: append([]string(nil), stack...), Message: msg}}
}

func article(t string) string {
	switch t[0] {
	case 'a', 'e', 'i', 'o', 'u':
		return "an " + t
	}
	return "a " + t
}

func realTypeOrDirective(v *jv) string {
	if v != nil && v.kind == kObject && hasAtKey(v) {
		return "directive"
	}
	return jvRealType(v)
}

// validateMapping is mapping-kit's validate(mapping).
func validateMapping(v *jv, stack []string) verrs {
	switch realTypeOrDirective(v) {
	case "directive":
		return validateDirective(v, stack)
	case "object":
		return validateObject(v, stack)
	}
	return nil // arrays and scalars are valid raw mappings
}

var directiveValidators map[string]validator

func init() {
	directiveValidators = map[string]validator{
		"@if": fields(
			field{name: "exists", check: validateDirectiveOrRaw},
			field{name: "then", check: validateDirectiveOrRaw},
			field{name: "else", check: validateDirectiveOrRaw},
		),
		"@case": fields(
			field{name: "operator", check: validateString},
			field{name: "value", check: validateDirectiveOrString},
		),
		"@replace": fields(
			field{name: "pattern", required: true, check: allOf(validateString, validateStringLength(1, maxPatternLength))},
			field{name: "replacement", check: allOf(validateString, validateStringLength(0, maxReplacementLength))},
			field{name: "value", required: true, check: validateDirectiveOrString},
			field{name: "ignorecase", check: validateBoolean},
			field{name: "global", check: validateBoolean},
		),
		"@arrayPath": func(v *jv, stack []string) verrs {
			if errs := validateArray(v, stack); errs != nil {
				return errs
			}
			first, second := v.elem(0), v.elem(1)
			if errs := validateDirectiveOrString(first, stack); errs != nil {
				return errs
			}
			return validateMapping(second, stack)
		},
		"@path":            validateDirectiveOrString,
		"@template":        validateDirectiveOrString,
		"@literal":         validateDirectiveOrRaw,
		"@excludeWhenNull": validateDirectiveOrRaw,
		"@liquid":          validateString,
		"@flatten": fields(
			field{name: "value", required: true, check: validateDirectiveOrRaw},
			field{name: "separator", check: validateString},
		),
		"@json": fields(
			field{name: "value", required: true, check: validateDirectiveOrRaw},
			field{name: "mode", required: true, check: validateAllowedStrings("encode", "decode")},
		),
		"@merge": fields(
			field{name: "objects", required: true, check: func(v *jv, stack []string) verrs {
				if errs := validateArray(v, stack); errs != nil {
					return errs
				}
				// mapping-kit checks the entries without the stack, so their
				// errors are reported at "/".
				for _, e := range v.vals {
					if errs := validateDirectiveOrObject(e, nil); errs != nil {
						return errs
					}
				}
				return nil
			}},
			field{name: "direction", check: validateAllowedStrings("left", "right")},
		),
		"@transform": fields(
			field{name: "apply", required: true, check: validateDirectiveOrObject},
			field{name: "mapping", required: true, check: validateDirectiveOrObject},
		),
	}
}

func validateDirective(v *jv, stack []string) verrs {
	if v == nil || v.kind != kObject {
		t := jvRealType(v)
		return fail(stack, "should be a directive object but it is "+article(t))
	}
	directives := 0
	for _, k := range v.keys {
		if strings.HasPrefix(k, "@") {
			directives++
		}
	}
	if directives > 1 {
		return fail(stack, "should only have one @-prefixed key but it has "+strconv.Itoa(directives)+" keys")
	}
	for _, k := range v.keys {
		if !strings.HasPrefix(k, "@") && k != "_metadata" {
			return fail(stack, "should only have one @-prefixed key but it has "+strconv.Itoa(len(v.keys))+" keys")
		}
	}
	name := firstAtKey(v)
	check, ok := directiveValidators[name]
	if !ok {
		return fail(stack, "has an invalid directive: "+name)
	}
	return check(v.get(name), push(stack, name))
}

func validateDirectiveOrRaw(v *jv, stack []string) verrs {
	switch t := realTypeOrDirective(v); t {
	case "directive":
		return validateDirective(v, stack)
	case "undefined":
		return fail(stack, "should be a mapping directive or a JSON value but it is "+article(t))
	}
	return nil
}

func validateDirectiveOrString(v *jv, stack []string) verrs {
	switch t := realTypeOrDirective(v); t {
	case "directive":
		return validateDirective(v, stack)
	case "string":
		return nil
	default:
		return fail(stack, "should be a string or a mapping directive but it is "+article(t))
	}
}

func validateDirectiveOrObject(v *jv, stack []string) verrs {
	switch t := realTypeOrDirective(v); t {
	case "directive":
		return validateDirective(v, stack)
	case "object":
		return validateObject(v, stack)
	default:
		return fail(stack, "should be a object or a mapping directive but it is "+article(t))
	}
}

func validateString(v *jv, stack []string) verrs {
	if t := realTypeOrDirective(v); t != "string" {
		return fail(stack, "should be a string but it is "+article(t))
	}
	return nil
}

func validateBoolean(v *jv, stack []string) verrs {
	if t := realTypeOrDirective(v); t != "boolean" {
		return fail(stack, "should be a boolean but it is "+article(t))
	}
	return nil
}

func validateArray(v *jv, stack []string) verrs {
	if t := jvRealType(v); t != "array" {
		return fail(stack, "should be an array but it is "+article(t))
	}
	return nil
}

func validateStringLength(min, max int) validator {
	return func(v *jv, stack []string) verrs {
		if v == nil || v.kind != kString {
			return nil
		}
		n := utf16Len(v.str)
		if n < min {
			return fail(stack, "should be a string of length "+strconv.Itoa(min)+" or greater")
		}
		if n > max {
			return fail(stack, "should be a string of length "+strconv.Itoa(max)+" or less")
		}
		return nil
	}
}

func validateAllowedStrings(allowed ...string) validator {
	return func(v *jv, stack []string) verrs {
		if errs := validateString(v, stack); errs != nil {
			return errs
		}
		lower := jsLower(v.str)
		for _, a := range allowed {
			if lower == a {
				return nil
			}
		}
		return fail(stack, "should be one of "+strings.Join(allowed, ", ")+" but it is "+string(jsontext.AppendString(nil, v.str)))
	}
}

func allOf(checks ...validator) validator {
	return func(v *jv, stack []string) verrs {
		for _, c := range checks {
			if errs := c(v, stack); errs != nil {
				return errs
			}
		}
		return nil
	}
}

func validateObject(v *jv, stack []string) verrs {
	if t := realTypeOrDirective(v); t != "object" {
		return fail(stack, "should be an object but it is "+article(t))
	}
	var errs verrs
	for i, k := range v.keys {
		errs = append(errs, validateMapping(v.vals[i], push(stack, k))...)
	}
	return errs
}

type field struct {
	name     string
	required bool
	check    validator
}

// fields is validateObjectWithFields: the options must be an object whose
// keys are valid mappings, then each listed field is checked.
func fields(fs ...field) validator {
	return func(v *jv, stack []string) verrs {
		if errs := validateObject(v, stack); errs != nil {
			return errs
		}
		var errs verrs
		for _, f := range fs {
			val := v.get(f.name)
			switch {
			case val == nil && f.required:
				errs = append(errs, fail(stack, `should have field "`+f.name+`" but it doesn't`)...)
			case val != nil:
				errs = append(errs, f.check(val, push(stack, f.name))...)
			}
		}
		return errs
	}
}
