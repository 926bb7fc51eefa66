package mapping

import (
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/tidwall/gjson"
)

// applyString compiles mapping, applies it to event and returns the output,
// "undefined", or "error: <message>".
func applyString(t *testing.T, mapping, event string) string {
	t.Helper()
	m, err := Compile([]byte(mapping))
	if err != nil {
		return "error: " + err.Error()
	}
	out, defined, err := m.Apply([]byte(event))
	switch {
	case err != nil:
		return "error: " + err.Error()
	case !defined:
		return "undefined"
	}
	require.True(t, gjson.ValidBytes(out), "output is not JSON: %s", out)
	return string(out)
}

type applyCase struct {
	name, mapping, event, want string
}

func runApplyCases(t *testing.T, cases []applyCase) {
	t.Helper()
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := applyString(t, c.mapping, c.event)
			if strings.HasPrefix(c.want, "error: ") || c.want == "undefined" {
				assert.Equal(t, c.want, got)
				return
			}
			eq, err := jsonEqual([]byte(c.want), []byte(got))
			require.NoError(t, err, "got %s", got)
			assert.True(t, eq, "want %s\n got %s", c.want, got)
		})
	}
}

func TestPaths(t *testing.T) {
	event := `{"properties":{"a.b":1,"a*b":2,"a?b":3,"#":4,"@x":5,"a|b":6,"a\\b":7,"":8,"k":"first","k":"second","x":[10,20,30],"01":"zero-one","s":"h😀llo","big":-12345678901234567890123},` +
		`"integrations":{"Actions Amplitude":{"session_id":1751883565}},"esc\u0061ped":"yes"}`
	runApplyCases(t, []applyCase{
		{"key with a dot needs brackets", `{"v":{"@path":"$.properties['a.b']"}}`, event, `{}`},
		{"special characters are plain key text", `{"a":{"@path":"$.properties.a*b"},"b":{"@path":"$.properties.a?b"},"c":{"@path":"$.properties.#"},"d":{"@path":"$.properties.@x"},"e":{"@path":"$.properties.a|b"},"f":{"@path":"$.properties.a\\b"}}`, event, `{"a":2,"b":3,"c":4,"d":5,"e":6,"f":7}`},
		{"key with spaces", `{"v":{"@path":"$.integrations.Actions Amplitude.session_id"}}`, event, `{"v":1751883565}`},
		{"empty pieces are dropped", `{"v":{"@path":"$.properties..x"}}`, event, `{"v":[10,20,30]}`},
		{"empty key in quotes", `{"v":{"@path":"$.properties[\"\"]"}}`, event, `{"v":8}`},
		{"trailing dot", `{"v":{"@path":"$.properties.x."}}`, event, `{"v":[10,20,30]}`},
		{"bracket after $.", `{"v":{"@path":"$.[\"properties\"][\"x\"][1]"}}`, event, `{"v":20}`},
		{"index after $. on an object", `{"v":{"@path":"$.[0]"}}`, event, `{}`},
		{"path starting with a bracket", `{"v":{"@path":"['properties'].x[2]"}}`, event, `{"v":30}`},
		{"a closing bracket splits", `{"v":{"@path":"$.properties[\"x\"]]1"}}`, event, `{"v":20}`},
		{"empty key at the root", `{"v":{"@path":"$.[\"\"]"}}`, `{"a":1,"":2}`, `{"v":2}`},
		{"empty key at the root with others", `{"v":{"@path":"$.['']"},"w":{"@path":"$.a"},"x":{"@path":"$.b"}}`, `{"a":1,"":2}`, `{"v":2,"w":1}`},
		{"only separators", `{"v":{"@path":"$...."}}`, `{"a":1}`, `{"v":{"a":1}}`},
		{"escaped key in the event", `{"v":{"@path":"$.escaped"}}`, event, `{"v":"yes"}`},
		{"duplicate key: the first wins", `{"v":{"@path":"$.properties.k"}}`, event, `{"v":"first"}`},
		{"array index forms", `{"a":{"@path":"$.properties.x[2]"},"b":{"@path":"$.properties.x.0"},"c":{"@path":"$.properties.x.01"},"d":{"@path":"$.properties.x.length"}}`, event, `{"a":30,"b":10,"d":3}`},
		{"leading zeros are a key on objects", `{"v":{"@path":"$.properties.01"}}`, event, `{"v":"zero-one"}`},
		{"string index and length in UTF-16 units", `{"len":{"@path":"$.properties.s.length"},"c0":{"@path":"$.properties.s.0"},"hi":{"@path":"$.properties.s.1"},"lo":{"@path":"$.properties.s.2"}}`, event, `{"len":6,"c0":"h","hi":"\ud83d","lo":"\ude00"}`},
		{"big integer keeps its digits", `{"v":{"@path":"$.properties.big"}}`, event, `{"v":-12345678901234567890123}`},
		{"many first-level keys use the prefetch", `{"a":{"@path":"$.properties.k"},"b":{"@path":"$.integrations"},"c":{"@path":"$.escaped"},"d":{"@path":"$.missing"}}`, event, `{"a":"first","b":{"Actions Amplitude":{"session_id":1751883565}},"c":"yes"}`},
	})
}

func TestPrefetchAgreesWithDirectReads(t *testing.T) {
	event := `{"a":1,"b":{"c":[1,2]},"a":2,"d":null,"e":"x"}`
	few := applyString(t, `{"a":{"@path":"$.a"},"c":{"@path":"$.b.c.1"}}`, event)
	many := applyString(t, `{"a":{"@path":"$.a"},"c":{"@path":"$.b.c.1"},"d":{"@path":"$.d.z"},"e":{"@path":"$.e.length"}}`, event)
	assert.Equal(t, `{"a":1,"c":2}`, few)
	assert.Equal(t, `{"a":1,"c":2,"d":null,"e":1}`, many)
}

func TestJavaScriptSemantics(t *testing.T) {
	runApplyCases(t, []applyCase{
		{"number formatting in templates", `{"s":{"@template":"{{a}} {{b}} {{c}} {{d}} {{e}} {{f}} {{g}} {{h}}"}}`,
			`{"a":1.0,"b":1e-7,"c":1e21,"d":123456789012345678901234567890,"e":0.000001,"f":-0,"g":1.5e300,"h":100.50}`,
			`{"s":"1 1e-7 1e+21 123456789012345678901234567890 0.000001 0 1.5e+300 100.5"}`},
		{"array and object printing", `{"s":{"@template":"[{{a}}] [{{o}}] [{{n}}]"}}`, `{"a":[1,[2,[3,null]],{"x":1},true],"o":{},"n":null}`, `{"s":"[1,2,3,,[object Object],true] [[object Object]] []"}`},
		{"upper case with special casing", `{"u":{"@case":{"operator":"upper","value":{"@path":"$.s"}}}}`, `{"s":"ﬁnal straße ŉ ᾳ"}`, `{"u":"FINAL STRASSE ʼN ΑΙ"}`},
		{"final sigma rules", `{"l":{"@case":{"operator":"lower","value":{"@path":"$.s"}}}}`, `{"s":"ΣΑΣ Σ ΑΣ. ΑΣ'Α"}`, `{"l":"σας σ ας. ασ'α"}`},
		{"replacement patterns", `{"r":{"@replace":{"pattern":"b","replacement":"<$\u0060|$'>","global":false,"value":{"@path":"$.s"}}}}`, `{"s":"abc"}`, `{"r":"a<a|c>c"}`},
		{"dollar at the end stays", `{"r":{"@replace":{"pattern":"b","replacement":"$","value":{"@path":"$.s"}}}}`, `{"s":"abc"}`, `{"r":"a$c"}`},
		{"ignorecase does not fold ß or map non-ASCII to ASCII", `{"a":{"@replace":{"pattern":"ss","replacement":"x","ignorecase":true,"value":{"@path":"$.s"}}},"b":{"@replace":{"pattern":"k","replacement":"x","ignorecase":true,"value":{"@path":"$.k"}}}}`,
			`{"s":"ßSS","k":"Kk\u212a"}`, `{"a":"ßx","b":"xx\u212a"}`},
		{"replace stringifies numbers the JavaScript way", `{"r":{"@replace":{"pattern":".","replacement":",","value":{"@path":"$.n"}}}}`, `{"n":1.50}`, `{"r":"1,5"}`},
		{"blank with arrays", `{"a":{"@if":{"blank":{"@path":"$.a"},"then":"y","else":"n"}},"b":{"@if":{"blank":{"@path":"$.b"},"then":"y","else":"n"}},"c":{"@if":{"blank":{"@path":"$.c"},"then":"y","else":"n"}}}`,
			`{"a":[null,null],"b":[[""]],"c":[[],[]]}`, `{"a":"y","b":"n","c":"y"}`},
		{"merge: an undefined key of a raw object overrides", `{"m":{"@merge":{"objects":[{"@path":"$.t"},{"email":{"@path":"$.missing"},"k":2}],"direction":"right"}}}`,
			`{"t":{"email":"a@b.c","k":1,"z":0}}`, `{"m":{"k":2,"z":0}}`},
		{"merge spreads UTF-16 units of a string", `{"m":{"@merge":{"objects":[{"@path":"$.s"}],"direction":"right"}}}`, `{"s":"a😀"}`, `{"m":{"0":"a","1":"\ud83d","2":"\ude00"}}`},
		{"flatten omitArrays keeps a top-level array", `{"f":{"@flatten":{"value":{"@path":"$.a"},"separator":".","omitArrays":true}}}`, `{"a":[1,{"b":2}]}`, `{"f":{"":[1,{"b":2}]}}`},
		{"flatten nested empty key", `{"f":{"@flatten":{"value":{"@path":"$.o"},"separator":"/"}}}`, `{"o":{"a":{"":{"b":1}}}}`, `{"f":{"a//b":1}}`},
		{"json encode orders index keys first and normalises numbers", `{"j":{"@json":{"mode":"encode","value":{"@path":"$.o"}}}}`,
			`{"o":{"b":1.0,"10":true,"2":"x","a":[1e2,"\u00e9\n"],"b":2}}`, `{"j":"{\"2\":\"x\",\"10\":true,\"b\":2,\"a\":[100,\"é\\n\"]}"}`},
		{"json decode keeps big integers", `{"j":{"@json":{"mode":"decode","value":{"@path":"$.s"}}}}`, `{"s":"{\"n\":12345678901234567890}"}`, `{"j":{"n":12345678901234567890}}`},
		{"excludeWhenNull keeps nulls in arrays", `{"e":{"@excludeWhenNull":{"@path":"$.o"}}}`, `{"o":{"a":[null],"b":{"c":null,"d":[{"e":null}]}}}`, `{"e":{"a":[null],"b":{"d":[{"e":null}]}}}`},
		{"arrayPath item shape as a directive", `{"a":{"@arrayPath":["$.xs",{"@path":"$.id"}]}}`, `{"xs":[{"id":1},{},{"id":3}]}`, `{"a":[1,null,3]}`},
		{"transform of a non-object item", `{"a":{"@arrayPath":["$.xs",{"t":{"@transform":{"apply":{"v":{"@path":"$."}},"mapping":{"@path":"$.v"}}}}]}}`, `{"xs":[5]}`, `error: data must be an object, got number`},
		{"literal keeps nested directives", `{"l":{"@literal":[{"@template":"{{a}}!"}]}}`, `{"a":"x"}`, `{"l":["x!"]}`},
		{"template from a directive with triple braces", `{"s":{"@template":{"@path":"$.t"}}}`, `{"t":"{{{a}}}/{{ b.c }}","a":"A","b":{"c":[1,2]}}`, `{"s":"A/1,2"}`},
		{"top-level string mapping is spread", `"ab"`, `{}`, `{"0":"a","1":"b"}`},
	})
}

func TestLiquid(t *testing.T) {
	long := strings.Repeat("x", 1001)
	doubling := strings.Repeat("{% assign s = s | append: s %}", 30)
	runApplyCases(t, []applyCase{
		{"division is not integer division", `{"q":{"@liquid":"{{ a | divided_by: 4 }}|{{ a | modulo: 4 }}|{{ b | round }}"}}`, `{"a":10,"b":2.5}`, `{"q":"2.5|2|3"}`},
		{"numbers print as JavaScript prints them", `{"q":{"@liquid":"{{ a | times: 1000 }} {{ b }}"}}`, `{"a":1000.5,"b":1e-7}`, `{"q":"1000500 1e-7"}`},
		{"a disabled filter in a branch not taken", `{"q":{"@liquid":"{% if false %}{{ a | sort }}{% endif %}ok"}}`, `{"a":[2,1]}`, `{"q":"ok"}`},
		{"a disabled tag on the second line", `{"q":{"@liquid":"a\n  {%- tablerow x in a %}{% endtablerow %}"}}`, `{}`, `error: tag "tablerow" is disabled, line:2, col:3`},
		{"raw blocks are not tags", `{"q":{"@liquid":"{% raw %}{% for %}{% endraw %}"}}`, `{}`, `{"q":"{% for %}"}`},
		{"template too long", `{"q":{"@liquid":"` + long + `"}}`, `{}`, `error: liquid template values are limited to 1000 characters`},
		{"size of objects is 0", `{"q":{"@liquid":"{{ o | size }}"}}`, `{"o":{"a":1}}`, `{"q":"0"}`},
		{"memory limit", `{"q":{"@liquid":"{% assign s = 'abcdefghij' %}` + doubling + `{{ s | size }}"}}`, `{}`, `error: memory alloc limit exceeded`},
		{"capture with whitespace control", `{"q":{"@liquid":"{%- capture g -%} Hi {{ n }} {%- endcapture -%}[{{ g }}]"}}`, `{"n":"Bo"}`, `{"q":"[Hi Bo]"}`},
		{"capture is bounded", `{"q":{"@liquid":"{% capture s %}abcdefghij{% endcapture %}` + strings.Repeat("{% capture s %}{{s}}{{s}}{% endcapture %}", 20) + `{{ s | size }}"}}`, `{}`, `error: memory alloc limit exceeded`},
		{"output is bounded", `{"q":{"@liquid":"{{ s }}{{ s }}"}}`, `{"s":"` + strings.Repeat("y", 600<<10) + `"}`, `error: memory alloc limit exceeded`},
		{"liquid is not validated inside arrays", `{"q":[{"@liquid":5}]}`, `{}`, `error: liquid template value must be a string`},
	})
}

func TestInternalDirective(t *testing.T) {
	runApplyCases(t, []applyCase{
		{"two directives", `{"__segment_internal_directive":{"@a":1,"@b":2},"x":1}`, `{}`, `error: invalid mapping: The root mapping must only have a single directive object`},
		{"not an object", `{"__segment_internal_directive":"x","x":1}`, `{}`, `error: invalid mapping: The root directive must be an object`},
		{"customer mappings are validated", `{"__segment_internal_directive":{"@transform":{"apply":{}}},"x":{"@nope":1}}`, `{}`, `error: /@transform/mapping/x has an invalid directive: @nope.`},
	})
}

func TestCompileErrors(t *testing.T) {
	_, err := Compile([]byte(`{"a": {"@path": "$.x"},, }`))
	require.Error(t, err)
	assert.ErrorIs(t, err, ErrInvalidMapping)
	assert.Contains(t, err.Error(), "byte offset 24")

	_, err = Compile([]byte(`null`))
	assert.ErrorIs(t, err, ErrInvalidMapping)

	_, err = Compile([]byte(`{"a":{"@bogus":1},"b":{"@if":{"then":{"@template":[1]}}}}`))
	var all ValidationErrors
	require.ErrorAs(t, err, &all)
	require.Len(t, all, 2)
	assert.Equal(t, []string{"a"}, all[0].Path)
	assert.Equal(t, "has an invalid directive: @bogus", all[0].Message)
	assert.Equal(t, []string{"b", "@if", "then", "@template"}, all[1].Path)
	var first *ValidationError
	require.ErrorAs(t, err, &first)
	assert.Same(t, all[0], first)
	assert.ErrorIs(t, err, ErrInvalidMapping)
	assert.ErrorIs(t, first, ErrInvalidMapping)

	deep := strings.Repeat(`{"a":`, 2000) + "1" + strings.Repeat("}", 2000)
	_, err = Compile([]byte(deep))
	assert.ErrorIs(t, err, ErrInvalidMapping)
	_, err = Compile([]byte(strings.Repeat("[", 5_000_000))) // would exhaust the stack of a recursive validator
	assert.ErrorIs(t, err, ErrInvalidMapping)
}

func TestRuntimeErrors(t *testing.T) {
	m, err := Compile([]byte(`{"m":{"@merge":{"objects":[{"a":1}]}}}`))
	require.NoError(t, err)
	_, _, err = m.Apply([]byte(`{}`))
	var re *RuntimeError
	require.ErrorAs(t, err, &re)
	assert.Equal(t, "@merge", re.Directive)
	assert.Equal(t, `@merge requires a "direction" key`, err.Error())

	for _, ev := range []string{`[1]`, `"s"`, `12`, `null`, ``, `  `} {
		_, _, err = m.Apply([]byte(ev))
		assert.ErrorIs(t, err, ErrEventNotObject, "event %q", ev)
	}

	m, err = Compile([]byte(`{"j":{"@json":{"mode":"decode","value":{"@path":"$.s"}}}}`))
	require.NoError(t, err)
	out, _, err := m.Apply([]byte(`{"s":"` + strings.Repeat("[", 5_000_000) + `"}`))
	require.NoError(t, err)
	assert.Equal(t, 5_000_000+len(`{"j":""}`), len(out), "a string too deep to parse is returned as it is")

	deep := `{"a":` + strings.Repeat("[", maxDepth+10) + strings.Repeat("]", maxDepth+10) + `}`
	m, err = Compile([]byte(`{"j":{"@json":{"mode":"encode","value":{"@path":"$.a"}}}}`))
	require.NoError(t, err)
	_, _, err = m.Apply([]byte(deep))
	assert.ErrorIs(t, err, ErrTooDeep)
}

func TestAppendApply(t *testing.T) {
	m, err := Compile([]byte(`{"@path":"$.v"}`))
	require.NoError(t, err)
	dst := []byte("prefix:")
	out, ok, err := m.AppendApply(dst, []byte(`{"v":[1,2]}`))
	require.NoError(t, err)
	assert.True(t, ok)
	assert.Equal(t, "prefix:[1,2]", string(out))

	out, ok, err = m.AppendApply(dst, []byte(`{}`))
	require.NoError(t, err)
	assert.False(t, ok)
	assert.Equal(t, "prefix:", string(out))

	m, err = Compile([]byte(`{"a":1,"b":{"@case":{"operator":"x","value":{"@path":"$.s"}}}}`))
	require.NoError(t, err)
	out, _, err = m.AppendApply(dst, []byte(`{"s":"y"}`))
	require.Error(t, err)
	assert.Equal(t, "prefix:", string(out))
}

// TestAllocations checks the allocation budget of a @path-only mapping with
// a reused buffer (testing.AllocsPerRun counts, it does not time).
func TestAllocations(t *testing.T) {
	m, err := Compile([]byte(pathOnly))
	require.NoError(t, err)
	events := trackEvents(8)
	var dst []byte
	i := 0
	allocs := testing.AllocsPerRun(200, func() {
		dst, _, _ = m.AppendApply(dst[:0], events[i%len(events)])
		i++
	})
	assert.LessOrEqual(t, allocs, 4.0)
}

func TestConcurrentApply(t *testing.T) {
	m, err := Compile([]byte(everyDirective))
	require.NoError(t, err)
	events := trackEvents(16)
	want := make([]string, len(events))
	for i, e := range events {
		out, _, err := m.Apply(e)
		require.NoError(t, err)
		want[i] = string(out)
	}
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			var dst []byte
			for r := 0; r < 20; r++ {
				i := (g + r) % len(events)
				var err error
				if dst, _, err = m.AppendApply(dst[:0], events[i]); err != nil {
					errs <- err
					return
				}
				if string(dst) != want[i] {
					errs <- fmt.Errorf("goroutine %d, event %d: got %s", g, i, dst)
					return
				}
			}
		}(g)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

func TestMalformedEventsDoNotPanic(t *testing.T) {
	m, err := Compile([]byte(everyDirective))
	require.NoError(t, err)
	for _, ev := range []string{
		`{`, `{"messageId"`, `{"context":{"traits":`, `{"properties":{"products":[{"sku":`, `{"event":"a\`,
		`{"context":{"page":{"a":}}}`, `{"properties":{"total":-}}`, `{"x":"\ud800"}`, "{\"event\":\"\xff\xfe\"}",
		`{"context":[[[[`, `{"properties":{"products":{"sku":1}}}`, `{"context":{"traits":"str"}}`,
	} {
		assert.NotPanics(t, func() { _, _, _ = m.Apply([]byte(ev)) }, "event %q", ev)
	}
}

// TestConformanceBigIntegers checks that the bigint cases keep the exact
// digits: the output matches "output" and differs from the reference's
// rounded "oracle_output".
func TestConformanceBigIntegers(t *testing.T) {
	seen := 0
	for _, c := range loadConformance(t) {
		if c.OracleOutput == nil {
			continue
		}
		seen++
		out, _, err := runCase(c)
		require.NoError(t, err)
		eq, err := jsonEqual(out, c.Output)
		require.NoError(t, err)
		assert.True(t, eq, "%s: %s", c.Name, out)
		eq, err = jsonEqual(out, c.OracleOutput)
		require.NoError(t, err)
		assert.False(t, eq, "%s: matches the rounded oracle output", c.Name)
	}
	assert.Equal(t, 4, seen)
}

// TestLoneSurrogate pins a deliberate difference (testdata/README.md): an
// index into a character outside the BMP reads half a surrogate pair, kept
// exact as a value of its own, but U+FFFD once it is part of a new string;
// the reference would join the halves back into the character.
func TestLoneSurrogate(t *testing.T) {
	event := `{"s":"😀"}`
	runApplyCases(t, []applyCase{
		{"on its own", `{"a":{"@path":"$.s[0]"},"b":{"@path":"$.s[1]"}}`, event, `{"a":"\ud83d","b":"\ude00"}`},
		{"in a template", `{"t":{"@template":"{{s[0]}}{{s[1]}}"}}`, event, `{"t":"\ufffd\ufffd"}`},
		{"json encoded", `{"j":{"@json":{"mode":"encode","value":{"@path":"$.s[0]"}}}}`, event, `{"j":"\"\ufffd\""}`},
	})
}
