package warehouse

import (
	"sort"
	"strings"
)

// DefaultMaxColumns is the default cap on a table's columns. SingleStore's
// own limit is 4,096.
const DefaultMaxColumns = 1000

// MaxColumnsLimit is SingleStore's limit on the columns of a table.
const MaxColumnsLimit = 4096

// Column is one column of a table.
type Column struct {
	Name string
	Type Type
	// Limit is the most bytes a text column holds (characters when
	// negative: a VARCHAR); 0 means the type's own limit.
	Limit int64
}

// Table is a table's columns, in order.
type Table struct {
	Name    string
	Columns []Column
	index   map[string]int
}

// NewTable returns a table with the given columns.
func NewTable(name string, cols []Column) *Table {
	t := &Table{Name: name}
	for _, c := range cols {
		t.Add(c)
	}
	return t
}

// Add appends a column; a column the table has is left as it is.
func (t *Table) Add(c Column) {
	if t.index == nil {
		t.index = make(map[string]int)
	}
	if _, ok := t.index[c.Name]; ok {
		return
	}
	t.index[c.Name] = len(t.Columns)
	t.Columns = append(t.Columns, c)
}

// Column returns the named column's index, or -1.
func (t *Table) Column(name string) int {
	if i, ok := t.index[name]; ok {
		return i
	}
	return -1
}

// Upsert reports whether the table is users or accounts.
func (t *Table) Upsert() bool { return IsUpsertTable(t.Name) }

// IsUpsertTable reports whether rows of the table merge by id (users and
// accounts).
func IsUpsertTable(name string) bool { return name == TableUsers || name == TableAccounts }

// StandardColumns returns the columns a table is created with, before any
// property, trait or context column.
func StandardColumns(table string) []Column {
	if IsUpsertTable(table) {
		return []Column{{Name: ColumnID, Type: TypeID}, {Name: ColumnReceivedAt, Type: TypeDateTime},
			{Name: ColumnUUIDTS, Type: TypeDateTime}, {Name: ColumnUnmapped, Type: TypeJSON}}
	}
	cols := []Column{{Name: ColumnID, Type: TypeID}, {Name: ColumnAnonymousID, Type: TypeText}, {Name: ColumnUserID, Type: TypeText}}
	switch table {
	case TableIdentifies:
	case TablePages, TableScreens:
		cols = append(cols, Column{Name: ColumnName, Type: TypeText})
	case TableGroups:
		cols = append(cols, Column{Name: ColumnGroupID, Type: TypeText})
	case TableAliases:
		cols = append(cols, Column{Name: ColumnPreviousID, Type: TypeText})
	default: // tracks and the event tables
		cols = append(cols, Column{Name: ColumnEvent, Type: TypeText}, Column{Name: ColumnEventText, Type: TypeText})
	}
	return append(cols,
		Column{Name: ColumnReceivedAt, Type: TypeDateTime}, Column{Name: ColumnSentAt, Type: TypeDateTime},
		Column{Name: ColumnOriginalTimestamp, Type: TypeDateTime}, Column{Name: ColumnTimestamp, Type: TypeDateTime},
		Column{Name: ColumnUUIDTS, Type: TypeDateTime}, Column{Name: ColumnUnmapped, Type: TypeJSON})
}

// Schema is the tables of one database, as far as they are known.
type Schema struct {
	// Tables by name.
	Tables map[string]*Table
	// MaxColumns caps the columns of a table; 0 means DefaultMaxColumns.
	MaxColumns int
}

// NewSchema returns an empty schema.
func NewSchema(maxColumns int) *Schema {
	return &Schema{Tables: map[string]*Table{}, MaxColumns: maxColumns}
}

func (s *Schema) maxColumns() int {
	if s.MaxColumns <= 0 {
		return DefaultMaxColumns
	}
	return s.MaxColumns
}

// Change is what one table needs before a batch of rows can be written:
// to be created with Columns, or to have Columns added.
type Change struct {
	Table   string
	Create  bool
	Columns []Column
}

// Plan returns the changes rows need against the schema, one per table in
// the order the tables first appear: a table that is not in the schema is
// created with its standard columns and the new columns of the batch; a
// table that is has the missing columns added. A new column's type comes
// from its values in the batch (see docs/warehouse.md). Columns past the
// table's cap are not planned: their values go to _unmapped when encoded.
// Plan does not change the schema (see Apply).
func (s *Schema) Plan(rows []Row) []Change {
	type pending struct {
		change Change
		order  []string
		values map[string][]Value
		have   int
	}
	var (
		order  []string
		byName = map[string]*pending{}
	)
	for i := range rows {
		r := &rows[i]
		p := byName[r.Table]
		if p == nil {
			p = &pending{change: Change{Table: r.Table}, values: map[string][]Value{}}
			t := s.Tables[r.Table]
			if t == nil {
				p.change.Create = true
				p.change.Columns = StandardColumns(r.Table)
				p.have = len(p.change.Columns)
			} else {
				p.have = len(t.Columns)
			}
			byName[r.Table] = p
			order = append(order, r.Table)
		}
		t := s.Tables[r.Table]
		for _, f := range r.Fields {
			if f.Std != TypeUnknown && p.change.Create {
				continue
			}
			if t != nil && t.Column(f.Column) >= 0 {
				continue
			}
			if _, seen := p.values[f.Column]; !seen {
				p.order = append(p.order, f.Column)
			}
			p.values[f.Column] = append(p.values[f.Column], f.Value)
			if f.Std != TypeUnknown { // a standard column missing from an existing table
				p.values[f.Column] = []Value{{Kind: stdKind(f.Std)}}
			}
		}
	}
	var out []Change
	for _, name := range order {
		p := byName[name]
		room := s.maxColumns() - p.have
		for _, col := range p.order {
			if room <= 0 {
				break
			}
			p.change.Columns = append(p.change.Columns, Column{Name: col, Type: infer(p.values[col])})
			room--
		}
		if p.change.Create || len(p.change.Columns) > 0 {
			out = append(out, p.change)
		}
	}
	return out
}

// stdKind is the kind that infers the standard type t.
func stdKind(t Type) Kind {
	switch t {
	case TypeDateTime:
		return KindTime
	case TypeJSON:
		return KindArray
	}
	return KindString
}

// Apply records a change made to the database.
func (s *Schema) Apply(c Change) {
	t := s.Tables[c.Table]
	if t == nil {
		t = NewTable(c.Table, nil)
		s.Tables[c.Table] = t
	}
	for _, col := range c.Columns {
		t.Add(col)
	}
}

// Names returns the schema's table names, sorted.
func (s *Schema) Names() []string {
	out := make([]string, 0, len(s.Tables))
	for n := range s.Tables {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

// columnDef is a column's definition in CREATE TABLE and ALTER TABLE.
func columnDef(c Column) string {
	def := QuoteIdentifier(c.Name) + " " + c.Type.SQL()
	if c.Name == ColumnReceivedAt {
		def += " NOT NULL"
	}
	return def
}

// CreateTableSQL returns the CREATE TABLE IF NOT EXISTS statement of a
// table in database db: its columns, SHARD KEY (id), UNIQUE KEY (id) USING
// HASH and SORT KEY (received_at), so that a redelivered event is written
// once and time ranges scan in order.
func CreateTableSQL(db string, c Change) string {
	var b strings.Builder
	b.WriteString("CREATE TABLE IF NOT EXISTS " + QuoteIdentifier(db) + "." + QuoteIdentifier(c.Table) + " (")
	for _, col := range c.Columns {
		b.WriteString(columnDef(col))
		b.WriteString(", ")
	}
	b.WriteString("SHARD KEY (" + QuoteIdentifier(ColumnID) + "), UNIQUE KEY (" + QuoteIdentifier(ColumnID) + ") USING HASH, SORT KEY (" + QuoteIdentifier(ColumnReceivedAt) + "))")
	return b.String()
}

// AddColumnsSQL returns the ALTER TABLE statement that adds cols to a
// table of database db, all in one ADD COLUMN (…) list.
func AddColumnsSQL(db, table string, cols []Column) string {
	defs := make([]string, len(cols))
	for i, c := range cols {
		defs[i] = columnDef(c)
	}
	return "ALTER TABLE " + QuoteIdentifier(db) + "." + QuoteIdentifier(table) + " ADD COLUMN (" + strings.Join(defs, ", ") + ")"
}

// InsertSQL returns the parts of a multi-row INSERT of cols into a table
// of database db around its placeholder groups (prefix ends in "VALUES ").
// The suffix is an ON DUPLICATE KEY UPDATE that assigns no key column
// (SingleStore refuses upserts assigning a unique-key column of a
// columnstore table or a shard-key column): for a per-call table the no-op
// uuid_ts = uuid_ts, so a redelivered event is written once; for users and
// accounts, every column takes the new value when it is not NULL and
// either the stored value is NULL or the new row was received no earlier
// than the stored one, and received_at, assigned last, keeps the later of
// the two.
func InsertSQL(db, table string, cols []string) (prefix, suffix string) {
	q := make([]string, len(cols))
	for i, c := range cols {
		q[i] = QuoteIdentifier(c)
	}
	prefix = "INSERT INTO " + QuoteIdentifier(db) + "." + QuoteIdentifier(table) + " (" + strings.Join(q, ", ") + ") VALUES "
	if !IsUpsertTable(table) {
		return prefix, " ON DUPLICATE KEY UPDATE " + QuoteIdentifier(ColumnUUIDTS) + " = " + QuoteIdentifier(ColumnUUIDTS)
	}
	ra := QuoteIdentifier(ColumnReceivedAt)
	var sets []string
	for _, c := range cols {
		if c == ColumnID || c == ColumnReceivedAt {
			continue
		}
		qc := QuoteIdentifier(c)
		sets = append(sets, qc+" = IF(VALUES("+qc+") IS NOT NULL AND ("+qc+" IS NULL OR VALUES("+ra+") >= "+ra+"), VALUES("+qc+"), "+qc+")")
	}
	sets = append(sets, ra+" = GREATEST("+ra+", VALUES("+ra+"))")
	return prefix, " ON DUPLICATE KEY UPDATE " + strings.Join(sets, ", ")
}
