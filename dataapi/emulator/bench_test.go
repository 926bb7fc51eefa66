package emulator

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// BenchmarkParseRequest parses a 1000-row × 11-arg insert body; the
// baseline decodes the same body with encoding/json into map[string]any
// (numbers as json.Number), which loses nothing either but keeps nothing
// typed.
func BenchmarkParseRequest(b *testing.B) {
	sql, args := largeInsert(1000)
	body, err := json.Marshal(map[string]any{"sql": sql, "database": "db", "args": args})
	if err != nil {
		b.Fatal(err)
	}
	b.Run("parseRequest", func(b *testing.B) {
		b.ReportAllocs()
		b.SetBytes(int64(len(body)))
		for b.Loop() {
			if _, err := parseRequest(body); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("baseline=encoding/json", func(b *testing.B) {
		b.ReportAllocs()
		b.SetBytes(int64(len(body)))
		for b.Loop() {
			dec := json.NewDecoder(bytes.NewReader(body))
			dec.UseNumber()
			var m map[string]any
			if err := dec.Decode(&m); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkInsert1000 sends one 1000-row × 11-arg INSERT (about 250 KB)
// into the reference table per operation, through HTTP and the emulator;
// the baseline runs the same statement and args straight through
// database/sql on the same engine, so the ratio is the emulator's own cost.
func BenchmarkInsert1000(b *testing.B) {
	ddl, err := os.ReadFile(filepath.Join("testdata", "ddl", "reference.sql"))
	if err != nil {
		b.Fatal(err)
	}
	query, args := largeInsert(1000)
	for _, be := range backends(b) {
		b.Run(be.name, func(b *testing.B) {
			db := uniqueName("s2bench")
			h := newHarness(b, be.config(b, db))
			srv := h.srv
			h.exec(string(ddl))
			body := h.body(query, args...)

			b.Run("emulator", func(b *testing.B) {
				b.ReportAllocs()
				b.SetBytes(int64(len(body)))
				for b.Loop() {
					if r := h.do(http.MethodPost, "/api/v2/exec", body, nil); r.status != http.StatusOK {
						b.Fatal(r.body)
					}
				}
				b.ReportMetric(float64(b.N)*1000/b.Elapsed().Seconds(), "rows/s")
			})
			b.Run("baseline=database/sql", func(b *testing.B) {
				req, err := parseRequest([]byte(body))
				if err != nil {
					b.Fatal(err)
				}
				b.ReportAllocs()
				b.SetBytes(int64(len(body)))
				for b.Loop() {
					err := srv.backend.withConn(context.Background(), db, "INSERT", func(ctx context.Context, c *sql.Conn) error {
						_, err := c.ExecContext(ctx, query, req.Args...)
						return err
					})
					if err != nil {
						b.Fatal(err)
					}
				}
				b.ReportMetric(float64(b.N)*1000/b.Elapsed().Seconds(), "rows/s")
			})
		})
	}
}

// growingInsert is an insert of n rows into table with messageIds from
// first on, each row about 3 KB (properties and context of a browser
// event), and the dedupe schema's no-op upsert when dedupe is set.
func growingInsert(table string, first, n int, dedupe bool) (string, []any) {
	var b strings.Builder
	b.WriteString("INSERT INTO " + table + " (messageId, timestamp, type, event, name, properties, userId, anonymousId, groupId, traits, context) VALUES ")
	args := make([]any, 0, n*11)
	pad := strings.Repeat("x", 900)
	for i := first; i < first+n; i++ {
		if i > first {
			b.WriteString(", ")
		}
		b.WriteString("(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)")
		args = append(args, fmt.Sprintf("msg-%09d", i), "2025-07-07 10:19:25.665000", "track", "Order Completed", nil,
			map[string]any{"order_id": fmt.Sprintf("o-%d", i), "total": 27.5, "n": i, "note": pad}, fmt.Sprintf("user-%d", i%97), nil, nil, nil,
			map[string]any{"ip": "8.8.8.8", "library": map[string]any{"name": "analytics.js", "version": "2.11.1"}, "userAgent": pad, "page": map[string]any{"url": pad}})
	}
	if dedupe {
		b.WriteString(" ON DUPLICATE KEY UPDATE `type` = `type`")
	}
	return b.String(), args
}

// BenchmarkInsertAtSize measures 100-row inserts into a table that already
// holds 10,000 or 100,000 rows, in both schemas, on the embedded engine:
// the cost per row should not depend on the table's size. Filling the table
// is not timed.
func BenchmarkInsertAtSize(b *testing.B) {
	for _, schema := range []string{"dedupe", "reference"} {
		table := map[string]string{"dedupe": "segment_dedupe", "reference": "segment_data"}[schema]
		ddl, err := os.ReadFile(filepath.Join("testdata", "ddl", schema+".sql"))
		if err != nil {
			b.Fatal(err)
		}
		for _, size := range []int{10_000, 100_000} {
			b.Run(fmt.Sprintf("%s/rows=%d", schema, size), func(b *testing.B) {
				h := newHarness(b, Config{Databases: []string{"bench"}})
				h.exec(string(ddl))
				var before, after runtime.MemStats
				runtime.GC()
				runtime.ReadMemStats(&before)
				raw := 0
				for at := 0; at < size; at += 250 {
					q, args := growingInsert(table, at, 250, schema == "dedupe")
					for _, a := range args {
						switch v := a.(type) {
						case string:
							raw += len(v)
						case map[string]any:
							j, _ := json.Marshal(v)
							raw += len(j)
						}
					}
					h.exec(q, args...)
				}
				runtime.GC()
				runtime.ReadMemStats(&after)
				// The heap the stored rows hold, against the bytes of their values.
				heapPerRow := float64(after.HeapAlloc-before.HeapAlloc) / float64(size)
				valuePerRow := float64(raw) / float64(size)
				next := size
				b.ReportAllocs()
				for b.Loop() {
					b.StopTimer()
					q, args := growingInsert(table, next, 100, schema == "dedupe")
					body := h.body(q, args...)
					next += 100
					b.StartTimer()
					if r := h.do(http.MethodPost, "/api/v2/exec", body, nil); r.status != http.StatusOK {
						b.Fatal(r.body)
					}
				}
				b.ReportMetric(float64(b.N)*100/b.Elapsed().Seconds(), "rows/s")
				b.ReportMetric(heapPerRow, "heap-B/row")
				b.ReportMetric(valuePerRow, "value-B/row")
			})
		}
	}
}
