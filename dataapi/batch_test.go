package dataapi

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// rowsBatch is a one-column batch whose rows are JSON values.
type rowsBatch struct{ rows []string }

func (b *rowsBatch) Body() []byte {
	groups := strings.TrimSuffix(strings.Repeat("(?), ", len(b.rows)), ", ")
	return []byte(`{"sql":"INSERT INTO t VALUES ` + groups + `","args":[` + strings.Join(b.rows, ",") + `]}`)
}
func (b *rowsBatch) Len() int { return len(b.rows) }
func (b *rowsBatch) Split() (*rowsBatch, *rowsBatch) {
	h := len(b.rows) / 2
	return &rowsBatch{b.rows[:h]}, &rowsBatch{b.rows[h:]}
}

// limited answers like the Data API behind a body limit: too-large bodies
// get tooLarge, a "bad" arg a SQL error, and the rest are written.
func limited(limit int, tooLarge step) step {
	return func(w http.ResponseWriter, r *http.Request, body []byte) {
		if len(body) > limit {
			tooLarge(w, r, body)
			return
		}
		var stmt struct{ Args []json.RawMessage }
		if err := json.Unmarshal(body, &stmt); err != nil {
			status(400, "Error 1064: bad body")(w, r, body)
			return
		}
		for _, a := range stmt.Args {
			if string(a) == `"bad"` {
				status(400, "Error 1366 (HY000): Incorrect string value: 'bad'")(w, r, body)
				return
			}
		}
		ok(fmt.Sprintf(`{"lastInsertId":0,"rowsAffected":%d}`, len(stmt.Args)))(w, r, body)
	}
}

// generic answers like an engine that reports a bad value with its generic
// errno 1105: any request holding the arg bad fails.
func generic(bad string) step {
	return func(w http.ResponseWriter, r *http.Request, body []byte) {
		var stmt struct{ Args []json.RawMessage }
		_ = json.Unmarshal(body, &stmt)
		for _, a := range stmt.Args {
			if string(a) == bad {
				status(400, "Error 1105 (HY000): Invalid JSON text: cannot unmarshal number")(w, r, body)
				return
			}
		}
		ok(fmt.Sprintf(`{"lastInsertId":0,"rowsAffected":%d}`, len(stmt.Args)))(w, r, body)
	}
}

func rows(n, size int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf(`"%d-%s"`, i, strings.Repeat("x", size))
	}
	return out
}

func TestExecBatch(t *testing.T) {
	too413 := status(413, "")
	too400 := status(400, "Error reading request body: http: request body too large")
	huge := `"` + strings.Repeat("h", 600) + `"`
	tests := []struct {
		name     string
		rows     []string
		server   step
		requests int // exec calls
		splits   int
		bisects  int
		written  []bool
		tooLarge []int // rows that failed as too large
	}{
		{name: "fits in one request", rows: rows(8, 10), server: limited(1000, too413), requests: 1, written: repeat(true, 8)},
		{name: "413 splits down to what fits", rows: rows(8, 50), server: limited(250, too413),
			requests: 7, splits: 3, written: repeat(true, 8)},
		{name: "400 request body too large splits too", rows: rows(8, 50), server: limited(250, too400),
			requests: 7, splits: 3, written: repeat(true, 8)},
		{name: "one row too large fails alone", rows: []string{`"a"`, `"b"`, huge, `"c"`}, server: limited(500, too413),
			requests: 5, splits: 2, written: []bool{true, true, false, true}, tooLarge: []int{2}},
		{name: "row-level SQL error is bisected down to the bad row", rows: []string{`"a"`, `"bad"`, `"c"`}, server: limited(1000, too413),
			requests: 5, bisects: 2, written: []bool{true, false, true}},
		{name: "two bad rows fail alone", rows: []string{`"bad"`, `"b"`, `"c"`, `"bad"`}, server: limited(1000, too413),
			requests: 7, bisects: 3, written: []bool{false, true, true, false}},
		{name: "row-level error after a size split", rows: []string{`"a-long-enough"`, `"b-long-enough"`, `"bad"`, `"c-long-enough"`},
			server: limited(80, too413), requests: 5, splits: 1, bisects: 1, written: []bool{true, true, false, true}},
		{name: "statement-level SQL error fails every row without bisecting", rows: rows(4, 5),
			server: status(400, "Error 1146 (42S02): Table 'db.t' doesn't exist"), requests: 1, written: repeat(false, 4)},
		{name: "generic SQL error that fails every half stops after probing", rows: rows(8, 5),
			server: status(400, "Error 1105 (HY000): unknown error"), requests: 3, bisects: 1, written: repeat(false, 8)},
		{name: "generic SQL error caused by one row is bisected down to it", rows: []string{`"a"`, `"b"`, `"c"`, `"d"`, `"e"`, `"odd"`, `"g"`, `"h"`},
			server: generic(`"odd"`), requests: 8, bisects: 3, written: []bool{true, true, true, true, true, false, true, true}},
		{name: "empty batch sends nothing", rows: nil, server: limited(1000, too413), requests: 0, written: []bool{}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := &fakeAPI{steps: []step{tc.server}}
			c, _, _ := serve(t, f, nil)
			res := ExecBatch(context.Background(), c, &rowsBatch{tc.rows})
			require.Len(t, res.Errs, len(tc.rows))
			var written []bool
			var affected int64
			for i, err := range res.Errs {
				written = append(written, err == nil)
				if err == nil {
					affected++
				}
				tooLarge := contains(tc.tooLarge, i)
				assert.Equal(t, tooLarge, err != nil && strings.Contains(err.Error(), "a request holding only this row"), "row %d: %v", i, err)
				if tooLarge {
					assert.ErrorIs(t, err, ErrRequestTooLarge)
				}
			}
			if written == nil {
				written = []bool{}
			}
			assert.Equal(t, tc.written, written)
			assert.Equal(t, affected, res.RowsAffected)
			assert.Equal(t, tc.requests, res.Requests)
			assert.Equal(t, tc.requests, f.attempts())
			assert.Equal(t, tc.splits, res.Splits)
			assert.Equal(t, tc.bisects, res.Bisections)
			assert.Equal(t, int64(tc.splits), c.Stats().Splits)
			assert.Equal(t, len(tc.rows)-int(affected), res.Failed())
			if res.Failed() > 0 {
				assert.Error(t, res.Err())
			} else {
				assert.NoError(t, res.Err())
			}
		})
	}
}

func TestExecBatchRetriesAHalf(t *testing.T) {
	var calls atomic.Int32
	f := &fakeAPI{steps: []step{func(w http.ResponseWriter, r *http.Request, b []byte) {
		if calls.Add(1) == 2 { // the first half's first attempt
			status(503, "")(w, r, b)
			return
		}
		limited(150, status(413, ""))(w, r, b)
	}}}
	c, clock, _ := serve(t, f, nil)
	res := ExecBatch(context.Background(), c, &rowsBatch{rows(4, 30)})
	assert.NoError(t, res.Err())
	assert.Equal(t, 3, res.Requests)
	assert.Equal(t, 4, f.attempts())
	assert.Len(t, clock.slept(), 1)
	var sent int64
	for _, r := range f.all() {
		sent += int64(len(r.body))
	}
	// The 413 answer is the one failed call; its halves were written.
	assert.Equal(t, Stats{Requests: 4, Retries: 1, Splits: 1, BytesSent: sent, Failures: 1}, c.Stats())
}

func TestExecBatchStopsWhenContextIsDone(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	f := &fakeAPI{steps: []step{func(w http.ResponseWriter, r *http.Request, b []byte) {
		cancel()
		status(413, "")(w, r, b)
	}}}
	c, _, _ := serve(t, f, nil)
	res := ExecBatch(ctx, c, &rowsBatch{rows(4, 1)})
	assert.Equal(t, 1, f.attempts())
	for _, err := range res.Errs {
		assert.ErrorIs(t, err, context.Canceled)
	}
}

// badSplit is a batch whose Split loses a row.
type badSplit struct{ rowsBatch }

func (b *badSplit) Split() (*badSplit, *badSplit) {
	return &badSplit{rowsBatch{b.rows[:1]}}, &badSplit{rowsBatch{b.rows[1:2]}}
}

func TestExecBatchChecksSplit(t *testing.T) {
	f := &fakeAPI{steps: []step{status(413, "")}}
	c, _, _ := serve(t, f, nil)
	res := ExecBatch(context.Background(), c, &badSplit{rowsBatch{rows(3, 1)}})
	for _, err := range res.Errs {
		assert.ErrorContains(t, err, "splitting batch: halves of 1 and 1 rows from 3")
		assert.ErrorIs(t, err, ErrRequestTooLarge)
	}
}

func repeat(v bool, n int) []bool {
	out := make([]bool, n)
	for i := range out {
		out[i] = v
	}
	return out
}

func contains(s []int, v int) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}

func TestExecBatchThroughRetryPaths(t *testing.T) {
	tests := []struct {
		name     string
		steps    []step
		attempts int
		check    func(t *testing.T, err error) // of every row; nil means written
	}{
		{"429 then written", []step{status(429, "", "Retry-After", "1"), execOK}, 2, nil},
		{"503 then written", []step{status(503, ""), execOK}, 2, nil},
		{"reset then written", []step{reset, execOK}, 2, nil},
		{"401 fails every row", []step{status(401, "Access denied")}, 1,
			func(t *testing.T, err error) { assert.ErrorIs(t, err, ErrUnauthorized) }},
		{"501 fails every row at once", []step{status(501, ""), execOK}, 1, apiStatus(501, false)},
		{"400 SQL error fails every row", []step{status(400, "Error 1054 (42S22): Unknown column 'x'")}, 1,
			func(t *testing.T, err error) {
				var ae *APIError
				require.ErrorAs(t, err, &ae)
				assert.Equal(t, 1054, ae.Errno)
			}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := &fakeAPI{steps: tc.steps}
			c, _, _ := serve(t, f, nil)
			res := ExecBatch(context.Background(), c, &rowsBatch{rows(3, 5)})
			assert.Equal(t, tc.attempts, f.attempts())
			require.Len(t, res.Errs, 3)
			for _, err := range res.Errs {
				if tc.check == nil {
					assert.NoError(t, err)
				} else {
					tc.check(t, err)
				}
			}
		})
	}
}

func TestStatementLevel(t *testing.T) {
	assert.True(t, StatementLevel(&APIError{StatusCode: 400, Errno: 1146, SQLState: "42S02"}))
	assert.True(t, StatementLevel(&APIError{StatusCode: 400, Errno: 1049}))
	assert.True(t, StatementLevel(&APIError{StatusCode: 400, Errno: 9999, SQLState: "42000"}))
	assert.False(t, StatementLevel(&APIError{StatusCode: 400, Errno: 1105, SQLState: "HY000"}))
	assert.False(t, StatementLevel(&APIError{StatusCode: 400}))
	assert.False(t, StatementLevel(context.Canceled))
}

func TestRowLevel(t *testing.T) {
	tests := []struct {
		err  error
		want bool
	}{
		{&APIError{StatusCode: 400, Errno: 1406, SQLState: "22001"}, true},
		{&APIError{StatusCode: 400, Errno: 1062, SQLState: "23000"}, true},
		{&APIError{StatusCode: 400, Errno: 1366, SQLState: "HY000"}, true},
		{&APIError{StatusCode: 400, Errno: 3140}, true},
		{&APIError{StatusCode: 400, Errno: 1146, SQLState: "42S02"}, false},
		{&APIError{StatusCode: 400, Errno: 1064, SQLState: "42000"}, false},
		{&APIError{StatusCode: 400}, false},
		{&APIError{StatusCode: 403, Errno: 1142, SQLState: "42000"}, false},
		{&APIError{StatusCode: 500, Errno: 1406, SQLState: "22001"}, false},
		{fmt.Errorf("writing: %w", &APIError{StatusCode: 400, Errno: 1292, SQLState: "22007"}), true},
		{context.Canceled, false},
	}
	for _, tc := range tests {
		assert.Equal(t, tc.want, RowLevel(tc.err), "%v", tc.err)
	}
}
