package endpoint

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"unicode/utf8"

	"github.com/tidwall/gjson"
)

// FuzzTrackingBody sends arbitrary bodies to the Tracking API routes. The
// server must never panic, must answer one of the statuses it documents, and
// every event it hands to the Sink must be a JSON object in valid UTF-8
// without a write key and with type, messageId, timestamp and receivedAt set.
func FuzzTrackingBody(f *testing.F) {
	for _, seed := range []string{
		`{"event":"E"}`,
		`{"writeKey":"` + testWriteKey + `","userId":"u","event":"E","properties":{"n":123456789012345678901234567890}}`,
		`{"batch":[{"type":"track","event":"E","context":{"a":1}},{"type":"identify"},1,{}],"context":{"a":2,"b":[1]},"integrations":{"All":false}}`,
		`{"batch":[{"type":"x","writeKey":"k","write\u004bey":"k2"}]}`,
		` {"type" : "page" , "context" : null } `,
		`{"batch":[{"type":"track","context":{"\"":1}}],"context":{"\"":2,"é":3}}`,
		"{\"event\":\"a\xffb\"}",
		"{\"batch\":[{\"type\":\"track\",\"p\":\"\xed\xa0\x80\"},{\"type\":\"page\"}]}",
		`[[[[]]]]`,
		`{"a":`,
		``,
	} {
		f.Add([]byte(seed), uint8(0))
		f.Add([]byte(seed), uint8(6))
	}
	var mu sync.Mutex
	var bad []string
	sink := SinkFunc(func(_ context.Context, events [][]byte) []Result {
		out := make([]Result, len(events))
		for i, ev := range events {
			out[i] = Result{Status: 200}
			problem := ""
			switch {
			case !gjson.ValidBytes(ev) || !gjson.ParseBytes(ev).IsObject():
				problem = "not a JSON object"
			case !utf8.Valid(ev):
				problem = "invalid UTF-8"
			case gjson.GetBytes(ev, "writeKey").Exists():
				problem = "writeKey left in"
			case !gjson.GetBytes(ev, "type").Exists(), !gjson.GetBytes(ev, "messageId").Exists(),
				!gjson.GetBytes(ev, "timestamp").Exists(), !gjson.GetBytes(ev, "receivedAt").Exists():
				problem = "a field Segment sets is missing"
			}
			if problem != "" {
				mu.Lock()
				bad = append(bad, problem+": "+string(ev))
				mu.Unlock()
			}
		}
		return out
	})
	s, err := New(Config{
		Sources: []Source{{WriteKey: testWriteKey, Sink: sink}},
		Group:   GroupConfig{Disabled: true},
	})
	if err != nil {
		f.Fatal(err)
	}
	routes := []string{"track", "identify", "page", "screen", "group", "alias", "batch", "import"}
	h := s.Handler()
	f.Fuzz(func(t *testing.T, body []byte, route uint8) {
		path := "/v1/" + routes[int(route)%len(routes)]
		req := httptest.NewRequest("POST", path, bytes.NewReader(body))
		req.SetBasicAuth(testWriteKey, "")
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		switch w.Code {
		case http.StatusOK, http.StatusBadRequest, http.StatusRequestEntityTooLarge:
		default:
			t.Fatalf("status %d for %q: %s", w.Code, body, w.Body)
		}
		if !gjson.Valid(w.Body.String()) {
			t.Fatalf("answer is not JSON: %s", w.Body)
		}
		mu.Lock()
		defer mu.Unlock()
		if len(bad) > 0 {
			t.Fatalf("%s (body %q)", bad[0], body)
		}
	})
}

// FuzzWebhookSignature checks the signature path on arbitrary bodies and
// secrets: the signature of the whole raw body is accepted (the body is then
// judged on its own: invalid JSON is a 400 or 413, never a 401), any other
// is refused with 401 before the body is parsed, and nothing panics.
func FuzzWebhookSignature(f *testing.F) {
	f.Add([]byte(`{"type":"track"}`), []byte("secret"), uint8(0))
	f.Add([]byte(`[{"type":"track"}, {"type":"identify"}]`), []byte("s"), uint8(3))
	f.Add([]byte(`[ {"a" : 1} ,2]`), []byte(""), uint8(39))
	f.Add([]byte(`[]`), []byte("x"), uint8(1))
	f.Add([]byte(`"str"`), []byte("x"), uint8(1))
	f.Add([]byte(`{`), []byte("x"), uint8(1))
	f.Fuzz(func(t *testing.T, body, secret []byte, flip uint8) {
		if len(secret) == 0 {
			secret = []byte{0}
		}
		sink := SinkFunc(func(_ context.Context, events [][]byte) []Result {
			return failAll(len(events), Result{Status: 200})
		})
		s, err := New(Config{Sources: []Source{{WebhookSecret: string(secret), Sink: sink}}, Group: GroupConfig{Disabled: true}})
		if err != nil {
			t.Fatal(err)
		}
		post := func(sig string) int {
			req := httptest.NewRequest("POST", "/webhook", bytes.NewReader(body))
			req.Header.Set(SignatureHeader, sig)
			w := httptest.NewRecorder()
			s.Handler().ServeHTTP(w, req)
			return w.Code
		}
		sig := Sign(secret, body)
		if !verify(secret, sig, body) {
			t.Fatal("a signature does not verify")
		}
		code := post(sig)
		if code == http.StatusUnauthorized {
			t.Fatalf("the right signature was refused for %q", body)
		}
		if checkJSON(body) != nil && code != http.StatusBadRequest && code != http.StatusRequestEntityTooLarge {
			t.Fatalf("signed invalid JSON answered %d", code)
		}
		wrong := []byte(sig)
		i := int(flip) % len(wrong)
		if wrong[i] == '0' {
			wrong[i] = '1'
		} else {
			wrong[i] = '0'
		}
		if code := post(string(wrong)); code != http.StatusUnauthorized {
			t.Fatalf("a wrong signature answered %d", code)
		}
	})
}
