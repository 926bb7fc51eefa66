package reliability

import (
	"bufio"
	"os"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// procStatus returns a field of /proc/self/status in bytes (VmRSS, VmHWM),
// or -1 when it cannot be read (not Linux).
func procStatus(field string) int64 {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return -1
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), ":")
		if !ok || k != field {
			continue
		}
		n, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
		if err != nil {
			return -1
		}
		return n << 10
	}
	return -1
}

// peakProbe measures the peak resident set size of the process over a
// stretch of work, above what it was at the start. It resets the kernel's
// high-water mark (VmHWM, through /proc/self/clear_refs) when it may, and
// samples VmRSS every millisecond as well, keeping the larger peak.
type peakProbe struct {
	base    int64
	hwm     bool
	sampled atomic.Int64
	stop    chan struct{}
	wg      sync.WaitGroup
}

// startPeak starts a probe after giving memory back to the system, so that
// the figure is the work's own. It skips the test where RSS cannot be read.
func startPeak(t *testing.T) *peakProbe {
	t.Helper()
	runtime.GC()
	debug.FreeOSMemory()
	p := &peakProbe{stop: make(chan struct{})}
	p.base = procStatus("VmRSS")
	if p.base < 0 {
		t.Skip("no /proc/self/status: RSS cannot be measured here")
	}
	p.hwm = os.WriteFile("/proc/self/clear_refs", []byte("5"), 0) == nil
	p.sampled.Store(p.base)
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		tick := time.NewTicker(time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-p.stop:
				return
			case <-tick.C:
				if v := procStatus("VmRSS"); v > p.sampled.Load() {
					p.sampled.Store(v)
				}
			}
		}
	}()
	return p
}

// extra stops the probe and returns the peak RSS above the start, in bytes.
func (p *peakProbe) extra() int64 {
	close(p.stop)
	p.wg.Wait()
	peak := p.sampled.Load()
	if p.hwm {
		peak = max(peak, procStatus("VmHWM"))
	}
	return max(0, peak-p.base)
}

func mb(n int64) float64 { return float64(n) / (1 << 20) }
