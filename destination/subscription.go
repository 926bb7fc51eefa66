package destination

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"unicode/utf16"

	"github.com/tidwall/gjson"
)

// ErrInvalidSubscription is wrapped by every error of ParseSubscription.
var ErrInvalidSubscription = errors.New("invalid subscription")

// SubscriptionError is a subscription that does not parse: where (a byte
// offset into the subscription text) and why.
type SubscriptionError struct {
	Offset int
	Reason string
}

func (e *SubscriptionError) Error() string {
	return fmt.Sprintf("invalid subscription at offset %d: %s", e.Offset, e.Reason)
}

// Unwrap makes errors.Is(err, ErrInvalidSubscription) hold.
func (e *SubscriptionError) Unwrap() error { return ErrInvalidSubscription }

// Subscription is a compiled subscription: the FQL expression that selects
// the events an action receives, such as
//
//	type = "track" and (event = "Order Completed" or properties.total > 100)
//
// It is parsed once by ParseSubscription and then evaluated against raw event
// bytes by Match, without decoding the event. A Subscription is immutable and
// safe for concurrent use.
//
// The language and its evaluation are those of Segment's Actions destinations
// (fql-ts and destination-subscriptions), including their quirks, so that a
// subscription selects here exactly what it selects there:
//
//   - Conditions are FIELD OP VALUE, contains(FIELD, "s"), match(FIELD,
//     "prefix*") and match(FIELD, "*suffix"), optionally negated with "!",
//     and parenthesised groups. Operators: = != < <= > >=, and a space is
//     required after an identifier ("a >= 1", not "a>=1").
//   - There is no precedence: a group takes the last "and" or "or" it saw for
//     all its conditions ("a and b or c" is "a or b or c"), and groups cannot
//     be nested.
//   - Fields are type, event, name, userId, properties.PATH, traits.PATH
//     (the event's top-level traits) and context.PATH. Conditions on any
//     other field are dropped; a subscription with no condition left is an
//     error.
//   - = and != compare with a string, strictly ("event = 5" does not match
//     the number 5); != is true for a missing field. "!= null" and "= null"
//     test presence on name, userId, properties, traits and context; "= true"
//     and "= false" match booleans on userId, properties, traits and context;
//     a number compares numerically on properties, traits and context.
//     <, <=, >, >= hold only for JSON numbers. Strings are double-quoted, with
//     no escapes; single quotes are kept as part of the value.
//   - Paths are read like lodash's get, with dots and [n]; a falsy value
//     part-way (0, "", false, null) is the result.
//
// A group ends at the first ")", also the one that closes a function call,
// so (contains(type, "t") or event = "A") is an empty group (contains does
// not read type) followed by or event = "A". An empty group, such as (),
// is kept: evaluating it is an error in the reference, which fails every
// event of the batch; here that one event does not match, and events whose
// evaluation stops before the group (and, or short-circuit) are
// unaffected. A subscription that is only an empty group is a parse error,
// as in the reference. A condition on a path made only of separators
// (properties.\. = "a") is treated the same way: the reference fails
// evaluating it.
//
// Deliberate differences, on inputs that JSON leaves open or that read
// JavaScript internals: inherited JavaScript properties ("constructor",
// "toString") are not fields, and of duplicate keys in an event the first
// counts, as in gjson and so in the mapping (JSON.parse keeps the last).
// Where the reference fails a whole batch (above), only the events that
// reach the failing condition are refused.
type Subscription struct {
	src   string
	root  node
	roots [numFieldKinds]bool // which top-level keys the conditions read
}

// ParseSubscription compiles an FQL subscription. The error, a
// *SubscriptionError wrapping ErrInvalidSubscription, names the byte offset
// of the problem.
func ParseSubscription(fql string) (*Subscription, error) {
	root, err := parseFQL(fql)
	if err != nil {
		return nil, err
	}
	s := &Subscription{src: fql, root: root}
	s.markRoots(&root)
	return s, nil
}

// MustParseSubscription is ParseSubscription for subscriptions known to be
// valid, such as an action's default; it panics on an error.
func MustParseSubscription(fql string) *Subscription {
	s, err := ParseSubscription(fql)
	if err != nil {
		panic(err)
	}
	return s
}

func (s *Subscription) markRoots(n *node) {
	if n.empty {
		return
	}
	if n.group {
		for i := range n.children {
			s.markRoots(&n.children[i])
		}
		return
	}
	s.roots[n.field] = true
}

// String returns the subscription's FQL text.
func (s *Subscription) String() string { return s.src }

// Match reports whether event, one JSON object, satisfies the subscription.
// Malformed JSON never panics; it simply matches less (check it with
// CheckDepth and gjson.ValidBytes at the edge).
func (s *Subscription) Match(event []byte) bool {
	if len(event) == 0 {
		return false
	}
	return s.MatchString(bytesToString(event))
}

// MatchString is Match for an event held in a string.
func (s *Subscription) MatchString(event string) bool {
	matched, _ := s.evaluate(event)
	return matched
}

// evaluate is MatchString that also reports whether the evaluation reached
// an empty group or a path made only of separators, where the reference's
// validate throws.
func (s *Subscription) evaluate(event string) (matched, failed bool) {
	var ev evalEvent
	if !ev.fill(event, &s.roots) {
		return false, false
	}
	matched = ev.group(&s.root)
	return matched && !ev.failed, ev.failed
}

// evalEvent holds the top-level values of one event that the conditions
// read, looked up in a single pass over the event that stops as soon as
// they are all found.
type evalEvent struct {
	vals [numFieldKinds]gjson.Result
	// failed is set when the evaluation reaches an empty group or a path
	// made only of separators. The reference throws there and fails every
	// event of the batch; here the evaluation stops and that one event does
	// not match.
	failed bool
}

// fill reads the wanted top-level values; it reports false when event is
// not a JSON object. Of duplicate keys the first counts, as in gjson (and
// so in the mapping).
func (ev *evalEvent) fill(event string, want *[numFieldKinds]bool) bool {
	need := 0
	for _, w := range want {
		if w {
			need++
		}
	}
	var seen [numFieldKinds]bool
	i := skipSpace(event, 0)
	if i >= len(event) || event[i] != '{' {
		return false
	}
	eachMember(event, func(rawKey string, value gjson.Result) bool {
		k, ok := rootKind(keyString(rawKey))
		if ok && want[k] && !seen[k] {
			ev.vals[k] = value
			seen[k] = true
			need--
		}
		return need > 0
	})
	return true
}

func rootKind(key string) (fieldKind, bool) {
	switch key {
	case "type":
		return fieldType, true
	case "event":
		return fieldEvent, true
	case "name":
		return fieldName, true
	case "userId":
		return fieldUserID, true
	case "properties":
		return fieldProperties, true
	case "traits":
		return fieldTraits, true
	case "context":
		return fieldContext, true
	}
	return 0, false
}

func (ev *evalEvent) group(n *node) bool {
	if n.or {
		for i := range n.children {
			if ev.eval(&n.children[i]) {
				return true
			}
			if ev.failed {
				return false
			}
		}
		return false
	}
	for i := range n.children {
		if !ev.eval(&n.children[i]) {
			return false
		}
	}
	return true
}

func (ev *evalEvent) eval(n *node) bool {
	if n.empty || n.badPath {
		ev.failed = true
		return false
	}
	if n.group {
		return ev.group(n)
	}
	v := fromResult(ev.vals[n.field])
	if n.path != nil || n.field >= fieldProperties {
		v = lodashGet(v, n.path)
	}
	return compare(v, n)
}

// jsKind is the JavaScript type of a value read from an event.
type jsKind uint8

const (
	jsUndefined jsKind = iota
	jsNull
	jsBool
	jsNum
	jsStr
	jsObject
	jsArray
)

type jsValue struct {
	kind jsKind
	res  gjson.Result // objects and arrays
	str  string
	num  float64
	b    bool
}

func fromResult(r gjson.Result) jsValue {
	switch r.Type {
	case gjson.Null:
		if len(r.Raw) == 0 {
			return jsValue{}
		}
		return jsValue{kind: jsNull}
	case gjson.False:
		return jsValue{kind: jsBool}
	case gjson.True:
		return jsValue{kind: jsBool, b: true}
	case gjson.Number:
		return jsValue{kind: jsNum, num: r.Num}
	case gjson.String:
		return jsValue{kind: jsStr, str: r.Str}
	case gjson.JSON:
		if strings.HasPrefix(r.Raw, "[") {
			return jsValue{kind: jsArray, res: r}
		}
		return jsValue{kind: jsObject, res: r}
	}
	return jsValue{}
}

// falsy is JavaScript truthiness: undefined, null, false, 0, NaN and "".
func (v jsValue) falsy() bool {
	switch v.kind {
	case jsUndefined, jsNull:
		return true
	case jsBool:
		return !v.b
	case jsNum:
		return v.num == 0 || math.IsNaN(v.num)
	case jsStr:
		return v.str == ""
	}
	return false
}

// lodashGet reads path from v like the reference's get: each step is
// prev && prev[key], so a falsy value part-way is the result.
func lodashGet(v jsValue, path []string) jsValue {
	if len(path) == 0 {
		return jsValue{}
	}
	for _, key := range path {
		if v.falsy() {
			return v
		}
		v = index(v, key)
	}
	return v
}

func index(v jsValue, key string) jsValue {
	switch v.kind {
	case jsObject:
		return fromResult(memberOf(v.res, key))
	case jsArray:
		if key == "length" {
			n := 0
			eachItem(v.res.Raw, func(gjson.Result) bool { n++; return true })
			return jsValue{kind: jsNum, num: float64(n)}
		}
		if i, ok := arrayIndex(key); ok {
			var found gjson.Result
			n := 0
			eachItem(v.res.Raw, func(val gjson.Result) bool {
				if n == i {
					found = val
					return false
				}
				n++
				return true
			})
			return fromResult(found)
		}
	case jsStr:
		if key == "length" {
			return jsValue{kind: jsNum, num: float64(utf16Len(v.str))}
		}
		if i, ok := arrayIndex(key); ok {
			units := utf16.Encode([]rune(v.str))
			if i < len(units) {
				return jsValue{kind: jsStr, str: string(utf16.Decode(units[i : i+1]))}
			}
		}
	}
	return jsValue{}
}

// arrayIndex parses a canonical array index ("0", "12"; not "01" or "-1").
func arrayIndex(key string) (int, bool) {
	if key == "" || len(key) > 9 || (len(key) > 1 && key[0] == '0') {
		return 0, false
	}
	n, err := strconv.Atoi(key)
	if err != nil || n < 0 {
		return 0, false
	}
	return n, true
}

func utf16Len(s string) int {
	n := 0
	for _, r := range s {
		if r >= 0x10000 {
			n += 2
		} else {
			n++
		}
	}
	return n
}

// compare is the reference's validateValue.
func compare(v jsValue, n *node) bool {
	switch n.op {
	case opEq:
		return v.kind == jsStr && v.str == n.str
	case opNe:
		return !(v.kind == jsStr && v.str == n.str)
	case opLt:
		return v.kind == jsNum && v.num < n.num
	case opLe:
		return v.kind == jsNum && v.num <= n.num
	case opGt:
		return v.kind == jsNum && v.num > n.num
	case opGe:
		return v.kind == jsNum && v.num >= n.num
	case opNumberEq:
		return v.kind == jsNum && v.num == n.num
	case opNumberNe:
		return v.kind == jsNum && v.num != n.num
	case opContains:
		return v.kind == jsStr && strings.Contains(v.str, n.str)
	case opNotContains:
		return v.kind == jsStr && !strings.Contains(v.str, n.str)
	case opStartsWith:
		return v.kind == jsStr && strings.HasPrefix(v.str, n.str)
	case opNotStartsWith:
		return v.kind == jsStr && !strings.HasPrefix(v.str, n.str)
	case opEndsWith:
		return v.kind == jsStr && strings.HasSuffix(v.str, n.str)
	case opNotEndsWith:
		return v.kind == jsStr && !strings.HasSuffix(v.str, n.str)
	case opExists:
		return v.kind != jsUndefined && v.kind != jsNull
	case opNotExists:
		return v.kind == jsUndefined || v.kind == jsNull
	case opIsTrue:
		return v.kind == jsBool && v.b
	case opIsFalse:
		return v.kind == jsBool && !v.b
	}
	return false
}

// Describe returns the parsed subscription in a readable, fully
// parenthesised form, e.g. `or(type = "track", properties.total > 100)`;
// it shows how the lack of precedence grouped the conditions.
func (s *Subscription) Describe() string {
	var b strings.Builder
	describe(&b, &s.root)
	return b.String()
}

func describe(b *strings.Builder, n *node) {
	if n.empty {
		b.WriteString("()")
		return
	}
	if n.group {
		if n.or {
			b.WriteString("or(")
		} else {
			b.WriteString("and(")
		}
		for i := range n.children {
			if i > 0 {
				b.WriteString(", ")
			}
			describe(b, &n.children[i])
		}
		b.WriteString(")")
		return
	}
	b.WriteString(rootKeys[n.field])
	if n.badPath {
		b.WriteString(".(separators only)")
	}
	if len(n.path) > 0 {
		b.WriteString("." + strings.Join(n.path, "."))
	}
	b.WriteString(" " + opNames[n.op])
	switch n.op {
	case opExists, opNotExists, opIsTrue, opIsFalse:
	case opLt, opLe, opGt, opGe, opNumberEq, opNumberNe:
		b.WriteString(" " + jsFormat(n.num))
	default:
		b.WriteString(" " + strconv.Quote(n.str))
	}
}
