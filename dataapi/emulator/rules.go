package emulator

import (
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strings"
	"sync"
	"unicode/utf8"

	"github.com/dolthub/vitess/go/vt/sqlparser"
)

// SingleStore documentation pages the rules below come from. Each rule's
// comment names its page; docs/emulator.md lists them all.
const (
	// docCreateTable: tables are columnstore unless created as ROWSTORE;
	// SORT KEY is a columnstore clause; without a SHARD KEY the primary
	// key is the shard key, and without either the table is keyless.
	docCreateTable = "https://docs.singlestore.com/db/v8.1/reference/sql-reference/data-definition-language-ddl/create-table/"
	// docUniqueKeys: a unique key must contain every shard-key column.
	docUniqueKeys = "https://docs.singlestore.com/cloud/reference/troubleshooting-reference/query-errors/why-do-i-get-errors-about-unique-keys/"
	// docShardKeys: SHARD KEY () makes a keyless table, whose rows are
	// placed at random, so no key can be enforced across partitions.
	docShardKeys = "https://docs.singlestore.com/cloud/developer-resources/porting-tables-to-singlestore-helios/shard-keys/"
	// docUpserts: ON DUPLICATE KEY UPDATE cannot update unique-key columns
	// of columnstore tables, nor shard-key columns of rowstore tables.
	docUpserts = "https://docs.singlestore.com/db/latest/query-data/advanced-query-topics/performing-upserts/"
	// docIgnoreUpsert: INSERT IGNORE … ON DUPLICATE KEY UPDATE is error 1706.
	docIgnoreUpsert = "https://docs.singlestore.com/cloud/reference/troubleshooting-reference/query-errors/error-1706-hy-000-leaf-error-127-0-0-1-3307-feature-insert-ignore-on-duplicate-key-update-is-not-supported-by-memsql"
	// docSurfaceArea: sharded tables do not support UPDATE queries that
	// modify the shard key, nor unique keys without the shard key.
	docSurfaceArea = "https://docs.singlestore.com/db/v9.1/introduction/distributed-architecture/distributed-sql-surface-area/"
	// docSystemLimits: 4,096 columns per table; 256 characters for table
	// and column names.
	docSystemLimits = "https://docs.singlestore.com/cloud/reference/configuration-reference/system-limits/"
	// docJSONExtract: JSON_EXTRACT_<type> and the :: accessors.
	docJSONExtract = "https://docs.singlestore.com/db/v10/reference/sql-reference/json-functions/json-extract-type/"
	// docDataAPI: the Data API runs one statement per request.
	docDataAPI = "https://docs.singlestore.com/cloud/reference/data-api/"
)

// ruleDocs are the pages of the rules the emulator enforces; every one is
// the doc of a case in testdata/singlestore-rules.json.
var ruleDocs = []string{
	docCreateTable, docUniqueKeys, docShardKeys, docUpserts, docIgnoreUpsert,
	docSurfaceArea, docSystemLimits, docJSONExtract, docDataAPI,
}

// Limits of SingleStore's system limits page (docSystemLimits).
const (
	maxColumns    = 4096
	maxIdentifier = 256
)

// errFeature is SingleStore's error 1706, "Feature … is not supported",
// the form documented for INSERT IGNORE … ON DUPLICATE KEY UPDATE
// (docIgnoreUpsert). SingleStore documents the rules below, but not the
// errno or text it answers for each of them except that one; 1706 with the
// feature named is the closest documented code, and the message says which
// rule and which page.
func errFeature(feature, doc string) *sqlError {
	return &sqlError{http.StatusBadRequest, 1706, "HY000", fmt.Sprintf("Feature '%s' is not supported by SingleStore (%s)", feature, doc)}
}

// errIgnoreUpsert is the documented text of docIgnoreUpsert, without the
// leaf's address.
func errIgnoreUpsert() *sqlError {
	return &sqlError{http.StatusBadRequest, 1706, "HY000", "Feature INSERT IGNORE ... ON DUPLICATE KEY UPDATE is not supported by SingleStore (" + docIgnoreUpsert + ")"}
}

// errIdentifierTooLong is MySQL's error 1059: SingleStore documents the
// 256-character limit (docSystemLimits) but not the error it answers.
func errIdentifierTooLong(name string) *sqlError {
	return &sqlError{http.StatusBadRequest, 1059, "42000", fmt.Sprintf("Identifier name '%s' is too long (SingleStore allows %d characters: %s)", name, maxIdentifier, docSystemLimits)}
}

// errTooManyColumns is MySQL's error 1117: SingleStore documents the
// 4,096-column limit (docSystemLimits) but not the error it answers.
func errTooManyColumns(n int) *sqlError {
	return &sqlError{http.StatusBadRequest, 1117, "HY000", fmt.Sprintf("Too many columns: %d (SingleStore allows %d: %s)", n, maxColumns, docSystemLimits)}
}

// tableInfo is what the emulator remembers of a table it saw created: the
// SingleStore-only clauses the engine never sees, and the keys and columns
// later statements are judged against. Column names are lower-cased
// (SingleStore compares them case-insensitively).
type tableInfo struct {
	// columnstore is the table type: every table but CREATE ROWSTORE ones.
	columnstore bool
	// reference tables are copied to every node and have no shard key.
	reference bool
	// shard is the shard key's columns: the SHARD KEY clause, or the
	// primary key without one. Empty for keyless and reference tables.
	shard []string
	// explicitShard is set when SHARD KEY named the columns.
	explicitShard bool
	// unique are the unique keys, the primary key included.
	unique [][]string
	// columns in table order; json marks the JSON ones.
	columns []string
	json    map[string]bool
}

func (t *tableInfo) inShardKey(col string) bool { return slices.Contains(t.shard, col) }

func (t *tableInfo) inUniqueKey(col string) bool {
	for _, k := range t.unique {
		if slices.Contains(k, col) {
			return true
		}
	}
	return false
}

func (t *tableInfo) clone() *tableInfo {
	c := *t
	c.columns = slices.Clone(t.columns)
	c.json = maps.Clone(t.json)
	return &c
}

func (t *tableInfo) addColumn(def *sqlparser.ColumnDefinition) {
	name := strings.ToLower(def.Name.String())
	t.columns = append(t.columns, name)
	if strings.EqualFold(def.Type.Type, "json") {
		t.json[name] = true
	}
}

func (t *tableInfo) dropColumn(name string) {
	name = strings.ToLower(name)
	t.columns = slices.DeleteFunc(t.columns, func(c string) bool { return c == name })
	delete(t.json, name)
}

// rules is the SingleStore rule layer: it checks each statement against
// SingleStore's documented rules before the engine runs it, and remembers
// per table what the SingleStore-only clauses said. It is safe for
// concurrent use: statements that change tables (DDL) run alone, others
// share.
type rules struct {
	// exactJSON wraps JSON values of INSERTs for the embedded engine, so
	// they are stored as sent (see exactjson.go).
	exactJSON bool

	run    sync.RWMutex // held across check, execution and commit
	mu     sync.Mutex   // guards tables
	tables map[tableKey]*tableInfo
}

// tableKey names a table: its database and its lower-cased name.
type tableKey struct{ db, table string }

func newRules(exactJSON bool) *rules {
	return &rules{exactJSON: exactJSON, tables: map[tableKey]*tableInfo{}}
}

func keyOf(database string, name sqlparser.TableName) tableKey {
	db := database
	if q := name.DbQualifier.String(); q != "" {
		db = q
	}
	return tableKey{db, strings.ToLower(name.Name.String())}
}

func (r *rules) table(k tableKey) *tableInfo {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.tables[k]
}

// plan is a statement ready to run: its text for the engine, and what to
// remember once the engine has run it without error.
type plan struct {
	sql    string
	commit func()
	done   func()
}

// ddlKeywords take the rule layer's write lock: they change what later
// statements are judged against.
var ddlKeywords = map[string]bool{"CREATE": true, "ALTER": true, "DROP": true, "RENAME": true}

// prepare checks st, run in database, against the rules, and returns the
// plan to run it or the error SingleStore would answer. The caller runs
// p.sql, calls p.commit if the engine accepted it, and p.done in any case.
func (r *rules) prepare(database string, st statement) (p plan, err error) {
	if ddlKeywords[st.Keyword] {
		r.run.Lock()
		p.done = r.run.Unlock
	} else {
		r.run.RLock()
		p.done = r.run.RUnlock
	}
	defer func() {
		if err != nil {
			p.done()
			p.done = nil
		}
	}()
	p.sql = st.SQL
	// The JSON accessors (docJSONExtract) become the engine's JSON
	// functions before anything is parsed: neither engine knows them.
	if out, ok := translateAccessors(p.sql); ok {
		p.sql = out
	}
	switch st.Keyword {
	case "CREATE":
		return r.prepareCreate(database, st, p)
	case "INSERT", "REPLACE":
		return r.prepareInsert(database, p)
	case "UPDATE":
		return p, r.checkUpdate(database, p.sql)
	case "ALTER":
		return r.prepareAlter(database, p)
	case "DROP":
		return r.prepareDrop(database, p)
	case "RENAME":
		return r.prepareRename(database, p)
	}
	return p, nil
}

// prepareCreate checks a CREATE TABLE and plans remembering the table.
func (r *rules) prepareCreate(database string, st statement, p plan) (plan, error) {
	parsed, err := sqlparser.Parse(p.sql)
	if err != nil {
		return p, nil // the engine answers the syntax error
	}
	ddl, ok := parsed.(*sqlparser.DDL)
	if !ok || ddl.Action != sqlparser.CreateStr || ddl.TableSpec == nil || ddl.OptLike != nil || ddl.OptSelect != nil {
		return p, nil
	}
	cl := st.Clauses
	if cl == nil {
		cl = &ddlClauses{}
	}
	spec := ddl.TableSpec
	name := ddl.Table.Name.String()
	// System limits (docSystemLimits): names of tables and columns at
	// most 256 characters, at most 4,096 columns.
	if utf8.RuneCountInString(name) > maxIdentifier {
		return p, errIdentifierTooLong(name)
	}
	info := &tableInfo{columnstore: !cl.Rowstore, reference: cl.Reference, json: map[string]bool{}}
	if len(spec.Columns) > maxColumns {
		return p, errTooManyColumns(len(spec.Columns))
	}
	var primary []string
	for _, c := range spec.Columns {
		if utf8.RuneCountInString(c.Name.String()) > maxIdentifier {
			return p, errIdentifierTooLong(c.Name.String())
		}
		info.addColumn(c)
		col := strings.ToLower(c.Name.String())
		// Column options PRIMARY KEY, UNIQUE and UNIQUE KEY (vitess's
		// colKeyPrimary, colKeyUnique and colKeyUniqueKey).
		switch c.Type.KeyOpt {
		case 1:
			primary = []string{col}
			info.unique = append(info.unique, primary)
		case 3, 4:
			info.unique = append(info.unique, []string{col})
		}
	}
	for _, idx := range spec.Indexes {
		if idx.Info == nil || !(idx.Info.Primary || idx.Info.Unique) {
			continue
		}
		cols := make([]string, len(idx.Columns))
		for i, c := range idx.Columns {
			cols[i] = strings.ToLower(c.Column.String())
		}
		if idx.Info.Primary {
			primary = cols
		}
		info.unique = append(info.unique, cols)
	}

	// Table type (docCreateTable): SORT KEY is a columnstore clause, so a
	// ROWSTORE table cannot have one.
	if cl.Rowstore && cl.SortKey {
		return p, errFeature("SORT KEY on a rowstore table", docCreateTable)
	}
	// docSurfaceArea: "Reference tables must have explicit primary keys."
	if info.reference && primary == nil {
		return p, errFeature("REFERENCE table without a PRIMARY KEY", docSurfaceArea)
	}
	if !info.reference {
		switch {
		case cl.ShardKey:
			info.shard = lowerAll(cl.ShardColumns)
			info.explicitShard = len(info.shard) > 0
		case primary != nil:
			info.shard = primary // docCreateTable: the primary key is the shard key
		}
		// Keyless tables (docShardKeys): rows are placed at random, so
		// no unique key can be enforced.
		if len(info.shard) == 0 && len(info.unique) > 0 {
			return p, errFeature("UNIQUE or PRIMARY KEY on a keyless (SHARD KEY ()) table", docShardKeys)
		}
		// Unique keys must contain every shard-key column (docUniqueKeys,
		// docSurfaceArea).
		for _, k := range info.unique {
			for _, s := range info.shard {
				if !slices.Contains(k, s) {
					return p, errFeature(fmt.Sprintf("UNIQUE KEY (%s) without shard key column %s", strings.Join(k, ", "), s), docUniqueKeys)
				}
			}
		}
	}
	k := keyOf(database, ddl.Table)
	p.commit = func() {
		r.mu.Lock()
		defer r.mu.Unlock()
		if _, exists := r.tables[k]; !exists || !ddl.IfNotExists {
			r.tables[k] = info
		}
	}
	return p, nil
}

func lowerAll(s []string) []string {
	out := make([]string, len(s))
	for i, v := range s {
		out[i] = strings.ToLower(v)
	}
	return out
}

// prepareInsert checks an INSERT and, for the embedded engine, wraps its
// JSON values so they are stored exactly.
func (r *rules) prepareInsert(database string, p plan) (plan, error) {
	shape := insertShapeOf(p.sql)
	parsed, err := sqlparser.Parse(shape.skeleton(p.sql))
	if err != nil {
		return p, nil
	}
	ins, ok := parsed.(*sqlparser.Insert)
	if !ok {
		return p, nil
	}
	// docIgnoreUpsert: IGNORE and ON DUPLICATE KEY UPDATE together are
	// error 1706.
	if ins.Ignore != "" && len(ins.OnDup) > 0 {
		return p, errIgnoreUpsert()
	}
	info := r.table(keyOf(database, ins.Table))
	if info == nil {
		return p, nil // a table this emulator did not see created: nothing to judge against
	}
	for _, a := range ins.OnDup {
		col := strings.ToLower(a.Name.Name.String())
		// docUpserts: no unique-key column of a columnstore table; no
		// shard-key column (explicit, or the primary key without one).
		switch {
		case info.columnstore && info.inUniqueKey(col):
			return p, errFeature(fmt.Sprintf("ON DUPLICATE KEY UPDATE of unique key column %s of a columnstore table", col), docUpserts)
		case info.inShardKey(col):
			return p, errFeature(fmt.Sprintf("ON DUPLICATE KEY UPDATE of shard key column %s", col), docUpserts)
		}
	}
	if r.exactJSON && len(info.json) > 0 && shape.ok {
		cols := info.columns
		if len(ins.Columns) > 0 {
			cols = make([]string, len(ins.Columns))
			for i, c := range ins.Columns {
				cols[i] = strings.ToLower(c.String())
			}
		}
		var at []int
		for i, c := range cols {
			if info.json[c] {
				at = append(at, i)
			}
		}
		p.sql = shape.wrapValues(p.sql, at, exactJSONFunc)
	}
	return p, nil
}

// checkUpdate refuses an UPDATE that assigns a shard-key column
// (docSurfaceArea: "Sharded tables do not support UPDATE queries that
// modify the shard key").
func (r *rules) checkUpdate(database, sql string) error {
	parsed, err := sqlparser.Parse(sql)
	if err != nil {
		return nil
	}
	upd, ok := parsed.(*sqlparser.Update)
	if !ok || len(upd.TableExprs) != 1 {
		return nil
	}
	ate, ok := upd.TableExprs[0].(*sqlparser.AliasedTableExpr)
	if !ok {
		return nil
	}
	name, ok := ate.Expr.(sqlparser.TableName)
	if !ok {
		return nil
	}
	info := r.table(keyOf(database, name))
	if info == nil {
		return nil
	}
	for _, a := range upd.Exprs {
		col := strings.ToLower(a.Name.Name.String())
		if info.inShardKey(col) {
			return errFeature(fmt.Sprintf("UPDATE of shard key column %s", col), docSurfaceArea)
		}
	}
	return nil
}

// prepareAlter follows ALTER TABLE … ADD COLUMN and DROP COLUMN, checking
// the system limits (docSystemLimits) on the result.
func (r *rules) prepareAlter(database string, p plan) (plan, error) {
	parsed, err := sqlparser.Parse(p.sql)
	if err != nil {
		return p, nil
	}
	alter, ok := parsed.(*sqlparser.AlterTable)
	if !ok {
		return p, nil
	}
	k := keyOf(database, alter.Table)
	old := r.table(k)
	if old == nil {
		return p, nil
	}
	info := old.clone()
	newKey := k
	for _, d := range alter.Statements {
		switch {
		case d.ColumnAction == sqlparser.AddStr && d.TableSpec != nil:
			for _, c := range d.TableSpec.Columns {
				if utf8.RuneCountInString(c.Name.String()) > maxIdentifier {
					return p, errIdentifierTooLong(c.Name.String())
				}
				info.addColumn(c)
			}
		case d.ColumnAction == sqlparser.DropStr:
			info.dropColumn(d.Column.String())
		case d.Action == sqlparser.RenameStr && len(d.ToTables) == 1:
			newKey = keyOf(database, d.ToTables[0])
		}
	}
	if len(info.columns) > maxColumns {
		return p, errTooManyColumns(len(info.columns))
	}
	p.commit = func() {
		r.mu.Lock()
		defer r.mu.Unlock()
		delete(r.tables, k)
		r.tables[newKey] = info
	}
	return p, nil
}

// prepareDrop forgets dropped tables and databases.
func (r *rules) prepareDrop(database string, p plan) (plan, error) {
	parsed, err := sqlparser.Parse(p.sql)
	if err != nil {
		return p, nil
	}
	switch d := parsed.(type) {
	case *sqlparser.DDL:
		if d.Action != sqlparser.DropStr {
			return p, nil
		}
		var keys []tableKey
		for _, t := range d.FromTables {
			keys = append(keys, keyOf(database, t))
		}
		p.commit = func() {
			r.mu.Lock()
			defer r.mu.Unlock()
			for _, k := range keys {
				delete(r.tables, k)
			}
		}
	case *sqlparser.DBDDL:
		if d.Action != sqlparser.DropStr {
			return p, nil
		}
		db := d.DBName
		p.commit = func() {
			r.mu.Lock()
			defer r.mu.Unlock()
			for k := range r.tables {
				if k.db == db {
					delete(r.tables, k)
				}
			}
		}
	}
	return p, nil
}

// prepareRename follows RENAME TABLE a TO b.
func (r *rules) prepareRename(database string, p plan) (plan, error) {
	parsed, err := sqlparser.Parse(p.sql)
	if err != nil {
		return p, nil
	}
	d, ok := parsed.(*sqlparser.DDL)
	if !ok || d.Action != sqlparser.RenameStr || len(d.FromTables) != len(d.ToTables) {
		return p, nil
	}
	from, to := d.FromTables, d.ToTables
	p.commit = func() {
		r.mu.Lock()
		defer r.mu.Unlock()
		for i := range from {
			k := keyOf(database, from[i])
			if info, ok := r.tables[k]; ok {
				delete(r.tables, k)
				r.tables[keyOf(database, to[i])] = info
			}
		}
	}
	return p, nil
}
