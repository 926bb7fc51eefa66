package adapter

import (
	"context"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/s2segment/s2segment/dataapi"
	"github.com/s2segment/s2segment/dataapi/emulator"
	"github.com/s2segment/s2segment/destination"
	"github.com/s2segment/s2segment/destination/singlestore"
	"github.com/s2segment/s2segment/internal/diagnose"
)

// runCheck checks settings with conn.
func runCheck(t *testing.T, conn Connection, s singlestore.Settings, schema singlestore.Schema) (*diagnose.CheckResult, error) {
	t.Helper()
	c, err := conn.NewClient(s)
	require.NoError(t, err)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	return diagnose.Check(ctx, c, conn.TargetOf(s, schema))
}

// checkErr asserts err is a *diagnose.CheckError of kind k and returns it.
func checkErr(t *testing.T, err error, k diagnose.Kind) *diagnose.CheckError {
	t.Helper()
	var ce *diagnose.CheckError
	require.ErrorAs(t, err, &ce)
	require.Equal(t, k, ce.Kind, "%v", err)
	assert.NotContains(t, err.Error(), testPassword)
	return ce
}

func TestCheckCreatesTheTableOnce(t *testing.T) {
	for _, b := range backends() {
		t.Run(b.name, func(t *testing.T) {
			d := startEmulator(t, b, emulator.Faults{})
			for _, schema := range []singlestore.Schema{singlestore.SchemaDedupe, singlestore.SchemaReference} {
				table := "t_" + schema.String()
				res, err := runCheck(t, httpConn(), d.settings(table), schema)
				require.NoError(t, err)
				assert.True(t, res.Created)
				assert.Empty(t, res.Warnings)
				assert.Equal(t, "http://"+d.host+":"+d.port, res.Target.Endpoint())

				res, err = runCheck(t, httpConn(), d.settings(table), schema)
				require.NoError(t, err)
				assert.False(t, res.Created, "the second check finds the table")
				assert.Equal(t, map[string]int{}, d.counts(t, table), "a check writes no rows")
			}
		})
	}
}

func TestCheckComparesAnExistingTable(t *testing.T) {
	for _, b := range backends() {
		t.Run(b.name, func(t *testing.T) {
			d := startEmulator(t, b, emulator.Faults{})
			c := d.client(t, "")
			ctx := context.Background()
			_, err := c.Exec(ctx, "CREATE TABLE `odd` (`messageId` INT NOT NULL, `timestamp` DATETIME NOT NULL, `type` TEXT NOT NULL, "+
				"`event` TEXT NOT NULL, `name` TEXT, `properties` JSON, `userId` TEXT, `anonymousId` TEXT, `traits` JSON, `context` JSON, "+
				"`tenant` VARCHAR(20) NOT NULL)")
			require.NoError(t, err)

			_, err = runCheck(t, httpConn(), d.settings("odd"), singlestore.SchemaDedupe)
			ce := checkErr(t, err, diagnose.KindSchemaMismatch)
			var cols []string
			for _, diff := range ce.Diffs {
				cols = append(cols, diff.Column)
			}
			assert.Equal(t, []string{"messageId", "timestamp", "event", "groupId", "tenant"}, cols)
			for _, want := range []string{"messageId: want varchar(255) or another text type, got int",
				"timestamp: want datetime(6)", "fractions of a second would be lost",
				"event: want text, nullable, got text NOT NULL", "groupId: want text, nullable, got missing",
				"tenant: want absent, nullable or with a default, got varchar(20) NOT NULL without a default", "--schema reference"} {
				assert.Contains(t, ce.Error(), want)
			}
			assert.Equal(t, map[string]string{"tableName": "table `" + d.database + "`.`odd` has a different schema"}, ce.Fields())

			// A dedupe table checked as the reference schema: its unique key
			// would make the reference schema's plain INSERTs fail.
			d.createTable(t, "keyed", singlestore.SchemaDedupe)
			_, err = runCheck(t, httpConn(), d.settings("keyed"), singlestore.SchemaReference)
			ce = checkErr(t, err, diagnose.KindSchemaMismatch)
			require.Len(t, ce.Diffs, 1)
			assert.Contains(t, ce.Diffs[0].String(), "use --schema dedupe")

			// A reference table checked as dedupe works, with a warning.
			d.createTable(t, "keyless", singlestore.SchemaReference)
			res, err := runCheck(t, httpConn(), d.settings("keyless"), singlestore.SchemaDedupe)
			require.NoError(t, err)
			require.Len(t, res.Warnings, 1)
			assert.Contains(t, res.Warnings[0], "no unique key")
		})
	}
}

func TestCheckUnknownDatabase(t *testing.T) {
	for _, b := range backends() {
		t.Run(b.name, func(t *testing.T) {
			d := startEmulator(t, b, emulator.Faults{})
			s := d.settings("segment_data")
			s.DBName = "no_such_db_s2"
			_, err := runCheck(t, httpConn(), s, singlestore.SchemaDedupe)
			ce := checkErr(t, err, diagnose.KindUnknownDatabase)
			assert.Contains(t, ce.Hint, "CREATE DATABASE `no_such_db_s2`;")
			assert.Contains(t, ce.Fields(), "dbName")
			var api *dataapi.APIError
			require.ErrorAs(t, err, &api)
			assert.Equal(t, 1049, api.Errno)
		})
	}
}

// fakeDataAPI answers /ping with pong, queries with no rows, and every exec
// with status and body.
func fakeDataAPI(t *testing.T, queryStatus int, status int, body string) *httptest.Server {
	t.Helper()
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case r.URL.Path == "/ping":
			_, _ = w.Write([]byte("pong"))
		case strings.HasSuffix(r.URL.Path, "/query/rows") && queryStatus == 200:
			w.Header().Set("Content-Type", "application/json")
			_, _ = w.Write([]byte(`{"results":[{"rows":[]}]}`))
		default:
			code := status
			if strings.HasSuffix(r.URL.Path, "/query/rows") {
				code = queryStatus
			}
			if code == http.StatusUnauthorized {
				w.Header().Set("WWW-Authenticate", `Basic realm="SingleStore"`)
			}
			w.WriteHeader(code)
			_, _ = w.Write([]byte(body))
		}
	}))
	t.Cleanup(ts.Close)
	return ts
}

// quietTLSServer serves h over TLS without logging the handshakes the
// tests make fail on purpose.
func quietTLSServer(h http.Handler) *httptest.Server {
	ts := httptest.NewUnstartedServer(h)
	ts.Config.ErrorLog = log.New(io.Discard, "", 0)
	ts.StartTLS()
	return ts
}

func settingsOf(ts *httptest.Server) singlestore.Settings {
	host, port, _ := net.SplitHostPort(ts.Listener.Addr().String())
	return singlestore.Settings{Host: host, Port: port, Username: "loader", Password: testPassword, DBName: "analytics", TableName: "segment_data"}
}

func TestCheckExplainsServerAnswers(t *testing.T) {
	t.Run("401", func(t *testing.T) {
		ts := fakeDataAPI(t, 401, 401, "")
		_, err := runCheck(t, httpConn(), settingsOf(ts), singlestore.SchemaDedupe)
		ce := checkErr(t, err, diagnose.KindUnauthorized)
		assert.Contains(t, ce.Summary, `user "loader"`)
		assert.ElementsMatch(t, []string{"username", "password"}, keys(ce.Fields()))
	})
	t.Run("403 errno 1142", func(t *testing.T) {
		ts := fakeDataAPI(t, 200, 403, "Error 1142 (42000): CREATE command denied to user 'loader'@'%' for table 'segment_data'")
		_, err := runCheck(t, httpConn(), settingsOf(ts), singlestore.SchemaDedupe)
		ce := checkErr(t, err, diagnose.KindForbidden)
		assert.Contains(t, ce.Hint, "GRANT CREATE, INSERT, SELECT ON `analytics`.* TO 'loader'@'%';")
		assert.Contains(t, ce.Summary, "Error 1142 (42000): CREATE command denied")
	})
	t.Run("400 errno 1044", func(t *testing.T) {
		ts := fakeDataAPI(t, 400, 400, "Error 1044 (42000): Access denied for user 'loader'@'%' to database 'analytics'")
		_, err := runCheck(t, httpConn(), settingsOf(ts), singlestore.SchemaDedupe)
		checkErr(t, err, diagnose.KindForbidden)
	})
	t.Run("404", func(t *testing.T) {
		ts := fakeDataAPI(t, 404, 404, "404 page not found")
		_, err := runCheck(t, httpConn(), settingsOf(ts), singlestore.SchemaDedupe)
		ce := checkErr(t, err, diagnose.KindOther)
		assert.Contains(t, ce.Hint, "not the SQL port")
	})
	t.Run("500 retryable", func(t *testing.T) {
		ts := fakeDataAPI(t, 500, 500, "Error 1712 (HY000): Not enough memory")
		conn := httpConn()
		conn.MaxAttempts = 1
		_, err := runCheck(t, conn, settingsOf(ts), singlestore.SchemaDedupe)
		ce := checkErr(t, err, diagnose.KindOther)
		assert.Contains(t, ce.Summary, "Error 1712 (HY000): Not enough memory")
		assert.Contains(t, ce.Hint, "try again")
	})
}

func TestCheckExplainsTransportFailures(t *testing.T) {
	t.Run("refused", func(t *testing.T) {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		require.NoError(t, err)
		host, port, _ := net.SplitHostPort(ln.Addr().String())
		require.NoError(t, ln.Close())
		conn := httpConn()
		conn.MaxAttempts = 1
		_, err = runCheck(t, conn, singlestore.Settings{Host: host, Port: port, Username: "u", DBName: "db", TableName: "t"}, singlestore.SchemaDedupe)
		ce := checkErr(t, err, diagnose.KindRefused)
		assert.True(t, ce.Kind.Transient())
		assert.Contains(t, ce.Hint, "9000")
	})
	t.Run("https spoken to http", func(t *testing.T) {
		d := startEmulator(t, backend{name: "embedded"}, emulator.Faults{})
		_, err := runCheck(t, Connection{MaxAttempts: 1}, d.settings("t"), singlestore.SchemaDedupe)
		ce := checkErr(t, err, diagnose.KindTLS)
		assert.Contains(t, ce.Hint, "--scheme http")
		assert.Equal(t, []string{"port"}, keys(ce.Fields()))
	})
	t.Run("http spoken to https", func(t *testing.T) {
		em, err := emulator.New(emulator.Config{})
		require.NoError(t, err)
		defer em.Close()
		ts := quietTLSServer(em)
		defer ts.Close()
		_, err = runCheck(t, httpConn(), settingsOf(ts), singlestore.SchemaDedupe)
		ce := checkErr(t, err, diagnose.KindTLS)
		assert.Contains(t, ce.Hint, "--scheme https")
	})
	t.Run("untrusted certificate, then trusted", func(t *testing.T) {
		em, err := emulator.New(emulator.Config{Databases: []string{"analytics"}})
		require.NoError(t, err)
		defer em.Close()
		ts := quietTLSServer(em)
		defer ts.Close()
		_, err = runCheck(t, Connection{}, settingsOf(ts), singlestore.SchemaDedupe)
		ce := checkErr(t, err, diagnose.KindCertificate)
		assert.Contains(t, ce.Hint, "--ca-cert")
		assert.Contains(t, ce.Summary, "unknown authority")

		ca := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: ts.Certificate().Raw})
		res, err := runCheck(t, Connection{CACert: ca}, settingsOf(ts), singlestore.SchemaDedupe)
		require.NoError(t, err)
		assert.True(t, res.Created)
		assert.Equal(t, "https", res.Target.Scheme)
	})
	t.Run("timeout", func(t *testing.T) {
		ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			<-r.Context().Done()
		}))
		defer ts.Close()
		c, err := httpConn().NewClient(settingsOf(ts))
		require.NoError(t, err)
		ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
		defer cancel()
		_, err = diagnose.Check(ctx, c, httpConn().TargetOf(settingsOf(ts), singlestore.SchemaDedupe))
		ce := checkErr(t, err, diagnose.KindTimeout)
		assert.Contains(t, ce.Hint, "allowlist")
	})
}

// TestExplainClassifiesTypedErrors feeds diagnose.Explain the errors the standard
// library returns, wrapped the way the client wraps them.
func TestExplainClassifiesTypedErrors(t *testing.T) {
	target := diagnose.Target{Scheme: "https", Host: "svc.example.com", Port: "443", User: "admin", Database: "db", Table: "t"}
	wrap := func(err error) error { return fmt.Errorf("dataapi: pinging: %w", err) }
	for _, tc := range []struct {
		name   string
		err    error
		kind   diagnose.Kind
		fields []string
	}{
		{"dns not found", wrap(&net.OpError{Op: "dial", Err: &net.DNSError{Err: "no such host", Name: "svc.example.com", IsNotFound: true}}), diagnose.KindDNS, []string{"host"}},
		{"dns failure", wrap(&net.DNSError{Err: "server misbehaving", Name: "svc.example.com", IsTemporary: true}), diagnose.KindDNS, []string{"host"}},
		{"refused", wrap(&net.OpError{Op: "dial", Err: syscall.ECONNREFUSED}), diagnose.KindRefused, []string{"host", "port"}},
		{"reset", wrap(&net.OpError{Op: "read", Err: syscall.ECONNRESET}), diagnose.KindUnreachable, []string{"host", "port"}},
		{"deadline", wrap(context.DeadlineExceeded), diagnose.KindTimeout, []string{"host", "port"}},
		{"scheme mismatch", wrap(http.ErrSchemeMismatch), diagnose.KindTLS, []string{"port"}},
		{"unknown authority", wrap(x509.UnknownAuthorityError{}), diagnose.KindCertificate, []string{"host"}},
		{"hostname", wrap(x509.HostnameError{Host: "svc.example.com", Certificate: &x509.Certificate{}}), diagnose.KindCertificate, []string{"host"}},
		{"expired", wrap(x509.CertificateInvalidError{Reason: x509.Expired, Cert: &x509.Certificate{}}), diagnose.KindCertificate, []string{"host"}},
		{"config", &dataapi.ConfigError{Field: "Host", Value: "a b", Reason: "bare host"}, diagnose.KindSettings, nil},
		{"unexpected", wrap(dataapi.ErrUnexpectedResponse), diagnose.KindOther, nil},
		{"anything", errors.New("boom"), diagnose.KindOther, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ce := diagnose.Explain(tc.err, target)
			assert.Equal(t, tc.kind, ce.Kind, ce.Error())
			assert.ElementsMatch(t, tc.fields, keys(ce.Fields()))
			assert.ErrorIs(t, ce, tc.err)
			assert.Same(t, ce, diagnose.Explain(fmt.Errorf("again: %w", ce), target), "an explained error is kept")
		})
	}
}

func TestGrantSQLQuotes(t *testing.T) {
	assert.Equal(t, "GRANT CREATE, INSERT, SELECT ON `my``db`.* TO 'o''brien'@'%';", diagnose.GrantSQL("o'brien", "my`db"))
	assert.Equal(t, `GRANT CREATE, INSERT, SELECT ON `+"`db`"+`.* TO 'a\\b'@'%';`, diagnose.GrantSQL(`a\b`, "db"))
}

func TestSettingsFields(t *testing.T) {
	_, err := singlestore.ParseSettings([]byte(`{"host":"h","username":"u","password":"p","dbName":"d/x"}`))
	require.Error(t, err)
	assert.Equal(t, []string{"dbName"}, keys(diagnose.SettingsFields(err)))

	_, err = singlestore.ParseSettings([]byte(`{"port":"1"}`))
	var ve *destination.ValidationError
	require.ErrorAs(t, err, &ve)
	fields := diagnose.SettingsFields(err)
	assert.Contains(t, fields["$"], "'host'")
	assert.Contains(t, fields["$"], "'password'")
	assert.Nil(t, diagnose.SettingsFields(errors.New("other")))
}

func keys(m map[string]string) []string {
	out := []string{}
	for k := range m {
		out = append(out, k)
	}
	return out
}
