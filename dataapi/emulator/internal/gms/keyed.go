package gms

import (
	"fmt"
	"io"
	"strconv"
	"strings"
	"sync"

	"github.com/dolthub/go-mysql-server/memory"
	"github.com/dolthub/go-mysql-server/sql"
	"github.com/dolthub/go-mysql-server/sql/types"
)

// Unique keys in constant time.
//
// go-mysql-server's in-memory tables check a unique key by comparing the
// new row with every stored row, and a primary key the same way, so a
// table that grows by inserts costs O(n) per row and O(n²) in all. A table
// created after ExpectUniqueKeys is created without those keys in the
// engine (the caller removes them from the DDL) and gets them back here: a
// hash index per key, kept by the table's inserts, upserts, replaces,
// updates and deletes, answers duplicates the way the engine does
// (sql.UniqueKeyError with the existing row, so ON DUPLICATE KEY UPDATE and
// REPLACE work), and is listed by GetIndexes, so information_schema and
// SHOW INDEX still show the key. The index is never used for lookups.
// Statements that change rows behind its back (a rollback, ALTER TABLE,
// TRUNCATE) mark it stale, and the next insert rebuilds it from the rows.

// tableID names a table of an engine: database and lower-cased table name.
type tableID struct{ db, table string }

func idOf(db, table string) tableID { return tableID{strings.ToLower(db), strings.ToLower(table)} }

// keySet holds the unique indexes of an engine's keyed tables.
type keySet struct {
	mu      sync.Mutex
	pending map[tableID][][]string
	tables  map[tableID]*keyIndex
}

func newKeySet() *keySet {
	return &keySet{pending: map[tableID][][]string{}, tables: map[tableID]*keyIndex{}}
}

// ExpectUniqueKeys says that the next CREATE TABLE of db.table is keyed:
// keys are its unique keys' columns (the caller took them out of the
// statement). If the statement does not create the table (it exists
// already), the expectation is dropped by the next call for that name.
func (e *Engine) ExpectUniqueKeys(db, table string, keys [][]string) {
	e.keys.mu.Lock()
	defer e.keys.mu.Unlock()
	if len(keys) == 0 {
		delete(e.keys.pending, idOf(db, table))
		return
	}
	e.keys.pending[idOf(db, table)] = keys
}

// MarkStale makes every keyed table rebuild its indexes before the next
// insert: for statements that may change rows without the indexes
// (ROLLBACK, ALTER TABLE, TRUNCATE, LOAD DATA, …).
func (e *Engine) MarkStale() { fspHandler{keys: e.keys}.markStale() }

func (s *keySet) created(db, table string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	id := idOf(db, table)
	keys, ok := s.pending[id]
	delete(s.pending, id)
	if ok {
		s.tables[id] = &keyIndex{db: db, table: table, keys: keys, stale: true}
	} else {
		delete(s.tables, id)
	}
}

func (s *keySet) dropped(db, table string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.tables, idOf(db, table))
}

func (s *keySet) renamed(db, from, to string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if ix, ok := s.tables[idOf(db, from)]; ok {
		delete(s.tables, idOf(db, from))
		ix.table = to
		ix.stale = true
		s.tables[idOf(db, to)] = ix
	}
}

func (s *keySet) get(db, table string) *keyIndex {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.tables[idOf(db, table)]
}

// keyedProvider gives the engine the in-memory databases as
// keyedDatabases.
type keyedProvider struct {
	*memory.DbProvider
	keys *keySet
}

func (p keyedProvider) wrap(db sql.Database) sql.Database {
	if mdb, ok := db.(*memory.Database); ok {
		return keyedDatabase{Database: mdb, keys: p.keys}
	}
	return db
}

// Database implements sql.DatabaseProvider.
func (p keyedProvider) Database(ctx *sql.Context, name string) (sql.Database, error) {
	db, err := p.DbProvider.Database(ctx, name)
	if err != nil {
		return nil, err
	}
	return p.wrap(db), nil
}

// AllDatabases implements sql.DatabaseProvider.
func (p keyedProvider) AllDatabases(ctx *sql.Context) []sql.Database {
	all := p.DbProvider.AllDatabases(ctx)
	for i, db := range all {
		all[i] = p.wrap(db)
	}
	return all
}

// keyedDatabase is an in-memory database whose keyed tables come wrapped.
type keyedDatabase struct {
	*memory.Database
	keys *keySet
}

// GetTableInsensitive returns the table, wrapped when it is keyed.
func (d keyedDatabase) GetTableInsensitive(ctx *sql.Context, name string) (sql.Table, bool, error) {
	t, ok, err := d.Database.GetTableInsensitive(ctx, name)
	if !ok || err != nil {
		return t, ok, err
	}
	mt, isMem := t.(*memory.Table)
	if !isMem {
		return t, ok, err
	}
	if ix := d.keys.get(d.Name(), mt.Name()); ix != nil {
		return &keyedTable{Table: mt, ix: ix}, true, nil
	}
	return t, ok, err
}

// CreateTable creates the table and makes it keyed if it was expected.
func (d keyedDatabase) CreateTable(ctx *sql.Context, name string, schema sql.PrimaryKeySchema, collation sql.CollationID, comment string) error {
	if err := d.Database.CreateTable(ctx, name, schema, collation, comment); err != nil {
		return err
	}
	d.keys.created(d.Name(), name)
	return nil
}

// CreateIndexedTable is CreateTable for tables created with an index.
func (d keyedDatabase) CreateIndexedTable(ctx *sql.Context, name string, schema sql.PrimaryKeySchema, idx sql.IndexDef, collation sql.CollationID) error {
	if err := d.Database.CreateIndexedTable(ctx, name, schema, idx, collation); err != nil {
		return err
	}
	d.keys.created(d.Name(), name)
	return nil
}

// DropTable drops the table and its indexes.
func (d keyedDatabase) DropTable(ctx *sql.Context, name string) error {
	if err := d.Database.DropTable(ctx, name); err != nil {
		return err
	}
	d.keys.dropped(d.Name(), name)
	return nil
}

// RenameTable renames the table and moves its indexes.
func (d keyedDatabase) RenameTable(ctx *sql.Context, from, to string) error {
	if err := d.Database.RenameTable(ctx, from, to); err != nil {
		return err
	}
	d.keys.renamed(d.Name(), from, to)
	return nil
}

// keyIndex is the hash index of a keyed table's unique keys. The engine
// runs one statement at a time (the emulator serializes them), so the
// statement's undo log is the index's own.
type keyIndex struct {
	mu          sync.Mutex
	db, table   string
	keys        [][]string
	ords        [][]int
	fold        [][]bool // case-insensitive collation per key column
	maps        []map[string]sql.Row
	schemaWidth int
	stale       bool
	undo        []undoOp
}

// undoOp reverts one index change of the running statement.
type undoOp struct {
	key int
	k   string
	row sql.Row // the row the key mapped to before; nil if none
}

// resolve maps the key columns to the schema's ordinals.
func (ix *keyIndex) resolve(sch sql.Schema) error {
	ix.ords = make([][]int, len(ix.keys))
	ix.fold = make([][]bool, len(ix.keys))
	for i, k := range ix.keys {
		for _, name := range k {
			o := sch.IndexOfColName(name)
			if o < 0 {
				return fmt.Errorf("unique key column %q of %s is not in the table", name, ix.table)
			}
			ix.ords[i] = append(ix.ords[i], o)
			ci := false
			if st, ok := sch[o].Type.(sql.StringType); ok {
				ci = strings.HasSuffix(st.Collation().Name(), "_ci")
			}
			ix.fold[i] = append(ix.fold[i], ci)
		}
	}
	ix.schemaWidth = len(sch)
	return nil
}

// keyOf encodes the values of key i of row; ok is false when one is NULL
// (NULLs never collide).
func (ix *keyIndex) keyOf(i int, row sql.Row) (string, bool) {
	var b strings.Builder
	for j, o := range ix.ords[i] {
		v := row[o]
		var s string
		switch x := v.(type) {
		case nil:
			return "", false
		case string:
			s = x
		case []byte:
			s = string(x)
		case int64:
			s = strconv.FormatInt(x, 10)
		default:
			s = fmt.Sprint(x)
		}
		if ix.fold[i][j] {
			s = strings.ToLower(s)
		}
		b.WriteString(strconv.Itoa(len(s)))
		b.WriteByte(':')
		b.WriteString(s)
	}
	return b.String(), true
}

// ready rebuilds the index from the table's rows when it is stale or the
// schema changed.
func (ix *keyIndex) ready(ctx *sql.Context, t *memory.Table) error {
	sch := t.Schema()
	if !ix.stale && ix.maps != nil && len(sch) == ix.schemaWidth {
		return nil
	}
	if err := ix.resolve(sch); err != nil {
		return err
	}
	ix.maps = make([]map[string]sql.Row, len(ix.keys))
	for i := range ix.maps {
		ix.maps[i] = map[string]sql.Row{}
	}
	parts, err := t.Partitions(ctx)
	if err != nil {
		return err
	}
	defer parts.Close(ctx)
	for {
		p, err := parts.Next(ctx)
		if err == io.EOF {
			break
		}
		if err != nil {
			return err
		}
		rows, err := t.PartitionRows(ctx, p)
		if err != nil {
			return err
		}
		for {
			row, err := rows.Next(ctx)
			if err == io.EOF {
				break
			}
			if err != nil {
				rows.Close(ctx)
				return err
			}
			for i := range ix.keys {
				if k, ok := ix.keyOf(i, row); ok {
					ix.maps[i][k] = row
				}
			}
		}
		if err := rows.Close(ctx); err != nil {
			return err
		}
	}
	ix.stale = false
	ix.undo = ix.undo[:0]
	return nil
}

// set maps key i of k to row (nil deletes it), remembering the old value.
func (ix *keyIndex) set(i int, k string, row sql.Row) {
	old, had := ix.maps[i][k]
	if !had {
		old = nil
	}
	ix.undo = append(ix.undo, undoOp{key: i, k: k, row: old})
	if row == nil {
		delete(ix.maps[i], k)
	} else {
		ix.maps[i][k] = row
	}
}

// conflict returns the stored row that shares a unique key with row, other
// than except.
func (ix *keyIndex) conflict(row, except sql.Row) (sql.Row, []int, bool) {
	for i := range ix.keys {
		k, ok := ix.keyOf(i, row)
		if !ok {
			continue
		}
		if existing, found := ix.maps[i][k]; found && (except == nil || !sameRow(existing, except)) {
			return existing, ix.ords[i], true
		}
	}
	return nil, nil, false
}

func (ix *keyIndex) add(row sql.Row) {
	for i := range ix.keys {
		if k, ok := ix.keyOf(i, row); ok {
			ix.set(i, k, row)
		}
	}
}

func (ix *keyIndex) remove(row sql.Row) {
	for i := range ix.keys {
		if k, ok := ix.keyOf(i, row); ok {
			if cur, found := ix.maps[i][k]; found && sameRow(cur, row) {
				ix.set(i, k, nil)
			}
		}
	}
}

func (ix *keyIndex) rollback() {
	for j := len(ix.undo) - 1; j >= 0; j-- {
		u := ix.undo[j]
		if u.row == nil {
			delete(ix.maps[u.key], u.k)
		} else {
			ix.maps[u.key][u.k] = u.row
		}
	}
	ix.undo = ix.undo[:0]
}

// sameRow reports whether two rows hold equal values.
func sameRow(a, b sql.Row) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if !sameValue(a[i], b[i]) {
			return false
		}
	}
	return true
}

func sameValue(a, b any) bool {
	switch x := a.(type) {
	case nil:
		return b == nil
	case string:
		y, ok := b.(string)
		return ok && x == y
	case []byte:
		y, ok := b.([]byte)
		return ok && string(x) == string(y)
	case sql.JSONWrapper:
		y, ok := b.(sql.JSONWrapper)
		if !ok {
			return false
		}
		if xb, ok := x.(types.JSONBytes); ok {
			if yb, ok := y.(types.JSONBytes); ok {
				bx, _ := xb.GetBytes()
				by, _ := yb.GetBytes()
				return string(bx) == string(by)
			}
		}
		c, err := types.CompareJSON(x, y)
		return err == nil && c == 0
	}
	return fmt.Sprint(a) == fmt.Sprint(b) && fmt.Sprintf("%T", a) == fmt.Sprintf("%T", b)
}

// keyedTable is an in-memory table whose unique keys live in a keyIndex.
type keyedTable struct {
	*memory.Table
	ix *keyIndex
}

func (t *keyedTable) editor(ctx *sql.Context, inner sql.TableEditor) *keyedEditor {
	return &keyedEditor{t: t, inner: inner}
}

// Inserter implements sql.InsertableTable.
func (t *keyedTable) Inserter(ctx *sql.Context) sql.RowInserter {
	return t.editor(ctx, t.Table.Inserter(ctx).(sql.TableEditor))
}

// Updater implements sql.UpdatableTable.
func (t *keyedTable) Updater(ctx *sql.Context) sql.RowUpdater {
	return t.editor(ctx, t.Table.Updater(ctx).(sql.TableEditor))
}

// Replacer implements sql.ReplaceableTable.
func (t *keyedTable) Replacer(ctx *sql.Context) sql.RowReplacer {
	return t.editor(ctx, t.Table.Replacer(ctx).(sql.TableEditor))
}

// Deleter implements sql.DeletableTable.
func (t *keyedTable) Deleter(ctx *sql.Context) sql.RowDeleter {
	return t.editor(ctx, t.Table.Deleter(ctx).(sql.TableEditor))
}

// Truncate implements sql.TruncateableTable.
func (t *keyedTable) Truncate(ctx *sql.Context) (int, error) {
	t.ix.mu.Lock()
	t.ix.stale = true
	t.ix.mu.Unlock()
	return t.Table.Truncate(ctx)
}

// GetIndexes lists the engine's indexes and the unique keys.
func (t *keyedTable) GetIndexes(ctx *sql.Context) ([]sql.Index, error) {
	idxs, err := t.Table.GetIndexes(ctx)
	if err != nil {
		return nil, err
	}
	for i, k := range t.ix.keys {
		idxs = append(idxs, uniqueIndex{t: t, n: i, cols: k})
	}
	return idxs, nil
}

// keyedEditor checks and keeps the unique keys, then passes each change to
// the engine's editor.
type keyedEditor struct {
	t     *keyedTable
	inner sql.TableEditor
}

func (e *keyedEditor) StatementBegin(ctx *sql.Context) { e.inner.StatementBegin(ctx) }

func (e *keyedEditor) DiscardChanges(ctx *sql.Context, err error) error {
	e.t.ix.mu.Lock()
	if _, ignorable := err.(sql.IgnorableError); !ignorable {
		e.t.ix.rollback()
	}
	e.t.ix.mu.Unlock()
	return e.inner.DiscardChanges(ctx, err)
}

func (e *keyedEditor) StatementComplete(ctx *sql.Context) error {
	e.t.ix.mu.Lock()
	e.t.ix.undo = e.t.ix.undo[:0]
	e.t.ix.mu.Unlock()
	return e.inner.StatementComplete(ctx)
}

func (e *keyedEditor) Close(ctx *sql.Context) error { return e.inner.Close(ctx) }

// Insert refuses a row whose unique key is taken, with the existing row.
func (e *keyedEditor) Insert(ctx *sql.Context, row sql.Row) error {
	ix := e.t.ix
	ix.mu.Lock()
	defer ix.mu.Unlock()
	if err := ix.ready(ctx, e.t.Table); err != nil {
		return err
	}
	if existing, ords, dup := ix.conflict(row, nil); dup {
		return sql.NewUniqueKeyErr(formatKey(row, ords), false, existing)
	}
	if err := e.inner.Insert(ctx, row); err != nil {
		return err
	}
	ix.add(row)
	return nil
}

// Update changes a row; an update that changes nothing is not passed on
// (the engine's keyless tables find the old row by scanning).
func (e *keyedEditor) Update(ctx *sql.Context, old, row sql.Row) error {
	if sameRow(old, row) {
		return nil
	}
	ix := e.t.ix
	ix.mu.Lock()
	defer ix.mu.Unlock()
	if err := ix.ready(ctx, e.t.Table); err != nil {
		return err
	}
	if existing, ords, dup := ix.conflict(row, old); dup {
		return sql.NewUniqueKeyErr(formatKey(row, ords), false, existing)
	}
	if err := e.inner.Update(ctx, old, row); err != nil {
		return err
	}
	ix.remove(old)
	ix.add(row)
	return nil
}

// Delete deletes a row and its keys.
func (e *keyedEditor) Delete(ctx *sql.Context, row sql.Row) error {
	ix := e.t.ix
	ix.mu.Lock()
	defer ix.mu.Unlock()
	if err := ix.ready(ctx, e.t.Table); err != nil {
		return err
	}
	if err := e.inner.Delete(ctx, row); err != nil {
		return err
	}
	ix.remove(row)
	return nil
}

func formatKey(row sql.Row, ords []int) string {
	parts := make([]string, len(ords))
	for i, o := range ords {
		parts[i] = fmt.Sprint(row[o])
	}
	return "[" + strings.Join(parts, ",") + "]"
}

// uniqueIndex describes a unique key to the engine, for information_schema
// and SHOW INDEX; it supports no lookups.
type uniqueIndex struct {
	t    *keyedTable
	n    int
	cols []string
}

func (u uniqueIndex) ID() string {
	return "unique_" + strconv.Itoa(u.n) + "_" + strings.Join(u.cols, "_")
}
func (u uniqueIndex) Database() string { return u.t.ix.db }
func (u uniqueIndex) Table() string    { return u.t.Name() }

// Expressions names the key's columns as the schema spells them.
func (u uniqueIndex) Expressions() []string {
	sch := u.t.Schema()
	out := make([]string, len(u.cols))
	for i, c := range u.cols {
		if j := sch.IndexOfColName(c); j >= 0 {
			c = sch[j].Name
		}
		out[i] = u.t.Name() + "." + c
	}
	return out
}
func (u uniqueIndex) IsUnique() bool          { return true }
func (u uniqueIndex) IsSpatial() bool         { return false }
func (u uniqueIndex) IsFullText() bool        { return false }
func (u uniqueIndex) IsVector() bool          { return false }
func (u uniqueIndex) Comment() string         { return "" }
func (u uniqueIndex) IndexType() string       { return "HASH" }
func (u uniqueIndex) IsGenerated() bool       { return false }
func (u uniqueIndex) PrefixLengths() []uint16 { return nil }
func (u uniqueIndex) ColumnExpressionTypes() []sql.ColumnExpressionType {
	sch := u.t.Schema()
	out := make([]sql.ColumnExpressionType, 0, len(u.cols))
	for _, c := range u.cols {
		if i := sch.IndexOfColName(c); i >= 0 {
			out = append(out, sql.ColumnExpressionType{Expression: u.t.Name() + "." + sch[i].Name, Type: sch[i].Type})
		}
	}
	return out
}
func (u uniqueIndex) CanSupport(*sql.Context, ...sql.Range) bool { return false }
func (u uniqueIndex) CanSupportOrderBy(sql.Expression) bool      { return false }
