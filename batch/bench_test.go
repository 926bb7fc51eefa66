package batch_test

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/s2segment/s2segment/batch"
)

var benchCfg = batch.Config{
	Prefix:   "INSERT INTO `segment_data` (`messageId`, `timestamp`, `type`, `event`, `name`, `properties`, `userId`, `anonymousId`, `groupId`, `traits`, `context`) VALUES ",
	Suffix:   " ON DUPLICATE KEY UPDATE `type` = `type`",
	Columns:  11,
	Database: "analytics",
}

// segmentRow returns an 11-column row like those of segment_data for an
// "Order Completed" track event; its properties hold as many products as
// make the row about size bytes long. The text is what analytics events
// carry: ids, URLs, names, descriptions with some accented letters and
// now and then a quote or a line break to escape, prices and big integers.
func segmentRow(r *rand.Rand, size int) []byte {
	var products []any
	props := map[string]any{
		"order_id": fmt.Sprintf("ORD-%010d", r.IntN(1e9)), "affiliation": "Boutique en ligne", "currency": "EUR",
		"total": 0.0, "revenue": 0.0, "shipping": 4.99, "tax": 0.0, "coupon": "SUMMER25", "products": &products,
	}
	for n := 1200; n < size; {
		id := r.Int64N(1 << 62)
		price := float64(r.IntN(100000)) / 100
		p := map[string]any{
			"product_id": id, "sku": fmt.Sprintf("SKU-%06d", r.IntN(1e6)), "name": randWords(r, 4),
			"brand": randWords(r, 1), "category": "Maison & Jardin/Décoration", "price": price, "quantity": r.IntN(5) + 1,
			"position": len(products) + 1, "in_stock": r.IntN(4) != 0,
			"url":         fmt.Sprintf("https://shop.example.com/products/%d?utm_source=newsletter&utm_medium=email&utm_campaign=summer", id),
			"image_url":   fmt.Sprintf("https://cdn.example.com/images/%d/large.jpg", id),
			"description": randWords(r, 20+r.IntN(20)),
		}
		products = append(products, p)
		b, _ := json.Marshal(p)
		n += len(b) + 1
	}
	ctx := map[string]any{
		"ip": "203.0.113.7", "locale": "fr-FR", "timezone": "Europe/Paris",
		"userAgent": "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36",
		"page":      map[string]any{"url": "https://shop.example.com/checkout/complete?order=42", "title": "Commande confirmée — Boutique", "path": "/checkout/complete", "referrer": "https://shop.example.com/cart"},
		"library":   map[string]any{"name": "analytics.js", "version": "4.1.0"},
		"campaign":  map[string]any{"name": "summer", "source": "newsletter", "medium": "email"},
	}
	vals := []any{
		fmt.Sprintf("msg-%016x", r.Uint64()), "2025-06-01 12:34:56.789000", "track", "Order Completed", nil,
		props, fmt.Sprintf("user-%d", r.IntN(1e6)), fmt.Sprintf("anon-%08x", r.Uint32()), nil,
		map[string]any{"email": "camille.durand@example.com", "name": "Camille Durand", "plan": "pro", "logins": r.IntN(500)}, ctx,
	}
	b, _ := json.Marshal(vals)
	return b[1 : len(b)-1]
}

// words is the vocabulary of randWords: one word in about fifty needs an
// escape in JSON.
var words = strings.Fields("lampe table chaise coussin tapis vase miroir étagère bougie cadre plaid panier horloge " +
	"rideau tabouret applique suspension console buffet commode fauteuil canapé pouf bureau lit " +
	"en chêne massif laiton doré lin lavé coton bio verre soufflé céramique émaillée rotin naturel " +
	"fait main à Lyon livré sous 48h garantie deux ans couleur taille grand petit moyen blanc noir")

func randWords(r *rand.Rand, n int) string {
	parts := make([]string, n)
	for i := range parts {
		switch r.IntN(50) {
		case 0:
			parts[i] = `écran 27"`
		case 1:
			parts[i] = "ligne\nsuivante"
		default:
			parts[i] = words[r.IntN(len(words))]
		}
	}
	return strings.Join(parts, " ")
}

type benchRows struct {
	rows  [][]byte
	vals  [][]json.RawMessage // the same rows, split into values, for the baseline
	bytes int
}

func makeBenchRows(b *testing.B, size int) benchRows {
	r := rand.New(rand.NewPCG(uint64(size), 9))
	var br benchRows
	for range benchDistinct {
		row := segmentRow(r, size)
		br.rows = append(br.rows, row)
		br.vals = append(br.vals, splitRow(b, row))
		br.bytes += len(row)
	}
	return br
}

var benchDistinct = 64

var benchSizes = []struct {
	name string
	size int
}{{"3KB", 3 << 10}, {"40KB", 40 << 10}}

// BenchmarkPack adds one row per operation to one Packer, so ns/op and
// allocs/op are per row. fill% is the mean body size of the requests Add
// completed (those closed because the next row did not fit) as a share of
// the cap. Each request is released once measured, as a sender does once
// its answer is read, so the next one is built in its memory.
func BenchmarkPack(b *testing.B) {
	for _, sz := range benchSizes {
		b.Run(sz.name, func(b *testing.B) {
			br := makeBenchRows(b, sz.size)
			p, err := batch.New(benchCfg)
			if err != nil {
				b.Fatal(err)
			}
			var full, fullBytes int
			m := startMeter(b, int64(br.bytes/len(br.rows)))
			for i := range b.N {
				req, err := p.Add(br.rows[i%len(br.rows)], i)
				if err != nil {
					b.Fatal(err)
				}
				if req != nil {
					full++
					fullBytes += len(req.Body())
					req.Release()
				}
			}
			m.report(b)
			if full > 0 {
				b.ReportMetric(100*float64(fullBytes)/float64(full)/float64(batch.DefaultMaxBytes), "fill%")
			}
		})
	}
}

// BenchmarkPackBaseline is the same work done with encoding/json: the rows'
// values are gathered into an envelope and json.Marshal makes the body each
// time as many rows as the Packer puts in one request have been gathered.
// It checks no cap, which only favours it.
func BenchmarkPackBaseline(b *testing.B) {
	for _, sz := range benchSizes {
		b.Run(sz.name, func(b *testing.B) {
			br := makeBenchRows(b, sz.size)
			p, err := batch.New(benchCfg)
			if err != nil {
				b.Fatal(err)
			}
			reqs, _ := pack(b, p, append(append([][]byte{}, br.rows...), br.rows...))
			k := reqs[0].Len()
			env := envelope{SQL: wantSQL(benchCfg, k), Database: benchCfg.Database}
			n := 0
			m := startMeter(b, int64(br.bytes/len(br.rows)))
			for i := range b.N {
				env.Args = append(env.Args, br.vals[i%len(br.vals)]...)
				if n++; n == k {
					if _, err := json.Marshal(env); err != nil {
						b.Fatal(err)
					}
					env.Args, n = env.Args[:0], 0
				}
			}
			m.report(b)
		})
	}
}

// BenchmarkPackVsBaseline interleaves the two: each operation packs one
// request's worth of rows with the Packer, then encodes the same rows with
// json.Marshal, timing each part by the wall clock and by the CPU time of
// the benchmark's OS thread (Linux). Both parts see the same machine noise,
// and CPU time leaves out the waits for a core, so the speedup metrics are
// steadier than two separate runs on a busy machine.
func BenchmarkPackVsBaseline(b *testing.B) {
	for _, sz := range benchSizes {
		b.Run(sz.name, func(b *testing.B) {
			runtime.LockOSThread()
			defer runtime.UnlockOSThread()
			br := makeBenchRows(b, sz.size)
			p, err := batch.New(benchCfg)
			if err != nil {
				b.Fatal(err)
			}
			reqs, _ := pack(b, p, append(append([][]byte{}, br.rows...), br.rows...))
			k := reqs[0].Len()
			env := envelope{SQL: wantSQL(benchCfg, k), Database: benchCfg.Database}
			var packWall, jsonWall, packCPU, jsonCPU time.Duration
			var packed int
			b.ResetTimer()
			for op := range b.N {
				t0, c0 := time.Now(), threadCPU()
				for j := range k {
					i := op*k + j
					if _, err := p.Add(br.rows[i%len(br.rows)], i); err != nil {
						b.Fatal(err)
					}
					packed += len(br.rows[i%len(br.rows)])
				}
				t1, c1 := time.Now(), threadCPU()
				for j := range k {
					env.Args = append(env.Args, br.vals[(op*k+j)%len(br.vals)]...)
				}
				if _, err := json.Marshal(env); err != nil {
					b.Fatal(err)
				}
				env.Args = env.Args[:0]
				t2, c2 := time.Now(), threadCPU()
				packWall += t1.Sub(t0)
				jsonWall += t2.Sub(t1)
				packCPU += c1 - c0
				jsonCPU += c2 - c1
			}
			b.StopTimer()
			b.ReportMetric(float64(jsonWall)/float64(packWall), "speedup-wall")
			b.ReportMetric(float64(packed)/packWall.Seconds()/1e6, "pack-MB/s")
			b.ReportMetric(float64(packed)/jsonWall.Seconds()/1e6, "json-MB/s")
			if packCPU > 0 {
				b.ReportMetric(float64(jsonCPU)/float64(packCPU), "speedup-cpu")
				b.ReportMetric(float64(packed)/packCPU.Seconds()/1e6, "pack-cpu-MB/s")
				b.ReportMetric(float64(packed)/jsonCPU.Seconds()/1e6, "json-cpu-MB/s")
			}
		})
	}
}

// meter reports, for a benchmark whose operation is one row of bytes
// bytes, the allocations per row with their fraction (allocs/op rounds it
// away) and the throughput in CPU time of the benchmark's OS thread
// (cpu-MB/s), which leaves out the time spent waiting for a core on a busy
// machine. The benchmark goroutine stays on its thread until report.
type meter struct {
	mallocs uint64
	cpu     time.Duration
	bytes   int64
}

func startMeter(b *testing.B, bytes int64) meter {
	runtime.LockOSThread()
	b.SetBytes(bytes)
	b.ReportAllocs()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	b.ResetTimer()
	return meter{mallocs: ms.Mallocs, cpu: threadCPU(), bytes: bytes}
}

func (m meter) report(b *testing.B) {
	cpu := threadCPU() - m.cpu
	b.StopTimer()
	runtime.UnlockOSThread()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	b.ReportMetric(float64(ms.Mallocs-m.mallocs)/float64(b.N), "allocs/row")
	if cpu > 0 {
		b.ReportMetric(float64(m.bytes)*float64(b.N)/cpu.Seconds()/1e6, "cpu-MB/s")
	}
}
