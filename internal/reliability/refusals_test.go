package reliability

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/s2segment/s2segment/dataapi"
	"github.com/s2segment/s2segment/dataapi/emulator"
	"github.com/s2segment/s2segment/destination/singlestore"
	"github.com/s2segment/s2segment/internal/adapter"
	"github.com/s2segment/s2segment/internal/endpoint"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/tidwall/gjson"
)

// mariaDBEnv names the DSN of the MariaDB server of the second backend.
const mariaDBEnv = "S2_TEST_MARIADB_DSN"

// suiteBackend is an engine behind the emulator.
type suiteBackend struct {
	name string
	dsn  string // "" for the embedded engine
}

func suiteBackends(t *testing.T) []suiteBackend {
	bs := []suiteBackend{{name: "embedded"}}
	if dsn := os.Getenv(mariaDBEnv); dsn != "" {
		bs = append(bs, suiteBackend{name: "mariadb", dsn: dsn})
	} else {
		t.Logf("%s not set: the MariaDB backend is skipped", mariaDBEnv)
	}
	return bs
}

// refusal is how the refusing front answers every Data API request while
// it is on: as a server, a proxy or a stand-in that is not the Data API
// would.
type refusal struct {
	name        string
	status      int
	contentType string
	body        string
	reason      string // the Sink's Fault.Reason it must cause
}

var refusals = []refusal{
	{"401 after a password rotation", 401, "text/plain", "Unauthorized: bad or missing credentials (Basic auth)", "credentials"},
	{"403 missing privilege", 403, "text/plain", "Error 1142 (42000): INSERT command denied to user 'loader'@'%' for table 'segment_data'", "privileges"},
	{"errno 1146 missing table", 400, "text/plain", "Error 1146 (42S02): Table 'analytics.segment_data' doesn't exist", "missing_table"},
	{"errno 1049 unknown database", 400, "text/plain", "Error 1049 (42000): Unknown database 'analytics'", "unknown_database"},
	{"HTML 400 from a proxy", 400, "text/html", "<html><head><title>400 Bad Request</title></head><body><h1>Bad Request</h1></body></html>", "refused"},
	{"HTML 404 from a proxy", 404, "text/html", "<html><body><h1>404 Not Found</h1><p>nginx</p></body></html>", "refused"},
	{"200 {} without rowsAffected", 200, "application/json", "{}", "unexpected_response"},
}

// refusingFront passes requests to the emulator, or refuses every /api/
// request as its current refusal says.
type refusingFront struct {
	next    http.Handler
	current atomic.Pointer[refusal]
	refused atomic.Int64
}

func (f *refusingFront) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	rf := f.current.Load()
	if rf == nil || !strings.HasPrefix(r.URL.Path, "/api/") {
		f.next.ServeHTTP(w, r)
		return
	}
	f.refused.Add(1)
	_, _ = io.Copy(io.Discard, r.Body)
	w.Header().Set("Content-Type", rf.contentType)
	w.WriteHeader(rf.status)
	_, _ = io.WriteString(w, rf.body)
}

// hosted is the hosted endpoint of the suite: one source (Tracking API and
// webhook) and the Actions routes, all writing through the refusing front
// to an emulator, as "s2segment serve" wires them.
type hosted struct {
	t        *testing.T
	emu      *emulator.Server
	front    *refusingFront
	frontURL string
	database string
	sink     *adapter.Sink
	metrics  *adapter.ClientMetrics
	srv      *endpoint.Server
	base     string
	logs     *syncBuffer
	clean    *dataapi.Client // the emulator without the front
	client   *http.Client
}

const (
	suiteWriteKey = "wk_refusals"
	suiteSecret   = "whsec_refusals"
	suiteToken    = "tok_refusals_actions"
	suitePassword = "pw"
	suiteTable    = "segment_data"
)

// syncBuffer is a bytes.Buffer safe for concurrent writes, for logs.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func newHosted(t *testing.T, b suiteBackend) *hosted {
	t.Helper()
	db := emulator.DefaultDatabase
	if b.dsn != "" {
		var r [4]byte
		_, _ = rand.Read(r[:])
		db = "s2rel_" + hex.EncodeToString(r[:])
	}
	// The emulator on a port of its own, and the refusing front on another.
	cs, err := emulator.Listen(t.Context(), emulator.Config{DSN: b.dsn, Databases: []string{db}, User: "root", Password: suitePassword})
	require.NoError(t, err)
	emu := cs.Server()
	h := &hosted{t: t, emu: emu, database: db, logs: &syncBuffer{}, metrics: adapter.NewClientMetrics(),
		client: &http.Client{Timeout: 30 * time.Second}}
	h.front = &refusingFront{next: emu}
	fs := httptest.NewServer(h.front)
	h.frontURL = fs.URL
	host, port, _ := net.SplitHostPort(fs.Listener.Addr().String())
	h.clean, err = dataapi.New(dataapi.Config{Host: cs.Host(), Port: cs.Port(), Scheme: "http", User: "root", Password: suitePassword, Database: db})
	require.NoError(t, err)

	logger := slog.New(slog.NewTextHandler(h.logs, &slog.HandlerOptions{Level: slog.LevelInfo}))
	conn := adapter.Connection{Scheme: "http", Timeout: 5 * time.Second, MaxAttempts: 2, Logger: logger, Metrics: h.metrics}
	settings := singlestore.Settings{Host: host, Port: port, Username: "root", Password: suitePassword, DBName: db, TableName: suiteTable}
	c, err := conn.NewClient(settings)
	require.NoError(t, err)
	h.sink, err = adapter.NewSink(singlestore.NewExecutor(c), adapter.SinkConfig{
		WriterConfig:       singlestore.WriterConfig{Database: db, Table: suiteTable},
		CreateMissingTable: true, Name: "rel", Logger: logger, Metrics: h.metrics,
	})
	require.NoError(t, err)
	require.NoError(t, h.sink.Writer().CreateTable(context.Background()))
	acts, err := adapter.NewActions(adapter.ActionsConfig{Connection: conn})
	require.NoError(t, err)
	h.srv, err = endpoint.New(endpoint.Config{
		Sources: []endpoint.Source{{Name: "rel", WriteKey: suiteWriteKey, WebhookSecret: suiteSecret, Sink: h.sink}},
		Actions: acts, ActionsToken: suiteToken,
		Ready:  h.sink.Ready,
		Logger: logger,
		Group:  endpoint.GroupConfig{MaxEvents: 50},
	})
	require.NoError(t, err)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	done := make(chan error, 1)
	go func() { done <- h.srv.Serve(context.Background(), ln) }()
	h.base = "http://" + ln.Addr().String()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = h.srv.Shutdown(ctx)
		<-done
		fs.Close()
		if b.dsn != "" {
			_, _ = h.clean.Exec(context.Background(), "DROP DATABASE IF EXISTS "+singlestore.QuoteIdentifier(db))
		}
		_ = cs.Close()
	})
	return h
}

// answer is what a route answered.
type answer struct {
	status     int
	retryAfter string
	body       string
}

// ready asks GET /readyz.
func (h *hosted) ready() answer { return h.request(http.MethodGet, "/readyz", nil, nil) }

func (h *hosted) do(path string, body []byte, header map[string]string) answer {
	return h.request(http.MethodPost, path, body, header)
}

func (h *hosted) request(method, path string, body []byte, header map[string]string) answer {
	h.t.Helper()
	req, err := http.NewRequest(method, h.base+path, bytes.NewReader(body))
	require.NoError(h.t, err)
	req.Header.Set("Content-Type", "application/json")
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := h.client.Do(req)
	require.NoError(h.t, err)
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	return answer{status: resp.StatusCode, retryAfter: resp.Header.Get("Retry-After"), body: string(b)}
}

// route sends a set of events one way; send sends them all once.
type route struct {
	name string
	send func(h *hosted, events [][]byte) answer
}

var routes = []route{
	{"Tracking API /v1/track", func(h *hosted, evs [][]byte) answer {
		// One request per event; the answer of the last failing one, or
		// of the last.
		var last answer
		for _, ev := range evs {
			a := h.do("/v1/track", ev, map[string]string{"Authorization": basic(suiteWriteKey)})
			if last.status/100 != 5 {
				last = a
			}
		}
		return last
	}},
	{"Tracking API /v1/batch", func(h *hosted, evs [][]byte) answer {
		body, _ := json.Marshal(map[string]any{"batch": rawList(evs)})
		return h.do("/v1/batch", body, map[string]string{"Authorization": basic(suiteWriteKey)})
	}},
	{"webhook", func(h *hosted, evs [][]byte) answer {
		var last answer
		for _, ev := range evs {
			a := h.do("/webhook/rel", ev, map[string]string{endpoint.SignatureHeader: endpoint.Sign([]byte(suiteSecret), ev)})
			if last.status/100 != 5 {
				last = a
			}
		}
		return last
	}},
	{"Actions /send", func(h *hosted, evs [][]byte) answer {
		host, port, _ := net.SplitHostPort(strings.TrimPrefix(h.frontURL, "http://"))
		body, _ := json.Marshal(map[string]any{
			"payload":  rawList(evs),
			"settings": map[string]string{"host": host, "port": port, "username": "root", "password": suitePassword, "dbName": h.database, "tableName": suiteTable},
		})
		return h.do("/send", body, map[string]string{"Authorization": "Bearer " + suiteToken})
	}},
}

func basic(user string) string {
	return "Basic " + base64.StdEncoding.EncodeToString([]byte(user+":"))
}

func rawList(evs [][]byte) []json.RawMessage {
	out := make([]json.RawMessage, len(evs))
	for i, ev := range evs {
		out[i] = ev
	}
	return out
}

// suiteEvents returns n track events with messageIds prefix-0 … and one
// event without a messageId, whose id the endpoint derives from its content
// (its userId is prefix-noid).
func suiteEvents(prefix string, n int) [][]byte {
	evs := make([][]byte, 0, n+1)
	for i := range n {
		evs = append(evs, fmt.Appendf(nil, `{"type":"track","event":"Refused","messageId":"%s-%d","userId":"u-%d","timestamp":"2025-07-07T10:19:25Z","properties":{"i":%d}}`, prefix, i, i, i))
	}
	return append(evs, fmt.Appendf(nil, `{"type":"track","event":"NoID","userId":"%s-noid","timestamp":"2025-07-07T10:19:25Z"}`, prefix))
}

// checkRetryable asserts that an answer tells the sender to retry, and
// that a /send multistatus has no 2xx node.
func checkRetryable(t *testing.T, rt route, a answer) {
	t.Helper()
	assert.GreaterOrEqual(t, a.status, 500, "%s: a destination failure is a retryable status, not %d: %s", rt.name, a.status, a.body)
	assert.NotEmpty(t, a.retryAfter, "%s: Retry-After", rt.name)
	if rt.name == "Actions /send" {
		nodes := gjson.Get(a.body, "multistatus").Array()
		require.NotEmpty(t, nodes, a.body)
		for i, n := range nodes {
			assert.GreaterOrEqual(t, int(n.Get("status").Int()), 500, "%s: node %d: %s", rt.name, i, n.Raw)
			assert.Equal(t, "RETRYABLE_ERROR", n.Get("errortype").Str, "%s: node %d", rt.name, i)
		}
	}
	assert.NotContains(t, a.body, suitePassword+"@", "%s: no credentials in the answer", rt.name)
}

// rowsOf counts the table's rows by messageId, and by userId for the events
// without one.
func (h *hosted) rowsOf() (byID, byUser map[string]int) {
	h.t.Helper()
	rows, err := h.clean.QueryRows(context.Background(), "SELECT messageId, userId FROM "+singlestore.QuoteIdentifier(suiteTable))
	require.NoError(h.t, err)
	byID, byUser = map[string]int{}, map[string]int{}
	for _, r := range rows {
		var id, user string
		_ = json.Unmarshal(r["messageId"], &id)
		_ = json.Unmarshal(r["userId"], &user)
		byID[id]++
		byUser[user]++
	}
	return byID, byUser
}

// TestRefusalsThroughEveryRoute: with the Data API refusing every write for
// good (401, 403, errno 1146 and 1049, an HTML 400 or 404 from a proxy, a
// 200 {} without rowsAffected), no event is answered 2xx on any route
// (Tracking API single and batch, webhooks, /send), /readyz is unready with
// the reason, an ERROR line and a metric say why; once the cause is gone,
// the senders' retries write every event exactly once. On both backends.
func TestRefusalsThroughEveryRoute(t *testing.T) {
	for _, b := range suiteBackends(t) {
		t.Run(b.name, func(t *testing.T) {
			t.Parallel()
			h := newHosted(t, b)
			for mi, rf := range refusals {
				t.Run(rf.name, func(t *testing.T) {
					events := map[string][][]byte{}
					h.front.current.Store(&rf)
					for ri, rt := range routes {
						evs := suiteEvents(fmt.Sprintf("r%d-%d", mi, ri), 3)
						if !strings.HasPrefix(rt.name, "Tracking") {
							evs = evs[:3] // only the Tracking API gives an event its messageId
						}
						events[rt.name] = evs
						checkRetryable(t, rt, rt.send(h, evs))
					}
					ready := h.ready()
					assert.Equal(t, http.StatusServiceUnavailable, ready.status)
					f := h.sink.Fault()
					if assert.NotNil(t, f, "the sink knows its destination fails") {
						assert.Equal(t, rf.reason, f.Reason)
					}
					assert.Positive(t, h.metrics.Unavailable()[rf.reason], "the metric counts the events by reason")
					assert.Contains(t, h.logs.String(), "level=ERROR", "an ERROR line says why")
					assert.Contains(t, h.logs.String(), "reason="+rf.reason)
					assert.NotContains(t, h.logs.String(), "password="+suitePassword)

					// The cause goes; the senders retry.
					h.front.current.Store(nil)
					for _, rt := range routes {
						a := rt.send(h, events[rt.name])
						require.Equal(t, http.StatusOK, a.status, "%s after the fix: %s", rt.name, a.body)
					}
					byID, byUser := h.rowsOf()
					for _, rt := range routes {
						for _, ev := range events[rt.name] {
							if id := gjson.GetBytes(ev, "messageId").Str; id != "" {
								assert.Equal(t, 1, byID[id], "%s: %s is in the table once", rt.name, id)
							} else {
								u := gjson.GetBytes(ev, "userId").Str
								assert.Equal(t, 1, byUser[u], "%s: the event without a messageId (%s) is in the table once", rt.name, u)
							}
						}
					}
					assert.Equal(t, http.StatusOK, h.ready().status, "ready again")
					assert.Nil(t, h.sink.Fault())
				})
			}
			t.Run("a dropped table is created again", func(t *testing.T) {
				_, err := h.clean.Exec(context.Background(), "DROP TABLE "+singlestore.QuoteIdentifier(suiteTable))
				require.NoError(t, err)
				for ri, rt := range routes {
					evs := suiteEvents(fmt.Sprintf("drop-%d", ri), 3)
					a := rt.send(h, evs)
					require.Equal(t, http.StatusOK, a.status, "%s: %s", rt.name, a.body)
					byID, _ := h.rowsOf()
					for _, ev := range evs[:3] {
						assert.Equal(t, 1, byID[gjson.GetBytes(ev, "messageId").Str], rt.name)
					}
				}
				assert.Contains(t, h.logs.String(), "created the table again")
				// Dropped between requests, readiness heals it too.
				_, err = h.clean.Exec(context.Background(), "DROP TABLE "+singlestore.QuoteIdentifier(suiteTable))
				require.NoError(t, err)
				assert.Equal(t, http.StatusOK, h.ready().status)
				_, err = h.clean.QueryRows(context.Background(), singlestore.ProbeSQL(h.database, suiteTable))
				assert.NoError(t, err, "the table is there again")
			})
		})
	}
}

// TestEventsRefusedForTheirOwnValue: an event the table cannot hold for one
// of its own values is answered 400 with the reason, never 200 unwritten:
// a messageId over 255 characters (found before sending), and a lone
// UTF-16 surrogate in a JSON column where the engine refuses it (MariaDB).
// Wherever the engine takes the value, the event is answered 200 and is in
// the table.
func TestEventsRefusedForTheirOwnValue(t *testing.T) {
	for _, b := range suiteBackends(t) {
		t.Run(b.name, func(t *testing.T) {
			t.Parallel()
			h := newHosted(t, b)
			long := strings.Repeat("x", 256)
			a := h.do("/v1/track", fmt.Appendf(nil, `{"event":"E","userId":"u","messageId":%q}`, long), map[string]string{"Authorization": basic(suiteWriteKey)})
			// The Tracking API answers 200 for events invalid by themselves
			// (as Segment's does) and logs why; /send tells the sender.
			assert.Equal(t, http.StatusOK, a.status, a.body)
			byID, _ := h.rowsOf()
			assert.Zero(t, byID[long])
			assert.Contains(t, h.logs.String(), "Message ID must be 255 characters or fewer but it was 256 characters.")

			host, port, _ := net.SplitHostPort(strings.TrimPrefix(h.frontURL, "http://"))
			send := func(ev string) gjson.Result {
				body, _ := json.Marshal(map[string]any{
					"payload":  json.RawMessage(ev),
					"settings": map[string]string{"host": host, "port": port, "username": "root", "password": suitePassword, "dbName": h.database, "tableName": suiteTable},
				})
				a := h.do("/send", body, map[string]string{"Authorization": "Bearer " + suiteToken})
				require.Equal(t, http.StatusOK, a.status, "a final result for every event: %s", a.body)
				return gjson.Get(a.body, "multistatus.0")
			}
			n := send(fmt.Sprintf(`{"type":"track","event":"E","userId":"u","messageId":%q,"timestamp":"2025-07-07T10:19:25Z"}`, long))
			assert.EqualValues(t, 400, n.Get("status").Int(), n.Raw)
			assert.Contains(t, n.Get("errormessage").Str, "255 characters or fewer")

			n = send(`{"type":"track","event":"E","userId":"u","messageId":"lone-surrogate","timestamp":"2025-07-07T10:19:25Z","properties":{"s":"\ud800"}}`)
			byID, _ = h.rowsOf()
			switch n.Get("status").Int() {
			case 200:
				assert.Equal(t, 1, byID["lone-surrogate"], "answered 200: written")
			case 400:
				assert.Zero(t, byID["lone-surrogate"])
				assert.Contains(t, n.Get("errormessage").Str, "the database refused a value of the event: Error ", n.Raw)
			default:
				t.Errorf("a lone surrogate is answered %s", n.Raw)
			}
			t.Logf("%s: a lone surrogate: %s", b.name, n.Raw)
		})
	}
}

// TestCollationCollisions: messageIds that differ only in case, accents,
// a trailing space or width are five events, five rows, on both backends,
// through the hosted endpoint.
func TestCollationCollisions(t *testing.T) {
	ids := []string{"coll-abc", "coll-ABC", "coll-àbc", "coll-abc ", "coll-ａbc"}
	for _, b := range suiteBackends(t) {
		t.Run(b.name, func(t *testing.T) {
			t.Parallel()
			h := newHosted(t, b)
			evs := make([][]byte, len(ids))
			for i, id := range ids {
				evs[i] = fmt.Appendf(nil, `{"type":"track","event":"E","userId":"u","messageId":%q,"timestamp":"2025-07-07T10:19:25Z"}`, id)
			}
			for range 2 { // the second time, every event is already there
				a := routes[1].send(h, evs)
				require.Equal(t, http.StatusOK, a.status, a.body)
			}
			byID, _ := h.rowsOf()
			t.Logf("%s: rows by messageId: %v", b.name, byID)
			assert.Len(t, byID, len(ids))
			for _, id := range ids {
				assert.Equal(t, 1, byID[id], "%q is a row of its own", id)
			}
		})
	}
}
