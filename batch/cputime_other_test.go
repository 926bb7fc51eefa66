//go:build !linux

package batch_test

import "time"

// threadCPU is not available here; the CPU-time metrics then read 0.
func threadCPU() time.Duration { return 0 }
