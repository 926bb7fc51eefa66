package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/s2segment/s2segment/dataapi"
	"github.com/s2segment/s2segment/dataapi/emulator"
	"github.com/s2segment/s2segment/destination/singlestore"
)

// Secrets of the serve and check tests; none may reach a log or an answer.
const (
	serveTestKey      = "wk_SECRET_serve_key_3c1d"
	serveTestSecret   = "whsec_SECRET_serve_77aa"
	serveTestToken    = "tok_SECRET_serve_9e0f"
	serveTestPassword = "pw_SECRET_serve_db_41b2"
)

// serveRun is a running "s2segment serve".
type serveRun struct {
	stdout, stderr *syncBuffer
	stop           context.CancelFunc
	code           chan int
	url            string // the endpoint
	emuURL         string // the embedded emulator, if started
}

var (
	serveListening = regexp.MustCompile(`listening on (https?://\S+)`)
	serveEmuURL    = regexp.MustCompile(`embedded Data API emulator at (http://\S+) `)
)

// serveStart runs serve with args (plus --addr 127.0.0.1:0) and waits until
// it listens. Stopping it is the test's business (stop, then wait), or the
// cleanup's.
func serveStart(t testing.TB, args ...string) *serveRun {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	r := &serveRun{stdout: &syncBuffer{}, stderr: &syncBuffer{}, stop: cancel, code: make(chan int, 1)}
	go func() {
		r.code <- run(ctx, append([]string{"serve", "--addr", "127.0.0.1:0"}, args...), strings.NewReader(""), r.stdout, r.stderr)
	}()
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		if m := serveListening.FindStringSubmatch(r.stdout.String()); m != nil {
			r.url = m[1]
			if m := serveEmuURL.FindStringSubmatch(r.stdout.String()); m != nil {
				r.emuURL = m[1]
			}
			t.Cleanup(func() { r.wait(t) })
			return r
		}
		select {
		case code := <-r.code:
			cancel()
			t.Fatalf("serve exited with %d:\n%s%s", code, r.stdout.String(), r.stderr.String())
		case <-time.After(10 * time.Millisecond):
		}
	}
	cancel()
	t.Fatalf("serve did not start:\n%s%s", r.stdout.String(), r.stderr.String())
	return nil
}

// wait stops serve (as SIGTERM does: its context ends) and returns its exit
// status.
func (r *serveRun) wait(t testing.TB) int {
	t.Helper()
	r.stop()
	select {
	case code := <-r.code:
		r.code <- code
		return code
	case <-time.After(60 * time.Second):
		t.Fatal("serve did not stop")
		return -1
	}
}

// servePost posts body to path with the headers, and returns the status
// and the answer.
func servePost(t testing.TB, client *http.Client, url, body string, header map[string]string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, url, strings.NewReader(body))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/json")
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := client.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp.StatusCode, string(b)
}

func serveGet(t testing.TB, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp.StatusCode, string(b)
}

func basicAuth(key string) map[string]string {
	req, _ := http.NewRequest("GET", "/", nil)
	req.SetBasicAuth(key, "")
	return map[string]string{"Authorization": req.Header.Get("Authorization")}
}

// serveBackend is an emulator engine the tests run against.
type serveBackend struct{ name, dsn string }

func serveBackends() []serveBackend {
	bs := []serveBackend{{name: "embedded"}}
	if dsn := os.Getenv("S2_TEST_MARIADB_DSN"); dsn != "" && !testing.Short() { // -short: the embedded engine only
		bs = append(bs, serveBackend{name: "mariadb", dsn: dsn})
	}
	return bs
}

// serveDB is a Data API emulator served over real HTTP.
type serveDB struct {
	em         *emulator.Server
	url        string
	host, port string
	database   string
}

// startServeDB starts an emulator on b with a database of its own.
func startServeDB(t testing.TB, b serveBackend, faults emulator.Faults) *serveDB {
	t.Helper()
	db := emulator.DefaultDatabase
	if b.dsn != "" {
		var r [4]byte
		_, _ = rand.Read(r[:])
		db = "s2serve_" + hex.EncodeToString(r[:])
	}
	l, err := emulator.Listen(t.Context(), emulator.Config{DSN: b.dsn, Databases: []string{db}, Faults: faults})
	require.NoError(t, err)
	d := &serveDB{em: l.Server(), url: l.URL(), host: l.Host(), port: l.Port(), database: db}
	t.Cleanup(func() {
		if b.dsn != "" {
			_, _ = dbClient(t, d.url, "").Exec(context.Background(), "DROP DATABASE IF EXISTS "+singlestore.QuoteIdentifier(db))
		}
		_ = l.Close()
	})
	return d
}

// flags returns the settings flags that point at the emulator.
func (d *serveDB) flags() []string {
	return []string{"--host", d.host, "--port", d.port, "--scheme", "http", "--user", "root", "--password", serveTestPassword, "--database", d.database}
}

// dbClient returns a Data API client of the emulator at base that retries
// through injected faults.
func dbClient(t testing.TB, base, database string) *dataapi.Client {
	t.Helper()
	u, err := url.Parse(base)
	require.NoError(t, err)
	c, err := dataapi.New(dataapi.Config{Host: u.Hostname(), Port: u.Port(), Scheme: "http", User: "root", Password: serveTestPassword,
		Database: database, MaxAttempts: 50, BackoffBase: time.Millisecond, BackoffMax: 20 * time.Millisecond, MaxRetryTime: 2 * time.Minute})
	require.NoError(t, err)
	return c
}

// rowCounts returns how many rows each messageId has in the table.
func rowCounts(t testing.TB, base, database, table string) map[string]int {
	t.Helper()
	rows, err := dbClient(t, base, database).QueryRows(context.Background(),
		"SELECT messageId AS id, COUNT(*) AS n FROM "+singlestore.QuoteIdentifier(table)+" GROUP BY messageId")
	require.NoError(t, err)
	out := make(map[string]int, len(rows))
	for _, r := range rows {
		var id string
		require.NoError(t, json.Unmarshal(r["id"], &id))
		n, err := strconv.Atoi(string(r["n"]))
		require.NoError(t, err)
		out[id] = n
	}
	return out
}

// serveEvent returns an event of the given type with messageId id.
func serveEvent(typ, id string) string {
	base := `"messageId":"` + id + `","timestamp":"2025-07-07T10:19:25.665Z","userId":"user-1","context":{"ip":"203.0.113.7"}`
	switch typ {
	case "track":
		return `{"type":"track","event":"Order Completed","properties":{"total":99.5},` + base + `}`
	case "identify":
		return `{"type":"identify","traits":{"plan":"pro"},` + base + `}`
	case "page", "screen":
		return `{"type":"` + typ + `","name":"Home",` + base + `}`
	case "group":
		return `{"type":"group","groupId":"g-1","traits":{"name":"ACME"},` + base + `}`
	case "alias":
		return `{"type":"alias","previousId":"anon-1",` + base + `}`
	}
	panic("unknown type " + typ)
}
