// Package batch packs pre-encoded rows into SingleStore Data API request
// bodies that never exceed a byte cap or a row count.
//
// A row is the JSON text of one row's arguments joined by commas, for example
//
//	"id1","2025-01-01 00:00:00.000000","track",null,{"plan":"pro"}
//
// A [Packer] appends rows to a pending request whose body is
//
//	{"sql":"<Prefix>(?, ?, …), (?, ?, …)<Suffix>","database":"<Database>","args":[<row>,<row>,…]}
//
// Before a row is added, the size the body would have with that row is
// computed exactly: the envelope, the JSON-escaped Prefix, Suffix and
// Database (each counted once), one placeholder group per row, the ", "
// between groups, every argument byte and the comma between rows. When the row
// would take the body past MaxBytes, or the request already holds MaxRows
// rows, [Packer.Add] completes the pending request, hands it back, and starts
// the next request with the row. No request ever exceeds the cap, and no
// request is built and then measured.
//
// Every row is checked before it is added: it must be a comma-separated list
// of exactly Columns JSON values, under the grammar of encoding/json (so an
// accepted row can never break the envelope or shift the other rows' columns).
// A row that is malformed, or too large to fit in a request even on its own,
// is returned as a [*RowError] (wrapping [ErrMalformedRow] or
// [ErrRowTooLarge]) for that row alone; the pending request is unchanged and
// packing goes on.
//
// The package is pure and synchronous: no goroutines, timers or I/O. Flushing
// on a timer (linger) is the caller's business: call [Packer.Flush] when it is
// time. A Packer is not safe for concurrent use. A [Request] is immutable once
// returned and may be read, split and sent from any goroutine.
//
// Typical use:
//
//	p, err := batch.New(batch.Config{Prefix: "INSERT INTO t (a, b) VALUES ", Columns: 2, Database: "db"})
//	for i, row := range rows {
//		full, err := p.Add(row, i)
//		if err != nil { // this row alone failed; the others are unaffected
//			report(i, err)
//			continue
//		}
//		if full != nil {
//			send(full.Body())
//		}
//	}
//	if last := p.Flush(); last != nil {
//		send(last.Body())
//	}
package batch

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/s2segment/s2segment/internal/checked"
)

// Limits and defaults of a [Config].
const (
	// DefaultMaxBytes is the default cap on a request body: the Data API
	// documents a 1 MB limit without saying whether that is 10^6 or 2^20
	// bytes, so the default is the smaller.
	DefaultMaxBytes = 1_000_000
	// LimitMaxBytes is the largest MaxBytes a Config may ask for (1 MiB).
	LimitMaxBytes = 1 << 20
	// DefaultMaxRows is the default cap on rows per request. It matches the
	// number of events Segment sends in one batch by default.
	DefaultMaxRows = 1000
)

// Config describes the requests a [Packer] builds. The zero value of MaxRows
// and MaxBytes means the default; Prefix and Columns are required.
type Config struct {
	// Prefix is the SQL text up to and including "VALUES ", for example
	// "INSERT INTO `segment_data` (`a`, `b`) VALUES ".
	Prefix string
	// Suffix is SQL text after the last placeholder group, for example
	// " ON DUPLICATE KEY UPDATE `type` = `type`". It may be empty.
	Suffix string
	// Columns is the number of placeholders in each row's group, and the
	// number of JSON values every row must hold.
	Columns int
	// Database is the context database of each request. When empty the
	// "database" field is left out of the body.
	Database string
	// MaxRows caps the rows in one request; 0 means DefaultMaxRows.
	MaxRows int
	// MaxBytes caps the size of a request body in bytes; 0 means
	// DefaultMaxBytes. It may not exceed LimitMaxBytes.
	MaxBytes int
}

// ConfigError reports a Config that New cannot use.
type ConfigError struct {
	Field  string // the Config field at fault
	Value  any    // its value
	Reason string // what was expected
}

// Error returns "batch: Config.<Field> = <Value>: <Reason>".
func (e *ConfigError) Error() string {
	return fmt.Sprintf("batch: Config.%s = %v: %s", e.Field, e.Value, e.Reason)
}

// ErrRowTooLarge is wrapped by the [*RowError] of a row that does not fit in
// a request even when it is the only row.
var ErrRowTooLarge = errors.New("row too large for one request")

// ErrMalformedRow is wrapped by the [*RowError] of a row that is not a
// comma-separated list of exactly Config.Columns JSON values.
var ErrMalformedRow = errors.New("malformed row")

// RowError is the error of one row that [Packer.Add] refused. It wraps
// [ErrRowTooLarge] or [ErrMalformedRow]; use errors.Is to tell them apart.
type RowError struct {
	// Ref is the reference the caller gave with the row.
	Ref int
	// Size is the body size in bytes of a request holding only this row.
	Size int
	// Limit is the byte cap of the Packer (Config.MaxBytes).
	Limit int
	// Offset is the byte offset in the row where it stops being acceptable,
	// for a malformed row; -1 for a row that is too large.
	Offset int
	// Reason says what was expected at Offset, for a malformed row.
	Reason string
	// Err is ErrRowTooLarge or ErrMalformedRow.
	Err error
}

// Error describes the row by its reference, never by its content.
func (e *RowError) Error() string {
	if errors.Is(e.Err, ErrRowTooLarge) {
		return fmt.Sprintf("batch: row %d: %v: a request holding only this row would be %d bytes, over the %d-byte limit",
			e.Ref, e.Err, e.Size, e.Limit)
	}
	return fmt.Sprintf("batch: row %d: %v at byte %d: %s", e.Ref, e.Err, e.Offset, e.Reason)
}

// Unwrap returns Err.
func (e *RowError) Unwrap() error { return e.Err }

// layout is the fixed text of every request of one Packer. It is immutable
// and shared by the Packer and all its Requests.
type layout struct {
	head1    []byte // {"sql":"<escaped prefix>
	group    []byte // (?, ?, …)
	head2    []byte // <escaped suffix>","database":"<escaped db>","args":[
	tail     []byte // ]}
	fixed    int    // len(head1) + len(head2) + len(tail)
	columns  int
	maxRows  int
	maxBytes int
}

// escape returns s as the inside of a JSON string, escaped exactly as
// encoding/json escapes it.
func escape(s string) []byte {
	b, _ := json.Marshal(s) // a string always marshals
	return b[1 : len(b)-1]
}

func newLayout(cfg Config) *layout {
	l := &layout{columns: cfg.Columns, maxRows: cfg.MaxRows, maxBytes: cfg.MaxBytes}
	l.head1 = append([]byte(`{"sql":"`), escape(cfg.Prefix)...)
	l.group = []byte("(" + strings.Repeat("?, ", cfg.Columns-1) + "?)")
	l.head2 = escape(cfg.Suffix)
	if cfg.Database != "" {
		l.head2 = append(l.head2, `","database":"`...)
		l.head2 = append(l.head2, escape(cfg.Database)...)
	}
	l.head2 = append(l.head2, `","args":[`...)
	l.tail = []byte(`]}`)
	l.fixed = len(l.head1) + len(l.head2) + len(l.tail)
	return l
}

// headLen is the length of everything before the args of an n-row request
// (n ≥ 1): the envelope up to "args":[ with n groups and n-1 ", ".
func (l *layout) headLen(n int) int {
	return len(l.head1) + n*len(l.group) + 2*(n-1) + len(l.head2)
}

// size is the body length of an n-row request (n ≥ 1) whose args, commas
// between rows included, take args bytes.
func (l *layout) size(n, args int) int {
	return l.headLen(n) + args + len(l.tail)
}

// putHead writes the head of an n-row request into dst, which is exactly
// headLen(n) bytes long.
func (l *layout) putHead(dst []byte, n int) {
	i := copy(dst, l.head1)
	for k := 0; k < n; k++ {
		if k > 0 {
			dst[i], dst[i+1] = ',', ' '
			i += 2
		}
		i += copy(dst[i:], l.group)
	}
	copy(dst[i:], l.head2)
}

// Packer packs rows into [Request]s. Create one with [New]; it is not safe
// for concurrent use.
type Packer struct {
	l *layout
	s scanner

	// The pending request. buf holds its args from offset gap on; the gap in
	// front is reserved for the head, which is written when the request is
	// completed, so each argument byte is copied once.
	buf  []byte
	gap  int
	refs []int
	offs []int    // start of each row, relative to gap
	bb   *bodyBuf // pooled holder of buf
	ib   *intBuf  // pooled holder of refs and offs

	// Sizes of the last completed request, used to size the next buffers.
	hintRows, hintArgs int
}

// New checks cfg, fills in its defaults and returns a Packer. A Config that
// cannot work is reported as a [*ConfigError].
func New(cfg Config) (*Packer, error) {
	if cfg.Prefix == "" {
		return nil, &ConfigError{Field: "Prefix", Value: `""`, Reason: `SQL up to and including "VALUES " is required`}
	}
	if cfg.Columns < 1 {
		return nil, &ConfigError{Field: "Columns", Value: cfg.Columns, Reason: "at least 1 placeholder per row is required"}
	}
	switch {
	case cfg.MaxRows == 0:
		cfg.MaxRows = DefaultMaxRows
	case cfg.MaxRows < 0:
		return nil, &ConfigError{Field: "MaxRows", Value: cfg.MaxRows, Reason: "must be positive (0 means the default)"}
	}
	switch {
	case cfg.MaxBytes == 0:
		cfg.MaxBytes = DefaultMaxBytes
	case cfg.MaxBytes < 0:
		return nil, &ConfigError{Field: "MaxBytes", Value: cfg.MaxBytes, Reason: "must be positive (0 means the default)"}
	case cfg.MaxBytes > LimitMaxBytes:
		return nil, &ConfigError{Field: "MaxBytes", Value: cfg.MaxBytes,
			Reason: fmt.Sprintf("at most %d bytes (the Data API's 1 MB request limit)", LimitMaxBytes)}
	}
	l := newLayout(cfg)
	// The smallest row is Columns one-byte values and their commas.
	if smallest := l.size(1, 2*cfg.Columns-1); smallest > cfg.MaxBytes {
		return nil, &ConfigError{Field: "MaxBytes", Value: cfg.MaxBytes,
			Reason: fmt.Sprintf("too small: a request with one minimal row takes %d bytes", smallest)}
	}
	return &Packer{l: l}, nil
}

// Add adds a row, the JSON text of its Config.Columns values joined by
// commas, with the caller's reference ref (reported back by
// [Request.Refs] and in a [*RowError]).
//
// When the row does not fit in the pending request (by bytes or by row
// count), Add returns the pending request, now complete, and the row starts
// the next one; otherwise full is nil. A row that is malformed or that can
// never fit is refused with a [*RowError] and leaves the Packer as it was.
// Add copies row; the caller may reuse it.
func (p *Packer) Add(row []byte, ref int) (full *Request, err error) {
	return p.add(row, ref, true)
}

// AddTrusted is Add for a row that this module's row encoder wrote from a
// checked event (a checked.Row, which only this module can make): the row
// is not scanned again. Its size is still checked, so no request exceeds
// the cap. Rows from any other source go through Add.
func (p *Packer) AddTrusted(row checked.Row, ref int) (full *Request, err error) {
	return p.add(row.Bytes(), ref, false)
}

func (p *Packer) add(row []byte, ref int, check bool) (full *Request, err error) {
	l := p.l
	if alone := l.size(1, len(row)); alone > l.maxBytes {
		return nil, &RowError{Ref: ref, Size: alone, Limit: l.maxBytes, Offset: -1, Err: ErrRowTooLarge}
	}
	if check {
		if off, reason := p.s.row(row, l.columns); reason != "" {
			return nil, &RowError{Ref: ref, Size: l.size(1, len(row)), Limit: l.maxBytes,
				Offset: off, Reason: reason, Err: ErrMalformedRow}
		}
	}
	if n := len(p.refs); n > 0 {
		// Adding costs one group, its ", ", the row and its comma.
		if n == l.maxRows || p.Size()+len(l.group)+2+1+len(row) > l.maxBytes {
			full = p.finish()
		}
	}
	p.push(row, ref)
	return full, nil
}

// Flush completes and returns the pending request, or nil when no row is
// pending.
func (p *Packer) Flush() *Request {
	if len(p.refs) == 0 {
		return nil
	}
	return p.finish()
}

// Len returns the number of rows in the pending request.
func (p *Packer) Len() int { return len(p.refs) }

// Size returns the body size in bytes the pending request would have if it
// were flushed now, or 0 when no row is pending.
func (p *Packer) Size() int {
	if len(p.refs) == 0 {
		return 0
	}
	return p.l.size(len(p.refs), len(p.buf)-p.gap)
}

// push appends a row that is known to fit to the pending request.
func (p *Packer) push(row []byte, ref int) {
	n := len(p.refs) + 1
	if p.buf == nil {
		rows := min(max(p.hintRows+p.hintRows/8, 1), p.l.maxRows)
		p.gap = p.l.headLen(rows)
		args := min(p.hintArgs+p.hintArgs/8, p.l.maxBytes)
		p.bb = getBody(p.gap + max(args, len(row)) + len(p.l.tail))
		p.buf = p.bb.b[:p.gap]
		p.ib = getInts(2 * rows) // one buffer for refs and offs
		both := p.ib.b[:2*rows]
		p.refs, p.offs = both[:0:rows], both[rows:rows:2*rows]
	}
	if need := p.l.headLen(n); need > p.gap {
		p.moveArgs(p.l.headLen(2 * n))
	}
	// Room for the comma, the row and the tail, so finish never reallocates.
	if need := len(p.buf) + 1 + len(row) + len(p.l.tail); need > cap(p.buf) {
		p.grow(need)
	}
	if n > 1 {
		p.buf = append(p.buf, ',')
	}
	p.offs = append(p.offs, len(p.buf)-p.gap)
	p.buf = append(p.buf, row...)
	p.refs = append(p.refs, ref)
}

// grow reallocates buf with room for at least need bytes: double the
// capacity, but never more than a full request can use.
func (p *Packer) grow(need int) {
	c := min(max(2*cap(p.buf), need), p.gap+p.l.maxBytes)
	c = max(c, need)
	nb := getBody(c)
	nb.b = nb.b[:len(p.buf)]
	copy(nb.b, p.buf)
	putBody(p.bb)
	p.bb, p.buf = nb, nb.b
}

// moveArgs widens the gap in front of the args to gap bytes.
func (p *Packer) moveArgs(gap int) {
	args := p.buf[p.gap:]
	nb := getBody(gap + cap(p.buf) - p.gap)
	nb.b = nb.b[:gap+len(args)]
	copy(nb.b[gap:], args)
	putBody(p.bb)
	p.bb, p.buf, p.gap = nb, nb.b, gap
}

// finish writes the head and tail around the pending args and returns them
// as a Request; the Packer starts afresh.
func (p *Packer) finish() *Request {
	n := len(p.refs)
	hl := p.l.headLen(n)
	start := p.gap - hl
	p.l.putHead(p.buf[start:p.gap], n)
	args := len(p.buf) - p.gap
	p.buf = append(p.buf, p.l.tail...)
	for i := range p.offs {
		p.offs[i] += hl
	}
	r := &Request{l: p.l, body: p.buf[start:len(p.buf):len(p.buf)], refs: p.refs[:n:n], offs: p.offs[:n:n], bb: p.bb, ib: p.ib}
	p.hintRows, p.hintArgs = n, args
	p.buf, p.refs, p.offs, p.gap, p.bb, p.ib = nil, nil, nil, 0, nil, nil
	return r
}

// Request is one completed request: its body and the references of its rows.
// It is immutable; its methods are safe for concurrent use.
type Request struct {
	l    *layout
	body []byte
	refs []int
	offs []int    // start of each row in body
	bb   *bodyBuf // pooled holder of body, nil when not pooled
	ib   *intBuf  // pooled holder of refs and offs
}

// Release gives the request's memory back to the pool the Packer takes
// request bodies from, once the request has been sent and its answer read.
// The request must not be used afterwards, nor its Body, Refs or Row
// slices; a released Request has no rows. Releasing is optional (an
// unreleased request is collected as usual) and safe to repeat.
//
// Release only a request whose body nobody reads any more: after a
// failed send an HTTP transport may still be writing it, so such a request
// is best left to the collector.
func (r *Request) Release() {
	if r == nil {
		return
	}
	if r.bb != nil {
		putBody(r.bb)
		r.bb = nil
	}
	if r.ib != nil {
		putInts(r.ib)
		r.ib = nil
	}
	r.body, r.refs, r.offs = nil, nil, nil
}

// Body returns the request body, ready to POST to the Data API. The caller
// must not modify it.
func (r *Request) Body() []byte { return r.body }

// Len returns the number of rows in the request; 0 for a nil Request.
func (r *Request) Len() int {
	if r == nil {
		return 0
	}
	return len(r.refs)
}

// Refs returns the caller's reference of each row, in row order. The caller
// must not modify it.
func (r *Request) Refs() []int { return r.refs }

// Row returns the argument text of row i (0 ≤ i < Len()) as it appears in
// the body. The caller must not modify it.
func (r *Request) Row(i int) []byte { return r.body[r.offs[i]:r.rowEnd(i)] }

// rowEnd is the end offset of row i in the body.
func (r *Request) rowEnd(i int) int {
	if i+1 < len(r.offs) {
		return r.offs[i+1] - 1 // the comma before the next row
	}
	return len(r.body) - len(r.l.tail)
}

// Split divides the request into two requests, the first Len()/2 rows and
// the rest, with bodies rebuilt exactly as the Packer would have built them.
// It is used when the server refuses a body as too large. A request with
// fewer than two rows cannot be split: Split returns it and nil.
func (r *Request) Split() (*Request, *Request) {
	n := r.Len()
	if n < 2 {
		return r, nil
	}
	return r.slice(0, n/2), r.slice(n/2, n)
}

// slice builds a request of rows lo..hi-1; their args, commas included, are
// one contiguous run of the body.
func (r *Request) slice(lo, hi int) *Request {
	n := hi - lo
	args := r.body[r.offs[lo]:r.rowEnd(hi-1)]
	hl := r.l.headLen(n)
	body := make([]byte, hl+len(args)+len(r.l.tail))
	r.l.putHead(body[:hl], n)
	copy(body[hl:], args)
	copy(body[hl+len(args):], r.l.tail)
	offs := make([]int, n)
	for i := range offs {
		offs[i] = r.offs[lo+i] - r.offs[lo] + hl
	}
	return &Request{l: r.l, body: body, refs: r.refs[lo:hi:hi], offs: offs}
}
