// Package wait sleeps in step with a context: the one timed wait the Data
// API client's backoff, the emulator's injected latency and the bench
// driver's retries share.
package wait

import (
	"context"
	"time"
)

// Sleep waits d, or until ctx is done, and then returns ctx.Err(). A d of
// zero or less returns at once, with ctx.Err().
func Sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
