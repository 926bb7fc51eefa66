package batch

import (
	"encoding/json"
	"strings"
	"testing"
)

// jsonCount reports whether encoding/json accepts row inside the body's
// nesting, and how many values the row holds.
func jsonCount(row []byte) (int, bool) {
	doc := []byte(`{"args":[` + string(row) + `]}`)
	if !json.Valid(doc) {
		return 0, false
	}
	var env struct{ Args []json.RawMessage }
	if err := json.Unmarshal(doc, &env); err != nil {
		return 0, false
	}
	return len(env.Args), true
}

func TestScannerAgreesWithEncodingJSON(t *testing.T) {
	rows := []string{
		`1`, `-0`, `-0.5e+10`, `1E5`, `0.0`, `"a\"b\\c\/\b\f\n\r\t\u00e9\uD83D\uDE00"`, `true,false,null`,
		` 1 , 2 `, "\t\r\n1\n", `{}`, `[]`, `{ }`, `[ ]`, `{"a":[1,{"b":null}],"c":{}}`, `[[[[]]]]`,
		"\"\xff\xfe\"", `"é中😀"`,
		``, ` `, `,`, `1,`, `,1`, `1 2`, `01`, `1.`, `.5`, `-`, `+1`, `1e`, `1e+`, `0x1`, `tru`, `True`, `nulll`,
		`"`, `"\`, `"\u12"`, `"\a"`, "\"\x01\"", `{"a"}`, `{"a":}`, `{,}`, `[,]`, `[1,]`, `{"a":1,}`,
		`{1:2}`, `[}`, `{]`, `]`, `}`, `1]`, `1],[2`, `"a":1`, `NaN`, `Infinity`, `-Infinity`, "\v1",
		"\u00a01", `1//c`, `/*c*/1`,
	}
	var s scanner
	for _, row := range rows {
		n, ok := jsonCount([]byte(row))
		ok = ok && n > 0
		off, reason := s.row([]byte(row), max(n, 1))
		if (reason == "") != ok {
			t.Errorf("row %q: scanner reason %q, encoding/json ok=%v", row, reason, ok)
		}
		if reason != "" && (off < 0 || off > len(row)) {
			t.Errorf("row %q: offset %d out of range", row, off)
		}
	}
}

func TestScannerCountsValues(t *testing.T) {
	var s scanner
	for _, tc := range []struct {
		row  string
		want int
	}{
		{`1,"a,b",[1,2],{"x":[3,4],"y":","}`, 4},
		{`null`, 1},
		{`"a","b","c"`, 3},
	} {
		if _, reason := s.row([]byte(tc.row), tc.want); reason != "" {
			t.Errorf("row %q with %d values: %s", tc.row, tc.want, reason)
		}
		if _, reason := s.row([]byte(tc.row), tc.want+1); reason == "" {
			t.Errorf("row %q accepted as %d values", tc.row, tc.want+1)
		}
	}
}

// FuzzScanRow checks the row scanner against encoding/json: it accepts a
// row exactly when encoding/json accepts it inside a body, and then counts
// the same values.
func FuzzScanRow(f *testing.F) {
	for _, seed := range []string{
		`1,"a",null`, `{"a":[1,2,{"b":"c"}]}`, `"\u00e9\n",-1.5e3,true`, `[`, `{"a":`, `"\`, `1]`, `01`,
		strings.Repeat("[", 40) + strings.Repeat("]", 40),
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, row []byte) {
		var s scanner
		n, ok := jsonCount(row)
		ok = ok && n > 0
		off, reason := s.row(row, max(n, 1))
		if (reason == "") != ok {
			t.Fatalf("row %q: scanner reason %q at %d, encoding/json ok=%v", row, reason, off, ok)
		}
		if reason != "" && (off < 0 || off > len(row)) {
			t.Fatalf("row %q: offset %d out of range", row, off)
		}
		if ok {
			if _, reason := s.row(row, n+1); reason == "" {
				t.Fatalf("row %q of %d values accepted as %d", row, n, n+1)
			}
		}
	})
}
