package destination_test

import (
	"fmt"
	"time"

	"github.com/tidwall/gjson"

	"github.com/s2segment/s2segment/destination"
)

func ExampleParseSubscription() {
	// No precedence: the last conditional applies to the whole group, so
	// this is "a or b or c"; parentheses group explicitly.
	sub, err := destination.ParseSubscription(`type = "track" and event = "Signed Up" or properties.plan = "pro"`)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(sub.Describe())
	fmt.Println(sub.Match([]byte(`{"type":"identify","properties":{"plan":"pro"}}`)))
	fmt.Println(sub.Match([]byte(`{"type":"page"}`)))

	_, err = destination.ParseSubscription(`properties.total>100`)
	fmt.Println(err)
	// Output:
	// or(type = "track", event = "Signed Up", properties.plan = "pro")
	// true
	// false
	// invalid subscription at offset 16: expected a space, '.', '(', '=', '!', ',', ')' or ']' after identifier "total", got '>' (write 'a >= 1', not 'a>=1'; escape other characters with '\')
}

func ExampleSchema_Validate() {
	schema, err := destination.NewSchema(destination.Fields{
		{Key: "id", Label: "ID", Type: destination.TypeString, Required: destination.Always},
		{Key: "kind", Label: "Kind", Type: destination.TypeString, Choices: []destination.Choice{{Value: "a"}, {Value: "b"}}},
		{Key: "count", Label: "Count", Type: destination.TypeNumber, Maximum: destination.Float(10)},
		{Key: "extra", Label: "Extra", Type: destination.TypeObject},
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	var p destination.Payload
	// Coerced (42 to "42", "3" to 3), null and unknown keys removed.
	_, err = schema.Validate(nil, []byte(`{"id":42,"count":"3","extra":null,"other":1}`), destination.Batched, &p)
	fmt.Println(string(p.JSON), err)
	_, err = schema.Validate(nil, []byte(`{"kind":"c","count":11,"extra":"x"}`), destination.Batched, &p)
	fmt.Println(err)
	// Output:
	// {"id":"42","count":3} <nil>
	// The root value is missing the required field 'id'. Kind must be one of: "a" or "b". Count must be equal to or less than 10. Extra must be an object but it was a string.
}

// ExampleParseTimeValue reads the timestamps Segment's libraries send: ISO
// 8601 with any offset, epoch seconds and epoch milliseconds, as numbers or
// as strings.
func ExampleParseTimeValue() {
	for _, v := range []string{`"2025-07-07T12:19:25.665+02:00"`, `1751883565`, `"1751883565665"`, `"yesterday"`} {
		t, err := destination.ParseTimeValue(gjson.Parse(v))
		if err != nil {
			fmt.Printf("%s: %v\n", v, err)
			continue
		}
		fmt.Printf("%s: %s\n", v, t.Format(time.RFC3339Nano))
	}
	// Output:
	// "2025-07-07T12:19:25.665+02:00": 2025-07-07T10:19:25.665Z
	// 1751883565: 2025-07-07T10:19:25Z
	// "1751883565665": 2025-07-07T10:19:25.665Z
	// "yesterday": not a date and time
}
