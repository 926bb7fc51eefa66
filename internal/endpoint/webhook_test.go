package endpoint

import (
	"crypto/hmac"
	"crypto/sha1"
	"encoding/hex"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/tidwall/gjson"
)

func TestSignMatchesSegmentsDefinition(t *testing.T) {
	// X-Signature = hex(HMAC-SHA1(key=sharedSecret, msg=JSON.stringify(body))).
	body := []byte(`{"type":"track","event":"E"}`)
	mac := hmac.New(sha1.New, []byte("s3cr3t"))
	mac.Write(body)
	assert.Equal(t, hex.EncodeToString(mac.Sum(nil)), Sign([]byte("s3cr3t"), body))
	assert.Len(t, Sign([]byte("s3cr3t"), body), 40)
}

func TestWebhook(t *testing.T) {
	sink, other := newMemSink(), newMemSink()
	_, ts := start(t, Config{
		MaxEventBytes: 512,
		Sources: []Source{
			{Name: "web", WebhookSecret: testSecret, Sink: sink},
			{Name: "first", WebhookSecret: testSecret, WebhookFirstElementSignature: true, Sink: sink},
			{Name: "keys-only", WriteKey: testWriteKey, Sink: other},
		},
	})
	one := []byte(`{"type":"track","event":"One","messageId":"w1"}`)
	// An array as a sender may format it: the signature covers the raw
	// bytes exactly as they appear, whitespace included.
	first := `{ "type": "track", "event": "First", "messageId": "w2" }`
	arr := []byte("[\n  " + first + ",\n  {\"type\":\"identify\",\"messageId\":\"w3\"},\n  \"not an event\",\n  {\"type\":\"track\",\"messageId\":\"w5\",\"p\":\"" + strings.Repeat("x", 600) + "\"}\n]")
	bigOne := []byte(`{"type":"track","messageId":"big","p":"` + strings.Repeat("x", 600) + `"}`)
	upper := map[string]string{SignatureHeader: strings.ToUpper(Sign([]byte(testSecret), one))}
	tests := []struct {
		name   string
		path   string
		body   []byte
		header map[string]string
		want   int
		stored []string
	}{
		{"one event", "/webhook/web", one, sigHeader(one), 200, []string{"w1"}},
		{"upper-case hex", "/webhook/web", one, upper, 200, []string{"w1"}},
		{"array signed over the whole body", "/webhook/web", arr, sigHeader(arr), 200, []string{"w2", "w3"}},
		{"array signed over element 0 only", "/webhook/web", arr, sigHeader([]byte(first)), 401, nil},
		{"array signed over element 0, first-element source", "/webhook/first", arr, sigHeader([]byte(first)), 200, []string{"w2", "w3"}},
		{"array signed over the whole body, first-element source", "/webhook/first", arr, sigHeader(arr), 200, []string{"w2", "w3"}},
		{"array signed over re-serialised element 0, first-element source", "/webhook/first", arr, sigHeader([]byte(`{"type":"track","event":"First","messageId":"w2"}`)), 401, nil},
		{"object, first-element source", "/webhook/first", one, sigHeader(one), 200, []string{"w1"}},
		{"empty array", "/webhook/web", []byte(`[]`), sigHeader([]byte(`[]`)), 200, nil},
		{"wrong secret", "/webhook/web", one, map[string]string{SignatureHeader: Sign([]byte("other"), one)}, 401, nil},
		{"missing signature", "/webhook/web", one, nil, 401, nil},
		{"signature not hex", "/webhook/web", one, map[string]string{SignatureHeader: "zz"}, 401, nil},
		{"truncated signature", "/webhook/web", one, map[string]string{SignatureHeader: Sign([]byte(testSecret), one)[:38]}, 401, nil},
		{"unknown source", "/webhook/nope", one, sigHeader(one), 404, nil},
		{"source without a secret", "/webhook/keys-only", one, sigHeader(one), 404, nil},
		{"no source name with several sources", "/webhook", one, sigHeader(one), 404, nil},
		{"invalid JSON", "/webhook/web", []byte(`{"type":`), sigHeader([]byte(`{"type":`)), 400, nil},
		{"a string", "/webhook/web", []byte(`"x"`), sigHeader([]byte(`"x"`)), 400, nil},
		{"one event too large", "/webhook/web", bigOne, sigHeader(bigOne), 413, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := do(t, ts, "POST", tc.path, tc.body, tc.header)
			require.Equal(t, tc.want, r.status, r.body)
			if tc.want == 200 {
				assert.JSONEq(t, `{"success":true}`, r.body)
			} else {
				assert.False(t, gjson.Get(r.body, "success").Bool())
			}
			for _, id := range tc.stored {
				_, ok := sink.row(id)
				assert.True(t, ok, "%s not written", id)
			}
		})
	}
	_, ok := sink.row("w5")
	assert.False(t, ok, "an oversized element fails alone")
	_, ok = sink.row("big")
	assert.False(t, ok)
	assert.Equal(t, 0, other.count())
}

func TestWebhookRetryableIsAlways5xx(t *testing.T) {
	sink := newMemSink()
	_, ts := start(t, Config{Sources: []Source{{WebhookSecret: testSecret, Sink: sink}}})
	slow := []byte(`{"type":"track","messageId":"s1","properties":{"fail":"slow"}}`)
	r := do(t, ts, "POST", "/webhook", slow, sigHeader(slow))
	assert.Equal(t, 503, r.status, "classic webhooks retry 5xx only, so a 429 from the database becomes 503")
	assert.Equal(t, "7", r.header.Get("Retry-After"))

	ok := []byte(`{"type":"track","messageId":"s2"}`)
	r = do(t, ts, "POST", "/webhook/default", ok, sigHeader(ok))
	assert.Equal(t, 200, r.status, "single-source mode names its source default")
}

func TestWebhookBody(t *testing.T) {
	tests := []struct {
		name   string
		body   string
		events []string
		single bool
		err    string
	}{
		{"object", `{"a":1}`, []string{`{"a":1}`}, true, ""},
		{"object with spaces", " {\"a\":1}\n", []string{`{"a":1}`}, true, ""},
		{"array", `[{"a":1}, {"b":2}]`, []string{`{"a":1}`, `{"b":2}`}, false, ""},
		{"array with spaces", "[ \n{\"a\" : 1} ,2]", []string{`{"a" : 1}`, `2`}, false, ""},
		{"array at the element limit", `[1,2,3]`, []string{`1`, `2`, `3`}, false, ""},
		{"array past the element limit", `[1,2,3,4]`, nil, false, "too many events"},
		{"empty array", `[]`, nil, false, ""},
		{"number", ` 12`, nil, false, "expected an event object or an array of events at byte offset 1"},
		{"blank", "  ", nil, false, "empty body"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			body := []byte(tc.body)
			events, single, err := webhookBody(body, 3)
			if tc.err != "" {
				require.Error(t, err)
				assert.Contains(t, err.Error(), tc.err)
				return
			}
			require.NoError(t, err)
			var raws []string
			for _, e := range events {
				raws = append(raws, string(rawBytes(body, e)))
			}
			assert.Equal(t, tc.events, raws)
			assert.Equal(t, tc.single, single)
		})
	}
}

func TestFirstElement(t *testing.T) {
	for body, want := range map[string]string{
		`[{"a":1},{"b":2}]`:    `{"a":1}`,
		" \n[ {\"a\" : 1} ,2]": `{"a" : 1}`,
		`{"a":1}`:              "",
		`[]`:                   "",
		`  `:                   "",
	} {
		assert.Equal(t, want, string(firstElement([]byte(body))), "%q", body)
	}
}
