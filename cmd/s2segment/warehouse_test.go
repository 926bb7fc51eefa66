package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/s2segment/s2segment/dataapi/emulator"
	"github.com/s2segment/s2segment/destination/singlestore"
	"github.com/s2segment/s2segment/destination/singlestore/warehouse"
	"github.com/s2segment/s2segment/fixtures"
)

var updateGolden = flag.Bool("update", false, "rewrite the golden files under testdata/warehouse")

// describeWarehouse lists every table of the target's database with its
// row count and its columns, sorted by name (the order they were added in
// depends on which chunk of a concurrent replay came first), with their
// information_schema DATA_TYPE.
func describeWarehouse(t *testing.T, tt *testTarget) string {
	t.Helper()
	ctx := context.Background()
	tables, err := warehouseTables(ctx, tt.client, tt.database)
	require.NoError(t, err)
	var b strings.Builder
	for _, tc := range tables {
		fmt.Fprintf(&b, "%s (%d rows)\n", tc.Table, tc.Rows)
		rows, err := tt.client.QueryTuples(ctx, "SELECT COLUMN_NAME, DATA_TYPE FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ?", tt.database, tc.Table)
		require.NoError(t, err)
		var cols []string
		for _, r := range rows.Rows {
			cols = append(cols, fmt.Sprintf("  %s %s\n", valueText(r[0]), strings.ToLower(valueText(r[1]))))
		}
		sort.Strings(cols)
		b.WriteString(strings.Join(cols, ""))
	}
	return b.String()
}

// valueText renders one value of a result: a string as itself, NULL, or the
// JSON text of anything else.
func valueText(v json.RawMessage) string {
	if string(v) == "null" {
		return "NULL"
	}
	var s string
	if json.Unmarshal(v, &s) == nil {
		return s
	}
	return string(v)
}

// docQuery is one query of docs/warehouse.md and the answer it documents.
type docQuery struct {
	sql, want string
}

var docQueryRE = regexp.MustCompile("(?s)<!-- warehouse-query -->\\s*```sql\\n(.*?)```\\s*```text\\n(.*?)```")

func readDocQueries(t *testing.T) []docQuery {
	t.Helper()
	doc, err := os.ReadFile(filepath.Join("..", "..", "docs", "warehouse.md"))
	require.NoError(t, err)
	var out []docQuery
	for _, m := range docQueryRE.FindAllStringSubmatch(string(doc), -1) {
		out = append(out, docQuery{sql: strings.TrimSpace(m[1]), want: m[2]})
	}
	require.GreaterOrEqual(t, len(out), 3, "docs/warehouse.md has its queries")
	return out
}

// TestWarehouseReplayFixtures replays the bundled fixtures with --action
// warehouse into the emulator on each backend, compares the tables, their
// columns and row counts with the golden file, runs the queries of
// docs/warehouse.md and checks their documented answers, then replays
// again and checks that no row was added.
func TestWarehouseReplayFixtures(t *testing.T) {
	want, err := fixtures.Expect(fixtures.DefaultDir)
	require.NoError(t, err)
	golden := filepath.Join("testdata", "warehouse", "fixtures-schema.golden")
	queries := readDocQueries(t)
	for name, dsn := range backends() {
		t.Run(name, func(t *testing.T) {
			tt := newTestTarget(t, dsn)
			code, out, errOut := runCLI(t, "", tt.args("--action", "warehouse", "--batch-size", "7", "--concurrency", "3")...)
			require.Equal(t, exitOK, code, errOut)
			s := parseSummary(t, errOut)
			assert.Equal(t, sumRows(want.Rows), s.counts["written"])
			assert.Contains(t, out, "tables")

			got := describeWarehouse(t, tt)
			if *updateGolden && !tt.mariadb {
				require.NoError(t, os.MkdirAll(filepath.Dir(golden), 0o755))
				require.NoError(t, os.WriteFile(golden, []byte(got), 0o644))
			}
			wantSchema, err := os.ReadFile(golden)
			require.NoError(t, err)
			expected := string(wantSchema)
			if tt.mariadb {
				// MariaDB's JSON is LONGTEXT with a check, and information_schema
				// says so.
				expected = strings.ReplaceAll(expected, " json\n", " longtext\n")
			}
			assert.Equal(t, expected, got)

			for i, q := range queries {
				t.Run(fmt.Sprintf("query %d", i+1), func(t *testing.T) {
					res, err := tt.client.QueryTuples(context.Background(), q.sql)
					require.NoError(t, err, q.sql)
					var b strings.Builder
					for j, c := range res.Columns {
						if j > 0 {
							b.WriteByte('\t')
						}
						b.WriteString(c.Name)
					}
					b.WriteByte('\n')
					for _, r := range res.Rows {
						for j, v := range r {
							if j > 0 {
								b.WriteByte('\t')
							}
							b.WriteString(valueText(v))
						}
						b.WriteByte('\n')
					}
					assert.Equal(t, q.want, b.String(), q.sql)
				})
			}

			code, _, errOut = runCLI(t, "", tt.args("--action", "warehouse", "--quiet")...)
			require.Equal(t, exitOK, code, errOut)
			assert.Equal(t, got, describeWarehouse(t, tt), "a second replay adds no rows and no columns")
		})
	}
}

func TestWarehouseReplayRefusesSendOnlyFlags(t *testing.T) {
	for _, args := range [][]string{
		{"replay", "--action", "warehouse", "--dry-run"},
		{"replay", "--action", "warehouse", "--mapping", "{}"},
		{"replay", "--action", "nope"},
		{"replay", "--action", "warehouse", "--max-columns", "5000"},
	} {
		code, _, errOut := runCLI(t, "", args...)
		assert.Equal(t, exitUsage, code, "%v: %s", args, errOut)
	}
}

// TestServeWarehouseSource serves two sources from one config file, one
// with "action": "warehouse", and checks that its events land in the
// warehouse tables while the other source still writes segment_data.
func TestServeWarehouseSource(t *testing.T) {
	d := startServeDB(t, serveBackend{name: "embedded"}, emulator.Faults{})
	cfg := fmt.Sprintf(`{"sources":[
	  {"name":"app","writeKey":"app-key","action":"warehouse",
	   "settings":{"host":%q,"port":%q,"username":"root","password":%q,"dbName":%q}},
	  {"name":"web","writeKey":"web-key","settings":{"host":%q,"port":%q,"username":"root","password":%q,"dbName":%q}}
	]}`, d.host, d.port, serveTestPassword, d.database, d.host, d.port, serveTestPassword, d.database)
	path := filepath.Join(t.TempDir(), "serve.json")
	require.NoError(t, os.WriteFile(path, []byte(cfg), 0o600))
	r := serveStart(t, "--config", path, "--scheme", "http")
	assert.Contains(t, r.stdout.String(), "source app: Tracking API /v1/* -> `"+d.database+"` at")
	assert.Contains(t, r.stdout.String(), "warehouse schema")

	batch := `{"batch":[` + serveEvent("track", "app-1") + `,` + serveEvent("identify", "app-2") + `,` + serveEvent("group", "app-3") + `]}`
	status, body := servePost(t, http.DefaultClient, r.url+"/v1/batch", batch, basicAuth("app-key"))
	require.Equal(t, 200, status, body)
	status, body = servePost(t, http.DefaultClient, r.url+"/v1/track", serveEvent("track", "web-1"), basicAuth("web-key"))
	require.Equal(t, 200, status, body)

	c := dbClient(t, d.url, d.database)
	for table, want := range map[string]string{"tracks": "1", "order_completed": "1", "identifies": "1", "users": "1", "groups": "1", "accounts": "1"} {
		rows, err := c.QueryRows(context.Background(), "SELECT COUNT(*) AS n FROM "+singlestore.QuoteIdentifier(table))
		require.NoError(t, err, table)
		assert.Equal(t, want, string(rows[0]["n"]), table)
	}
	rows, err := c.QueryRows(context.Background(), "SELECT `total`, `context_ip` FROM `order_completed`")
	require.NoError(t, err)
	assert.JSONEq(t, `99.5`, string(rows[0]["total"]))
	assert.JSONEq(t, `"203.0.113.7"`, string(rows[0]["context_ip"]))
	assert.Equal(t, map[string]int{"web-1": 1}, rowCounts(t, d.url, d.database, "segment_data"))
	require.Equal(t, exitOK, r.wait(t))
}

func TestServeConfigAction(t *testing.T) {
	env := serveEnvOf(nil)
	srcs, err := parseServeConfig([]byte(`{"sources":[{"writeKey":"k","settings":{},"action":"warehouse"},{"writeKey":"k2","settings":{}}]}`), env)
	require.NoError(t, err)
	assert.Equal(t, singlestore.WarehouseActionKey, srcs[0].action)
	assert.Equal(t, singlestore.SendActionKey, srcs[1].action)
	for _, tc := range []struct{ json, want string }{
		{`{"sources":[{"writeKey":"k","settings":{},"action":"wide"}]}`, `"action": want`},
		{`{"sources":[{"writeKey":"k","settings":{},"action":"warehouse","mapping":{}}]}`, `go with the Send Data action`},
		{`{"sources":[{"writeKey":"k","settings":{},"action":"warehouse","schema":"reference"}]}`, `go with the Send Data action`},
	} {
		_, err := parseServeConfig([]byte(tc.json), env)
		require.Error(t, err, tc.json)
		assert.Contains(t, err.Error(), tc.want)
	}
}

// TestWarehousePlan plans the bundled fixtures against an empty schema
// (text and --json), then replays them into an emulator and plans again
// against it: nothing is left to create, and nothing was written by plan.
func TestWarehousePlan(t *testing.T) {
	code, out, errOut := runCLI(t, "", "warehouse", "plan")
	require.Equal(t, exitOK, code, errOut)
	assert.Contains(t, out, "against an empty schema (nothing written)")
	assert.Contains(t, out, "create project_created")
	assert.Contains(t, out, "r_n_g_r_nt_lendi.名前")

	code, out, errOut = runCLI(t, "", "warehouse", "plan", "--json")
	require.Equal(t, exitOK, code, errOut)
	var p plan
	require.NoError(t, json.Unmarshal([]byte(out), &p))
	want, err := fixtures.Expect(fixtures.DefaultDir)
	require.NoError(t, err)
	assert.Equal(t, sumRows(want.Rows), p.Events)
	byName := map[string]planTable{}
	for _, tb := range p.Tables {
		byName[tb.Table] = tb
	}
	pc := byName["project_created"]
	assert.True(t, pc.Create)
	assert.Equal(t, int64(6), pc.Rows)
	assert.Contains(t, pc.Columns, planColumn{Name: "member_count", Type: "BIGINT"})
	assert.Contains(t, pc.Columns, planColumn{Name: "public", Type: "BOOL"})
	assert.Contains(t, pc.Columns, planColumn{Name: "id", Type: "VARCHAR(255) NOT NULL"})
	assert.Equal(t, []planConflict{{Conflict: warehouse.Conflict{Table: "r_n_g_r_nt_lendi", Column: "名前", Reason: warehouse.ReasonNoName}, Count: 1}}, p.Conflicts)

	tt := newTestTarget(t, "")
	hostArgs := []string{"--host", tt.host, "--port", tt.port, "--scheme", "http", "--user", "root", "--password", "x", "--database", tt.database}
	code, out, errOut = runCLI(t, "", append([]string{"warehouse", "plan", "--json"}, hostArgs...)...)
	require.Equal(t, exitOK, code, errOut)
	require.NoError(t, json.Unmarshal([]byte(out), &p))
	assert.Equal(t, "the tables of "+tt.database, p.Against)
	tables, err := warehouseTables(context.Background(), tt.client, tt.database)
	require.NoError(t, err)
	assert.Empty(t, tables, "plan writes nothing")

	code, _, errOut = runCLI(t, "", tt.args("--action", "warehouse", "--quiet")...)
	require.Equal(t, exitOK, code, errOut)
	code, out, errOut = runCLI(t, "", append([]string{"warehouse", "plan", "--json"}, hostArgs...)...)
	require.Equal(t, exitOK, code, errOut)
	var again plan
	require.NoError(t, json.Unmarshal([]byte(out), &again))
	for _, tb := range again.Tables {
		assert.False(t, tb.Create, tb.Table)
		assert.Empty(t, tb.Columns, "%s: every column exists after the replay", tb.Table)
	}

	// A type conflict against the live schema: member_count is BIGINT.
	ev := `{"type":"track","event":"Project Created","messageId":"x-1","timestamp":"2025-07-07T10:00:00Z","properties":{"memberCount":2.5,"newProp":"n"}}`
	code, out, errOut = runCLI(t, ev, append([]string{"warehouse", "plan"}, append(hostArgs, "-")...)...)
	require.Equal(t, exitOK, code, errOut)
	assert.Contains(t, out, "add to project_created")
	assert.Contains(t, out, "new_prop")
	assert.Contains(t, out, "project_created.member_count  type conflict")

	code, _, _ = runCLI(t, `{"type":"track"}`, "warehouse", "plan", "-")
	assert.Equal(t, exitFailed, code, "an invalid event")
}
