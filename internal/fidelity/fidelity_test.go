package fidelity

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/s2segment/s2segment/dataapi"
	"github.com/s2segment/s2segment/dataapi/emulator"
	"github.com/s2segment/s2segment/destination/singlestore"
	"github.com/s2segment/s2segment/internal/diagnose"
)

// mariaDBEnv names the DSN of a MariaDB server for the second backend.
const mariaDBEnv = "S2_TEST_MARIADB_DSN"

// backend is one engine behind the emulator.
type backend struct {
	name string
	dsn  string // "" for the embedded engine
}

func backends(t *testing.T) []backend {
	out := []backend{{name: "embedded"}}
	if dsn := os.Getenv(mariaDBEnv); dsn != "" {
		out = append(out, backend{name: "mariadb", dsn: dsn})
	} else {
		t.Logf("%s not set: MariaDB backend skipped", mariaDBEnv)
	}
	return out
}

// site is an emulator in SingleStore mode (the default) behind a real HTTP
// server, with a fresh database and a client for it.
type site struct {
	db     string
	em     *emulator.Server
	client *dataapi.Client
	target diagnose.Target
}

func newSite(t *testing.T, b backend, cfg emulator.Config) *site {
	t.Helper()
	var rnd [6]byte
	_, _ = rand.Read(rnd[:])
	db := "s2fid_" + hex.EncodeToString(rnd[:])
	cfg.DSN = b.dsn
	cfg.Databases = []string{db}
	if b.dsn != "" {
		dropAfter(t, b.dsn, db)
	}
	l, err := emulator.Listen(t.Context(), cfg)
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, l.Close()) })
	em := l.Server()
	require.Equal(t, !cfg.PlainMySQL, em.SingleStoreRules())
	c, err := dataapi.New(dataapi.Config{
		Host: l.Host(), Port: l.Port(), Scheme: "http", User: "root", Database: db,
		MaxAttempts: 1, Timeout: 60 * time.Second,
	})
	require.NoError(t, err)
	return &site{db: db, em: em, client: c, target: diagnose.Target{
		Scheme: "http", Host: l.Host(), Port: l.Port(), User: "root", Database: db,
	}}
}

func dropAfter(t *testing.T, dsn, db string) {
	cfg, err := mysql.ParseDSN(dsn)
	require.NoError(t, err)
	cfg.DBName = ""
	connector, err := mysql.NewConnector(cfg)
	require.NoError(t, err)
	t.Cleanup(func() {
		conn := sql.OpenDB(connector)
		defer conn.Close()
		if _, err := conn.ExecContext(context.Background(), "DROP DATABASE IF EXISTS `"+db+"`"); err != nil {
			t.Errorf("dropping %s: %v", db, err)
		}
	})
}

// errnoOf is the errno of a Data API error, 0 for nil, -1 for an error
// without one.
func errnoOf(err error) int {
	if err == nil {
		return 0
	}
	var ae *dataapi.APIError
	if errors.As(err, &ae) && ae.Errno != 0 {
		return ae.Errno
	}
	return -1
}

var schemas = []singlestore.Schema{singlestore.SchemaDedupe, singlestore.SchemaReference}

// events are Segment events the Writer turns into rows: every column
// filled, a big integer and an emoji (raw, and as \u escapes).
var events = [][]byte{
	[]byte(`{"type":"track","event":"Order Completed","messageId":"fid-1","userId":"u1","anonymousId":"a1","timestamp":"2024-05-01T10:00:00.123456Z","properties":{"total":123456789012345678901234567890,"note":"😀 raw","escaped":"\uD83D\uDE00"},"context":{"page":{"url":"https://x.test/cart"}}}`),
	[]byte(`{"type":"identify","messageId":"fid-2","userId":"u1","timestamp":"2024-05-01T10:00:01Z","traits":{"plan":"pro"}}`),
	[]byte(`{"type":"page","name":"Home","messageId":"fid-3","anonymousId":"a2","timestamp":"2024-05-01T10:00:02Z","properties":{"path":"/"}}`),
	[]byte(`{"type":"group","groupId":"g1","messageId":"fid-4","userId":"u1","timestamp":"2024-05-01T10:00:03Z","traits":{"name":"Acme"}}`),
}

// TestProjectStatements runs every statement s2segment sends through the
// emulator in SingleStore mode: check (its information_schema query, and
// CREATE TABLE of CreateTableSQL when the table is missing), the Writer's
// CreateTable (CreateTableInSQL) and INSERTs of InsertSQL in both schemas,
// twice for the dedupe schema, and reads the rows back.
func TestProjectStatements(t *testing.T) {
	ctx := context.Background()
	for _, b := range backends(t) {
		t.Run(b.name, func(t *testing.T) {
			s := newSite(t, b, emulator.Config{})
			for _, schema := range schemas {
				t.Run(schema.String(), func(t *testing.T) {
					table := "fid_" + schema.String()

					// check: reads the columns, creates the table, reads again.
					target := s.target
					target.Table, target.Schema = table, schema
					res, err := diagnose.Check(ctx, s.client, target)
					require.NoError(t, err)
					assert.True(t, res.Created)
					assert.Empty(t, res.Warnings, "check on a table it created")
					// A second check finds the table as it should be.
					res, err = diagnose.Check(ctx, s.client, target)
					require.NoError(t, err)
					assert.False(t, res.Created)
					assert.Empty(t, res.Warnings)

					// The Writer's own CREATE TABLE (qualified) is accepted too,
					// on a table that exists and on one that does not.
					w := newWriter(t, s, table, schema)
					require.NoError(t, w.CreateTable(ctx))
					fresh := newWriter(t, s, table+"_w", schema)
					require.NoError(t, fresh.CreateTable(ctx))

					ms := w.Write(ctx, events)
					for i := range events {
						require.Equal(t, 200, ms.Results[i].Status, "event %d: %s", i, ms.Results[i].Body)
					}
					if schema == singlestore.SchemaDedupe {
						// Redelivered events: the no-op upsert, accepted.
						ms := w.Write(ctx, events)
						for i := range events {
							require.Equal(t, 200, ms.Results[i].Status, "event %d again: %s", i, ms.Results[i].Body)
						}
					}
					rows, err := s.client.QueryRows(ctx, "SELECT COUNT(*) AS n FROM "+singlestore.QuoteIdentifier(table))
					require.NoError(t, err)
					want := len(events)
					assert.JSONEq(t, fmt.Sprint(want), string(rows[0]["n"]))
				})
			}
		})
	}
}

func newWriter(t *testing.T, s *site, table string, schema singlestore.Schema) *singlestore.Writer {
	t.Helper()
	w, err := singlestore.NewWriter(singlestore.NewExecutor(s.client), singlestore.WriterConfig{
		Options: singlestore.Options{Schema: schema}, Database: s.db, Table: table,
	})
	require.NoError(t, err)
	return w
}

// TestDedupeUpsert sends the dedupe insert of earlier versions (its no-op
// upsert assigns messageId, the unique and shard key of a columnstore
// table) and today's (InsertSQL, which assigns a column in no key).
// SingleStore refuses the first (error 1706); the emulator must too.
func TestDedupeUpsert(t *testing.T) {
	ctx := context.Background()
	for _, b := range backends(t) {
		t.Run(b.name, func(t *testing.T) {
			s := newSite(t, b, emulator.Config{})
			const table = "fid_upsert"
			ddl, err := singlestore.CreateTableSQL(table, singlestore.SchemaDedupe)
			require.NoError(t, err)
			_, err = s.client.Exec(ctx, ddl)
			require.NoError(t, err)

			prefix, suffix, err := singlestore.InsertSQL(table, singlestore.SchemaDedupe)
			require.NoError(t, err)
			marks := "(" + strings.TrimSuffix(strings.Repeat("?, ", len(singlestore.Columns)), ", ") + ")"
			args := []any{"m-1", "2024-05-01 10:00:00.000000", "track", "E", nil, `{"a":1}`, "u", nil, nil, nil, `{}`}
			old := prefix + marks + " ON DUPLICATE KEY UPDATE `messageId` = `messageId`"
			_, err = s.client.Exec(ctx, old, args...)
			assert.Equal(t, 1706, errnoOf(err), "the old dedupe insert: %v", err)

			current := prefix + marks + suffix
			res, err := s.client.Exec(ctx, current, args...)
			require.NoError(t, err, current)
			assert.Equal(t, int64(1), res.RowsAffected)
			res, err = s.client.Exec(ctx, current, args...)
			require.NoError(t, err)
			assert.Equal(t, int64(0), res.RowsAffected, "a redelivered row is left as it is")

			// With the rule layer off, the engine alone accepts the old one.
			plain := newSite(t, b, emulator.Config{PlainMySQL: true})
			_, err = plain.client.Exec(ctx, ddl)
			require.NoError(t, err)
			_, err = plain.client.Exec(ctx, old, args...)
			assert.NoError(t, err, "plain MySQL mode")
		})
	}
}

// ruleCase is one statement of the rule table with its documented verdict.
type ruleCase struct {
	Rule     string          `json:"rule"`
	Name     string          `json:"name"`
	Doc      string          `json:"doc"`
	Setup    []string        `json:"setup"`
	SQL      string          `json:"sql"`
	Path     string          `json:"path"`
	Errno    int             `json:"errno"`
	Want     json.RawMessage `json:"want"`
	WantMDB  json.RawMessage `json:"wantMariaDB"`
	Generate map[string]int  `json:"generate"`
}

func loadRules(t *testing.T) []ruleCase {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", "dataapi", "emulator", "testdata", "singlestore-rules.json"))
	require.NoError(t, err)
	var table struct {
		Cases []ruleCase `json:"cases"`
	}
	require.NoError(t, json.Unmarshal(b, &table))
	require.NotEmpty(t, table.Cases)
	return table.Cases
}

// generated builds the CREATE TABLE a case's generate field asks for.
func generated(g map[string]int) string {
	if n, ok := g["columns"]; ok {
		return "CREATE TABLE {t} (" + columnList("c", n) + ")"
	}
	return "CREATE TABLE {t} (" + strings.Repeat("n", g["nameLength"]) + " INT)"
}

func columnList(prefix string, n int) string {
	cols := make([]string, n)
	for i := range cols {
		cols[i] = fmt.Sprintf("%s%d INT", prefix, i+1)
	}
	return strings.Join(cols, ", ")
}

// expand replaces {t}, {generate} and {add:N} in a case's statement.
func expand(s, table string, c ruleCase) string {
	if s == "{generate}" {
		s = generated(c.Generate)
	}
	if i := strings.Index(s, "{add:"); i >= 0 {
		j := strings.Index(s[i:], "}") + i
		var n int
		_, _ = fmt.Sscanf(s[i+5:j], "%d", &n)
		s = s[:i] + columnList("x", n) + s[j+1:]
	}
	return strings.ReplaceAll(s, "{t}", "`"+table+"`")
}

// TestRuleTable runs every case of the emulator's rule table: the setup is
// accepted, and the statement gets SingleStore's documented verdict.
func TestRuleTable(t *testing.T) {
	ctx := context.Background()
	cases := loadRules(t)
	rules := map[string][2]int{} // rule → refused, accepted cases
	for _, c := range cases {
		n := rules[c.Rule]
		if c.Errno == 0 {
			n[1]++
		} else {
			n[0]++
		}
		rules[c.Rule] = n
		require.NotEmpty(t, c.Doc, c.Name)
		require.True(t, strings.HasPrefix(c.Doc, "https://docs.singlestore.com/"), "%s: doc %s", c.Name, c.Doc)
	}
	for r, n := range rules {
		if r == "json-accessors" {
			continue // queries that work; their refusal is plain MySQL's syntax error (TestAccessorsNeedRules)
		}
		assert.Positive(t, n[0], "rule %s has no refused case", r)
		assert.Positive(t, n[1], "rule %s has no accepted twin", r)
	}
	for _, b := range backends(t) {
		t.Run(b.name, func(t *testing.T) {
			s := newSite(t, b, emulator.Config{})
			for i, c := range cases {
				table := fmt.Sprintf("rule_%d", i)
				for _, st := range c.Setup {
					_, err := s.client.Exec(ctx, expand(st, table, c))
					require.NoError(t, err, "%s: setup %s", c.Name, st)
				}
				stmt := c.SQL
				if stmt == "" {
					stmt = "{generate}"
				}
				stmt = expand(stmt, table, c)
				var err error
				var rows []map[string]json.RawMessage
				if c.Path == "/api/v2/query/rows" {
					rows, err = s.client.QueryRows(ctx, stmt)
				} else {
					_, err = s.client.Exec(ctx, stmt)
				}
				if !assert.Equal(t, c.Errno, errnoOf(err), "%s [%s]: %v", c.Name, c.Rule, err) {
					continue
				}
				if c.Errno != 0 {
					var ae *dataapi.APIError
					require.ErrorAs(t, err, &ae)
					assert.Equal(t, 400, ae.StatusCode, c.Name)
				}
				want := c.Want
				if b.dsn != "" && c.WantMDB != nil {
					want = c.WantMDB // MariaDB answers JSON values as text
				}
				if want != nil {
					got, err := json.Marshal(rows)
					require.NoError(t, err)
					assert.JSONEq(t, string(want), string(got), c.Name)
				}
			}
		})
	}
}

// TestAccessorsNeedRules shows that the JSON accessors are the rule
// layer's doing: with it off, the engine refuses them as a syntax error.
func TestAccessorsNeedRules(t *testing.T) {
	ctx := context.Background()
	for _, b := range backends(t) {
		t.Run(b.name, func(t *testing.T) {
			s := newSite(t, b, emulator.Config{PlainMySQL: true})
			_, err := s.client.Exec(ctx, "CREATE TABLE t (p JSON)")
			require.NoError(t, err)
			_, err = s.client.QueryRows(ctx, "SELECT p::$a FROM t")
			// MariaDB's syntax error is 1064; go-mysql-server answers 1105.
			assert.Contains(t, []int{1064, 1105}, errnoOf(err), "%v", err)
		})
	}
}

// TestExactJSON writes a big integer and emoji through the Writer and
// reads them back exactly as sent, on both backends.
func TestExactJSON(t *testing.T) {
	ctx := context.Background()
	for _, b := range backends(t) {
		t.Run(b.name, func(t *testing.T) {
			s := newSite(t, b, emulator.Config{})
			w := newWriter(t, s, "fid_exact", singlestore.SchemaDedupe)
			require.NoError(t, w.CreateTable(ctx))
			ms := w.Write(ctx, events[:1])
			require.Equal(t, 200, ms.Results[0].Status, "%s", ms.Results[0].Body)
			rows, err := s.client.QueryRows(ctx, "SELECT properties, properties::$note AS note FROM fid_exact")
			require.NoError(t, err)
			require.Len(t, rows, 1)
			props := string(rows[0]["properties"])
			if b.dsn != "" {
				// MariaDB answers JSON columns as text.
				var text string
				require.NoError(t, json.Unmarshal(rows[0]["properties"], &text))
				props = text
			}
			assert.Contains(t, props, `"total":123456789012345678901234567890`)
			assert.Contains(t, props, `"note":"😀 raw"`)
			assert.JSONEq(t, `"😀 raw"`, string(rows[0]["note"]))
		})
	}
}
