package replay

import (
	"context"
	"io"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/s2segment/s2segment/destination/singlestore"
	"github.com/s2segment/s2segment/fixtures"
	"github.com/s2segment/s2segment/internal/eventsource"
)

// sliceSource delivers events from memory.
type sliceSource struct {
	events [][]byte
	i      int
}

func (s *sliceSource) Next() (eventsource.Event, error) {
	if s.i == len(s.events) {
		return eventsource.Event{}, io.EOF
	}
	s.i++
	return eventsource.Event{Data: s.events[s.i-1], Source: "mem", Line: s.i, Index: s.i - 1}, nil
}

// BenchmarkRun measures what the run loop adds to the writer: Run over
// 10,000 generated ~3 KB events into a dry run, against the baseline of
// handing the same events to Writer.Write directly, in chunks of the same
// size, in the same run.
func BenchmarkRun(b *testing.B) {
	const n, size, chunk = 10_000, 3000, 200
	events := make([][]byte, n)
	for i := range events {
		events[i] = fixtures.Generate(i, size)
	}
	w, err := singlestore.NewWriter(NewDryRun(io.Discard), singlestore.WriterConfig{Database: testDB, Concurrency: 1})
	require.NoError(b, err)
	metrics := func(b *testing.B) {
		b.SetBytes(int64(n * size))
		b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "events/s")
	}

	b.Run("run", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			sum, err := Run(context.Background(), Config{Writer: w, ChunkEvents: chunk, Report: io.Discard}, &sliceSource{events: events})
			if err != nil || sum.Written != n {
				b.Fatal(err, sum.Written)
			}
		}
		metrics(b)
	})
	b.Run("baseline-writer", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			for i := 0; i < n; i += chunk {
				if ms := w.Write(context.Background(), events[i:i+chunk]); ms.Failed() != 0 {
					b.Fatal(ms.Err())
				}
			}
		}
		metrics(b)
	})
}
