package mapping

import (
	"strconv"
	"strings"

	"github.com/osteele/liquid"
	"github.com/osteele/liquid/expressions"
	"github.com/tidwall/gjson"
)

// @liquid renders a Liquid template against the event, as mapping-kit does
// with LiquidJS: templates are at most 1000 characters, the tags case, for,
// include, layout, render and tablerow and a list of filters are disabled,
// and values print the JavaScript way (objects as "[object Object]",
// numbers by Number#toString, sizes in UTF-16 code units).

const maxLiquidLength = 1000

type liquidNode struct {
	isString, tooLong bool
	empty             bool
	tmpl              *liquid.Template
	err               error // the template does not parse
}

func newLiquidNode(opts *jv) node {
	n := &liquidNode{isString: opts != nil && opts.kind == kString}
	if !n.isString {
		return n
	}
	src := opts.str
	switch {
	case src == "":
		n.empty = true
	case utf16Len(src) > maxLiquidLength:
		n.tooLong = true
	default:
		src, err := prepareLiquid(src)
		if err == nil {
			err = checkLiquidNumbers(src)
		}
		if err != nil {
			n.err = err
			return n
		}
		tmpl, err := liquidEngine.ParseString(src)
		if err != nil {
			n.err = liquidError(err)
			return n
		}
		n.tmpl = tmpl
	}
	return n
}

func (n *liquidNode) eval(st *state, p payload) (string, error) {
	switch {
	case !n.isString:
		return "", rtErr("@liquid", "liquid template value must be a string")
	case n.empty:
		return `""`, nil
	case n.tooLong:
		return "", rtErr("@liquid", "liquid template values are limited to 1000 characters")
	case n.err != nil:
		return "", n.err
	}
	bindings := map[string]any{}
	if kindOf(p.raw) == kObject {
		gjson.Parse(p.raw).ForEach(func(k, v gjson.Result) bool {
			if _, dup := bindings[k.Str]; !dup {
				bindings[strings.Clone(k.Str)] = &lazyValue{raw: v.Raw}
			}
			return true
		})
	}
	budget := &liquidBudget{}
	bindings[budgetKey] = budget
	out := limitedWriter{budget: budget}
	if err := n.tmpl.FRender(&out, bindings); err != nil {
		return "", liquidError(err)
	}
	if budget.exceeded {
		return "", &RuntimeError{Directive: "@liquid", Message: errLiquidMemory.Error(), Err: errLiquidMemory}
	}
	return st.keepString(out.String()), nil
}

// lazyValue is a first-level value of the event, converted for the
// template engine only when the template reads it.
type lazyValue struct {
	raw  string
	v    any
	done bool
}

// ToLiquid converts the value on first use; a value nested too deeply
// reads as nil.
func (l *lazyValue) ToLiquid() any {
	if !l.done {
		l.v, _ = liquidValue(l.raw, 1)
		l.done = true
	}
	return l.v
}

// liquidValue converts a JSON value into the Go values the template engine
// reads. Strings are copied, so nothing refers to the event afterwards.
func liquidValue(raw string, depth int) (any, error) {
	if depth > maxDepth {
		return nil, tooDeepErr()
	}
	switch kindOf(raw) {
	case kNull, kUndefined:
		return nil, nil
	case kTrue:
		return true, nil
	case kFalse:
		return false, nil
	case kString:
		return strings.Clone(strOf(raw)), nil
	case kNumber:
		f, _ := strconv.ParseFloat(raw, 64)
		return jsNum(f), nil
	}
	var err error
	if kindOf(raw) == kArray {
		list := []any{}
		gjson.Parse(raw).ForEach(func(_, v gjson.Result) bool {
			var e any
			e, err = liquidValue(v.Raw, depth+1)
			list = append(list, e)
			return err == nil
		})
		return list, err
	}
	obj := jsObject{}
	gjson.Parse(raw).ForEach(func(k, v gjson.Result) bool {
		key := strings.Clone(k.Str)
		if _, dup := obj[key]; dup {
			return true // the first occurrence wins, as everywhere else
		}
		var e any
		e, err = liquidValue(v.Raw, depth+1)
		obj[key] = e
		return err == nil
	})
	return obj, err
}

// prepareLiquid checks the tags of a template before it is parsed: the
// first disabled tag fails, as LiquidJS fails when it parses the template,
// and capture blocks are renamed to the bounded capture.
func prepareLiquid(src string) (string, error) {
	var out strings.Builder
	copied := 0
	skipUntil := ""
	for i := 0; i < len(src); {
		j := strings.Index(src[i:], "{%")
		if j < 0 {
			break
		}
		at := i + j
		k := at + 2
		if k < len(src) && src[k] == '-' {
			k++
		}
		for k < len(src) && (src[k] == ' ' || src[k] == '\t' || src[k] == '\n' || src[k] == '\r') {
			k++
		}
		e := k
		for e < len(src) && (src[e] == '_' || (src[e] >= 'a' && src[e] <= 'z') || (src[e] >= 'A' && src[e] <= 'Z') || (src[e] >= '0' && src[e] <= '9')) {
			e++
		}
		name := src[k:e]
		i = max(e, at+2)
		switch {
		case skipUntil != "":
			if name == skipUntil {
				skipUntil = ""
			}
			continue
		case name == "raw" || name == "comment":
			skipUntil = "end" + name
			continue
		case name == "capture" || name == "endcapture":
			out.WriteString(src[copied:k])
			out.WriteString(strings.Replace(name, "capture", captureTag, 1))
			copied = e
			continue
		}
		for _, d := range disabledTags {
			if name == d {
				line, col := position(src, at)
				return "", &RuntimeError{
					Directive: "@liquid",
					Message:   `tag "` + name + `" is disabled, line:` + strconv.Itoa(line) + ", col:" + strconv.Itoa(col),
					Err:       &liquidDisabledError{"tag", name},
				}
			}
		}
	}
	if copied == 0 {
		return src, nil
	}
	out.WriteString(src[copied:])
	return out.String(), nil
}

// checkLiquidNumbers rejects number literals that the template engine
// cannot hold (integers beyond 64 bits, decimals beyond float64), which it
// would otherwise fail on with a panic while parsing.
func checkLiquidNumbers(src string) error {
	for i := 0; i+1 < len(src); i++ {
		if src[i] != '{' || (src[i+1] != '{' && src[i+1] != '%') {
			continue
		}
		closing := "}}"
		if src[i+1] == '%' {
			closing = "%}"
		}
		end := strings.Index(src[i+2:], closing)
		if end < 0 {
			end = len(src) - i - 2
		}
		if err := checkExprNumbers(src[i+2:i+2+end], src, i); err != nil {
			return err
		}
		i += 1 + end
	}
	return nil
}

func checkExprNumbers(expr, src string, at int) error {
	isDigit := func(c byte) bool { return c >= '0' && c <= '9' }
	for j := 0; j < len(expr); j++ {
		c := expr[j]
		if c == '\'' || c == '"' {
			k := strings.IndexByte(expr[j+1:], c)
			if k < 0 {
				return nil
			}
			j += k + 1
			continue
		}
		if !isDigit(c) {
			continue
		}
		k := j
		for k < len(expr) && isDigit(expr[k]) {
			k++
		}
		num := expr[j:k]
		if k+1 < len(expr) && expr[k] == '.' && isDigit(expr[k+1]) {
			k++
			for k < len(expr) && isDigit(expr[k]) {
				k++
			}
			num = expr[j:k]
			if _, err := strconv.ParseFloat(num, 64); err != nil {
				return numberRangeErr(num, src, at)
			}
		} else if j > 0 && expr[j-1] == '-' {
			if _, err := strconv.ParseInt("-"+num, 10, 64); err != nil {
				return numberRangeErr(num, src, at)
			}
		} else if _, err := strconv.ParseInt(num, 10, 64); err != nil {
			return numberRangeErr(num, src, at)
		}
		j = k - 1
	}
	return nil
}

func numberRangeErr(num, src string, at int) error {
	line, col := position(src, at)
	if len(num) > 40 {
		num = num[:40] + "…"
	}
	return &RuntimeError{
		Directive: "@liquid",
		Message:   "number " + num + " is out of range, line:" + strconv.Itoa(line) + ", col:" + strconv.Itoa(col),
	}
}

// position is the 1-based line and column (in UTF-16 units) of byte i.
func position(src string, i int) (line, col int) {
	before := src[:i]
	line = strings.Count(before, "\n") + 1
	if nl := strings.LastIndexByte(before, '\n'); nl >= 0 {
		before = before[nl+1:]
	}
	return line, utf16Len(before) + 1
}

// liquidError turns a template error into a *RuntimeError whose message is
// the cause followed by ", line:N" as LiquidJS reports positions.
func liquidError(err error) error {
	line := 0
	var cause error = err
	for {
		if se, ok := cause.(liquid.SourceError); ok && line == 0 {
			line = se.LineNumber()
		}
		if fe, ok := cause.(expressions.FilterError); ok {
			cause = fe.Err
			continue
		}
		c, ok := cause.(interface{ Cause() error })
		if !ok || c.Cause() == nil {
			break
		}
		cause = c.Cause()
	}
	msg := cause.Error()
	if line > 0 {
		msg += ", line:" + strconv.Itoa(line)
	}
	return &RuntimeError{Directive: "@liquid", Message: msg, Err: err}
}
