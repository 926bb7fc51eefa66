package endpoint

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"
	"github.com/tidwall/gjson"
)

// Secrets used by the tests; TestNoSecretsInLogs checks none reaches a log.
const (
	testWriteKey   = "wk_SECRET_write_key_7f3a"
	otherKey       = "wk_SECRET_other_key_91bc"
	testSecret     = "whsec_SECRET_shared_55d1"
	testToken      = "tok_SECRET_actions_c0de"
	testPassword   = "pw_SECRET_database_e4f2"
	testAdminToken = "adm_SECRET_admin_token_77aa"
)

// memSink is an in-memory Sink with deterministic outcomes, chosen by the
// event's properties.fail: "reject" fails it for good (400), "retry" fails it
// retryably (503), "slow" fails it retryably with 429 and a Retry-After of 7s.
// An event without a string messageId is a 400 PAYLOAD_VALIDATION_FAILED.
// Written events are kept by messageId (a replay overwrites: idempotent).
type memSink struct {
	mu      sync.Mutex
	rows    map[string][]byte
	writes  []int // events per Write call, in call order
	gate    chan struct{}
	entered chan int
}

func newMemSink() *memSink { return &memSink{rows: map[string][]byte{}} }

func (m *memSink) Write(ctx context.Context, events [][]byte) []Result {
	if m.entered != nil {
		m.entered <- len(events)
	}
	if m.gate != nil {
		select {
		case <-m.gate:
		case <-ctx.Done():
			return failAll(len(events), Result{Status: 504, Message: "timed out", Retryable: true})
		}
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.writes = append(m.writes, len(events))
	out := make([]Result, len(events))
	for i, ev := range events {
		id := gjson.GetBytes(ev, "messageId")
		switch fail := gjson.GetBytes(ev, "properties.fail").String(); {
		case id.Type != gjson.String:
			out[i] = Result{Status: 400, ErrorType: "PAYLOAD_VALIDATION_FAILED", Message: "The root value is missing the required field 'messageid'."}
		case fail == "reject":
			out[i] = Result{Status: 400, ErrorType: "PAYLOAD_VALIDATION_FAILED", Message: "rejected " + id.Str}
		case fail == "retry":
			out[i] = Result{Status: 503, Message: "database unavailable", Retryable: true}
		case fail == "slow":
			out[i] = Result{Status: 429, Message: "slow down", Retryable: true, RetryAfter: 7 * time.Second}
		default:
			m.rows[id.Str] = bytes.Clone(ev)
			out[i] = Result{Status: 200, Sent: json.RawMessage(`{"id":` + id.Raw + `}`)}
		}
	}
	return out
}

func (m *memSink) row(id string) ([]byte, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	r, ok := m.rows[id]
	return r, ok
}

func (m *memSink) count() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.rows)
}

func (m *memSink) writeSizes() []int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]int(nil), m.writes...)
}

// testActions is an in-process Actions: settings must carry a "host"; the
// password "wrong" fails authentication; a mapping {"bad":true} is refused.
type testActions struct {
	mu    sync.Mutex
	built int
	sinks map[string]*memSink // by host
}

type fieldsErr struct {
	msg    string
	fields map[string]string
}

func (e *fieldsErr) Error() string             { return e.msg }
func (e *fieldsErr) Fields() map[string]string { return e.fields }

func newTestActions() *testActions { return &testActions{sinks: map[string]*memSink{}} }

func (a *testActions) Manifest() []byte {
	return []byte(`{"name":"Test","slug":"actions-test","actions":{"send":{"title":"Send Data"}}}`)
}

func (a *testActions) Authenticate(_ context.Context, settings []byte) error {
	if !gjson.GetBytes(settings, "host").Exists() {
		return &fieldsErr{msg: "The root value is missing the required field 'host'.", fields: map[string]string{"$": "The root value is missing the required field 'host'."}}
	}
	if gjson.GetBytes(settings, "password").String() == "wrong" {
		return fmt.Errorf("connecting: Error 1045 (28000): Access denied for user 'u'")
	}
	return nil
}

func (a *testActions) Sink(settings, mapping []byte, _ string) (Sink, error) {
	if gjson.GetBytes(mapping, "bad").Bool() {
		return nil, &fieldsErr{msg: "/bad is not a valid directive.", fields: map[string]string{"bad": "not a directive"}}
	}
	host := gjson.GetBytes(settings, "host").String()
	a.mu.Lock()
	defer a.mu.Unlock()
	a.built++
	s, ok := a.sinks[host]
	if !ok {
		s = newMemSink()
		a.sinks[host] = s
	}
	return s, nil
}

func (a *testActions) sink(host string) *memSink {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.sinks[host]
}

func (a *testActions) builds() int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.built
}

// start serves cfg through an httptest server.
func start(t testing.TB, cfg Config) (*Server, *httptest.Server) {
	t.Helper()
	s, err := New(cfg)
	require.NoError(t, err)
	return s, serve(t, s)
}

// serve serves s through an httptest server closed at the end of the test.
func serve(t testing.TB, s *Server) *httptest.Server {
	t.Helper()
	ts := httptest.NewServer(s.Handler())
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = s.Shutdown(ctx)
		ts.Close()
	})
	return ts
}

// reply is a finished HTTP exchange.
type reply struct {
	status int
	header http.Header
	body   string
}

func do(t testing.TB, ts *httptest.Server, method, path string, body []byte, header map[string]string) reply {
	t.Helper()
	return doCtx(context.Background(), t, ts.Client(), ts.URL, method, path, body, header)
}

func doURL(t testing.TB, base, method, path string, body []byte, header map[string]string) reply {
	t.Helper()
	return doCtx(context.Background(), t, http.DefaultClient, base, method, path, body, header)
}

func doCtx(ctx context.Context, t testing.TB, c *http.Client, base, method, path string, body []byte, header map[string]string) reply {
	t.Helper()
	r, err := send(ctx, c, base, method, path, body, header)
	require.NoError(t, err)
	return r
}

func send(ctx context.Context, c *http.Client, base, method, path string, body []byte, header map[string]string) (reply, error) {
	req, err := http.NewRequestWithContext(ctx, method, base+path, bytes.NewReader(body))
	if err != nil {
		return reply{}, err
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := c.Do(req)
	if err != nil {
		return reply{}, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return reply{}, err
	}
	return reply{status: resp.StatusCode, header: resp.Header, body: string(b)}, nil
}

func basic(key string) map[string]string {
	return map[string]string{"Authorization": "Basic " + base64.StdEncoding.EncodeToString([]byte(key+":"))}
}

func sigHeader(signedPart []byte) map[string]string {
	return map[string]string{SignatureHeader: Sign([]byte(testSecret), signedPart)}
}

// metricValue returns the value of a counter, gauge or histogram count in
// reg whose labels include the given pairs; 0 when absent.
func metricValue(t testing.TB, reg prometheus.Gatherer, name string, labels ...string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	require.NoError(t, err)
	var sum float64
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
	metrics:
		for _, m := range mf.GetMetric() {
			for i := 0; i+1 < len(labels); i += 2 {
				found := false
				for _, lp := range m.GetLabel() {
					if lp.GetName() == labels[i] && lp.GetValue() == labels[i+1] {
						found = true
					}
				}
				if !found {
					continue metrics
				}
			}
			switch {
			case m.Counter != nil:
				sum += m.Counter.GetValue()
			case m.Gauge != nil:
				sum += m.Gauge.GetValue()
			case m.Histogram != nil:
				sum += float64(m.Histogram.GetSampleCount())
			}
		}
	}
	return sum
}

// waitFor polls cond until it holds; the test fails after a generous bound,
// which only guards against hanging forever and is never asserted on.
func waitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("gave up waiting for %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

// logBuffer collects JSON log records from concurrent writers.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *logBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func debugLogger(w io.Writer) *slog.Logger {
	return slog.New(slog.NewJSONHandler(w, &slog.HandlerOptions{Level: slog.LevelDebug}))
}
