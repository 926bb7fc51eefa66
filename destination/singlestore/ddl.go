package singlestore

import (
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"
)

// Columns are the table's columns, in the order of every row's values.
var Columns = [...]string{
	"messageId", "timestamp", "type", "event", "name", "properties",
	"userId", "anonymousId", "groupId", "traits", "context",
}

// Schema is the shape of the table the writer inserts into.
type Schema uint8

const (
	// SchemaDedupe is the schema of tables s2segment creates (the zero
	// value): messageId is a VARCHAR(255) shard key and unique hash key, the
	// table is sorted by timestamp, and inserts skip a messageId that is
	// already there, so an event delivered twice is written once.
	SchemaDedupe Schema = iota
	// SchemaReference is the table Segment's SingleStore destination
	// creates: keyless, no unique key, plain INSERTs, no dedupe.
	SchemaReference
)

func (s Schema) String() string {
	switch s {
	case SchemaDedupe:
		return "dedupe"
	case SchemaReference:
		return "reference"
	}
	return fmt.Sprintf("Schema(%d)", uint8(s))
}

// ParseSchema reads "dedupe" or "reference".
func ParseSchema(s string) (Schema, error) {
	switch s {
	case "dedupe", "":
		return SchemaDedupe, nil
	case "reference":
		return SchemaReference, nil
	}
	return 0, fmt.Errorf("schema %q: want dedupe or reference", s)
}

// Limits on identifiers. SingleStore allows 256 characters in table names;
// database names are held to MySQL's 64.
const (
	MaxTableNameLength    = 256
	MaxDatabaseNameLength = 64
	// MaxMessageIDLength is the length of the dedupe schema's messageId
	// column (Segment's message IDs have at most 100 characters).
	MaxMessageIDLength = 255
	// MaxTextBytes is the size of a TEXT column.
	MaxTextBytes = 65535
)

// ErrInvalidIdentifier is wrapped by *IdentifierError.
var ErrInvalidIdentifier = errors.New("invalid identifier")

// IdentifierError is a table or database name that cannot be used.
type IdentifierError struct {
	Kind   string // "table" or "database"
	Name   string
	Reason string
}

func (e *IdentifierError) Error() string {
	return fmt.Sprintf("invalid %s name %q: %s", e.Kind, e.Name, e.Reason)
}

// Unwrap makes errors.Is(err, ErrInvalidIdentifier) hold.
func (e *IdentifierError) Unwrap() error { return ErrInvalidIdentifier }

// ValidateTableName checks a table name: 1 to 256 characters of valid
// UTF-8, no NUL or other control character, not ending in a space. Any
// other character, backticks included, is allowed: QuoteIdentifier makes it
// safe.
func ValidateTableName(name string) error {
	return validateIdentifier("table", name, MaxTableNameLength)
}

// ValidateDatabaseName checks a database name like a table name, with at
// most 64 characters and none of '/', '\' and '.', which name files on the
// server.
func ValidateDatabaseName(name string) error {
	if err := validateIdentifier("database", name, MaxDatabaseNameLength); err != nil {
		return err
	}
	if strings.ContainsAny(name, `/\.`) {
		return &IdentifierError{Kind: "database", Name: name, Reason: `it must not contain '/', '\' or '.'`}
	}
	return nil
}

func validateIdentifier(kind, name string, max int) error {
	switch {
	case name == "":
		return &IdentifierError{Kind: kind, Name: name, Reason: "it is empty"}
	case !utf8.ValidString(name):
		return &IdentifierError{Kind: kind, Name: name, Reason: "it is not valid UTF-8"}
	case utf8.RuneCountInString(name) > max:
		return &IdentifierError{Kind: kind, Name: name, Reason: fmt.Sprintf("it has %d characters; the limit is %d", utf8.RuneCountInString(name), max)}
	case strings.HasSuffix(name, " "):
		return &IdentifierError{Kind: kind, Name: name, Reason: "it ends with a space"}
	}
	for i, r := range name {
		if r == 0 {
			return &IdentifierError{Kind: kind, Name: name, Reason: fmt.Sprintf("it contains a NUL byte at offset %d", i)}
		}
		if r < 0x20 || r == 0x7f {
			return &IdentifierError{Kind: kind, Name: name, Reason: fmt.Sprintf("it contains the control character %U at offset %d", r, i)}
		}
	}
	return nil
}

// QuoteIdentifier quotes a name for SQL with backticks, doubling any
// backtick inside it, so no name can change the statement's shape.
func QuoteIdentifier(name string) string {
	return "`" + strings.ReplaceAll(name, "`", "``") + "`"
}

// KeyCollation is the collation of the messageId column in the tables
// s2segment creates: utf8mb4_bin, the binary collation of SingleStore's
// utf8mb4 (https://docs.singlestore.com/db/latest/reference/sql-reference/character-encoding/collations-supported/),
// which compares code points, so that "coll-abc", "coll-ABC", "coll-àbc" and
// "coll-ａbc" are four keys; the default collations (utf8mb4_general_ci and
// the like) are case- and accent-insensitive and would take them for one
// event and drop all but the first. SingleStore's documentation does not
// state a pad attribute for its collations (its COLLATIONS view has no
// PAD_ATTRIBUTE column); MySQL's and MariaDB's utf8mb4_bin are PAD SPACE,
// which ignores trailing spaces, so the emulator creates the column with
// MariaDB's utf8mb4_nopad_bin instead (the embedded engine's utf8mb4_bin
// does not pad), and "coll-abc " stays a key of its own on both.
const KeyCollation = "utf8mb4_bin"

// CreateTableSQL returns the CREATE TABLE IF NOT EXISTS statement of the
// table in the given schema. SchemaReference is Segment's statement (with
// every identifier quoted); SchemaDedupe keys the table on messageId.
func CreateTableSQL(table string, s Schema) (string, error) {
	if err := ValidateTableName(table); err != nil {
		return "", err
	}
	return createTableSQL(QuoteIdentifier(table), s), nil
}

// CreateTableInSQL is CreateTableSQL with the table qualified by its
// database (`database`.`table`), so that the statement creates it there
// whatever the connection's default database is.
func CreateTableInSQL(database, table string, s Schema) (string, error) {
	if err := ValidateDatabaseName(database); err != nil {
		return "", err
	}
	if err := ValidateTableName(table); err != nil {
		return "", err
	}
	return createTableSQL(QuoteIdentifier(database)+"."+QuoteIdentifier(table), s), nil
}

// createTableSQL is the CREATE TABLE statement of name, already quoted.
func createTableSQL(name string, s Schema) string {
	q := QuoteIdentifier
	var b strings.Builder
	b.WriteString("CREATE TABLE IF NOT EXISTS " + name + " (\n")
	if s == SchemaDedupe {
		b.WriteString("  " + q("messageId") + " VARCHAR(255) CHARACTER SET utf8mb4 COLLATE " + KeyCollation + " NOT NULL,\n")
	} else {
		b.WriteString("  " + q("messageId") + " TEXT NOT NULL,\n") // Segment's statement: no key, nothing compared
	}
	b.WriteString("  " + q("timestamp") + " DATETIME(6) NOT NULL,\n")
	b.WriteString("  " + q("type") + " TEXT NOT NULL,\n")
	for _, c := range []string{"event", "name"} {
		b.WriteString("  " + q(c) + " TEXT,\n")
	}
	b.WriteString("  " + q("properties") + " JSON,\n")
	for _, c := range []string{"userId", "anonymousId", "groupId"} {
		b.WriteString("  " + q(c) + " TEXT,\n")
	}
	b.WriteString("  " + q("traits") + " JSON,\n")
	b.WriteString("  " + q("context") + " JSON,\n")
	if s == SchemaDedupe {
		b.WriteString("  SHARD KEY (" + q("messageId") + "),\n")
		b.WriteString("  UNIQUE KEY (" + q("messageId") + ") USING HASH,\n")
		b.WriteString("  SORT KEY (" + q("timestamp") + ")\n")
	} else {
		b.WriteString("  SHARD KEY ()\n")
	}
	b.WriteString(") AUTOSTATS_CARDINALITY_MODE=PERIODIC AUTOSTATS_HISTOGRAM_MODE=CREATE SQL_MODE='STRICT_ALL_TABLES';")
	return b.String()
}

// InsertSQL returns the parts of the multi-row INSERT around its
// placeholder groups: prefix ends with "VALUES ", and suffix is the
// dedupe schema's no-op ON DUPLICATE KEY UPDATE (empty for the reference
// schema). They are batch.Config's Prefix and Suffix.
//
// The no-op assigns `type` to itself: SingleStore refuses an upsert that
// assigns a unique-key column of a columnstore table or a shard-key column
// of any table (https://docs.singlestore.com/db/latest/query-data/advanced-query-topics/performing-upserts/),
// and `type` is in neither key, in this version's tables and in those
// created by earlier ones.
func InsertSQL(table string, s Schema) (prefix, suffix string, err error) {
	if err := ValidateTableName(table); err != nil {
		return "", "", err
	}
	cols := make([]string, len(Columns))
	for i, c := range Columns {
		cols[i] = QuoteIdentifier(c)
	}
	prefix = "INSERT INTO " + QuoteIdentifier(table) + " (" + strings.Join(cols, ", ") + ") VALUES "
	if s == SchemaDedupe {
		suffix = " ON DUPLICATE KEY UPDATE " + QuoteIdentifier("type") + " = " + QuoteIdentifier("type")
	}
	return prefix, suffix, nil
}
