package emulator

import (
	"math/rand/v2"
	"sync"
	"time"
)

// fate is what happens to one request.
type fate struct {
	latency time.Duration
	fail    bool
	reset   bool
}

// faultSource draws the fate of each request from a seeded random source.
// Every request draws the same two numbers whatever the configuration, so
// the n-th request's fate depends only on the seed and the rates: one for
// the latency, and one u that resets the request when u < ResetRate and
// fails it when ResetRate <= u < ResetRate+FailRate.
type faultSource struct {
	cfg Faults
	off bool // no faults configured: skip the draws
	mu  sync.Mutex
	rng *rand.Rand
}

func newFaultSource(cfg Faults) *faultSource {
	return &faultSource{
		cfg: cfg,
		rng: rand.New(rand.NewPCG(cfg.Seed, 0x5eed_da7a_a91e_0001)),
		off: cfg.FailRate == 0 && cfg.ResetRate == 0 && cfg.Latency == 0 && cfg.LatencyMax == 0,
	}
}

// next returns the fate of the next request.
func (f *faultSource) next() fate {
	if f.off {
		return fate{}
	}
	f.mu.Lock()
	lat, u := f.rng.Float64(), f.rng.Float64()
	f.mu.Unlock()
	out := fate{latency: f.cfg.Latency}
	if f.cfg.LatencyMax > f.cfg.Latency {
		out.latency += time.Duration(lat * float64(f.cfg.LatencyMax-f.cfg.Latency+1))
	}
	out.reset = u < f.cfg.ResetRate
	out.fail = !out.reset && u < f.cfg.ResetRate+f.cfg.FailRate
	return out
}
