package endpoint

import "sync/atomic"

// budget bounds the request bytes held in memory. Budgets form a tree: the
// server's in-flight budget (MaxInFlightBytes) is the root, and each source,
// the Actions routes and the requests not yet authenticated have a child of
// their own. Bytes taken from a child are taken from its parent too, so a
// child is refused when either is full: one source cannot take more than its
// share, and unauthenticated requests never more than theirs.
//
// A request takes a lease as it reads its body, growing it chunk by chunk
// as bytes arrive (so a slow sender holds only what it sent); the lease is
// given back once the request has answered and the events it handed to a
// group are written.
type budget struct {
	limit  int64
	used   atomic.Int64
	parent *budget
	gauge  func(float64) // nil: not exported
}

// add adds n (which may be negative) to b alone, unconditionally.
func (b *budget) add(n int64) {
	v := b.used.Add(n)
	if b.gauge != nil {
		b.gauge(float64(v))
	}
}

// tryAdd adds n bytes to b alone, or reports false when that would pass its
// limit.
func (b *budget) tryAdd(n int64) bool {
	for {
		used := b.used.Load()
		if used+n > b.limit {
			return false
		}
		if b.used.CompareAndSwap(used, used+n) {
			if b.gauge != nil {
				b.gauge(float64(used + n))
			}
			return true
		}
	}
}

// take adds n bytes to b and its ancestors, or to none of them when one
// would pass its limit.
func (b *budget) take(n int64) bool {
	for x := b; x != nil; x = x.parent {
		if !x.tryAdd(n) {
			for y := b; y != x; y = y.parent {
				y.add(-n)
			}
			return false
		}
	}
	return true
}

// force adds n (which may be negative) to b and its ancestors.
func (b *budget) force(n int64) {
	for x := b; x != nil; x = x.parent {
		x.add(n)
	}
}

// acquire takes n bytes, or reports false when that would pass a limit.
func (b *budget) acquire(n int64) (*lease, bool) {
	if !b.take(n) {
		return nil, false
	}
	l := &lease{b: b}
	l.n.Store(n)
	l.refs.Store(1)
	return l, true
}

// lease is a share of a budget with a reference count: the handler holds
// one reference and each group holding its events another.
type lease struct {
	b    *budget
	n    atomic.Int64
	refs atomic.Int32
}

// grow takes n more bytes, or reports false when that would pass a limit.
func (l *lease) grow(n int64) bool {
	if !l.b.take(n) {
		return false
	}
	l.n.Add(n)
	return true
}

// resize sets the leased amount to n bytes, e.g. to the size of the body once
// it is read; growing is never refused, the request is admitted already.
func (l *lease) resize(n int64) {
	l.b.force(n - l.n.Swap(n))
}

// moveTo hands the lease over to nb, a sibling of its budget (same parent),
// once the request is authenticated: the bytes stay counted in the parent
// and move from one child to the other. It reports false, and keeps the
// lease where it was, when nb is full. Only the handler calls it, before
// the lease is shared with a group.
func (l *lease) moveTo(nb *budget) bool {
	if nb == l.b {
		return true
	}
	n := l.n.Load()
	if nb.parent != l.b.parent {
		if !nb.take(n) {
			return false
		}
		l.b.force(-n)
		l.b = nb
		return true
	}
	if !nb.tryAdd(n) {
		return false
	}
	l.b.add(-n)
	l.b = nb
	return true
}

func (l *lease) retain() { l.refs.Add(1) }

func (l *lease) release() {
	if l.refs.Add(-1) == 0 {
		l.b.force(-l.n.Swap(0))
	}
}
