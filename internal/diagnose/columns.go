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
