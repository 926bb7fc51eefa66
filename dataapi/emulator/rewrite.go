package emulator

import (
	"strconv"
	"strings"

	"github.com/s2segment/s2segment/dataapi/emulator/internal/gms"
)

// exactJSONFunc wraps JSON values of INSERTs for the embedded engine.
const exactJSONFunc = gms.ExactJSONFunc

// insertShape is where the rows of an INSERT … VALUES are in its text, so
// that the rule layer can parse the statement without its rows (a 1 MB
// batch parses in the time of one row) and wrap values of chosen columns.
type insertShape struct {
	ok bool
	// values is the end of the VALUES keyword; tuples are the byte
	// ranges of the row tuples, parentheses included.
	values int
	tuples [][2]int
}

// insertShapeOf finds the row tuples of an INSERT … VALUES statement. For
// any other shape (INSERT … SELECT, INSERT … SET) ok is false.
func insertShapeOf(sql string) insertShape {
	sig := significant(scanSQL(sql))
	var s insertShape
	depth := 0
	i := 0
	for ; i < len(sig); i++ {
		t := sig[i]
		switch {
		case t.isPunct(sql, '('):
			depth++
		case t.isPunct(sql, ')'):
			depth--
		case depth == 0 && (t.is(sql, "VALUES") || t.is(sql, "VALUE")):
			s.values = t.end
			i++
			goto rows
		case depth == 0 && (t.is(sql, "SELECT") || t.is(sql, "SET")):
			return s
		}
	}
	return s
rows:
	for i < len(sig) && sig[i].isPunct(sql, '(') {
		open := i
		d := 0
		for ; i < len(sig); i++ {
			if sig[i].isPunct(sql, '(') {
				d++
			} else if sig[i].isPunct(sql, ')') {
				d--
				if d == 0 {
					break
				}
			}
		}
		if i == len(sig) {
			return insertShape{}
		}
		s.tuples = append(s.tuples, [2]int{sig[open].start, sig[i].end})
		i++
		if i < len(sig) && sig[i].isPunct(sql, ',') {
			i++
			continue
		}
		break
	}
	s.ok = len(s.tuples) > 0
	return s
}

// skeleton is the statement with only its first row, for parsing.
func (s insertShape) skeleton(sql string) string {
	if !s.ok || len(s.tuples) == 1 {
		return sql
	}
	first, last := s.tuples[0], s.tuples[len(s.tuples)-1]
	return sql[:first[1]] + sql[last[1]:]
}

// wrapValues returns sql with the values at the given positions of every
// row written as fn(value).
func (s insertShape) wrapValues(sql string, at []int, fn string) string {
	if !s.ok || len(at) == 0 {
		return sql
	}
	want := make(map[int]bool, len(at))
	for _, a := range at {
		want[a] = true
	}
	var b strings.Builder
	b.Grow(len(sql) + len(s.tuples)*len(at)*(len(fn)+2))
	last := 0
	for _, tup := range s.tuples {
		inner := sql[tup[0]+1 : tup[1]-1]
		off := tup[0] + 1
		col, depth, from, to, words := 0, 0, -1, -1, 0
		flush := func() {
			// A lone DEFAULT cannot be an argument; it stays as written.
			if want[col] && from >= 0 && !(words == 1 && strings.EqualFold(inner[from:to], "DEFAULT")) {
				b.WriteString(sql[last : off+from])
				b.WriteString(fn + "(")
				b.WriteString(inner[from:to])
				b.WriteString(")")
				last = off + to
			}
		}
		for _, t := range significant(scanSQL(inner)) {
			if depth == 0 && t.isPunct(inner, ',') {
				flush()
				col, from, to, words = col+1, -1, -1, 0
				continue
			}
			if from < 0 {
				from = t.start
			}
			to = t.end
			words++
			switch {
			case t.isPunct(inner, '('):
				depth++
			case t.isPunct(inner, ')'):
				depth--
			}
		}
		flush()
	}
	b.WriteString(sql[last:])
	return b.String()
}

// JSON accessors (docJSONExtract): SingleStore's col::key (JSON),
// col::$key (text), col::%key (double) and the functions
// JSON_EXTRACT_JSON, JSON_EXTRACT_STRING, JSON_EXTRACT_DOUBLE and
// JSON_EXTRACT_BIGINT(json, key, …) become MySQL's JSON_EXTRACT with a
// path, unquoted or cast as the type asks. Keys are string literals or
// array indexes; a key given by an expression is left to the engine.
var extractFuncs = map[string]byte{
	"JSON_EXTRACT_JSON":   'j',
	"JSON_EXTRACT_STRING": '$',
	"JSON_EXTRACT_DOUBLE": '%',
	"JSON_EXTRACT_BIGINT": 'i',
}

// translateAccessors rewrites the accessors in sql and reports whether it
// changed anything.
func translateAccessors(sql string) (string, bool) {
	if !strings.Contains(sql, "::") && !containsFold(sql, "JSON_EXTRACT_") {
		return sql, false
	}
	changed := false
	for range 10000 { // each pass rewrites one accessor; the bound only guards against a loop
		out, ok := translateOne(sql)
		if !ok {
			break
		}
		sql, changed = out, true
	}
	return sql, changed
}

// containsFold reports whether s contains sub (upper-case ASCII) in any
// case, without copying s (a statement can be 1 MB).
func containsFold(s, sub string) bool {
	for i := 0; i+len(sub) <= len(s); i++ {
		j := 0
		for j < len(sub) {
			c := s[i+j]
			if 'a' <= c && c <= 'z' {
				c -= 'a' - 'A'
			}
			if c != sub[j] {
				break
			}
			j++
		}
		if j == len(sub) {
			return true
		}
	}
	return false
}

// translateOne rewrites the first accessor of sql.
func translateOne(sql string) (string, bool) {
	sig := significant(scanSQL(sql))
	for i, t := range sig {
		if t.kind == tokWord && i+1 < len(sig) && sig[i+1].isPunct(sql, '(') {
			if kind, ok := extractFuncs[strings.ToUpper(t.text(sql))]; ok {
				if out, ok := translateFunc(sql, sig, i, kind); ok {
					return out, true
				}
			}
		}
		if t.isPunct(sql, ':') && i+1 < len(sig) && sig[i+1].isPunct(sql, ':') && sig[i+1].start == t.end && i > 0 {
			if out, ok := translateColons(sql, sig, i); ok {
				return out, true
			}
		}
	}
	return sql, false
}

// translateFunc rewrites the JSON_EXTRACT_<type>( call at sig[at].
func translateFunc(sql string, sig []token, at int, kind byte) (string, bool) {
	args, closeAt := listItems(sql, sig, at+1) // significant-token index ranges, inclusive
	if closeAt < 0 || len(args) < 2 {
		return "", false
	}
	var keys []string
	for _, a := range args[1:] {
		if a[0] != a[1] {
			return "", false
		}
		k := sig[a[0]]
		switch {
		case k.kind == tokString:
			keys = append(keys, "."+jsonPathKey(unquoteString(k.text(sql))))
		case k.kind == tokWord && isDigits(k.text(sql)):
			keys = append(keys, "["+k.text(sql)+"]")
		default:
			return "", false
		}
	}
	if args[0][0] > args[0][1] {
		return "", false
	}
	operand := sql[sig[args[0][0]].start:sig[args[0][1]].end]
	return sql[:sig[at].start] + extractExpr(operand, keys, kind) + sql[sig[closeAt].end:], true
}

// translateColons rewrites the chain of :: accessors whose first ':' is
// sig[at].
func translateColons(sql string, sig []token, at int) (string, bool) {
	// The operand: a parenthesized expression or call, or a dotted name.
	start := at - 1
	switch {
	case sig[start].isPunct(sql, ')'):
		depth := 0
		for ; start >= 0; start-- {
			if sig[start].isPunct(sql, ')') {
				depth++
			} else if sig[start].isPunct(sql, '(') {
				depth--
				if depth == 0 {
					break
				}
			}
		}
		if start < 0 {
			return "", false
		}
		if start > 0 && sig[start-1].kind == tokWord {
			start--
		}
	case sig[start].kind == tokWord || sig[start].kind == tokQuotedID:
		for start >= 2 && sig[start-1].isPunct(sql, '.') && (sig[start-2].kind == tokWord || sig[start-2].kind == tokQuotedID) {
			start -= 2
		}
	default:
		return "", false
	}
	var keys []string
	kind := byte('j')
	j := at
	for j+1 < len(sig) && sig[j].isPunct(sql, ':') && sig[j+1].isPunct(sql, ':') && sig[j+1].start == sig[j].end {
		if kind != 'j' {
			return "", false // ::$ and ::% end a chain
		}
		j += 2
		if j >= len(sig) {
			return "", false
		}
		k := sig[j]
		switch {
		case k.isPunct(sql, '%'):
			kind = '%'
			j++
		case k.kind == tokWord && strings.HasPrefix(k.text(sql), "$"):
			kind = '$'
			if k.text(sql) == "$" {
				j++
			} else {
				keys = append(keys, "."+jsonPathKey(k.text(sql)[1:]))
				j++
				continue
			}
		}
		if j >= len(sig) {
			return "", false
		}
		k = sig[j]
		switch {
		case k.kind == tokWord && isDigits(k.text(sql)):
			keys = append(keys, "["+k.text(sql)+"]")
		case k.kind == tokWord:
			keys = append(keys, "."+jsonPathKey(k.text(sql)))
		case k.kind == tokQuotedID:
			keys = append(keys, "."+jsonPathKey(unquoteIdent(k.text(sql))))
		default:
			return "", false
		}
		j++
	}
	operand := sql[sig[start].start:sig[at-1].end]
	return sql[:sig[start].start] + extractExpr(operand, keys, kind) + sql[sig[j-1].end:], true
}

// extractExpr is the MySQL expression that reads path keys of operand as
// kind: 'j' JSON, '$' text, '%' double, 'i' bigint.
func extractExpr(operand string, keys []string, kind byte) string {
	path := "'" + sqlStringEscape("$"+strings.Join(keys, "")) + "'"
	e := "JSON_EXTRACT(" + operand + ", " + path + ")"
	switch kind {
	case '$':
		return "JSON_UNQUOTE(" + e + ")"
	case '%':
		return "CAST(" + e + " AS DOUBLE)"
	case 'i':
		return "CAST(" + e + " AS SIGNED)"
	}
	return e
}

// jsonPathKey quotes an object key for a JSON path: "key".
func jsonPathKey(k string) string {
	return strconv.Quote(k)
}

// sqlStringEscape escapes text for a single-quoted SQL string.
func sqlStringEscape(s string) string {
	return strings.NewReplacer(`\`, `\\`, `'`, `''`).Replace(s)
}

// unquoteString returns the text of a '…' or "…" SQL string literal.
func unquoteString(s string) string {
	if len(s) < 2 {
		return s
	}
	q := s[0]
	body := s[1 : len(s)-1]
	var b strings.Builder
	for i := 0; i < len(body); i++ {
		c := body[i]
		switch {
		case c == '\\' && i+1 < len(body):
			i++
			switch body[i] {
			case 'n':
				b.WriteByte('\n')
			case 't':
				b.WriteByte('\t')
			case 'r':
				b.WriteByte('\r')
			case '0':
				b.WriteByte(0)
			default:
				b.WriteByte(body[i])
			}
		case c == q && i+1 < len(body) && body[i+1] == q:
			b.WriteByte(q)
			i++
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}

// isDigits reports whether s is one or more ASCII digits.
func isDigits(s string) bool { return s != "" && strings.Trim(s, "0123456789") == "" }
