package mapping

import (
	"strings"
)

// @template replaces {{{ path }}} first, then {{ path }} over the result,
// like mapping-kit's two regular expressions /\{\{\{([^}]+)\}\}\}/g and
// /\{\{([^}]+)\}\}/g. The path is trimmed and read with get() as it is
// (no "$." removal); missing and null values print as "", others as
// JavaScript's String() prints them. Nothing is HTML-escaped.

type templateNode struct {
	static []tplPart // a literal template without {{{ }}}: compiled once
	text   string    // a literal template with {{{ }}}: rendered at run time
	dyn    node      // otherwise: resolved at run time, must give a string
}

type tplPart struct {
	text string
	path *path // nil for text
}

func (c *compiler) templateDirective(opts *jv) node {
	if opts == nil || opts.kind != kString {
		return &templateNode{dyn: c.buildOpt(opts)}
	}
	t := opts.str
	if _, _, ok := nextPlaceholder(t, 0, 3); ok {
		return &templateNode{text: t}
	}
	n := &templateNode{static: []tplPart{}}
	pos := 0
	for {
		start, end, ok := nextPlaceholder(t, pos, 2)
		if !ok {
			break
		}
		if start > pos {
			n.static = append(n.static, tplPart{text: t[pos:start]})
		}
		n.static = append(n.static, tplPart{path: c.staticPath(strings.TrimFunc(t[start+2:end-2], jsSpace))})
		pos = end
	}
	if pos < len(t) {
		n.static = append(n.static, tplPart{text: t[pos:]})
	}
	return n
}

// nextPlaceholder finds the next match of n opening braces, at least one
// character that is not "}", and n closing braces, from byte from of s.
func nextPlaceholder(s string, from, n int) (start, end int, ok bool) {
	open, closing := "{{{"[:n], "}}}"[:n]
	for i := from; i+2*n < len(s); {
		j := strings.Index(s[i:], open)
		if j < 0 {
			return 0, 0, false
		}
		i += j
		k := strings.IndexByte(s[i+n:], '}')
		if k > 0 && strings.HasPrefix(s[i+n+k:], closing) {
			return i, i + n + k + n, true
		}
		i++
	}
	return 0, 0, false
}

func (n *templateNode) eval(st *state, p payload) (string, error) {
	b := st.scratch()
	defer func() { st.release(b) }()
	var err error
	if n.static != nil {
		for _, part := range n.static {
			if part.path == nil {
				b = append(b, part.text...)
				continue
			}
			if b, err = appendPlain(b, st.get(p, part.path), 0); err != nil {
				return "", err
			}
		}
		return st.keepString(bytesToString(b)), nil
	}
	t := n.text
	if n.dyn != nil {
		v, err := n.dyn.eval(st, p)
		if err != nil {
			return "", err
		}
		if kindOf(v) != kString {
			return "", rtErr("@template", "@template: expected string, got "+realType(v))
		}
		t = strOf(v)
	}
	if b, err = st.fill(b, p, t, 3); err != nil {
		return "", err
	}
	once := string(b)
	if b, err = st.fill(b[:0], p, once, 2); err != nil {
		return "", err
	}
	return st.keepString(bytesToString(b)), nil
}

// fill appends t with its n-brace placeholders replaced.
func (st *state) fill(dst []byte, p payload, t string, n int) ([]byte, error) {
	pos := 0
	for {
		start, end, ok := nextPlaceholder(t, pos, n)
		if !ok {
			break
		}
		dst = append(dst, t[pos:start]...)
		v := st.get(p, parsePath(strings.TrimFunc(t[start+n:end-n], jsSpace)))
		var err error
		if dst, err = appendPlain(dst, v, 0); err != nil {
			return dst, err
		}
		pos = end
	}
	return append(dst, t[pos:]...), nil
}
