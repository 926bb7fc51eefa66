//go:build !unix

package bench

import "time"

// cpuTime is not available on this system.
func cpuTime() (time.Duration, bool) { return 0, false }

// processCPU is not available on this system.
func processCPU(int) (time.Duration, bool) { return 0, false }
