package eventsource_test

import (
	"bytes"
	"testing"
	"testing/iotest"

	"github.com/stretchr/testify/require"

	"github.com/s2segment/s2segment/internal/eventsource"
)

// seeds are inputs of every kind for the fuzz targets.
func seeds(f *testing.F) {
	for _, tc := range cases {
		if len(tc.input) < 4096 {
			f.Add([]byte(tc.input))
		}
	}
	f.Add([]byte(`{"batch":[{"type":"track","context":{"ip":"2"}},{"type":"page","context":null},3],"context":{"ip":"1","locale":"x"},"integrations":{"All":true}}`))
	f.Add([]byte("[\n  {\"a\":1}\n  {\"b\":2},\n  {\"c\" 3},\n  {\"d\":4}\n]\n{\"e\":5}\n"))
}

// FuzzReader checks that any input is read without a panic, that every event
// is a well-formed object located at its offset, and that the results do not
// depend on how the input arrives: whole, one byte at a time, or gzip'd.
func FuzzReader(f *testing.F) {
	seeds(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		items := readInput(t, eventsource.Config{}, bytes.NewReader(data))
		require.LessOrEqual(t, len(items), len(data)+1)
		checkEvents(t, data, items)
		want := render(items)
		require.Equal(t, want, render(readInput(t, eventsource.Config{}, iotest.OneByteReader(bytes.NewReader(data)))), "one byte at a time")
		require.Equal(t, want, render(readInput(t, eventsource.Config{}, bytes.NewReader(gzipped(t, data)))), "gzip")

		// Tight limits drop the bytes of long values while they are read:
		// the events that come through are still sound.
		small := eventsource.Config{MaxEventBytes: 16, MaxBatchBytes: 32}
		checkEvents(t, data, readInput(t, small, iotest.OneByteReader(bytes.NewReader(data))))
	})
}

// FuzzExpandBatch checks that ExpandBatch never panics, delivers only sound
// events, and agrees with a Reader given the same body.
func FuzzExpandBatch(f *testing.F) {
	seeds(f)
	f.Fuzz(func(t *testing.T, body []byte) {
		var got []item
		err := eventsource.ExpandBatch(body, func(ev eventsource.Event, err error) error {
			got = append(got, item{ev, err})
			return nil
		})
		checkEvents(t, body, got)
		if err != nil {
			require.Empty(t, got, "no items after a body error")
			return
		}
		for _, it := range got {
			if it.err == nil && it.ev.Offset+int64(len(it.ev.Data)) <= int64(len(body)) &&
				bytes.Equal(body[it.ev.Offset:it.ev.Offset+int64(len(it.ev.Data))], it.ev.Data) {
				require.Equal(t, &body[it.ev.Offset], &it.ev.Data[0], "an unchanged item aliases body")
			}
		}
		if len(body) >= eventsource.DefaultMaxEventBytes {
			return
		}
		fromReader := readInput(t, eventsource.Config{}, bytes.NewReader(body))
		for i := range fromReader {
			if e, ok := fromReader[i].err.(*eventsource.Error); ok {
				e.Source = ""
			}
			fromReader[i].ev.Source = ""
		}
		require.Equal(t, render(got), render(fromReader))
	})
}
