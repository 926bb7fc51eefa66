package replay

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/s2segment/s2segment/batch"
	"github.com/s2segment/s2segment/destination/singlestore"
	"github.com/s2segment/s2segment/fixtures"
	"github.com/s2segment/s2segment/internal/eventsource"
)

// TestLargeEventsFillEveryRequest replays large (about 40 KB) events with a
// dry run, in chunks of two requests' worth as the replay command hands
// them over: requests go on across chunks, so every request but the last
// is at least 95% of the cap, and none is over it.
func TestLargeEventsFillEveryRequest(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 7))
	var input bytes.Buffer
	const n = 600
	for i := range n {
		input.Write(fixtures.Generate(i, 36_000+rng.IntN(8_000)))
		input.WriteByte('\n')
	}
	for _, workers := range []int{1, 3} {
		t.Run(fmt.Sprintf("workers=%d", workers), func(t *testing.T) {
			var out bytes.Buffer
			dry := NewDryRun(&out)
			w, err := singlestore.NewWriter(dry, singlestore.WriterConfig{Database: testDB, Concurrency: 1})
			require.NoError(t, err)
			src, err := eventsource.Open(context.Background(), eventsource.Config{}, []string{"-"}, bytes.NewReader(input.Bytes()))
			require.NoError(t, err)
			sum, err := Run(context.Background(), Config{
				Writer: w, Workers: workers,
				ChunkEvents: 2 * w.BatchSize(), ChunkBytes: 2 * batch.DefaultMaxBytes,
			}, src)
			require.NoError(t, err)
			require.NoError(t, dry.Flush())
			assert.EqualValues(t, n, sum.Written)

			var fills []float64
			sc := bufio.NewScanner(&out)
			sc.Buffer(nil, 2<<20)
			rows := 0
			for sc.Scan() {
				body := sc.Bytes()
				require.LessOrEqual(t, len(body), batch.DefaultMaxBytes)
				fills = append(fills, float64(len(body))/batch.DefaultMaxBytes)
				rows += strings.Count(string(body), `"gen-`)
			}
			require.NoError(t, sc.Err())
			require.Greater(t, len(fills), 10)
			assert.Equal(t, n, rows, "every event is in exactly one request")
			// Requests are written out as they are sent; with several in
			// flight the run's last one may be written before others.
			sumFill, short := 0.0, 0
			for i, f := range fills {
				sumFill += f
				if f < 0.95 {
					short++
					if workers == 1 {
						assert.Equal(t, len(fills)-1, i, "request %d of %d is %.3f full", i, len(fills), f)
					}
				}
			}
			assert.LessOrEqual(t, short, 1, "only the run's last request may be short")
			t.Logf("%d requests, mean fill %.4f", len(fills), sumFill/float64(len(fills)))
		})
	}
}
