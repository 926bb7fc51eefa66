package mapping_test

import (
	"errors"
	"fmt"

	"github.com/s2segment/s2segment/mapping"
)

func ExampleCompile() {
	_, err := mapping.Compile([]byte(`{"a":{"@oops":1},"b":{"@path":5}}`))
	fmt.Println(errors.Is(err, mapping.ErrInvalidMapping))

	var all mapping.ValidationErrors
	if errors.As(err, &all) {
		for _, e := range all {
			fmt.Printf("%q: %s\n", e.Path, e)
		}
	}
	// Output:
	// true
	// ["a"]: /a has an invalid directive: @oops.
	// ["b" "@path"]: /b/@path should be a string or a mapping directive but it is a number.
}

func ExampleMapping_Apply() {
	m, err := mapping.Compile([]byte(`{
		"id":     {"@path": "$.messageId"},
		"plan":   {"@case": {"operator": "upper", "value": {"@path": "$.traits.plan"}}},
		"hello":  {"@template": "Hi {{traits.name}}!"},
		"gone":   {"@path": "$.missing"},
		"kept":   {"@path": "$.nothing"},
		"amount": {"@path": "$.properties.amount"}
	}`))
	if err != nil {
		panic(err)
	}
	event := []byte(`{"messageId":"m-1","traits":{"plan":"pro","name":"Ana"},"nothing":null,"properties":{"amount":12345678901234567890}}`)
	out, defined, err := m.Apply(event)
	fmt.Println(string(out), defined, err)
	// Output:
	// {"id":"m-1","plan":"PRO","hello":"Hi Ana!","kept":null,"amount":12345678901234567890} true <nil>
}

func ExampleMapping_AppendApply() {
	m, err := mapping.Compile([]byte(`{"@path": "$.properties"}`))
	if err != nil {
		panic(err)
	}
	var buf []byte
	for _, event := range []string{`{"properties":{"a":1}}`, `{"type":"identify"}`, `[1]`} {
		out, defined, err := m.AppendApply(buf[:0], []byte(event))
		switch {
		case err != nil:
			fmt.Println("error:", err)
		case !defined:
			fmt.Println("undefined")
		default:
			fmt.Println(string(out))
			buf = out // reuse the memory for the next event
		}
	}
	// Output:
	// {"a":1}
	// undefined
	// error: data must be an object, got array
}
