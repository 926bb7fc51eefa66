package endpoint

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/tidwall/gjson"
)

func TestConfigErrors(t *testing.T) {
	sink := newMemSink()
	tests := []struct {
		name  string
		cfg   Config
		field string
	}{
		{"nothing to serve", Config{}, "Sources"},
		{"no sink", Config{Sources: []Source{{Name: "a", WriteKey: "k"}}}, "Sources[0].Sink"},
		{"no credentials", Config{Sources: []Source{{Name: "a", Sink: sink}}}, "Sources[0]"},
		{"bad name", Config{Sources: []Source{{Name: "a/b", WriteKey: "k", Sink: sink}}}, "Sources[0].Name"},
		{"empty name among several", Config{Sources: []Source{{WriteKey: "k", Sink: sink}, {Name: "b", WriteKey: "k2", Sink: sink}}}, "Sources[0].Name"},
		{"duplicate name", Config{Sources: []Source{{Name: "a", WriteKey: "k", Sink: sink}, {Name: "a", WriteKey: "k2", Sink: sink}}}, "Sources[1].Name"},
		{"duplicate write key", Config{Sources: []Source{{Name: "a", WriteKey: testWriteKey, Sink: sink}, {Name: "b", WriteKey: testWriteKey, Sink: sink}}}, "Sources[1].WriteKey"},
		{"event over batch", Config{Actions: newTestActions(), MaxEventBytes: 10, MaxBatchBytes: 5}, "MaxEventBytes"},
		{"budget under a body", Config{Actions: newTestActions(), MaxInFlightBytes: 1024}, "MaxInFlightBytes"},
		{"negative limit", Config{Actions: newTestActions(), MaxBodyBytes: -1}, "MaxBodyBytes"},
		{"negative group size", Config{Actions: newTestActions(), Group: GroupConfig{MaxEvents: -1}}, "Group"},
		{"write timeout too short", Config{Actions: newTestActions(), WriteTimeout: 5 * time.Second}, "WriteTimeout"},
		{"half of TLS", Config{Actions: newTestActions(), TLSCertFile: "c.pem"}, "TLSCertFile"},
		{"negative cache", Config{Actions: newTestActions(), MaxActionSinks: -2}, "MaxActionSinks"},
		{"negative request events", Config{Actions: newTestActions(), MaxRequestEvents: -1}, "MaxRequestEvents"},
		{"negative header block", Config{Actions: newTestActions(), MaxHeaderBytes: -1}, "MaxHeaderBytes"},
		{"negative unauthenticated budget", Config{Actions: newTestActions(), MaxUnauthenticatedBytes: -1}, "MaxUnauthenticatedBytes"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := New(tc.cfg)
			var ce *ConfigError
			require.ErrorAs(t, err, &ce)
			assert.Equal(t, tc.field, ce.Field)
			assert.NotContains(t, err.Error(), testWriteKey, "a config error never holds a secret")
		})
	}
	_, err := New(Config{Sources: []Source{{WriteKey: "k", Sink: sink}}})
	assert.NoError(t, err, "one source may go without a name")
}

func TestHealthReadyMetrics(t *testing.T) {
	var mu sync.Mutex
	var readyErr error
	s, ts := start(t, Config{
		Sources:    []Source{{WriteKey: testWriteKey, Sink: newMemSink()}},
		AdminToken: testAdminToken,
		Ready: func(context.Context) error {
			mu.Lock()
			defer mu.Unlock()
			return readyErr
		},
	})
	assert.Equal(t, 200, do(t, ts, "GET", "/healthz", nil, nil).status)
	assert.Equal(t, 200, do(t, ts, "GET", "/readyz", nil, nil).status)
	mu.Lock()
	readyErr = errors.New("pinging the Data API: connection refused")
	mu.Unlock()
	r := do(t, ts, "GET", "/readyz", nil, nil)
	assert.Equal(t, 503, r.status)
	assert.JSONEq(t, `{"ok":false}`, r.body, "the public address does not say why")
	r = do(t, ts, "GET", "/readyz", nil, map[string]string{"Authorization": "Bearer wrong"})
	assert.JSONEq(t, `{"ok":false}`, r.body, "nor does a wrong admin token")
	r = do(t, ts, "GET", "/readyz", nil, map[string]string{"Authorization": "Bearer " + testAdminToken})
	assert.Equal(t, 503, r.status)
	assert.JSONEq(t, `{"ok":false,"error":"pinging the Data API: connection refused"}`, r.body, "the admin token sees why")
	admin := httptest.NewServer(s.AdminHandler())
	defer admin.Close()
	r = do(t, admin, "GET", "/readyz", nil, nil)
	assert.Equal(t, 503, r.status)
	assert.JSONEq(t, `{"ok":false,"error":"pinging the Data API: connection refused"}`, r.body, "the admin address sees why")
	assert.Equal(t, 200, do(t, admin, "GET", "/healthz", nil, nil).status)
	assert.Equal(t, 200, do(t, admin, "GET", "/metrics", nil, nil).status)
	assert.Equal(t, 404, do(t, admin, "POST", "/v1/track", []byte(`{"event":"E"}`), basic(testWriteKey)).status, "the admin address takes no events")

	assert.Equal(t, 200, do(t, ts, "POST", "/v1/track", []byte(`{"event":"E"}`), basic(testWriteKey)).status)
	assert.Equal(t, http.StatusMethodNotAllowed, do(t, ts, "GET", "/v1/track", nil, nil).status)
	assert.Equal(t, 404, do(t, ts, "POST", "/send", []byte(`{}`), nil).status, "no Actions, no /send")

	m := do(t, ts, "GET", "/metrics", nil, nil)
	require.Equal(t, 200, m.status)
	for _, name := range []string{
		`s2segment_server_events_total{result="written",route="track"} 1`,
		`s2segment_server_request_duration_seconds_count{code="200",route="track"} 1`,
		`s2segment_server_group_events_count 1`,
		`s2segment_server_group_bytes_count 1`,
		`s2segment_server_sink_write_duration_seconds_count 1`,
		`s2segment_server_inflight_bytes 0`,
		`s2segment_server_pending_events 0`,
		`go_goroutines`,
	} {
		assert.Contains(t, m.body, name)
	}
	assert.Equal(t, 4.0, metricValue(t, s.Registry(), "s2segment_server_request_duration_seconds", "route", "readyz", "code", "503"))
}

func TestMisbehavingSinksNeverAcknowledge(t *testing.T) {
	tests := []struct {
		name string
		sink SinkFunc
	}{
		{"panics", func(context.Context, [][]byte) []Result { panic("boom") }},
		{"too few results", func(context.Context, [][]byte) []Result { return nil }},
		{"results without status", func(_ context.Context, evs [][]byte) []Result { return make([]Result, len(evs)) }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var logs logBuffer
			_, ts := start(t, Config{Sources: []Source{{WriteKey: testWriteKey, Sink: tc.sink}}, Logger: debugLogger(&logs)})
			r := do(t, ts, "POST", "/v1/track", []byte(`{"event":"E"}`), basic(testWriteKey))
			assert.Equal(t, 500, r.status, "a retryable 500 result, never a 200: %s", r.body)
			assert.Equal(t, "1", r.header.Get("Retry-After"))
			// The server goes on serving.
			assert.Equal(t, 200, do(t, ts, "GET", "/healthz", nil, nil).status)
		})
	}
}

func TestSourcesSharingASinkShareGroups(t *testing.T) {
	sink := newMemSink()
	s, err := New(Config{Sources: []Source{
		{Name: "a", WriteKey: "ka", Sink: sink},
		{Name: "b", WriteKey: "kb", Sink: sink},
		{Name: "c", WriteKey: "kc", Sink: SinkFunc(sink.Write)},
	}})
	require.NoError(t, err)
	assert.Same(t, s.sources["a"].c, s.sources["b"].c)
	assert.NotSame(t, s.sources["a"].c, s.sources["c"].c, "a func cannot be compared, so it gets its own groups")
}

// TestShutdownMidFlight starts requests, shuts down while their events are
// being written, and checks that every request answered 200 has its events
// written, that new connections are refused, and that Shutdown waits.
func TestShutdownMidFlight(t *testing.T) {
	const n = 8
	sink := newMemSink()
	sink.gate = make(chan struct{})
	sink.entered = make(chan int, n)
	s, err := New(Config{
		Sources:      []Source{{WriteKey: testWriteKey, Sink: sink}},
		Group:        GroupConfig{MaxConcurrentWrites: 1, Linger: time.Hour},
		WriteTimeout: -1,
	})
	require.NoError(t, err)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	base := "http://" + ln.Addr().String()
	served := make(chan error, 1)
	go func() { served <- s.Serve(context.Background(), ln) }()

	replies := make([]reply, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			replies[i], errs[i] = send(context.Background(), http.DefaultClient, base, "POST", "/v1/track",
				fmt.Appendf(nil, `{"event":"E","messageId":"sd%d"}`, i), basic(testWriteKey))
		})
	}
	// All events wait in an open group with an hour of linger left.
	waitFor(t, "every request to hand its event over", func() bool {
		return metricValue(t, s.Registry(), "s2segment_server_pending_events") == n
	})
	shut := make(chan error, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		shut <- s.Shutdown(ctx)
	}()
	// Shutdown ends the linger: the group is written now, not in an hour.
	assert.Equal(t, n, <-sink.entered)
	waitFor(t, "the listener to close", func() bool {
		c, err := net.Dial("tcp", ln.Addr().String())
		if err == nil {
			c.Close()
		}
		return err != nil
	})
	select {
	case err := <-shut:
		t.Fatalf("Shutdown returned (%v) while writes were in flight", err)
	default:
	}
	close(sink.gate)
	wg.Wait()
	require.NoError(t, <-shut)
	require.NoError(t, <-served, "Serve returns nil after a graceful shutdown")
	acked := 0
	for i := range n {
		require.NoError(t, errs[i])
		if replies[i].status == 200 {
			acked++
			_, ok := sink.row(fmt.Sprintf("sd%d", i))
			assert.True(t, ok, "request %d was acknowledged, so its event must be written", i)
		}
	}
	assert.Equal(t, n, acked, "requests in flight at shutdown are finished, not dropped")

	// After shutdown the handler answers 503, and Serve refuses to start.
	ts := serve(t, s)
	r := do(t, ts, "POST", "/v1/track", []byte(`{"event":"E"}`), basic(testWriteKey))
	assert.Equal(t, 503, r.status)
	assert.Equal(t, "1", r.header.Get("Retry-After"))
	assert.Equal(t, 503, do(t, ts, "GET", "/readyz", nil, nil).status)
	assert.Equal(t, 200, do(t, ts, "GET", "/healthz", nil, nil).status)
	ln2, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer ln2.Close()
	assert.ErrorIs(t, s.Serve(context.Background(), ln2), ErrClosed)
}

func TestShutdownThatRunsOutOfTime(t *testing.T) {
	sink := newMemSink()
	sink.gate = make(chan struct{})
	sink.entered = make(chan int, 1)
	s, ts := start(t, Config{Sources: []Source{{WriteKey: testWriteKey, Sink: sink}}})
	done := make(chan reply, 1)
	go func() {
		done <- do(t, ts, "POST", "/v1/track", []byte(`{"event":"E","messageId":"late"}`), basic(testWriteKey))
	}()
	<-sink.entered
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	err := s.Shutdown(ctx)
	require.ErrorIs(t, err, context.Canceled)
	assert.ErrorIs(t, s.Shutdown(ctx), context.Canceled, "later calls report the first one's outcome")
	close(sink.gate)
	r := <-done
	assert.Equal(t, 200, r.status, "the request in flight still finishes")
	_, ok := sink.row("late")
	assert.True(t, ok)
}

func TestServeStopsWhenContextIsDone(t *testing.T) {
	certFile, keyFile, pool := writeTestCert(t)
	sink := newMemSink()
	s, err := New(Config{
		Sources:     []Source{{WriteKey: testWriteKey, Sink: sink}},
		TLSCertFile: certFile,
		TLSKeyFile:  keyFile,
	})
	require.NoError(t, err)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- s.Serve(ctx, ln) }()

	client := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	r := doCtx(context.Background(), t, client, "https://"+ln.Addr().String(), "POST", "/v1/track",
		[]byte(`{"event":"E","messageId":"tls1"}`), basic(testWriteKey))
	assert.Equal(t, 200, r.status)
	_, ok := sink.row("tls1")
	assert.True(t, ok)
	assert.ErrorIs(t, s.Serve(ctx, ln), ErrServing)
	cancel()
	require.NoError(t, <-served)
}

func TestNoSecretsInLogs(t *testing.T) {
	var logs logBuffer
	sink := newMemSink()
	a := newTestActions()
	_, ts := start(t, Config{
		Sources:      []Source{{Name: "web", WriteKey: testWriteKey, WebhookSecret: testSecret, Sink: sink}},
		Actions:      a,
		ActionsToken: testToken,
		Logger:       debugLogger(&logs),
		Ready:        func(context.Context) error { return errors.New("not yet") },
	})
	ev := []byte(`{"event":"E","messageId":"l1"}`)
	good := sigHeader(ev)
	bad := map[string]string{SignatureHeader: Sign([]byte("guess"), ev)}
	bearer := map[string]string{"Authorization": "Bearer " + testToken}
	for _, c := range []struct {
		path   string
		header map[string]string
		body   []byte
	}{
		{"/v1/track", basic(testWriteKey), ev},
		{"/v1/track", basic(testWriteKey + "x"), ev},
		{"/v1/track", nil, []byte(`{"writeKey":"` + testWriteKey + `","event":"E"}`)},
		{"/v1/track", nil, []byte(`{"writeKey":"` + testWriteKey + `x","event":"E"}`)},
		{"/v1/batch", basic(testWriteKey), []byte(`{"batch":[{"type":"track","properties":{"fail":"reject"}},{"type":"track","properties":{"fail":"retry"}}]}`)},
		{"/v1/track", basic(testWriteKey), []byte(`{"event":`)},
		{"/webhook/web", good, ev},
		{"/webhook/web", bad, ev},
		{"/authenticate", bearer, []byte(`{"host":"h","password":"wrong","apiKey":"` + testPassword + `"}`)},
		{"/authenticate", map[string]string{"Authorization": "Bearer " + testToken + "x"}, []byte(`{}`)},
		{"/send", bearer, sendBody("h", `[{"type":"track","messageId":"l2"},{"type":"track"}]`)},
		{"/send", bearer, sendBody("h", `{}`, `"mapping":{"bad":true}`)},
	} {
		do(t, ts, "POST", c.path, c.body, c.header)
	}
	do(t, ts, "GET", "/readyz", nil, nil)

	out := logs.String()
	require.Contains(t, out, `"msg":"request"`, "the requests were logged")
	require.Contains(t, out, `"status":401`)
	require.Contains(t, out, `"msg":"event not written"`)
	for _, secret := range []string{
		testWriteKey, otherKey, testSecret, testToken, testPassword, `"password"`, "Access denied",
		base64.StdEncoding.EncodeToString([]byte(testWriteKey + ":")),
		good[SignatureHeader], bad[SignatureHeader], "Authorization",
	} {
		assert.NotContains(t, out, secret)
	}
	for line := range strings.SplitSeq(strings.TrimSpace(out), "\n") {
		assert.True(t, gjson.Valid(line), "every log line is one JSON record: %s", line)
	}
}

// writeTestCert writes a self-signed certificate for 127.0.0.1 and returns
// the file names and a pool that trusts it.
func writeTestCert(t *testing.T) (string, string, *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "s2segment test"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		IPAddresses:  []net.IP{net.ParseIP("127.0.0.1")},
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	require.NoError(t, err)
	keyDER, err := x509.MarshalECPrivateKey(key)
	require.NoError(t, err)
	dir := t.TempDir()
	certFile, keyFile := filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	require.NoError(t, os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600))
	require.NoError(t, os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER}), 0o600))
	cert, err := x509.ParseCertificate(der)
	require.NoError(t, err)
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	return certFile, keyFile, pool
}
