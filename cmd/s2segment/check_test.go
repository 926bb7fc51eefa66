package main

import (
	"context"
	"encoding/pem"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/s2segment/s2segment/dataapi/emulator"
	"github.com/s2segment/s2segment/destination/singlestore"
)

func checkArgs(host, port string, extra ...string) []string {
	return append([]string{"check", "--host", host, "--port", port, "--user", "loader", "--password", serveTestPassword, "--database", "analytics"}, extra...)
}

func TestCheckAgainstTheEmulator(t *testing.T) {
	for _, b := range serveBackends() {
		t.Run(b.name, func(t *testing.T) {
			d := startServeDB(t, b, emulator.Faults{})
			args := func(extra ...string) []string {
				return append([]string{"check", "--host", d.host, "--port", d.port, "--scheme", "http", "--user", "root",
					"--password", serveTestPassword, "--database", d.database}, extra...)
			}
			code, out, errOut := runCLI(t, "", args()...)
			require.Equal(t, exitOK, code, errOut)
			assert.Equal(t, "ok: http://"+d.host+":"+d.port+" as root: table `"+d.database+"`.`segment_data` created (dedupe schema)\n", out)

			code, out, _ = runCLI(t, "", args()...)
			require.Equal(t, exitOK, code)
			assert.Contains(t, out, "already there with the expected columns")

			code, out, _ = runCLI(t, "", args("--table", "ref", "--schema", "reference")...)
			require.Equal(t, exitOK, code)
			assert.Contains(t, out, "`ref` created (reference schema)")

			// The dedupe table is not one the reference schema can write.
			code, out, errOut = runCLI(t, "", args("--schema", "reference")...)
			assert.Equal(t, exitFailed, code, out)
			assert.Contains(t, errOut, "check failed (schema-mismatch)")
			assert.Contains(t, errOut, "messageId: want no unique key")

			// A table of its own making, with other columns.
			_, err := dbClient(t, d.url, d.database).Exec(context.Background(),
				"CREATE TABLE `legacy` (`messageId` VARCHAR(100) NOT NULL, `ts` DATETIME NOT NULL, `type` TEXT, `payload` JSON)")
			require.NoError(t, err)
			code, _, errOut = runCLI(t, "", args("--table", "legacy")...)
			assert.Equal(t, exitFailed, code)
			for _, want := range []string{"`legacy` exists with columns that differ", "timestamp: want datetime(6), got missing", "properties: want json, got missing"} {
				assert.Contains(t, errOut, want)
			}

			// An unknown database says how to create it.
			code, _, errOut = runCLI(t, "", "check", "--host", d.host, "--port", d.port, "--scheme", "http", "--user", "root", "--database", "missing_db")
			assert.Equal(t, exitFailed, code)
			assert.Contains(t, errOut, "check failed (unknown-database)")
			assert.Contains(t, errOut, "CREATE DATABASE `missing_db`;")
			assert.NotContains(t, errOut, serveTestPassword)
		})
	}
}

// checkFakeAPI answers /ping, query/rows with no rows (unless status applies to
// queries too), and everything else with status and body.
func checkFakeAPI(t *testing.T, queries bool, status int, body string) (host, port string) {
	t.Helper()
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case r.URL.Path == "/ping":
			_, _ = w.Write([]byte("pong"))
		case strings.HasSuffix(r.URL.Path, "/query/rows") && !queries:
			_, _ = w.Write([]byte(`{"results":[{"rows":[]}]}`))
		default:
			if status == http.StatusUnauthorized {
				w.Header().Set("WWW-Authenticate", `Basic realm="SingleStore"`)
			}
			w.WriteHeader(status)
			_, _ = w.Write([]byte(body))
		}
	}))
	t.Cleanup(ts.Close)
	host, port, _ = net.SplitHostPort(ts.Listener.Addr().String())
	return host, port
}

func TestCheckExplainsFailures(t *testing.T) {
	closedPort := func() string {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		require.NoError(t, err)
		_, port, _ := net.SplitHostPort(ln.Addr().String())
		require.NoError(t, ln.Close())
		return port
	}
	plainHost, plainPort := checkFakeAPI(t, true, 200, `{"lastInsertId":0,"rowsAffected":0}`)

	for _, tc := range []struct {
		name string
		args []string
		want []string
	}{
		{"401", func() []string {
			h, p := checkFakeAPI(t, true, 401, "")
			return checkArgs(h, p, "--scheme", "http")
		}(), []string{"check failed (unauthorized)", `credentials of user "loader"`, "--password"}},
		{"403 errno 1142", func() []string {
			h, p := checkFakeAPI(t, false, 403, "Error 1142 (42000): CREATE command denied to user 'loader'@'%' for table 'segment_data'")
			return checkArgs(h, p, "--scheme", "http")
		}(), []string{"check failed (forbidden)", "CREATE command denied", "GRANT CREATE, INSERT, SELECT ON `analytics`.* TO 'loader'@'%';"}},
		{"1049", func() []string {
			h, p := checkFakeAPI(t, true, 400, "Error 1049 (42000): Unknown database 'analytics'")
			return checkArgs(h, p, "--scheme", "http")
		}(), []string{"check failed (unknown-database)", "CREATE DATABASE `analytics`;"}},
		{"closed port", checkArgs("127.0.0.1", closedPort(), "--scheme", "http"), []string{"check failed (refused)", "connection refused", "--port"}},
		{"https to a plain-HTTP server", checkArgs(plainHost, plainPort), []string{"check failed (tls)", "speaks plain HTTP", "--scheme http"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, out, errOut := runCLI(t, "", tc.args...)
			assert.Equal(t, exitFailed, code, out+errOut)
			assert.Empty(t, out)
			for _, w := range tc.want {
				assert.Contains(t, errOut, w)
			}
			assert.NotContains(t, errOut, serveTestPassword)
		})
	}
}

func TestCheckTLS(t *testing.T) {
	em, err := emulator.New(emulator.Config{Databases: []string{"analytics"}})
	require.NoError(t, err)
	defer em.Close()
	ts := httptest.NewUnstartedServer(em)
	ts.Config.ErrorLog = log.New(io.Discard, "", 0) // the refused handshakes are the point
	ts.StartTLS()
	defer ts.Close()
	host, port, _ := net.SplitHostPort(ts.Listener.Addr().String())

	code, _, errOut := runCLI(t, "", checkArgs(host, port)...)
	assert.Equal(t, exitFailed, code)
	assert.Contains(t, errOut, "check failed (certificate)")
	assert.Contains(t, errOut, "--ca-cert")

	code, _, errOut = runCLI(t, "", checkArgs(host, port, "--scheme", "http")...)
	assert.Equal(t, exitFailed, code)
	assert.Contains(t, errOut, "check failed (tls)")
	assert.Contains(t, errOut, "--scheme https")

	ca := filepath.Join(t.TempDir(), "ca.pem")
	require.NoError(t, os.WriteFile(ca, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: ts.Certificate().Raw}), 0o600))
	code, out, errOut := runCLI(t, "", checkArgs(host, port, "--ca-cert", ca)...)
	require.Equal(t, exitOK, code, errOut)
	assert.Contains(t, out, "ok: https://")

	code, out, errOut = runCLI(t, "", checkArgs(host, port, "--insecure")...)
	require.Equal(t, exitOK, code, errOut)
	assert.Contains(t, out, "already there")
}

func TestCheckUsageErrors(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"check"}, "--host"},
		{[]string{"check", "--host", "h", "--database", "d"}, "--user"},
		{[]string{"check", "--host", "h", "--user", "u"}, "--database"},
		{[]string{"check", "--host", "h", "--user", "u", "--database", "d", "--schema", "x"}, "--schema"},
		{[]string{"check", "--host", "h", "--user", "u", "--database", "a/b"}, "--database"},
		{[]string{"check", "--host", "h", "--user", "u", "--database", "d", "--scheme", "ftp"}, "--scheme"},
		{[]string{"check", "--host", "h", "--user", "u", "--database", "d", "--port", "0"}, "--port"},
		{[]string{"check", "--host", "https://h", "--user", "u", "--database", "d"}, "Host"},
		{[]string{"check", "--host", "h", "--user", "u", "--database", "d", "--timeout", "0s"}, "--timeout"},
		{[]string{"check", "--host", "h", "--user", "u", "--database", "d", "--ca-cert", "/no/such.pem"}, "--ca-cert"},
		{[]string{"check", "--no-such-flag"}, "unknown flag"},
	} {
		code, _, errOut := runCLI(t, "", tc.args...)
		assert.Equal(t, exitUsage, code, "%q: %s", tc.args, errOut)
		assert.Contains(t, errOut, tc.want, "%q", tc.args)
	}
}

// TestCheckWarnsOfTextThatLosesEvents: check warns, with the statement that
// fixes it, when the database or the table cannot store 4-byte characters
// (MariaDB's latin1), and when the dedupe key does not compare bytes.
func TestCheckWarnsOfTextThatLosesEvents(t *testing.T) {
	for _, b := range serveBackends() {
		t.Run(b.name, func(t *testing.T) {
			d := startServeDB(t, b, emulator.Faults{})
			args := func(db string, extra ...string) []string {
				return append([]string{"check", "--host", d.host, "--port", d.port, "--scheme", "http", "--user", "root",
					"--password", serveTestPassword, "--database", db}, extra...)
			}
			// A key column with a case-insensitive collation.
			_, err := dbClient(t, d.url, d.database).Exec(context.Background(),
				"CREATE TABLE `ci` (`messageId` VARCHAR(255) CHARACTER SET utf8mb4 COLLATE utf8mb4_general_ci NOT NULL, `timestamp` DATETIME(6) NOT NULL, "+
					"`type` TEXT NOT NULL, `event` TEXT, `name` TEXT, `properties` JSON, `userId` TEXT, `anonymousId` TEXT, `groupId` TEXT, "+
					"`traits` JSON, `context` JSON, SHARD KEY (`messageId`), UNIQUE KEY (`messageId`))")
			require.NoError(t, err)
			code, _, errOut := runCLI(t, "", args(d.database, "--table", "ci")...)
			t.Logf("check of a case-insensitive key:\n%s", errOut)
			require.Equal(t, exitOK, code, errOut)
			assert.Contains(t, errOut, "compares messageId with the collation utf8mb4_general_ci, which is not binary")
			assert.Contains(t, errOut, "ALTER TABLE `"+d.database+"`.`ci` MODIFY `messageId` VARCHAR(255) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL")

			code, _, errOut = runCLI(t, "", args(d.database, "--table", "fresh")...)
			require.Equal(t, exitOK, code, errOut)
			assert.NotContains(t, errOut, "warning", "the tables s2segment creates draw no warning")

			if b.dsn == "" {
				return // the embedded engine has no latin1 databases
			}
			latin := d.database + "_latin1"
			admin := dbClient(t, d.url, "")
			_, err = admin.Exec(context.Background(), "CREATE DATABASE "+singlestore.QuoteIdentifier(latin)+" CHARACTER SET latin1")
			require.NoError(t, err)
			t.Cleanup(func() {
				_, _ = admin.Exec(context.Background(), "DROP DATABASE IF EXISTS "+singlestore.QuoteIdentifier(latin))
			})
			code, out, errOut := runCLI(t, "", args(latin)...)
			t.Logf("check of a latin1 database:\n%s%s", out, errOut)
			require.Equal(t, exitOK, code, errOut)
			assert.Contains(t, errOut, "warning: database `"+latin+"` has the default character set latin1, which cannot store 4-byte characters")
			assert.Contains(t, errOut, "fix it with: ALTER DATABASE `"+latin+"` CHARACTER SET utf8mb4")
			assert.Contains(t, errOut, "ALTER TABLE `"+latin+"`.`segment_data` CONVERT TO CHARACTER SET utf8mb4")
		})
	}
}
