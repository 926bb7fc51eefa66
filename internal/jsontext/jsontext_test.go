package jsontext

import (
	"bytes"
	"encoding/json"
	"math"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestAppendString(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"", `""`},
		{"plain", `"plain"`},
		{`quote " back \`, `"quote \" back \\"`},
		{"nl \n cr \r tab \t bs \b ff \f", `"nl \n cr \r tab \t bs \b ff \f"`},
		{"nul \x00 us \x1f del \x7f", `"nul \u0000 us \u001f del ` + "\x7f" + `"`},
		{"<html> & 'q'", `"<html> & 'q'"`},
		{"é 😀 \u2028", "\"é 😀 \u2028\""},
		{"bad \xff end", `"bad \ufffd end"`},
		{"cut \xf0\x9f\x98", `"cut \ufffd\ufffd\ufffd"`},
		{"\xed\xa0\x80", `"\ufffd\ufffd\ufffd"`}, // an encoded surrogate is not UTF-8
	} {
		got := AppendString([]byte("x"), tc.in)
		assert.Equal(t, "x"+tc.want, string(got), "%q", tc.in)
		assert.Equal(t, string(got), string(AppendBytes([]byte("x"), []byte(tc.in))), "%q", tc.in)
		inner := AppendEscaped(nil, tc.in)
		assert.Equal(t, tc.want[1:len(tc.want)-1], string(inner), "%q", tc.in)
	}
}

// encodingJSON is encoding/json's string form of s without HTML escaping.
// It also escapes U+2028 and U+2029, which JSON.stringify and AppendString
// leave as they are; both forms decode to the same string.
func encodingJSON(s string) string {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(s)
	out := strings.TrimSuffix(b.String(), "\n")
	return strings.NewReplacer(`\u2028`, "\u2028", `\u2029`, "\u2029").Replace(out)
}

func FuzzAppendString(f *testing.F) {
	for _, s := range []string{"", "plain", "quote \" back \\ nl \n cr \r tab \t nul \x00 \x1f", "ü😀", "bad \xff\xfe utf8", "\u2028", "\\u2028"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		out := AppendString([]byte("x"), s)
		require.Equal(t, byte('x'), out[0])
		require.True(t, json.Valid(out[1:]), "%q", out)
		var got string
		require.NoError(t, json.Unmarshal(out[1:], &got), "%q", out)
		if utf8.ValidString(s) {
			require.Equal(t, s, got)
		} else {
			require.True(t, utf8.ValidString(got))
		}
		// encoding/json writes the same text, each byte that is not UTF-8
		// included.
		if !strings.Contains(s, `\u202`) {
			require.Equal(t, encodingJSON(s), string(out[1:]), "%q", s)
		}
	})
}

func TestAppendUTF16Escape(t *testing.T) {
	assert.Equal(t, `\ud83d`, string(AppendUTF16Escape(nil, 0xd83d)))
	assert.Equal(t, `\u00e9`, string(AppendUTF16Escape(nil, 0xe9)))
	assert.Equal(t, `\u001f`, string(AppendControl(nil, 0x1f)))
}

// TestAppendNumber holds what JavaScript's String(x) prints for each x
// (node -p 'String(x)').
func TestAppendNumber(t *testing.T) {
	tenth, fifth := 0.1, 0.2 // variables, so that the sum is not folded exactly
	for _, tc := range []struct {
		in   float64
		want string
	}{
		{0, "0"},
		{math.Copysign(0, -1), "0"},
		{1, "1"},
		{-1.5, "-1.5"},
		{tenth + fifth, "0.30000000000000004"},
		{0.000001, "0.000001"},
		{0.0000001, "1e-7"},
		{1.5e-7, "1.5e-7"},
		{123456789012, "123456789012"},
		{1e20, "100000000000000000000"},
		{1e21, "1e+21"},
		{1.2345e22, "1.2345e+22"},
		{-1e-10, "-1e-10"},
		{math.MaxFloat64, "1.7976931348623157e+308"},
		{5e-324, "5e-324"},
		{9007199254740993, "9007199254740992"},
		{math.NaN(), "NaN"},
		{math.Inf(1), "Infinity"},
		{math.Inf(-1), "-Infinity"},
	} {
		assert.Equal(t, tc.want, string(AppendNumber(nil, tc.in)), "%v", tc.in)
	}
}

func FuzzAppendNumber(f *testing.F) {
	for _, x := range []float64{0, 1, -1.5, 1e21, 1e-7, 123.456, 5e-324, math.MaxFloat64} {
		f.Add(x)
	}
	f.Fuzz(func(t *testing.T, x float64) {
		s := string(AppendNumber(nil, x))
		if math.IsNaN(x) || math.IsInf(x, 0) {
			return
		}
		// The text reads back as the same number: the digits round-trip.
		got, err := strconv.ParseFloat(s, 64)
		require.NoError(t, err, "%q", s)
		require.Equal(t, x == 0, got == 0, "%q", s)
		if x != 0 {
			require.Equal(t, x, got, "%q", s)
		}
		// Plain notation exactly for magnitudes in [1e-6, 1e21).
		a := math.Abs(x)
		plain := !strings.ContainsRune(s, 'e')
		require.Equal(t, x == 0 || (a >= 1e-6 && a < 1e21), plain, "%v printed %q", x, s)
	})
}

func BenchmarkAppendString(b *testing.B) {
	s := strings.Repeat(`Segment event "name" with é and a tab	`, 8)
	buf := make([]byte, 0, 1024)
	b.SetBytes(int64(len(s)))
	for b.Loop() {
		buf = AppendString(buf[:0], s)
	}
}
