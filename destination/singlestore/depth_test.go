package singlestore

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/s2segment/s2segment/dataapi"
	"github.com/s2segment/s2segment/dataapi/emulator"
	"github.com/s2segment/s2segment/destination"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// deepValues are arrays nested past destination.MaxDepth, and about 6
// million deep (12 MB), deeper than gjson's recursive validator survives on
// Go's 1 GB stack; closed and unclosed.
func deepValues() map[string]string {
	out := map[string]string{}
	for _, n := range []int{destination.MaxDepth + 1, 6_000_000} {
		out[fmt.Sprintf("%d closed", n)] = strings.Repeat("[", n) + strings.Repeat("]", n)
		out[fmt.Sprintf("%d unclosed", n)] = strings.Repeat("[", n)
	}
	return out
}

// TestDeepNesting gives the package's entry points values nested past
// destination.MaxDepth: settings and mappings are refused with the depth
// error, and the Writer answers for a deep event alone, whatever its depth.
func TestDeepNesting(t *testing.T) {
	_, client := newEmulator(t, emulator.Config{})
	w, err := NewWriter(NewExecutor(client), WriterConfig{Database: testDB, Table: "deep"})
	require.NoError(t, err)
	ctx := context.Background()
	require.NoError(t, w.CreateTable(ctx))
	good := `{"type":"track","event":"E","messageId":"good","timestamp":"2025-01-01T00:00:00Z","userId":"u"}`

	for name, v := range deepValues() {
		t.Run(name, func(t *testing.T) {
			settings := []byte(`{"host":"h","username":"u","password":"hunter2","dbName":"d","tableName":` + v + `}`)
			_, err := ParseSettings(settings)
			var ve *destination.ValidationError
			require.ErrorAs(t, err, &ve)
			assert.Equal(t, fmt.Sprintf("The settings are nested more than 10000 levels deep at byte offset %d.",
				strings.IndexByte(string(settings), '[')+destination.MaxDepth-1), err.Error())
			assert.NotContains(t, err.Error(), "hunter2")

			mapping := json.RawMessage(`{"properties":{"@literal":` + v + `}}`)
			_, err = NewEncoder(Options{Mapping: mapping})
			assert.ErrorIs(t, err, destination.ErrTooDeep)
			assert.ErrorContains(t, err, "reading mapping: nested more than 10000 levels deep at byte offset")
			_, err = NewWriter(NewExecutor(client), WriterConfig{Database: testDB, Options: Options{Mapping: mapping}})
			assert.ErrorIs(t, err, destination.ErrTooDeep)

			// The Writer leaves nesting to the edge and the packer: the
			// deep event fails alone, its neighbour is written.
			ev := []byte(`{"type":"track","event":"E","messageId":"deep","timestamp":"2025-01-01T00:00:00Z","userId":"u","properties":{"p":` + v + `}}`)
			ms := w.Write(ctx, [][]byte{ev, []byte(good)})
			assert.Contains(t, []int{400, 413}, ms.Results[0].Status, ms.Results[0].ErrorMessage)
			assert.True(t, ms.Results[1].OK(), ms.Results[1].ErrorMessage)
		})
	}
	rows, err := client.QueryRows(ctx, "SELECT `messageId` FROM `deep`")
	require.NoError(t, err)
	require.Len(t, rows, 1)
	assert.Equal(t, `"good"`, string(rows[0]["messageId"]))
}

// TestWriterCreatesTableInItsDatabase gives the Writer a client whose
// context database is "a" and a WriterConfig.Database "b": the table is
// created in "b", where the rows are written, and "a" is left alone. It
// runs against the embedded engine, and MariaDB when S2_TEST_MARIADB_DSN
// names a server.
func TestWriterCreatesTableInItsDatabase(t *testing.T) {
	backends := map[string]emulator.Config{"embedded": {Databases: []string{"a", "b"}}}
	if dsn := os.Getenv("S2_TEST_MARIADB_DSN"); dsn != "" && !testing.Short() { // -short: the embedded engine only
		backends["mariadb"] = emulator.Config{DSN: dsn, Databases: []string{"s2seg_ct_a", "s2seg_ct_b"}}
	}
	for name, cfg := range backends {
		t.Run(name, func(t *testing.T) {
			dbA, dbB := cfg.Databases[0], cfg.Databases[1]
			l, err := emulator.Listen(t.Context(), cfg)
			require.NoError(t, err)
			t.Cleanup(func() { _ = l.Close() })
			clientFor := func(db string) *dataapi.Client {
				c, err := dataapi.New(dataapi.Config{
					Host: l.Host(), Port: l.Port(), Scheme: "http", User: "root", Password: "pw", Database: db,
					MaxAttempts: 2, BackoffBase: time.Millisecond, Timeout: 10 * time.Second,
				})
				require.NoError(t, err)
				return c
			}
			a, b := clientFor(dbA), clientFor(dbB)
			ctx := context.Background()
			table := fmt.Sprintf("ct_%d", time.Now().UnixNano())
			t.Cleanup(func() {
				_, _ = b.Exec(context.Background(), "DROP TABLE IF EXISTS "+QuoteIdentifier(table))
				_, _ = a.Exec(context.Background(), "DROP TABLE IF EXISTS "+QuoteIdentifier(table))
			})

			w, err := NewWriter(NewExecutor(a), WriterConfig{Database: dbB, Table: table})
			require.NoError(t, err)
			require.NoError(t, w.CreateTable(ctx))
			require.NoError(t, w.CreateTable(ctx), "CREATE TABLE IF NOT EXISTS runs again")
			ms := w.Write(ctx, [][]byte{[]byte(`{"type":"identify","userId":"u1","messageId":"db-b","timestamp":"2025-01-01T00:00:00Z"}`)})
			require.NoError(t, ms.Err())

			rows, err := b.QueryRows(ctx, "SELECT `messageId` FROM "+QuoteIdentifier(table))
			require.NoError(t, err)
			require.Len(t, rows, 1)
			assert.Equal(t, `"db-b"`, string(rows[0]["messageId"]))
			tables, err := a.QueryRows(ctx, "SHOW TABLES")
			require.NoError(t, err)
			for _, r := range tables {
				for _, v := range r {
					assert.NotEqual(t, `"`+table+`"`, string(v), "no table in the client's database %q", dbA)
				}
			}
		})
	}
}
