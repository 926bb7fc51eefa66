package emulator

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
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
