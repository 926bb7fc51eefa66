package diagnose

import (
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/s2segment/s2segment/destination/singlestore"
)

func TestCompareColumns(t *testing.T) {
	ours := func(s singlestore.Schema) []Column {
		cols := []Column{}
		for _, name := range singlestore.Columns {
			c := Column{Name: name, DataType: "text", ColumnType: "text", Nullable: nullableColumns[name]}
			switch name {
			case "messageId":
				if s == singlestore.SchemaDedupe {
					c.DataType, c.ColumnType, c.Key = "varchar", "varchar(255)", "UNI"
				}
			case "timestamp":
				c.DataType, c.ColumnType = "datetime", "datetime(6)"
			case "properties", "traits", "context":
				c.DataType, c.ColumnType = "json", "json"
			}
			cols = append(cols, c)
		}
		return cols
	}
	with := func(cols []Column, name string, f func(*Column)) []Column {
		out := append([]Column(nil), cols...)
		for i := range out {
			if out[i].Name == name {
				f(&out[i])
			}
		}
		return out
	}
	for _, tc := range []struct {
		name     string
		cols     []Column
		schema   singlestore.Schema
		diffs    []string
		warnings int
	}{
		{"dedupe", ours(singlestore.SchemaDedupe), singlestore.SchemaDedupe, nil, 0},
		{"reference", ours(singlestore.SchemaReference), singlestore.SchemaReference, nil, 0},
		{"names are case-insensitive", with(ours(singlestore.SchemaDedupe), "userId", func(c *Column) { c.Name = "USERID" }), singlestore.SchemaDedupe, nil, 0},
		{"mariadb json is longtext", with(ours(singlestore.SchemaDedupe), "traits", func(c *Column) { c.DataType, c.ColumnType = "longtext", "longtext" }), singlestore.SchemaDedupe, nil, 0},
		{"timestamp column", with(ours(singlestore.SchemaDedupe), "timestamp", func(c *Column) { c.DataType, c.ColumnType = "timestamp", "timestamp(6)" }), singlestore.SchemaDedupe, nil, 0},
		{"json as int", with(ours(singlestore.SchemaDedupe), "context", func(c *Column) { c.DataType, c.ColumnType = "bigint", "bigint(20)" }), singlestore.SchemaDedupe, []string{"context"}, 0},
		{"timestamp as text", with(ours(singlestore.SchemaDedupe), "timestamp", func(c *Column) { c.DataType, c.ColumnType = "text", "text" }), singlestore.SchemaDedupe, []string{"timestamp"}, 0},
		{"no key in dedupe", ours(singlestore.SchemaReference), singlestore.SchemaDedupe, nil, 1},
		{"key in reference", ours(singlestore.SchemaDedupe), singlestore.SchemaReference, []string{"messageId"}, 0},
		{"extra nullable column", append(ours(singlestore.SchemaDedupe), Column{Name: "note", DataType: "text", Nullable: true}), singlestore.SchemaDedupe, nil, 0},
		{"extra column with default", append(ours(singlestore.SchemaDedupe), Column{Name: "n", DataType: "int", HasDefault: true}), singlestore.SchemaDedupe, nil, 0},
		{"extra auto_increment", append(ours(singlestore.SchemaDedupe), Column{Name: "id", DataType: "bigint", Extra: "auto_increment"}), singlestore.SchemaDedupe, nil, 0},
		{"nothing", nil, singlestore.SchemaDedupe, singlestore.Columns[:], 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			diffs, warnings := CompareColumns(tc.cols, tc.schema)
			var got []string
			for _, d := range diffs {
				got = append(got, d.Column)
			}
			assert.Equal(t, tc.diffs, got)
			assert.Len(t, warnings, tc.warnings)
		})
	}
}
