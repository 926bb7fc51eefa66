package main

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/s2segment/s2segment/fixtures"
	"github.com/s2segment/s2segment/internal/eventsource"
)

// Sizes of the replay benchmark's input: medium events, as many as a
// busy source sends in a few seconds.
const (
	benchEvents    = 100_000
	benchEventSize = 3000
)

// writeGenerated writes n generated events of size bytes as NDJSON.
func writeGenerated(path string, n, size int) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	w := bufio.NewWriterSize(f, 1<<20)
	for i := range n {
		w.Write(fixtures.Generate(i, size))
		w.WriteByte('\n')
	}
	if err := w.Flush(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

var benchInput = sync.OnceValues(func() (string, error) {
	dir, err := os.MkdirTemp("", "s2segment-replay-bench-")
	if err != nil {
		return "", err
	}
	path := filepath.Join(dir, "events.ndjson")
	return path, writeGenerated(path, benchEvents, benchEventSize)
})

// BenchmarkReplay measures "s2segment replay --dry-run" over 100k generated
// ~3 KB events read from an NDJSON file, the whole command included
// (reading, the Send Data action, packing, writing the bodies to
// /dev/null), against two baselines on the same file in the same run:
// reading the events alone, and a line scanner with encoding/json's Valid.
// Run it on one core: go test -run '^$' -bench Replay -cpu 1 ./cmd/s2segment/
func BenchmarkReplay(b *testing.B) {
	path, err := benchInput()
	require.NoError(b, err)
	b.Cleanup(func() { _ = os.RemoveAll(filepath.Dir(path)) })
	info, err := os.Stat(path)
	require.NoError(b, err)
	// measure runs the benchmark loop and reports events/s of wall time
	// and of process CPU time.
	measure := func(b *testing.B, loop func()) {
		b.ReportAllocs()
		b.SetBytes(info.Size())
		cpu0, ok := replayProcessCPU()
		for b.Loop() {
			loop()
		}
		events := float64(benchEvents) * float64(b.N)
		b.ReportMetric(events/b.Elapsed().Seconds(), "events/s")
		if cpu1, ok1 := replayProcessCPU(); ok && ok1 {
			b.ReportMetric(events/(cpu1-cpu0).Seconds(), "events/cpu-s")
		}
	}

	b.Run("dry-run", func(b *testing.B) {
		measure(b, func() {
			code := run(context.Background(), []string{"replay", "--dry-run", "--quiet", "--out", os.DevNull, path}, nil, io.Discard, io.Discard)
			if code != exitOK {
				b.Fatalf("exit status %d", code)
			}
		})
	})
	b.Run("baseline-read", func(b *testing.B) {
		measure(b, func() {
			r, err := eventsource.Open(context.Background(), eventsource.Config{}, []string{path}, nil)
			require.NoError(b, err)
			n := 0
			for _, err := range r.All() {
				require.NoError(b, err)
				n++
			}
			require.Equal(b, benchEvents, n)
		})
	})
	b.Run("baseline-json-valid", func(b *testing.B) {
		measure(b, func() {
			f, err := os.Open(path)
			require.NoError(b, err)
			defer f.Close()
			sc := bufio.NewScanner(f)
			sc.Buffer(make([]byte, 64<<10), 1<<20)
			n := 0
			for sc.Scan() {
				if !json.Valid(sc.Bytes()) {
					b.Fatal("invalid event")
				}
				n++
			}
			require.Equal(b, benchEvents, n)
		})
	})
}

// TestWriteReplayBenchInput writes the input of the peak-memory measurement
// in docs/benchmarks.md when S2_REPLAY_BENCH_FILE names a file (and
// S2_REPLAY_BENCH_EVENTS a count, 1,000,000 by default); otherwise it is
// skipped.
func TestWriteReplayBenchInput(t *testing.T) {
	path := os.Getenv("S2_REPLAY_BENCH_FILE")
	if path == "" {
		t.Skip("set S2_REPLAY_BENCH_FILE to write the benchmark input")
	}
	n := 1_000_000
	if v := os.Getenv("S2_REPLAY_BENCH_EVENTS"); v != "" {
		var err error
		n, err = strconv.Atoi(v)
		require.NoError(t, err)
	}
	require.NoError(t, writeGenerated(path, n, benchEventSize))
}
