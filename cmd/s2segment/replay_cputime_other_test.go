//go:build !unix

package main

import "time"

// replayProcessCPU is not available here; the benchmark then reports wall
// time only.
func replayProcessCPU() (time.Duration, bool) { return 0, false }
