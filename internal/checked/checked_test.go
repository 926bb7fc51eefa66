package checked

import (
	"bytes"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/tidwall/gjson"
)

func TestScanRecordsMembers(t *testing.T) {
	ev, err := Scan([]byte(` {"a" : 1, "b\u0063":{"x":[1,{"y":"z"}]},"s":"\u00e9t\u00e9 é","n":null} `), nil)
	require.NoError(t, err)
	require.Equal(t, 4, ev.Len())
	assert.Equal(t, `"a"`, ev.Key(0))
	assert.Equal(t, `1`, ev.Value(0))
	assert.Equal(t, "bc", ev.KeyString(1))
	assert.Equal(t, `{"x":[1,{"y":"z"}]}`, ev.Value(1))
	assert.Equal(t, `"\u00e9t\u00e9 é"`, ev.Value(2))
	assert.Equal(t, `null`, ev.Value(3))
}

func TestScanRefuses(t *testing.T) {
	deep := strings.Repeat("[", MaxDepth) + strings.Repeat("]", MaxDepth)
	for _, tc := range []struct {
		name, in string
		off      int
		err      error
	}{
		{"empty", ``, 0, ErrMalformed},
		{"array", `[1]`, 0, ErrNotObject},
		{"trailing comma", `{"a":1,}`, 7, ErrMalformed},
		{"text after", `{"a":1} x`, 8, ErrMalformed},
		{"bad escape", `{"a":"\x"}`, 7, ErrMalformed},
		{"control", "{\"a\":\"\n\"}", 6, ErrMalformed},
		{"bad utf8", "{\"a\":\"\xff\"}", 6, ErrInvalidUTF8},
		{"surrogate utf8", "{\"a\":\"\xed\xa0\x80\"}", 6, ErrInvalidUTF8},
		{"overlong", "{\"a\":\"\xc0\xaf\"}", 6, ErrInvalidUTF8},
		{"number", `{"a":01}`, 6, ErrMalformed},
		{"too deep", `{"a":` + deep + `}`, 5 + MaxDepth - 1, ErrTooDeep},
		{"unterminated", `{"a":"abc`, 5, ErrMalformed},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Scan([]byte(tc.in), nil)
			var se *SyntaxError
			require.ErrorAs(t, err, &se)
			assert.ErrorIs(t, err, tc.err)
			assert.Equal(t, tc.off, se.Offset, err.Error())
		})
	}
}

// reference is what Scan must accept: encoding/json's grammar, an object,
// valid UTF-8, and at most MaxDepth levels.
func reference(b []byte) bool {
	if !json.Valid(b) || !utf8.Valid(b) {
		return false
	}
	t := bytes.TrimLeft(b, " \t\r\n")
	return len(t) > 0 && t[0] == '{'
}

func FuzzScan(f *testing.F) {
	for _, s := range []string{`{}`, `{"a":[1,2,{"b":null}]}`, `{"a":"\ud83d\ude00"}`, "{\"é\":\"\xe2\x82\xac\"}", `{"a":1e5,"b":-0.5}`, `[]`, `{"a":tru}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		ev, err := Scan(b, nil)
		if want := reference(b); (err == nil) != want {
			t.Fatalf("Scan(%q) = %v, encoding/json says valid=%v", b, err, want)
		}
		if err != nil {
			var se *SyntaxError
			if !errors.As(err, &se) || se.Offset < 0 || se.Offset > len(b) {
				t.Fatalf("error %v has no offset in range", err)
			}
			return
		}
		// The members are gjson's, in order.
		i := 0
		gjson.ParseBytes(b).ForEach(func(k, v gjson.Result) bool {
			if i >= ev.Len() || ev.Key(i) != k.Raw || ev.Value(i) != v.Raw || ev.KeyString(i) != k.Str {
				t.Fatalf("member %d differs from gjson's %s:%s", i, k.Raw, v.Raw)
			}
			i++
			return true
		})
		if i != ev.Len() {
			t.Fatalf("%d members, gjson has %d", ev.Len(), i)
		}
	})
}

func BenchmarkScan(b *testing.B) {
	ev := []byte(`{"anonymousId":"507f191e810c19729de860ea","context":{"ip":"8.8.8.8","library":{"name":"analytics.js","version":"2.11.1"},"locale":"en-US","page":{"path":"/academy/","referrer":"","title":"Analytics Academy","url":"https://segment.com/academy/"},"userAgent":"Mozilla/5.0 (Macintosh; Intel Mac OS X 10_12_2) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/56.0.2924.87 Safari/537.36"},"event":"Order Completed","messageId":"ajs-f8ca1e4de5024d9430b3928bd8ac6b1","properties":{"total":27.50,"currency":"USD","products":[{"product_id":"507f1f77bcf86cd79943901","sku":"45790-32","name":"Monopoly: 3rd Edition","price":19.99,"quantity":1},{"product_id":"505bd76785ebb509fc183733","sku":"46493-32","name":"Uno Card Game","price":3,"quantity":2}]},"timestamp":"2025-07-07T12:19:25.665+02:00","type":"track","userId":"97980cfea0067"}`)
	b.Run("Scan", func(b *testing.B) {
		b.SetBytes(int64(len(ev)))
		var ms []Member
		for b.Loop() {
			e, err := Scan(ev, ms)
			if err != nil {
				b.Fatal(err)
			}
			ms = e.members
		}
	})
	b.Run("baseline=gjson.ValidBytes", func(b *testing.B) {
		b.SetBytes(int64(len(ev)))
		for b.Loop() {
			if !gjson.ValidBytes(ev) {
				b.Fatal("invalid")
			}
		}
	})
}
