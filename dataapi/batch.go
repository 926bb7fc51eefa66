package dataapi

import (
	"context"
	"errors"
	"fmt"
	"strings"
)

// Batch is a multi-row statement that can be halved: *batch.Request of this
// module's batch package satisfies Batch[*batch.Request].
type Batch[B any] interface {
	// Body is the request body, {"sql":…,"args":[…]}.
	Body() []byte
	// Len is the number of rows.
	Len() int
	// Split returns the first half of the rows and the rest, each with its
	// own body. It is only called when Len() ≥ 2.
	Split() (B, B)
}

// BatchResult is the outcome of [ExecBatch], row by row.
type BatchResult struct {
	// Errs holds one entry per row, in the batch's row order: nil when the
	// row was written, otherwise why not.
	Errs []error
	// RowsAffected sums the server's rowsAffected over the requests that
	// succeeded.
	RowsAffected int64
	// Requests counts the exec calls made (each with its own retries).
	Requests int
	// Splits counts the times a too-large body was halved.
	Splits int
	// Bisections counts the times a batch was halved to find the rows
	// behind a row-level error.
	Bisections int
}

// Failed returns the number of rows that were not written.
func (r BatchResult) Failed() int {
	n := 0
	for _, err := range r.Errs {
		if err != nil {
			n++
		}
	}
	return n
}

// Err returns the first row's error, or nil when every row was written.
func (r BatchResult) Err() error {
	for _, err := range r.Errs {
		if err != nil {
			return err
		}
	}
	return nil
}

// ExecBatch writes b with c.ExecBody and reports a result per row. When the
// server refuses the body as too large (ErrRequestTooLarge: a 413, or a 400
// saying the request body is too large), the batch is split in halves and
// each half is written the same way, down to single rows; a single row that
// is still too large fails alone with an error that says so and matches
// ErrRequestTooLarge.
//
// When the server refuses the statement because of a value in it (a
// row-level error: see RowLevel), the batch is bisected the same way until
// the rows at fault fail alone and every other row is written, so one bad
// row never costs its neighbours. A 400 SQL error that is neither known to
// be row-level nor known to be about the statement (see StatementLevel; an
// engine's generic errno 1105, say) is probed: both halves are tried once,
// and when one of them is written the error evidently depends on the rows,
// so the other half is bisected too; when both fail, every row gets the
// error. Probing costs at most two extra requests for a statement-level
// error.
//
// Any other failure (authentication, a missing table, a server still down
// after the retries) is the error of every row of the (sub-)batch that got
// it. Once ctx is done the rows not yet written get ctx's error.
func ExecBatch[B Batch[B]](ctx context.Context, c *Client, b B) BatchResult {
	res := BatchResult{Errs: make([]error, b.Len())}
	execPart(ctx, c, b, res.Errs, &res, modeFirst)
	return res
}

// splitMode says what execPart does with an ambiguous SQL error.
type splitMode uint8

const (
	modeFirst  splitMode = iota // probe both halves
	modeProbe                   // fail the rows: this half is being probed
	modeBisect                  // split: the error depends on the rows
)

// execPart writes b and reports whether any of its rows failed.
func execPart[B Batch[B]](ctx context.Context, c *Client, b B, errs []error, res *BatchResult, mode splitMode) bool {
	n := b.Len()
	if n == 0 {
		return false
	}
	if err := ctx.Err(); err != nil {
		setAll(errs, fmt.Errorf("dataapi: writing batch: %w", err))
		return true
	}
	res.Requests++
	out, err := c.ExecBody(ctx, b.Body())
	switch {
	case err == nil:
		res.RowsAffected += out.RowsAffected
		return false
	case errors.Is(err, ErrRequestTooLarge) && n == 1:
		errs[0] = fmt.Errorf("dataapi: writing row: a request holding only this row (%d bytes) is too large for the Data API: %w",
			len(b.Body()), err)
		return true
	case n == 1:
		errs[0] = err
		return true
	}
	tooLarge := errors.Is(err, ErrRequestTooLarge)
	ambiguous := !tooLarge && !RowLevel(err) && sqlError(err) && !StatementLevel(err)
	if !tooLarge && !RowLevel(err) && !(ambiguous && mode != modeProbe) {
		setAll(errs, err)
		return true
	}
	first, rest := b.Split()
	if first.Len() < 1 || rest.Len() < 1 || first.Len()+rest.Len() != n {
		setAll(errs, fmt.Errorf("dataapi: splitting batch: halves of %d and %d rows from %d: %w",
			first.Len(), rest.Len(), n, err))
		return true
	}
	if tooLarge {
		c.splits.Add(1)
		res.Splits++
	} else {
		res.Bisections++
	}
	k := first.Len()
	if !ambiguous || mode == modeBisect {
		f1 := execPart(ctx, c, first, errs[:k], res, mode)
		f2 := execPart(ctx, c, rest, errs[k:], res, mode)
		return f1 || f2
	}
	// Probe: try each half once as it is.
	f1 := execPart(ctx, c, first, errs[:k], res, modeProbe)
	f2 := execPart(ctx, c, rest, errs[k:], res, modeProbe)
	switch {
	case f1 && !f2:
		clear(errs[:k])
		return execPart(ctx, c, first, errs[:k], res, modeBisect)
	case f2 && !f1:
		clear(errs[k:])
		return execPart(ctx, c, rest, errs[k:], res, modeBisect)
	}
	return f1 || f2
}

func setAll(errs []error, err error) {
	for i := range errs {
		errs[i] = err
	}
}

// rowLevelErrnos are MySQL errors caused by one value of a statement whose
// SQLSTATE is not in the data-exception or integrity classes.
var rowLevelErrnos = map[int]bool{
	1366: true, // Incorrect string/integer value
	1367: true, // Illegal value found during parsing
	1292: true, // Truncated incorrect value / incorrect datetime value
	1406: true, // Data too long for column
	1264: true, // Out of range value
	1048: true, // Column cannot be null
	3140: true, // Invalid JSON text
	4025: true, // CONSTRAINT failed (MariaDB)
}

// statementErrnos are MySQL errors about the statement, the session or the
// schema, never about one row's values.
var statementErrnos = map[int]bool{
	1044: true, // access denied to the database
	1045: true, // access denied for the user
	1046: true, // no database selected
	1049: true, // unknown database
	1051: true, // unknown table
	1054: true, // unknown column
	1064: true, // syntax error
	1109: true, // unknown table in a clause
	1136: true, // column count does not match the value count
	1142: true, // command denied to the user
	1146: true, // table does not exist
	1149: true, // syntax error
	1227: true, // access denied, missing privilege
}

// StatementLevel reports whether err is a SQL error about the statement,
// the session or the schema (a missing table or database, a syntax error,
// a missing privilege), which no subset of the rows can avoid: ExecBatch
// never splits a batch over one.
func StatementLevel(err error) bool {
	var ae *APIError
	if !errors.As(err, &ae) || ae.Errno == 0 {
		return false
	}
	return statementErrnos[ae.Errno] || strings.HasPrefix(ae.SQLState, "42")
}

// sqlError reports whether err is a 400 carrying a MySQL error number.
func sqlError(err error) bool {
	var ae *APIError
	return errors.As(err, &ae) && ae.StatusCode == 400 && ae.Errno != 0
}

// RowLevel reports whether err is a statement refused because of a value in
// it rather than because of the statement, the session or the server: a
// 400 whose SQLSTATE is in class 22 (data exception) or 23 (integrity
// constraint violation), or whose MySQL error number is one of the
// value errors (1366, 1292, 1406, 1264, 1048, 3140 …). Rewriting the same
// statement without the offending row would succeed, which is why
// ExecBatch bisects on it.
func RowLevel(err error) bool {
	var ae *APIError
	if !errors.As(err, &ae) || ae.StatusCode != 400 || ae.Errno == 0 {
		return false
	}
	if strings.HasPrefix(ae.SQLState, "22") || strings.HasPrefix(ae.SQLState, "23") {
		return true
	}
	return rowLevelErrnos[ae.Errno]
}
