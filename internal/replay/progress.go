package replay

import (
	"strconv"
	"time"
)

// Input is how far the reading of the inputs has got, in bytes of the files
// as stored (compressed bytes for a gzip file).
type Input struct {
	Read  int64 // bytes read so far
	Total int64 // bytes of all inputs, or -1 when unknown (standard input)
}

// Fraction returns the share of the input read, from 0 to 1, and false when
// the total is unknown.
func (in Input) Fraction() (float64, bool) {
	if in.Total <= 0 {
		return 0, in.Total == 0
	}
	return min(float64(in.Read)/float64(in.Total), 1), true
}

// ETA estimates the time left from the time taken so far, assuming the rest
// of the input goes at the same speed; false when it cannot be told (an
// unknown total, or too little read yet).
func (in Input) ETA(elapsed time.Duration) (time.Duration, bool) {
	f, ok := in.Fraction()
	if !ok || f <= 0 || elapsed < 500*time.Millisecond {
		return 0, false
	}
	left := time.Duration(float64(elapsed) * (1 - f) / f)
	return left.Round(time.Second), true
}

// Line describes the progress for a log line, with what has been read of the
// input: "12.6 MB of 45.2 MB (27%), 120,000 events, 30,012 events/s, 3 failed,
// ETA 1m10s". Without a known total it gives the bytes read and no ETA.
func (p Progress) Line(in Input) string {
	s := FormatBytes(in.Read)
	if f, ok := in.Fraction(); ok && in.Total > 0 {
		s += " of " + FormatBytes(in.Total) + " (" + strconv.Itoa(int(f*100)) + "%)"
	}
	s += ", " + p.String()
	if eta, ok := in.ETA(p.Elapsed); ok {
		s += ", ETA " + eta.String()
	}
	return s
}
