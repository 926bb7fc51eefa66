package replay

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

func TestProgressLine(t *testing.T) {
	p := Progress{Events: 120_000, Written: 119_997, Failures: 3, Elapsed: 4 * time.Second}
	for _, c := range []struct {
		in   Input
		want string
	}{
		{Input{Read: 12_600_000, Total: 50_400_000}, "12.6 MB of 50.4 MB (25%), 120,000 events, 30,000 events/s, 3 failed, ETA 12s"},
		{Input{Read: 12_600_000, Total: -1}, "12.6 MB, 120,000 events, 30,000 events/s, 3 failed"},
		{Input{Read: 0, Total: 0}, "0 B, 120,000 events, 30,000 events/s, 3 failed"},
	} {
		assert.Equal(t, c.want, p.Line(c.in))
	}
}

func TestInputETA(t *testing.T) {
	_, ok := Input{Read: 10, Total: 100}.ETA(100 * time.Millisecond)
	assert.False(t, ok, "too early to tell")
	_, ok = Input{Read: 10, Total: -1}.ETA(time.Minute)
	assert.False(t, ok, "unknown total")
	eta, ok := Input{Read: 10, Total: 100}.ETA(10 * time.Second)
	assert.True(t, ok)
	assert.Equal(t, 90*time.Second, eta)
	f, ok := Input{Read: 150, Total: 100}.Fraction()
	assert.True(t, ok)
	assert.Equal(t, 1.0, f, "never more than all of it")
}
