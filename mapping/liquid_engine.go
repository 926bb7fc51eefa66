package mapping

import (
	"errors"
	"math"
	"reflect"
	"strconv"
	"strings"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/osteele/liquid"
	"github.com/osteele/liquid/render"
	"github.com/osteele/liquid/values"

	"github.com/s2segment/s2segment/internal/jsontext"
)

// The template engine behind @liquid, configured to behave like mapping-kit's
// LiquidJS: disabled tags and filters, JavaScript printing and arithmetic,
// and bounded memory. Filters of the standard set that can fail with a panic
// (regular expressions built from arguments, unchecked slice bounds, ranges
// turned into arrays) are replaced.

// maxLiquidString bounds every string a template builds (filter results,
// captures and the output), standing in for LiquidJS's 100 MB memory limit:
// without a bound, a 1000-character template can double a string dozens of
// times.
const maxLiquidString = 1 << 20

// captureTag replaces the capture tag, whose standard implementation has no
// bound on what it captures.
const captureTag = "capture_bounded"

var disabledTags = []string{"case", "for", "include", "layout", "render", "tablerow"}

var disabledFilters = []string{
	"array_to_sentence_string", "concat", "find", "find_exp", "find_index", "find_index_exp",
	"group_by", "group_by_exp", "has", "has_exp", "map", "newline_to_br", "reject", "reject_exp",
	"reverse", "sort", "sort_natural", "uniq", "where_exp", "type",
}

// liquidDisabledError is the error of a disabled tag or filter.
type liquidDisabledError struct{ what, name string }

func (e *liquidDisabledError) Error() string { return e.what + ` "` + e.name + `" is disabled` }

var errLiquidMemory = errors.New("memory alloc limit exceeded")

var liquidEngine = newLiquidEngine()

func newLiquidEngine() *liquid.Engine {
	e := liquid.NewEngine()
	for _, name := range disabledFilters {
		e.RegisterFilter(name, func(any, ...any) (any, error) {
			return nil, &liquidDisabledError{"filter", name}
		})
	}
	e.RegisterFilter("size", func(v any) int {
		switch v := v.(type) {
		case string:
			return utf16Len(v)
		case []any:
			return len(v)
		}
		return max(listLen(v), 0)
	})
	e.RegisterFilter("default", func(v, def any, _ ...any) any {
		switch x := v.(type) {
		case nil:
			return def
		case bool:
			if !x {
				return def
			}
		case string:
			if x == "" {
				return def
			}
		case []any:
			if len(x) == 0 {
				return def
			}
		}
		return v
	})
	arith := map[string]func(a, b float64) float64{
		"plus":       func(a, b float64) float64 { return a + b },
		"minus":      func(a, b float64) float64 { return a - b },
		"times":      func(a, b float64) float64 { return a * b },
		"divided_by": func(a, b float64) float64 { return a / b },
		"modulo":     math.Mod,
		"at_least":   math.Max,
		"at_most":    math.Min,
	}
	for name, fn := range arith {
		e.RegisterFilter(name, func(a, b any) jsNum { return jsNum(fn(toNumber(a), toNumber(b))) })
	}
	e.RegisterFilter("abs", func(a any) jsNum { return jsNum(math.Abs(toNumber(a))) })
	e.RegisterFilter("ceil", func(a any) jsNum { return jsNum(math.Ceil(toNumber(a))) })
	e.RegisterFilter("floor", func(a any) jsNum { return jsNum(math.Floor(toNumber(a))) })
	e.RegisterFilter("round", func(a any, places ...any) jsNum {
		amp := 1.0
		if len(places) > 0 {
			amp = math.Pow(10, math.Trunc(toNumber(places[0])))
		}
		return jsNum(math.Floor(toNumber(a)*amp+0.5) / amp)
	})
	e.RegisterFilter("append", func(s, suffix any) (string, error) {
		return capped(liquidString(s) + liquidString(suffix))
	})
	e.RegisterFilter("prepend", func(s, prefix any) (string, error) {
		return capped(liquidString(prefix) + liquidString(s))
	})
	e.RegisterFilter("replace", func(s, old, repl any) (string, error) {
		str, o, r := liquidString(s), liquidString(old), liquidString(repl)
		if o != "" && int64(strings.Count(str, o))*int64(len(r)) > maxLiquidString {
			return "", errLiquidMemory
		}
		return capped(strings.ReplaceAll(str, o, r))
	})
	e.RegisterFilter("join", func(a any, sep ...any) (string, error) {
		list, ok := asList(a)
		if !ok {
			return liquidString(a), nil
		}
		glue := " "
		if len(sep) > 0 {
			glue = liquidString(sep[0])
		}
		parts := make([]string, len(list))
		total := 0
		for i, v := range list {
			parts[i] = liquidString(v)
			total += len(parts[i]) + len(glue)
			if total > maxLiquidString {
				return "", errLiquidMemory
			}
		}
		return strings.Join(parts, glue), nil
	})
	// Filters of the standard set that can fail with a panic (regular
	// expressions built from the arguments, unchecked slice bounds, ranges
	// turned into arrays) or that differ from LiquidJS are replaced.
	e.RegisterFilter("slice", func(v, begin any, length ...any) any {
		n := 1
		if len(length) > 0 {
			n = toInt(length[0])
		}
		if list, ok := asList(v); ok {
			start, end := jsSliceBounds(len(list), toInt(begin), n)
			return append([]any(nil), list[start:end]...)
		}
		units := utf16.Encode([]rune(liquidString(v)))
		start, end := jsSliceBounds(len(units), toInt(begin), n)
		return string(utf16.Decode(units[start:end]))
	})
	e.RegisterFilter("truncate", func(v any, args ...any) string {
		s, n, omission := liquidString(v), 50, "..."
		if len(args) > 0 {
			n = toInt(args[0])
		}
		if len(args) > 1 {
			omission = liquidString(args[1])
		}
		units := utf16.Encode([]rune(s))
		if len(units) <= n {
			return s
		}
		keep := min(max(n-utf16Len(omission), 0), len(units))
		return string(utf16.Decode(units[:keep])) + omission
	})
	e.RegisterFilter("truncatewords", func(v any, args ...any) string {
		words, omission := 15, "..."
		if len(args) > 0 {
			words = toInt(args[0])
		}
		if len(args) > 1 {
			omission = liquidString(args[1])
		}
		if words <= 0 {
			words = 1
		}
		parts := strings.FieldsFunc(liquidString(v), jsSpace)
		if len(parts) < words {
			return strings.Join(parts, " ")
		}
		return strings.Join(parts[:words], " ") + omission
	})
	e.RegisterFilter("upcase", func(v any) string { return jsUpper(liquidString(v)) })
	e.RegisterFilter("downcase", func(v any) string { return jsLower(liquidString(v)) })
	e.RegisterFilter("capitalize", func(v any) string {
		s := liquidString(v)
		_, size := utf8.DecodeRuneInString(s)
		return jsUpper(s[:size]) + jsLower(s[size:])
	})
	e.RegisterFilter("first", func(v any) any {
		if n := listLen(v); n > 0 {
			return listIndex(v, 0)
		}
		return nil
	})
	e.RegisterFilter("last", func(v any) any {
		if n := listLen(v); n > 0 {
			return listIndex(v, n-1)
		}
		return nil
	})
	e.RegisterFilter("compact", func(v any) ([]any, error) {
		list, ok := asList(v)
		if !ok {
			return nil, errLiquidMemory
		}
		out := []any{}
		for _, x := range list {
			if x != nil {
				out = append(out, x)
			}
		}
		return out, nil
	})
	e.RegisterBlock(captureTag, func(ctx render.Context) (string, error) {
		b, _ := ctx.Get(budgetKey).(*liquidBudget)
		w := limitedWriter{budget: b}
		if err := ctx.RenderChildren(&w); err != nil {
			return "", err
		}
		ctx.Set(strings.TrimSpace(ctx.TagArgs()), w.String())
		return "", nil
	})
	return e
}

// budgetKey is the binding that carries a render's *liquidBudget; no
// template can name it.
const budgetKey = "\x00budget"

// liquidBudget records that a render went over maxLiquidString. The
// template engine panics when a writer fails, so writers record the
// overflow here and drop the rest instead of failing.
type liquidBudget struct{ exceeded bool }

// limitedWriter is a buffer that keeps at most maxLiquidString bytes.
type limitedWriter struct {
	strings.Builder
	budget *liquidBudget
}

func (w *limitedWriter) Write(p []byte) (int, error) {
	if w.Len()+len(p) > maxLiquidString {
		if w.budget != nil {
			w.budget.exceeded = true
		}
		return len(p), nil
	}
	return w.Builder.Write(p)
}

func (w *limitedWriter) WriteString(s string) (int, error) {
	if w.Len()+len(s) > maxLiquidString {
		if w.budget != nil {
			w.budget.exceeded = true
		}
		return len(s), nil
	}
	return w.Builder.WriteString(s)
}

func capped(s string) (string, error) {
	if len(s) > maxLiquidString {
		return "", errLiquidMemory
	}
	return s, nil
}

// maxRangeItems bounds the ranges ((1..n)) that filters turn into arrays.
const maxRangeItems = 100000

// listLen is the number of items of an array or a range, or -1.
func listLen(v any) int {
	if r, ok := v.(values.Range); ok {
		return max(r.Len(), 0)
	}
	if rv := reflect.ValueOf(v); rv.Kind() == reflect.Slice || rv.Kind() == reflect.Array {
		return rv.Len()
	}
	return -1
}

// listIndex is item i of an array or a range; i must be in range.
func listIndex(v any, i int) any {
	if r, ok := v.(values.Range); ok {
		return r.Index(i)
	}
	return reflect.ValueOf(v).Index(i).Interface()
}

// asList returns the items of an array, or of a range of a sensible size.
func asList(v any) ([]any, bool) {
	if list, ok := v.([]any); ok {
		return list, true
	}
	n := listLen(v)
	if n < 0 || n > maxRangeItems {
		return nil, false
	}
	list := make([]any, n)
	for i := range list {
		list[i] = listIndex(v, i)
	}
	return list, true
}

// jsSliceBounds is the [start, end) of JavaScript's slice(begin, begin+length)
// on a sequence of n items, after LiquidJS turns a negative begin into
// n+begin.
func jsSliceBounds(n, begin, length int) (int, int) {
	if begin < 0 {
		begin += n
	}
	clamp := func(i int) int {
		if i < 0 {
			return max(n+i, 0)
		}
		return min(i, n)
	}
	start, end := clamp(begin), clamp(begin+length)
	if end < start {
		end = start
	}
	return start, end
}

// toInt is a number argument as an int, NaN as 0, within ±1e9.
func toInt(v any) int {
	f := toNumber(v)
	if math.IsNaN(f) {
		return 0
	}
	return int(math.Max(-1e9, math.Min(1e9, math.Trunc(f))))
}

// jsNum is a number in a Liquid template; it prints as Number#toString.
type jsNum float64

func (n jsNum) String() string { return string(jsontext.AppendNumber(nil, float64(n))) }

// jsObject is an object in a Liquid template; it prints as "[object Object]".
type jsObject map[string]any

func (jsObject) String() string { return "[object Object]" }

// toNumber is JavaScript's Number(value).
func toNumber(v any) float64 {
	if v == nil {
		return math.NaN()
	}
	rv := reflect.ValueOf(v)
	switch rv.Kind() {
	case reflect.Float32, reflect.Float64:
		return rv.Float()
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return float64(rv.Int())
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return float64(rv.Uint())
	case reflect.Bool:
		if rv.Bool() {
			return 1
		}
		return 0
	case reflect.String:
		s := strings.TrimFunc(rv.String(), jsSpace)
		if s == "" {
			return 0
		}
		f, err := strconv.ParseFloat(s, 64)
		if err != nil && !isRangeErr(err) {
			return math.NaN()
		}
		return f
	}
	return math.NaN()
}

// liquidString is how a value prints in a template.
func liquidString(v any) string {
	switch v := v.(type) {
	case nil:
		return ""
	case string:
		return v
	case jsNum:
		return v.String()
	case bool:
		return strconv.FormatBool(v)
	case jsObject:
		return v.String()
	case []any:
		var b strings.Builder
		for _, e := range v {
			b.WriteString(liquidString(e))
		}
		return b.String()
	}
	rv := reflect.ValueOf(v)
	switch rv.Kind() {
	case reflect.Float32, reflect.Float64, reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return jsNum(toNumber(v)).String()
	}
	return ""
}
