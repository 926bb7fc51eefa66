package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"io"
	"net/http"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// emuRun is a running "s2segment emulator" command.
type emuRun struct {
	stdout, stderr *syncBuffer
	stop           context.CancelFunc
	code           chan int
	url            string
}

var emuURL = regexp.MustCompile(`Data API at (https?://\S+)`)

// emuStart runs the emulator command with args and waits until it
// listens.
func emuStart(t *testing.T, args ...string) *emuRun {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	r := &emuRun{stdout: &syncBuffer{}, stderr: &syncBuffer{}, stop: cancel, code: make(chan int, 1)}
	go func() {
		r.code <- run(ctx, append([]string{"emulator"}, args...), strings.NewReader(""), r.stdout, r.stderr)
	}()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		if m := emuURL.FindStringSubmatch(r.stdout.String()); m != nil {
			r.url = m[1]
			t.Cleanup(func() { r.wait(t) })
			return r
		}
		select {
		case code := <-r.code:
			cancel()
			t.Fatalf("emulator exited with %d: %s%s", code, r.stdout.String(), r.stderr.String())
		case <-time.After(10 * time.Millisecond):
		}
	}
	cancel()
	t.Fatalf("emulator did not start: %s%s", r.stdout.String(), r.stderr.String())
	return nil
}

// wait stops the command and returns its exit status.
func (r *emuRun) wait(t *testing.T) int {
	t.Helper()
	r.stop()
	select {
	case code := <-r.code:
		r.code <- code
		return code
	case <-time.After(30 * time.Second):
		t.Fatal("emulator did not stop")
		return -1
	}
}

func emuPost(t *testing.T, client *http.Client, url, user, pass, body string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, url, strings.NewReader(body))
	require.NoError(t, err)
	if user != "" || pass != "" {
		req.SetBasicAuth(user, pass)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := client.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp.StatusCode, string(b)
}

func TestEmulatorServesAndStops(t *testing.T) {
	r := emuStart(t, "--addr", "127.0.0.1:0")
	out := r.stdout.String()
	port := r.url[strings.LastIndex(r.url, ":")+1:]
	assert.Contains(t, out, "--host 127.0.0.1 --port "+port+" --scheme http --database s2segment")
	assert.Contains(t, out, "any Basic credentials")
	assert.Contains(t, out, "embedded")

	c := http.DefaultClient
	status, body := emuPost(t, c, r.url+"/api/v2/exec", "root", "",
		`{"sql":"CREATE TABLE IF NOT EXISTS t (messageId VARCHAR(255) NOT NULL, type TEXT, SHARD KEY (messageId), UNIQUE KEY (messageId) USING HASH)","database":"s2segment"}`)
	require.Equal(t, http.StatusOK, status, body)
	status, body = emuPost(t, c, r.url+"/api/v2/exec", "root", "",
		`{"sql":"INSERT INTO t VALUES (?, ?), (?, ?) ON DUPLICATE KEY UPDATE type = type","database":"s2segment","args":["a","track","b","track"]}`)
	require.Equal(t, http.StatusOK, status, body)
	status, body = emuPost(t, c, r.url+"/api/v2/query/rows", "root", "", `{"sql":"SELECT COUNT(*) AS n FROM t","database":"s2segment"}`)
	assert.Equal(t, http.StatusOK, status)
	assert.JSONEq(t, `{"results":[{"rows":[{"n":2}]}]}`, body)

	assert.Equal(t, exitOK, r.wait(t))
	assert.Contains(t, r.stdout.String(), "stopped after 3 requests (3 statements, 0 errors")
	_, err := http.Get(r.url + "/ping")
	assert.Error(t, err, "nothing listens after the stop")
}

func TestEmulatorTLSWithGeneratedCert(t *testing.T) {
	r := emuStart(t, "--addr", "127.0.0.1:0", "--tls", "--user", "alice", "--password", "pw")
	require.True(t, strings.HasPrefix(r.url, "https://"), r.url)
	m := regexp.MustCompile(`--ca-cert (\S+)`).FindStringSubmatch(r.stdout.String())
	require.NotNil(t, m, r.stdout.String())
	pemBytes, err := os.ReadFile(m[1])
	require.NoError(t, err)
	pool := x509.NewCertPool()
	require.True(t, pool.AppendCertsFromPEM(pemBytes))
	client := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}}}

	resp, err := client.Get(r.url + "/ping")
	require.NoError(t, err)
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	assert.Equal(t, "pong", string(b))

	status, _ := emuPost(t, client, r.url+"/api/v2/query/rows", "alice", "wrong", `{"sql":"SELECT 1"}`)
	assert.Equal(t, http.StatusUnauthorized, status)
	status, body := emuPost(t, client, r.url+"/api/v2/query/rows", "alice", "pw", `{"sql":"SELECT 1 AS one"}`)
	assert.Equal(t, http.StatusOK, status, body)
	assert.NotContains(t, r.stdout.String(), "pw'", "the password is not printed")

	assert.Equal(t, exitOK, r.wait(t))
	_, err = os.Stat(m[1])
	assert.True(t, os.IsNotExist(err), "the generated certificate is removed at the stop")
}

func TestEmulatorFaultFlags(t *testing.T) {
	r := emuStart(t, "--addr", "127.0.0.1:0", "--fail-rate", "1", "--fail-status", "429", "--retry-after", "3s", "--database", "one,two")
	assert.Contains(t, r.stdout.String(), "faults:")
	assert.Contains(t, r.stdout.String(), "databases: one, two")
	req, err := http.NewRequest(http.MethodPost, r.url+"/api/v2/exec", strings.NewReader(`{"sql":"SELECT 1"}`))
	require.NoError(t, err)
	req.SetBasicAuth("root", "")
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, http.StatusTooManyRequests, resp.StatusCode)
	assert.Equal(t, "3", resp.Header.Get("Retry-After"))
}

func TestEmulatorUsageErrors(t *testing.T) {
	for _, args := range [][]string{
		{"--fail-rate", "2"},
		{"--fail-rate", "0.7", "--reset-rate", "0.7"},
		{"--fail-status", "200"},
		{"--latency", "soon"},
		{"--latency", "200ms-10ms"},
		{"--tls-cert", "x.pem"},
		{"--max-body-bytes", "0"},
		{"--too-large-status", "500"},
		{"--password", "p"},
		{"extra-arg"},
		{"--tls-cert", "/nonexistent.pem", "--tls-key", "/nonexistent.key", "--addr", "127.0.0.1:0"},
	} {
		code, _, errOut := runCLI(t, "", append([]string{"emulator"}, args...)...)
		assert.Equal(t, exitUsage, code, "args %q: %s", args, errOut)
		assert.Contains(t, errOut, "s2segment: ", "args %q", args)
	}
}

func TestEmulatorUnreachableDSN(t *testing.T) {
	code, _, errOut := runCLI(t, "", "emulator", "--addr", "127.0.0.1:0", "--dsn", "u:hunter2@tcp(127.0.0.1:1)/?timeout=2s")
	assert.Equal(t, exitFailed, code)
	assert.Contains(t, errOut, "127.0.0.1:1")
	assert.NotContains(t, errOut, "hunter2")
}

func TestEmulatorAddressInUse(t *testing.T) {
	r := emuStart(t, "--addr", "127.0.0.1:0")
	addr := strings.TrimPrefix(r.url, "http://")
	code, _, errOut := runCLI(t, "", "emulator", "--addr", addr)
	assert.Equal(t, exitFailed, code)
	assert.Contains(t, errOut, "listening on "+addr)
}

func TestEmulatorHelp(t *testing.T) {
	code, out, _ := runCLI(t, "", "emulator", "--help")
	assert.Equal(t, exitOK, code)
	for _, s := range []string{"hash indexes", "unique keys", "--dsn with MariaDB", "--singlestore-rules=false", "any Basic credentials", "s2segment", "--fail-rate", "--latency", "--max-body-bytes"} {
		assert.Contains(t, out, s)
	}
}

func TestParseLatency(t *testing.T) {
	for _, tc := range []struct {
		in     string
		lo, hi time.Duration
		ok     bool
	}{
		{"", 0, 0, true}, {"50ms", 50 * time.Millisecond, 0, true}, {"10ms-200ms", 10 * time.Millisecond, 200 * time.Millisecond, true},
		{"1s - 2s", time.Second, 2 * time.Second, true}, {"5ms-5ms", 5 * time.Millisecond, 5 * time.Millisecond, true},
		{"x", 0, 0, false}, {"-5ms", 0, 0, false}, {"10ms-", 0, 0, false}, {"2s-1s", 0, 0, false},
	} {
		lo, hi, err := parseLatency(tc.in)
		if !tc.ok {
			assert.Error(t, err, tc.in)
			continue
		}
		require.NoError(t, err, tc.in)
		assert.Equal(t, tc.lo, lo, tc.in)
		assert.Equal(t, tc.hi, hi, tc.in)
	}
}

// TestEmulatorSingleStoreRulesFlag: by default the emulator refuses what
// SingleStore refuses (an upsert of the unique key of a columnstore table);
// --singlestore-rules=false leaves statements to the engine.
func TestEmulatorSingleStoreRulesFlag(t *testing.T) {
	const ddl = `{"sql":"CREATE TABLE t (m VARCHAR(255) NOT NULL, SHARD KEY (m), UNIQUE KEY (m) USING HASH)","database":"s2segment"}`
	const upsert = `{"sql":"INSERT INTO t (m) VALUES ('a') ON DUPLICATE KEY UPDATE m = m","database":"s2segment"}`
	for _, tc := range []struct {
		args   []string
		banner string
		status int
	}{
		{nil, "rules:     SingleStore's", http.StatusBadRequest},
		{[]string{"--singlestore-rules=false"}, "rules:     the engine's own", http.StatusOK},
	} {
		r := emuStart(t, append([]string{"--addr", "127.0.0.1:0"}, tc.args...)...)
		assert.Contains(t, r.stdout.String(), tc.banner)
		status, body := emuPost(t, http.DefaultClient, r.url+"/api/v2/exec", "root", "", ddl)
		require.Equal(t, http.StatusOK, status, body)
		status, body = emuPost(t, http.DefaultClient, r.url+"/api/v2/exec", "root", "", upsert)
		assert.Equal(t, tc.status, status, body)
		if tc.status != http.StatusOK {
			assert.Contains(t, body, "Error 1706 (HY000): ")
		}
	}
}
