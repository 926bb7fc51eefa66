package bench

import (
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"
)

// WriteJSON writes the report as one indented JSON object and a newline.
func (r *Report) WriteJSON(w io.Writer) error {
	b, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return fmt.Errorf("encoding report: %w", err)
	}
	_, err = w.Write(append(b, '\n'))
	return err
}

// WriteTable writes the report as an aligned two-column table.
func (r *Report) WriteTable(w io.Writer) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	row := func(k, format string, args ...any) { fmt.Fprintf(tw, "%s\t%s\n", k, fmt.Sprintf(format, args...)) }
	row("stage", "%s", r.Stage)
	row("target", "%s", r.Target)
	row("events", "%s (%s, seed %d, %s)", group(int64(r.Events)), r.Size, r.Seed, mb(r.EventBytes))
	row("ok / failed", "%s / %s", group(int64(r.OK)), group(int64(r.Failed)))
	for _, k := range sortedReasons(r.Failures) {
		row("  failed: "+k, "%s", group(int64(r.Failures[k])))
	}
	cpu := ""
	if r.CPUSeconds != nil {
		cpu = fmt.Sprintf(" (CPU %.3f s)", *r.CPUSeconds)
	}
	row("time", "%.3f s%s", r.Seconds, cpu)
	row("throughput", "%s events/s, %.2f MB/s", group(int64(r.EventsPerS+0.5)), r.MBPerS)
	row("requests", "%s (%s), concurrency %d, batch size %d", group(r.Requests), mb(r.RequestBytes), r.Concurrency, r.BatchSize)
	if r.Fill != nil {
		row("mean fill", "%.1f%% of %s bytes", *r.Fill*100, group(int64(r.MaxRequestBytes)))
	} else {
		row("mean fill", "n/a (the Data API requests are not made here)")
	}
	row("retries", "%s", group(r.Retries))
	l := r.Latency
	row("latency per "+l.Unit, "p50 %s  p90 %s  p99 %s  max %s  mean %s (%s samples)",
		ms(l.P50), ms(l.P90), ms(l.P99), ms(l.Max), ms(l.Mean), group(int64(l.Count)))
	if a := r.DataAPI; a != nil {
		row("Data API", "%s batches, %s requests, %s retries, %s splits, fill %.1f%%",
			group(a.Batches), group(a.Requests), group(a.Retries), group(a.Splits), a.Fill*100)
	}
	row("allocations", "%s (%s per event), %s (%s per event), %d GC cycles",
		group(int64(r.Allocs)), trim(r.AllocsPerEvent), mb(int64(r.AllocBytes)), strconv.FormatFloat(r.AllocBytesPerEvent, 'f', 0, 64)+" B", r.GCCycles)
	if r.PeakRSSBytes != nil {
		row("peak RSS", "%s (%s)", mb(*r.PeakRSSBytes), r.PeakRSSScope)
	} else {
		row("peak RSS", "n/a on this system")
	}
	for _, b := range r.Baselines {
		row("baseline: "+b.Name, "%s events/s, %.2f MB/s, %s allocs/event; stage is %sx",
			group(int64(b.EventsPerS+0.5)), b.MBPerS, trim(b.AllocsPerEvent), trim(b.Ratio))
	}
	row("go", "%s, GOMAXPROCS %d", r.GoVersion, r.GOMAXPROCS)
	return tw.Flush()
}

// group writes n with thousands separators.
func group(n int64) string {
	s := strconv.FormatInt(n, 10)
	neg := strings.HasPrefix(s, "-")
	if neg {
		s = s[1:]
	}
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	if neg {
		return "-" + b.String()
	}
	return b.String()
}

func mb(n int64) string { return fmt.Sprintf("%.2f MB", float64(n)/1e6) }

func ms(v float64) string { return trim(v) + " ms" }

// trim formats a float with up to three decimals and no trailing zeros.
func trim(v float64) string { return strconv.FormatFloat(v, 'f', -1, 64) }
