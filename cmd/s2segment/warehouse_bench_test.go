package main

import (
	"context"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/s2segment/s2segment/dataapi"
	"github.com/s2segment/s2segment/dataapi/emulator"
	"github.com/s2segment/s2segment/destination"
	"github.com/s2segment/s2segment/destination/singlestore"
	"github.com/s2segment/s2segment/destination/singlestore/warehouse"
	"github.com/s2segment/s2segment/internal/bench"
)

// warehouseBenchEvents is how many events one iteration writes.
const warehouseBenchEvents = 400

// BenchmarkWarehouseVsSendData writes the same medium events (package
// internal/bench's generator) through the Send Data writer (the baseline)
// and the warehouse writer, each into its own emulator over real HTTP, in
// the same iterations: every iteration writes new events (fresh
// messageIds) to both, in Writes of 200 events with 4 requests in flight,
// the two taking turns at going first so that the load of a shared machine
// falls on both alike. It reports the events/s of each and their ratio.
// The warehouse writer writes about two rows per event into a dozen tables
// and creates the tables and columns on its first Writes.
func BenchmarkWarehouseVsSendData(b *testing.B) {
	backends := map[string]string{"embedded": ""}
	if dsn := os.Getenv("S2_TEST_MARIADB_DSN"); dsn != "" {
		backends["mariadb"] = dsn
	}
	for name, dsn := range backends {
		b.Run("engine="+name, func(b *testing.B) {
			ctx := context.Background()
			send := benchWriter(b, dsn, "send")
			wh := benchWriter(b, dsn, "warehouse")
			gen := bench.Generator{Size: bench.SizeMedium}
			var took [2]time.Duration
			n := 0
			for i := 0; b.Loop(); i++ {
				b.StopTimer()
				events := gen.Events(i*warehouseBenchEvents, warehouseBenchEvents)
				b.StartTimer()
				for turn := 0; turn < 2; turn++ {
					k := (i + turn) % 2
					write := send
					if k == 1 {
						write = wh
					}
					start := time.Now()
					for j := 0; j < len(events); j += 200 {
						if err := write(ctx, events[j:min(j+200, len(events))]).Err(); err != nil {
							b.Fatal(err)
						}
					}
					took[k] += time.Since(start)
				}
				n += len(events)
			}
			sendRate, whRate := float64(n)/took[0].Seconds(), float64(n)/took[1].Seconds()
			b.ReportMetric(sendRate, "send-events/s")
			b.ReportMetric(whRate, "warehouse-events/s")
			b.ReportMetric(whRate/sendRate, "ratio")
		})
	}
}

// benchWriter starts an emulator with a database of its own on the engine
// of dsn ("" for the embedded one) and returns the Write of the action's
// writer for it.
func benchWriter(b *testing.B, dsn, action string) func(ctx context.Context, events [][]byte) *destination.MultiStatus {
	b.Helper()
	db := fmt.Sprintf("s2bench_%s_%d", action, os.Getpid())
	l, err := emulator.Listen(b.Context(), emulator.Config{DSN: dsn, Databases: []string{db}})
	if err != nil {
		b.Fatal(err)
	}
	c, err := dataapi.New(dataapi.Config{Host: l.Host(), Port: l.Port(), Scheme: "http", User: "root", Database: db,
		MaxInFlight: 4, Timeout: time.Minute})
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	b.Cleanup(func() {
		if dsn != "" {
			_, _ = c.Exec(ctx, "DROP DATABASE IF EXISTS "+singlestore.QuoteIdentifier(db))
		}
		_ = l.Close()
	})
	if action == "send" {
		w, err := singlestore.NewWriter(singlestore.NewExecutor(c), singlestore.WriterConfig{Database: db, Concurrency: 4})
		if err != nil {
			b.Fatal(err)
		}
		if err := w.CreateTable(ctx); err != nil {
			b.Fatal(err)
		}
		return w.Write
	}
	w, err := singlestore.NewWarehouseWriter(singlestore.NewExecutor(c).(singlestore.WarehouseExecutor), singlestore.WarehouseConfig{Database: db, Concurrency: 4})
	if err != nil {
		b.Fatal(err)
	}
	return w.Write
}

// BenchmarkWarehouseEncodeVsSendData is the CPU side of the same
// comparison, with no database: per medium event, the Send Data action and
// its row encoding (the baseline) against the warehouse engine's rows and
// their encoding (every column of the table in the argument list) for a
// schema that already has every column.
func BenchmarkWarehouseEncodeVsSendData(b *testing.B) {
	events := bench.Generator{Size: bench.SizeMedium}.Events(0, 256)
	b.Run("action=send", func(b *testing.B) {
		enc, err := singlestore.NewEncoder(singlestore.Options{})
		if err != nil {
			b.Fatal(err)
		}
		var (
			buf, row []byte
			p        destination.Payload
		)
		cpu0, ok := replayProcessCPU()
		for i := 0; b.Loop(); i++ {
			if buf, err = enc.Process(buf[:0], events[i%len(events)], &p); err != nil {
				b.Fatal(err)
			}
			if row, err = enc.AppendRow(row[:0], &p); err != nil {
				b.Fatal(err)
			}
		}
		reportEventRates(b, cpu0, ok)
	})
	b.Run("action=warehouse", func(b *testing.B) {
		now := time.Now()
		s := warehouse.NewSchema(0)
		for _, ev := range events {
			rows, err := warehouse.Rows(ev, now)
			if err != nil {
				b.Fatal(err)
			}
			for _, c := range s.Plan(rows) {
				s.Apply(c)
			}
		}
		// One encoder per table for all its columns, as a Write makes one
		// per table for the columns of its batch.
		encs := map[string]*warehouse.Encoder{}
		for name, t := range s.Tables {
			cols := make([]string, len(t.Columns))
			for k, c := range t.Columns {
				cols[k] = c.Name
			}
			enc, err := warehouse.NewEncoder(t, cols)
			if err != nil {
				b.Fatal(err)
			}
			encs[name] = enc
		}
		var row []byte
		cpu0, ok := replayProcessCPU()
		for i := 0; b.Loop(); i++ {
			rows, err := warehouse.Rows(events[i%len(events)], now)
			if err != nil {
				b.Fatal(err)
			}
			for j := range rows {
				if row, err = encs[rows[j].Table].Append(row[:0], &rows[j]); err != nil {
					b.Fatal(err)
				}
			}
		}
		reportEventRates(b, cpu0, ok)
	})
}

// reportEventRates reports events/s and, where the platform tells, events
// per second of process CPU time (run with -cpu 1: the benchmark's own
// work, whatever else shares the machine).
func reportEventRates(b *testing.B, cpu0 time.Duration, ok bool) {
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
	if cpu1, ok1 := replayProcessCPU(); ok && ok1 && cpu1 > cpu0 {
		b.ReportMetric(float64(b.N)/(cpu1-cpu0).Seconds(), "events/cpu-s")
	}
}
