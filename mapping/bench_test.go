package mapping

import (
	"encoding/json"
	"fmt"
	"math/rand"
	"strings"
	"testing"

	"github.com/tidwall/gjson"
)

// sendDataDefault is the Send Data action's default field mapping.
const sendDataDefault = `{"messageid":{"@path":"$.messageId"},"timestamp":{"@path":"$.timestamp"},"type":{"@path":"$.type"},"event":{"@path":"$.event"},"name":{"@path":"$.name"},"properties":{"@path":"$.properties"},"userId":{"@path":"$.userId"},"anonymousId":{"@path":"$.anonymousId"},"groupId":{"@path":"$.groupId"},"traits":{"@if":{"exists":{"@path":"$.context.traits"},"then":{"@path":"$.context.traits"},"else":{"@path":"$.traits"}}},"context":{"@path":"$.context"}}`

// pathOnly reads the same fields with @path alone.
const pathOnly = `{"messageid":{"@path":"$.messageId"},"timestamp":{"@path":"$.timestamp"},"type":{"@path":"$.type"},"event":{"@path":"$.event"},"name":{"@path":"$.name"},"properties":{"@path":"$.properties"},"userId":{"@path":"$.userId"},"anonymousId":{"@path":"$.anonymousId"},"groupId":{"@path":"$.groupId"},"traits":{"@path":"$.context.traits"},"context":{"@path":"$.context"}}`

// everyDirective uses each directive once, on the fields of a track event.
const everyDirective = `{
	"id": {"@path": "$.messageId"},
	"summary": {"@template": "{{context.traits.name}} bought {{properties.products.length}} items for {{properties.total}} {{properties.currency}}"},
	"plan": {"@if": {"exists": {"@path": "$.context.traits.plan"}, "then": {"@path": "$.context.traits.plan"}, "else": "free"}},
	"event_upper": {"@case": {"operator": "upper", "value": {"@path": "$.event"}}},
	"event_slug": {"@replace": {"pattern": " ", "replacement": "_", "value": {"@path": "$.event"}}},
	"items": {"@arrayPath": ["$.properties.products", {"sku": {"@path": "$.sku"}, "price": {"@path": "$.price"}}]},
	"source": {"@literal": "{{web}}"},
	"person": {"@merge": {"objects": [{"@path": "$.context.traits"}, {"id": {"@path": "$.userId"}}], "direction": "right"}},
	"total": {"@transform": {"apply": {"n": {"@path": "$.properties.total"}}, "mapping": {"@template": "total={{n}}"}}},
	"page": {"@flatten": {"value": {"@path": "$.context.page"}, "separator": "_"}},
	"library": {"@json": {"mode": "encode", "value": {"@path": "$.context.library"}}},
	"campaign": {"@excludeWhenNull": {"@path": "$.context.campaign"}},
	"label": {"@liquid": "{{ properties.currency | downcase }}-{{ properties.total | times: 100 }}"}
}`

// trackEvents generates n realistic Segment track events of about 3 KB,
// the same ones on every run.
func trackEvents(n int) [][]byte {
	rng := rand.New(rand.NewSource(42))
	names := []string{"Order Completed", "Product Viewed", "Checkout Started", "Cart Viewed", "Signed Up"}
	words := []string{"Monopoly", "Uno", "Chess", "Catan", "Scrabble", "Risk", "Clue", "Jenga", "Twister", "Operation"}
	hex := func(k int) string {
		const digits = "0123456789abcdef"
		b := make([]byte, k)
		for i := range b {
			b[i] = digits[rng.Intn(16)]
		}
		return string(b)
	}
	events := make([][]byte, n)
	for i := range events {
		var products []string
		for p := 0; p < 3+rng.Intn(3); p++ {
			products = append(products, fmt.Sprintf(
				`{"product_id":"%s","sku":"%d-%d","category":"Games","name":"%s: %d Edition","brand":"Hasbro","variant":"%s","price":%d.%02d,"quantity":%d,"coupon":"SPRING%d","position":%d,"url":"https://www.example.com/product/%s","image_url":"https://www.example.com/product/%s.jpg"}`,
				hex(24), 10000+rng.Intn(90000), rng.Intn(100), words[rng.Intn(len(words))], 1+rng.Intn(5),
				[]string{"red", "blue", "green"}[rng.Intn(3)], rng.Intn(100), rng.Intn(100), 1+rng.Intn(4),
				rng.Intn(30), p+1, hex(8), hex(8)))
		}
		campaign := "null"
		if rng.Intn(2) == 0 {
			campaign = fmt.Sprintf(`{"name":"spring_sale_%d","source":"newsletter","medium":"email","term":"board games","content":"banner","ref":null}`, rng.Intn(9))
		}
		ev := fmt.Sprintf(`{"type":"track","event":"%s","messageId":"ajs-next-%d-%s","timestamp":"2025-07-%02dT%02d:%02d:%02d.%03dZ","userId":"user_%d","anonymousId":"%s-%s-%s-%s-%s",`+
			`"properties":{"order_id":"%s","checkout_id":"%s","affiliation":"Google Store","total":%d.%02d,"subtotal":%d.%02d,"revenue":%d.%02d,"shipping":3.5,"tax":2.25,"discount":2.5,"coupon":"hasbros","currency":"USD","products":[%s]},`+
			`"context":{"active":true,"app":{"name":"InitechGlobal","version":"545","build":"3.0.1.545","namespace":"com.production.segment"},"campaign":%s,`+
			`"device":{"id":"B5372DB0-C21E-11E4-8DFC-AA07A5B093DB","manufacturer":"Apple","model":"iPhone7,2","name":"maguro","type":"ios"},"ip":"8.8.%d.%d",`+
			`"library":{"name":"analytics.js","version":"2.11.1"},"locale":"en-US","network":{"bluetooth":false,"carrier":"T-Mobile US","cellular":true,"wifi":false},"os":{"name":"iPhone OS","version":"8.1.3"},`+
			`"page":{"path":"/checkout","referrer":"https://www.example.com/cart","search":"","title":"Checkout | Initech","url":"https://www.example.com/checkout"},`+
			`"screen":{"width":320,"height":568},"timezone":"Europe/Amsterdam","traits":{"name":"%s %s","email":"user%d@example.com","plan":"%s","logins":%d},`+
			`"userAgent":"Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36"},`+
			`"integrations":{"All":true,"Mixpanel":false},"originalTimestamp":"2025-07-07T10:19:25.001Z","receivedAt":"2025-07-07T10:19:26.102Z","sentAt":"2025-07-07T10:19:25.438Z","version":2}`,
			names[rng.Intn(len(names))], 1751883565665+int64(i), hex(8), 1+rng.Intn(28), rng.Intn(24), rng.Intn(60), rng.Intn(60), rng.Intn(1000),
			rng.Intn(100000), hex(8), hex(4), hex(4), hex(4), hex(12),
			hex(24), hex(24), 10+rng.Intn(500), rng.Intn(100), 10+rng.Intn(500), rng.Intn(100), 10+rng.Intn(500), rng.Intn(100), strings.Join(products, ","),
			campaign, rng.Intn(256), rng.Intn(256),
			[]string{"Peter", "Ana", "Zoë", "Bo"}[rng.Intn(4)], []string{"Gibbons", "Lumbergh", "Smykowski"}[rng.Intn(3)], i, []string{"free", "premium", "enterprise"}[rng.Intn(3)], rng.Intn(50))
		events[i] = []byte(ev)
	}
	return events
}

func avgSize(events [][]byte) int64 {
	total := 0
	for _, e := range events {
		total += len(e)
	}
	return int64(total / len(events))
}

func TestTrackEventsAreRealistic(t *testing.T) {
	events := trackEvents(64)
	for i, e := range events {
		if !gjson.ValidBytes(e) {
			t.Fatalf("event %d is not valid JSON: %s", i, e)
		}
	}
	if size := avgSize(events); size < 2500 || size > 3500 {
		t.Fatalf("average event size %d, want about 3 KB", size)
	}
}

func benchmarkMapping(b *testing.B, mapping string) {
	m, err := Compile([]byte(mapping))
	if err != nil {
		b.Fatal(err)
	}
	events := trackEvents(64)
	b.SetBytes(avgSize(events))
	b.ReportAllocs()
	var dst []byte
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		var ok bool
		dst, ok, err = m.AppendApply(dst[:0], events[i%len(events)])
		if err != nil || !ok {
			b.Fatal(err)
		}
	}
}

func BenchmarkApply(b *testing.B) {
	b.Run("default", func(b *testing.B) { benchmarkMapping(b, sendDataDefault) })
	b.Run("path-only", func(b *testing.B) { benchmarkMapping(b, pathOnly) })
	b.Run("every-directive", func(b *testing.B) { benchmarkMapping(b, everyDirective) })
}

// BenchmarkBaseline measures, on the same events, what the mapping is
// compared with: a decode-and-encode round trip with encoding/json, and
// gjson.ValidBytes (one pass over the bytes).
func BenchmarkBaseline(b *testing.B) {
	events := trackEvents(64)
	b.Run("encoding-json-roundtrip", func(b *testing.B) {
		b.SetBytes(avgSize(events))
		b.ReportAllocs()
		for i := 0; i < b.N; i++ {
			var v map[string]any
			if err := json.Unmarshal(events[i%len(events)], &v); err != nil {
				b.Fatal(err)
			}
			if _, err := json.Marshal(v); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("gjson-valid", func(b *testing.B) {
		b.SetBytes(avgSize(events))
		b.ReportAllocs()
		for i := 0; i < b.N; i++ {
			if !gjson.ValidBytes(events[i%len(events)]) {
				b.Fatal("invalid")
			}
		}
	})
}
