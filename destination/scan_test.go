package destination

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/tidwall/gjson"
)

func members(s string) ([]string, bool) {
	var out []string
	ok := eachMember(s, func(k string, v gjson.Result) bool {
		out = append(out, k+"="+v.Raw)
		return true
	})
	return out, ok
}

func TestEachMember(t *testing.T) {
	got, ok := members(` { "a" : 1 , "b\"c":"x\\\"y", "d":{"e":["}",{"f":"]"}]}, "g":[ ], "h":null,"i":true,"j":-1.5e3 } `)
	assert.True(t, ok)
	assert.Equal(t, []string{`"a"=1`, `"b\"c"="x\\\"y"`, `"d"={"e":["}",{"f":"]"}]}`, `"g"=[ ]`, `"h"=null`, `"i"=true`, `"j"=-1.5e3`}, got)
	got, ok = members(`{}`)
	assert.True(t, ok)
	assert.Empty(t, got)
	for _, bad := range []string{``, `[]`, `{`, `{"a"}`, `{"a":}`, `{"a":1,}`, `{"a":1 "b":2}`, `{"a":"x}`, `{"a":{"b":1}`, `{a:1}`, `{"a":1]`, `{"a`} {
		_, ok := members(bad)
		assert.False(t, ok, "%q", bad)
	}
	// Strings of every length around the eight-byte words, with escapes
	// on the boundaries.
	for n := 0; n < 40; n++ {
		for _, esc := range []string{"", `\"`, `\\`, `\u00e9`} {
			body := ""
			for len(body) < n {
				body += "x"
			}
			s := `{"k":"` + body + esc + `","z":[1,"` + esc + body + `]"]}`
			got, ok := members(s)
			if assert.True(t, ok, s) && assert.Len(t, got, 2, s) {
				assert.Equal(t, gjson.Get(s, "k").Raw, got[0][len(`"k"=`):], s)
				assert.Equal(t, gjson.Get(s, "z").Raw, got[1][len(`"z"=`):], s)
			}
		}
	}
}

// FuzzEachMember checks the member walk against gjson on valid JSON: the
// same keys and raw values in the same order, and no panic on anything.
func FuzzEachMember(f *testing.F) {
	for _, s := range []string{`{"a":1,"b":{"c":[1,2,{"d":"}"}]},"e":"\"\\"}`, `{}`, `{"a":[]}`, `{"x":"` + "\u00e9\u4e2d" + `","y":null}`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, ok := members(s)
		if !gjson.Valid(s) || !gjson.Parse(s).IsObject() {
			return
		}
		if !ok {
			t.Fatalf("valid object %q refused", s)
		}
		var want []string
		gjson.Parse(s).ForEach(func(k, v gjson.Result) bool {
			want = append(want, k.Raw+"="+v.Raw)
			return true
		})
		if len(want) != len(got) {
			t.Fatalf("%q: got %q want %q", s, got, want)
		}
		for i := range want {
			if want[i] != got[i] {
				t.Fatalf("%q: member %d: got %q want %q", s, i, got[i], want[i])
			}
		}
	})
}

func BenchmarkEachMember(b *testing.B) {
	ev := fuzzEvents[0]
	s := string(ev)
	b.Run("eachMember", func(b *testing.B) {
		b.SetBytes(int64(len(s)))
		for b.Loop() {
			eachMember(s, func(string, gjson.Result) bool { return true })
		}
	})
	b.Run("baseline=gjson.ForEach", func(b *testing.B) {
		b.SetBytes(int64(len(s)))
		for b.Loop() {
			gjson.Parse(s).ForEach(func(_, _ gjson.Result) bool { return true })
		}
	})
}

// BenchmarkSkip measures skipping a whole ~3 KB event, the unit of work of
// the subscription and validation passes, against gjson's validation of
// the same bytes.
func BenchmarkSkip(b *testing.B) {
	var parts []string
	for n := 0; n < 3000; n += len(fuzzEvents[0]) + 1 {
		parts = append(parts, string(fuzzEvents[0]))
	}
	s := "[" + strings.Join(parts, ",") + "]"
	b.Run("skipValue", func(b *testing.B) {
		b.SetBytes(int64(len(s)))
		for b.Loop() {
			if skipValue(s, 0) != len(s) {
				b.Fatal("skip")
			}
		}
	})
	b.Run("baseline=gjson.Valid", func(b *testing.B) {
		b.SetBytes(int64(len(s)))
		for b.Loop() {
			if !gjson.Valid(s) {
				b.Fatal("valid")
			}
		}
	})
}
