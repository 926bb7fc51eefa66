//go:build unix

package main

import (
	"syscall"
	"time"
)

// replayProcessCPU returns the CPU time (user and system) the process has
// used. The replay benchmark reports it next to wall time because the
// machines it runs on are shared: with -cpu 1 it is the benchmark's own
// work, whatever else runs beside it.
func replayProcessCPU() (time.Duration, bool) {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0, false
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()), true
}
