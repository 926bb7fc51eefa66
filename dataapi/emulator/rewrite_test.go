package emulator

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestTranslateAccessors(t *testing.T) {
	tests := []struct{ in, out string }{
		{"SELECT p::a FROM t", `SELECT JSON_EXTRACT(p, '$."a"') FROM t`},
		{"SELECT p::$a, p::%b FROM t", `SELECT JSON_UNQUOTE(JSON_EXTRACT(p, '$."a"')), CAST(JSON_EXTRACT(p, '$."b"') AS DOUBLE) FROM t`},
		{"SELECT t.context::page::$url FROM t", `SELECT JSON_UNQUOTE(JSON_EXTRACT(t.context, '$."page"."url"')) FROM t`},
		{"SELECT `p`::`odd key`::$`it's` FROM t", `SELECT JSON_UNQUOTE(JSON_EXTRACT(` + "`p`" + `, '$."odd key"."it''s"')) FROM t`},
		{"SELECT p::list::0 FROM t", `SELECT JSON_EXTRACT(p, '$."list"[0]') FROM t`},
		{"SELECT JSON_EXTRACT_STRING(p, 'a', 'b') FROM t", `SELECT JSON_UNQUOTE(JSON_EXTRACT(p, '$."a"."b"')) FROM t`},
		{"SELECT json_extract_bigint(p, 'n'), JSON_EXTRACT_DOUBLE(p, \"d\"), JSON_EXTRACT_JSON(p, 'l', 2) FROM t",
			`SELECT CAST(JSON_EXTRACT(p, '$."n"') AS SIGNED), CAST(JSON_EXTRACT(p, '$."d"') AS DOUBLE), JSON_EXTRACT(p, '$."l"[2]') FROM t`},
		{"SELECT JSON_EXTRACT_STRING(JSON_EXTRACT_JSON(p, 'a'), 'b') FROM t", `SELECT JSON_UNQUOTE(JSON_EXTRACT(JSON_EXTRACT(p, '$."a"'), '$."b"')) FROM t`},
		{"SELECT LOWER(p::$a) FROM t WHERE p::$a = 'x'", `SELECT LOWER(JSON_UNQUOTE(JSON_EXTRACT(p, '$."a"'))) FROM t WHERE JSON_UNQUOTE(JSON_EXTRACT(p, '$."a"')) = 'x'`},
		{"SELECT '::$a', `x::y` FROM t -- p::a", ""},
		{"SELECT JSON_EXTRACT_STRING(p, k) FROM t", ""}, // a key given by an expression is left to the engine
		{"SELECT a FROM t", ""},
	}
	for _, tt := range tests {
		got, changed := translateAccessors(tt.in)
		want := tt.out
		if want == "" {
			want = tt.in
		}
		assert.Equal(t, want, got, tt.in)
		assert.Equal(t, tt.out != "", changed, tt.in)
	}
}

func TestInsertShape(t *testing.T) {
	sql := "INSERT INTO t (a, j, b) VALUES (1, '{\"x\":1}', 'p,(q)'), (2, NULL, CONCAT('a', 'b')), (3, DEFAULT, ?) ON DUPLICATE KEY UPDATE b = VALUES(b)"
	s := insertShapeOf(sql)
	assert.True(t, s.ok)
	assert.Len(t, s.tuples, 3)
	assert.Equal(t, "INSERT INTO t (a, j, b) VALUES (1, '{\"x\":1}', 'p,(q)') ON DUPLICATE KEY UPDATE b = VALUES(b)", s.skeleton(sql))
	assert.Equal(t, "INSERT INTO t (a, j, b) VALUES (1, f('{\"x\":1}'), f('p,(q)')), (2, f(NULL), f(CONCAT('a', 'b'))), (3, DEFAULT, f(?)) ON DUPLICATE KEY UPDATE b = VALUES(b)",
		s.wrapValues(sql, []int{1, 2}, "f"))
	assert.False(t, insertShapeOf("INSERT INTO t SELECT * FROM u").ok)
	assert.False(t, insertShapeOf("INSERT INTO t SET a = 1").ok)
	assert.False(t, insertShapeOf("INSERT INTO t VALUES (1").ok)
}

func TestAdaptAlter(t *testing.T) {
	for _, tt := range []struct{ in, out string }{
		{"ALTER TABLE t ADD COLUMN (a INT, b JSON)", "ALTER TABLE t ADD COLUMN a INT, ADD COLUMN b JSON"},
		{"ALTER TABLE t ADD (a DECIMAL(10,2) NOT NULL)", "ALTER TABLE t ADD COLUMN a DECIMAL(10,2) NOT NULL"},
		{"ALTER TABLE t ADD COLUMN a INT", ""},
		{"ALTER TABLE t ADD INDEX (a)", ""},
	} {
		st := analyze(tt.in, true)
		want := tt.out
		if want == "" {
			want = tt.in
		}
		assert.Equal(t, want, st.SQL, tt.in)
	}
}

func TestStoreDDL(t *testing.T) {
	out, db, table, keys, ok := storeDDL("CREATE TABLE IF NOT EXISTS `d`.`t` (`m` VARCHAR(255) NOT NULL, j JSON, UNIQUE KEY (`m`) USING HASH, CONSTRAINT u UNIQUE (j, m))")
	assert.True(t, ok)
	assert.Equal(t, "CREATE TABLE IF NOT EXISTS `d`.`t` (`m` VARCHAR(255) NOT NULL, j JSON)", out)
	assert.Equal(t, []string{"d", "t"}, []string{db, table})
	assert.Equal(t, [][]string{{"m"}, {"j", "m"}}, keys)
	_, _, _, keys, ok = storeDDL("CREATE TABLE t (a INT, b TEXT DEFAULT 'primary key')")
	assert.True(t, ok)
	assert.Empty(t, keys)
	for _, sql := range []string{
		"CREATE TABLE t (a INT PRIMARY KEY)",
		"CREATE TABLE t (a INT, PRIMARY KEY (a))",
		"CREATE TABLE t (a INT, KEY (a))",
		"CREATE TABLE t (a INT AUTO_INCREMENT)",
		"CREATE TABLE t (a INT UNIQUE)",
		"CREATE TABLE t (a TEXT, UNIQUE KEY (a(10)))",
		"CREATE TEMPORARY TABLE t (a INT)",
		"CREATE TABLE t (a INT) AS SELECT 1",
		"CREATE TABLE t LIKE u",
		"CREATE TABLE t (a INT, b INT AS (a + 1))",
		"CREATE TABLE t (a INT, CHECK (a > 0))",
	} {
		_, _, _, _, ok := storeDDL(sql)
		assert.False(t, ok, sql)
	}
}

// FuzzTranslateAccessors checks that translation never panics, ends, and
// leaves statements without accessors alone.
func FuzzTranslateAccessors(f *testing.F) {
	for _, s := range []string{"SELECT p::a", "p::$", "::", "a::%", "JSON_EXTRACT_STRING(", "JSON_EXTRACT_BIGINT(p,'a'", "(p)::x::$y", "`a`::`b`", "'::'"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, sql string) {
		out, changed := translateAccessors(sql)
		if !changed && out != sql {
			t.Fatalf("unchanged but different: %q → %q", sql, out)
		}
		s := insertShapeOf(sql)
		if s.ok {
			_ = s.wrapValues(sql, []int{0, 1}, "f")
			_ = s.skeleton(sql)
		}
		_, _, _, _, _ = storeDDL(sql)
	})
}
