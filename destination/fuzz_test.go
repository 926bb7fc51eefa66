package destination

import (
	"bytes"
	"encoding/json"
	"errors"
	"testing"
	"unicode"
	"unicode/utf8"

	"github.com/tidwall/gjson"
)

var fuzzEvents = [][]byte{
	[]byte(`{"type":"track","event":"Order Completed","userId":"u-1","properties":{"revenue":150,"price":"19.99","tags":["a","b"],"item":{"sku":"S"},"n":0},"traits":{"plan":"pro"},"context":{"ip":"8.8.8.8","active":false}}`),
	[]byte(`{"type":"identify","userId":123,"traits":null,"name":"","context":{"traits":{"email":"a@b.c"}}}`),
	[]byte(`{}`),
	[]byte(`{"type":5,"event":{"x":[1,2,{"y":null}]},"properties":"str"}`),
}

// FuzzParseSubscription checks that any text either parses or is refused
// with an offset inside it, never panics, and that a parsed subscription
// evaluates against events without panicking, the same way every time.
func FuzzParseSubscription(f *testing.F) {
	for _, s := range []string{
		`type = "track" or type = "screen" or type = "identify" or type = "page" or type = "group" or type = "alias"`,
		`type = "track" and (event = "A" or properties.total > 100)`,
		`!contains(event, "x") and match(properties.a.b[0], "pre*") or context.ip != null`,
		`userId = true and traits.logins >= 5 and properties.first\ name = 'Ana'`,
		`((type = "track") or x)`, `type = `, `type == "=" and`, `properties.v = .5`, `a\`, `!`, `"`,
		`match(name, "*")`, `contains(event,`, `properties.n = +3`, `properties.n != -1.5`,
		`(contains(type, "t") or event = "A")`, `(match(event, "A*")) and type = "track"`, `type = "track" or ()`,
		`(!contains(messageId, "x") and event = "A")`, `event = "B" or properties.\. = "a"`, `()`, `(contains(type, "t"))`,
	} {
		f.Add(s)
	}
	// Every tenth generated case: enough for the group forms, few enough
	// that gathering the baseline leaves time to fuzz.
	for i, c := range readNDJSON[subscriptionCase](f, "testdata/subscription-generated.ndjson") {
		if i%10 == 0 {
			f.Add(c.Subscription)
		}
	}
	f.Fuzz(func(t *testing.T, fql string) {
		sub, err := ParseSubscription(fql)
		if err != nil {
			var se *SubscriptionError
			if !errors.As(err, &se) || !errors.Is(err, ErrInvalidSubscription) {
				t.Fatalf("error %v is not a *SubscriptionError", err)
			}
			if se.Offset < 0 || se.Offset > len(fql) {
				t.Fatalf("offset %d outside [0, %d] for %q", se.Offset, len(fql), fql)
			}
			if se.Reason == "" {
				t.Fatalf("no reason for %q", fql)
			}
			return
		}
		if sub.String() != fql || sub.Describe() == "" {
			t.Fatalf("String or Describe wrong for %q", fql)
		}
		again, err := ParseSubscription(fql)
		if err != nil || again.Describe() != sub.Describe() {
			t.Fatalf("parsing %q twice differs: %v", fql, err)
		}
		for _, ev := range fuzzEvents {
			if sub.Match(ev) != again.Match(ev) {
				t.Fatalf("%q matches %s differently on two parses", fql, ev)
			}
			if matched, failed := sub.evaluate(string(ev)); matched && failed {
				t.Fatalf("%q both matches %s and fails on it", fql, ev)
			}
		}
		sub.Match([]byte(`{"type":`)) // malformed input must not panic
		sub.Match(nil)
	})
}

// FuzzValidate checks the validation of arbitrary payloads: it never
// panics; every error is a sentence in Segment's style with a path; a
// valid payload is JSON, contains only fields, and validating it again
// changes nothing (the coercions and removals are complete).
func FuzzValidate(f *testing.F) {
	for _, s := range []string{
		`{"messageid":"m","type":"track","event":"E","max_batch_size":100,"properties":{"a":1}}`,
		`{"messageid":4242,"type":"identify","max_batch_size":"250","tags":"a","maybe":null,"count":"3"}`,
		`{"messageid":["m"],"type":{"x":1},"max_batch_size":0,"short":"abcdef","when":"x"}`,
		`{"messageid":"a","messageid":"b","type":"page","max_batch_size":1,"address":{"city":"P","zip":"7","z":1}}`,
		`{"messageid":"","type":"track","event":null,"max_batch_size":true,"enable_batching":"false","tags":[null,"",1,[2]]}`,
		`[1]`, `{`, `{"a":}`, `null`,
	} {
		f.Add([]byte(s), false)
	}
	schema, err := NewSchema(sendFields)
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, data []byte, single bool) {
		d := Batched
		if single {
			d = Single
		}
		var p Payload
		_, err := schema.Validate(nil, data, d, &p)
		if err != nil {
			var ve *ValidationError
			if !errors.As(err, &ve) || len(ve.Errors) == 0 {
				t.Fatalf("error %v is not a non-empty *ValidationError", err)
			}
			for _, fe := range ve.Errors {
				r, _ := utf8.DecodeRuneInString(fe.Message)
				if !unicode.IsUpper(r) || fe.Message[len(fe.Message)-1] != '.' || fe.Path == "" || fe.Path[0] != '$' {
					t.Fatalf("badly formed error %+v", fe)
				}
			}
			return
		}
		if !gjson.ValidBytes(data) {
			return // garbage in: no promise beyond not panicking
		}
		if !json.Valid(p.JSON) {
			t.Fatalf("payload %s of %s is not JSON", p.JSON, data)
		}
		gjson.ParseBytes(p.JSON).ForEach(func(k, _ gjson.Result) bool {
			if _, ok := sendFields.Get(k.Str); !ok {
				t.Fatalf("payload %s keeps unknown key %q", p.JSON, k.Str)
			}
			return true
		})
		var q Payload
		dst, err := schema.Validate(nil, p.JSON, d, &q)
		if err != nil {
			t.Fatalf("payload %s of %s fails its second validation: %v", p.JSON, data, err)
		}
		if len(dst) != 0 || !bytes.Equal(q.JSON, p.JSON) {
			t.Fatalf("second validation of %s changed it to %s", p.JSON, q.JSON)
		}
	})
}
