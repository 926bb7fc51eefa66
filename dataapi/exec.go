package dataapi

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
)

// ExecResult is the answer to a statement that returns no rows.
type ExecResult struct {
	LastInsertID int64 `json:"lastInsertId"`
	RowsAffected int64 `json:"rowsAffected"`
}

// Column describes one column of a [Tuples] result.
type Column struct {
	Name     string `json:"name"`
	DataType string `json:"dataType"`
	Nullable bool   `json:"nullable"`
}

// Tuples is a result set as columns and rows of values in column order.
// Values are kept as raw JSON, so big integers keep every digit.
type Tuples struct {
	Columns []Column            `json:"columns"`
	Rows    [][]json.RawMessage `json:"rows"`
}

// statement is a request body.
type statement struct {
	SQL      string `json:"sql"`
	Database string `json:"database,omitempty"`
	Args     []any  `json:"args,omitempty"`
}

// body encodes a statement with the Client's database.
func (c *Client) body(sql string, args []any) ([]byte, error) {
	b, err := json.Marshal(statement{SQL: sql, Database: c.cfg.Database, Args: args})
	if err != nil {
		return nil, fmt.Errorf("dataapi: encoding arguments: %w", err)
	}
	return b, nil
}

// Exec runs a statement that returns no rows (DDL, INSERT, UPDATE…) with
// args for its ? placeholders, encoded with encoding/json (pass
// json.RawMessage to send JSON as it is).
func (c *Client) Exec(ctx context.Context, sql string, args ...any) (ExecResult, error) {
	body, err := c.body(sql, args)
	if err != nil {
		return ExecResult{}, err
	}
	return c.ExecBody(ctx, body)
}

// ExecBody posts a pre-encoded {"sql":…,"database":…,"args":[…]} body to
// /api/v2/exec, as it is. A success answer must carry rowsAffected, as the
// Data API's always does; one without (a 200 "{}" from something else) is an
// error matching ErrUnexpectedResponse, since nothing says the statement ran.
func (c *Client) ExecBody(ctx context.Context, body []byte) (ExecResult, error) {
	ans, err := c.call(ctx, http.MethodPost, pathExec, body, true)
	if err != nil {
		return ExecResult{}, err
	}
	var out struct {
		LastInsertID int64           `json:"lastInsertId"`
		RowsAffected *int64          `json:"rowsAffected"`
		Error        json.RawMessage `json:"error"`
	}
	if err := c.decode(pathExec, ans, &out, &out.Error); err != nil {
		return ExecResult{}, err
	}
	if out.RowsAffected == nil {
		// Not the Data API's answer (a proxy's, a stand-in's): nothing says
		// the statement ran, so it must not count as written.
		c.failures.Add(1)
		return ExecResult{}, fmt.Errorf("dataapi: reading the answer of %s: %w: a success answer without rowsAffected: %s",
			pathExec, ErrUnexpectedResponse, c.redact(snippet(ans.body)))
	}
	return ExecResult{LastInsertID: out.LastInsertID, RowsAffected: *out.RowsAffected}, nil
}

// QueryRows runs a query and returns the rows of its first result set, each
// as column name → raw JSON value.
func (c *Client) QueryRows(ctx context.Context, sql string, args ...any) ([]map[string]json.RawMessage, error) {
	var out struct {
		Results []struct {
			Rows []map[string]json.RawMessage `json:"rows"`
		} `json:"results"`
		Error json.RawMessage `json:"error"`
	}
	if err := c.query(ctx, pathRows, sql, args, &out, &out.Error); err != nil {
		return nil, err
	}
	if len(out.Results) == 0 {
		return []map[string]json.RawMessage{}, nil
	}
	if out.Results[0].Rows == nil {
		return []map[string]json.RawMessage{}, nil
	}
	return out.Results[0].Rows, nil
}

// QueryTuples runs a query and returns its first result set as columns
// and rows of values.
func (c *Client) QueryTuples(ctx context.Context, sql string, args ...any) (*Tuples, error) {
	var out struct {
		Results []Tuples        `json:"results"`
		Error   json.RawMessage `json:"error"`
	}
	if err := c.query(ctx, pathTuples, sql, args, &out, &out.Error); err != nil {
		return nil, err
	}
	if len(out.Results) == 0 {
		return &Tuples{Columns: []Column{}, Rows: [][]json.RawMessage{}}, nil
	}
	t := out.Results[0]
	if t.Rows == nil {
		t.Rows = [][]json.RawMessage{}
	}
	return &t, nil
}

func (c *Client) query(ctx context.Context, path, sql string, args []any, out any, errField *json.RawMessage) error {
	body, err := c.body(sql, args)
	if err != nil {
		return err
	}
	ans, err := c.call(ctx, http.MethodPost, path, body, true)
	if err != nil {
		return err
	}
	return c.decode(path, ans, out, errField)
}

// decode reads a successful answer into out. A 200 answer holding an
// {"error":{…}} object is turned into a *APIError.
func (c *Client) decode(path string, ans *answer, out any, errField *json.RawMessage) error {
	if err := json.Unmarshal(ans.body, out); err != nil {
		c.failures.Add(1)
		return fmt.Errorf("dataapi: reading the answer of %s: %w: %v: %s", path, ErrUnexpectedResponse, err, c.redact(snippet(ans.body)))
	}
	if e := *errField; len(e) > 0 && !bytes.Equal(e, []byte("null")) {
		body := append(append([]byte(`{"error":`), e...), '}')
		c.failures.Add(1)
		return c.apiError(path, &answer{resp: ans.resp, body: body}, 1)
	}
	return nil
}

// Ping checks that the Data API answers GET /ping with "pong". It sends no
// credentials and makes one attempt.
func (c *Client) Ping(ctx context.Context) error {
	ans, err := c.attempt(ctx, http.MethodGet, pathPing, nil, false)
	if err != nil {
		c.failures.Add(1)
		return fmt.Errorf("dataapi: pinging: %w", err)
	}
	if ans.resp.StatusCode != http.StatusOK {
		c.failures.Add(1)
		return c.apiError(pathPing, ans, 1)
	}
	if got := bytes.TrimSpace(ans.body); string(got) != "pong" {
		c.failures.Add(1)
		return fmt.Errorf("dataapi: pinging: %w: body %q, expected \"pong\"", ErrUnexpectedResponse, c.redact(string(got[:min(len(got), 64)])))
	}
	return nil
}

// snippet quotes the start of an answer for an error message.
func snippet(body []byte) string {
	const n = 120
	if len(body) > n {
		return strconv.Quote(string(body[:n])) + "…"
	}
	return strconv.Quote(string(body))
}
