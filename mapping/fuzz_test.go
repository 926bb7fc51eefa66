package mapping

import (
	"bytes"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/tidwall/gjson"
)

// FuzzApply compiles arbitrary mappings and applies them to arbitrary
// events: nothing may panic, errors must be the package's typed errors, and
// for a well-formed event the output must be well-formed JSON, the same
// whether or not it is appended to a buffer.
func FuzzApply(f *testing.F) {
	for _, c := range loadConformance(f) {
		f.Add([]byte(c.Mapping), []byte(c.Payload))
	}
	// Every tenth generated case: enough for the path forms, few enough
	// that gathering the baseline leaves time to fuzz.
	for i, c := range loadCases(f, "testdata/generated.ndjson") {
		if i%10 == 0 {
			f.Add([]byte(c.Mapping), []byte(c.Payload))
		}
	}
	events := trackEvents(2)
	for _, m := range []string{sendDataDefault, everyDirective} {
		f.Add([]byte(m), events[0])
	}
	f.Add([]byte(`{"a":{"@liquid":"{{ a | slice: 1, 2 }}{% if a contains 'x' %}{{ a | truncate: 3 }}{% endif %}"}}`), []byte(`{"a":"xyz"}`))
	f.Fuzz(func(t *testing.T, mapping, event []byte) {
		m, err := Compile(mapping)
		if err != nil {
			if !errors.Is(err, ErrInvalidMapping) {
				t.Fatalf("Compile error %v does not match ErrInvalidMapping", err)
			}
			return
		}
		out, defined, err := m.Apply(event)
		if err != nil {
			var re *RuntimeError
			var ve ValidationErrors
			if !errors.As(err, &re) && !errors.As(err, &ve) {
				t.Fatalf("Apply error %T %v is not a *RuntimeError or ValidationErrors", err, err)
			}
			return
		}
		if !defined {
			if out != nil {
				t.Fatalf("undefined output with bytes %q", out)
			}
			return
		}
		if gjson.ValidBytes(event) && !json.Valid(out) {
			t.Fatalf("invalid output %q\nmapping %q\nevent %q", out, mapping, event)
		}
		prefixed, _, _ := m.AppendApply([]byte("x"), event)
		if !bytes.Equal(prefixed, append([]byte("x"), out...)) {
			t.Fatalf("AppendApply gave %q, Apply %q", prefixed, out)
		}
	})
}

// FuzzLiquid renders arbitrary @liquid templates: the template engine must
// never panic, whatever the template and the event.
func FuzzLiquid(f *testing.F) {
	for _, tmpl := range []string{
		"{{ a | slice: 1, 2 }}", "{{ a | truncate: 3, '..' }}", "{{ a | truncatewords: 1 }}", "{{ a | split: ',' | first }}",
		"{% if a > 1 %}x{% elsif a == 'b' %}y{% else %}z{% endif %}", "{% unless a %}n{% endunless %}",
		"{{ a | date: '%Y-%m-%d' }}", "{{ a | round: 2 }}", "{{ a | divided_by: 0 }}", "{{ a | url_decode }}",
		"{% assign x = a | strip | upcase %}{{ x | remove_first: 'A' }}", "{{ a[0] }}{{ a.size }}{{ a.first }}",
		"{% capture c %}{{ a }}{% endcapture %}{{ c | escape }}", "{{ a | compact | join: '-' }}", "{{ (1..a) }}",
		"{% cycle 'a', 'b' %}", "{{ a | default: 1, allow_false: true }}", "{{ a | inspect }}{{ a | json }}",
	} {
		for _, ev := range []string{`{"a":"x,y"}`, `{"a":[3,null,"s",{"b":1}]}`, `{"a":5.5}`, `{"a":null}`, `{"a":{"b":[1]}}`, `{"a":"2025-07-07T10:19:25Z"}`} {
			f.Add(tmpl, []byte(ev))
		}
	}
	f.Fuzz(func(t *testing.T, tmpl string, event []byte) {
		mapping, err := json.Marshal(map[string]map[string]string{"q": {"@liquid": tmpl}})
		if err != nil {
			return
		}
		m, err := Compile(mapping)
		if err != nil {
			return
		}
		out, defined, err := m.Apply(event)
		if err == nil && defined && !json.Valid(out) {
			t.Fatalf("invalid output %q", out)
		}
	})
}

// FuzzPath reads arbitrary paths, in every directive that reads one, from
// arbitrary events: nothing may panic, the output is JSON, a leading "$."
// changes nothing (@path removes the first one), and the pieces a path splits into
// never hold a "." or a quote.
func FuzzPath(f *testing.F) {
	event := `{"a":{"b":[1,{"c":"x"}],"":"empty","x[y]":2,"0":"zero"},"s":"h😀llo","n":null,"f":false,"arr":[{"k":1},{"k":2}]}`
	for _, p := range []string{
		"$.a.b[1].c", "$.[0]", `$.["a"]`, `$.['a']["b"][0]`, `["a"].b`, "[0]", "$.a..b", "$.a.", ".$.a", "$.$.a",
		`$.a[""]`, "$.a[x[y]]", `a["x[y]"]`, "a.b[1]]c", "a.b[1]]]", "s.length", "s[1]", "$.arr", "", ".", "$.", "..", "[]",
		"[", "]", `"`, "'", "$.a['0']", "$.a[0]", "arr.length", "n.x", "f.x", "a[-1]", "a[01]",
	} {
		f.Add(p, []byte(event))
	}
	for i, c := range loadCases(f, "testdata/generated.ndjson") {
		if p := gjson.GetBytes(c.Mapping, "v.@path"); i%2 == 0 && p.Type == gjson.String {
			f.Add(p.Str, []byte(c.Payload))
		}
	}
	f.Fuzz(func(t *testing.T, p string, event []byte) {
		for _, k := range splitPath(p) {
			if strings.ContainsAny(k, `."'`) {
				t.Fatalf("path %q has the piece %q", p, k)
			}
		}
		quoted, err := json.Marshal(p)
		if err != nil {
			return
		}
		q := string(quoted)
		dollar, _ := json.Marshal("$." + p)
		var first []byte
		for i, mapping := range []string{
			`{"v":{"@path":` + q + `}}`,
			`{"v":{"@path":` + string(dollar) + `}}`,
			`{"v":{"@arrayPath":[` + q + `,{"x":{"@path":` + q + `}}]}}`,
			`{"v":{"@arrayPath":[` + q + `]}}`,
			`{"v":{"@if":{"exists":{"@path":` + q + `},"then":{"@path":` + q + `},"else":"none"}}}`,
			`{"v":{"@template":` + strconvQuote("{{"+p+"}}") + `}}`,
		} {
			m, err := Compile([]byte(mapping))
			if err != nil {
				continue // a template that is not one
			}
			out, _, err := m.Apply(event)
			if err != nil {
				continue
			}
			if gjson.ValidBytes(event) && !json.Valid(out) {
				t.Fatalf("invalid output %q\nmapping %s\nevent %q", out, mapping, event)
			}
			switch i {
			case 0:
				first = out
			case 1:
				// @path removes the first "$." only: "$."+p reads p unless p
				// holds a "$." of its own.
				if !strings.Contains(p, "$.") && !bytes.Equal(first, out) {
					t.Fatalf("%q gives %s, with $. in front %s", p, first, out)
				}
			}
		}
	})
}

func strconvQuote(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}
