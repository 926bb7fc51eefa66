package dataapi

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/base64"
	"encoding/pem"
	"fmt"
	"io"
	"log"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestHTTPS(t *testing.T) {
	f := &fakeAPI{steps: []step{execOK}}
	f.t = t
	srv := httptest.NewUnstartedServer(f)
	srv.Config.ErrorLog = log.New(io.Discard, "", 0) // the failed handshakes below are expected
	srv.StartTLS()
	defer srv.Close()
	caPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw})
	u, _ := url.Parse(srv.URL)
	base := Config{Host: u.Hostname(), Port: u.Port(), User: "admin", Password: "pw"} // Scheme defaults to https

	c, err := New(withCA(base, caPEM))
	require.NoError(t, err)
	_, err = c.Exec(context.Background(), "SELECT 1")
	require.NoError(t, err, "trusting the server's CA")

	c, err = New(base)
	require.NoError(t, err)
	_, err = c.Exec(context.Background(), "SELECT 1")
	var verr *tls.CertificateVerificationError
	require.ErrorAs(t, err, &verr, "an unknown CA fails verification")
	assert.Equal(t, int64(1), c.Stats().Requests, "a verification failure is not retried")

	insecure := base
	insecure.InsecureSkipVerify = true
	c, err = New(insecure)
	require.NoError(t, err)
	_, err = c.Exec(context.Background(), "SELECT 1")
	require.NoError(t, err, "verification off")

	plain := base
	plain.Scheme = "http"
	c, err = New(plain)
	require.NoError(t, err)
	_, err = c.Exec(context.Background(), "SELECT 1")
	var ae *APIError
	require.ErrorAs(t, err, &ae, "http to an https server")
	assert.Equal(t, http.StatusBadRequest, ae.StatusCode)

	plainSrv := httptest.NewServer(f)
	defer plainSrv.Close()
	pu, _ := url.Parse(plainSrv.URL)
	c, err = New(Config{Host: pu.Hostname(), Port: pu.Port(), User: "admin", Password: "pw"})
	require.NoError(t, err)
	_, err = c.Exec(context.Background(), "SELECT 1")
	require.ErrorIs(t, err, http.ErrSchemeMismatch, "https to a plain-HTTP server")
	assert.Equal(t, int64(1), c.Stats().Requests, "a scheme mismatch is not retried")

	_, err = New(withCA(base, []byte("not a certificate")))
	var ce *ConfigError
	require.ErrorAs(t, err, &ce)
	assert.Equal(t, "CACert", ce.Field)
}

func withCA(c Config, pem []byte) Config {
	c.CACert = pem
	return c
}

func TestSecretsNeverAppear(t *testing.T) {
	const user, password = "admin", "pa55-SECRET-w0rd"
	token := base64.StdEncoding.EncodeToString([]byte(user + ":" + password))
	echo := func(code int) step {
		return func(w http.ResponseWriter, r *http.Request, b []byte) {
			u, p, _ := r.BasicAuth()
			status(code, fmt.Sprintf("Error 1045 (28000): Access denied for %s using password %s; header %s",
				u, p, r.Header.Get("Authorization")))(w, r, b)
		}
	}
	f := &fakeAPI{steps: []step{echo(401), echo(500), echo(500), echo(500), echo(500), ok(password), ok(`{"error":{"code":1,"message":"` + token + `"}}`)}}
	var logs bytes.Buffer
	c, _, srv := serve(t, f, func(c *Config) {
		c.User, c.Password = user, password
		c.Logger = slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	})
	ctx := context.Background()
	var texts []string
	add := func(err error) {
		require.Error(t, err)
		texts = append(texts, err.Error(), fmt.Sprintf("%+v", err), fmt.Sprintf("%#v", err))
	}
	_, err := c.Exec(ctx, "SELECT 1") // 401
	add(err)
	_, err = c.Exec(ctx, "SELECT 1") // 500 four times, retried and logged
	add(err)
	add(c.Ping(ctx)) // "pong" expected, the password came back
	_, err = c.QueryRows(ctx, "SELECT 1")
	add(err)
	assert.Equal(t, "Basic "+token, f.req(0).auth, "the server did get the credentials")

	srv.Close() // transport errors
	_, err = c.Exec(ctx, "SELECT 1")
	add(err)

	_, err = New(Config{Host: user + ":" + password + "@example.com"})
	add(err)

	cfg := Config{Host: "example.com", User: user, Password: password}
	texts = append(texts, logs.String(),
		fmt.Sprint(cfg), fmt.Sprintf("%v %+v %#v %s", cfg, cfg, cfg, cfg), fmt.Sprintf("%v %+v %#v %s", c, c, c, c),
		fmt.Sprintf("%+v", c.Stats()))
	assert.Contains(t, logs.String(), "retrying", "retries are logged")
	assert.Contains(t, fmt.Sprintf("%+v", cfg), "Password:REDACTED")
	for _, s := range texts {
		assert.NotContains(t, s, password)
		assert.NotContains(t, s, token)
	}
}

func TestConfig(t *testing.T) {
	tests := []struct {
		cfg   Config
		field string
	}{
		{Config{}, "Host"},
		{Config{Host: "https://example.com"}, "Host"},
		{Config{Host: "example.com/api"}, "Host"},
		{Config{Host: "example.com:9000"}, "Host"},
		{Config{Host: "u:p@example.com"}, "Host"},
		{Config{Host: "example.com", Scheme: "ftp"}, "Scheme"},
		{Config{Host: "example.com", Port: "http"}, "Port"},
		{Config{Host: "example.com", Port: "70000"}, "Port"},
		{Config{Host: "example.com", Timeout: -1}, "Timeout"},
		{Config{Host: "example.com", MaxAttempts: -1}, "MaxAttempts"},
		{Config{Host: "example.com", MaxInFlight: -2}, "MaxInFlight"},
		{Config{Host: "example.com", BackoffBase: 2e9, BackoffMax: 1e9}, "BackoffMax"},
		{Config{Host: "example.com", MaxResponseBytes: -1}, "MaxResponseBytes"},
	}
	for _, tc := range tests {
		_, err := New(tc.cfg)
		var ce *ConfigError
		if assert.ErrorAs(t, err, &ce, "%+v", tc.cfg) {
			assert.Equal(t, tc.field, ce.Field)
			assert.True(t, strings.HasPrefix(err.Error(), "dataapi: Config."+tc.field))
		}
	}
	for _, tc := range []struct {
		cfg  Config
		base string
	}{
		{Config{Host: "example.com"}, "https://example.com:443"},
		{Config{Host: "example.com", Scheme: "http"}, "http://example.com:80"},
		{Config{Host: "localhost", Scheme: "http", Port: "9000"}, "http://localhost:9000"},
		{Config{Host: "::1", Port: "9000"}, "https://[::1]:9000"},
		{Config{Host: "[::1]"}, "https://[::1]:443"},
	} {
		c, err := New(tc.cfg)
		require.NoError(t, err)
		assert.Equal(t, tc.base, c.base)
		assert.Equal(t, DefaultMaxAttempts, c.cfg.MaxAttempts)
		assert.Equal(t, DefaultMaxInFlight, cap(c.sem))
	}
}

// The resty client must not write anywhere by itself.
func TestNoStrayLogging(t *testing.T) {
	f := &fakeAPI{steps: []step{execOK}}
	var logs bytes.Buffer
	c, _, _ := serve(t, f, func(c *Config) {
		c.Logger = slog.New(slog.NewTextHandler(io.MultiWriter(&logs), nil))
	})
	_, err := c.Exec(context.Background(), "SELECT 1")
	require.NoError(t, err)
	assert.Empty(t, logs.String())
}
