package main

import (
	"context"
	"crypto/ecdsa"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/spf13/pflag"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/tidwall/gjson"

	"github.com/s2segment/s2segment/dataapi/emulator"
	"github.com/s2segment/s2segment/internal/endpoint"
)

// TestServeEveryRoute runs serve on its embedded emulator and exercises
// every route and format through real HTTP, reading the rows back from the
// emulator.
func TestServeEveryRoute(t *testing.T) {
	r := serveStart(t, "--write-key", serveTestKey, "--webhook-secret", serveTestSecret, "--actions-token", serveTestToken,
		"--scheme", "http", "--max-event-bytes", "8192", "--log-level", "debug")
	require.NotEmpty(t, r.emuURL, r.stdout.String())
	out := r.stdout.String()
	assert.Contains(t, out, "No --host given: started the embedded Data API emulator")
	assert.Contains(t, out, "curl -u '"+serveTestKey+":' -H 'Content-Type: application/json' -d '{\"userId\":\"user-1\"")
	assert.Contains(t, out, r.url+"/v1/track")

	c := http.DefaultClient
	auth := basicAuth(serveTestKey)
	want := map[string]int{}

	// Tracking API, one event per route, authenticated either way.
	for _, typ := range []string{"track", "identify", "page", "screen", "group", "alias"} {
		id := "route-" + typ
		status, body := servePost(t, c, r.url+"/v1/"+typ, serveEvent(typ, id), auth)
		require.Equal(t, 200, status, "%s: %s", typ, body)
		assert.JSONEq(t, `{"success":true}`, body)
		want[id] = 1
	}
	withKey := strings.Replace(serveEvent("track", "route-body-key"), `{`, `{"writeKey":"`+serveTestKey+`",`, 1)
	status, body := servePost(t, c, r.url+"/v1/track", withKey, nil)
	require.Equal(t, 200, status, body)
	want["route-body-key"] = 1

	// A mixed batch: the valid events are written, the others rejected.
	batch := `{"batch":[` + serveEvent("track", "batch-1") + `,` +
		`{"type":"track","messageId":"batch-bad","timestamp":"2025-07-07T10:19:25Z","userId":"u"},` + // no event
		`42,` + serveEvent("identify", "batch-2") + `],"context":{"library":{"name":"test"}}}`
	for range 2 { // the second time is a retry: nothing is written twice
		status, body = servePost(t, c, r.url+"/v1/batch", batch, auth)
		require.Equal(t, 200, status, body)
	}
	want["batch-1"], want["batch-2"] = 1, 1
	status, body = servePost(t, c, r.url+"/v1/import", `{"batch":[`+serveEvent("page", "import-1")+`]}`, auth)
	require.Equal(t, 200, status, body)
	want["import-1"] = 1

	// Refusals.
	status, _ = servePost(t, c, r.url+"/v1/track", serveEvent("track", "wrong-key"), basicAuth("not-the-key"))
	assert.Equal(t, 401, status)
	status, body = servePost(t, c, r.url+"/v1/track", `{"type":"track",`, auth)
	assert.Equal(t, 400, status)
	assert.Contains(t, body, "offset")
	big := `{"type":"track","event":"Big","messageId":"too-big","properties":{"blob":"` + strings.Repeat("x", 9000) + `"}}`
	status, _ = servePost(t, c, r.url+"/v1/track", big, auth)
	assert.Equal(t, 413, status)

	// Webhooks: signed as Segment signs them; a bad signature is refused.
	hook := serveEvent("track", "hook-1")
	status, body = servePost(t, c, r.url+"/webhook", hook, map[string]string{endpoint.SignatureHeader: endpoint.Sign([]byte(serveTestSecret), []byte(hook))})
	require.Equal(t, 200, status, body)
	want["hook-1"] = 1
	arr := `[` + serveEvent("track", "hook-2") + `,` + serveEvent("page", "hook-3") + `]`
	status, body = servePost(t, c, r.url+"/webhook/default", arr, map[string]string{endpoint.SignatureHeader: endpoint.Sign([]byte(serveTestSecret), []byte(arr))})
	require.Equal(t, 200, status, body)
	want["hook-2"], want["hook-3"] = 1, 1
	status, _ = servePost(t, c, r.url+"/webhook", serveEvent("track", "hook-bad"), map[string]string{endpoint.SignatureHeader: endpoint.Sign([]byte("wrong"), []byte(hook))})
	assert.Equal(t, 401, status)

	// Actions routes.
	bearer := map[string]string{"Authorization": "Bearer " + serveTestToken}
	status, body = serveGet(t, r.url+"/manifest")
	require.Equal(t, 200, status)
	assert.Equal(t, "SingleStore", gjson.Get(body, "name").String())
	emuHost, emuPort, _ := net.SplitHostPort(strings.TrimPrefix(r.emuURL, "http://"))
	settings := fmt.Sprintf(`{"host":%q,"port":%q,"username":"root","password":%q,"dbName":"s2segment","tableName":"actions_table"}`, emuHost, emuPort, serveTestPassword)
	status, body = servePost(t, c, r.url+"/authenticate", settings, bearer)
	require.Equal(t, 200, status)
	assert.JSONEq(t, `{"ok":true}`, body)
	status, _ = servePost(t, c, r.url+"/authenticate", settings, nil)
	assert.Equal(t, 401, status, "the Actions routes need the token")
	send := `{"payload":[` + serveEvent("track", "send-1") + `,{"type":"track"}],"settings":` + settings + `}`
	status, body = servePost(t, c, r.url+"/send", send, bearer)
	require.Equal(t, 200, status, body)
	assert.Equal(t, int64(200), gjson.Get(body, "multistatus.0.status").Int(), body)
	assert.Equal(t, int64(400), gjson.Get(body, "multistatus.1.status").Int(), body)

	// Operations.
	for _, path := range []string{"/healthz", "/readyz"} {
		status, body = serveGet(t, r.url+path)
		assert.Equal(t, 200, status, "%s: %s", path, body)
	}
	status, body = serveGet(t, r.url+"/metrics")
	assert.Equal(t, 200, status)
	assert.Contains(t, body, "s2segment_server_events_total")
	// Every Data API client counts: the source's and the one /send made.
	requests := regexp.MustCompile(`(?m)^s2segment_dataapi_requests_total (\d+)$`).FindStringSubmatch(body)
	require.Len(t, requests, 2, "no Data API request counter in /metrics")
	assert.NotEqual(t, "0", requests[1])
	assert.Contains(t, body, "s2segment_dataapi_retries_total")

	assert.Equal(t, want, rowCounts(t, r.emuURL, "s2segment", "segment_data"))
	assert.Equal(t, map[string]int{"send-1": 1}, rowCounts(t, r.emuURL, "s2segment", "actions_table"))

	require.Equal(t, exitOK, r.wait(t))
	out = r.stdout.String()
	assert.Contains(t, out, fmt.Sprintf("source default: events %d written", len(want)+2), "the batch was written twice, as retries are") // +2: batch retry
	logs := r.stderr.String()
	for _, line := range strings.Split(strings.TrimSpace(logs), "\n") {
		assert.True(t, gjson.Valid(line), "log line is not JSON: %s", line)
	}
	assert.Contains(t, logs, `"route":"track"`)
	for _, secret := range []string{serveTestKey, serveTestSecret, serveTestToken, serveTestPassword} {
		assert.NotContains(t, logs, secret)
	}
}

// TestServeWritesToADataAPI runs serve against an emulator of its own (on
// each backend), as against a SingleStore deployment.
func TestServeWritesToADataAPI(t *testing.T) {
	for _, b := range serveBackends() {
		t.Run(b.name, func(t *testing.T) {
			d := startServeDB(t, b, emulator.Faults{})
			t.Setenv(serveWriteKeyEnv, serveTestKey)
			r := serveStart(t, append(d.flags(), "--table", "web", "--mapping", `{"userId":{"@path":"$.anonymousId"}}`, "--actions=false")...)
			assert.Empty(t, r.emuURL)
			assert.Contains(t, r.stdout.String(), `-u "$S2_WRITE_KEY:"`, "a key that was given is not printed")
			assert.NotContains(t, r.stdout.String(), serveTestKey)

			ev := `{"type":"track","event":"Viewed","messageId":"ext-1","timestamp":"2025-07-07T10:19:25Z","anonymousId":"anon-7"}`
			status, body := servePost(t, http.DefaultClient, r.url+"/v1/track", ev, basicAuth(serveTestKey))
			require.Equal(t, 200, status, body)
			status, _ = serveGet(t, r.url+"/manifest")
			assert.Equal(t, 404, status, "--actions=false")

			rows, err := dbClient(t, d.url, d.database).QueryRows(context.Background(), "SELECT userId FROM `web`")
			require.NoError(t, err)
			require.Len(t, rows, 1)
			assert.JSONEq(t, `"anon-7"`, string(rows[0]["userId"]), "the --mapping applies")
			require.Equal(t, exitOK, r.wait(t))
		})
	}
}

func TestServeConfigFile(t *testing.T) {
	d := startServeDB(t, serveBackend{name: "embedded"}, emulator.Faults{})
	t.Setenv("S2_TEST_SHOP_KEY", "shop-key-123")
	t.Setenv("S2_TEST_DB_PASSWORD", serveTestPassword)
	cfg := fmt.Sprintf(`{"sources":[
	  {"name":"web","writeKey":"web-key-456","webhookSecret":"web-secret",
	   "settings":{"host":%q,"port":%q,"username":"root","dbName":%q,"tableName":"web_events"},"passwordEnv":"S2_TEST_DB_PASSWORD"},
	  {"name":"shop","writeKeyEnv":"S2_TEST_SHOP_KEY","settings":{},"schema":"reference",
	   "subscription":"type = \"track\""}
	]}`, d.host, d.port, d.database)
	path := filepath.Join(t.TempDir(), "serve.json")
	require.NoError(t, os.WriteFile(path, []byte(cfg), 0o600))

	r := serveStart(t, "--config", path, "--scheme", "http")
	out := r.stdout.String()
	assert.Contains(t, out, "source web: Tracking API /v1/*, webhooks /webhook/web -> `"+d.database+"`.`web_events`")
	assert.Contains(t, out, "source shop: Tracking API /v1/* -> `s2segment`.`segment_data` at "+r.emuURL+" (embedded emulator), reference schema")

	c := http.DefaultClient
	status, body := servePost(t, c, r.url+"/v1/track", serveEvent("track", "web-1"), basicAuth("web-key-456"))
	require.Equal(t, 200, status, body)
	hook := serveEvent("identify", "web-2")
	status, body = servePost(t, c, r.url+"/webhook/web", hook, map[string]string{endpoint.SignatureHeader: endpoint.Sign([]byte("web-secret"), []byte(hook))})
	require.Equal(t, 200, status, body)
	status, body = servePost(t, c, r.url+"/v1/batch", `{"batch":[`+serveEvent("track", "shop-1")+`,`+serveEvent("identify", "shop-2")+`]}`, basicAuth("shop-key-123"))
	require.Equal(t, 200, status, body)

	assert.Equal(t, map[string]int{"web-1": 1, "web-2": 1}, rowCounts(t, d.url, d.database, "web_events"))
	assert.Equal(t, map[string]int{"shop-1": 1}, rowCounts(t, r.emuURL, "s2segment", "segment_data"), "the shop's subscription selects tracks only")
	require.Equal(t, exitOK, r.wait(t))
	assert.Contains(t, r.stdout.String(), "source shop: events 1 written, 1 rejected")
}

func TestServeStopsOnWrongSettings(t *testing.T) {
	d := startServeDB(t, serveBackend{name: "embedded"}, emulator.Faults{})
	args := append(d.flags(), "--write-key", serveTestKey)
	for i, a := range args {
		if a == "--database" {
			args[i+1] = "no_such_database"
		}
	}
	code, out, errOut := runCLI(t, "", append([]string{"serve", "--addr", "127.0.0.1:0"}, args...)...)
	assert.Equal(t, exitFailed, code, out)
	assert.Contains(t, errOut, "CREATE DATABASE `no_such_database`;")
	assert.NotContains(t, errOut+out, serveTestPassword)
}

func TestServeStartsWhileTheDatabaseIsUnreachable(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	_, port, _ := net.SplitHostPort(ln.Addr().String())
	require.NoError(t, ln.Close())
	r := serveStart(t, "--host", "127.0.0.1", "--port", port, "--scheme", "http", "--user", "u", "--database", "db",
		"--write-key", serveTestKey, "--write-db-timeout", "2s")
	assert.Contains(t, r.stderr.String(), "warning: source default: connection refused", "warnings go to standard error")
	assert.NotContains(t, r.stdout.String(), "warning:")
	status, body := serveGet(t, r.url+"/readyz")
	assert.Equal(t, 503, status, body)
	status, body = servePost(t, http.DefaultClient, r.url+"/v1/track", serveEvent("track", "x"), basicAuth(serveTestKey))
	assert.Equal(t, 503, status, "an event that could not be written is not acknowledged: %s", body)
	require.Equal(t, exitOK, r.wait(t))
	assert.Contains(t, r.stdout.String(), "events 0 written, 0 rejected, 1 failed")
}

func TestServeTLS(t *testing.T) {
	dir := t.TempDir()
	certFile, keyFile := filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	cert, err := selfSignedCert(certFile, "127.0.0.1")
	require.NoError(t, err)
	der, err := x509.MarshalECPrivateKey(cert.PrivateKey.(*ecdsa.PrivateKey))
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: der}), 0o600))

	r := serveStart(t, "--tls-cert", certFile, "--tls-key", keyFile, "--write-key", serveTestKey)
	require.True(t, strings.HasPrefix(r.url, "https://"), r.url)
	pool := x509.NewCertPool()
	pem, err := os.ReadFile(certFile)
	require.NoError(t, err)
	require.True(t, pool.AppendCertsFromPEM(pem))
	client := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}}, Timeout: 20 * time.Second}
	status, body := servePost(t, client, r.url+"/v1/track", serveEvent("track", "tls-1"), basicAuth(serveTestKey))
	require.Equal(t, 200, status, body)
	assert.Equal(t, map[string]int{"tls-1": 1}, rowCounts(t, r.emuURL, "s2segment", "segment_data"))
}

func TestServeUsageErrors(t *testing.T) {
	dir := t.TempDir()
	badConfig := filepath.Join(dir, "bad.json")
	require.NoError(t, os.WriteFile(badConfig, []byte(`{"sources":[{"name":"a","writeKey":"k","settings":{},"mapings":{}}]}`), 0o600))
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--schema", "wide"}, "--schema"},
		{[]string{"--host", "db.example.com", "--user", "u", "--database", "d"}, "--write-key"},
		{[]string{"--host", "db.example.com", "--write-key", "k", "--database", "d"}, "--user"},
		{[]string{"--host", "db.example.com", "--write-key", "k", "--user", "u"}, "--database"},
		{[]string{"--user", "u"}, "--host is not"},
		{[]string{"--config", badConfig}, `unknown field "mapings"`},
		{[]string{"--config", filepath.Join(dir, "missing.json")}, "--config"},
		{[]string{"--config", badConfig, "--host", "h"}, "--host is a per-source setting"},
		{[]string{"--addr", "0.0.0.0:0"}, "--actions-token"},
		{[]string{"--tls-cert", "x.pem"}, "--tls-cert and --tls-key go together"},
		{[]string{"--tls-cert", "x.pem", "--tls-key", "y.pem"}, "--tls-cert/--tls-key"},
		{[]string{"--mapping", `{"event":`}, "--mapping"},
		{[]string{"--mapping", `{"event":{"@oops":1}}`}, "source default"},
		{[]string{"--max-event-bytes", "0"}, "--max-event-bytes"},
		{[]string{"--write-timeout", "5s"}, "WriteTimeout"},
		{[]string{"--linger", "-1s"}, "--linger"},
		{[]string{"--log-level", "loud"}, "--log-level"},
		{[]string{"--ca-cert", filepath.Join(dir, "nope.pem")}, "--ca-cert"},
	} {
		code, out, errOut := runCLI(t, "", append([]string{"serve", "--addr", "127.0.0.1:0"}, tc.args...)...)
		assert.Equal(t, exitUsage, code, "%q: %s%s", tc.args, out, errOut)
		assert.Contains(t, errOut, tc.want, "%q", tc.args)
	}
}

func TestServeHelp(t *testing.T) {
	code, out, _ := runCLI(t, "", "serve", "--help")
	assert.Equal(t, exitOK, code)
	for _, flag := range []string{"--write-key", "--webhook-secret", "--config", "--actions-token", "--linger", "--tls-cert", "--max-in-flight-bytes", "--scheme"} {
		assert.Contains(t, out, flag)
	}
}

// TestServeGroupFlags checks how --linger and --max-group-events reach the
// endpoint: --linger 0 is no wait (not the endpoint's default linger), and
// no --max-group-events is the smallest batch size of the sources.
func TestServeGroupFlags(t *testing.T) {
	for _, tc := range []struct {
		linger     time.Duration
		events     int
		wantLinger time.Duration
		wantEvents int
	}{
		{defaultServeLinger, 0, defaultServeLinger, 100},
		{0, 0, endpoint.NoLinger, 100},
		{7 * time.Millisecond, 20, 7 * time.Millisecond, 20},
	} {
		f := &serveFlags{linger: tc.linger, groupEvents: tc.events, groupCommit: true, writeSlots: 3}
		var cfg endpoint.Config
		f.endpointConfig(pflag.NewFlagSet("serve", pflag.ContinueOnError), &cfg, 100)
		assert.Equal(t, endpoint.GroupConfig{Linger: tc.wantLinger, MaxEvents: tc.wantEvents, MaxConcurrentWrites: 3}, cfg.Group, "%+v", tc)
	}
}
