package gms

import (
	"context"
	"database/sql"
	"errors"
	"testing"

	"github.com/go-sql-driver/mysql"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func open(t *testing.T, e *Engine, db string) *sql.DB {
	t.Helper()
	cfg := mysql.NewConfig()
	cfg.User = "root"
	cfg.DBName = db
	cfg.DialFunc = e.Dial
	cfg.Logger = mysql.Logger(discard{})
	connector, err := mysql.NewConnector(cfg)
	require.NoError(t, err)
	conn := sql.OpenDB(connector)
	t.Cleanup(func() { conn.Close() })
	return conn
}

type discard struct{}

func (discard) Print(...any) {}

func TestEnginesAreIndependent(t *testing.T) {
	a, err := Start("Mixed_Case", "other")
	require.NoError(t, err)
	defer a.Close()
	b, err := Start("Mixed_Case")
	require.NoError(t, err)
	defer b.Close()
	assert.ElementsMatch(t, []string{"Mixed_Case", "other"}, a.DatabaseNames(), "names as created")

	ctx := context.Background()
	da, db := open(t, a, "Mixed_Case"), open(t, b, "Mixed_Case")
	_, err = da.ExecContext(ctx, "CREATE TABLE t (v INT)")
	require.NoError(t, err)
	_, err = da.ExecContext(ctx, "INSERT INTO t VALUES (1), (2)")
	require.NoError(t, err)
	var n int
	require.NoError(t, da.QueryRowContext(ctx, "SELECT COUNT(*) FROM t").Scan(&n))
	assert.Equal(t, 2, n)
	_, err = db.ExecContext(ctx, "SELECT * FROM t")
	var me *mysql.MySQLError
	require.True(t, errors.As(err, &me), "%v", err)
	assert.Equal(t, uint16(1146), me.Number, "the other engine has no table t")
}

func TestDatetimeFractions(t *testing.T) {
	e, err := Start("d")
	require.NoError(t, err)
	defer e.Close()
	conn := open(t, e, "d")
	ctx := context.Background()
	_, err = conn.ExecContext(ctx, "CREATE TABLE ts (a DATETIME(6), b DATETIME(3), c DATETIME, d DATETIME(6))")
	require.NoError(t, err)
	_, err = conn.ExecContext(ctx, "INSERT INTO ts VALUES ('2025-07-07 10:19:25.665', '2025-07-07 10:19:25', '2025-07-07 10:19:25', '2025-07-07 10:19:25')")
	require.NoError(t, err)
	var a, b, c, d string
	require.NoError(t, conn.QueryRowContext(ctx, "SELECT a, b, c, d FROM ts").Scan(&a, &b, &c, &d))
	assert.Equal(t, "2025-07-07 10:19:25.665000", a)
	assert.Equal(t, "2025-07-07 10:19:25.000", b)
	assert.Equal(t, "2025-07-07 10:19:25", c)
	assert.Equal(t, "2025-07-07 10:19:25.000000", d)
}

func TestPadFraction(t *testing.T) {
	for _, tc := range []struct {
		in   string
		n    int
		want string
	}{
		{"2025-01-01 00:00:00", 6, "2025-01-01 00:00:00.000000"},
		{"2025-01-01 00:00:00.5", 3, "2025-01-01 00:00:00.500"},
		{"2025-01-01 00:00:00.123456", 6, ""},
		{"10:00:00.12", 1, ""},
	} {
		got, ok := padFraction([]byte(tc.in), tc.n)
		assert.Equal(t, tc.want != "", ok, tc.in)
		if ok {
			assert.Equal(t, tc.want, string(got))
		}
	}
}

func TestCloseEndsEverything(t *testing.T) {
	e, err := Start()
	require.NoError(t, err)
	conn := open(t, e, "")
	require.NoError(t, conn.PingContext(context.Background()))
	require.NoError(t, conn.Close())
	require.NoError(t, e.Close())
	require.NoError(t, e.Close(), "idempotent")
	_, err = e.Dial(context.Background(), "tcp", "")
	assert.ErrorIs(t, err, ErrClosed)

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	e2, err := Start()
	require.NoError(t, err)
	defer e2.Close()
	_, err = e2.Dial(ctx, "tcp", "")
	assert.Error(t, err, "a cancelled dial fails")
}
