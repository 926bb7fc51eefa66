package emulator

import (
	"strings"
)

// tokKind is the kind of a lexical token of MySQL-dialect SQL. The scanner
// knows only what the emulator needs: where strings, quoted identifiers and
// comments start and end, so that '?' placeholders, ';' separators and
// keywords are found only outside them.
type tokKind uint8

const (
	tokWord     tokKind = iota // keyword, identifier or number
	tokQuotedID                // `identifier`
	tokString                  // 'text' or "text"
	tokQuestion                // ? placeholder
	tokPunct                   // any other single byte: ( ) , ; = . …
	tokSpace                   // whitespace
	tokComment                 // # …, -- …, /* … */
)

// token is one lexical token: its kind and its byte range in the statement.
type token struct {
	kind       tokKind
	start, end int
}

func (t token) text(sql string) string { return sql[t.start:t.end] }

// is reports whether t is the word w, compared case-insensitively.
func (t token) is(sql, w string) bool {
	return t.kind == tokWord && strings.EqualFold(sql[t.start:t.end], w)
}

// isPunct reports whether t is the punctuation byte c.
func (t token) isPunct(sql string, c byte) bool {
	return t.kind == tokPunct && sql[t.start] == c
}

func isWordByte(c byte) bool {
	return c == '_' || c == '$' || c >= 0x80 ||
		('a' <= c && c <= 'z') || ('A' <= c && c <= 'Z') || ('0' <= c && c <= '9')
}

// scanSQL splits sql into tokens. It follows the MySQL lexer rules that
// go-sql-driver/mysql's client-side interpolation also follows: backslash
// escapes and doubled quotes inside '…' and "…", doubled backticks inside
// `…`, "#" and "-- " line comments and /* … */ block comments. An
// unterminated string or comment runs to the end; the engine reports it.
func scanSQL(sql string) []token {
	toks := make([]token, 0, len(sql)/4+1)
	n := len(sql)
	for i := 0; i < n; {
		c := sql[i]
		start := i
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v':
			for i < n && (sql[i] == ' ' || sql[i] == '\t' || sql[i] == '\n' || sql[i] == '\r' || sql[i] == '\f' || sql[i] == '\v') {
				i++
			}
			toks = append(toks, token{tokSpace, start, i})
		case c == '\'' || c == '"':
			i++
			for i < n {
				if sql[i] == '\\' {
					i += 2
					continue
				}
				if sql[i] == c {
					if i+1 < n && sql[i+1] == c { // doubled quote
						i += 2
						continue
					}
					i++
					break
				}
				i++
			}
			if i > n {
				i = n
			}
			toks = append(toks, token{tokString, start, i})
		case c == '`':
			i++
			for i < n {
				if sql[i] == '`' {
					if i+1 < n && sql[i+1] == '`' {
						i += 2
						continue
					}
					i++
					break
				}
				i++
			}
			toks = append(toks, token{tokQuotedID, start, i})
		case c == '#' || (c == '-' && i+1 < n && sql[i+1] == '-' && (i+2 == n || isCommentSpace(sql[i+2]))):
			for i < n && sql[i] != '\n' {
				i++
			}
			toks = append(toks, token{tokComment, start, i})
		case c == '/' && i+1 < n && sql[i+1] == '*':
			end := strings.Index(sql[i+2:], "*/")
			if end < 0 {
				i = n
			} else {
				i += 2 + end + 2
			}
			toks = append(toks, token{tokComment, start, i})
		case c == '?':
			i++
			toks = append(toks, token{tokQuestion, start, i})
		case isWordByte(c):
			for i < n && isWordByte(sql[i]) {
				i++
			}
			toks = append(toks, token{tokWord, start, i})
		default:
			i++
			toks = append(toks, token{tokPunct, start, i})
		}
	}
	return toks
}

func isCommentSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

// significant returns the tokens that are neither whitespace nor comments.
func significant(toks []token) []token {
	out := make([]token, 0, len(toks))
	for _, t := range toks {
		if t.kind != tokSpace && t.kind != tokComment {
			out = append(out, t)
		}
	}
	return out
}

// statement is one SQL statement as the emulator sees it.
type statement struct {
	// SQL is the statement to run: trailing semicolons removed and, when
	// adapting, SingleStore-only clauses rewritten for the engine.
	SQL string
	// Placeholders is the number of ? placeholders outside strings,
	// quoted identifiers and comments.
	Placeholders int
	// Multiple is set when the text holds more than one statement.
	Multiple bool
	// Empty is set when the text holds no statement at all.
	Empty bool
	// Keyword is the first keyword, upper-cased ("SELECT", "USE", …).
	Keyword string
	// Adapted is set when SingleStore-only clauses were rewritten.
	Adapted bool
	// Clauses holds what the SingleStore-only clauses of a CREATE TABLE
	// said, when adapting; nil for other statements.
	Clauses *ddlClauses
}

// ddlClauses is what the SingleStore-only parts of a CREATE TABLE said,
// before adaptation removed them from the text the engine runs.
type ddlClauses struct {
	// Rowstore is set for CREATE ROWSTORE TABLE; Reference for CREATE
	// [ROWSTORE] REFERENCE TABLE.
	Rowstore, Reference bool
	// ShardKey is set when a SHARD KEY clause was given; ShardColumns are
	// its columns (none for SHARD KEY ()).
	ShardKey     bool
	ShardColumns []string
	// SortKey is set for a SORT KEY clause or a KEY … USING CLUSTERED
	// COLUMNSTORE entry (its legacy spelling).
	SortKey bool
}

// analyze scans sql once and returns what the handler needs to know. When
// adapt is set, SingleStore-only DDL clauses are rewritten (see adaptDDL).
func analyze(sql string, adapt bool) statement {
	toks := scanSQL(sql)
	sig := significant(toks)
	var st statement
	// Drop trailing semicolons: "stmt;" is one statement.
	for len(sig) > 0 && sig[len(sig)-1].isPunct(sql, ';') {
		sig = sig[:len(sig)-1]
	}
	if len(sig) == 0 {
		st.Empty = true
		return st
	}
	for _, t := range sig {
		switch {
		case t.kind == tokQuestion:
			st.Placeholders++
		case t.isPunct(sql, ';'):
			st.Multiple = true
		}
	}
	if sig[0].kind == tokWord {
		st.Keyword = strings.ToUpper(sig[0].text(sql))
	}
	st.SQL = sql[:sig[len(sig)-1].end]
	if adapt && !st.Multiple {
		switch st.Keyword {
		case "CREATE":
			out, ok, cl := adaptDDL(st.SQL, sig)
			st.Clauses = cl
			if ok {
				st.SQL, st.Adapted = out, true
			}
		case "ALTER":
			if out, ok := adaptAlter(st.SQL, sig); ok {
				st.SQL, st.Adapted = out, true
			}
		}
	}
	return st
}

// listItems splits the parenthesised list that opens at sig[open] at its
// commas of depth one. It returns each item as the range [first, last] of
// significant-token indexes (first > last for an empty item), and the index
// of the closing parenthesis, or -1 when the list is not closed.
func listItems(sql string, sig []token, open int) (items [][2]int, closeAt int) {
	depth, first := 0, open+1
	for j := open; j < len(sig); j++ {
		switch {
		case sig[j].isPunct(sql, '('):
			depth++
		case sig[j].isPunct(sql, ')'):
			depth--
			if depth == 0 {
				return append(items, [2]int{first, j - 1}), j
			}
		case sig[j].isPunct(sql, ',') && depth == 1:
			items = append(items, [2]int{first, j - 1})
			first = j + 1
		}
	}
	return items, -1
}

// cut is a byte range of the statement to replace.
type cut struct {
	start, end int
	with       string
}

// applyCuts replaces the given non-overlapping ranges, which must be in
// increasing order.
func applyCuts(sql string, cuts []cut) string {
	var b strings.Builder
	b.Grow(len(sql))
	last := 0
	for _, c := range cuts {
		b.WriteString(sql[last:c.start])
		b.WriteString(c.with)
		last = c.end
	}
	b.WriteString(sql[last:])
	return b.String()
}

// adaptDDL rewrites the SingleStore-only parts of a CREATE TABLE statement
// so that MySQL-family engines accept it, and reports whether it changed
// anything:
//
//   - CREATE ROWSTORE | REFERENCE | ROWSTORE REFERENCE TABLE → CREATE TABLE;
//     CREATE GLOBAL TEMPORARY TABLE → CREATE TEMPORARY TABLE
//   - SHARD KEY [name] (…), SORT KEY (…) and KEY (…) USING CLUSTERED
//     COLUMNSTORE entries of the definition list are removed
//   - AUTOSTATS_*=… and SQL_MODE=… table options are removed
//
// Everything else, including UNIQUE KEY … USING HASH (which MySQL and
// MariaDB accept), is left as written. sig holds the significant tokens of
// sql without trailing semicolons. The clauses are returned for every
// CREATE TABLE with a definition list, changed or not (nil otherwise).
func adaptDDL(sql string, sig []token) (string, bool, *ddlClauses) {
	var cuts []cut
	cl := &ddlClauses{}
	i := 1 // after CREATE
	for i < len(sig) && sig[i].kind == tokWord {
		switch {
		case sig[i].is(sql, "ROWSTORE"), sig[i].is(sql, "REFERENCE"), sig[i].is(sql, "GLOBAL"):
			if i+1 >= len(sig) {
				return "", false, nil
			}
			cl.Rowstore = cl.Rowstore || sig[i].is(sql, "ROWSTORE")
			cl.Reference = cl.Reference || sig[i].is(sql, "REFERENCE")
			cuts = append(cuts, cut{start: sig[i].start, end: sig[i+1].start})
			i++
			continue
		case sig[i].is(sql, "TEMPORARY"):
			i++
			continue
		}
		break
	}
	if i >= len(sig) || !sig[i].is(sql, "TABLE") {
		return "", false, nil
	}
	i++
	if i+2 < len(sig) && sig[i].is(sql, "IF") && sig[i+1].is(sql, "NOT") && sig[i+2].is(sql, "EXISTS") {
		i += 3
	}
	// Table name: name, `name`, db.name.
	for i < len(sig) && (sig[i].kind == tokWord || sig[i].kind == tokQuotedID || sig[i].isPunct(sql, '.')) {
		i++
	}
	if i < len(sig) && sig[i].isPunct(sql, '(') {
		end, defCuts := adaptDefinitions(sql, sig, i, cl)
		cuts = append(cuts, defCuts...)
		i = end + 1
	} else {
		cl = nil
	}
	opts := sig[min(i, len(sig)):]
	for j, t := range opts {
		if t.isPunct(sql, '(') || t.is(sql, "SELECT") || t.is(sql, "AS") || t.is(sql, "LIKE") ||
			t.is(sql, "PARTITION") || t.is(sql, "IGNORE") || t.is(sql, "REPLACE") || t.is(sql, "WITH") {
			opts = opts[:j]
			break
		}
	}
	cuts = append(cuts, adaptTableOptions(sql, opts)...)
	if len(cuts) == 0 {
		return "", false, cl
	}
	return applyCuts(sql, cuts), true, cl
}

// adaptDefinitions handles the definition list that opens at sig[open]. It
// returns the index of the closing parenthesis and the cuts that remove the
// SingleStore-only entries, and records what those entries said in cl.
func adaptDefinitions(sql string, sig []token, open int, cl *ddlClauses) (int, []cut) {
	entries, closeAt := listItems(sql, sig, open)
	if closeAt < 0 {
		return len(sig) - 1, nil // unbalanced: leave it to the engine
	}
	if n := len(entries); entries[n-1][0] > entries[n-1][1] {
		entries = entries[:n-1] // a trailing comma, or "()"
	}
	for _, e := range entries {
		if e[0] > e[1] {
			return closeAt, nil // an empty definition: the engine says what is wrong
		}
	}
	drop := make([]bool, len(entries))
	kept := 0
	for k, e := range entries {
		ent := sig[e[0] : e[1]+1]
		drop[k] = singleStoreOnlyEntry(sql, ent)
		if drop[k] {
			recordClause(sql, ent, cl)
		}
		if !drop[k] {
			kept++
		}
	}
	if kept == len(entries) || kept == 0 {
		return closeAt, nil
	}
	// Rebuild the list from the text of the kept entries.
	var b strings.Builder
	b.WriteByte('(')
	sep := ""
	for k, e := range entries {
		if drop[k] {
			continue
		}
		b.WriteString(sep)
		b.WriteString(strings.TrimSpace(sql[sig[e[0]].start:sig[e[1]].end]))
		sep = ", "
	}
	b.WriteByte(')')
	return closeAt, []cut{{start: sig[open].start, end: sig[closeAt].end, with: b.String()}}
}

// recordClause notes what a SingleStore-only entry says in cl.
func recordClause(sql string, e []token, cl *ddlClauses) {
	if !e[0].is(sql, "SHARD") {
		cl.SortKey = true
		return
	}
	cl.ShardKey = true
	cl.ShardColumns = nil
	depth := 0
	for _, t := range e[2:] {
		switch {
		case t.isPunct(sql, '('):
			depth++
		case t.isPunct(sql, ')'):
			depth--
		case depth == 1 && (t.kind == tokQuotedID || (t.kind == tokWord && !t.is(sql, "ASC") && !t.is(sql, "DESC"))):
			cl.ShardColumns = append(cl.ShardColumns, unquoteIdent(t.text(sql)))
		}
	}
}

// unquoteIdent returns an identifier's name: backticks removed and doubled
// backticks undoubled.
func unquoteIdent(s string) string {
	if len(s) >= 2 && s[0] == '`' && s[len(s)-1] == '`' {
		return strings.ReplaceAll(s[1:len(s)-1], "``", "`")
	}
	return s
}

// adaptAlter rewrites ALTER TABLE t ADD [COLUMN] (def, def, …), the
// parenthesized form MySQL, MariaDB and SingleStore accept and
// go-mysql-server's parser does not, into ADD COLUMN def, ADD COLUMN def,
// …, and reports whether it changed anything. sig holds the significant
// tokens of sql without trailing semicolons.
func adaptAlter(sql string, sig []token) (string, bool) {
	var cuts []cut
	depth := 0
	for i := 0; i < len(sig); i++ {
		t := sig[i]
		switch {
		case t.isPunct(sql, '('):
			depth++
			continue
		case t.isPunct(sql, ')'):
			depth--
			continue
		}
		if depth != 0 || !t.is(sql, "ADD") {
			continue
		}
		j := i + 1
		if j < len(sig) && sig[j].is(sql, "COLUMN") {
			j++
		}
		if j >= len(sig) || !sig[j].isPunct(sql, '(') {
			continue
		}
		// The definitions inside, split at commas of depth one.
		items, closeAt := listItems(sql, sig, j)
		var defs []string
		for _, it := range items {
			if it[0] <= it[1] {
				defs = append(defs, sql[sig[it[0]].start:sig[it[1]].end])
			}
		}
		if closeAt < 0 || len(defs) == 0 {
			return "", false
		}
		for k := range defs {
			defs[k] = "ADD COLUMN " + defs[k]
		}
		cuts = append(cuts, cut{start: t.start, end: sig[closeAt].end, with: strings.Join(defs, ", ")})
		i = closeAt
	}
	if len(cuts) == 0 {
		return "", false
	}
	return applyCuts(sql, cuts), true
}

// singleStoreOnlyEntry reports whether a definition-list entry is a
// SingleStore-only key: SHARD KEY, SORT KEY or a clustered columnstore key.
func singleStoreOnlyEntry(sql string, e []token) bool {
	if len(e) >= 2 && (e[0].is(sql, "SHARD") || e[0].is(sql, "SORT")) && e[1].is(sql, "KEY") {
		return true
	}
	for j := 0; j+2 < len(e); j++ {
		if e[j].is(sql, "USING") && e[j+1].is(sql, "CLUSTERED") && e[j+2].is(sql, "COLUMNSTORE") {
			return true
		}
	}
	return false
}

// adaptTableOptions returns cuts that remove AUTOSTATS_* and SQL_MODE table
// options (with their "=" and value, and one separating comma) from the
// tokens after the definition list.
func adaptTableOptions(sql string, opts []token) []cut {
	var cuts []cut
	for j := 0; j < len(opts); j++ {
		t := opts[j]
		if t.kind != tokWord {
			continue
		}
		name := strings.ToUpper(t.text(sql))
		if !strings.HasPrefix(name, "AUTOSTATS_") && name != "SQL_MODE" {
			continue
		}
		k := j + 1
		if k < len(opts) && opts[k].isPunct(sql, '=') {
			k++
		}
		if k < len(opts) && (opts[k].kind == tokWord || opts[k].kind == tokString) {
			k++
		}
		start, end := t.start, opts[k-1].end
		switch {
		case k < len(opts) && opts[k].isPunct(sql, ','):
			k++ // the separating comma goes too, with the space after it
			if k < len(opts) {
				end = opts[k].start
			} else {
				end = opts[k-1].end
			}
		case k < len(opts):
			end = opts[k].start
		case j > 0 && opts[j-1].isPunct(sql, ',') && (len(cuts) == 0 || cuts[len(cuts)-1].end <= opts[j-1].start):
			start = opts[j-1].start
		}
		cuts = append(cuts, cut{start: start, end: end})
		j = k - 1
	}
	return cuts
}

// storeDDL prepares a CREATE TABLE (already adapted) for the embedded
// engine's store tables (internal/gms/store.go), whose inserts cost the
// same at any table size: it takes the table-level UNIQUE keys out —
// UNIQUE [KEY | INDEX] [name] (cols) [USING …] and CONSTRAINT [name]
// UNIQUE … — and returns the statement without them, the table's database
// qualifier ("" if none) and name, and each key's columns. ok is false for
// a table the store cannot keep: a temporary one, one made by LIKE or
// SELECT, or one with a primary key, another index or key, a constraint,
// or a column with a key, AUTO_INCREMENT, a reference, a check or a
// generated value; those stay with the engine's own tables.
func storeDDL(sql string) (out, db, table string, keys [][]string, ok bool) {
	sig := significant(scanSQL(sql))
	i := 1
	for i < len(sig) && !sig[i].is(sql, "TABLE") {
		if sig[i].kind != tokWord || sig[i].is(sql, "TEMPORARY") {
			return "", "", "", nil, false
		}
		i++
	}
	i++
	if i+2 < len(sig) && sig[i].is(sql, "IF") && sig[i+1].is(sql, "NOT") && sig[i+2].is(sql, "EXISTS") {
		i += 3
	}
	var name []string
	for i < len(sig) && (sig[i].kind == tokWord || sig[i].kind == tokQuotedID || sig[i].isPunct(sql, '.')) {
		if !sig[i].isPunct(sql, '.') {
			name = append(name, unquoteIdent(sig[i].text(sql)))
		}
		i++
	}
	switch len(name) {
	case 1:
		table = name[0]
	case 2:
		db, table = name[0], name[1]
	default:
		return "", "", "", nil, false
	}
	if i >= len(sig) || !sig[i].isPunct(sql, '(') {
		return "", "", "", nil, false
	}
	entries, closeAt := listItems(sql, sig, i)
	if n := len(entries); n > 0 && entries[n-1][0] > entries[n-1][1] {
		entries = entries[:n-1] // a trailing comma, or "()"
	}
	if closeAt < 0 {
		return "", "", "", nil, false
	}
	for _, t := range sig[closeAt+1:] {
		if t.is(sql, "SELECT") || t.is(sql, "AS") || t.is(sql, "LIKE") || t.is(sql, "PARTITION") || t.isPunct(sql, '(') {
			return "", "", "", nil, false
		}
	}
	var kept []string
	for _, e := range entries {
		if e[0] > e[1] {
			return "", "", "", nil, false // an empty definition: the engine says what is wrong
		}
		ent := sig[e[0] : e[1]+1]
		k := 0
		if ent[0].is(sql, "CONSTRAINT") {
			k = 1
			if len(ent) > 2 && !ent[1].is(sql, "UNIQUE") {
				k = 2
			}
		}
		if k < len(ent) && ent[k].is(sql, "UNIQUE") {
			cols, ok := keyColumns(sql, ent[k+1:])
			if !ok {
				return "", "", "", nil, false
			}
			keys = append(keys, cols)
			continue
		}
		if k > 0 || !columnDefinition(sql, ent) {
			return "", "", "", nil, false
		}
		kept = append(kept, sql[ent[0].start:ent[len(ent)-1].end])
	}
	if len(kept) == 0 {
		return "", "", "", nil, false
	}
	out = sql[:sig[i].start] + "(" + strings.Join(kept, ", ") + ")" + sql[sig[closeAt].end:]
	return out, db, table, keys, true
}

// keyColumns reads the column list of a key: the first parenthesized
// group of toks, plain columns only (no prefix lengths or expressions).
func keyColumns(sql string, toks []token) ([]string, bool) {
	var cols []string
	d := 0
	for _, t := range toks {
		switch {
		case t.isPunct(sql, '('):
			d++
			if d > 1 {
				return nil, false
			}
		case t.isPunct(sql, ')'):
			return cols, len(cols) > 0
		case d == 1 && t.isPunct(sql, ','):
		case d == 1 && (t.kind == tokQuotedID || t.kind == tokWord) && !t.is(sql, "ASC") && !t.is(sql, "DESC"):
			cols = append(cols, strings.ToLower(unquoteIdent(t.text(sql))))
		case d == 1:
			return nil, false
		}
	}
	return nil, false
}

// notInStoreColumns are words that make a column definition one the
// store tables do not keep.
var notInStoreColumns = map[string]bool{
	"PRIMARY": true, "UNIQUE": true, "KEY": true, "AUTO_INCREMENT": true, "REFERENCES": true,
	"CHECK": true, "GENERATED": true, "AS": true, "SERIAL": true, "CONSTRAINT": true,
}

// columnDefinition reports whether a definition-list entry is a column
// definition the store tables keep.
func columnDefinition(sql string, ent []token) bool {
	if ent[0].kind == tokWord {
		switch strings.ToUpper(ent[0].text(sql)) {
		case "PRIMARY", "KEY", "INDEX", "FULLTEXT", "SPATIAL", "FOREIGN", "CHECK", "CONSTRAINT", "UNIQUE", "VECTOR":
			return false
		}
	}
	for _, t := range ent[1:] {
		if t.kind == tokWord && notInStoreColumns[strings.ToUpper(t.text(sql))] {
			return false
		}
	}
	return true
}

// noPadCollations rewrites COLLATE utf8mb4_bin to COLLATE utf8mb4_nopad_bin
// for MariaDB, whose utf8mb4_bin is PAD SPACE ('a ' = 'a', so a unique key
// would take "coll-abc " for "coll-abc"), while the column s2segment creates
// asks for byte-exact comparison; utf8mb4_nopad_bin compares the same bytes
// without padding. Only the word after COLLATE outside strings, quoted
// identifiers and comments is changed.
func noPadCollations(sql string) string {
	sig := significant(scanSQL(sql))
	var cuts []cut
	for i := 0; i+1 < len(sig); i++ {
		if !sig[i].is(sql, "COLLATE") {
			continue
		}
		j := i + 1
		if sig[j].isPunct(sql, '=') && j+1 < len(sig) {
			j++
		}
		if sig[j].is(sql, "utf8mb4_bin") {
			cuts = append(cuts, cut{start: sig[j].start, end: sig[j].end, with: "utf8mb4_nopad_bin"})
		}
	}
	if len(cuts) == 0 {
		return sql
	}
	return applyCuts(sql, cuts)
}
