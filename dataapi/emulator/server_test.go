package emulator

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/go-sql-driver/mysql"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const tooLargeText = "Error reading request body: http: request body too large"

// paddedBody returns a valid request body of exactly n bytes.
func paddedBody(t *testing.T, n int) string {
	t.Helper()
	const head, tail = `{"sql":"SELECT 1 /* `, ` */"}`
	require.GreaterOrEqual(t, n, len(head)+len(tail))
	return head + strings.Repeat("x", n-len(head)-len(tail)) + tail
}

func TestBodyLimit(t *testing.T) {
	h := newHarness(t, Config{})
	for _, tc := range []struct {
		name   string
		size   int
		status int
	}{
		{"at the limit", DefaultMaxBodyBytes, http.StatusOK},
		{"one byte over", DefaultMaxBodyBytes + 1, http.StatusRequestEntityTooLarge},
		{"far over", 3 * DefaultMaxBodyBytes, http.StatusRequestEntityTooLarge},
	} {
		t.Run(tc.name, func(t *testing.T) {
			body := paddedBody(t, tc.size)
			require.Len(t, body, tc.size)
			r := h.do(http.MethodPost, "/api/v2/exec", body, nil)
			assert.Equal(t, tc.status, r.status, r.body)
			if tc.status != http.StatusOK {
				assert.Equal(t, tooLargeText, r.body)
			}
		})
	}

	t.Run("chunked body over the limit", func(t *testing.T) {
		req, err := http.NewRequest(http.MethodPost, h.http.URL+"/api/v2/exec", bufio.NewReader(strings.NewReader(paddedBody(t, DefaultMaxBodyBytes+10))))
		require.NoError(t, err)
		req.SetBasicAuth("u", "p")
		req.Header.Set("Content-Type", "application/json")
		req.ContentLength = -1 // unknown length: the limit is found while reading
		resp, err := h.http.Client().Do(req)
		require.NoError(t, err)
		defer resp.Body.Close()
		var b bytes.Buffer
		_, _ = b.ReadFrom(resp.Body)
		assert.Equal(t, http.StatusRequestEntityTooLarge, resp.StatusCode)
		assert.Equal(t, tooLargeText, b.String())
	})

	t.Run("configured limit and status", func(t *testing.T) {
		h := newHarness(t, Config{MaxBodyBytes: 100, TooLargeStatus: http.StatusBadRequest})
		assert.Equal(t, http.StatusOK, h.do(http.MethodPost, "/api/v2/exec", paddedBody(t, 100), nil).status)
		r := h.do(http.MethodPost, "/api/v2/exec", paddedBody(t, 101), nil)
		assert.Equal(t, http.StatusBadRequest, r.status)
		assert.Equal(t, tooLargeText, r.body)
	})
}

func TestAuthWithConfiguredUser(t *testing.T) {
	h := newHarness(t, Config{User: "alice", Password: "s3cret"})
	for _, tc := range []struct {
		user, pass string
		status     int
	}{
		{"alice", "s3cret", http.StatusOK},
		{"alice", "wrong", http.StatusUnauthorized},
		{"bob", "s3cret", http.StatusUnauthorized},
		{"alice", "", http.StatusUnauthorized},
		{"", "", http.StatusUnauthorized},
	} {
		req, err := http.NewRequest(http.MethodPost, h.http.URL+"/api/v2/query/rows", strings.NewReader(`{"sql":"SELECT 1"}`))
		require.NoError(t, err)
		req.SetBasicAuth(tc.user, tc.pass)
		req.Header.Set("Content-Type", "application/json")
		resp, err := h.http.Client().Do(req)
		require.NoError(t, err)
		var b bytes.Buffer
		_, _ = b.ReadFrom(resp.Body)
		resp.Body.Close()
		assert.Equal(t, tc.status, resp.StatusCode, "%s:%s", tc.user, tc.pass)
		if tc.status == http.StatusUnauthorized {
			assert.NotEmpty(t, resp.Header.Get("WWW-Authenticate"))
			assert.NotContains(t, b.String(), "s3cret", "the password never appears in answers")
		}
	}
}

func TestConfigErrors(t *testing.T) {
	for _, tc := range []struct {
		field string
		cfg   Config
	}{
		{"MaxBodyBytes", Config{MaxBodyBytes: -1}},
		{"TooLargeStatus", Config{TooLargeStatus: 500}},
		{"MaxConns", Config{MaxConns: -2}},
		{"Password", Config{Password: "p"}},
		{"Databases", Config{Databases: []string{""}}},
		{"Faults.FailRate", Config{Faults: Faults{FailRate: 1.5}}},
		{"Faults.FailRate", Config{Faults: Faults{FailRate: 0.6, ResetRate: 0.6}}},
		{"Faults.ResetRate", Config{Faults: Faults{ResetRate: -0.1}}},
		{"Faults.FailStatus", Config{Faults: Faults{FailStatus: 200}}},
		{"Faults.RetryAfter", Config{Faults: Faults{RetryAfter: -1}}},
		{"Faults.Latency", Config{Faults: Faults{Latency: -1}}},
		{"Faults.LatencyMax", Config{Faults: Faults{Latency: 10, LatencyMax: 5}}},
	} {
		_, err := New(tc.cfg)
		var ce *ConfigError
		if assert.True(t, errors.As(err, &ce), "%s: %v", tc.field, err) {
			assert.Equal(t, tc.field, ce.Field)
			assert.Contains(t, err.Error(), tc.field)
		}
	}
}

func TestBadDSN(t *testing.T) {
	_, err := New(Config{DSN: "not a dsn"})
	var ce *ConfigError
	require.True(t, errors.As(err, &ce), "%v", err)
	assert.Equal(t, "DSN", ce.Field)

	// Nothing listens on port 1: the connection error comes back, without
	// the password.
	_, err = New(Config{DSN: "u:hunter2@tcp(127.0.0.1:1)/?timeout=2s"})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "127.0.0.1:1")
	assert.NotContains(t, err.Error(), "hunter2")
}

func TestServersAreIndependent(t *testing.T) {
	a := newHarness(t, Config{})
	b := newHarness(t, Config{})
	a.db, b.db = DefaultDatabase, DefaultDatabase
	a.exec("CREATE TABLE t (v INT)")
	a.exec("INSERT INTO t VALUES (?)", 1)
	b.exec("CREATE TABLE t (v INT)")
	assert.Equal(t, []map[string]any{{"n": json.Number("1")}}, a.rows("SELECT COUNT(*) AS n FROM t"))
	assert.Equal(t, []map[string]any{{"n": json.Number("0")}}, b.rows("SELECT COUNT(*) AS n FROM t"))
	assert.Equal(t, DialectEmbedded, a.srv.Dialect())
	assert.Contains(t, a.srv.Engine(), "embedded")

	// Both at once (meant for -race): no state is shared between engines.
	var wg sync.WaitGroup
	for _, h := range []*harness{a, b} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 20 {
				if status, body := h.doMaybe(http.MethodPost, "/api/v2/exec", h.body("INSERT INTO t VALUES (?)", i)); status != http.StatusOK {
					t.Errorf("insert: %d %s", status, body)
					return
				}
			}
		}()
	}
	wg.Wait()
	assert.Equal(t, []map[string]any{{"n": json.Number("21")}}, a.rows("SELECT COUNT(*) AS n FROM t"))
	assert.Equal(t, []map[string]any{{"n": json.Number("20")}}, b.rows("SELECT COUNT(*) AS n FROM t"))
}

func TestCloseIsIdempotentAndFinal(t *testing.T) {
	h := newHarness(t, Config{})
	require.NoError(t, h.srv.Close())
	require.NoError(t, h.srv.Close())
	r := h.do(http.MethodPost, "/api/v2/query/rows", `{"sql":"SELECT 1"}`, nil)
	assert.Equal(t, http.StatusInternalServerError, r.status)
	assert.Regexp(t, sqlErrorRe, r.body)
	assert.Equal(t, "pong", h.do(http.MethodGet, "/ping", "", nil).body, "ping needs no engine")
}

func TestStats(t *testing.T) {
	h := newHarness(t, Config{})
	h.do(http.MethodGet, "/ping", "", nil)
	h.do(http.MethodPost, "/api/v2/query/rows", `{"sql":"SELECT 1"}`, nil)
	h.do(http.MethodPost, "/api/v2/query/rows", `{"sql":"SELEC 1"}`, nil)
	h.do(http.MethodPost, "/nope", ``, nil)
	assert.Equal(t, Stats{Requests: 4, Statements: 1, Failures: 2}, h.srv.Stats())
}

// TestConcurrentRequests runs writers and readers in parallel (meant for
// -race) and checks that every row landed once.
func TestConcurrentRequests(t *testing.T) {
	for _, b := range backends(t) {
		t.Run(b.name, func(t *testing.T) {
			h := newHarness(t, b.config(t, uniqueName("s2conc")))
			h.exec("CREATE TABLE c (id INT PRIMARY KEY, w INT)")
			const workers, each = 8, 25
			var wg sync.WaitGroup
			for w := range workers {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for i := range each {
						body := h.body("INSERT INTO c VALUES (?, ?)", w*each+i, w)
						if status, body := h.doMaybe(http.MethodPost, "/api/v2/exec", body); status != http.StatusOK {
							t.Errorf("insert: %d %s", status, body)
							return
						}
						if status, body := h.doMaybe(http.MethodPost, "/api/v2/query/tuples", h.body("SELECT COUNT(*) FROM c WHERE w = ?", w)); status != http.StatusOK {
							t.Errorf("count: %d %s", status, body)
							return
						}
					}
				}()
			}
			wg.Wait()
			assert.Equal(t, []map[string]any{{"n": json.Number(fmt.Sprint(workers * each)), "d": json.Number(fmt.Sprint(workers * each))}},
				h.rows("SELECT COUNT(*) AS n, COUNT(DISTINCT id) AS d FROM c"))
		})
	}
}

// largeInsert builds one INSERT of n rows × 11 args into segment_data, the
// shape and size the destination sends.
func largeInsert(n int) (string, []any) {
	var b strings.Builder
	b.WriteString("INSERT INTO segment_data (messageId, timestamp, type, event, name, properties, userId, anonymousId, groupId, traits, context) VALUES ")
	args := make([]any, 0, n*11)
	for i := range n {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString("(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)")
		args = append(args, fmt.Sprintf("msg-%06d", i), "2025-07-07 10:19:25.665000", "track", "Order Completed", nil,
			map[string]any{"order_id": fmt.Sprintf("o-%d", i), "total": 27.5, "n": i}, fmt.Sprintf("user-%d", i%97), nil, nil, nil,
			map[string]any{"ip": "8.8.8.8", "library": map[string]any{"name": "analytics.js", "version": "2.11.1"}})
	}
	return b.String(), args
}

func TestLargeInsert(t *testing.T) {
	ddl, err := os.ReadFile(filepath.Join("testdata", "ddl", "reference.sql"))
	require.NoError(t, err)
	for _, b := range backends(t) {
		t.Run(b.name, func(t *testing.T) {
			h := newHarness(t, b.config(t, uniqueName("s2large")))
			h.exec(string(ddl))
			sql, args := largeInsert(1000)
			body := h.body(sql, args...)
			require.Less(t, len(body), DefaultMaxBodyBytes, "the request fits the limit")
			assert.JSONEq(t, `{"lastInsertId":0,"rowsAffected":1000}`, h.exec(sql, args...))
			rows := h.rows("SELECT COUNT(*) AS n, MIN(messageId) AS lo, MAX(messageId) AS hi FROM segment_data")
			assert.Equal(t, []map[string]any{{"n": json.Number("1000"), "lo": "msg-000000", "hi": "msg-000999"}}, rows)
			one := h.rows("SELECT userId, properties FROM segment_data WHERE messageId = ?", "msg-000500")
			require.Len(t, one, 1)
			assert.Equal(t, "user-15", one[0]["userId"])
		})
	}
}

// TestSendDataRows writes the rows the Send Data action produces for the
// conformance events (testdata/send-data-rows.ndjson) into the reference
// table and reads them back.
func TestSendDataRows(t *testing.T) {
	data, err := os.ReadFile(filepath.Join("testdata", "send-data-rows.ndjson"))
	require.NoError(t, err)
	type tc struct {
		Name string            `json:"name"`
		Row  []json.RawMessage `json:"row"`
	}
	var cases []tc
	for _, line := range bytes.Split(bytes.TrimSpace(data), []byte("\n")) {
		var c tc
		require.NoError(t, json.Unmarshal(line, &c))
		require.Len(t, c.Row, 11, c.Name)
		cases = append(cases, c)
	}
	ddl, err := os.ReadFile(filepath.Join("testdata", "ddl", "reference.sql"))
	require.NoError(t, err)
	cols := []string{"messageId", "timestamp", "type", "event", "name", "properties", "userId", "anonymousId", "groupId", "traits", "context"}

	for _, b := range backends(t) {
		t.Run(b.name, func(t *testing.T) {
			h := newHarness(t, b.config(t, uniqueName("s2send")))
			h.exec(string(ddl))
			// One request for all rows, built as the batch packer does:
			// the raw JSON of each value, no re-encoding.
			var body bytes.Buffer
			body.WriteString(`{"sql":"INSERT INTO segment_data (` + strings.Join(cols, ", ") + `) VALUES `)
			for i := range cases {
				if i > 0 {
					body.WriteString(", ")
				}
				body.WriteString("(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)")
			}
			body.WriteString(`","database":"` + h.db + `","args":[`)
			for i, c := range cases {
				for j, v := range c.Row {
					if i+j > 0 {
						body.WriteByte(',')
					}
					body.Write(v)
				}
			}
			body.WriteString("]}")
			r := h.do(http.MethodPost, "/api/v2/exec", body.String(), nil)
			require.Equal(t, http.StatusOK, r.status, r.body)
			assert.JSONEq(t, fmt.Sprintf(`{"lastInsertId":0,"rowsAffected":%d}`, len(cases)), r.body)

			r = h.do(http.MethodPost, "/api/v2/query/tuples", h.body("SELECT "+strings.Join(cols, ", ")+" FROM segment_data"), nil)
			require.Equal(t, http.StatusOK, r.status, r.body)
			var out struct {
				Results []struct {
					Rows [][]json.RawMessage `json:"rows"`
				} `json:"results"`
			}
			require.NoError(t, json.Unmarshal([]byte(r.body), &out))
			byID := map[string][]json.RawMessage{}
			for _, row := range out.Results[0].Rows {
				var id string
				require.NoError(t, json.Unmarshal(row[0], &id))
				byID[id] = row
			}
			require.Len(t, byID, len(cases))
			jsonCol := map[int]bool{5: true, 9: true, 10: true}
			for _, c := range cases {
				var id string
				require.NoError(t, json.Unmarshal(c.Row[0], &id))
				got := byID[id]
				for j := range cols {
					want, have := c.Row[j], got[j]
					switch {
					case !jsonCol[j] || string(want) == "null":
						assert.JSONEq(t, string(want), string(have), "%s: %s", c.Name, cols[j])
					case h.srv.Dialect() == DialectMariaDB:
						// JSON is text on MariaDB, kept exactly as sent.
						var text string
						require.NoError(t, json.Unmarshal(have, &text), "%s: %s", c.Name, cols[j])
						var compact bytes.Buffer
						require.NoError(t, json.Compact(&compact, want))
						assert.Equal(t, compact.String(), text, "%s: %s", c.Name, cols[j])
					default:
						// The embedded engine holds JSON numbers as float64.
						var w, g any
						require.NoError(t, json.Unmarshal(want, &w))
						require.NoError(t, json.Unmarshal(have, &g), "%s: %s is embedded JSON", c.Name, cols[j])
						assert.Equal(t, w, g, "%s: %s", c.Name, cols[j])
					}
				}
			}
		})
	}
}

func TestToSQLError(t *testing.T) {
	me := func(n uint16, state string) error {
		e := &mysql.MySQLError{Number: n, Message: "m"}
		copy(e.SQLState[:], state)
		return fmt.Errorf("running: %w", e)
	}
	for _, tc := range []struct {
		err    error
		status int
		body   string
	}{
		{me(1146, "42S02"), 400, "Error 1146 (42S02): m"},
		{me(1146, "HY000"), 400, "Error 1146 (42S02): m"},
		{me(1062, "\x00\x00\x00\x00\x00"), 400, "Error 1062 (23000): m"},
		{me(1105, "HY000"), 400, "Error 1105 (HY000): m"},
		{me(4242, ""), 400, "Error 4242 (HY000): m"},
		{me(1142, "42000"), 403, "Error 1142 (42000): m"},
		{me(1044, "42000"), 403, "Error 1044 (42000): m"},
		{me(1213, "40001"), 500, "Error 1213 (40001): m"},
		{me(1045, "28000"), 500, "Error 1045 (28000): m"},
		{errors.New("dial tcp: connection refused"), 500, "Error 1105 (HY000): dial tcp: connection refused"},
		{errArgCount(2, 1), 400, "Error 1210 (HY000): Incorrect arguments: the statement has 2 placeholders but 1 args were given"},
	} {
		se := toSQLError(tc.err)
		assert.Equal(t, tc.status, se.status, tc.body)
		assert.Equal(t, tc.body, se.Error())
	}
}

func TestRequestLog(t *testing.T) {
	var buf emuLog
	h := newHarness(t, Config{User: "root", Password: "hunter2", Logger: slog.New(slog.NewTextHandler(&buf, nil))})
	req, err := http.NewRequest(http.MethodPost, h.http.URL+"/api/v2/query/rows", strings.NewReader(`{"sql":"SELECT ? AS secret","args":["card-4242"]}`))
	require.NoError(t, err)
	req.SetBasicAuth("root", "hunter2")
	req.Header.Set("Content-Type", "application/json")
	resp, err := h.http.Client().Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	require.NoError(t, h.srv.Close())
	h.do(http.MethodPost, "/api/v2/query/rows", `{"sql":"SELECT 1"}`, http.Header{"Authorization": {"Basic " + "cm9vdDpodW50ZXIy"}})

	log := buf.String()
	assert.Contains(t, log, "path=/api/v2/query/rows status=200")
	assert.Contains(t, log, "level=WARN", "a 500 is logged as a warning")
	assert.Contains(t, log, "error=", "with the engine's error")
	for _, secret := range []string{"hunter2", "cm9vdDpodW50ZXIy", "card-4242"} {
		assert.NotContains(t, log, secret)
	}
}

// emuLog is a log buffer safe for the server's goroutines.
type emuLog struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *emuLog) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *emuLog) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// TestConcurrentNew starts several embedded emulators at once (meant for
// -race: go-mysql-server v0.20.0 writes package-level status variables in
// engine.New) and uses each, at once too.
func TestConcurrentNew(t *testing.T) {
	const n = 6
	servers := make([]*Server, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			servers[i], errs[i] = New(Config{})
		}()
	}
	wg.Wait()
	hs := make([]*harness, 0, n)
	for i, srv := range servers {
		require.NoError(t, errs[i], "emulator %d", i)
		ts := httptest.NewServer(srv)
		t.Cleanup(func() {
			ts.Close()
			assert.NoError(t, srv.Close())
		})
		hs = append(hs, &harness{t: t, srv: srv, http: ts, db: DefaultDatabase})
	}
	for i, h := range hs {
		bodies := []string{h.body("CREATE TABLE t (v INT)"), h.body("INSERT INTO t VALUES (?)", i)}
		wg.Add(1)
		go func() {
			defer wg.Done()
			for _, body := range bodies {
				if status, resp := h.doMaybe(http.MethodPost, "/api/v2/exec", body); status != http.StatusOK {
					t.Errorf("emulator %d: %d %s", i, status, resp)
					return
				}
			}
		}()
	}
	wg.Wait()
	for i, h := range hs {
		assert.Equal(t, []map[string]any{{"v": json.Number(fmt.Sprint(i))}}, h.rows("SELECT v FROM t"), "emulator %d", i)
	}
}
