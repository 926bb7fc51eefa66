package gms

import (
	"context"
	"fmt"

	"github.com/dolthub/go-mysql-server/sql"
	"github.com/dolthub/go-mysql-server/sql/types"
)

// ExactJSONFunc names a function the engine gains: s2_exact_json(text) is a
// JSON value that keeps text byte for byte. go-mysql-server parses JSON
// text into Go values (numbers into float64), so a JSON column given a
// plain string stores 123456789012345678901234567890 as
// 1.2345678901234568e+29; a value from s2_exact_json is stored and answered
// as it was written, while JSON functions still read it.
const ExactJSONFunc = "s2_exact_json"

// exactJSON is the s2_exact_json expression.
type exactJSON struct{ arg sql.Expression }

var _ sql.FunctionExpression = exactJSON{}

func newExactJSON(e sql.Expression) sql.Expression { return exactJSON{e} }

func (e exactJSON) FunctionName() string { return ExactJSONFunc }
func (e exactJSON) Description() string {
	return "returns its argument as a JSON value that keeps the text as written"
}
func (e exactJSON) Resolved() bool             { return e.arg.Resolved() }
func (e exactJSON) String() string             { return fmt.Sprintf("%s(%s)", ExactJSONFunc, e.arg) }
func (e exactJSON) Type() sql.Type             { return types.JSON }
func (e exactJSON) IsNullable() bool           { return e.arg.IsNullable() }
func (e exactJSON) Children() []sql.Expression { return []sql.Expression{e.arg} }
func (e exactJSON) WithChildren(c ...sql.Expression) (sql.Expression, error) {
	if len(c) != 1 {
		return nil, sql.ErrInvalidChildrenNumber.New(e, len(c), 1)
	}
	return exactJSON{c[0]}, nil
}

// Eval checks the argument as the engine checks JSON text and keeps its
// bytes. Values that are
// already JSON (or numbers, say) take the engine's own conversion.
func (e exactJSON) Eval(ctx *sql.Context, row sql.Row) (any, error) {
	v, err := e.arg.Eval(ctx, row)
	if err != nil || v == nil {
		return v, err
	}
	var b []byte
	switch x := v.(type) {
	case string:
		b = []byte(x)
	case []byte:
		b = append([]byte(nil), x...)
	default:
		doc, _, err := types.JSON.Convert(ctx, v)
		return doc, err
	}
	// The engine's own conversion judges the text, so whatever it refuses
	// (invalid JSON, numbers no float64 holds such as 1e400) is refused
	// with its error; only the stored text is the one given.
	if _, _, err := types.JSON.Convert(ctx, b); err != nil {
		return nil, err
	}
	return exactDoc(b), nil
}

// exactDoc is a JSON document kept as its text. The engine reads it
// through ToInterface, parsed anew each time and not kept, so a stored row
// costs its text's size; go-mysql-server's own LazyJSONDocument keeps the
// parsed value once anything (the in-memory table's partition hash does,
// through String) has asked for it.
type exactDoc []byte

var (
	_ sql.JSONWrapper = exactDoc(nil)
	_ types.JSONBytes = exactDoc(nil)
)

// Clone implements sql.JSONWrapper; the text is never changed in place.
func (d exactDoc) Clone(context.Context) sql.JSONWrapper { return d }

// ToInterface implements sql.JSONWrapper.
func (d exactDoc) ToInterface() (any, error) {
	doc, _, err := types.JSON.Convert(context.Background(), []byte(d))
	if err != nil {
		return nil, err
	}
	return doc.(sql.JSONWrapper).ToInterface()
}

// GetBytes implements types.JSONBytes: the engine answers these bytes.
func (d exactDoc) GetBytes() ([]byte, error) { return d, nil }

// String is the text, as given.
func (d exactDoc) String() string { return string(d) }
