package endpoint

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/tidwall/gjson"
)

func TestWebhookTimestamp(t *testing.T) {
	sink := newMemSink()
	s, ts := start(t, Config{Sources: []Source{
		{Name: "strict", WebhookSecret: testSecret, WebhookTolerance: 5 * time.Minute, Sink: sink},
		{Name: "lax", WebhookSecret: testSecret, Sink: sink},
	}})
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	s.now = func() time.Time { return now }
	body := []byte(`{"type":"track","messageId":"t1"}`)
	at := func(d time.Duration) string { return strconv.FormatInt(now.Add(d).Unix(), 10) }
	signed := func(tsv string) map[string]string {
		return map[string]string{SignatureHeader: SignTimestamp([]byte(testSecret), tsv, body), TimestampHeader: tsv}
	}
	tests := []struct {
		name   string
		path   string
		header map[string]string
		want   int
		reason string
	}{
		{"fresh", "/webhook/strict", signed(at(-time.Minute)), 200, ""},
		{"slightly ahead", "/webhook/strict", signed(at(4 * time.Minute)), 200, ""},
		{"replayed after the tolerance", "/webhook/strict", signed(at(-6 * time.Minute)), 401, "from the server's clock"},
		{"too far ahead", "/webhook/strict", signed(at(10 * time.Minute)), 401, "from the server's clock"},
		{"no timestamp", "/webhook/strict", sigHeader(body), 401, "missing " + TimestampHeader},
		{"timestamp not covered by the signature", "/webhook/strict", map[string]string{SignatureHeader: Sign([]byte(testSecret), body), TimestampHeader: at(0)}, 401, "does not match"},
		{"timestamp changed after signing", "/webhook/strict", map[string]string{SignatureHeader: SignTimestamp([]byte(testSecret), at(-time.Hour), body), TimestampHeader: at(0)}, 401, "does not match"},
		{"timestamp not a number", "/webhook/strict", map[string]string{SignatureHeader: SignTimestamp([]byte(testSecret), "soon", body), TimestampHeader: "soon"}, 401, "Unix seconds"},
		{"no tolerance: old timestamps pass", "/webhook/lax", signed(at(-48 * time.Hour)), 200, ""},
		{"no tolerance: no timestamp", "/webhook/lax", sigHeader(body), 200, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := do(t, ts, "POST", tc.path, body, tc.header)
			assert.Equal(t, tc.want, r.status, r.body)
			assert.Contains(t, r.body, tc.reason)
		})
	}
}

func TestWebhookOptionsConfig(t *testing.T) {
	sink := newMemSink()
	for name, src := range map[string]Source{
		"Sources[0].WebhookFirstElementSignature": {WebhookSecret: "s", WebhookTolerance: time.Minute, WebhookFirstElementSignature: true, Sink: sink},
		"Sources[0].WebhookTolerance":             {WebhookSecret: "s", WebhookTolerance: -time.Minute, Sink: sink},
		"Sources[0].WebhookSecret":                {WriteKey: "k", WebhookFirstElementSignature: true, Sink: sink},
		"Sources[0].MaxInFlightBytes":             {WriteKey: "k", MaxInFlightBytes: 1024, Sink: sink},
	} {
		_, err := New(Config{Sources: []Source{src}})
		var ce *ConfigError
		require.ErrorAs(t, err, &ce, name)
		assert.Equal(t, name, ce.Field)
	}
}

// TestWebhookSignatureBeforeParsing: a body that is not even JSON is
// refused for its signature, not parsed.
func TestWebhookSignatureBeforeParsing(t *testing.T) {
	_, ts := start(t, Config{Sources: []Source{{WebhookSecret: testSecret, Sink: newMemSink()}}})
	junk := []byte(`[{"type":"track"},` + strings.Repeat("[", 100000))
	r := do(t, ts, "POST", "/webhook", junk, sigHeader([]byte(`{"type":"track"}`)))
	assert.Equal(t, 401, r.status, r.body)
	r = do(t, ts, "POST", "/webhook", junk, sigHeader(junk))
	assert.Equal(t, 400, r.status, "signed, it is judged on its own: %s", r.body)
}

func TestBudgetTree(t *testing.T) {
	root := &budget{limit: 100}
	a := &budget{limit: 60, parent: root}
	b := &budget{limit: 60, parent: root}
	pre := &budget{limit: 30, parent: root}
	la, ok := a.acquire(60)
	require.True(t, ok)
	_, ok = a.acquire(1)
	assert.False(t, ok, "a is at its share")
	assert.Equal(t, int64(0), root.used.Load()-60, "a refused take leaves the parent as it was")
	lp, ok := pre.acquire(30)
	require.True(t, ok)
	_, ok = b.acquire(11)
	assert.False(t, ok, "the root is full at 100")
	assert.False(t, lp.grow(1), "pre is at its limit")
	la.release()
	require.True(t, lp.moveTo(b), "authenticated: the bytes move to b")
	assert.Equal(t, int64(0), pre.used.Load())
	assert.Equal(t, int64(30), b.used.Load())
	assert.Equal(t, int64(30), root.used.Load(), "a move keeps the parent's count")
	lb, ok := b.acquire(30)
	require.True(t, ok)
	lq, ok := pre.acquire(1)
	require.True(t, ok)
	assert.False(t, lq.moveTo(b), "b is at its share: the lease stays where it was")
	assert.Equal(t, int64(1), pre.used.Load())
	lq.release()
	lp.release()
	lb.release()
	assert.Equal(t, int64(0), root.used.Load())
	assert.Equal(t, int64(0), b.used.Load())
}

// TestUnauthenticatedBytesNeverStarveSources: while requests that have not
// authenticated hold the whole unauthenticated budget, and another source
// holds all of its share, a source that authenticates in its header is
// still served.
func TestUnauthenticatedBytesNeverStarveSources(t *testing.T) {
	busy := newMemSink()
	busy.gate = make(chan struct{})
	busy.entered = make(chan int, 1)
	quiet := newMemSink()
	_, ts := start(t, Config{
		Sources: []Source{
			{Name: "busy", WriteKey: otherKey, WebhookSecret: testSecret, Sink: busy},
			{Name: "quiet", WriteKey: testWriteKey, Sink: quiet},
		},
		MaxEventBytes: 1024, MaxBatchBytes: 4096, MaxBodyBytes: 4096,
		MaxInFlightBytes: 16384, MaxUnauthenticatedBytes: 4096,
	})
	// The busy source holds its share (16384/2) with one admitted batch.
	var evs []string
	for i := range 40 {
		evs = append(evs, fmt.Sprintf(`{"type":"track","messageId":"b%d","p":"%s"}`, i, strings.Repeat("x", 60)))
	}
	big := []byte(`{"batch":[` + strings.Join(evs, ",") + `]}`)
	require.Less(t, len(big), 4096)
	done := make(chan reply, 1)
	go func() { done <- do(t, ts, "POST", "/v1/batch", big, basic(otherKey)) }()
	<-busy.entered

	// Slow unauthenticated uploads: each holds what it has sent so far.
	addr := strings.TrimPrefix(ts.URL, "http://")
	var conns []net.Conn
	defer func() {
		for _, c := range conns {
			_ = c.Close()
		}
	}()
	for range 8 {
		c, err := net.Dial("tcp", addr)
		require.NoError(t, err)
		conns = append(conns, c)
		_, err = fmt.Fprintf(c, "POST /webhook/busy HTTP/1.1\r\nHost: x\r\nX-Signature: 00\r\nContent-Length: 4000\r\n\r\n[{\"type\":\"track\"}")
		require.NoError(t, err)
	}
	one := []byte(`{"type":"track","messageId":"q1"}`)
	r := do(t, ts, "POST", "/v1/track", one, basic(testWriteKey))
	assert.Equal(t, 200, r.status, r.body)
	_, ok := quiet.row("q1")
	assert.True(t, ok)
	r = do(t, ts, "POST", "/v1/track", []byte(`{"type":"track","messageId":"b-late"}`), basic(otherKey))
	assert.Equal(t, 429, r.status, "the busy source is at its share: %s", r.body)
	r = do(t, ts, "POST", "/v1/track", []byte(`{"type":"track","messageId":"q2","writeKey":"`+testWriteKey+`"}`), nil)
	assert.Equal(t, 200, r.status, "a write key in the body is read under the unauthenticated budget, then the source's: %s", r.body)
	close(busy.gate)
	assert.Equal(t, 200, (<-done).status)
}

func TestBatchExpansion(t *testing.T) {
	ctx32 := `{"pad":"` + strings.Repeat("c", 3000) + `"}`
	var items []string
	for i := range 60 {
		items = append(items, fmt.Sprintf(`{"type":"track","messageId":"e%d"}`, i))
	}
	body := []byte(`{"context":` + ctx32 + `,"batch":[` + strings.Join(items, ",") + `]}`)

	t.Run("refused before any copy", func(t *testing.T) {
		sink := newMemSink()
		_, ts := start(t, Config{Sources: []Source{{WriteKey: testWriteKey, Sink: sink}}, MaxExpandedBatchBytes: 100 << 10})
		r := do(t, ts, "POST", "/v1/batch", body, basic(testWriteKey))
		assert.Equal(t, 413, r.status, r.body)
		assert.Contains(t, gjson.Get(r.body, "message").String(), "top-level context")
		assert.Equal(t, 0, sink.count())
	})
	t.Run("merged a group at a time", func(t *testing.T) {
		sink := newMemSink()
		_, ts := start(t, Config{Sources: []Source{{WriteKey: testWriteKey, Sink: sink}}, MaxExpandedBatchBytes: -1,
			Group: GroupConfig{MaxBytes: 16 << 10}})
		r := do(t, ts, "POST", "/v1/batch", body, basic(testWriteKey))
		require.Equal(t, 200, r.status, r.body)
		require.Equal(t, 60, sink.count())
		for i := range 60 {
			ev, _ := sink.row(fmt.Sprintf("e%d", i))
			assert.Equal(t, 3000, len(gjson.GetBytes(ev, "context.pad").Str), "event %d has the context", i)
		}
		sizes := sink.writeSizes()
		assert.Greater(t, len(sizes), 10, "each write holds at most 16 KB of merged events: %v", sizes)
		for _, n := range sizes {
			assert.LessOrEqual(t, n, 6, "16 KB / 3 KB per merged event")
		}
	})
	t.Run("too many events", func(t *testing.T) {
		_, ts := start(t, Config{Sources: []Source{{WriteKey: testWriteKey, Sink: newMemSink()}}, MaxRequestEvents: 10})
		r := do(t, ts, "POST", "/v1/batch", []byte(`{"batch":[`+strings.Join(items, ",")+`]}`), basic(testWriteKey))
		assert.Equal(t, 413, r.status, r.body)
	})
}

func TestSendBounds(t *testing.T) {
	a := newTestActions()
	_, ts := start(t, Config{Actions: a, MaxBodyBytes: 64 << 10, MaxEventBytes: 32 << 10, MaxBatchBytes: 64 << 10, MaxRequestEvents: 2000})

	r := do(t, ts, "POST", "/send", sendBody("h", "["+strings.Repeat("1,", 2000)+"1]"), nil)
	assert.Equal(t, 413, r.status, "more than MaxRequestEvents: %s", r.body)

	// 1,500 numbers: 1,500 error nodes, each of a bounded size.
	r = do(t, ts, "POST", "/send", sendBody("h", "["+strings.Repeat("1,", 1499)+"1]"), nil)
	require.Equal(t, 200, r.status)
	assert.LessOrEqual(t, len(r.body), 1500*maxNodeBytes, "the answer is bounded")
	nodes := gjson.Get(r.body, "multistatus").Array()
	require.Len(t, nodes, 1500)
	assert.Equal(t, "PAYLOAD_VALIDATION_FAILED", nodes[1499].Get("errortype").Str)
	assert.Contains(t, nodes[1499].Get("errormessage").Str, "payload[")

	// Events whose "sent" would pass the bound are answered without it.
	var evs []string
	for i := range 8 {
		evs = append(evs, fmt.Sprintf(`{"type":"track","messageId":"s%d","p":"%s"}`, i, strings.Repeat("x", 7000)))
	}
	r = do(t, ts, "POST", "/send", sendBody("h", "["+strings.Join(evs, ",")+"]"), nil)
	require.Equal(t, 200, r.status, r.body)
	assert.LessOrEqual(t, len(r.body), 64<<10)
	nodes = gjson.Get(r.body, "multistatus").Array()
	require.Len(t, nodes, 8)
	assert.Equal(t, int64(200), nodes[0].Get("status").Int())
	assert.Equal(t, 8, a.sink("h").count())
}

func TestMultiStatusClip(t *testing.T) {
	long := strings.Repeat("é", 300)
	out := appendMultiStatus(nil, []Result{{Status: 400, Message: long, Sent: []byte(`{"a":1}`)}}, false, clippedMessage)
	msg := gjson.GetBytes(out, "multistatus.0.errormessage").Str
	assert.LessOrEqual(t, len(msg), clippedMessage+len("…"))
	assert.True(t, strings.HasSuffix(msg, "…"))
	assert.False(t, gjson.GetBytes(out, "multistatus.0.sent").Exists())
	assert.Equal(t, "INTEGRATIONS", gjson.GetBytes(out, "multistatus.0.errorreporter").Str)
}

// serveOn runs s.Serve on a loopback listener until the test ends.
func serveOn(t *testing.T, s *Server) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() { errc <- s.Serve(ctx, ln) }()
	t.Cleanup(func() {
		cancel()
		<-errc
	})
	return ln.Addr().String()
}

func TestServeHeaderAndConnectionLimits(t *testing.T) {
	s, err := New(Config{Sources: []Source{{WriteKey: testWriteKey, Sink: newMemSink()}}, MaxHeaderBytes: 2048, MaxConnections: 2,
		ShutdownTimeout: 2 * time.Second})
	require.NoError(t, err)
	addr := serveOn(t, s)

	c, err := net.Dial("tcp", addr)
	require.NoError(t, err)
	defer c.Close()
	_, err = fmt.Fprintf(c, "GET /healthz HTTP/1.1\r\nHost: x\r\nX-Pad: %s\r\n\r\n", strings.Repeat("p", 16<<10))
	require.NoError(t, err)
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	require.NoError(t, err)
	assert.Equal(t, http.StatusRequestHeaderFieldsTooLarge, resp.StatusCode)
	_ = resp.Body.Close()
	_ = c.Close()

	// Two connections held open: a third waits until one closes.
	var held []net.Conn
	for range 2 {
		h, err := net.Dial("tcp", addr)
		require.NoError(t, err)
		held = append(held, h)
		_, err = fmt.Fprintf(h, "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
		require.NoError(t, err)
		resp, err := http.ReadResponse(bufio.NewReader(h), nil)
		require.NoError(t, err)
		_ = resp.Body.Close()
	}
	third := make(chan int, 1)
	go func() {
		cl := &http.Client{Timeout: 10 * time.Second}
		resp, err := cl.Get("http://" + addr + "/healthz")
		if err != nil {
			third <- -1
			return
		}
		_ = resp.Body.Close()
		third <- resp.StatusCode
	}()
	select {
	case code := <-third:
		t.Fatalf("a third connection was served (%d) while two were open", code)
	case <-time.After(300 * time.Millisecond):
	}
	_ = held[0].Close()
	select {
	case code := <-third:
		assert.Equal(t, 200, code)
	case <-time.After(5 * time.Second):
		t.Fatal("the third connection was not served after one closed")
	}
	_ = held[1].Close()
}

func TestMultiStatusNeverEchoesRawBytes(t *testing.T) {
	out := appendMultiStatus(nil, []Result{
		{Status: 502, Message: "bad gateway", Body: []byte("<html>internal admin page</html>")},
		{Status: 200, Sent: []byte(`{"id":1}`), Body: []byte(`{"rowsAffected":1}`)},
	}, true, 0)
	require.True(t, gjson.ValidBytes(out), "%s", out)
	assert.NotContains(t, string(out), "internal admin page")
	assert.False(t, gjson.GetBytes(out, "multistatus.0.body").Exists())
	assert.Equal(t, "INTEGRATIONS", gjson.GetBytes(out, "multistatus.0.errorreporter").Str)
	assert.JSONEq(t, `{"rowsAffected":1}`, gjson.GetBytes(out, "multistatus.1.body").Raw)
}
