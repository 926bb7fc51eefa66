package endpoint

import (
	"bytes"
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/tidwall/gjson"
)

// TestCheckUTF8 checks the error of an event with invalid UTF-8: the
// offset of its first bad byte in the body.
func TestCheckUTF8(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want int
	}{
		{"", 0},
		{"plain ascii", 11},
		{"é😀中", 9},
		{"a\xffb", 1},
		{"ab\xc3", 2},              // a sequence cut short at the end
		{"ab\xc3(", 2},             // a lead byte without its continuation
		{"\x80", 0},                // a stray continuation byte
		{"ok \xc0\x80", 3},         // overlong encoding of U+0000
		{"ok \xed\xa0\x80", 3},     // an encoded surrogate
		{"ok \xf4\x90\x80\x80", 3}, // beyond U+10FFFF
		{strings.Repeat("x", 100) + "é\xfe", 102},
	} {
		err := checkUTF8([]byte(tc.in), 10)
		if tc.want == len(tc.in) {
			assert.NoError(t, err, "%q", tc.in)
			continue
		}
		assert.EqualError(t, err, fmt.Sprintf("invalid UTF-8 at byte offset %d", 10+tc.want), "%q", tc.in)
	}
}

// TestTrackingInvalidUTF8 posts events with invalid UTF-8 to every Tracking
// API and webhook route: a single event is refused with 400 and the offset
// of the bad byte in the body; in a batch or an array only that event fails
// and its neighbours are written.
func TestTrackingInvalidUTF8(t *testing.T) {
	var logs logBuffer
	s, sink, _, url := trackingServer(t, Config{Logger: debugLogger(&logs)})
	bad := []byte("{\"type\":\"track\",\"messageId\":\"bad\",\"properties\":{\"s\":\"a\xff\xfeb\"}}")
	badAt := bytes.IndexByte(bad, 0xff)

	for _, route := range []string{"track", "identify", "page", "screen", "group", "alias"} {
		r := doURL(t, url, "POST", "/v1/"+route, bad, basic(testWriteKey))
		assert.Equal(t, 400, r.status, "%s: %s", route, r.body)
		assert.Equal(t, fmt.Sprintf("invalid UTF-8 at byte offset %d", badAt), gjson.Get(r.body, "message").String(), route)
	}
	t.Run("key in the body", func(t *testing.T) {
		body := []byte(`{"writeKey":"` + testWriteKey + `",` + string(bad[1:]))
		r := doURL(t, url, "POST", "/v1/track", body, nil)
		assert.Equal(t, 400, r.status, r.body)
		assert.Contains(t, r.body, fmt.Sprintf("invalid UTF-8 at byte offset %d", bytes.IndexByte(body, 0xff)))
	})
	t.Run("valid multi-byte text is written", func(t *testing.T) {
		r := doURL(t, url, "POST", "/v1/track", []byte(`{"messageId":"mb","p":"é😀中"}`), basic(testWriteKey))
		require.Equal(t, 200, r.status, r.body)
		_, ok := sink.row("mb")
		assert.True(t, ok)
	})

	for _, route := range []string{"batch", "import"} {
		t.Run(route, func(t *testing.T) {
			id := route + "-"
			body := `{"batch":[{"type":"track","messageId":"` + id + `1"},` + string(bad) + `,` +
				"{\"type\":\"page\",\"messageId\":\"" + id + "3\",\"name\":\"\xc0\x80\"}," +
				`{"type":"identify","messageId":"` + id + `4","traits":{"n":"ü"}}]}`
			r := doURL(t, url, "POST", "/v1/"+route, []byte(body), basic(testWriteKey))
			require.Equal(t, 200, r.status, "every event has a final result: %s", r.body)
			for _, w := range []string{id + "1", id + "4"} {
				_, ok := sink.row(w)
				assert.True(t, ok, "%s not written", w)
			}
			_, ok := sink.row(id + "3")
			assert.False(t, ok, "an element with invalid UTF-8 is not written")
			assert.Equal(t, 2.0, metricValue(t, s.Registry(), "s2segment_server_events_total", "route", route, "result", "rejected"))
			assert.Contains(t, logs.String(), fmt.Sprintf("invalid UTF-8 at byte %d", strings.Index(body, "\xc0")))
		})
	}
	_, ok := sink.row("bad")
	assert.False(t, ok, "invalid UTF-8 is never written")
}

func TestWebhookInvalidUTF8(t *testing.T) {
	var logs logBuffer
	sink := newMemSink()
	_, ts := start(t, Config{Logger: debugLogger(&logs), Sources: []Source{{Name: "web", WebhookSecret: testSecret, Sink: sink}}})
	bad := []byte("{\"type\":\"track\",\"messageId\":\"w-bad\",\"p\":\"\xe2\x82\"}")

	r := do(t, ts, "POST", "/webhook/web", bad, sigHeader(bad))
	assert.Equal(t, 400, r.status, r.body)
	assert.Equal(t, fmt.Sprintf("invalid UTF-8 at byte offset %d", bytes.IndexByte(bad, 0xe2)), gjson.Get(r.body, "message").String())

	r = do(t, ts, "POST", "/webhook/web", bad, nil)
	assert.Equal(t, 401, r.status, "the signature is checked first: %s", r.body)

	first := []byte(`{"type":"track","messageId":"w1"}`)
	arr := []byte("[" + string(first) + ", " + string(bad) + ", {\"type\":\"page\",\"messageId\":\"w3\"}]")
	r = do(t, ts, "POST", "/webhook/web", arr, sigHeader(arr))
	require.Equal(t, 200, r.status, r.body)
	for _, id := range []string{"w1", "w3"} {
		_, ok := sink.row(id)
		assert.True(t, ok, "%s not written", id)
	}
	_, ok := sink.row("w-bad")
	assert.False(t, ok)
	assert.Contains(t, logs.String(), fmt.Sprintf("element 1: invalid UTF-8 at byte offset %d", bytes.IndexByte(arr, 0xe2)))
}

func TestActionsSendInvalidUTF8(t *testing.T) {
	a := newTestActions()
	_, ts := start(t, Config{Actions: a})
	payload := "[{\"type\":\"track\",\"messageId\":\"s1\"},{\"type\":\"track\",\"messageId\":\"s2\",\"event\":\"\xff\"}]"
	body := sendBody("db1", payload)
	r := do(t, ts, "POST", "/send", body, nil)
	require.Equal(t, 200, r.status, r.body)
	assert.JSONEq(t, fmt.Sprintf(`{"multistatus":[
	  {"status":200,"sent":{"id":"s1"}},
	  {"status":400,"errortype":"PAYLOAD_VALIDATION_FAILED","errormessage":"payload[1]: invalid UTF-8 at byte offset %d","errorreporter":"INTEGRATIONS"}
	]}`, bytes.IndexByte(body, 0xff)), r.body)
	assert.Equal(t, 1, a.sink("db1").count())

	r = do(t, ts, "POST", "/send", sendBody("db1", "{\"type\":\"track\",\"messageId\":\"s3\",\"event\":\"\xff\"}"), nil)
	require.Equal(t, 200, r.status, r.body)
	assert.Equal(t, int64(400), gjson.Get(r.body, "multistatus.0.status").Int(), r.body)
	assert.Equal(t, 1, a.sink("db1").count())
}
