package emulator

import (
	"encoding/json"
	"errors"
	"math"
	"reflect"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestParseRequest(t *testing.T) {
	tests := []struct {
		name string
		body string
		want *request
		err  string // substring of the error; "" means success
	}{
		{name: "sql only", body: `{"sql":"SELECT 1"}`, want: &request{SQL: "SELECT 1"}},
		{name: "all fields", body: ` {"args":[1],"database":"Db","sql":"SELECT ?"} `, want: &request{SQL: "SELECT ?", Database: "Db", Args: []any{int64(1)}}},
		{name: "null database and args", body: `{"sql":"x","database":null,"args":null}`, want: &request{SQL: "x"}},
		{name: "empty args", body: `{"sql":"x","args":[]}`, want: &request{SQL: "x", Args: []any{}}},
		{name: "every arg type", body: `{"sql":"x","args":["s",true,false,null,-1,9223372036854775807,18446744073709551615,123456789012345678901234567890,1.5,0.1,1e3,1.23456789012345678901,1e400,{"a": [1, 2.50, 12345678901234567890]},[ ]]}`,
			want: &request{SQL: "x", Args: []any{"s", true, false, nil, int64(-1), int64(math.MaxInt64), uint64(math.MaxUint64),
				"123456789012345678901234567890", 1.5, 0.1, 1000.0, "1.23456789012345678901", "1e400",
				json.RawMessage(`{"a":[1,2.50,12345678901234567890]}`), json.RawMessage(`[]`)}}},
		{name: "negative beyond int64", body: `{"sql":"x","args":[-9223372036854775809]}`, want: &request{SQL: "x", Args: []any{"-9223372036854775809"}}},
		{name: "escaped strings", body: `{"sql":"SELECT \"\u00e9\n\"","args":["\ud83d\ude00"]}`, want: &request{SQL: "SELECT \"é\n\"", Args: []any{"😀"}}},

		{name: "empty", body: ``, err: "at byte 0: empty body"},
		{name: "not an object", body: `"sql"`, err: "want a JSON object"},
		{name: "truncated", body: `{"sql":"SELECT 1"`, err: "invalid JSON"},
		{name: "bad value", body: `{"sql":SELECT}`, err: `invalid JSON in field "sql"`},
		{name: "missing sql", body: `{"args":[]}`, err: `missing field "sql"`},
		{name: "sql wrong type", body: `{"sql":["SELECT 1"]}`, err: `field "sql" must be a string`},
		{name: "sql null", body: `{"sql":null}`, err: `field "sql" must be a string`},
		{name: "database wrong type", body: `{"sql":"x","database":1}`, err: `field "database" must be a string or null`},
		{name: "args wrong type", body: `{"sql":"x","args":"a"}`, err: `field "args" must be an array or null`},
		{name: "unknown field", body: `{"sql":"x","query":"y"}`, err: `unknown field "query"`},
		{name: "case matters", body: `{"SQL":"x"}`, err: `unknown field "SQL"`},
		{name: "duplicate database", body: `{"sql":"x","database":"a","database":"b"}`, err: `duplicate field "database"`},
		{name: "duplicate args", body: `{"sql":"x","args":[],"args":[]}`, err: `duplicate field "args"`},
		{name: "trailing object", body: `{"sql":"x"}{"sql":"y"}`, err: "unexpected data after the JSON object"},
		{name: "trailing garbage", body: `{"sql":"x"} ,`, err: "unexpected data after the JSON object"},
		{name: "invalid utf8 is replaced", body: "{\"sql\":\"\xff\"}", want: &request{SQL: "\ufffd"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseRequest([]byte(tt.body))
			if tt.err != "" {
				require.Error(t, err)
				assert.Contains(t, err.Error(), tt.err)
				var be *bodyError
				assert.True(t, errors.As(err, &be), "a *bodyError")
				assert.LessOrEqual(t, be.Offset, int64(len(tt.body)))
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.want, got)
		})
	}
}

func TestConvertNumber(t *testing.T) {
	tests := []struct {
		lit  string
		want any
	}{
		{"0", int64(0)}, {"-0", int64(0)}, {"42", int64(42)},
		{"-9223372036854775808", int64(math.MinInt64)},
		{"9223372036854775808", uint64(9223372036854775808)},
		{"18446744073709551616", "18446744073709551616"},
		{"0.5", 0.5}, {"-2.5e-3", -0.0025}, {"1E2", 100.0},
		{"123456789012345", int64(123456789012345)},
		{"1234567890.12345", 1234567890.12345},     // 15 significant digits: a double keeps them
		{"1234567890.123456", "1234567890.123456"}, // 16: kept as text
		{"0.000000000000000000001", 1e-21},
		{"9007199254740993.0", "9007199254740993.0"},
	}
	for _, tt := range tests {
		assert.Equal(t, tt.want, convertNumber(tt.lit), tt.lit)
	}
}

// FuzzParseRequest checks that no body makes the parser panic, that every
// failure is a *bodyError with an offset inside the body, and that every
// accepted body holds only the value types the driver interpolates.
func FuzzParseRequest(f *testing.F) {
	for _, s := range []string{
		`{"sql":"SELECT ?","database":"db","args":[1,"a",null,true,{"a":[1]},1.5,123456789012345678901234567890]}`,
		`{"sql":"x"}`, `{}`, `[]`, ``, `{"sql":"x",}`, `{"sql":"x","args":[}`, `{"sql":"\u0000"}`,
		`{"sql":"x","args":[1e999999]}`, `{"sql":"x"} x`, "{\"sql\":\"\xf0\"}",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		req, err := parseRequest(body)
		if err != nil {
			var be *bodyError
			if !errors.As(err, &be) {
				t.Fatalf("error %v (%T) is not a *bodyError", err, err)
			}
			if be.Offset < 0 || be.Offset > int64(len(body)) {
				t.Fatalf("offset %d outside a %d-byte body", be.Offset, len(body))
			}
			return
		}
		if !json.Valid(body) {
			t.Fatalf("accepted invalid JSON %q", body)
		}
		var ref struct{ Args []json.RawMessage }
		if err := json.Unmarshal(body, &ref); err != nil {
			t.Fatalf("encoding/json rejects an accepted body %q: %v", body, err)
		}
		if len(ref.Args) != len(req.Args) {
			t.Fatalf("%d args, encoding/json finds %d in %q", len(req.Args), len(ref.Args), body)
		}
		for i, a := range req.Args {
			if want, err := convertArg(ref.Args[i]); err != nil || !reflect.DeepEqual(want, a) {
				t.Fatalf("args[%d] = %#v, encoding/json's element gives %#v (%v)", i, a, want, err)
			}
			switch v := a.(type) {
			case nil, bool, int64, uint64, float64:
			case string:
			case json.RawMessage:
				if !json.Valid(v) || strings.ContainsAny(string(v), "\n\t") {
					t.Fatalf("args[%d] = %q is not compact JSON", i, v)
				}
			default:
				t.Fatalf("args[%d] has type %T", i, a)
			}
		}
	})
}
