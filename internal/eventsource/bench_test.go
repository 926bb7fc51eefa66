package eventsource_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"testing"

	"github.com/tidwall/gjson"

	"github.com/s2segment/s2segment/fixtures"
	"github.com/s2segment/s2segment/internal/eventsource"
)

// corpus is 1000 different generated events of 3 KB.
var corpus = func() [][]byte {
	events := make([][]byte, 1000)
	for i := range events {
		events[i] = fixtures.Generate(i, 3<<10)
	}
	return events
}()

// cycle reads n events of corpus, each followed by sep, then end. It does
// not allocate.
type cycle struct {
	n, i     int // events, and events started
	sep, end string
	part     int // 0 event, 1 sep, 2 end, 3 done
	off      int // bytes of the current part already read
}

func (c *cycle) Read(p []byte) (int, error) {
	total := 0
	for len(p) > 0 {
		var cur []byte
		switch {
		case c.part == 0 && c.i < c.n:
			cur = corpus[c.i%len(corpus)]
		case c.part == 1:
			cur = []byte(c.sep)
		case c.part == 0 || c.part == 2:
			c.part = 2
			cur = []byte(c.end)
		default:
			if total == 0 {
				return 0, io.EOF
			}
			return total, nil
		}
		n := copy(p, cur[c.off:])
		c.off += n
		p, total = p[n:], total+n
		if c.off == len(cur) {
			c.off = 0
			switch c.part {
			case 0:
				c.part, c.i = 1, c.i+1
			case 1:
				c.part = 0
			case 2:
				c.part = 3
			}
		}
	}
	return total, nil
}

// corpusLast is the last element of an array of corpus events.
var corpusLast = string(fixtures.Generate(len(corpus), 3<<10))

// perEvent sets the benchmark up so that one operation is one event.
func perEvent(b *testing.B) {
	b.SetBytes(int64(len(corpus[0]) + 1))
	b.ReportAllocs()
	b.ResetTimer()
}

func report(b *testing.B, events int) {
	if events != b.N {
		b.Fatalf("%d events, want %d", events, b.N)
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
}

func drain(b *testing.B, src io.Reader) {
	r, err := eventsource.Open(context.Background(), eventsource.Config{}, []string{"-"}, src)
	if err != nil {
		b.Fatal(err)
	}
	perEvent(b)
	events := 0
	for {
		_, err := r.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			b.Fatal(err)
		}
		events++
	}
	report(b, events)
}

// BenchmarkNDJSON reads 3 KB NDJSON events. One op is one event. The
// baselines split lines with bufio.Scanner and validate each line, without
// the checks the reader adds (UTF-8, objects only, positions, limits) and
// without copying the event out.
func BenchmarkNDJSON(b *testing.B) {
	b.Run("eventsource", func(b *testing.B) {
		drain(b, &cycle{n: b.N, sep: "\n"})
	})
	scan := func(b *testing.B, valid func([]byte) bool) {
		sc := bufio.NewScanner(&cycle{n: b.N, sep: "\n"})
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		perEvent(b)
		events := 0
		for sc.Scan() {
			if !valid(sc.Bytes()) {
				b.Fatal("invalid line")
			}
			events++
		}
		if err := sc.Err(); err != nil {
			b.Fatal(err)
		}
		report(b, events)
	}
	b.Run("baseline=bufio.Scanner+json.Valid", func(b *testing.B) { scan(b, json.Valid) })
	b.Run("baseline=bufio.Scanner+gjson.ValidBytes", func(b *testing.B) { scan(b, gjson.ValidBytes) })
}

// BenchmarkArray reads a JSON array of 3 KB events. The baseline is
// encoding/json's Decoder reading each element into a json.RawMessage.
func BenchmarkArray(b *testing.B) {
	b.Run("eventsource", func(b *testing.B) {
		drain(b, io.MultiReader(bytes.NewReader([]byte("[")), &cycle{n: b.N - 1, sep: ",\n", end: corpusLast + "]"}))
	})
	b.Run("baseline=json.Decoder+RawMessage", func(b *testing.B) {
		dec := json.NewDecoder(io.MultiReader(bytes.NewReader([]byte("[")), &cycle{n: b.N - 1, sep: ",\n", end: corpusLast + "]"}))
		if _, err := dec.Token(); err != nil {
			b.Fatal(err)
		}
		perEvent(b)
		events := 0
		for dec.More() {
			var raw json.RawMessage
			if err := dec.Decode(&raw); err != nil {
				b.Fatal(err)
			}
			events++
		}
		report(b, events)
	})
}

// BenchmarkExpandBatch expands a batch body of 100 3 KB events with a
// top-level context to merge into each. The baseline decodes the body with
// encoding/json into raw items without merging anything.
func BenchmarkExpandBatch(b *testing.B) {
	var body bytes.Buffer
	body.WriteString(`{"batch":[`)
	for i := range 100 {
		if i > 0 {
			body.WriteByte(',')
		}
		body.Write(corpus[i])
	}
	body.WriteString(`],"context":{"library":{"name":"http","version":"1.0"},"ip":"198.51.100.7"},"integrations":{"All":true}}`)
	b.Run("eventsource", func(b *testing.B) {
		b.SetBytes(int64(body.Len()))
		b.ReportAllocs()
		for b.Loop() {
			err := eventsource.ExpandBatch(body.Bytes(), func(ev eventsource.Event, err error) error { return err })
			if err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("baseline=json.Unmarshal", func(b *testing.B) {
		b.SetBytes(int64(body.Len()))
		b.ReportAllocs()
		for b.Loop() {
			var v struct {
				Batch        []json.RawMessage `json:"batch"`
				Context      json.RawMessage   `json:"context"`
				Integrations json.RawMessage   `json:"integrations"`
			}
			if err := json.Unmarshal(body.Bytes(), &v); err != nil {
				b.Fatal(err)
			}
		}
	})
}
