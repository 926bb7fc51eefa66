package mapping

import (
	"strconv"

	"github.com/tidwall/gjson"

	"github.com/s2segment/s2segment/internal/jsontext"
)

// ---- @path

type pathNode struct {
	lit  *path  // a literal path
	text string // its text
	dyn  node   // otherwise: resolved at run time, must give a string
}

func (c *compiler) pathDirective(opts *jv) node {
	if opts != nil && opts.kind == kString {
		text := stripDollar(opts.str)
		return &pathNode{lit: c.staticPath(text), text: text}
	}
	return &pathNode{dyn: c.buildOpt(opts)}
}

func (n *pathNode) eval(st *state, p payload) (string, error) {
	if n.lit != nil {
		return st.get(p, n.lit), nil
	}
	v, err := n.dyn.eval(st, p)
	if err != nil {
		return "", err
	}
	if kindOf(v) != kString {
		return "", rtErr("@path", "@path: expected string, got "+realType(v))
	}
	return st.get(p, parsePath(stripDollar(strOf(v)))), nil
}

// ---- @if

type ifNode struct {
	isObject                  bool
	existsTruthy, blankTruthy bool
	hasExists, hasBlank       bool
	hasThen, elseTruthy       bool
	thenIsExists              bool // then reads the same literal @path as exists
	exists, blank, then, els  node
}

func (c *compiler) ifDirective(opts *jv) node {
	n := &ifNode{isObject: opts != nil && opts.kind == kObject}
	if !n.isObject {
		return n
	}
	e, b, t, el := opts.get("exists"), opts.get("blank"), opts.get("then"), opts.get("else")
	n.hasExists, n.existsTruthy, n.exists = e != nil, jvTruthy(e), c.buildOpt(e)
	n.hasBlank, n.blankTruthy, n.blank = b != nil, jvTruthy(b), c.buildOpt(b)
	n.hasThen, n.then = t != nil, c.buildOpt(t)
	n.elseTruthy, n.els = jvTruthy(el), c.buildOpt(el)
	pe, okE := n.exists.(*pathNode)
	pt, okT := n.then.(*pathNode)
	n.thenIsExists = okE && okT && pe.lit != nil && pt.lit != nil && pe.text == pt.text
	return n
}

// choose returns the branch to resolve (nil for undefined) and, when that
// branch is the @path the condition already read, its value.
func (n *ifNode) choose(st *state, p payload) (node, string, error) {
	if !n.isObject {
		return nil, "", rtErr("@if", `@if requires an object with an "exists" key`)
	}
	if !n.existsTruthy && !n.blankTruthy {
		return nil, "", rtErr("@if", `@if requires an "exists" key or a "blank" key`)
	}
	cond := false
	var v string
	var err error
	if n.hasExists {
		if v, err = n.exists.eval(st, p); err != nil {
			return nil, "", err
		}
		cond = v != "" && kindOf(v) != kNull
	} else if n.hasBlank {
		if v, err = n.blank.eval(st, p); err != nil {
			return nil, "", err
		}
		cond = v != "" && kindOf(v) != kNull && looselyNotEmpty(v)
	}
	switch {
	case cond && n.hasThen:
		if n.thenIsExists {
			return n.then, v, nil
		}
		return n.then, "", nil
	case !cond && n.elseTruthy:
		return n.els, "", nil
	}
	return nil, "", nil
}

func (n *ifNode) eval(st *state, p payload) (string, error) {
	branch, known, err := n.choose(st, p)
	if err != nil || branch == nil || known != "" {
		return known, err
	}
	return branch.eval(st, p)
}

// optionsCheck is the check a directive makes of its options before it
// evaluates anything, as mapping-kit does: they must be an object, and
// then hold each required key with a truthy value, in order. It depends
// only on the mapping, so it is made once, when the mapping compiles; the
// zero value is a check that passed.
type optionsCheck struct {
	directive, message string // message is "" when the options pass
}

// checkOptions checks opts for directive: object names what the options
// object must hold, as the message says (`a "value" key`), and keys are the
// keys that must be truthy, in the order mapping-kit checks them.
func checkOptions(directive string, opts *jv, object string, keys ...string) optionsCheck {
	if opts == nil || opts.kind != kObject {
		return optionsCheck{directive, directive + " requires an object with " + object}
	}
	for _, k := range keys {
		if !jvTruthy(opts.get(k)) {
			return optionsCheck{directive, directive + ` requires a "` + k + `" key`}
		}
	}
	return optionsCheck{}
}

// failed reports whether the options fail the check.
func (c optionsCheck) failed() bool { return c.message != "" }

// err returns the *RuntimeError of a failed check, a new one each time.
func (c optionsCheck) err() error { return rtErr(c.directive, c.message) }

// ---- @case

type caseNode struct {
	check        optionsCheck
	valueTruthy  bool
	lower, upper bool
	value        node
}

func (c *compiler) caseDirective(opts *jv) node {
	n := &caseNode{check: checkOptions("@case", opts, `a "operator" key`, "operator")}
	if n.check.failed() {
		return n
	}
	op, v := opts.get("operator"), opts.get("value")
	n.lower = op != nil && op.kind == kString && op.str == "lower"
	n.upper = op != nil && op.kind == kString && op.str == "upper"
	n.valueTruthy, n.value = jvTruthy(v), c.buildOpt(v)
	return n
}

func (n *caseNode) eval(st *state, p payload) (string, error) {
	if n.check.failed() {
		return "", n.check.err()
	}
	if !n.valueTruthy {
		return "", nil
	}
	v, err := n.value.eval(st, p)
	if err != nil || kindOf(v) != kString {
		return v, err
	}
	switch {
	case n.lower:
		return st.keepString(jsLower(strOf(v))), nil
	case n.upper:
		return st.keepString(jsUpper(strOf(v))), nil
	}
	return "", rtErr("@case", `operator key should have a value of "lower" or "upper"`)
}

// ---- @replace

const (
	maxPatternLength     = 10
	maxReplacementLength = 10
)

type replaceNode struct {
	check                  optionsCheck
	valueTruthy            bool
	typesOK                bool // pattern, replacement, ignorecase and global have their types
	pattern, replacement   string
	global, ignorecase     bool
	second                 bool // pattern2 applies
	pattern2, replacement2 string
	value                  node
}

func (c *compiler) replaceDirective(opts *jv) node {
	n := &replaceNode{check: checkOptions("@replace", opts, `a "pattern" key`, "pattern")}
	if n.check.failed() {
		return n
	}
	pat, repl := opts.get("pattern"), opts.get("replacement")
	ic, gl, val := opts.get("ignorecase"), opts.get("global"), opts.get("value")
	n.valueTruthy, n.value = jvTruthy(val), c.buildOpt(val)
	isString := func(v *jv) bool { return v != nil && v.kind == kString }
	isBool := func(v *jv) bool { return v != nil && (v.kind == kTrue || v.kind == kFalse) }
	unset := func(v *jv) bool { return v == nil || v.kind == kNull }
	n.typesOK = isString(pat) && (unset(repl) || isString(repl)) &&
		(unset(ic) || isBool(ic)) && (unset(gl) || isBool(gl))
	if isString(pat) {
		n.pattern = pat.str
	}
	if isString(repl) {
		n.replacement = repl.str
	}
	n.ignorecase = ic != nil && ic.kind == kTrue
	n.global = unset(gl) || gl.kind == kTrue
	pat2, repl2 := opts.get("pattern2"), opts.get("replacement2")
	if jvTruthy(pat2) && isString(pat2) && (unset(repl2) || isString(repl2)) {
		n.second, n.pattern2 = true, pat2.str
		if isString(repl2) {
			n.replacement2 = repl2.str
		}
	}
	return n
}

func (n *replaceNode) eval(st *state, p payload) (string, error) {
	if n.check.failed() {
		return "", n.check.err()
	}
	if !n.valueTruthy {
		return "", nil
	}
	v, err := n.value.eval(st, p)
	if err != nil {
		return "", err
	}
	var s string
	switch kindOf(v) {
	case kString:
		s = strOf(v)
	case kNumber:
		s = string(appendJSNumber(nil, v))
	case kTrue:
		s = "true"
	case kFalse:
		s = "false"
	default:
		return `""`, nil
	}
	if !n.typesOK {
		return `""`, nil
	}
	out, err := jsReplace(s, n.pattern, n.replacement, n.global, n.ignorecase)
	if err != nil {
		return "", err
	}
	if n.second {
		if out, err = jsReplace(out, n.pattern2, n.replacement2, n.global, n.ignorecase); err != nil {
			return "", err
		}
	}
	return st.keepString(out), nil
}

// ---- @arrayPath

type arrayPathNode struct {
	isArray  bool
	typeName string
	lit      *path // a literal path
	dyn      node  // otherwise: its value is the root
	shaped   bool  // the item shape is a non-empty object
	shape    node
}

func (c *compiler) arrayPathDirective(opts *jv) node {
	n := &arrayPathNode{isArray: opts != nil && opts.kind == kArray, typeName: jvRealType(opts)}
	if !n.isArray {
		return n
	}
	first, second := opts.elem(0), opts.elem(1)
	if first != nil && first.kind == kString {
		n.lit = c.staticPath(stripDollar(first.str))
	} else {
		n.dyn = c.buildOpt(first)
	}
	n.shaped = second != nil && second.kind == kObject && len(second.keys) > 0
	n.shape = c.buildOpt(second)
	return n
}

func (n *arrayPathNode) eval(st *state, p payload) (string, error) { return st.evalByWrite(n, p) }

func (n *arrayPathNode) write(st *state, p payload, dst []byte) ([]byte, bool, error) {
	if !n.isArray {
		return dst, false, rtErr("@arrayPath", "@arrayPath expected array, got "+n.typeName)
	}
	var root string
	if n.lit != nil {
		root = st.get(p, n.lit)
	} else {
		var err error
		if root, err = n.dyn.eval(st, p); err != nil {
			return dst, false, err
		}
	}
	if root == "" {
		return dst, false, nil
	}
	k := kindOf(root)
	if !n.shaped || (k != kObject && k != kArray) {
		return append(dst, root...), true, nil
	}
	dst = append(dst, '[')
	var err error
	item := func(i int, raw string) bool {
		if i > 0 {
			dst = append(dst, ',')
		}
		var ok bool
		if dst, ok, err = st.write(n.shape, payload{raw: raw}, dst); err != nil {
			return false
		}
		if !ok {
			dst = append(dst, "null"...)
		}
		return true
	}
	if k == kObject {
		item(0, root)
	} else {
		i := 0
		gjson.Parse(root).ForEach(func(_, v gjson.Result) bool {
			ok := item(i, v.Raw)
			i++
			return ok
		})
	}
	if err != nil {
		return dst, false, err
	}
	return append(dst, ']'), true, nil
}

// ---- @merge

type mergeNode struct {
	check                         optionsCheck
	objectsTruthy, objectsIsArray bool
	objectsType                   string
	direction                     node
	objects                       []node
}

func (c *compiler) mergeDirective(opts *jv) node {
	// "objects" is checked only after "direction" is evaluated.
	n := &mergeNode{check: checkOptions("@merge", opts, `an "objects" key and a "direction" key`, "direction")}
	if n.check.failed() {
		return n
	}
	dir, objs := opts.get("direction"), opts.get("objects")
	n.direction = c.buildOpt(dir)
	n.objectsTruthy, n.objectsType = jvTruthy(objs), jvTypeof(objs)
	n.objectsIsArray = objs != nil && objs.kind == kArray
	if n.objectsIsArray {
		for _, o := range objs.vals {
			n.objects = append(n.objects, c.build(o))
		}
	}
	return n
}

// mergeSource is one resolved entry of @merge: either the keys of a raw
// object entry, resolved one by one (an undefined value overrides too, as
// Object.assign copies it), or a resolved value.
type mergeSource struct {
	names []string
	vals  []string
	raw   string
}

func (n *mergeNode) eval(st *state, p payload) (string, error) {
	if n.check.failed() {
		return "", n.check.err()
	}
	dir, err := n.direction.eval(st, p)
	if err != nil {
		return "", err
	}
	left := kindOf(dir) == kString && strOf(dir) == "left"
	if !n.objectsTruthy {
		return "", rtErr("@merge", `@merge requires a "objects" key`)
	}
	if !n.objectsIsArray {
		return "", rtErr("@merge", "@merge: expected opts.array, got "+n.objectsType)
	}
	sources := make([]mergeSource, len(n.objects))
	for i, o := range n.objects {
		if obj, ok := o.(*objNode); ok {
			src := mergeSource{names: obj.names, vals: make([]string, len(obj.vals))}
			for j, v := range obj.vals {
				if src.vals[j], err = v.eval(st, p); err != nil {
					return "", err
				}
			}
			sources[i] = src
			continue
		}
		if sources[i].raw, err = o.eval(st, p); err != nil {
			return "", err
		}
	}
	if left {
		for i, j := 0, len(sources)-1; i < j; i, j = i+1, j-1 {
			sources[i], sources[j] = sources[j], sources[i]
		}
	}
	var out orderedObject
	for _, s := range sources {
		if s.names != nil {
			for j, k := range s.names {
				out.set(k, s.vals[j])
			}
			continue
		}
		switch kindOf(s.raw) {
		case kObject:
			gjson.Parse(s.raw).ForEach(func(k, v gjson.Result) bool {
				out.set(k.Str, v.Raw)
				return true
			})
		case kArray:
			i := 0
			gjson.Parse(s.raw).ForEach(func(_, v gjson.Result) bool {
				out.set(strconv.Itoa(i), v.Raw)
				i++
				return true
			})
		case kString:
			utf16Units(strOf(s.raw), func(i int, u uint16) {
				out.set(strconv.Itoa(i), string(appendUTF16Unit(nil, u)))
			})
		}
	}
	return st.keepObject(&out), nil
}

// orderedObject is a JavaScript object being built: assigning an existing
// key keeps its place. An empty value is undefined and is left out when the
// object is written.
type orderedObject struct {
	keys  []string
	vals  []string
	index map[string]int
}

func (o *orderedObject) set(k, v string) {
	if o.index == nil {
		o.index = make(map[string]int)
	}
	if i, ok := o.index[k]; ok {
		o.vals[i] = v
		return
	}
	o.index[k] = len(o.keys)
	o.keys = append(o.keys, k)
	o.vals = append(o.vals, v)
}

func (st *state) keepObject(o *orderedObject) string {
	start := len(st.arena)
	st.arena = append(st.arena, '{')
	first := true
	for i, k := range o.keys {
		if o.vals[i] == "" {
			continue
		}
		if !first {
			st.arena = append(st.arena, ',')
		}
		first = false
		st.arena = jsontext.AppendString(st.arena, k)
		st.arena = append(st.arena, ':')
		st.arena = append(st.arena, o.vals[i]...)
	}
	st.arena = append(st.arena, '}')
	return st.view(start)
}

// ---- @transform

type transformNode struct {
	check         optionsCheck
	applyIsObject bool
	applyErr      error // the apply mapping does not validate
	applyRoot     node
	mapping       node
}

func (c *compiler) transformDirective(opts *jv) node {
	n := &transformNode{check: checkOptions("@transform", opts, `an "apply" key and a "mapping" key`, "mapping", "apply")}
	if n.check.failed() {
		return n
	}
	apply, mapping := opts.get("apply"), opts.get("mapping")
	n.applyIsObject = apply != nil && apply.kind == kObject
	n.mapping = c.buildOpt(mapping)
	if n.applyIsObject {
		n.applyRoot, n.applyErr = c.program(apply)
	}
	return n
}

// apply runs transform(apply, payload) and returns the new payload.
func (n *transformNode) apply(st *state, p payload) (payload, error) {
	switch {
	case n.check.failed():
		return payload{}, n.check.err()
	case !n.applyIsObject:
		return payload{}, rtErr("@transform", `@transform "apply" key should be an object`)
	case kindOf(p.raw) != kObject:
		return payload{}, notObjectErr(p.raw)
	case n.applyErr != nil:
		return payload{}, n.applyErr
	}
	v, err := n.applyRoot.eval(st, p)
	return payload{raw: v}, err
}

func (n *transformNode) eval(st *state, p payload) (string, error) {
	np, err := n.apply(st, p)
	if err != nil {
		return "", err
	}
	return n.mapping.eval(st, np)
}

// ---- @flatten

type flattenNode struct {
	check            optionsCheck
	omitArrays       bool
	separator, value node
}

func (c *compiler) flattenDirective(opts *jv) node {
	n := &flattenNode{check: checkOptions("@flatten", opts, `a "separator" key`, "separator")}
	if n.check.failed() {
		return n
	}
	n.separator = c.buildOpt(opts.get("separator"))
	n.value = c.buildOpt(opts.get("value"))
	n.omitArrays = jvTruthy(opts.get("omitArrays"))
	return n
}

func (n *flattenNode) eval(st *state, p payload) (string, error) {
	if n.check.failed() {
		return "", n.check.err()
	}
	sep, err := n.separator.eval(st, p)
	if err != nil {
		return "", err
	}
	if kindOf(sep) != kString {
		return "", rtErr("@flatten", "@flatten requires a string separator")
	}
	v, err := n.value.eval(st, p)
	if err != nil {
		return "", err
	}
	var out orderedObject
	if err := flatten(&out, v, "", strOf(sep), n.omitArrays, 0); err != nil {
		return "", err
	}
	return st.keepObject(&out), nil
}

func flatten(out *orderedObject, raw, prefix, sep string, omitArrays bool, depth int) error {
	k := kindOf(raw)
	if k != kObject && (k != kArray || omitArrays) {
		out.set(prefix, raw)
		return nil
	}
	if depth > maxDepth {
		return tooDeepErr()
	}
	var err error
	i := 0
	gjson.Parse(raw).ForEach(func(key, v gjson.Result) bool {
		name := key.Str
		if k == kArray {
			name = strconv.Itoa(i)
			i++
		}
		if prefix != "" {
			name = prefix + sep + name
		}
		err = flatten(out, v.Raw, name, sep, omitArrays, depth+1)
		return err == nil
	})
	return err
}

// ---- @json

type jsonNode struct {
	check          optionsCheck
	encode, decode bool
	value          node
}

func (c *compiler) jsonDirective(opts *jv) node {
	n := &jsonNode{check: checkOptions("@json", opts, `a "value" key`, "mode", "value")}
	if n.check.failed() {
		return n
	}
	mode, val := opts.get("mode"), opts.get("value")
	n.encode = mode != nil && mode.kind == kString && mode.str == "encode"
	n.decode = mode != nil && mode.kind == kString && mode.str == "decode"
	n.value = c.buildOpt(val)
	return n
}

func (n *jsonNode) eval(st *state, p payload) (string, error) {
	if n.check.failed() {
		return "", n.check.err()
	}
	v, err := n.value.eval(st, p)
	if err != nil {
		return "", err
	}
	switch {
	case n.encode:
		if v == "" {
			return "", nil
		}
		b := st.scratch()
		if b, err = appendStringify(b, v, 0); err == nil {
			start := len(st.arena)
			st.arena = jsontext.AppendString(st.arena, bytesToString(b))
			v = st.view(start)
		}
		st.release(b)
		return v, err
	case n.decode:
		if kindOf(v) != kString {
			return v, nil
		}
		// A text nested too deeply to follow counts as not parsing, like a
		// JSON.parse that runs out of stack.
		if t := trimJSONSpace(strOf(v)); t != "" && !tooDeep(t, maxDepth) && gjson.Valid(t) {
			return t, nil
		}
		return v, nil
	}
	return "", nil
}

// appendStringify appends JSON.stringify(value): compact, strings escaped
// the JavaScript way, numbers printed by Number#toString (integers keep
// their digits), array-index keys first, duplicate keys collapsed to the
// last value.
func appendStringify(dst []byte, raw string, depth int) ([]byte, error) {
	switch kindOf(raw) {
	case kString:
		return jsontext.AppendString(dst, strOf(raw)), nil
	case kNumber:
		if !isIntegerLiteral(raw) {
			if f, err := strconv.ParseFloat(raw, 64); (err == nil || isRangeErr(err)) && (f > 1.7976931348623157e308 || f < -1.7976931348623157e308) {
				return append(dst, "null"...), nil
			}
		}
		return appendJSNumber(dst, raw), nil
	case kArray, kObject:
	default:
		return append(dst, raw...), nil
	}
	if depth > maxDepth {
		return dst, tooDeepErr()
	}
	var err error
	if kindOf(raw) == kArray {
		dst, err = appendElements(append(dst, '['), raw, depth, appendStringify)
		return append(dst, ']'), err
	}
	var o orderedObject
	gjson.Parse(raw).ForEach(func(k, v gjson.Result) bool {
		o.set(k.Str, v.Raw)
		return true
	})
	v := &jv{kind: kObject, keys: append([]string(nil), o.keys...), vals: make([]*jv, len(o.keys))}
	orderKeys(v) // only the key order is needed
	dst = append(dst, '{')
	for i, k := range v.keys {
		if dst, err = appendStringify(appendKey(dst, i, k), o.vals[o.index[k]], depth+1); err != nil {
			return dst, err
		}
	}
	return append(dst, '}'), nil
}

// ---- @excludeWhenNull

type excludeNode struct{ inner node }

func (n *excludeNode) eval(st *state, p payload) (string, error) {
	v, err := n.inner.eval(st, p)
	if err != nil {
		return "", err
	}
	switch kindOf(v) {
	case kNull:
		return "", nil
	case kObject:
		b := st.scratch()
		b, err = appendWithoutNulls(b, v, 0)
		if err == nil {
			v = st.keep(b)
		}
		st.release(b)
		return v, err
	}
	return v, nil
}

// appendWithoutNulls appends an object without its null-valued keys, in
// nested objects too but not inside arrays.
func appendWithoutNulls(dst []byte, raw string, depth int) ([]byte, error) {
	if depth > maxDepth {
		return dst, tooDeepErr()
	}
	var err error
	dst = append(dst, '{')
	first := true
	gjson.Parse(raw).ForEach(func(k, v gjson.Result) bool {
		vk := kindOf(v.Raw)
		if vk == kNull {
			return true
		}
		if !first {
			dst = append(dst, ',')
		}
		first = false
		dst = append(dst, k.Raw...)
		dst = append(dst, ':')
		if vk == kObject {
			dst, err = appendWithoutNulls(dst, v.Raw, depth+1)
			return err == nil
		}
		dst = append(dst, v.Raw...)
		return true
	})
	return append(dst, '}'), err
}
