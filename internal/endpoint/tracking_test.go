package endpoint

import (
	"bytes"
	"compress/gzip"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/tidwall/gjson"
)

var fixedNow = time.Date(2025, 7, 7, 10, 19, 25, 665_000_000, time.UTC)

// trackingServer serves one source with testWriteKey and a second with
// otherKey, with a fixed clock and numbered message ids.
func trackingServer(t *testing.T, cfg Config) (*Server, *memSink, *memSink, string) {
	t.Helper()
	sink, other := newMemSink(), newMemSink()
	cfg.Sources = []Source{
		{Name: "web", WriteKey: testWriteKey, WebhookSecret: testSecret, Sink: sink},
		{Name: "app", WriteKey: otherKey, Sink: other},
	}
	s, err := New(cfg)
	require.NoError(t, err)
	var n atomic.Int64
	s.now = func() time.Time { return fixedNow }
	s.newID = func([]byte) string { return "api-" + strconv.FormatInt(n.Add(1), 10) }
	return s, sink, other, serve(t, s).URL
}

func TestTrackingSingleEventRoutes(t *testing.T) {
	_, sink, other, url := trackingServer(t, Config{})
	const now = `"2025-07-07T10:19:25.665Z"`
	tests := []struct {
		route  string
		header map[string]string
		body   string
		id     string
		want   string // the event as written
		other  bool   // written to the "app" source
	}{
		{
			route: "track", header: basic(testWriteKey), id: "api-1",
			body: `{"userId":"u1","event":"Clicked","properties":{"n":12345678901234567890}}`,
			want: `{"type":"track","messageId":"api-1","timestamp":` + now + `,"receivedAt":` + now + `,"userId":"u1","event":"Clicked","properties":{"n":12345678901234567890}}`,
		},
		{
			route: "identify", id: "m-identify",
			body: `{"writeKey":"` + testWriteKey + `","messageId":"m-identify","timestamp":"2024-01-01T00:00:00Z","traits":{"a":1}}`,
			want: `{"type":"identify","receivedAt":` + now + `,"messageId":"m-identify","timestamp":"2024-01-01T00:00:00Z","traits":{"a":1}}`,
		},
		{
			route: "page", header: basic(otherKey), id: "m-page", other: true,
			body: ` { "type" : "page", "messageId":"m-page", "timestamp":"2024-01-01T00:00:00Z", "receivedAt":"x", "name":"Home" } `,
			want: ` { "type" : "page", "messageId":"m-page", "timestamp":"2024-01-01T00:00:00Z", "receivedAt":"x", "name":"Home" } `,
		},
		{
			route: "screen", header: map[string]string{"Authorization": "Bearer oauth-token"}, id: "m-screen",
			body: `{"writeKey":"` + testWriteKey + `","messageId":"m-screen","timestamp":"t","receivedAt":"r","name":"S"}`,
			want: `{"type":"screen","messageId":"m-screen","timestamp":"t","receivedAt":"r","name":"S"}`,
		},
		{
			route: "group", header: basic(testWriteKey), id: "m-group",
			body: `{"messageId":"m-group","timestamp":"t","receivedAt":"r","groupId":"g","type":"group"}`,
			want: `{"messageId":"m-group","timestamp":"t","receivedAt":"r","groupId":"g","type":"group"}`,
		},
		{
			route: "alias", header: basic(testWriteKey), id: "m-alias",
			body: `{"messageId":"m-alias","timestamp":"t","receivedAt":"r","previousId":"p","userId":"u","context":{"ip":"1.2.3.4"}}`,
			want: `{"type":"alias","messageId":"m-alias","timestamp":"t","receivedAt":"r","previousId":"p","userId":"u","context":{"ip":"1.2.3.4"}}`,
		},
	}
	for _, tc := range tests {
		t.Run(tc.route, func(t *testing.T) {
			r := doURL(t, url, "POST", "/v1/"+tc.route, []byte(tc.body), tc.header)
			require.Equal(t, http.StatusOK, r.status, r.body)
			assert.JSONEq(t, `{"success":true}`, r.body)
			s := sink
			if tc.other {
				s = other
			}
			got, ok := s.row(tc.id)
			require.True(t, ok, "event %s not written", tc.id)
			assert.Equal(t, tc.want, string(got))
			assert.NotContains(t, string(got), "writeKey")
		})
	}
}

func TestTrackingAuth(t *testing.T) {
	_, sink, _, url := trackingServer(t, Config{})
	ev := func(key string) []byte {
		if key == "" {
			return []byte(`{"messageId":"a1","event":"E"}`)
		}
		return []byte(`{"messageId":"a1","event":"E","writeKey":"` + key + `"}`)
	}
	tests := []struct {
		name   string
		path   string
		header map[string]string
		body   []byte
		want   int
	}{
		{"no key", "/v1/track", nil, ev(""), 401},
		{"wrong key in body", "/v1/track", nil, ev("nope"), 401},
		{"wrong key in Basic", "/v1/track", basic("nope"), ev(testWriteKey), 401},
		{"empty key in body", "/v1/track", nil, []byte(`{"writeKey":""}`), 401},
		{"key that is not a string", "/v1/track", nil, []byte(`{"writeKey":123}`), 401},
		{"Bearer without body key", "/v1/track", map[string]string{"Authorization": "Bearer x"}, ev(""), 401},
		{"batch without key", "/v1/batch", nil, []byte(`{"batch":[]}`), 401},
		{"batch wrong Basic", "/v1/batch", basic("nope"), []byte(`{"batch":[]}`), 401},
		{"batch key in body", "/v1/batch", nil, []byte(`{"writeKey":"` + testWriteKey + `","batch":[]}`), 200},
		{"webhook secret is not a write key", "/v1/track", basic(testSecret), ev(""), 401},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := doURL(t, url, "POST", tc.path, tc.body, tc.header)
			assert.Equal(t, tc.want, r.status, r.body)
			if tc.want == 401 {
				assert.Equal(t, `Basic realm="s2segment"`, r.header.Get("WWW-Authenticate"))
				assert.Equal(t, false, gjson.Get(r.body, "success").Bool())
			}
		})
	}
	assert.Equal(t, 0, sink.count(), "nothing is written without the right key")
}

func TestTrackingBadBodies(t *testing.T) {
	_, sink, _, url := trackingServer(t, Config{MaxEventBytes: 1024, MaxBatchBytes: 4096})
	big := `{"messageId":"big","p":"` + strings.Repeat("x", 1100) + `"}`
	var gzBomb bytes.Buffer
	zw := gzip.NewWriter(&gzBomb)
	_, _ = zw.Write([]byte(`{"batch":[{"type":"track","p":"` + strings.Repeat("y", 10000) + `"}]}`))
	require.NoError(t, zw.Close())
	tests := []struct {
		name    string
		path    string
		body    []byte
		header  map[string]string
		want    int
		message string
	}{
		{"invalid JSON", "/v1/track", []byte(`{"event":"E",}`), nil, 400, "invalid character '}' looking for beginning of object key string at byte offset 13"},
		{"truncated JSON", "/v1/track", []byte(`{"event":"E"`), nil, 400, "invalid JSON"},
		{"empty body", "/v1/track", nil, nil, 400, "byte offset 0"},
		{"array for a single event", "/v1/track", []byte(`[{"event":"E"}]`), nil, 400, "one event, a JSON object"},
		{"batch is not an object", "/v1/batch", []byte(`[1]`), nil, 400, `expected an object with a "batch" array, got array`},
		{"batch field missing", "/v1/batch", []byte(`{"events":[]}`), nil, 400, `expected an object with a "batch" array`},
		{"batch is an object", "/v1/import", []byte(`{"batch":{}}`), nil, 400, `expected an object with a "batch" array`},
		{"nested too deep", "/v1/track", []byte(strings.Repeat("[", 200) + strings.Repeat("]", 200)), nil, 400, "nested more than 128 levels"},
		{"single event too large", "/v1/track", []byte(big), nil, 413, "limit is 1024"},
		{"batch too large", "/v1/batch", []byte(`{"batch":[` + strings.Repeat(`{"type":"track"},`, 300) + `{}]}`), nil, 413, "limit is 4096"},
		{"gzip bigger than the limit once decoded", "/v1/batch", gzBomb.Bytes(), map[string]string{"Content-Encoding": "gzip"}, 413, "limit of 4096"},
		{"broken gzip", "/v1/batch", []byte("not gzip"), map[string]string{"Content-Encoding": "gzip"}, 400, "reading gzip body"},
		{"unsupported encoding", "/v1/batch", []byte(`{}`), map[string]string{"Content-Encoding": "br"}, 415, "br"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := basic(testWriteKey)
			for k, v := range tc.header {
				h[k] = v
			}
			r := doURL(t, url, "POST", tc.path, tc.body, h)
			assert.Equal(t, tc.want, r.status, r.body)
			assert.Contains(t, gjson.Get(r.body, "message").String(), tc.message)
		})
	}
	t.Run("too large without Content-Length", func(t *testing.T) {
		// A chunked body is cut off by http.MaxBytesReader rather than by
		// the Content-Length check.
		req, err := http.NewRequest("POST", url+"/v1/track", struct{ *strings.Reader }{strings.NewReader(big)})
		require.NoError(t, err)
		req.SetBasicAuth(testWriteKey, "")
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		defer resp.Body.Close()
		assert.Equal(t, 413, resp.StatusCode)
	})
	assert.Equal(t, 0, sink.count())
}

func TestTrackingGzip(t *testing.T) {
	_, sink, _, url := trackingServer(t, Config{})
	var b bytes.Buffer
	zw := gzip.NewWriter(&b)
	_, _ = zw.Write([]byte(`{"batch":[{"type":"track","event":"E","messageId":"gz1"}]}`))
	require.NoError(t, zw.Close())
	h := basic(testWriteKey)
	h["Content-Encoding"] = "gzip"
	r := doURL(t, url, "POST", "/v1/batch", b.Bytes(), h)
	require.Equal(t, 200, r.status, r.body)
	_, ok := sink.row("gz1")
	assert.True(t, ok)
}

func TestTrackingBatchMixed(t *testing.T) {
	s, sink, _, url := trackingServer(t, Config{MaxEventBytes: 256})
	body := `{"writeKey":"` + testWriteKey + `",
	  "context":{"library":{"name":"analytics-go"},"ip":"10.0.0.1"},
	  "integrations":{"All":true},
	  "batch":[
	    {"type":"track","event":"A","messageId":"b1","context":{"ip":"1.1.1.1"}},
	    42,
	    {"event":"no type","messageId":"b3"},
	    {"type":"track","event":"B","messageId":"b4","properties":{"fail":"reject"}},
	    {"type":"track","messageId":"b5","p":"` + strings.Repeat("z", 300) + `"},
	    {"type":"identify","messageId":"b6","integrations":{"Mixpanel":false},"writeKey":"` + testWriteKey + `"},
	    {"type":"page"}
	  ]}`
	r := doURL(t, url, "POST", "/v1/batch", []byte(body), nil)
	require.Equal(t, 200, r.status, "every event has a final result: %s", r.body)
	assert.JSONEq(t, `{"success":true}`, r.body)

	b1, ok := sink.row("b1")
	require.True(t, ok)
	assert.Equal(t, `{"timestamp":"2025-07-07T10:19:25.665Z","receivedAt":"2025-07-07T10:19:25.665Z","type":"track","event":"A","messageId":"b1","context":{"ip":"1.1.1.1","library":{"name":"analytics-go"}},"integrations":{"All":true}}`, string(b1),
		"the batch context is merged under the event's own keys")
	b6, ok := sink.row("b6")
	require.True(t, ok)
	assert.Equal(t, `{"timestamp":"2025-07-07T10:19:25.665Z","receivedAt":"2025-07-07T10:19:25.665Z","type":"identify","messageId":"b6","integrations":{"Mixpanel":false,"All":true},"context":{"library":{"name":"analytics-go"},"ip":"10.0.0.1"}}`, string(b6))
	_, ok = sink.row("api-1")
	assert.True(t, ok, "an event without messageId gets one")
	for _, id := range []string{"b3", "b4", "b5"} {
		_, ok := sink.row(id)
		assert.False(t, ok, "%s must not be written", id)
	}
	assert.Equal(t, 3, sink.count())
	assert.Equal(t, 3.0, metricValue(t, s.Registry(), "s2segment_server_events_total", "route", "batch", "result", "written"))
	assert.Equal(t, 4.0, metricValue(t, s.Registry(), "s2segment_server_events_total", "route", "batch", "result", "rejected"))
}

func TestTrackingRetryableFailures(t *testing.T) {
	_, sink, _, url := trackingServer(t, Config{RetryAfter: 2 * time.Second})
	tests := []struct {
		name       string
		fail       string
		want       int
		retryAfter string
	}{
		{"database unavailable", "retry", 503, "2"},
		{"database asks to slow down", "slow", 429, "7"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			body := fmt.Sprintf(`{"batch":[{"type":"track","messageId":"ok-%[1]s"},{"type":"track","messageId":"f-%[1]s","properties":{"fail":%[2]q}}]}`, tc.fail, tc.fail)
			r := doURL(t, url, "POST", "/v1/batch", []byte(body), basic(testWriteKey))
			assert.Equal(t, tc.want, r.status, r.body)
			assert.Equal(t, tc.retryAfter, r.header.Get("Retry-After"))
			assert.False(t, gjson.Get(r.body, "success").Bool())
			assert.Contains(t, gjson.Get(r.body, "message").String(), "1 of 2 events")
			_, ok := sink.row("ok-" + tc.fail)
			assert.True(t, ok, "the other event is still written")
		})
	}
}

func TestEditEvent(t *testing.T) {
	edits := &eventEdits{typ: "track", fill: true, receivedAt: "NOW", messageID: func([]byte) string { return "ID" }}
	tests := []struct {
		name  string
		edits *eventEdits
		in    string
		want  string
	}{
		{"fills what is missing", edits, `{}`, `{"type":"track","messageId":"ID","timestamp":"NOW","receivedAt":"NOW"}`},
		{"unchanged bytes when complete", edits, `{ "type":"x","messageId":"m","timestamp":"t","receivedAt":"r" }`, `{ "type":"x","messageId":"m","timestamp":"t","receivedAt":"r" }`},
		{"drops writeKey", edits, `{"type":"x","writeKey":"k","messageId":"m","timestamp":"t","receivedAt":"r"}`, `{"type":"x","messageId":"m","timestamp":"t","receivedAt":"r"}`},
		{"keeps raw numbers and escapes", edits, `{"type":"x","messageId":"m","timestamp":"t","receivedAt":"r","n":1.50e300,"s":"\u00e9\"","writeKey":"k"}`, `{"type":"x","messageId":"m","timestamp":"t","receivedAt":"r","n":1.50e300,"s":"\u00e9\""}`},
		{"escaped key is still writeKey", edits, `{"type":"x","messageId":"m","timestamp":"t","receivedAt":"r","write\u004bey":"k"}`, `{"type":"x","messageId":"m","timestamp":"t","receivedAt":"r"}`},
		{"no type edit for batch events", &eventEdits{fill: true, receivedAt: "NOW", messageID: func([]byte) string { return "ID" }}, `{"event":"E"}`, `{"messageId":"ID","timestamp":"NOW","receivedAt":"NOW","event":"E"}`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := editEvent([]byte(tc.in), tc.edits)
			assert.Equal(t, tc.want, string(got))
			assert.True(t, gjson.ValidBytes(got))
		})
	}
}

// TestContentMessageID: an event without a messageId gets one derived from
// what was sent, so a resend (a later receivedAt) gets the same id, and
// another event, or the same on another route, gets another.
func TestContentMessageID(t *testing.T) {
	id := func(typ, ev, now string) string {
		out := editEvent([]byte(ev), &eventEdits{typ: typ, fill: true, receivedAt: now, messageID: newMessageID})
		return gjson.GetBytes(out, "messageId").Str
	}
	a := id("track", `{"event":"E","userId":"u","writeKey":"k1"}`, "T1")
	assert.Regexp(t, `^api-[0-9a-f]{32}$`, a)
	assert.Equal(t, a, id("track", `{"event":"E","userId":"u","writeKey":"k1"}`, "T2"), "a resend gets the same id")
	assert.Equal(t, a, id("track", `{"event":"E","userId":"u","writeKey":"k2"}`, "T2"), "the write key is not content")
	assert.NotEqual(t, a, id("track", `{"event":"E","userId":"v"}`, "T1"))
	assert.NotEqual(t, a, id("page", `{"event":"E","userId":"u"}`, "T1"), "the route's type is content")
	assert.NotEqual(t, a, id("track", `{"event":"E","userId":"u","timestamp":"2024-01-01T00:00:00Z"}`, "T1"))
}
