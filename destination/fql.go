package destination

import (
	"fmt"
	"strings"
	"unicode/utf8"
)

// This file holds the lexer and parser of the subscription language, the
// subset of FQL that Segment's Actions destinations accept. Both follow the
// reference implementation (fql-ts' lexer and destination-subscriptions'
// parser) quirk for quirk, because a subscription must select exactly the
// events it selects on Segment's side; see the Subscription documentation.

type tokKind uint8

const (
	tokEOS tokKind = iota
	tokIdent
	tokDot
	tokOperator
	tokConditional
	tokString
	tokNumber
	tokNull
	tokBrackLeft
	tokBrackRight
	tokParenLeft
	tokParenRight
	tokComma
)

// token is one lexeme. value is the token's text as the reference keeps it:
// a string keeps its quotes, EOS is "eos", null is "null".
type token struct {
	kind  tokKind
	value string
	pos   int // byte offset in the source
}

// eosRune stands for the end of input in the lexer's one-character look-ahead.
const eosRune = -1

// maxLexeme bounds identifiers, numbers and strings, as the reference does.
const maxLexeme = 100000

type lexer struct {
	src   []rune
	off   []int // byte offset of each rune, plus len(source) at the end
	pos   int   // index of the next rune
	start int   // rune index where the current token started
}

func newLexer(src string) *lexer {
	lx := &lexer{src: make([]rune, 0, len(src)), off: make([]int, 0, len(src)+1)}
	for i, r := range src {
		lx.src = append(lx.src, r)
		lx.off = append(lx.off, i)
	}
	lx.off = append(lx.off, len(src))
	return lx
}

func (lx *lexer) next() rune {
	if lx.pos >= len(lx.src) {
		return eosRune
	}
	r := lx.src[lx.pos]
	lx.pos++
	return r
}

func (lx *lexer) peek() rune {
	if lx.pos >= len(lx.src) {
		return eosRune
	}
	return lx.src[lx.pos]
}

func (lx *lexer) backup(n int) {
	lx.pos -= n
	if lx.pos < 0 {
		lx.pos = 0
	}
}

// accept consumes str when it is next in the input and is followed by a
// terminator, and reports whether it did. Like the reference, it stops early
// at a terminator, and at the end of input it gives up without backing up.
func (lx *lexer) accept(str string) bool {
	n := 0
	matched := true
	want := []rune(str)
	for i := range want {
		r := lx.next()
		if r == eosRune {
			return false
		}
		n++
		if r != want[i] {
			matched = false
		}
		if isTerminator(r) {
			if i != len(want)-1 {
				matched = false
			}
			break
		}
	}
	if matched && n == len(want) && isTerminator(lx.peek()) {
		return true
	}
	lx.backup(n)
	return false
}

func (lx *lexer) errorf(format string, args ...any) error {
	return &SubscriptionError{Offset: lx.off[lx.start], Reason: fmt.Sprintf(format, args...)}
}

func (lx *lexer) errorAtf(runeIndex int, format string, args ...any) error {
	if runeIndex > len(lx.src) {
		runeIndex = len(lx.src)
	}
	return &SubscriptionError{Offset: lx.off[runeIndex], Reason: fmt.Sprintf(format, args...)}
}

func isWhitespace(r rune) bool { return r == ' ' || r == '\t' || r == '\n' }
func isAlpha(r rune) bool      { return (r >= 'a' && r <= 'z') || (r >= 'A' && r <= 'Z') }
func isDigit(r rune) bool      { return r >= '0' && r <= '9' }
func isIdentRune(r rune) bool {
	return isAlpha(r) || isDigit(r) || r == '_' || r == '-' || r == '\\'
}
func isTerminator(r rune) bool {
	return r == eosRune || isWhitespace(r) || r == ',' || r == ']' || r == ')'
}

func describeRune(r rune) string {
	if r == eosRune {
		return "the end of the subscription"
	}
	return fmt.Sprintf("%q", r)
}

func (lx *lexer) lex() ([]token, error) {
	var toks []token
	for {
		lx.start = lx.pos
		c := lx.next()
		if c == eosRune {
			return append(toks, token{kind: tokEOS, value: "eos", pos: lx.off[len(lx.src)]}), nil
		}
		if isWhitespace(c) {
			continue
		}
		var tok token
		var err error
		switch {
		case c == '!' && (isAlpha(lx.peek()) || lx.peek() == '('):
			tok = token{kind: tokOperator, value: "!"}
		case isAlpha(c) || c == '!' || c == '=' || c == '>' || c == '<' || c == '\\' || c == '_':
			tok, err = lx.lexOperatorOrConditional(c)
		case isDigit(c) || c == '-' || c == '+':
			tok, err = lx.lexNumber(c)
		case c == '"' || c == '\'':
			tok, err = lx.lexString(c)
		case c == '.':
			tok = token{kind: tokDot, value: "."}
		case c == '[':
			tok = token{kind: tokBrackLeft, value: "["}
		case c == ']':
			tok = token{kind: tokBrackRight, value: "]"}
		case c == ',':
			tok = token{kind: tokComma, value: ","}
		case c == '(':
			tok = token{kind: tokParenLeft, value: "("}
		case c == ')':
			tok = token{kind: tokParenRight, value: ")"}
		default:
			err = lx.errorf("invalid character %q", c)
		}
		if err != nil {
			return nil, err
		}
		tok.pos = lx.off[lx.start]
		toks = append(toks, tok)
	}
}

func (lx *lexer) lexString(quote rune) (token, error) {
	var b strings.Builder
	b.WriteRune(quote)
	n := 0
	for lx.peek() != quote {
		r := lx.next()
		if r == eosRune {
			return token{}, lx.errorf("unterminated string: a string runs to the next %c that is followed by a space, ',', ')', ']' or the end", quote)
		}
		b.WriteRune(r)
		n++
		if n >= maxLexeme {
			return token{}, lx.errorf("string longer than %d characters", maxLexeme)
		}
	}
	lx.accept(string(quote)) // the closing quote, if a terminator follows it
	b.WriteRune(quote)
	return token{kind: tokString, value: b.String()}, nil
}

func (lx *lexer) lexNumber(first rune) (token, error) {
	var b strings.Builder
	b.WriteRune(first)
	decimal := false
	for c := lx.peek(); isDigit(c) || c == '.'; c = lx.peek() {
		lx.next()
		b.WriteRune(c)
		if c == '.' {
			if isTerminator(lx.peek()) {
				return token{}, lx.errorAtf(lx.pos, "a number cannot end with a decimal point")
			}
			if decimal {
				return token{}, lx.errorAtf(lx.pos-1, "a number has more than one decimal point")
			}
			decimal = true
		}
		if b.Len() >= maxLexeme {
			return token{}, lx.errorf("number longer than %d characters", maxLexeme)
		}
	}
	return token{kind: tokNumber, value: b.String()}, nil
}

func (lx *lexer) lexOperatorOrConditional(first rune) (token, error) {
	switch first {
	case '=':
		return token{kind: tokOperator, value: "="}, nil
	case '!':
		if lx.accept("=") {
			return token{kind: tokOperator, value: "!="}, nil
		}
		return token{}, lx.errorf("expected '=' after '!' (and a space after '!='), got %s", describeRune(lx.peek()))
	case 'a':
		if lx.accept("nd") {
			return token{kind: tokConditional, value: "and"}, nil
		}
	case 'o':
		if lx.accept("r") {
			return token{kind: tokConditional, value: "or"}, nil
		}
	case 'n':
		if lx.accept("ull") {
			return token{kind: tokNull, value: "null"}, nil
		}
	case '<', '>':
		if lx.accept("=") {
			return token{kind: tokOperator, value: string(first) + "="}, nil
		}
		return token{kind: tokOperator, value: string(first)}, nil
	}
	return lx.lexIdent(first)
}

func (lx *lexer) lexIdent(first rune) (token, error) {
	var b strings.Builder
	r := first
	for {
		if r == '\\' {
			if lx.peek() == eosRune {
				return token{}, lx.errorAtf(lx.pos, "expected a character after the escape character '\\', got the end of the subscription")
			}
			r = lx.next()
		}
		b.WriteRune(r)
		if b.Len() >= maxLexeme {
			return token{}, lx.errorf("identifier longer than %d characters", maxLexeme)
		}
		if !isIdentRune(lx.peek()) {
			break
		}
		r = lx.next()
	}
	c := lx.peek()
	if !(isTerminator(c) || c == '.' || c == '(' || c == '=' || c == '!') {
		return token{}, lx.errorAtf(lx.pos, "expected a space, '.', '(', '=', '!', ',', ')' or ']' after identifier %q, got %s (write 'a >= 1', not 'a>=1'; escape other characters with '\\')", b.String(), describeRune(c))
	}
	return token{kind: tokIdent, value: b.String()}, nil
}

// normalize joins identifier, dot, identifier sequences into one dotted
// identifier ("properties", ".", "a" becomes "properties.a").
func normalize(toks []token) []token {
	out := make([]token, 0, len(toks))
	for i := 0; i < len(toks); i++ {
		cur := toks[i]
		if cur.kind == tokIdent {
			// Join the whole a.b.c run at once (linear, however long).
			j := i
			for j+2 < len(toks) && toks[j+1].kind == tokDot && toks[j+2].kind == tokIdent {
				j += 2
			}
			if j > i {
				var b strings.Builder
				for k := i; k <= j; k += 2 {
					if k > i {
						b.WriteByte('.')
					}
					b.WriteString(toks[k].value)
				}
				cur.value = b.String()
				i = j
			}
		}
		out = append(out, cur)
	}
	return out
}

// fieldKind is what a condition reads from the event.
type fieldKind uint8

const (
	fieldType fieldKind = iota
	fieldEvent
	fieldName
	fieldUserID
	fieldProperties
	fieldTraits
	fieldContext
	numFieldKinds
)

var fieldKinds = map[string]fieldKind{
	"type":       fieldType,
	"event":      fieldEvent,
	"name":       fieldName,
	"userId":     fieldUserID,
	"properties": fieldProperties,
	"traits":     fieldTraits,
	"context":    fieldContext,
}

// rootKeys are the top-level event keys each field kind reads.
var rootKeys = [numFieldKinds]string{"type", "event", "name", "userId", "properties", "traits", "context"}

// opKind is a condition operator after parsing.
type opKind uint8

const (
	opUnknown opKind = iota // an operator the reference does not know: never true
	opEq
	opNe
	opLt
	opLe
	opGt
	opGe
	opContains
	opNotContains
	opStartsWith
	opNotStartsWith
	opEndsWith
	opNotEndsWith
	opExists
	opNotExists
	opIsTrue
	opIsFalse
	opNumberEq
	opNumberNe
)

var opNames = [...]string{
	opUnknown: "?", opEq: "=", opNe: "!=", opLt: "<", opLe: "<=", opGt: ">", opGe: ">=",
	opContains: "contains", opNotContains: "not_contains", opStartsWith: "starts_with",
	opNotStartsWith: "not_starts_with", opEndsWith: "ends_with", opNotEndsWith: "not_ends_with",
	opExists: "exists", opNotExists: "not_exists", opIsTrue: "is_true", opIsFalse: "is_false",
	opNumberEq: "number_equals", opNumberNe: "number_not_equals",
}

// comparisonOp maps the text of the token in operator position to an
// operator. The reference takes that token's text as the operator name
// whatever the token is, so "event contains \"x\"" is a contains condition
// and "event \"x\" 1" one that never holds.
func comparisonOp(s string) opKind {
	for op, name := range opNames {
		if op != int(opUnknown) && name == s {
			return opKind(op)
		}
	}
	return opUnknown
}

// node is a parsed condition or group.
type node struct {
	group    bool
	or       bool
	children []node
	// empty is a parenthesised group with no supported condition in it,
	// which the reference keeps as an undefined child of the enclosing
	// group. Evaluating it is an error there (validate throws); here the
	// event is not delivered, see evalEvent.failed.
	empty bool
	pos   int // byte offset of an empty group's "("
	// badPath is a path made only of separators, such as "." in
	// properties.\. = "a": the reference's get fails on it (the match of
	// its pieces is null), so evaluating the condition is an error there.
	badPath bool

	field fieldKind
	path  []string // for properties, traits and context: the lodash-style path
	op    opKind
	str   string  // String(expected)
	num   float64 // Number(expected)
}

// tokenValue is the reference's getTokenValue: the string without its double
// quotes, a number, a boolean for the identifiers true and false, or the
// token text.
type tokenValue struct {
	kind byte // 's' string, 'n' number, 'b' boolean
	s    string
	n    float64
	b    bool
}

func valueOf(t token) tokenValue {
	switch {
	case t.kind == tokString:
		s := strings.TrimPrefix(t.value, `"`)
		s = strings.TrimSuffix(s, `"`)
		return tokenValue{kind: 's', s: s}
	case t.kind == tokNumber:
		return tokenValue{kind: 'n', n: jsNumber(t.value)}
	case t.kind == tokIdent && (t.value == "true" || t.value == "false"):
		return tokenValue{kind: 'b', b: t.value == "true"}
	}
	return tokenValue{kind: 's', s: t.value}
}

// String is JavaScript's String(value).
func (v tokenValue) String() string {
	switch v.kind {
	case 'n':
		return jsFormat(v.n)
	case 'b':
		if v.b {
			return "true"
		}
		return "false"
	}
	return v.s
}

// Number is JavaScript's Number(value).
func (v tokenValue) Number() float64 {
	switch v.kind {
	case 'n':
		return v.n
	case 'b':
		if v.b {
			return 1
		}
		return 0
	}
	return jsNumber(v.s)
}

// splitPath splits a lodash-style path on '.', '[' and ']' and drops the
// empty pieces, as path.match(/([^[.\]])+/g) does.
func splitPath(p string) []string {
	return strings.FieldsFunc(p, func(r rune) bool { return r == '.' || r == '[' || r == ']' })
}

// setPath sets the path a properties, traits or context condition reads.
func (n *node) setPath(p string) {
	n.path = splitPath(p)
	n.badPath = p != "" && len(n.path) == 0
}

type parser struct {
	toks []token
	i    int
	src  string
}

// shift returns the next token, or nil when there is none (JavaScript's
// Array#shift returning undefined).
func (p *parser) shift() *token {
	if p.i >= len(p.toks) {
		return nil
	}
	t := &p.toks[p.i]
	p.i++
	return t
}

func (p *parser) endOffset() int { return len(p.src) }

func parseErr(offset int, format string, args ...any) error {
	return &SubscriptionError{Offset: offset, Reason: fmt.Sprintf(format, args...)}
}

// parse is the reference's parse(tokens): a flat list of conditions joined by
// the last conditional seen, with parenthesised groups parsed recursively.
func (p *parser) parse() (node, bool, error) {
	var nodes []node
	or := false
	for tok := p.shift(); tok != nil && tok.kind != tokEOS; tok = p.shift() {
		switch {
		case tok.kind == tokIdent:
			head, _, _ := strings.Cut(tok.value, ".")
			if kind, ok := fieldKinds[head]; ok {
				n, err := p.condition(tok, kind)
				if err != nil {
					return node{}, false, err
				}
				nodes = append(nodes, n)
			}
			if tok.value == "contains" || tok.value == "match" {
				n, ok, err := p.function(tok, false)
				if err != nil {
					return node{}, false, err
				}
				if ok {
					nodes = append(nodes, n)
				}
			}
		case tok.kind == tokOperator && tok.value == "!":
			if p.i >= len(p.toks) {
				return node{}, false, parseErr(tok.pos, "'!' at the end of the subscription")
			}
			if next := p.toks[p.i]; next.kind == tokIdent && (next.value == "contains" || next.value == "match") {
				p.i++
				n, ok, err := p.function(&next, true)
				if err != nil {
					return node{}, false, err
				}
				if ok {
					nodes = append(nodes, n)
				}
			}
		case tok.kind == tokParenLeft:
			start := p.i
			for {
				if p.i >= len(p.toks) {
					return node{}, false, parseErr(tok.pos, "'(' is never closed (groups cannot be nested)")
				}
				if p.toks[p.i].kind == tokParenRight {
					break
				}
				p.i++
			}
			group := make([]token, 0, p.i-start+1)
			group = append(group, p.toks[start:p.i]...)
			group = append(group, token{kind: tokEOS, value: "eos", pos: p.toks[p.i].pos})
			p.i++ // the ')'
			sub := parser{toks: group, src: p.src}
			n, ok, err := sub.parse()
			if err != nil {
				return node{}, false, err
			}
			if !ok {
				// "()", or a group that ends at the ")" of its first function
				// call when that call names an unsupported field, as in
				// (contains(type, "t") or ...): the group collects the tokens
				// up to the first ")".
				n = node{empty: true, pos: tok.pos}
			}
			nodes = append(nodes, n)
		case tok.kind == tokConditional:
			or = tok.value == "or"
		}
	}
	switch len(nodes) {
	case 0:
		return node{}, false, nil
	case 1:
		return nodes[0], true, nil
	}
	return node{group: true, or: or, children: nodes}, true, nil
}

// condition parses FIELD OP VALUE after the field token.
func (p *parser) condition(field *token, kind fieldKind) (node, error) {
	opTok := p.shift()
	if opTok == nil {
		return node{}, parseErr(p.endOffset(), "missing operator after %q", field.value)
	}
	valTok := p.shift()
	if valTok == nil {
		return node{}, parseErr(p.endOffset(), "missing value after %q %s", field.value, opTok.value)
	}
	val := valueOf(*valTok)
	isExists := opTok.value == "!=" && valTok.value == "null"
	isNotExists := opTok.value == "=" && valTok.value == "null"
	isTrue := opTok.value == "=" && valTok.value == "true"
	isFalse := opTok.value == "=" && valTok.value == "false"

	// What each field admits besides plain comparisons: null tests for all
	// but type and event (for those "= null" compares with the string
	// "null"), boolean tests for userId and the paths, numeric equality for
	// the paths only.
	path := kind != fieldType && kind != fieldEvent && kind != fieldName && kind != fieldUserID
	nullable := kind != fieldType && kind != fieldEvent
	boolean := path || kind == fieldUserID
	number := path && valTok.kind == tokNumber

	n := node{field: kind}
	compare := false
	switch {
	case nullable && isExists:
		n.op = opExists
	case nullable && isNotExists:
		n.op = opNotExists
	case boolean && isTrue:
		n.op = opIsTrue
	case boolean && isFalse:
		n.op = opIsFalse
	case number && opTok.value == "=":
		n.op = opNumberEq
	case number && opTok.value == "!=":
		n.op = opNumberNe
	default:
		n.op = comparisonOp(opTok.value)
		compare = true
	}
	switch {
	case path:
		// properties, traits, context: the rest of the identifier is the path.
		n.setPath(strings.TrimPrefix(field.value, rootKeys[kind]+"."))
		n.str = val.String()
		n.num = val.Number()
	case compare:
		n.str = val.String()
		n.num = jsNumber(n.str)
	}
	return n, nil
}

// function parses contains(FIELD, "s") or match(FIELD, "pattern") after the
// function name. Like the reference, it takes the tokens at the expected
// positions without checking the punctuation between them, and adds no
// condition for an unsupported field.
func (p *parser) function(name *token, negate bool) (node, bool, error) {
	p.shift() // "("
	field := p.shift()
	if field == nil {
		return node{}, false, parseErr(p.endOffset(), "%s() is missing its first argument", name.value)
	}
	p.shift() // ","
	valTok := p.shift()
	if valTok == nil {
		return node{}, false, parseErr(p.endOffset(), "%s() is missing its second argument", name.value)
	}
	p.shift() // ")"

	var n node
	val := valueOf(*valTok).String()
	if name.value == "contains" {
		n.op = opContains
		if negate {
			n.op = opNotContains
		}
		n.str = val
	} else {
		if strings.HasSuffix(valTok.value, `*"`) {
			n.op = opStartsWith
			if negate {
				n.op = opNotStartsWith
			}
			n.str = dropLastRune(val)
		} else {
			n.op = opEndsWith
			if negate {
				n.op = opNotEndsWith
			}
			n.str = dropFirstRune(val)
		}
	}
	switch {
	case field.value == "event":
		n.field = fieldEvent
	case field.value == "name":
		n.field = fieldName
	case field.value == "userId":
		n.field = fieldUserID
	default:
		// The reference tests these prefixes without a dot, and may add one
		// condition per matching prefix; only one of them can match.
		matched := false
		for _, k := range []fieldKind{fieldProperties, fieldTraits, fieldContext} {
			prefix := rootKeys[k]
			if strings.HasPrefix(field.value, prefix) {
				n.field = k
				n.setPath(strings.TrimPrefix(field.value, prefix+"."))
				matched = true
				break
			}
		}
		if !matched {
			return node{}, false, nil
		}
	}
	return n, true, nil
}

func dropLastRune(s string) string {
	if s == "" {
		return s
	}
	_, size := utf8.DecodeLastRuneInString(s)
	return s[:len(s)-size]
}

func dropFirstRune(s string) string {
	if s == "" {
		return s
	}
	_, size := utf8.DecodeRuneInString(s)
	return s[size:]
}

// parseFQL lexes and parses a subscription.
func parseFQL(src string) (node, error) {
	lx := newLexer(src)
	toks, err := lx.lex()
	if err != nil {
		return node{}, err
	}
	p := parser{toks: normalize(toks), src: src}
	n, ok, err := p.parse()
	if err != nil {
		return node{}, err
	}
	if !ok {
		if strings.TrimSpace(src) == "" {
			return node{}, parseErr(0, "the subscription is empty")
		}
		return node{}, parseErr(0, "no supported condition: conditions must be on type, event, name, userId, properties.*, traits.* or context.*, e.g. type = \"track\"")
	}
	if n.empty {
		// The reference's parse returns that undefined child itself, and
		// parseFql fails reading its type.
		return node{}, parseErr(n.pos, "the group opened here has no supported condition (a group ends at the first ')', also that of a function call)")
	}
	if !n.group {
		n = node{group: true, children: []node{n}}
	}
	return n, nil
}
