package replay

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"sync"

	"github.com/s2segment/s2segment/batch"
	"github.com/s2segment/s2segment/dataapi"
	"github.com/s2segment/s2segment/destination/singlestore"
)

// DryRun is a singlestore.Executor that sends nothing: ExecBatch writes the
// request body it is given to its writer as one line and reports every row
// written; Exec (the table's DDL) writes nothing and succeeds. It is safe for
// concurrent use; bodies are written whole, one per line, in the order
// ExecBatch is called.
//
// A body holds the events' JSON text as it was read, so a pretty-printed
// event brings newlines into it. Outside JSON strings those can only be
// white space between tokens (inside strings they are always escaped), so
// DryRun writes each CR or LF byte as a space: the line is the same JSON
// value, byte for byte as long as the body sent would be.
type DryRun struct {
	mu       sync.Mutex
	w        *bufio.Writer
	scratch  []byte // a body whose line breaks are being replaced
	err      error
	requests int64
	bytes    int64
	rows     int64
}

var _ singlestore.Executor = (*DryRun)(nil)

// ErrDryRunOutput is wrapped by the error of the rows of a body that could
// not be written to the output.
var ErrDryRunOutput = errors.New("writing the dry-run output")

// NewDryRun returns a DryRun writing to w. Call Flush at the end.
func NewDryRun(w io.Writer) *DryRun {
	return &DryRun{w: bufio.NewWriterSize(w, 256<<10)}
}

// Exec writes nothing and succeeds: only INSERT bodies are written.
func (d *DryRun) Exec(context.Context, string, ...any) (dataapi.ExecResult, error) {
	return dataapi.ExecResult{}, nil
}

// ExecBatch writes req's body as one line. Every row succeeds, unless the
// output cannot be written (then every row gets that error), or ctx is done.
func (d *DryRun) ExecBatch(ctx context.Context, req *batch.Request) dataapi.BatchResult {
	n := req.Len()
	res := dataapi.BatchResult{Errs: make([]error, n)}
	fail := func(err error) dataapi.BatchResult {
		for i := range res.Errs {
			res.Errs[i] = err
		}
		return res
	}
	if err := ctx.Err(); err != nil {
		return fail(err)
	}
	body := req.Body()
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.err == nil {
		d.err = d.writeLine(body)
	}
	if d.err != nil {
		return fail(fmt.Errorf("%w: %w", ErrDryRunOutput, d.err))
	}
	d.requests++
	d.bytes += int64(len(body))
	d.rows += int64(n)
	res.Requests = 1
	res.RowsAffected = int64(n)
	return res
}

// writeLine writes body with CR and LF as spaces, then a newline. Most
// bodies have neither, which two vectorised searches tell quickly; the
// others are copied into scratch and fixed there.
func (d *DryRun) writeLine(body []byte) error {
	if bytes.IndexByte(body, '\n') >= 0 || bytes.IndexByte(body, '\r') >= 0 {
		d.scratch = append(d.scratch[:0], body...)
		for i, c := range d.scratch {
			if c == '\n' || c == '\r' {
				d.scratch[i] = ' '
			}
		}
		body = d.scratch
	}
	if _, err := d.w.Write(body); err != nil {
		return err
	}
	return d.w.WriteByte('\n')
}

// Flush writes out what is buffered and returns the first write error.
func (d *DryRun) Flush() error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.err == nil {
		d.err = d.w.Flush()
	}
	return d.err
}

// Stats returns what would have been sent: bodies written, their bytes, and
// their rows as RowsAffected.
func (d *DryRun) Stats() Transport {
	d.mu.Lock()
	defer d.mu.Unlock()
	return Transport{Requests: d.requests, BytesSent: d.bytes, RowsAffected: d.rows}
}

// Counting is a singlestore.Executor that passes everything to another one
// and adds up the rows the server reports as affected, which for a table
// with a unique key are the rows that were new.
type Counting struct {
	singlestore.Executor
	mu   sync.Mutex
	rows int64
}

// NewCounting wraps exec.
func NewCounting(exec singlestore.Executor) *Counting { return &Counting{Executor: exec} }

// ExecBatch calls the wrapped ExecBatch and counts its RowsAffected.
func (c *Counting) ExecBatch(ctx context.Context, req *batch.Request) dataapi.BatchResult {
	res := c.Executor.ExecBatch(ctx, req)
	c.mu.Lock()
	c.rows += res.RowsAffected
	c.mu.Unlock()
	return res
}

// RowsAffected returns the sum of the rows affected so far.
func (c *Counting) RowsAffected() int64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.rows
}
