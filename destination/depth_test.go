package destination

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/tidwall/gjson"
)

func TestCheckDepth(t *testing.T) {
	pad := `"` + strings.Repeat("x", MaxDepth) + `"` // long enough to be scanned
	for _, tc := range []struct {
		name   string
		in     string
		offset int // -1: no error
	}{
		{"empty", "", -1},
		{"short input is not scanned", strings.Repeat("[", MaxDepth), -1},
		{"exactly the limit", strings.Repeat("[", MaxDepth) + strings.Repeat("]", MaxDepth), -1},
		{"one level past the limit", strings.Repeat("[", MaxDepth+1) + strings.Repeat("]", MaxDepth+1), MaxDepth},
		{"unclosed", strings.Repeat("[", MaxDepth+1), MaxDepth},
		{"objects", `{"a":` + strings.Repeat(`{"a":`, MaxDepth) + "1" + strings.Repeat("}", MaxDepth+1), 5 * MaxDepth},
		{"brackets in a string do not count", `["` + strings.Repeat("[", 2*MaxDepth) + `"]`, -1},
		{"escaped quotes do not end a string", `["\"` + strings.Repeat("{", 2*MaxDepth) + `\\\""]`, -1},
		{"an escaped backslash ends before the quote", `["\\"` + strings.Repeat("[", MaxDepth) + "]", MaxDepth + 4},
		{"closed levels are not counted", strings.Repeat("[]", MaxDepth+1), -1},
		{"unbalanced closings do not go below zero", strings.Repeat("]", MaxDepth) + strings.Repeat("[", MaxDepth+1), 2 * MaxDepth},
		{"unterminated string", `[` + pad[:len(pad)-1], -1},
		{"after a long string", `[` + pad + `,` + strings.Repeat("[", MaxDepth), len(pad) + 1 + MaxDepth},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := CheckDepth([]byte(tc.in))
			if tc.offset < 0 {
				assert.NoError(t, err)
				return
			}
			var de *DepthError
			require.ErrorAs(t, err, &de)
			assert.ErrorIs(t, err, ErrTooDeep)
			assert.Equal(t, DepthError{Offset: tc.offset, Limit: MaxDepth}, *de)
			assert.Contains(t, "[{", string(tc.in[de.Offset]), "the offset is an opening bracket")
			assert.Equal(t, fmt.Sprintf("nested more than 10000 levels deep at byte offset %d", tc.offset), err.Error())
		})
	}
}

// deepInputs are the inputs every entry point is given: arrays nested past
// MaxDepth, and nested about 6 million deep (12 MB), deeper than gjson's
// recursive validator survives on Go's 1 GB stack, unclosed as well as
// closed.
func deepInputs() map[string]string {
	out := map[string]string{}
	for _, n := range []int{MaxDepth + 1, 6_000_000} {
		out[fmt.Sprintf("%d closed", n)] = strings.Repeat("[", n) + strings.Repeat("]", n)
		out[fmt.Sprintf("%d unclosed", n)] = strings.Repeat("[", n)
	}
	return out
}

// deepEventOf is a track event whose property "p" is v.
func deepEventOf(v string) []byte {
	return []byte(`{"type":"track","event":"E","messageId":"m","timestamp":"2025-01-01T00:00:00Z","userId":"u","properties":{"p":` + v + `}}`)
}

// tooDeepAt is the offset of the bracket that opens level MaxDepth+1 in
// input, whose arrays start inside outer levels of objects.
func tooDeepAt(input []byte, outer int) int {
	return bytes.IndexByte(input, '[') + MaxDepth - outer
}

// assertTooDeep checks that err is the depth error, at the offset of the
// first bracket past MaxDepth in input (the arrays nested in two objects).
func assertTooDeep(t *testing.T, err error, input []byte) {
	t.Helper()
	var de *DepthError
	require.ErrorAs(t, err, &de)
	assert.Equal(t, tooDeepAt(input, 2), de.Offset)
	assert.ErrorContains(t, err, fmt.Sprintf("nested more than 10000 levels deep at byte offset %d", de.Offset))
}

// TestDeepNestingEntryPoints gives every entry point that validates JSON
// itself input nested past MaxDepth: each answers with the depth error for
// that input alone, and none reaches a recursive parser (a fatal stack
// overflow at 6 million levels).
func TestDeepNestingEntryPoints(t *testing.T) {
	var performed [][]byte
	action := &Action{
		Key: "send", Title: "Send", DefaultSubscription: `type = "track"`,
		Fields: Fields{
			{Key: "event", Label: "Event", Type: TypeString, Required: Always, Default: PathDefault("$.event")},
			{Key: "properties", Label: "Properties", Type: TypeObject, Default: PathDefault("$.properties")},
		},
		PerformBatch: func(_ context.Context, _ Settings, ps []*Payload) []Result {
			rs := make([]Result, len(ps))
			for i, p := range ps {
				performed = append(performed, p.JSON)
				rs[i] = Result{Status: 200}
			}
			return rs
		},
	}
	def := &Definition{
		Name: "Deep", Slug: "deep", Mode: "cloud",
		Authentication: &Authentication{Scheme: "custom", Fields: Fields{{Key: "k", Label: "K", Type: TypeString, Required: Always}}},
		Actions:        []*Action{action},
	}
	p, err := action.Compile(Config{})
	require.NoError(t, err)
	good := deepEventOf(`1`)
	for name, v := range deepInputs() {
		t.Run(name, func(t *testing.T) {
			performed = nil
			ev := deepEventOf(v)

			r := p.Execute(context.Background(), Settings{}, ev)
			assert.Equal(t, 400, r.Status)
			assert.Equal(t, TypePayloadValidationFailed, r.ErrorType)
			assert.Equal(t, fmt.Sprintf("The event is nested more than 10000 levels deep at byte offset %d.", tooDeepAt(ev, 2)), r.ErrorMessage)
			assertTooDeep(t, r.Err, ev)

			ms := p.ExecuteBatch(context.Background(), Settings{}, [][]byte{good, ev, good})
			assert.Equal(t, 400, ms.Results[1].Status)
			assertTooDeep(t, ms.Results[1].Err, ev)
			assert.True(t, ms.Results[0].OK() && ms.Results[2].OK(), "the neighbours are performed")
			assert.Len(t, performed, 2)

			mapping := []byte(`{"properties":{"@literal":` + v + `}}`)
			_, err := MergeMapping(action.Fields, mapping)
			assertTooDeep(t, err, mapping)
			assert.ErrorContains(t, err, "reading mapping: ")
			_, err = action.Compile(Config{Mapping: mapping})
			assertTooDeep(t, err, mapping)

			settings := []byte(`{"k":` + v + `}`)
			_, err = def.ParseSettings(settings)
			var ve *ValidationError
			require.ErrorAs(t, err, &ve)
			assert.Equal(t, fmt.Sprintf("The settings are nested more than 10000 levels deep at byte offset %d.", tooDeepAt(settings, 1)), ve.Error())
		})
	}
}

// TestDeepNestingProcess checks that Process, which checks the event in
// one pass without recursion, refuses an event however deep with the
// depth error at the first bracket past MaxDepth, for that event alone.
func TestDeepNestingProcess(t *testing.T) {
	p, err := (&Action{Key: "a", Title: "A", Fields: Fields{
		{Key: "properties", Label: "Properties", Type: TypeObject, Default: PathDefault("$.properties")},
	}}).Compile(Config{Subscription: `properties.p != null`})
	require.NoError(t, err)
	for name, v := range deepInputs() {
		var pl Payload
		ev := deepEventOf(v)
		_, err := p.Process(nil, ev, Batched, &pl)
		assertTooDeep(t, err, ev)
		assert.False(t, pl.Checked(), name)
	}
	var pl Payload
	_, err = p.Process(nil, deepEventOf("[[1]]"), Batched, &pl)
	require.NoError(t, err)
	assert.Equal(t, `{"p":[[1]]}`, pl.Get("properties").Raw)
	assert.True(t, pl.Checked())
}

// FuzzCheckDepth compares the depth scan with encoding/json on valid JSON,
// at small limits: it refuses exactly the values nested deeper than the
// limit, at the bracket that opens the first level past it.
func FuzzCheckDepth(f *testing.F) {
	for _, s := range []string{`[[1]]`, `{"a":{"b":[]}}`, `["[[[", {"\"{{": [[]]}]`, `"\\"`, `[[[`, `]]][[`, `{"a\\\"[":1}`, `1`} {
		f.Add(s, 2)
	}
	f.Fuzz(func(t *testing.T, s string, limit int) {
		limit = 1 + (limit&0xff)%8
		err := checkDepth(s, limit)
		var de *DepthError
		if err != nil {
			require.ErrorAs(t, err, &de)
			require.Equal(t, limit, de.Limit)
			require.Contains(t, "[{", string(s[de.Offset]))
			// The prefix up to the offset is as deep as allowed, not deeper.
			require.NoError(t, checkDepth(s[:de.Offset], limit))
		}
		if !json.Valid([]byte(s)) {
			return
		}
		want := jsonDepth(gjson.Parse(s))
		if (want > limit) != (err != nil) {
			t.Fatalf("%q nests %d levels; limit %d: %v", s, want, limit, err)
		}
	})
}

// jsonDepth is the nesting depth of a (small, valid) value.
func jsonDepth(v gjson.Result) int {
	if !v.IsArray() && !v.IsObject() {
		return 0
	}
	d := 0
	v.ForEach(func(_, item gjson.Result) bool {
		d = max(d, jsonDepth(item))
		return true
	})
	return d + 1
}

// BenchmarkCheckDepth measures the guard on an ordinary event (~3 KB, not
// scanned) and on a 64 KB one, next to gjson.ValidBytes on the same bytes.
func BenchmarkCheckDepth(b *testing.B) {
	small := deepEventOf(`{"s":"` + strings.Repeat("v", 3000) + `","a":[1,2,{"b":null}]}`)
	big := deepEventOf(`[` + strings.Repeat(`{"k":"value \"q\"","n":[1,2,3],"o":{"x":true}},`, 1400) + `1]`)
	for _, c := range []struct {
		name string
		ev   []byte
	}{{"3KB", small}, {"64KB", big}} {
		b.Run(c.name+"/CheckDepth", func(b *testing.B) {
			b.SetBytes(int64(len(c.ev)))
			b.ReportAllocs()
			for b.Loop() {
				if err := CheckDepth(c.ev); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(c.name+"/baseline=gjson.ValidBytes", func(b *testing.B) {
			b.SetBytes(int64(len(c.ev)))
			b.ReportAllocs()
			for b.Loop() {
				if !gjson.ValidBytes(c.ev) {
					b.Fatal("invalid")
				}
			}
		})
	}
}
