package diagnose

import (
	"errors"
	"fmt"
	"strings"

	"github.com/s2segment/s2segment/destination"
	"github.com/s2segment/s2segment/destination/singlestore"
)

// Column is one column of an existing table, as information_schema.COLUMNS
// describes it.
type Column struct {
	Name string
	// DataType is the bare type in lower case ("varchar", "datetime",
	// "json"); ColumnType the full one ("varchar(255)", "datetime(6)").
	DataType, ColumnType string
	Nullable             bool
	// Key is COLUMN_KEY: "PRI", "UNI", "MUL" or "".
	Key string
	// HasDefault is true when the column has a default value; Extra is
	// information_schema's EXTRA (auto_increment, generated columns).
	HasDefault bool
	Extra      string
	// Charset and Collation are the column's character set and collation
	// in lower case ("" for columns that have none, such as DATETIME).
	Charset, Collation string
}

// ColumnDiff is one way a table differs from what the writer inserts into.
type ColumnDiff struct {
	// Column is the column's name.
	Column string
	// Want is what the writer needs, Got what the table has ("missing"
	// for a column it lacks).
	Want, Got string
}

// String says what differs, e.g. "event: want text, nullable, got text NOT NULL".
func (d ColumnDiff) String() string {
	return fmt.Sprintf("%s: want %s, got %s", d.Column, d.Want, d.Got)
}

// Type families of the columns.
type family int

const (
	famText     family = iota // char, varchar and the text types
	famDateTime               // datetime and timestamp
	famJSON                   // json, or a text type (MariaDB's JSON is LONGTEXT)
)

var columnFamilies = map[string]family{
	"messageId": famText, "timestamp": famDateTime, "type": famText, "event": famText, "name": famText,
	"properties": famJSON, "userId": famText, "anonymousId": famText, "groupId": famText,
	"traits": famJSON, "context": famJSON,
}

var textTypes = map[string]bool{"char": true, "varchar": true, "tinytext": true, "text": true, "mediumtext": true, "longtext": true}

func (f family) accepts(c Column) bool {
	switch f {
	case famText:
		return textTypes[c.DataType]
	case famDateTime:
		return c.DataType == "datetime" || c.DataType == "timestamp"
	case famJSON:
		return c.DataType == "json" || textTypes[c.DataType]
	}
	return false
}

// want describes what the writer needs of a column in a schema.
func want(name string, s singlestore.Schema) string {
	switch name {
	case "messageId":
		if s == singlestore.SchemaDedupe {
			return "varchar(255) or another text type"
		}
		return "text"
	case "timestamp":
		return "datetime(6)"
	case "properties", "traits", "context":
		return "json"
	case "type":
		return "text"
	}
	return "text, nullable"
}

// describe says what a column is, the way information_schema shows it.
func describe(c Column) string {
	s := c.ColumnType
	if s == "" {
		s = c.DataType
	}
	if !c.Nullable {
		s += " NOT NULL"
	}
	return s
}

// nullableColumns are the columns the writer sends null for when an event
// has no value.
var nullableColumns = map[string]bool{
	"event": true, "name": true, "properties": true, "userId": true, "anonymousId": true,
	"groupId": true, "traits": true, "context": true,
}

// CompareColumns compares a table's columns with the 11 the writer inserts
// in schema s. A diff is a column that is missing, of a type that cannot
// hold the values (timestamps need fractional seconds: datetime(6)), NOT NULL
// where events may have no value, or an extra NOT NULL column without a
// default, which makes every insert fail, or a unique key on messageId in
// the reference schema (its plain INSERTs fail on a redelivered event).
// Warnings are differences that do not stop writes: no unique key on
// messageId in the dedupe schema (a redelivered event is written again).
// Not every server reports keys in information_schema, so a key it does not
// report is only a warning.
func CompareColumns(cols []Column, s singlestore.Schema) (diffs []ColumnDiff, warnings []string) {
	byName := make(map[string]Column, len(cols))
	for _, c := range cols {
		byName[strings.ToLower(c.Name)] = c
	}
	known := make(map[string]bool, len(singlestore.Columns))
	for _, name := range singlestore.Columns {
		known[strings.ToLower(name)] = true
		c, ok := byName[strings.ToLower(name)]
		if !ok {
			diffs = append(diffs, ColumnDiff{Column: name, Want: want(name, s), Got: "missing"})
			continue
		}
		switch {
		case !columnFamilies[name].accepts(c):
			diffs = append(diffs, ColumnDiff{Column: name, Want: want(name, s), Got: describe(c)})
		case name == "timestamp" && c.ColumnType != "" && !strings.HasSuffix(c.ColumnType, "(6)"):
			diffs = append(diffs, ColumnDiff{Column: name, Want: "datetime(6) (microseconds)", Got: describe(c) + " (fractions of a second would be lost)"})
		case nullableColumns[name] && !c.Nullable:
			diffs = append(diffs, ColumnDiff{Column: name, Want: want(name, s), Got: describe(c) + " (events without a value would fail)"})
		}
	}
	for _, c := range cols {
		if known[strings.ToLower(c.Name)] {
			continue
		}
		if !c.Nullable && !c.HasDefault && c.Extra == "" {
			diffs = append(diffs, ColumnDiff{Column: c.Name, Want: "absent, nullable or with a default", Got: describe(c) + " without a default (every insert would fail)"})
		}
	}

	if id, ok := byName["messageid"]; ok {
		unique := id.Key == "PRI" || id.Key == "UNI"
		switch {
		case s == singlestore.SchemaDedupe && !unique:
			warnings = append(warnings, "messageId has no unique key, so a redelivered event is written again; "+
				"this looks like Segment's keyless table: use --schema reference to say so, or recreate the table to dedupe")
		case s == singlestore.SchemaReference && unique:
			diffs = append(diffs, ColumnDiff{Column: id.Name, Want: "no unique key (the reference schema's plain INSERTs fail on a redelivered event)",
				Got: describe(id) + " with a unique key: use --schema dedupe with this table"})
		}
	}
	return diffs, warnings
}

// SettingsFields maps the error of invalid settings to the settings it
// concerns, in actions-cli's "fields" form: the field's path without "$."
// ("host", "$" for the root) to its message.
func SettingsFields(err error) map[string]string {
	fields := make(map[string]string)
	var ve *destination.ValidationError
	var ie *singlestore.IdentifierError
	switch {
	case errors.As(err, &ve):
		for _, fe := range ve.Errors {
			key := strings.TrimPrefix(fe.Path, "$.")
			if key == "" {
				key = "$"
			}
			if prev, ok := fields[key]; ok {
				fields[key] = prev + " " + fe.Message
			} else {
				fields[key] = fe.Message
			}
		}
	case errors.As(err, &ie):
		key := singlestore.SettingTableName
		if ie.Kind == "database" {
			key = singlestore.SettingDBName
		}
		fields[key] = ie.Error()
	}
	if len(fields) == 0 {
		return nil
	}
	return fields
}

// fourByteCharsets are the character sets that store every Unicode
// character, those outside the Basic Multilingual Plane (emoji) included.
// "binary" stores bytes as they are.
var fourByteCharsets = map[string]bool{"utf8mb4": true, "binary": true}

// TextWarnings says what about a table's text would lose events or merge
// them, each with the statement that fixes it:
//
//   - the database's default character set (dbCharset, "" when unknown)
//     cannot store 4-byte characters: tables created in it later refuse
//     emoji (MariaDB and MySQL answer Error 1366 at write time);
//   - a text or JSON column of the table cannot store them;
//   - in the dedupe schema, the messageId key does not compare bytes (a
//     collation that is not binary, *_bin), so events whose ids differ only
//     in case, accents or width are taken for one and all but the first are
//     dropped.
func TextWarnings(cols []Column, dbCharset string, t Target) []string {
	var out []string
	db := singlestore.QuoteIdentifier(t.Database)
	table := t.qualifiedTable()
	if dbCharset != "" && !fourByteCharsets[dbCharset] {
		out = append(out, fmt.Sprintf("database %s has the default character set %s, which cannot store 4-byte characters such as emoji: "+
			"tables created in it refuse events that hold them; fix it with: ALTER DATABASE %s CHARACTER SET utf8mb4", db, dbCharset, db))
	}
	var narrow []string
	for _, c := range cols {
		if c.Charset != "" && !fourByteCharsets[c.Charset] {
			narrow = append(narrow, c.Name+" ("+c.Charset+")")
		}
	}
	// modifyKey is the statement that gives the dedupe key its binary
	// collation back.
	modifyKey := ""
	if t.Schema == singlestore.SchemaDedupe {
		for _, c := range cols {
			if strings.EqualFold(c.Name, "messageId") {
				typ := c.ColumnType
				if typ == "" {
					typ = "varchar(255)"
				}
				modifyKey = fmt.Sprintf("ALTER TABLE %s MODIFY %s %s CHARACTER SET utf8mb4 COLLATE %s NOT NULL",
					table, singlestore.QuoteIdentifier(c.Name), strings.ToUpper(typ), singlestore.KeyCollation)
			}
		}
	}
	const shardKeyNote = " (where a shard-key column cannot be changed, as in SingleStore, create a new table with s2segment check --table and copy the rows with INSERT … SELECT)"
	if len(narrow) > 0 {
		fix := "ALTER TABLE " + table + " CONVERT TO CHARACTER SET utf8mb4"
		if modifyKey != "" {
			fix += ", then " + modifyKey + " (CONVERT gives every text column the default collation, which is not binary)"
		}
		out = append(out, fmt.Sprintf("table %s has text columns that cannot store 4-byte characters such as emoji: %s; events that hold them are refused "+
			"(Error 1366) and kept for a retry; fix it with: %s", table, strings.Join(narrow, ", "), fix))
	}
	for _, c := range cols {
		// Only a key compares: a keyless messageId (Segment's table) is
		// warned about as such by CompareColumns.
		if modifyKey == "" || !strings.EqualFold(c.Name, "messageId") || c.Key == "" || c.Collation == "" || strings.HasSuffix(c.Collation, "_bin") {
			continue
		}
		out = append(out, fmt.Sprintf("table %s compares messageId with the collation %s, which is not binary: events whose ids differ only in case, "+
			"accents or width (coll-abc, coll-ABC, coll-àbc) are taken for one and all but the first are dropped; fix it with: %s%s",
			table, c.Collation, modifyKey, shardKeyNote))
	}
	return out
}
