package eventsource_test

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/s2segment/s2segment/internal/eventsource"
)

func ExampleOpen() {
	input := `{"type":"track","event":"Signed Up","messageId":"m1"}
{"type":"identify",,"messageId":"m2"}
[1]
{"batch":[{"type":"page","messageId":"m3"}],"context":{"ip":"203.0.113.7"},"writeKey":"wk"}
`
	r, err := eventsource.Open(context.Background(), eventsource.Config{}, []string{"-"}, strings.NewReader(input))
	if err != nil {
		fmt.Println(err)
		return
	}
	defer r.Close()
	for ev, err := range r.All() {
		if err != nil {
			fmt.Println("error:", err, errors.Is(err, eventsource.ErrMalformed))
			continue
		}
		fmt.Printf("%s line %d: %s\n", ev.Format, ev.Line, ev.Data)
	}
	// Output:
	// stream line 1: {"type":"track","event":"Signed Up","messageId":"m1"}
	// error: <stdin>: line 2 (byte 54): malformed JSON at byte 73 (line 2): expected a string key, got ','; reading resumes at line 3 true
	// error: <stdin>: line 3 (byte 92): expected a JSON object, got array false
	// batch line 4: {"type":"page","messageId":"m3","context":{"ip":"203.0.113.7"}}
}

func ExampleExpandBatch() {
	body := []byte(`{
  "batch": [
    {"type": "identify", "userId": "u1", "context": {"ip": "192.0.2.1"}},
    {"type": "track", "event": "Signed Up", "userId": "u1"}
  ],
  "context": {"ip": "203.0.113.7", "library": {"name": "http"}},
  "writeKey": "never copied"
}`)
	err := eventsource.ExpandBatch(body, func(ev eventsource.Event, err error) error {
		if err != nil {
			return err
		}
		fmt.Printf("item %d, line %d: %s\n", ev.Index, ev.Line, ev.Data)
		return nil
	})
	fmt.Println(err)
	// Output:
	// item 0, line 3: {"type": "identify", "userId": "u1", "context": {"ip": "192.0.2.1","library":{"name": "http"}}}
	// item 1, line 4: {"type": "track", "event": "Signed Up", "userId": "u1","context":{"ip": "203.0.113.7", "library": {"name": "http"}}}
	// <nil>
}
