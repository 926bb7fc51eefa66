package bench_test

import (
	"fmt"

	"github.com/s2segment/s2segment/internal/bench"
	"github.com/tidwall/gjson"
)

// A Generator makes the same events for the same seed, each with its own
// messageId, in any order.
func ExampleGenerator() {
	g := bench.Generator{Seed: 42, Size: bench.SizeSmall}
	for i := range 4 {
		ev := g.Event(i)
		fmt.Println(gjson.GetBytes(ev, "messageId"), gjson.GetBytes(ev, "type"), len(ev) > 400 && len(ev) < 620)
	}
	again := bench.Generator{Seed: 42, Size: bench.SizeSmall}
	fmt.Println(string(again.Event(3)) == string(g.Event(3)))
	// Output:
	// bench-42-0000000000 identify true
	// bench-42-0000000001 identify true
	// bench-42-0000000002 track true
	// bench-42-0000000003 track true
	// true
}
