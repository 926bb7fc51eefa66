package emulator

import (
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var update = flag.Bool("update", false, "rewrite golden files under testdata/")

func TestAnalyze(t *testing.T) {
	tests := []struct {
		name         string
		sql          string
		placeholders int
		multiple     bool
		empty        bool
		keyword      string
		out          string // the statement to run; "" means sql unchanged
	}{
		{name: "plain", sql: "SELECT 1", keyword: "SELECT"},
		{name: "placeholders", sql: "INSERT INTO t VALUES (?, ?), (?, ?)", placeholders: 4, keyword: "INSERT"},
		{name: "in single quotes", sql: `SELECT '?', 'it''s ?', 'a\'?'`, keyword: "SELECT"},
		{name: "in double quotes", sql: `SELECT "?", "say ""?"""`, keyword: "SELECT"},
		{name: "in backticks", sql: "SELECT `a?``b` FROM t WHERE x = ?", placeholders: 1, keyword: "SELECT"},
		{name: "in comments", sql: "SELECT ? -- ?\n, ? # ?\n, /* ? */ ?", placeholders: 3, keyword: "SELECT"},
		{name: "double dash needs a space", sql: "SELECT 1--?", placeholders: 1, keyword: "SELECT"},
		{name: "double dash at the end", sql: "SELECT 1 --", keyword: "SELECT", out: "SELECT 1"},
		{name: "trailing semicolons", sql: "SELECT 1 ; ;  ", keyword: "SELECT", out: "SELECT 1"},
		{name: "trailing comment", sql: "SELECT 1; -- done", keyword: "SELECT", out: "SELECT 1"},
		{name: "two statements", sql: "SELECT 1; SELECT 2", multiple: true, keyword: "SELECT"},
		{name: "semicolon in a string", sql: "SELECT ';'", keyword: "SELECT"},
		{name: "empty", sql: "", empty: true},
		{name: "only semicolons and comments", sql: " ; /* x */ ;", empty: true},
		{name: "unterminated string", sql: "SELECT 'abc ?", keyword: "SELECT"},
		{name: "unterminated comment", sql: "SELECT 1 /* ?", keyword: "SELECT", out: "SELECT 1"},
		{name: "keyword case", sql: "use db", keyword: "USE"},
		{name: "leading comment", sql: "/* hi */ set x = ?", placeholders: 1, keyword: "SET", out: "/* hi */ set x = ?"},
		{name: "question mark after backslash in string", sql: `SELECT '\\', ?`, placeholders: 1, keyword: "SELECT"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st := analyze(tt.sql, true)
			assert.Equal(t, tt.placeholders, st.Placeholders, "placeholders")
			assert.Equal(t, tt.multiple, st.Multiple, "multiple")
			assert.Equal(t, tt.empty, st.Empty, "empty")
			assert.Equal(t, tt.keyword, st.Keyword, "keyword")
			if !tt.empty {
				want := tt.out
				if want == "" {
					want = tt.sql
				}
				assert.Equal(t, want, st.SQL)
			}
		})
	}
}

func TestAdaptDDL(t *testing.T) {
	tests := []struct{ name, in, out string }{
		{"keyless shard key", "CREATE TABLE t (a INT, SHARD KEY ())", "CREATE TABLE t (a INT)"},
		{"named shard key", "CREATE TABLE t (a INT, SHARD KEY sk (a), b TEXT)", "CREATE TABLE t (a INT, b TEXT)"},
		{"shard key first", "CREATE TABLE t (SHARD KEY (a), a INT)", "CREATE TABLE t (a INT)"},
		{"sort key", "CREATE TABLE t (ts DATETIME(6), SORT KEY (ts DESC))", "CREATE TABLE t (ts DATETIME(6))"},
		{"clustered columnstore", "CREATE TABLE t (a INT, KEY (a) USING CLUSTERED COLUMNSTORE)", "CREATE TABLE t (a INT)"},
		{"unique hash kept", "CREATE TABLE t (m VARCHAR(255), SHARD KEY (m), UNIQUE KEY (m) USING HASH)", "CREATE TABLE t (m VARCHAR(255), UNIQUE KEY (m) USING HASH)"},
		{"rowstore", "CREATE ROWSTORE TABLE t (a INT)", "CREATE TABLE t (a INT)"},
		{"reference", "create rowstore reference table t (a int)", "create table t (a int)"},
		{"global temporary", "CREATE GLOBAL TEMPORARY TABLE t (a INT)", "CREATE TEMPORARY TABLE t (a INT)"},
		{"autostats and sql_mode", "CREATE TABLE t (a INT) AUTOSTATS_CARDINALITY_MODE=PERIODIC AUTOSTATS_HISTOGRAM_MODE=CREATE SQL_MODE='STRICT_ALL_TABLES'", "CREATE TABLE t (a INT) "},
		{"options with commas", "CREATE TABLE t (a INT) ENGINE=InnoDB, AUTOSTATS_ENABLED = TRUE, COMMENT='x'", "CREATE TABLE t (a INT) ENGINE=InnoDB, COMMENT='x'"},
		{"last option after comma", "CREATE TABLE t (a INT) COMMENT='x', SQL_MODE='ANSI'", "CREATE TABLE t (a INT) COMMENT='x'"},
		{"nested parentheses", "CREATE TABLE t (a DECIMAL(10,2), b ENUM('x,y','z'), SHARD KEY (a))", "CREATE TABLE t (a DECIMAL(10,2), b ENUM('x,y','z'))"},
		{"clause words in strings untouched", "CREATE TABLE t (a TEXT DEFAULT 'SHARD KEY (a)') COMMENT 'SQL_MODE=1'", ""},
		{"plain MySQL untouched", "CREATE TABLE IF NOT EXISTS `db`.`t` (a INT PRIMARY KEY) ENGINE=InnoDB", ""},
		{"create as select options", "CREATE TABLE t AS SELECT sql_mode FROM x", ""},
		{"not a table", "CREATE DATABASE IF NOT EXISTS x", ""},
		{"create index", "CREATE INDEX i ON t (a)", ""},
		{"truncated statement", "CREATE ROWSTORE", ""},
		{"unbalanced", "CREATE TABLE t (a INT, SHARD KEY (a)", ""},
		{"only shard key", "CREATE TABLE t (SHARD KEY ())", ""},
		{"alter add column list", "ALTER TABLE `db`.`t` ADD COLUMN (`a` BIGINT, `b,c` DECIMAL(65,0), `d` TEXT)",
			"ALTER TABLE `db`.`t` ADD COLUMN `a` BIGINT, ADD COLUMN `b,c` DECIMAL(65,0), ADD COLUMN `d` TEXT"},
		{"alter add list without COLUMN", "ALTER TABLE t ADD (a JSON)", "ALTER TABLE t ADD COLUMN a JSON"},
		{"alter add one column untouched", "ALTER TABLE t ADD COLUMN a BIGINT", ""},
		{"alter add key untouched", "ALTER TABLE t ADD KEY (a)", ""},
		{"alter unbalanced", "ALTER TABLE t ADD COLUMN (a BIGINT", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st := analyze(tt.in, true)
			want := tt.out
			if want == "" {
				want = tt.in
			}
			assert.Equal(t, want, st.SQL)
			assert.Equal(t, tt.out != "", st.Adapted, "adapted")
			noAdapt := analyze(tt.in, false)
			assert.Equal(t, tt.in, noAdapt.SQL, "without adaptation the text is untouched")
		})
	}
}

// TestAdaptDDLGolden adapts the DDL files under testdata/ddl and compares
// the results with the *.adapted golden files (refresh them with -update).
func TestAdaptDDLGolden(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("testdata", "ddl", "*.sql"))
	require.NoError(t, err)
	require.NotEmpty(t, files)
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			in, err := os.ReadFile(f)
			require.NoError(t, err)
			st := analyze(strings.TrimSpace(string(in)), true)
			require.True(t, st.Adapted)
			golden := strings.TrimSuffix(f, ".sql") + ".adapted"
			if *update {
				require.NoError(t, os.WriteFile(golden, []byte(st.SQL+"\n"), 0o644))
			}
			want, err := os.ReadFile(golden)
			require.NoError(t, err)
			assert.Equal(t, strings.TrimSuffix(string(want), "\n"), st.SQL)
			again := analyze(st.SQL, true)
			assert.False(t, again.Adapted, "adapting is idempotent")
		})
	}
}

// FuzzAnalyze checks that scanning never panics, that the tokens cover the
// text exactly, and that adaptation is idempotent and keeps placeholders.
func FuzzAnalyze(f *testing.F) {
	for _, s := range []string{
		"SELECT ?", "INSERT INTO t VALUES (?, ?), (?, ?);", "CREATE TABLE t (a INT, SHARD KEY ()) SQL_MODE='x'",
		"CREATE ROWSTORE REFERENCE TABLE", "SELECT '\\", "/* ", "-- ", "`", `"a""`, "CREATE TABLE t (((", "CREATE TABLE t (a) AUTOSTATS_X",
		"CREATE TABLE t (a INT,, SHARD KEY (a))", "CREATE TABLE t (a INT, SORT KEY (a),)", "ALTER TABLE t ADD (a INT,,)",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, sql string) {
		toks := scanSQL(sql)
		pos := 0
		for _, tok := range toks {
			if tok.start != pos || tok.end <= tok.start || tok.end > len(sql) {
				t.Fatalf("token %+v does not continue at %d in %q", tok, pos, sql)
			}
			pos = tok.end
		}
		if pos != len(sql) {
			t.Fatalf("tokens end at %d of %d in %q", pos, len(sql), sql)
		}
		st := analyze(sql, true)
		if st.Adapted {
			again := analyze(st.SQL, true)
			if again.Adapted {
				t.Fatalf("adapting twice changed %q → %q → %q", sql, st.SQL, again.SQL)
			}
			if again.Placeholders != st.Placeholders {
				t.Fatalf("adapting changed the placeholder count of %q: %d → %d", sql, st.Placeholders, again.Placeholders)
			}
		}
	})
}
