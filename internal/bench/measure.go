package bench

import (
	"bufio"
	"bytes"
	"math"
	"os"
	"runtime/metrics"
	"slices"
	"strconv"
	"sync"
	"time"
)

// Latency summarises a set of durations, in milliseconds.
type Latency struct {
	// Unit is what one sample times: "event" (pipeline: one event's
	// action, row encoding and packing), "batch" (replay: one request of
	// the Writer, retries and splits included) or "request" (serve: one
	// HTTP round trip to the endpoint).
	Unit  string  `json:"unit"`
	Count int     `json:"count"`
	Mean  float64 `json:"mean_ms"`
	P50   float64 `json:"p50_ms"`
	P90   float64 `json:"p90_ms"`
	P99   float64 `json:"p99_ms"`
	Max   float64 `json:"max_ms"`
}

// recorder collects durations from several goroutines.
type recorder struct {
	mu  sync.Mutex
	all []time.Duration
}

func (r *recorder) add(d time.Duration) {
	r.mu.Lock()
	r.all = append(r.all, d)
	r.mu.Unlock()
}

// addAll appends a worker's samples at once.
func (r *recorder) addAll(ds []time.Duration) {
	r.mu.Lock()
	r.all = append(r.all, ds...)
	r.mu.Unlock()
}

// summary sorts the samples and returns their percentiles (nearest rank).
func (r *recorder) summary(unit string) Latency {
	r.mu.Lock()
	defer r.mu.Unlock()
	l := Latency{Unit: unit, Count: len(r.all)}
	if len(r.all) == 0 {
		return l
	}
	slices.Sort(r.all)
	var sum time.Duration
	for _, d := range r.all {
		sum += d
	}
	ms := func(d time.Duration) float64 { return round3(float64(d) / float64(time.Millisecond)) }
	rank := func(p float64) time.Duration {
		k := int(p*float64(len(r.all))+0.999999) - 1
		return r.all[min(max(k, 0), len(r.all)-1)]
	}
	l.Mean = round3(float64(sum) / float64(len(r.all)) / float64(time.Millisecond))
	l.P50, l.P90, l.P99 = ms(rank(0.50)), ms(rank(0.90)), ms(rank(0.99))
	l.Max = ms(r.all[len(r.all)-1])
	return l
}

// round3 rounds to three decimals, enough for milliseconds and ratios.
func round3(f float64) float64 { return math.Round(f*1000) / 1000 }

// memSnapshot holds the process's cumulative allocation counters.
type memSnapshot struct {
	objects, bytes, gcs uint64
}

var memSamples = []string{"/gc/heap/allocs:objects", "/gc/heap/allocs:bytes", "/gc/cycles/total:gc-cycles"}

func readMem() memSnapshot {
	s := make([]metrics.Sample, len(memSamples))
	for i, name := range memSamples {
		s[i].Name = name
	}
	metrics.Read(s)
	v := func(i int) uint64 {
		if s[i].Value.Kind() == metrics.KindUint64 {
			return s[i].Value.Uint64()
		}
		return 0
	}
	return memSnapshot{objects: v(0), bytes: v(1), gcs: v(2)}
}

// resetPeakRSS asks Linux to restart the peak resident set size count
// (writing 5 to /proc/self/clear_refs). It reports whether it could.
func resetPeakRSS() bool {
	f, err := os.OpenFile("/proc/self/clear_refs", os.O_WRONLY, 0)
	if err != nil {
		return false
	}
	_, err = f.Write([]byte("5"))
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err == nil
}

// peakRSS returns VmHWM from /proc/self/status in bytes; ok is false where
// there is no such file (other systems) or it has no VmHWM line.
func peakRSS() (n int64, ok bool) {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return 0, false
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Bytes()
		rest, found := bytes.CutPrefix(line, []byte("VmHWM:"))
		if !found {
			continue
		}
		fields := bytes.Fields(rest)
		if len(fields) == 0 {
			return 0, false
		}
		kb, err := strconv.ParseInt(string(fields[0]), 10, 64)
		if err != nil {
			return 0, false
		}
		return kb << 10, true
	}
	return 0, false
}
