package batch_test

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/s2segment/s2segment/batch"
)

// envelope is the body of a request, built independently of the Packer.
type envelope struct {
	SQL      string            `json:"sql"`
	Database string            `json:"database,omitempty"`
	Args     []json.RawMessage `json:"args"`
}

// wantSQL is the SQL text of an n-row request, built independently.
func wantSQL(cfg batch.Config, n int) string {
	group := "(" + strings.TrimSuffix(strings.Repeat("?, ", cfg.Columns), ", ") + ")"
	groups := make([]string, n)
	for i := range groups {
		groups[i] = group
	}
	return cfg.Prefix + strings.Join(groups, ", ") + cfg.Suffix
}

// splitRow returns the values of a row.
func splitRow(t testing.TB, row []byte) []json.RawMessage {
	t.Helper()
	var vals []json.RawMessage
	if err := json.Unmarshal([]byte("["+string(row)+"]"), &vals); err != nil {
		t.Fatalf("test row %q is not a list of JSON values: %v", row, err)
	}
	return vals
}

// marshalBody is the body json.Marshal gives for rows. Rows must be compact
// JSON made by json.Marshal, so that marshalling them again changes nothing.
func marshalBody(t testing.TB, cfg batch.Config, rows [][]byte) []byte {
	t.Helper()
	env := envelope{SQL: wantSQL(cfg, len(rows)), Database: cfg.Database, Args: []json.RawMessage{}}
	for _, r := range rows {
		env.Args = append(env.Args, splitRow(t, r)...)
	}
	b, err := json.Marshal(env)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// makeRow returns a compact row of cols values whose text is about size
// bytes long, with strings, numbers, nulls and a nested object.
func makeRow(r *rand.Rand, cols, size int) []byte {
	vals := make([]any, cols)
	per := max(size/cols, 1)
	for i := range vals {
		switch i % 4 {
		case 0:
			vals[i] = randString(r, per)
		case 1:
			vals[i] = r.Int64()
		case 2:
			if r.IntN(3) == 0 {
				vals[i] = nil
			} else {
				vals[i] = randString(r, per)
			}
		case 3:
			vals[i] = map[string]any{"plan": randString(r, per/2), "n": r.IntN(1000), "ok": true,
				"tags": []string{"a", "b\"c"}}
		}
	}
	b, err := json.Marshal(vals)
	if err != nil {
		panic(err)
	}
	return b[1 : len(b)-1]
}

const alphabet = "abcdefghijklmnopqrstuvwxyz ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789\"\\/\n\t<>&é中😀"

func randString(r *rand.Rand, n int) string {
	rs := []rune(alphabet)
	var sb strings.Builder
	for sb.Len() < n {
		sb.WriteRune(rs[r.IntN(len(rs))])
	}
	return sb.String()
}

// pack adds every row and returns the requests and the refs refused.
func pack(t testing.TB, p *batch.Packer, rows [][]byte) (reqs []*batch.Request, refused map[int]error) {
	t.Helper()
	refused = map[int]error{}
	for i, row := range rows {
		full, err := p.Add(row, i)
		if err != nil {
			refused[i] = err
			continue
		}
		if full != nil {
			reqs = append(reqs, full)
		}
	}
	if last := p.Flush(); last != nil {
		reqs = append(reqs, last)
	}
	return reqs, refused
}

// checkRequest checks that a request's body is what json.Marshal makes of
// its rows, that it decodes back to the same SQL and args, and that Row
// returns each row.
func checkRequest(t testing.TB, cfg batch.Config, r *batch.Request, rows [][]byte) {
	t.Helper()
	if r.Len() != len(r.Refs()) {
		t.Fatalf("Len() = %d, but %d refs", r.Len(), len(r.Refs()))
	}
	var own [][]byte
	for i, ref := range r.Refs() {
		if got := string(r.Row(i)); got != string(rows[ref]) {
			t.Fatalf("Row(%d) = %q, want row %d %q", i, got, ref, rows[ref])
		}
		own = append(own, rows[ref])
	}
	want := marshalBody(t, cfg, own)
	if string(r.Body()) != string(want) {
		t.Fatalf("body differs from json.Marshal of its rows:\n got %s\nwant %s", r.Body(), want)
	}
	var env envelope
	if err := json.Unmarshal(r.Body(), &env); err != nil {
		t.Fatalf("body is not JSON: %v", err)
	}
	if env.SQL != wantSQL(cfg, len(own)) || env.Database != cfg.Database {
		t.Fatalf("body decodes to sql %q database %q", env.SQL, env.Database)
	}
	if n := len(env.Args); n != cfg.Columns*len(own) {
		t.Fatalf("body has %d args, want %d", n, cfg.Columns*len(own))
	}
}

func refsString(reqs []*batch.Request) string {
	var parts []string
	for _, r := range reqs {
		parts = append(parts, fmt.Sprint(r.Refs()))
	}
	return strings.Join(parts, " ")
}

func jsonValid(b []byte) bool { return json.Valid(b) }
