package batch

import "sync"

// Request bodies, and the refs and offsets of their rows, come from pools
// of size classes and go back with Request.Release: a process that sends a
// request and releases it builds the next one in the same memory, instead
// of allocating, zeroing and faulting in a fresh ~1 MB buffer each time.

// bodyBuf and intBuf hold a pooled slice; the holder travels with the
// slice so that taking and returning it allocates nothing.
type bodyBuf struct{ b []byte }
type intBuf struct{ b []int }

// classes are the capacities handed out: powers of two and the halfway
// steps between them, from 4 KiB to 2 MiB (a full request with its head).
var classes = func() []int {
	var cs []int
	for c := 4 << 10; c <= 2<<20; c *= 2 {
		cs = append(cs, c, c+c/2)
	}
	return cs
}()

var (
	bodyPools = make([]sync.Pool, len(classes))
	intPools  = make([]sync.Pool, len(classes))
)

// classFor returns the smallest class holding n, or -1 when n is larger
// than every class.
func classFor(n int) int {
	for k, c := range classes {
		if c >= n {
			return k
		}
	}
	return -1
}

// classOf returns the largest class whose capacity c fits, or -1.
func classOf(c int) int {
	k := -1
	for i, cl := range classes {
		if cl > c {
			break
		}
		k = i
	}
	return k
}

func getBody(n int) *bodyBuf {
	k := classFor(n)
	if k < 0 {
		return &bodyBuf{b: make([]byte, 0, n)}
	}
	if v, ok := bodyPools[k].Get().(*bodyBuf); ok {
		v.b = v.b[:0]
		return v
	}
	return &bodyBuf{b: make([]byte, 0, classes[k])}
}

func putBody(bb *bodyBuf) {
	if bb == nil {
		return
	}
	if k := classOf(cap(bb.b)); k >= 0 {
		bb.b = bb.b[:0]
		bodyPools[k].Put(bb)
	}
}

// Int slices use the same classes, counted in ints, from 4096 down: a
// request of up to 1000 rows needs 2000.
func getInts(n int) *intBuf {
	k := classFor(max(n, 1) * 64)
	if k < 0 {
		return &intBuf{b: make([]int, 0, n)}
	}
	if v, ok := intPools[k].Get().(*intBuf); ok && cap(v.b) >= n {
		v.b = v.b[:0]
		return v
	}
	return &intBuf{b: make([]int, 0, classes[k]/64)}
}

func putInts(ib *intBuf) {
	if ib == nil {
		return
	}
	if k := classOf(cap(ib.b) * 64); k >= 0 {
		ib.b = ib.b[:0]
		intPools[k].Put(ib)
	}
}
