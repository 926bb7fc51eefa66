package dataapi

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestRedactorRule(t *testing.T) {
	r := NewRedactor("admin", "ab", "longsecret")
	basic := base64.StdEncoding.EncodeToString([]byte("admin:ab"))
	for in, want := range map[string]string{
		"mysql://admin:ab@db:3306/x":         "mysql://admin:REDACTED@db:3306/x",
		"password=ab; table about tab":       "password=REDACTED; table about tab",
		"'ab' is wrong":                      "'REDACTED' is wrong",
		"ab":                                 "REDACTED",
		"cabbage, abc, lab, ab_c, äab":       "cabbage, abc, lab, ab_c, äab",
		"key longsecret and xlongsecretx":    "key REDACTED and xREDACTEDx",
		"Authorization: Basic " + basic:      "Authorization: Basic REDACTED",
		"authorization: token-of-anyone\nok": "authorization: REDACTED\nok",
		"got Basic " + basic + " here":       "got Basic REDACTED here",
		"basic usage is fine":                "basic usage is fine",
		"Bearer abcdefgh12345678 then":       "Bearer REDACTED then",
		"bearer token":                       "bearer token",
		"":                                   "",
	} {
		assert.Equal(t, want, r.Redact(in), "%q", in)
	}
	assert.Equal(t, "x", (*Redactor)(nil).Redact("x"))
}

// echoAPI answers every request with an error body that echoes the
// request's credentials back, as some proxies and misconfigured servers do.
func echoAPI(status int) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		user, pass, _ := r.BasicAuth()
		w.Header().Set("Content-Type", "text/plain")
		w.WriteHeader(status)
		fmt.Fprintf(w, "Error 1045 (28000): Access denied for user '%s'@'%s' (using password: %s); Authorization: %s; dsn %s:%s@tcp(db)/x",
			user, pass, pass, r.Header.Get("Authorization"), user, pass)
	}
}

func TestSecretsNeverLeakWhateverTheirLength(t *testing.T) {
	for _, pw := range []string{"x", "p1", "p@s", "hunter2", "correct horse battery"} {
		for _, status := range []int{http.StatusUnauthorized, http.StatusBadRequest, http.StatusServiceUnavailable} {
			srv := httptest.NewServer(echoAPI(status))
			u, _ := url.Parse(srv.URL)
			var logs bytes.Buffer
			c, err := New(Config{Host: u.Hostname(), Port: u.Port(), Scheme: "http", User: "admin", Password: pw,
				MaxAttempts: 2, BackoffBase: time.Millisecond, BackoffMax: time.Millisecond,
				Logger: slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))})
			require.NoError(t, err)
			_, err = c.Exec(context.Background(), "INSERT INTO t VALUES (1)")
			require.Error(t, err)
			text := err.Error() + "\n" + logs.String() + fmt.Sprintf("%v %+v %#v", c, c, c)
			var ae *APIError
			require.ErrorAs(t, err, &ae)
			auth := base64.StdEncoding.EncodeToString([]byte("admin:" + pw))
			assert.NotContains(t, text, auth, "password %q, status %d", pw, status)
			for _, tok := range tokens(text) {
				assert.NotEqual(t, pw, tok, "password %q leaked as a token in %q", pw, text)
			}
			if len(pw) >= 4 {
				assert.NotContains(t, text, pw)
			}
			assert.Contains(t, ae.Message, "Access denied for user 'admin'", "the rest of the message is kept")
			srv.Close()
		}
	}
}

// tokens splits s at every byte that is not a letter, digit, '_' or part
// of a password under test ('@').
func tokens(s string) []string {
	return strings.FieldsFunc(s, func(r rune) bool {
		return !(r == '_' || r == '@' || r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= 0x80)
	})
}

func TestSuccessWithoutRowsAffectedIsNotAWrite(t *testing.T) {
	for _, body := range []string{`{}`, `{"lastInsertId":0}`, `<html>ok</html>`} {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			w.WriteHeader(http.StatusOK)
			_, _ = w.Write([]byte(body))
		}))
		u, _ := url.Parse(srv.URL)
		c, err := New(Config{Host: u.Hostname(), Port: u.Port(), Scheme: "http", User: "u", Password: "p"})
		require.NoError(t, err)
		_, err = c.Exec(context.Background(), "INSERT INTO t VALUES (1)")
		assert.ErrorIs(t, err, ErrUnexpectedResponse, "body %s", body)
		assert.True(t, SetupFault(err), "body %s", body)
		assert.EqualValues(t, 1, c.Stats().Requests, "not retried: body %s", body)
		srv.Close()
	}
}

func TestSetupAndValueFaults(t *testing.T) {
	api := func(status, errno int, state string) error {
		e := &APIError{StatusCode: status, Errno: errno, SQLState: state, Retryable: RetryableStatus(status)}
		switch {
		case status == 401, errno == 1045:
			e.kind = ErrUnauthorized
		case status == 403:
			e.kind = ErrForbidden
		case errno == 1146:
			e.kind = ErrMissingTable
		case errno == 1049:
			e.kind = ErrUnknownDatabase
		}
		return fmt.Errorf("writing: %w", e)
	}
	for _, tc := range []struct {
		name         string
		err          error
		setup, value bool
	}{
		{"401", api(401, 0, ""), true, false},
		{"403", api(403, 0, ""), true, false},
		{"1146 missing table", api(400, 1146, "42S02"), true, false},
		{"1049 unknown database", api(400, 1049, "42000"), true, false},
		{"HTML 404", api(404, 0, ""), true, false},
		{"HTML 400", api(400, 0, ""), true, false},
		{"unexpected", fmt.Errorf("x: %w", ErrUnexpectedResponse), true, false},
		{"503", api(503, 0, ""), false, false},
		{"429", api(429, 0, ""), false, false},
		{"too large", &APIError{StatusCode: 413, kind: ErrRequestTooLarge}, false, false},
		{"1406 too long", api(400, 1406, "22001"), false, true},
		{"4025 check", api(400, 4025, "23000"), false, true},
		{"3140 json", api(400, 3140, "22032"), false, true},
		{"1366 string value", api(400, 1366, "22007"), false, false},
		{"1048 null", api(400, 1048, "23000"), false, false},
		{"1105 generic", api(400, 1105, "HY000"), false, false},
		{"transport", errors.New("connection refused"), false, false},
	} {
		assert.Equal(t, tc.setup, SetupFault(tc.err), "%s: SetupFault", tc.name)
		assert.Equal(t, tc.value, ValueFault(tc.err), "%s: ValueFault", tc.name)
	}
}
