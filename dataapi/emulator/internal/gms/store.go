package gms

import (
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/dolthub/go-mysql-server/memory"
	"github.com/dolthub/go-mysql-server/sql"
	"github.com/dolthub/go-mysql-server/sql/types"
)

// Tables whose inserts cost the same at any size.
//
// go-mysql-server's in-memory tables copy their row list several times per
// statement and check a unique key by comparing each new row with every
// stored one, so a table that grows by inserts costs O(n) per statement
// and per row. A table the caller announced with ExpectTable (its unique
// keys taken out of the CREATE TABLE) is kept by a store of this package
// instead: rows in one list that only grows, each unique key in a hash
// index that answers duplicates the way the engine does (a
// sql.UniqueKeyError carrying the existing row, so ON DUPLICATE KEY UPDATE
// and REPLACE work), a statement that fails undone whole, and the keys
// listed by GetIndexes so that information_schema and SHOW INDEX show
// them. The planner takes a listed index for a candidate of every join on
// its columns and builds the lookup without asking first, so each index
// serves the lookups an equality can make (lookup.go): a value per key
// column, NULL for a null-safe one, or any value; it refuses ranges
// (<, BETWEEN, LIKE 'p%'), which the engine then answers by a scan and its
// own filter. Such tables live outside the engine's transactions: each
// statement commits when it completes.

// tableID names a table of an engine: database and lower-cased table name.
type tableID struct{ db, table string }

func idOf(db, table string) tableID { return tableID{strings.ToLower(db), strings.ToLower(table)} }

// stores holds an engine's announced and created store tables.
type stores struct {
	mu       sync.Mutex
	expected map[tableID][][]string
	tables   map[tableID]*storeTable
}

func newStores() *stores {
	return &stores{expected: map[tableID][][]string{}, tables: map[tableID]*storeTable{}}
}

// ExpectTable says that the next CREATE TABLE of db.table is kept by a
// store with these unique keys (columns of each; none for a keyless table),
// which the caller took out of the statement. The statement must declare
// no other keys, indexes, constraints or AUTO_INCREMENT. Call
// ForgetExpected after the statement, created or not.
func (e *Engine) ExpectTable(db, table string, keys [][]string) {
	e.stores.mu.Lock()
	defer e.stores.mu.Unlock()
	if keys == nil {
		keys = [][]string{}
	}
	e.stores.expected[idOf(db, table)] = keys
}

// ForgetExpected drops what ExpectTable said of db.table.
func (e *Engine) ForgetExpected(db, table string) {
	e.stores.mu.Lock()
	defer e.stores.mu.Unlock()
	delete(e.stores.expected, idOf(db, table))
}

func (s *stores) get(db, table string) *storeTable {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.tables[idOf(db, table)]
}

// keyedProvider gives the engine the in-memory databases as
// storeDatabases; sessions keep the plain provider, whose databases they
// commit to.
type keyedProvider struct {
	*memory.DbProvider
	stores *stores
}

func (p keyedProvider) wrap(db sql.Database) sql.Database {
	if mdb, ok := db.(*memory.Database); ok {
		return storeDatabase{Database: mdb, stores: p.stores}
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

// DropDatabase implements sql.MutableDatabaseProvider and drops the
// database's store tables too.
func (p keyedProvider) DropDatabase(ctx *sql.Context, name string) error {
	if err := p.DbProvider.DropDatabase(ctx, name); err != nil {
		return err
	}
	p.stores.mu.Lock()
	defer p.stores.mu.Unlock()
	for id := range p.stores.tables {
		if id.db == strings.ToLower(name) {
			delete(p.stores.tables, id)
		}
	}
	return nil
}

// storeDatabase is an in-memory database that also holds store tables.
type storeDatabase struct {
	*memory.Database
	stores *stores
}

// GetTableInsensitive implements sql.Database.
func (d storeDatabase) GetTableInsensitive(ctx *sql.Context, name string) (sql.Table, bool, error) {
	if t := d.stores.get(d.Name(), name); t != nil {
		return t, true, nil
	}
	return d.Database.GetTableInsensitive(ctx, name)
}

// GetTableNames implements sql.Database.
func (d storeDatabase) GetTableNames(ctx *sql.Context) ([]string, error) {
	names, err := d.Database.GetTableNames(ctx)
	if err != nil {
		return nil, err
	}
	d.stores.mu.Lock()
	defer d.stores.mu.Unlock()
	for id, t := range d.stores.tables {
		if id.db == strings.ToLower(d.Name()) {
			names = append(names, t.name)
		}
	}
	slices.Sort(names)
	return names, nil
}

// CreateTable implements sql.TableCreator: an expected table becomes a
// store table, any other an in-memory one.
func (d storeDatabase) CreateTable(ctx *sql.Context, name string, schema sql.PrimaryKeySchema, collation sql.CollationID, comment string) error {
	d.stores.mu.Lock()
	id := idOf(d.Name(), name)
	keys, expected := d.stores.expected[id]
	_, exists := d.stores.tables[id]
	d.stores.mu.Unlock()
	if exists {
		return sql.ErrTableAlreadyExists.New(name)
	}
	if !expected || len(schema.PkOrdinals) > 0 {
		return d.Database.CreateTable(ctx, name, schema, collation, comment)
	}
	if _, found, err := d.Database.GetTableInsensitive(ctx, name); err != nil || found {
		if err == nil {
			err = sql.ErrTableAlreadyExists.New(name)
		}
		return err
	}
	t, err := newStoreTable(d.Name(), name, schema.Schema, collation, comment, keys)
	if err != nil {
		return err
	}
	d.stores.mu.Lock()
	d.stores.tables[id] = t
	d.stores.mu.Unlock()
	return nil
}

// DropTable implements sql.TableDropper.
func (d storeDatabase) DropTable(ctx *sql.Context, name string) error {
	d.stores.mu.Lock()
	id := idOf(d.Name(), name)
	_, ok := d.stores.tables[id]
	delete(d.stores.tables, id)
	d.stores.mu.Unlock()
	if ok {
		return nil
	}
	return d.Database.DropTable(ctx, name)
}

// RenameTable implements sql.TableRenamer.
func (d storeDatabase) RenameTable(ctx *sql.Context, from, to string) error {
	d.stores.mu.Lock()
	defer d.stores.mu.Unlock()
	t, ok := d.stores.tables[idOf(d.Name(), from)]
	if !ok {
		return d.Database.RenameTable(ctx, from, to)
	}
	if _, taken := d.stores.tables[idOf(d.Name(), to)]; taken {
		return sql.ErrTableAlreadyExists.New(to)
	}
	delete(d.stores.tables, idOf(d.Name(), from))
	t.mu.Lock()
	t.name = to
	for i := range t.schema {
		t.schema[i].Source = to
	}
	t.mu.Unlock()
	d.stores.tables[idOf(d.Name(), to)] = t
	return nil
}

// storeTable is a table kept by the store: rows in a list (nil for a
// deleted row), one hash index per unique key from the key's encoded
// values to the row's position. The emulator runs one statement at a
// time, so the running statement's undo log is the table's own.
type storeTable struct {
	mu        sync.Mutex
	db, name  string
	schema    sql.Schema
	collation sql.CollationID
	comment   string
	keys      [][]string
	ords      [][]int
	fold      [][]bool // case-insensitive collation, per key column
	index     []map[string]int
	rows      []sql.Row
	deleted   int
	undo      []undoOp
}

// undoOp reverts one change of the running statement: the row at pos was
// row before (nil: there was none).
type undoOp struct {
	pos int
	row sql.Row
}

var (
	_ sql.Table             = (*storeTable)(nil)
	_ sql.InsertableTable   = (*storeTable)(nil)
	_ sql.UpdatableTable    = (*storeTable)(nil)
	_ sql.DeletableTable    = (*storeTable)(nil)
	_ sql.ReplaceableTable  = (*storeTable)(nil)
	_ sql.TruncateableTable = (*storeTable)(nil)
	_ sql.AlterableTable    = (*storeTable)(nil)
	_ sql.IndexAddressable  = (*storeTable)(nil)
	_ sql.CommentedTable    = (*storeTable)(nil)
)

func newStoreTable(db, name string, sch sql.Schema, collation sql.CollationID, comment string, keys [][]string) (*storeTable, error) {
	sch = sch.Copy()
	for _, c := range sch {
		c.Source = name
		c.DatabaseSource = db
	}
	t := &storeTable{db: db, name: name, schema: sch, collation: collation, comment: comment, keys: keys}
	if err := t.resolve(); err != nil {
		return nil, err
	}
	return t, nil
}

// resolve maps the key columns to schema ordinals and rebuilds the
// indexes from the rows.
func (t *storeTable) resolve() error {
	t.ords = make([][]int, len(t.keys))
	t.fold = make([][]bool, len(t.keys))
	for i, k := range t.keys {
		for _, name := range k {
			o := t.schema.IndexOfColName(name)
			if o < 0 {
				return fmt.Errorf("unique key column %q is not a column of %s", name, t.name)
			}
			t.ords[i] = append(t.ords[i], o)
			ci := false
			if st, ok := t.schema[o].Type.(sql.StringType); ok {
				ci = strings.HasSuffix(st.Collation().Name(), "_ci")
			}
			t.fold[i] = append(t.fold[i], ci)
		}
	}
	t.index = make([]map[string]int, len(t.keys))
	for i := range t.index {
		t.index[i] = make(map[string]int, len(t.rows))
	}
	for pos, row := range t.rows {
		if row == nil {
			continue
		}
		for i := range t.keys {
			if k, ok := t.keyOf(i, row); ok {
				t.index[i][k] = pos
			}
		}
	}
	return nil
}

// keyOf encodes the values of key i of row; ok is false when one is NULL
// (NULLs never collide).
func (t *storeTable) keyOf(i int, row sql.Row) (string, bool) {
	var b strings.Builder
	for j, o := range t.ords[i] {
		var s string
		switch x := row[o].(type) {
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
		if t.fold[i][j] {
			s = strings.ToLower(s)
		}
		b.WriteString(strconv.Itoa(len(s)))
		b.WriteByte(':')
		b.WriteString(s)
	}
	return b.String(), true
}

// Name implements sql.Table.
func (t *storeTable) Name() string { return t.name }

// String implements sql.Table.
func (t *storeTable) String() string { return t.name }

// Schema implements sql.Table.
func (t *storeTable) Schema() sql.Schema {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.schema
}

// Collation implements sql.Table.
func (t *storeTable) Collation() sql.CollationID { return t.collation }

// Comment implements sql.CommentedTable.
func (t *storeTable) Comment() string { return t.comment }

// Partitions implements sql.Table: one partition.
func (t *storeTable) Partitions(*sql.Context) (sql.PartitionIter, error) {
	return &onePartition{}, nil
}

// PartitionRows implements sql.Table: the rows there are when it is
// called, in insertion order (a lookup's partition: the rows it found).
func (t *storeTable) PartitionRows(_ *sql.Context, p sql.Partition) (sql.RowIter, error) {
	if lp, ok := p.(*lookupPartition); ok {
		return &rowIter{rows: lp.rows}, nil
	}
	t.mu.Lock()
	rows := t.rows[:len(t.rows):len(t.rows)]
	t.mu.Unlock()
	return &rowIter{rows: rows}, nil
}

type onePartition struct{ done bool }

func (p *onePartition) Next(*sql.Context) (sql.Partition, error) {
	if p.done {
		return nil, io.EOF
	}
	p.done = true
	return partitionKey("all"), nil
}

func (p *onePartition) Close(*sql.Context) error { return nil }

type partitionKey string

func (k partitionKey) Key() []byte { return []byte(k) }

type rowIter struct {
	rows []sql.Row
	i    int
}

func (it *rowIter) Next(*sql.Context) (sql.Row, error) {
	for it.i < len(it.rows) {
		r := it.rows[it.i]
		it.i++
		if r != nil {
			return r.Copy(), nil
		}
	}
	return nil, io.EOF
}

func (it *rowIter) Close(*sql.Context) error { return nil }

// GetIndexes implements sql.IndexAddressable: the unique keys, for
// information_schema, SHOW INDEX, the planner's functional dependencies
// and equality lookups.
func (t *storeTable) GetIndexes(*sql.Context) ([]sql.Index, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	out := make([]sql.Index, len(t.keys))
	for i, k := range t.keys {
		out[i] = uniqueIndex{t: t, n: i, cols: k}
	}
	return out, nil
}

// IndexedAccess implements sql.IndexAddressable: the table, answering
// lookups on its unique keys (lookup.go).
func (t *storeTable) IndexedAccess(*sql.Context, sql.IndexLookup) sql.IndexedTable {
	return indexedStore{t}
}

// PreciseMatch implements sql.IndexAddressable: a lookup returns exactly
// the rows its ranges hold.
func (t *storeTable) PreciseMatch() bool { return true }

// Inserter implements sql.InsertableTable.
func (t *storeTable) Inserter(*sql.Context) sql.RowInserter { return &storeEditor{t} }

// Updater implements sql.UpdatableTable.
func (t *storeTable) Updater(*sql.Context) sql.RowUpdater { return &storeEditor{t} }

// Replacer implements sql.ReplaceableTable.
func (t *storeTable) Replacer(*sql.Context) sql.RowReplacer { return &storeEditor{t} }

// Deleter implements sql.DeletableTable.
func (t *storeTable) Deleter(*sql.Context) sql.RowDeleter { return &storeEditor{t} }

// Truncate implements sql.TruncateableTable.
func (t *storeTable) Truncate(*sql.Context) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	n := len(t.rows) - t.deleted
	t.rows, t.deleted, t.undo = nil, 0, nil
	return n, t.resolve()
}

// AddColumn implements sql.AlterableTable: the column goes where order
// says, with NULL in every row (the engine then writes its default).
func (t *storeTable) AddColumn(_ *sql.Context, column *sql.Column, order *sql.ColumnOrder) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	col := column.Copy()
	col.Source, col.DatabaseSource = t.name, t.db
	at := len(t.schema)
	if order != nil {
		switch {
		case order.First:
			at = 0
		case order.AfterColumn != "":
			if i := t.schema.IndexOfColName(order.AfterColumn); i >= 0 {
				at = i + 1
			}
		}
	}
	t.schema = slices.Insert(slices.Clone(t.schema), at, col)
	for i, r := range t.rows {
		if r != nil {
			t.rows[i] = slices.Insert(r, at, any(nil))
		}
	}
	return t.resolve()
}

// DropColumn implements sql.AlterableTable.
func (t *storeTable) DropColumn(_ *sql.Context, name string) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	at := t.schema.IndexOfColName(name)
	if at < 0 {
		return sql.ErrTableColumnNotFound.New(t.name, name)
	}
	for _, k := range t.keys {
		for _, c := range k {
			if strings.EqualFold(c, name) {
				return fmt.Errorf("column %s is in a unique key of %s", name, t.name)
			}
		}
	}
	t.schema = slices.Delete(slices.Clone(t.schema), at, at+1)
	for i, r := range t.rows {
		if r != nil {
			t.rows[i] = slices.Delete(r, at, at+1)
		}
	}
	return t.resolve()
}

// ModifyColumn implements sql.AlterableTable for changes that keep the
// values: the column's new definition replaces the old, values converted.
func (t *storeTable) ModifyColumn(ctx *sql.Context, name string, column *sql.Column, order *sql.ColumnOrder) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	at := t.schema.IndexOfColName(name)
	if at < 0 {
		return sql.ErrTableColumnNotFound.New(t.name, name)
	}
	if order != nil && (order.First || order.AfterColumn != "") {
		return fmt.Errorf("moving column %s of %s is not supported by the emulator", name, t.name)
	}
	for i, r := range t.rows {
		if r == nil || r[at] == nil {
			continue
		}
		v, _, err := column.Type.Convert(ctx, r[at])
		if err != nil {
			return err
		}
		t.rows[i][at] = v
	}
	col := column.Copy()
	col.Source, col.DatabaseSource = t.name, t.db
	t.schema = slices.Clone(t.schema)
	t.schema[at] = col
	return t.resolve()
}

// storeEditor changes a storeTable for one statement.
type storeEditor struct{ t *storeTable }

func (e *storeEditor) StatementBegin(*sql.Context) {
	e.t.mu.Lock()
	e.t.undo = e.t.undo[:0]
	e.t.mu.Unlock()
}

// DiscardChanges undoes the statement's changes.
func (e *storeEditor) DiscardChanges(_ *sql.Context, err error) error {
	if _, ignorable := err.(sql.IgnorableError); ignorable {
		return nil
	}
	t := e.t
	t.mu.Lock()
	defer t.mu.Unlock()
	for j := len(t.undo) - 1; j >= 0; j-- {
		u := t.undo[j]
		t.setRow(u.pos, u.row)
	}
	for len(t.rows) > 0 && t.rows[len(t.rows)-1] == nil {
		t.rows = t.rows[:len(t.rows)-1]
		t.deleted--
	}
	t.undo = t.undo[:0]
	return nil
}

// StatementComplete keeps the statement's changes.
func (e *storeEditor) StatementComplete(*sql.Context) error {
	e.t.mu.Lock()
	e.t.undo = e.t.undo[:0]
	e.t.mu.Unlock()
	return nil
}

func (e *storeEditor) Close(*sql.Context) error { return nil }

// setRow puts row (nil: none) at pos, keeping the indexes and counts; it
// does not log.
func (t *storeTable) setRow(pos int, row sql.Row) {
	if pos == len(t.rows) {
		t.rows = append(t.rows, nil)
		t.deleted++
	}
	if old := t.rows[pos]; old != nil {
		for i := range t.keys {
			if k, ok := t.keyOf(i, old); ok && t.index[i][k] == pos {
				delete(t.index[i], k)
			}
		}
		t.deleted++
	}
	t.rows[pos] = row
	if row != nil {
		for i := range t.keys {
			if k, ok := t.keyOf(i, row); ok {
				t.index[i][k] = pos
			}
		}
		t.deleted--
	}
}

// change logs and makes one change.
func (t *storeTable) change(pos int, row sql.Row) {
	var old sql.Row
	if pos < len(t.rows) {
		old = t.rows[pos]
	}
	t.undo = append(t.undo, undoOp{pos: pos, row: old})
	t.setRow(pos, row)
}

// conflict returns the stored row that shares a unique key with row, other
// than the one at except (-1: none).
func (t *storeTable) conflict(row sql.Row, except int) (sql.Row, []int, bool) {
	for i := range t.keys {
		k, ok := t.keyOf(i, row)
		if !ok {
			continue
		}
		if pos, found := t.index[i][k]; found && pos != except {
			return t.rows[pos], t.ords[i], true
		}
	}
	return nil, nil, false
}

// find returns the position of a stored row equal to row.
func (t *storeTable) find(row sql.Row) int {
	for i := range t.keys {
		if k, ok := t.keyOf(i, row); ok {
			if pos, found := t.index[i][k]; found && sameRow(t.rows[pos], row) {
				return pos
			}
			return -1
		}
	}
	for pos := len(t.rows) - 1; pos >= 0; pos-- {
		if r := t.rows[pos]; r != nil && sameRow(r, row) {
			return pos
		}
	}
	return -1
}

// Insert refuses a row whose unique key is taken, with the existing row.
func (e *storeEditor) Insert(_ *sql.Context, row sql.Row) error {
	t := e.t
	t.mu.Lock()
	defer t.mu.Unlock()
	if len(row) != len(t.schema) {
		return fmt.Errorf("row of %d values for the %d columns of %s", len(row), len(t.schema), t.name)
	}
	if existing, ords, dup := t.conflict(row, -1); dup {
		return sql.NewUniqueKeyErr(formatKey(row, ords), false, existing.Copy())
	}
	t.change(len(t.rows), row.Copy())
	return nil
}

// Update replaces a row.
func (e *storeEditor) Update(_ *sql.Context, old, row sql.Row) error {
	t := e.t
	t.mu.Lock()
	defer t.mu.Unlock()
	pos := t.find(old)
	if pos < 0 {
		return fmt.Errorf("updating %s: the row to update is not there", t.name)
	}
	if sameRow(old, row) {
		return nil
	}
	if existing, ords, dup := t.conflict(row, pos); dup {
		return sql.NewUniqueKeyErr(formatKey(row, ords), false, existing.Copy())
	}
	t.change(pos, row.Copy())
	return nil
}

// Delete deletes a row.
func (e *storeEditor) Delete(_ *sql.Context, row sql.Row) error {
	t := e.t
	t.mu.Lock()
	defer t.mu.Unlock()
	pos := t.find(row)
	if pos < 0 {
		return nil
	}
	t.change(pos, nil)
	return nil
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

func formatKey(row sql.Row, ords []int) string {
	parts := make([]string, len(ords))
	for i, o := range ords {
		parts[i] = fmt.Sprint(row[o])
	}
	return "[" + strings.Join(parts, ",") + "]"
}

// uniqueIndex describes a unique key to the engine; it supports the
// lookups CanSupport (lookup.go) accepts.
type uniqueIndex struct {
	t    *storeTable
	n    int
	cols []string
}

func (u uniqueIndex) ID() string {
	return "unique_" + strconv.Itoa(u.n) + "_" + strings.Join(u.cols, "_")
}
func (u uniqueIndex) Database() string { return u.t.db }
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
func (u uniqueIndex) CanSupportOrderBy(sql.Expression) bool { return false }
