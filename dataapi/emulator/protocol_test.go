package emulator

import (
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// step is one request of the protocol suite and what must come back.
// In body, {db} is the test database and {DB} its upper-case spelling;
// {ddl:NAME} is the text of testdata/ddl/NAME.sql.
type step struct {
	name   string
	method string      // default POST
	path   string      // default /api/v2/exec
	body   string      // raw request body
	header http.Header // request headers to set; an empty value removes one

	status  int
	want    string            // exact body
	json    string            // body, compared as JSON
	jsonMDB string            // body on MariaDB (JSON columns come back as text), if different
	re      string            // body regexp
	has     []string          // substrings of the body
	headers map[string]string // response headers (value prefix)
}

// sqlErrorRe is the Data API's error body format.
const sqlErrorRe = `^Error \d+ \([0-9A-Z]{5}\): .+`

func protocolSteps() []step {
	ct := func(v string) http.Header { return http.Header{"Content-Type": {v}} }
	noAuth := http.Header{"Authorization": {""}}
	return []step{
		{name: "ping needs no auth", method: http.MethodGet, path: "/ping", header: noAuth, status: 200, want: "pong"},
		{name: "ping HEAD", method: http.MethodHead, path: "/ping", header: noAuth, status: 200},
		{name: "ping POST is 405", path: "/ping", status: 405, headers: map[string]string{"Allow": "GET"}},
		{name: "exec GET is 405", method: http.MethodGet, status: 405, headers: map[string]string{"Allow": "POST"}},
		{name: "unknown version 404", path: "/api/v3/exec", body: `{"sql":"SELECT 1"}`, status: 404},
		{name: "trailing slash 404", path: "/api/v2/exec/", body: `{"sql":"SELECT 1"}`, status: 404},
		{name: "spec not served", method: http.MethodGet, path: "/api/v2/spec", status: 404},
		{name: "no credentials 401", body: `{"sql":"SELECT 1"}`, header: noAuth, status: 401,
			headers: map[string]string{"Www-Authenticate": "Basic realm="}},
		{name: "bearer token 401", body: `{"sql":"SELECT 1"}`, header: http.Header{"Authorization": {"Bearer abc"}}, status: 401},

		{name: "body not JSON", body: `{"sql":`, status: 400, re: `^Error parsing request body: at byte \d+: invalid JSON`},
		{name: "body an array", body: `[]`, status: 400, want: "Error parsing request body: at byte 1: want a JSON object"},
		{name: "empty body", body: ``, status: 400, has: []string{"empty body"}},
		{name: "field names are exact", body: `{"sql":"SELECT 1","Database":"x"}`, status: 400,
			has: []string{`unknown field "Database", want sql, database or args`}},
		{name: "missing sql", body: `{"database":"x"}`, status: 400, has: []string{`missing field "sql"`}},
		{name: "sql not a string", body: `{"sql":1}`, status: 400, has: []string{`field "sql" must be a string`}},
		{name: "args not an array", body: `{"sql":"SELECT ?","args":{"a":1}}`, status: 400, has: []string{`field "args" must be an array or null`}},
		{name: "duplicate field", body: `{"sql":"SELECT 1","sql":"SELECT 2"}`, status: 400, has: []string{`duplicate field "sql"`}},
		{name: "trailing data", body: `{"sql":"SELECT 1"} {}`, status: 400, has: []string{"unexpected data after the JSON object"}},
		{name: "content type required", body: `{"sql":"SELECT 1"}`, header: ct("text/plain"), status: 400,
			want: `Error parsing request: Content-Type must be application/json, got "text/plain"`},
		{name: "content type with charset", path: "/api/v2/query/rows", body: `{"sql":"SELECT 1 AS one"}`,
			header: ct("application/json; charset=utf-8"), status: 200, json: `{"results":[{"rows":[{"one":1}]}]}`},

		{name: "empty statement", body: `{"sql":"  ; "}`, status: 400, want: "Error 1065 (42000): Query was empty"},
		{name: "two statements", body: `{"sql":"SELECT 1; SELECT 2"}`, status: 400, re: `^Error 1064 \(42000\): .*one statement per request`},
		{name: "fewer args than placeholders", body: `{"sql":"SELECT ?, ?","args":[1]}`, status: 400,
			want: "Error 1210 (HY000): Incorrect arguments: the statement has 2 placeholders but 1 args were given"},
		{name: "more args than placeholders", body: `{"sql":"SELECT 1","args":[1]}`, status: 400, has: []string{"has 0 placeholders but 1 args"}},
		{name: "placeholder in a literal is not one", path: "/api/v2/query/rows", body: `{"sql":"SELECT '?' AS q, ? AS a /* ? */","args":[7]}`,
			status: 200, json: `{"results":[{"rows":[{"q":"?","a":7}]}]}`},
		{name: "trailing semicolon", path: "/api/v2/query/rows", body: `{"sql":"SELECT 1 AS one;"}`, status: 200, json: `{"results":[{"rows":[{"one":1}]}]}`},
		{name: "database null", path: "/api/v2/query/rows", body: `{"sql":"SELECT 1 AS one","database":null,"args":null}`, status: 200,
			json: `{"results":[{"rows":[{"one":1}]}]}`},
		{name: "no database selected", body: `{"sql":"SELECT * FROM segment_data"}`, status: 400, re: sqlErrorRe},
		{name: "unknown database", body: `{"sql":"SELECT 1","database":"no_such_db_s2"}`, status: 400,
			want: "Error 1049 (42000): Unknown database 'no_such_db_s2'"},
		{name: "database is case-sensitive", body: `{"sql":"SELECT 1","database":"{DB}"}`, status: 400,
			want: "Error 1049 (42000): Unknown database '{DB}'"},
		{name: "syntax error", body: `{"sql":"SELEC 1","database":"{db}"}`, status: 400, re: sqlErrorRe},

		{name: "reference table DDL", body: `{"sql":{ddl:reference},"database":"{db}"}`, status: 200,
			json: `{"lastInsertId":0,"rowsAffected":0}`},
		{name: "reference table DDL again", body: `{"sql":{ddl:reference},"database":"{db}"}`, status: 200},
		{name: "dedupe table DDL", body: `{"sql":{ddl:dedupe},"database":"{db}"}`, status: 200},
		{name: "rowstore table DDL", body: `{"sql":{ddl:rowstore},"database":"{db}"}`, status: 200},
		{name: "unknown table", body: `{"sql":"SELECT * FROM no_such_table","database":"{db}"}`, status: 400,
			re: `^Error 1146 \(42S02\): `},

		{name: "insert two rows", body: `{"sql":"INSERT INTO segment_data (messageId, timestamp, type, event, name, properties, userId, anonymousId, groupId, traits, context) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?), (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)","database":"{db}","args":[` +
			`"m1","2025-07-07 10:19:25.665000","track","Order Completed",null,{"total":27.5,"items":[{"sku":"a"}]},"u1",null,null,null,{"ip":"8.8.8.8"},` +
			`"m2","2025-07-07 10:19:26.000000","identify",null,null,null,"u2","anon-2",null,{"plan":"pro","n":1},{}]}`,
			status: 200, json: `{"lastInsertId":0,"rowsAffected":2}`},
		{name: "read rows back", path: "/api/v2/query/rows",
			body:   `{"sql":"SELECT messageId, timestamp, type, event, name, properties, userId, anonymousId, groupId, traits, context FROM segment_data ORDER BY messageId","database":"{db}"}`,
			status: 200,
			json: `{"results":[{"rows":[` +
				`{"messageId":"m1","timestamp":"2025-07-07 10:19:25.665000","type":"track","event":"Order Completed","name":null,"properties":{"total":27.5,"items":[{"sku":"a"}]},"userId":"u1","anonymousId":null,"groupId":null,"traits":null,"context":{"ip":"8.8.8.8"}},` +
				`{"messageId":"m2","timestamp":"2025-07-07 10:19:26.000000","type":"identify","event":null,"name":null,"properties":null,"userId":"u2","anonymousId":"anon-2","groupId":null,"traits":{"plan":"pro","n":1},"context":{}}]}]}`,
			jsonMDB: `{"results":[{"rows":[` +
				`{"messageId":"m1","timestamp":"2025-07-07 10:19:25.665000","type":"track","event":"Order Completed","name":null,"properties":"{\"total\":27.5,\"items\":[{\"sku\":\"a\"}]}","userId":"u1","anonymousId":null,"groupId":null,"traits":null,"context":"{\"ip\":\"8.8.8.8\"}"},` +
				`{"messageId":"m2","timestamp":"2025-07-07 10:19:26.000000","type":"identify","event":null,"name":null,"properties":null,"userId":"u2","anonymousId":"anon-2","groupId":null,"traits":"{\"plan\":\"pro\",\"n\":1}","context":"{}"}]}]}`},
		{name: "read tuples back", path: "/api/v2/query/tuples",
			body:   `{"sql":"SELECT messageId, timestamp, properties FROM segment_data WHERE messageId = ?","database":"{db}","args":["m1"]}`,
			status: 200,
			json: `{"results":[{"columns":[{"name":"messageId","dataType":"TEXT","nullable":false},{"name":"timestamp","dataType":"DATETIME","nullable":false},{"name":"properties","dataType":"JSON","nullable":true}],` +
				`"rows":[["m1","2025-07-07 10:19:25.665000",{"total":27.5,"items":[{"sku":"a"}]}]]}]}`,
			jsonMDB: `{"results":[{"columns":[{"name":"messageId","dataType":"TEXT","nullable":false},{"name":"timestamp","dataType":"DATETIME","nullable":false},{"name":"properties","dataType":"TEXT","nullable":true}],` +
				`"rows":[["m1","2025-07-07 10:19:25.665000","{\"total\":27.5,\"items\":[{\"sku\":\"a\"}]}"]]}]}`},
		{name: "v1 endpoints", path: "/api/v1/query/rows", body: `{"sql":"SELECT COUNT(*) AS n FROM segment_data","database":"{db}"}`,
			status: 200, json: `{"results":[{"rows":[{"n":2}]}]}`},
		{name: "v1 exec", path: "/api/v1/exec", body: `{"sql":"DELETE FROM segment_data WHERE messageId = ?","database":"{db}","args":["nothing"]}`,
			status: 200, json: `{"lastInsertId":0,"rowsAffected":0}`},

		{name: "dedupe insert", body: `{"sql":"INSERT INTO segment_dedupe (messageId, timestamp, type) VALUES (?, ?, ?) ON DUPLICATE KEY UPDATE type = type","database":"{db}","args":["d1","2025-01-01 00:00:00.000000","track"]}`,
			status: 200, json: `{"lastInsertId":0,"rowsAffected":1}`},
		{name: "dedupe insert replayed is a no-op", body: `{"sql":"INSERT INTO segment_dedupe (messageId, timestamp, type) VALUES (?, ?, ?), (?, ?, ?) ON DUPLICATE KEY UPDATE type = type","database":"{db}","args":["d1","2025-01-01 00:00:00.000000","track","d2","2025-01-01 00:00:00.000000","page"]}`,
			status: 200, json: `{"lastInsertId":0,"rowsAffected":1}`},
		{name: "duplicate key without the clause", body: `{"sql":"INSERT INTO segment_dedupe (messageId, timestamp, type) VALUES ('d1', '2025-01-01 00:00:00', 'track')","database":"{db}"}`,
			status: 400, re: `^Error 1062 \(23000\): `},
		{name: "dedupe table holds each id once", path: "/api/v2/query/rows", body: `{"sql":"SELECT messageId FROM segment_dedupe ORDER BY messageId","database":"{db}"}`,
			status: 200, json: `{"results":[{"rows":[{"messageId":"d1"},{"messageId":"d2"}]}]}`},

		{name: "value types", path: "/api/v2/query/rows",
			body:   `{"sql":"SELECT 42 AS i, 18446744073709551615 AS u, -9223372036854775808 AS mn, CAST(1.5 AS DOUBLE) AS f, CAST(1.25 AS DECIMAL(10,2)) AS d, 'x\"y' AS s, NULL AS n, CAST('2025-01-02 03:04:05.123456' AS DATETIME(6)) AS dt, CAST('2025-01-02' AS DATE) AS dd"}`,
			status: 200,
			json:   `{"results":[{"rows":[{"i":42,"u":18446744073709551615,"mn":-9223372036854775808,"f":1.5,"d":"1.25","s":"x\"y","n":null,"dt":"2025-01-02 03:04:05.123456","dd":"2025-01-02"}]}]}`,
			has:    []string{`"u":18446744073709551615`, `"mn":-9223372036854775808`}},
		{name: "args table", body: `{"sql":"CREATE TABLE args_t (id INT PRIMARY KEY, s TEXT, b BOOLEAN, i BIGINT, u BIGINT UNSIGNED, big DECIMAL(40,0), f DOUBLE, fd DECIMAL(30,20), j JSON, bin VARBINARY(8))","database":"{db}"}`, status: 200},
		{name: "args of every type", body: `{"sql":"INSERT INTO args_t VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, UNHEX(?))","database":"{db}","args":[1,"it's \"q\" \\ back\\slash ? é 😀\n",true,-9223372036854775808,18446744073709551615,123456789012345678901234567890,0.1,"1.23456789012345678901",[1,"2",null,{"k":false}],"00ff10"]}`,
			status: 200, json: `{"lastInsertId":0,"rowsAffected":1}`},
		{name: "args read back exactly", path: "/api/v2/query/rows", body: `{"sql":"SELECT s, b, i, u, big, f, fd, j, bin FROM args_t WHERE id = ?","database":"{db}","args":[1]}`,
			status:  200,
			json:    `{"results":[{"rows":[{"s":"it's \"q\" \\ back\\slash ? é 😀\n","b":1,"i":-9223372036854775808,"u":18446744073709551615,"big":"123456789012345678901234567890","f":0.1,"fd":"1.23456789012345678901","j":[1,"2",null,{"k":false}],"bin":"AP8Q"}]}]}`,
			jsonMDB: `{"results":[{"rows":[{"s":"it's \"q\" \\ back\\slash ? é 😀\n","b":1,"i":-9223372036854775808,"u":18446744073709551615,"big":"123456789012345678901234567890","f":0.1,"fd":"1.23456789012345678901","j":"[1,\"2\",null,{\"k\":false}]","bin":"AP8Q"}]}]}`,
			has:     []string{`"u":18446744073709551615`, `"big":"123456789012345678901234567890"`}},
		{name: "false and null args", path: "/api/v2/query/rows", body: `{"sql":"SELECT ? AS f, ? AS n, ? AS e","args":[false,null,""]}`,
			status: 200, json: `{"results":[{"rows":[{"f":0,"n":null,"e":""}]}]}`},

		{name: "auto increment table", body: `{"sql":"CREATE TABLE ai (id BIGINT AUTO_INCREMENT PRIMARY KEY, v INT)","database":"{db}"}`, status: 200},
		{name: "lastInsertId is the first id", body: `{"sql":"INSERT INTO ai (v) VALUES (?), (?)","database":"{db}","args":[10,20]}`,
			status: 200, json: `{"lastInsertId":1,"rowsAffected":2}`},
		{name: "lastInsertId moves on", body: `{"sql":"INSERT INTO ai (v) VALUES (?)","database":"{db}","args":[30]}`,
			status: 200, json: `{"lastInsertId":3,"rowsAffected":1}`},
		{name: "update counts rows", body: `{"sql":"UPDATE ai SET v = v + 1 WHERE id > ?","database":"{db}","args":[1]}`,
			status: 200, json: `{"lastInsertId":0,"rowsAffected":2}`},

		{name: "USE runs", body: `{"sql":"USE {db}"}`, status: 200},
		{name: "USE does not leak into later requests", path: "/api/v2/query/rows", body: `{"sql":"SELECT DATABASE() AS d"}`,
			status: 200, json: `{"results":[{"rows":[{"d":null}]}]}`},
		{name: "query endpoint with a write", path: "/api/v2/query/tuples", body: `{"sql":"DELETE FROM ai WHERE id = ?","database":"{db}","args":[3]}`,
			status: 200, json: `{"results":[{"columns":[],"rows":[]}]}`},
	}
}

// loadDDL reads testdata/ddl/NAME.sql as a JSON string.
func loadDDL(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "ddl", name+".sql"))
	require.NoError(t, err)
	s, err := json.Marshal(strings.TrimSpace(string(b)))
	require.NoError(t, err)
	return string(s)
}

var ddlRef = regexp.MustCompile(`\{ddl:(\w+)\}`)

// TestProtocol runs the protocol suite through real HTTP against every
// backend: the embedded engine always, MariaDB when S2_TEST_MARIADB_DSN
// is set.
func TestProtocol(t *testing.T) {
	for _, b := range backends(t) {
		t.Run(b.name, func(t *testing.T) {
			db := uniqueName("s2emu")
			h := newHarness(t, b.config(t, db))
			mariadb := h.srv.Dialect() == DialectMariaDB
			for _, st := range protocolSteps() {
				body := strings.NewReplacer("{db}", db, "{DB}", strings.ToUpper(db)).Replace(st.body)
				body = ddlRef.ReplaceAllStringFunc(body, func(m string) string { return loadDDL(t, ddlRef.FindStringSubmatch(m)[1]) })
				method, path := st.method, st.path
				if method == "" {
					method = http.MethodPost
				}
				if path == "" {
					path = "/api/v2/exec"
				}
				r := h.do(method, path, body, st.header)
				if !assert.Equal(t, st.status, r.status, "%s: body %s", st.name, r.body) {
					continue
				}
				want := strings.NewReplacer("{db}", db, "{DB}", strings.ToUpper(db)).Replace(st.want)
				if want != "" {
					assert.Equal(t, want, r.body, st.name)
				}
				wantJSON := st.json
				if mariadb && st.jsonMDB != "" {
					wantJSON = st.jsonMDB
				}
				if wantJSON != "" {
					assert.JSONEq(t, wantJSON, r.body, st.name)
					assert.Equal(t, "application/json", r.header.Get("Content-Type"), st.name)
				}
				if st.re != "" {
					assert.Regexp(t, st.re, r.body, st.name)
				}
				for _, s := range st.has {
					assert.Contains(t, r.body, s, st.name)
				}
				for k, v := range st.headers {
					assert.True(t, strings.HasPrefix(r.header.Get(k), v), "%s: header %s = %q, want prefix %q", st.name, k, r.header.Get(k), v)
				}
				if r.status >= 400 && r.status != 404 && r.status != 405 && r.status != 401 {
					assert.Equal(t, "text/plain; charset=utf-8", r.header.Get("Content-Type"), st.name)
				}
			}
		})
	}
}
