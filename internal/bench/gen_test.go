package bench

import (
	"errors"
	"testing"
	"unicode/utf8"

	"github.com/s2segment/s2segment/destination"
	"github.com/s2segment/s2segment/destination/singlestore"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/tidwall/gjson"
)

func TestParseSize(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want Size
	}{{"small", SizeSmall}, {"Medium", SizeMedium}, {" large ", SizeLarge}, {"mixed", SizeMixed}, {"", SizeMedium}} {
		got, err := ParseSize(tc.in)
		require.NoError(t, err, tc.in)
		assert.Equal(t, tc.want, got, tc.in)
		if tc.in != "" {
			again, err := ParseSize(got.String())
			require.NoError(t, err)
			assert.Equal(t, got, again, "String and ParseSize round trip")
		}
	}
	_, err := ParseSize("huge")
	assert.ErrorIs(t, err, ErrUnknownSize)
	assert.ErrorContains(t, err, `"huge": want small, medium, large or mixed`)
}

func TestParseStage(t *testing.T) {
	for _, s := range []Stage{StagePipeline, StageReplay, StageServe} {
		got, err := ParseStage(" " + string(s) + " ")
		require.NoError(t, err)
		assert.Equal(t, s, got)
	}
	_, err := ParseStage("map")
	assert.ErrorIs(t, err, ErrUnknownStage)
}

func TestGeneratorIsDeterministic(t *testing.T) {
	for _, size := range []Size{SizeSmall, SizeMedium, SizeLarge, SizeMixed} {
		g := Generator{Seed: 9, Size: size}
		forward := g.Events(0, 50)
		for i := 49; i >= 0; i-- { // order does not matter
			assert.Equal(t, string(forward[i]), string(g.Event(i)), "%s event %d", size, i)
		}
		other := Generator{Seed: 10, Size: size}
		assert.NotEqual(t, string(forward[0]), string(other.Event(0)), "another seed, other events")
		assert.Equal(t, "bench-9-0000000007", gjson.GetBytes(forward[7], "messageId").Str)
		assert.Equal(t, g.MessageID(7), gjson.GetBytes(forward[7], "messageId").Str)
	}
}

// TestGeneratorSizes checks each class's lengths: within ±10% of the
// target (small events may run a little over: their required members alone
// can pass 460 bytes), and a mean near the target.
func TestGeneratorSizes(t *testing.T) {
	for _, tc := range []struct {
		size   Size
		n      int
		meanOK float64 // allowed relative error of the mean
	}{{SizeSmall, 2000, 0.06}, {SizeMedium, 1000, 0.03}, {SizeLarge, 200, 0.03}, {SizeMixed, 4000, 0.12}} {
		t.Run(tc.size.String(), func(t *testing.T) {
			g := Generator{Seed: 1, Size: tc.size}
			target := float64(tc.size.Target())
			total := 0
			classes := map[string]int{}
			for i := range tc.n {
				ev := g.Event(i)
				total += len(ev)
				if tc.size == SizeMixed {
					switch l := len(ev); {
					case l < 1000:
						classes["small"]++
					case l < 10_000:
						classes["medium"]++
					default:
						classes["large"]++
					}
					continue
				}
				lo, hi := target*0.9, target*1.1
				if tc.size == SizeSmall {
					hi += 64
				}
				assert.True(t, float64(len(ev)) >= lo && float64(len(ev)) <= hi, "event %d is %d bytes, want %v to %v", i, len(ev), lo, hi)
			}
			assert.InEpsilon(t, target, float64(total)/float64(tc.n), tc.meanOK)
			if tc.size == SizeMixed {
				assert.InDelta(t, 0.70, float64(classes["small"])/float64(tc.n), 0.04, "%v", classes)
				assert.InDelta(t, 0.25, float64(classes["medium"])/float64(tc.n), 0.04, "%v", classes)
				assert.InDelta(t, 0.05, float64(classes["large"])/float64(tc.n), 0.02, "%v", classes)
			}
		})
	}
}

// TestGeneratedEventsAreSendData sends every class through the Send Data
// action and the row encoding: all are valid, of every call type, with
// unique messageIds.
func TestGeneratedEventsAreSendData(t *testing.T) {
	enc, err := singlestore.NewEncoder(singlestore.Options{})
	require.NoError(t, err)
	for _, size := range []Size{SizeSmall, SizeMedium, SizeLarge, SizeMixed} {
		g := Generator{Seed: 5, Size: size}
		types := map[string]int{}
		ids := map[string]bool{}
		var (
			buf, row []byte
			p        destination.Payload
		)
		n := 600
		if size == SizeLarge {
			n = 60
		}
		for i := range n {
			ev := g.Event(i)
			require.True(t, gjson.ValidBytes(ev), "%s event %d is not JSON", size, i)
			require.True(t, utf8.Valid(ev))
			require.True(t, gjson.ParseBytes(ev).IsObject())
			buf, err = enc.Process(buf[:0], ev, &p)
			require.NoError(t, err, "%s event %d: %s", size, i, ev)
			row, err = enc.AppendRow(row[:0], &p)
			require.NoError(t, err, "%s event %d", size, i)
			types[gjson.GetBytes(ev, "type").Str]++
			ids[gjson.GetBytes(ev, "messageId").Str] = true
			// Big integers keep their digits through the row.
			if gjson.GetBytes(ev, "properties.order_ref").Exists() {
				assert.Contains(t, string(row), "12345678901234567890")
			}
		}
		assert.Len(t, ids, n, "%s: unique messageIds", size)
		if size != SizeLarge {
			for _, typ := range []string{"track", "identify", "page", "screen", "group", "alias"} {
				assert.Positive(t, types[typ], "%s: no %s event in %v", size, typ, types)
			}
			assert.Greater(t, types["track"], n/2, "tracks are the most frequent")
		} else {
			assert.Equal(t, n, types["track"], "large events are orders")
		}
	}
}

func TestConfigErrors(t *testing.T) {
	for _, tc := range []struct {
		field string
		cfg   Config
	}{
		{"Stage", Config{Stage: "map"}},
		{"Events", Config{Events: -1}},
		{"Concurrency", Config{Concurrency: -2}},
		{"BatchSize", Config{BatchSize: 1001}},
		{"MaxRequestBytes", Config{MaxRequestBytes: 2 << 20}},
		{"Duration", Config{Duration: -1}},
		{"Table", Config{Table: "a\x01b"}},
		{"URL", Config{Stage: StageReplay, URL: "http://x/v1/track"}},
		{"Baseline", Config{Stage: StageServe, URL: "http://x/v1/track", Baseline: true}},
		{"Generator.Size", Config{Generator: Generator{Size: 9}}},
	} {
		_, err := Run(t.Context(), tc.cfg)
		var ce *ConfigError
		require.True(t, errors.As(err, &ce), "%s: %v", tc.field, err)
		assert.Equal(t, tc.field, ce.Field)
		assert.Contains(t, err.Error(), "bench: Config."+tc.field+": ")
	}
}

func BenchmarkGenerator(b *testing.B) {
	for _, size := range []Size{SizeSmall, SizeMedium, SizeLarge} {
		b.Run(size.String(), func(b *testing.B) {
			g := Generator{Seed: 1, Size: size}
			b.ReportAllocs()
			b.SetBytes(int64(size.Target()))
			for i := 0; b.Loop(); i++ {
				_ = g.Event(i)
			}
		})
	}
}

// FuzzGenerator checks, for any seed, index and size class, that the event
// is a well-formed JSON object of valid UTF-8 with its messageId, that the
// same inputs give the same bytes, and that the Send Data action accepts it.
func FuzzGenerator(f *testing.F) {
	f.Add(uint64(0), uint32(0), uint8(0))
	f.Add(uint64(42), uint32(7), uint8(1))
	f.Add(uint64(1<<63), uint32(1<<31), uint8(2))
	f.Add(uint64(99), uint32(12345), uint8(3))
	enc, err := singlestore.NewEncoder(singlestore.Options{})
	require.NoError(f, err)
	f.Fuzz(func(t *testing.T, seed uint64, i uint32, size uint8) {
		g := Generator{Seed: seed, Size: Size(size % 4)}
		ev := g.Event(int(i))
		require.True(t, gjson.ValidBytes(ev), "%s", ev)
		require.True(t, utf8.Valid(ev))
		require.True(t, gjson.ParseBytes(ev).IsObject())
		require.Equal(t, g.MessageID(int(i)), gjson.GetBytes(ev, "messageId").Str)
		require.Equal(t, string(ev), string(g.Event(int(i))))
		var p destination.Payload
		_, err := enc.Process(nil, ev, &p)
		require.NoError(t, err)
		_, err = enc.AppendRow(nil, &p)
		require.NoError(t, err)
	})
}
