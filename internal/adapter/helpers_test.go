package adapter

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/s2segment/s2segment/dataapi"
	"github.com/s2segment/s2segment/dataapi/emulator"
	"github.com/s2segment/s2segment/destination/singlestore"
)

// testPassword is the database password of the tests; no error or result
// may contain it.
const testPassword = "pw_SECRET_database_e4f2"

// backend is an emulator engine the tests run against.
type backend struct {
	name string
	dsn  string
}

// backends returns the embedded engine and, when S2_TEST_MARIADB_DSN is set,
// MariaDB.
func backends() []backend {
	bs := []backend{{name: "embedded"}}
	if dsn := os.Getenv("S2_TEST_MARIADB_DSN"); dsn != "" && !testing.Short() { // -short: the embedded engine only
		bs = append(bs, backend{name: "mariadb", dsn: dsn})
	}
	return bs
}

// testDB is an emulator serving over real HTTP with a database of its own.
type testDB struct {
	host     string
	port     string
	database string
}

// startEmulator serves an emulator on b with a fresh database; faults are
// applied to every authenticated request.
func startEmulator(t testing.TB, b backend, faults emulator.Faults) *testDB {
	t.Helper()
	db := emulator.DefaultDatabase
	if b.dsn != "" {
		var r [4]byte
		_, _ = rand.Read(r[:])
		db = "s2serving_" + hex.EncodeToString(r[:])
	}
	l, err := emulator.Listen(t.Context(), emulator.Config{DSN: b.dsn, Databases: []string{db}, Faults: faults})
	require.NoError(t, err)
	d := &testDB{host: l.Host(), port: l.Port(), database: db}
	t.Cleanup(func() {
		if b.dsn != "" {
			c := d.client(t, "")
			_, _ = c.Exec(context.Background(), "DROP DATABASE IF EXISTS "+singlestore.QuoteIdentifier(db))
		}
		_ = l.Close()
	})
	return d
}

// settings returns the destination settings of the emulator.
func (d *testDB) settings(table string) singlestore.Settings {
	return singlestore.Settings{Host: d.host, Port: d.port, Username: "root", Password: testPassword, DBName: d.database, TableName: table}
}

// client returns a Data API client of the emulator's database (db "" uses
// the test database) that retries hard, to read through injected faults.
func (d *testDB) client(t testing.TB, db string) *dataapi.Client {
	t.Helper()
	if db == "" {
		db = d.database
	}
	c, err := dataapi.New(dataapi.Config{Host: d.host, Port: d.port, Scheme: "http", User: "root", Password: testPassword,
		Database: db, MaxAttempts: 30, BackoffBase: time.Millisecond, BackoffMax: 20 * time.Millisecond, MaxRetryTime: time.Minute})
	require.NoError(t, err)
	return c
}

// counts returns how many rows each messageId has in table.
func (d *testDB) counts(t testing.TB, table string) map[string]int {
	t.Helper()
	rows, err := d.client(t, "").QueryRows(context.Background(),
		"SELECT messageId AS id, COUNT(*) AS n FROM "+singlestore.QuoteIdentifier(table)+" GROUP BY messageId")
	require.NoError(t, err)
	out := make(map[string]int, len(rows))
	for _, r := range rows {
		var id string
		require.NoError(t, json.Unmarshal(r["id"], &id))
		n, err := strconv.Atoi(string(r["n"]))
		require.NoError(t, err, "count %s", r["n"])
		out[id] = n
	}
	return out
}

// httpConn is the Connection of the emulator tests: plain HTTP, quick
// retries.
func httpConn() Connection {
	return Connection{Scheme: "http", Timeout: 10 * time.Second}
}

// createTable creates table in schema s.
func (d *testDB) createTable(t testing.TB, table string, s singlestore.Schema) {
	t.Helper()
	ddl, err := singlestore.CreateTableSQL(table, s)
	require.NoError(t, err)
	_, err = d.client(t, "").Exec(context.Background(), ddl)
	require.NoError(t, err)
}

// track returns a track event with the given messageId.
func track(id string) []byte {
	return []byte(`{"type":"track","event":"Order Completed","messageId":"` + id + `","timestamp":"2025-07-07T10:19:25.665Z","userId":"u-1","properties":{"total":12345678901234567890,"currency":"EUR"},"context":{"ip":"203.0.113.7"}}`)
}
