package singlestore

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/s2segment/s2segment/batch"
	"github.com/s2segment/s2segment/dataapi"
	"github.com/s2segment/s2segment/destination"
	"github.com/tidwall/gjson"
)

// benchEvent returns a realistic track event of about 3 KB: an order with
// products, and the context analytics.js sends.
func benchEvent(i int) []byte {
	var products []string
	for p := 0; p < 8; p++ {
		products = append(products, fmt.Sprintf(`{"product_id":"507f1f77bcf86cd79943901%d","sku":"45790-3%d","name":"Monopoly: 3rd Edition","price":19.99,"quantity":%d,"category":"Games","url":"https://www.example.com/product/path","image_url":"https://www.example.com/product/path.jpg"}`, p, p, p+1))
	}
	return []byte(fmt.Sprintf(`{"anonymousId":"507f191e810c19729de860ea","channel":"browser","context":{"ip":"8.8.8.8","library":{"name":"analytics.js","version":"2.11.1"},"locale":"en-US","page":{"path":"/academy/","referrer":"","search":"","title":"Analytics Academy","url":"https://segment.com/academy/"},"userAgent":"Mozilla/5.0 (Macintosh; Intel Mac OS X 10_12_2) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/56.0.2924.87 Safari/537.36","campaign":{"name":"TPS Innovation Newsletter","source":"Newsletter","medium":"email","term":"tps reports","content":"image link"},"traits":{"email":"peter@example.com","plan":"premium","logins":5}},"event":"Order Completed","integrations":{"All":true,"Mixpanel":false},"messageId":"ajs-f8ca1e4de5024d9430b3928bd8ac6b1%d","properties":{"checkout_id":"fksdjfsdjfisjf9sdfjsd9f","order_id":"50314b8e9bcf000000000000","affiliation":"Google Store","total":27.50,"subtotal":22.50,"revenue":25.00,"shipping":3,"tax":2,"discount":2.5,"coupon":"hasbros","currency":"USD","products":[%s]},"receivedAt":"2025-07-07T10:19:26.102Z","sentAt":"2025-07-07T10:19:25.438Z","timestamp":"2025-07-07T12:19:25.665+02:00","type":"track","userId":"97980cfea0067","originalTimestamp":"2025-07-07T10:19:25.001Z","version":2}`, i%10, strings.Join(products, ",")))
}

// BenchmarkSendData measures the per-event path of the Send Data action on
// ~3 KB events: subscription, mapping (default fields), validation and
// coercion, and row encoding, next to two baselines measured in the same
// run: a bare gjson.ValidBytes pass over the same bytes, and the same work
// done through encoding/json maps.
func BenchmarkSendData(b *testing.B) {
	events := make([][]byte, 64)
	total := 0
	for i := range events {
		events[i] = benchEvent(i)
		total += len(events[i])
	}
	avg := int64(total / len(events))
	enc, err := NewEncoder(Options{})
	if err != nil {
		b.Fatal(err)
	}

	b.Run("pipeline", func(b *testing.B) {
		var (
			buf, row []byte
			p        destination.Payload
		)
		b.SetBytes(avg)
		b.ReportAllocs()
		start, _ := processCPU()
		for i := 0; b.Loop(); i++ {
			ev := events[i%len(events)]
			var err error
			if buf, err = enc.Process(buf[:0], ev, &p); err != nil {
				b.Fatal(err)
			}
			if row, err = enc.AppendRow(row[:0], &p); err != nil {
				b.Fatal(err)
			}
		}
		reportRates(b, start)
	})

	b.Run("baseline=gjson.ValidBytes", func(b *testing.B) {
		b.SetBytes(avg)
		b.ReportAllocs()
		start, _ := processCPU()
		for i := 0; b.Loop(); i++ {
			if !gjson.ValidBytes(events[i%len(events)]) {
				b.Fatal("invalid")
			}
		}
		reportRates(b, start)
	})

	b.Run("baseline=encoding/json", func(b *testing.B) {
		b.SetBytes(avg)
		b.ReportAllocs()
		start, _ := processCPU()
		for i := 0; b.Loop(); i++ {
			if _, err := jsonMapRow(events[i%len(events)]); err != nil {
				b.Fatal(err)
			}
		}
		reportRates(b, start)
	})
}

// reportRates reports events per second of wall time and, where the
// process's CPU time can be read, CPU nanoseconds per event and events per
// CPU second, which do not depend on what else the machine runs.
func reportRates(b *testing.B, cpuStart time.Duration) {
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
	if end, ok := processCPU(); ok && b.N > 0 {
		cpu := end - cpuStart
		b.ReportMetric(float64(cpu.Nanoseconds())/float64(b.N), "cpu-ns/op")
		b.ReportMetric(float64(b.N)/cpu.Seconds(), "events/cpu-s")
	}
}

var errBaseline = errors.New("baseline: invalid event")

// jsonMapRow is the straightforward way to do what the pipeline does:
// decode the event into maps (with json.Number, so big integers survive),
// check the subscription, pick the fields with their default paths, drop
// nulls, coerce and check types, parse the timestamp, and marshal the row.
func jsonMapRow(event []byte) ([]byte, error) {
	dec := json.NewDecoder(bytes.NewReader(event))
	dec.UseNumber()
	var ev map[string]any
	if err := dec.Decode(&ev); err != nil {
		return nil, err
	}
	typ, _ := ev["type"].(string)
	switch typ {
	case "track", "screen", "identify", "page", "group", "alias":
	default:
		return nil, errBaseline
	}
	payload := map[string]any{
		"messageid": ev["messageId"], "timestamp": ev["timestamp"], "type": ev["type"], "event": ev["event"],
		"name": ev["name"], "properties": ev["properties"], "userId": ev["userId"], "anonymousId": ev["anonymousId"],
		"groupId": ev["groupId"], "context": ev["context"], "max_batch_size": json.Number("100"), "enable_batching": true,
	}
	payload["traits"] = ev["traits"]
	if ctx, ok := ev["context"].(map[string]any); ok {
		if tr, ok := ctx["traits"]; ok && tr != nil {
			payload["traits"] = tr
		}
	}
	for k, v := range payload {
		if v == nil {
			delete(payload, k)
		}
	}
	for _, k := range []string{"messageid", "timestamp", "type", "event", "name", "userId", "anonymousId", "groupId"} {
		switch v := payload[k].(type) {
		case nil, string:
		case json.Number:
			payload[k] = v.String()
		case bool:
			payload[k] = fmt.Sprint(v)
		default:
			return nil, errBaseline
		}
	}
	for _, k := range []string{"properties", "traits", "context"} {
		if v, ok := payload[k]; ok {
			if _, ok := v.(map[string]any); !ok {
				return nil, errBaseline
			}
		}
	}
	if payload["messageid"] == nil || payload["timestamp"] == nil || (typ == "track" && payload["event"] == nil) {
		return nil, errBaseline
	}
	ts, err := time.Parse(time.RFC3339Nano, payload["timestamp"].(string))
	if err != nil {
		return nil, err
	}
	row := []any{
		payload["messageid"], ts.UTC().Format("2006-01-02 15:04:05.000000"), payload["type"], payload["event"],
		payload["name"], payload["properties"], payload["userId"], payload["anonymousId"], payload["groupId"],
		payload["traits"], payload["context"],
	}
	return json.Marshal(row)
}

func TestBaselineDoesTheSameWork(t *testing.T) {
	enc, err := NewEncoder(Options{})
	if err != nil {
		t.Fatal(err)
	}
	ev := benchEvent(3)
	var p destination.Payload
	if _, err := enc.Process(nil, ev, &p); err != nil {
		t.Fatal(err)
	}
	row, err := enc.AppendRow([]byte("["), &p)
	if err != nil {
		t.Fatal(err)
	}
	row = append(row, ']')
	base, err := jsonMapRow(ev)
	if err != nil {
		t.Fatal(err)
	}
	if d := jsonValuesEqual(base, row); d != "" {
		t.Fatalf("the baseline's row differs: %s\n%s\n%s", d, base, row)
	}
	if n := len(ev); n < 2800 || n > 3400 {
		t.Fatalf("the benchmark event has %d bytes, not about 3 KB", n)
	}
}

// acceptAll is an Executor that answers every request at once as written,
// so that BenchmarkWriterWrite measures the Writer's own work.
type acceptAll struct{}

func (acceptAll) Exec(context.Context, string, ...any) (dataapi.ExecResult, error) {
	return dataapi.ExecResult{}, nil
}

func (acceptAll) ExecBatch(_ context.Context, req *batch.Request) dataapi.BatchResult {
	return dataapi.BatchResult{RowsAffected: int64(req.Len()), Errs: make([]error, req.Len())}
}

// BenchmarkWriterWrite measures Writer.Write on batches of 100 ~3 KB events
// with an executor that does no I/O: the kit's ExecuteBatch (check,
// subscription, mapping, validation), the action's PerformBatch (rows,
// packing, results), next to the per-event pipeline alone as its baseline.
func BenchmarkWriterWrite(b *testing.B) {
	events := make([][]byte, 100)
	total := 0
	for i := range events {
		events[i] = benchEvent(i)
		total += len(events[i])
	}
	w, err := NewWriter(acceptAll{}, WriterConfig{Database: "db"})
	if err != nil {
		b.Fatal(err)
	}
	b.Run("write", func(b *testing.B) {
		b.SetBytes(int64(total))
		b.ReportAllocs()
		for b.Loop() {
			if ms := w.Write(context.Background(), events); ms.Failed() > 0 {
				b.Fatal(ms.Err())
			}
		}
	})
	b.Run("baseline=pipeline", func(b *testing.B) {
		var (
			buf, row []byte
			p        destination.Payload
		)
		enc := w.Encoder()
		b.SetBytes(int64(total))
		b.ReportAllocs()
		for b.Loop() {
			for _, ev := range events {
				var err error
				if buf, err = enc.Process(buf[:0], ev, &p); err != nil {
					b.Fatal(err)
				}
				if row, err = enc.AppendRow(row[:0], &p); err != nil {
					b.Fatal(err)
				}
			}
		}
	})
}
