package emulator

import (
	"bytes"
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"

	"github.com/go-sql-driver/mysql"
	"github.com/stretchr/testify/require"
)

// mariaDBEnv names the DSN of a MariaDB server for the second backend, in
// go-sql-driver form: user:pass@tcp(127.0.0.1:33306)/
const mariaDBEnv = "S2_TEST_MARIADB_DSN"

// testBackend is one engine the protocol suite runs against.
type testBackend struct {
	name string
	// config returns a Config whose engine has database db, created for
	// the test and dropped after it.
	config func(tb testing.TB, db string) Config
}

// backends returns the embedded engine, and MariaDB when S2_TEST_MARIADB_DSN
// is set.
func backends(tb testing.TB) []testBackend {
	tb.Helper()
	out := []testBackend{{
		name:   "embedded",
		config: func(_ testing.TB, db string) Config { return Config{Databases: []string{db}} },
	}}
	dsn := os.Getenv(mariaDBEnv)
	if dsn == "" {
		tb.Logf("%s not set: MariaDB backend skipped", mariaDBEnv)
		return out
	}
	if testing.Short() {
		tb.Logf("-short: MariaDB backend skipped")
		return out
	}
	out = append(out, testBackend{
		name: "mariadb",
		config: func(tb testing.TB, db string) Config {
			tb.Helper()
			dropDatabaseAfter(tb, dsn, db)
			return Config{DSN: dsn, Databases: []string{db}}
		},
	})
	return out
}

// dropDatabaseAfter drops db on the DSN server when the test ends.
func dropDatabaseAfter(t testing.TB, dsn, db string) {
	t.Helper()
	cfg, err := mysql.ParseDSN(dsn)
	require.NoError(t, err, "parsing %s", mariaDBEnv)
	cfg.DBName = ""
	connector, err := mysql.NewConnector(cfg)
	require.NoError(t, err)
	t.Cleanup(func() {
		conn := sql.OpenDB(connector)
		defer conn.Close()
		_, err := conn.ExecContext(context.Background(), "DROP DATABASE IF EXISTS "+quoteIdent(db))
		if err != nil {
			t.Errorf("dropping test database %s: %v", db, err)
		}
	})
}

// uniqueName returns a database name no other test run uses.
func uniqueName(prefix string) string {
	var b [6]byte
	_, _ = rand.Read(b[:])
	return prefix + "_" + hex.EncodeToString(b[:])
}

// harness is a Server behind a real HTTP server.
type harness struct {
	t    testing.TB
	srv  *Server
	http *httptest.Server
	db   string
}

// newHarness starts a Server for cfg behind an httptest server; setup
// functions run before the first request.
func newHarness(t testing.TB, cfg Config, setup ...func(*Server)) *harness {
	t.Helper()
	srv, err := New(cfg)
	require.NoError(t, err)
	for _, f := range setup {
		f(srv)
	}
	ts := httptest.NewServer(srv)
	t.Cleanup(func() {
		ts.Close()
		require.NoError(t, srv.Close())
	})
	h := &harness{t: t, srv: srv, http: ts}
	if len(cfg.Databases) > 0 {
		h.db = cfg.Databases[0]
	}
	return h
}

// response is an HTTP answer, read completely.
type response struct {
	status int
	header http.Header
	body   string
}

// do sends a request with Basic credentials root:"" and JSON content type
// unless the header says otherwise.
func (h *harness) do(method, path, body string, header http.Header) response {
	h.t.Helper()
	req, err := http.NewRequest(method, h.http.URL+path, strings.NewReader(body))
	require.NoError(h.t, err)
	req.SetBasicAuth("root", "")
	req.Header.Set("Content-Type", "application/json")
	for k, v := range header {
		if len(v) == 1 && v[0] == "" {
			req.Header.Del(k)
			continue
		}
		req.Header[k] = v
	}
	resp, err := h.http.Client().Do(req)
	require.NoError(h.t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(h.t, err)
	return response{status: resp.StatusCode, header: resp.Header, body: string(b)}
}

// body encodes a request body for the harness database.
func (h *harness) body(sql string, args ...any) string {
	h.t.Helper()
	m := map[string]any{"sql": sql, "database": h.db}
	if args != nil {
		m["args"] = args
	}
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	require.NoError(h.t, enc.Encode(m))
	return b.String()
}

// exec runs sql through /api/v2/exec and requires success.
func (h *harness) exec(sql string, args ...any) string {
	h.t.Helper()
	r := h.do(http.MethodPost, "/api/v2/exec", h.body(sql, args...), nil)
	require.Equal(h.t, http.StatusOK, r.status, "exec %q: %s", sql, r.body)
	return r.body
}

// rows runs sql through /api/v2/query/rows, requires success and returns
// the first result's rows, numbers kept as json.Number.
func (h *harness) rows(sql string, args ...any) []map[string]any {
	h.t.Helper()
	r := h.do(http.MethodPost, "/api/v2/query/rows", h.body(sql, args...), nil)
	require.Equal(h.t, http.StatusOK, r.status, "query %q: %s", sql, r.body)
	var out struct {
		Results []struct {
			Rows []map[string]any `json:"rows"`
		} `json:"results"`
	}
	dec := json.NewDecoder(strings.NewReader(r.body))
	dec.UseNumber()
	require.NoError(h.t, dec.Decode(&out), r.body)
	require.Len(h.t, out.Results, 1, r.body)
	return out.Results[0].Rows
}
