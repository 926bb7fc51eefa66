package mapping

import "github.com/s2segment/s2segment/internal/jsontext"

// A node is a compiled piece of mapping. eval returns the resolved value as
// JSON text ("" for undefined); write appends it to dst. Objects and arrays
// write straight into the output; everything else is written through eval.
type node interface {
	eval(st *state, p payload) (string, error)
}

// constNode is a raw value with no directive inside.
type constNode struct{ raw string }

func (n *constNode) eval(*state, payload) (string, error) { return n.raw, nil }

// undefNode resolves to undefined (a missing option).
type undefNode struct{}

func (undefNode) eval(*state, payload) (string, error) { return "", nil }

// objNode is a raw object with directives inside.
type objNode struct {
	names []string // keys
	keys  []string // `"key":` as JSON
	vals  []node
}

func (n *objNode) eval(st *state, p payload) (string, error) { return st.evalByWrite(n, p) }

// arrNode is a raw array with directives inside.
type arrNode struct{ elems []node }

func (n *arrNode) eval(st *state, p payload) (string, error) { return st.evalByWrite(n, p) }

// write appends the value of n to dst; ok is false when it is undefined.
func (st *state) write(n node, p payload, dst []byte) ([]byte, bool, error) {
	switch n := n.(type) {
	case *constNode:
		return append(dst, n.raw...), true, nil
	case *objNode:
		dst = append(dst, '{')
		first := true
		for i, k := range n.keys {
			mark := len(dst)
			if !first {
				dst = append(dst, ',')
			}
			dst = append(dst, k...)
			var ok bool
			var err error
			if dst, ok, err = st.write(n.vals[i], p, dst); err != nil {
				return dst, false, err
			}
			if !ok {
				dst = dst[:mark]
				continue
			}
			first = false
		}
		return append(dst, '}'), true, nil
	case *arrNode:
		dst = append(dst, '[')
		for i, e := range n.elems {
			if i > 0 {
				dst = append(dst, ',')
			}
			var ok bool
			var err error
			if dst, ok, err = st.write(e, p, dst); err != nil {
				return dst, false, err
			}
			if !ok {
				dst = append(dst, "null"...)
			}
		}
		return append(dst, ']'), true, nil
	case *pathNode:
		if n.lit != nil {
			v := st.get(p, n.lit)
			return append(dst, v...), v != "", nil
		}
	case *ifNode:
		branch, known, err := n.choose(st, p)
		if err != nil || branch == nil {
			return dst, false, err
		}
		if known != "" {
			return append(dst, known...), true, nil
		}
		return st.write(branch, p, dst)
	case *literalNode:
		return st.write(n.inner, p, dst)
	case *transformNode:
		np, err := n.apply(st, p)
		if err != nil {
			return dst, false, err
		}
		return st.write(n.mapping, np, dst)
	case *arrayPathNode:
		return n.write(st, p, dst)
	}
	v, err := n.eval(st, p)
	if err != nil || v == "" {
		return dst, false, err
	}
	return append(dst, v...), true, nil
}

// evalByWrite resolves a composite node into the arena.
func (st *state) evalByWrite(n node, p payload) (string, error) {
	b := st.scratch()
	b, ok, err := st.write(n, p, b)
	var v string
	if err == nil && ok {
		v = st.keep(b)
	}
	st.release(b)
	return v, err
}

// compiler turns a parsed mapping into nodes.
type compiler struct {
	slotIndex map[string]int
}

// program validates and compiles a mapping as transform runs it: spread
// into an object, __segment_internal_directive handled, then validated.
func (c *compiler) program(v *jv) (node, error) {
	root, err := prepareRoot(v)
	if err != nil {
		return nil, err
	}
	if errs := validateMapping(root, nil); len(errs) > 0 {
		return nil, ValidationErrors(errs)
	}
	return c.build(root), nil
}

// staticPath compiles a literal path and registers its first key for the
// root prefetch.
func (c *compiler) staticPath(p string) *path {
	pa := parsePath(p)
	if !pa.root {
		k := pa.segs[0].key
		i, ok := c.slotIndex[k]
		if !ok {
			i = len(c.slotIndex)
			c.slotIndex[k] = i
		}
		pa.slot = i
	}
	return pa
}

// build compiles any mapping value; it never fails, because values that
// are not validated (inside raw arrays, @literal, @excludeWhenNull) must
// fail when they run, as in mapping-kit.
func (c *compiler) build(v *jv) node {
	if v == nil {
		return undefNode{}
	}
	switch v.kind {
	case kArray:
		n := &arrNode{elems: make([]node, len(v.vals))}
		constant := true
		for i, e := range v.vals {
			n.elems[i] = c.build(e)
			_, isConst := n.elems[i].(*constNode)
			constant = constant && isConst
		}
		if constant {
			return &constNode{raw: string(appendJV(nil, v))}
		}
		return n
	case kObject:
		if isDirectiveJV(v) {
			return c.directive(v)
		}
		n := &objNode{names: v.keys, keys: make([]string, len(v.keys)), vals: make([]node, len(v.keys))}
		constant := true
		for i, k := range v.keys {
			n.keys[i] = string(append(jsontext.AppendString(nil, k), ':'))
			n.vals[i] = c.build(v.vals[i])
			_, isConst := n.vals[i].(*constNode)
			constant = constant && isConst
		}
		if constant {
			return &constNode{raw: string(appendJV(nil, v))}
		}
		return n
	}
	return &constNode{raw: v.raw}
}

// buildOpt compiles an option that may be absent.
func (c *compiler) buildOpt(v *jv) node {
	if v == nil {
		return undefNode{}
	}
	return c.build(v)
}

func (c *compiler) directive(v *jv) node {
	name := firstAtKey(v)
	opts := v.get(name)
	switch name {
	case "@path":
		return c.pathDirective(opts)
	case "@template":
		return c.templateDirective(opts)
	case "@literal":
		return &literalNode{inner: c.build(opts)}
	case "@if":
		return c.ifDirective(opts)
	case "@case":
		return c.caseDirective(opts)
	case "@replace":
		return c.replaceDirective(opts)
	case "@arrayPath":
		return c.arrayPathDirective(opts)
	case "@merge":
		return c.mergeDirective(opts)
	case "@transform":
		return c.transformDirective(opts)
	case "@flatten":
		return c.flattenDirective(opts)
	case "@json":
		return c.jsonDirective(opts)
	case "@excludeWhenNull":
		return &excludeNode{inner: c.build(opts)}
	case "@liquid":
		return newLiquidNode(opts)
	}
	return &unknownNode{name: name}
}

// unknownNode is a directive mapping-kit does not have, in a place that
// validation does not reach.
type unknownNode struct{ name string }

func (n *unknownNode) eval(*state, payload) (string, error) {
	return "", rtErr(n.name, n.name+" is not a valid directive, got undefined")
}

// literalNode is @literal: its value is resolved, directives included.
type literalNode struct{ inner node }

func (n *literalNode) eval(st *state, p payload) (string, error) { return n.inner.eval(st, p) }
