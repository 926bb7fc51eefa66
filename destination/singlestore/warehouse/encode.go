package warehouse

import (
	"errors"
	"fmt"
	"strconv"

	"github.com/s2segment/s2segment/internal/jsontext"
)

// Conflict names the values of one table column (or _unmapped key) that
// went to _unmapped for one reason.
type Conflict struct {
	Table  string `json:"table"`
	Column string `json:"column"`
	Reason string `json:"reason"`
}

// ErrRowUnwritable is wrapped by the error of a row whose id or
// received_at its table's columns cannot hold.
var ErrRowUnwritable = errors.New("row cannot be written")

// Encoder encodes rows of one table as Data API argument lists for a
// fixed list of the table's columns. It is not safe for concurrent use.
type Encoder struct {
	table *Table
	cols  []int // table column indexes, in argument order
	pos   []int // by table column: the argument index, or -1
	// scratch, reused between rows
	args  [][]byte
	buf   []byte
	unmap []Unmapped
}

// Columns returns the column list an Encoder for rows uses: every column
// of t that one of the rows has a value for, and _unmapped, in t's column
// order.
func Columns(t *Table, rows []*Row) []string {
	used := make([]bool, len(t.Columns))
	for _, r := range rows {
		for _, f := range r.Fields {
			if i := t.Column(f.Column); i >= 0 {
				used[i] = true
			}
		}
	}
	if i := t.Column(ColumnUnmapped); i >= 0 {
		used[i] = true
	}
	var out []string
	for i, u := range used {
		if u {
			out = append(out, t.Columns[i].Name)
		}
	}
	return out
}

// NewEncoder returns an Encoder of rows of t for the columns cols (which t
// must have).
func NewEncoder(t *Table, cols []string) (*Encoder, error) {
	e := &Encoder{table: t, pos: make([]int, len(t.Columns))}
	for i := range e.pos {
		e.pos[i] = -1
	}
	for j, c := range cols {
		i := t.Column(c)
		if i < 0 {
			return nil, fmt.Errorf("encoding rows of %s: no column %q", t.Name, c)
		}
		e.pos[i] = j
		e.cols = append(e.cols, i)
	}
	e.args = make([][]byte, len(cols))
	return e, nil
}

// Append appends r's arguments, comma-separated JSON values in column
// order, to dst (the row form package batch packs). A value its column
// cannot hold, and one without a column (the table is at its cap), goes to
// the _unmapped object; a row whose id or received_at cannot be written is
// an error wrapping ErrRowUnwritable.
func (e *Encoder) Append(dst []byte, r *Row) ([]byte, error) {
	for j := range e.args {
		e.args[j] = nil
	}
	e.buf = e.buf[:0]
	e.unmap = append(e.unmap[:0], r.Unmapped...)
	type span struct{ j, lo, hi int }
	var spans [16]span
	sp := spans[:0]
	for _, f := range r.Fields {
		i := e.table.Column(f.Column)
		if i < 0 {
			if f.Std != TypeUnknown && (f.Column == ColumnID || f.Column == ColumnReceivedAt) {
				return dst, fmt.Errorf("table %s has no column %s: %w", e.table.Name, f.Column, ErrRowUnwritable)
			}
			e.conflict(ReasonColumnCap, f)
			continue
		}
		j := e.pos[i]
		if j < 0 {
			return dst, fmt.Errorf("encoding a row of %s: column %s is not in the request", e.table.Name, f.Column)
		}
		c := e.table.Columns[i]
		t := c.Type
		if t == TypeID {
			t = TypeText
		}
		lo := len(e.buf)
		var ok bool
		e.buf, ok = appendArg(e.buf, t, c.Limit, f.Value)
		if !ok {
			if f.Column == ColumnID || f.Column == ColumnReceivedAt {
				return dst, fmt.Errorf("column %s.%s (%s) cannot hold the row's %s: %w", e.table.Name, f.Column, c.Type, f.Column, ErrRowUnwritable)
			}
			e.conflict(ReasonType, f)
			continue
		}
		sp = append(sp, span{j, lo, len(e.buf)})
	}
	for _, s := range sp {
		e.args[s.j] = e.buf[s.lo:s.hi]
	}
	if i := e.table.Column(ColumnUnmapped); i >= 0 && len(e.unmap) > 0 {
		lo := len(e.buf)
		e.buf = appendUnmapped(e.buf, e.unmap)
		e.args[e.pos[i]] = e.buf[lo:]
	}
	for j := range e.args {
		if j > 0 {
			dst = append(dst, ',')
		}
		if e.args[j] == nil {
			dst = append(dst, "null"...)
		} else {
			dst = append(dst, e.args[j]...)
		}
	}
	return dst, nil
}

// conflict sends f's value to _unmapped under its column's name.
func (e *Encoder) conflict(reason string, f Field) {
	raw := f.Value.Raw
	if raw == "" && f.Value.Kind == KindTime { // a computed time (uuid_ts, timestamp)
		raw = string(appendDateTime(nil, f.Value.Time))
	}
	e.unmap = append(e.unmap, Unmapped{Key: f.Column, Raw: raw, Reason: reason})
}

// Conflicts reports the unmapped values of the last row appended, in the
// order they went to _unmapped, to f: those found by Rows (no name,
// standard column, …) and those found by the encoder (type, cap).
func (e *Encoder) Conflicts(table string, f func(Conflict)) {
	for _, u := range e.unmap {
		f(Conflict{Table: table, Column: u.Key, Reason: u.Reason})
	}
}

// appendUnmapped appends the _unmapped object. A key that comes again
// (from an event that repeats a key, or a value whose column name equals
// another value's key) is written as key#2, key#3, …, so no value is lost.
func appendUnmapped(dst []byte, us []Unmapped) []byte {
	dst = append(dst, '{')
	for i, u := range us {
		if i > 0 {
			dst = append(dst, ',')
		}
		n := 1
		for _, prev := range us[:i] {
			if prev.Key == u.Key {
				n++
			}
		}
		key := u.Key
		if n > 1 {
			key += "#" + strconv.Itoa(n)
		}
		dst = jsontext.AppendString(dst, key)
		dst = append(dst, ':')
		dst = append(dst, u.Raw...)
	}
	return append(dst, '}')
}
