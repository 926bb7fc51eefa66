package gms

import (
	"context"
	"errors"
	"testing"

	"github.com/go-sql-driver/mysql"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestKeyedTable creates a store table whose unique key is kept in a hash
// index, and checks every path a key takes: duplicates refused (in
// one statement and across statements, the statement rolled back whole),
// upserts that change nothing and that change a row, REPLACE, UPDATE and
// DELETE, TRUNCATE, information_schema, and DROP.
func TestKeyedTable(t *testing.T) {
	e, err := Start("k")
	require.NoError(t, err)
	defer e.Close()
	ctx := context.Background()
	db := open(t, e, "k")
	exec := func(q string, args ...any) (int64, error) {
		res, err := db.ExecContext(ctx, q, args...)
		if err != nil {
			return 0, err
		}
		return res.RowsAffected()
	}
	must := func(q string, args ...any) int64 {
		t.Helper()
		n, err := exec(q, args...)
		require.NoError(t, err, q)
		return n
	}
	count := func() (n int) {
		t.Helper()
		require.NoError(t, db.QueryRowContext(ctx, "SELECT COUNT(*) FROM t").Scan(&n))
		return n
	}
	dupErr := func(err error) {
		t.Helper()
		var me *mysql.MySQLError
		require.True(t, errors.As(err, &me), "%v", err)
		assert.Equal(t, uint16(1062), me.Number, "%v", err)
	}

	e.ExpectTable("k", "t", [][]string{{"m"}})
	must("CREATE TABLE t (M VARCHAR(255) NOT NULL, v TEXT, n INT)")
	e.ForgetExpected("k", "t")
	var key string
	require.NoError(t, db.QueryRowContext(ctx, "SELECT COLUMN_KEY FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = 'k' AND TABLE_NAME = 't' AND COLUMN_NAME = 'M'").Scan(&key))
	assert.Contains(t, []string{"UNI", "PRI"}, key, "information_schema shows the key")

	assert.Equal(t, int64(2), must("INSERT INTO t VALUES ('a', 'x', 1), ('b', 'y', 2)"))
	_, err = exec("INSERT INTO t VALUES ('c', 'z', 3), ('a', 'dup', 4)")
	dupErr(err)
	assert.Equal(t, 2, count(), "the failed statement wrote nothing")
	_, err = exec("INSERT INTO t VALUES ('d', 'z', 3), ('d', 'dup', 4)")
	dupErr(err)
	assert.Equal(t, 2, count())
	assert.Equal(t, int64(1), must("INSERT INTO t VALUES ('c', 'z', 3)"), "c is free after the rollback")

	assert.Equal(t, int64(0), must("INSERT INTO t VALUES ('a', 'new', 9) ON DUPLICATE KEY UPDATE n = n"), "a no-op upsert")
	assert.Equal(t, int64(2), must("INSERT INTO t VALUES ('a', 'new', 9) ON DUPLICATE KEY UPDATE v = VALUES(v)"), "an upsert that changes the row")
	assert.Equal(t, int64(2), must("INSERT INTO t VALUES ('a', 'newer', 9) ON DUPLICATE KEY UPDATE v = VALUES(v)"), "again, on the updated row")
	var v string
	require.NoError(t, db.QueryRowContext(ctx, "SELECT v FROM t WHERE m = 'a'").Scan(&v))
	assert.Equal(t, "newer", v)
	assert.Equal(t, 3, count())

	must("REPLACE INTO t VALUES ('b', 'replaced', 5)")
	assert.Equal(t, 3, count())
	must("UPDATE t SET m = 'e' WHERE m = 'c'")
	must("INSERT INTO t VALUES ('c', 'again', 6)")
	_, err = exec("INSERT INTO t VALUES ('e', 'dup', 7)")
	dupErr(err)
	must("DELETE FROM t WHERE m = 'e'")
	must("INSERT INTO t VALUES ('e', 'free', 8)")
	assert.Equal(t, 4, count())

	must("TRUNCATE TABLE t")
	must("INSERT INTO t VALUES ('a', 'after truncate', 1)")
	must("ALTER TABLE t ADD COLUMN extra INT DEFAULT 7")
	must("ALTER TABLE t ADD COLUMN more TEXT, ADD COLUMN most JSON")
	_, err = exec("INSERT INTO t (m, v) VALUES ('a', 'dup after alter')")
	dupErr(err)
	must("INSERT INTO t (m, v, most) VALUES ('b', 'after alter', '{\"x\":1}')")
	var extra int
	require.NoError(t, db.QueryRowContext(ctx, "SELECT extra FROM t WHERE m = 'a'").Scan(&extra))
	assert.Equal(t, 7, extra, "the default fills the rows there")
	var names []string
	rows, err := db.QueryContext(ctx, "SELECT COLUMN_NAME FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = 'k' AND TABLE_NAME = 't' ORDER BY ORDINAL_POSITION")
	require.NoError(t, err)
	for rows.Next() {
		var n string
		require.NoError(t, rows.Scan(&n))
		names = append(names, n)
	}
	require.NoError(t, rows.Close())
	assert.Equal(t, []string{"M", "v", "n", "extra", "more", "most"}, names)

	must("DROP TABLE t")
	must("CREATE TABLE t (m VARCHAR(255) NOT NULL)")
	must("INSERT INTO t VALUES ('a'), ('a')")
	assert.Equal(t, 2, count(), "a table created again without the key has none")
}
