package batch_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/s2segment/s2segment/batch"
)

// concatBody builds the body of rows by plain concatenation, independently
// of the Packer; rows need not be compact.
func concatBody(cfg batch.Config, rows [][]byte) []byte {
	sql, _ := json.Marshal(wantSQL(cfg, len(rows)))
	var b bytes.Buffer
	b.WriteString(`{"sql":`)
	b.Write(sql)
	if cfg.Database != "" {
		db, _ := json.Marshal(cfg.Database)
		b.WriteString(`,"database":`)
		b.Write(db)
	}
	b.WriteString(`,"args":[`)
	b.Write(bytes.Join(rows, []byte(",")))
	b.WriteString(`]}`)
	return b.Bytes()
}

// fuzzRows cuts data into rows of cols values. Most values are JSON strings
// or numbers made from the data; a row whose first byte is odd is taken
// raw, so malformed rows are exercised too.
func fuzzRows(data []byte, cols int) [][]byte {
	var rows [][]byte
	for len(data) > 0 {
		n := min(int(data[0])*int(data[0])/16+1, len(data))
		chunk := data[:n]
		data = data[n:]
		if chunk[0]%2 == 1 {
			rows = append(rows, bytes.Clone(chunk[1:]))
			continue
		}
		vals := make([][]byte, cols)
		for i := range vals {
			part := chunk[i*len(chunk)/cols : (i+1)*len(chunk)/cols]
			switch {
			case i%3 == 1:
				vals[i] = []byte(strings.Repeat("7", len(part)%20+1))
			case i%3 == 2 && len(part)%2 == 0:
				vals[i] = []byte("null")
			default:
				vals[i], _ = json.Marshal(string(part))
			}
		}
		rows = append(rows, bytes.Join(vals, []byte(",")))
	}
	return rows
}

// FuzzPack checks the Packer's invariants on arbitrary rows and caps: no
// request exceeds the byte or row cap, each body is exactly the
// concatenation of its rows in the envelope and valid JSON, rows keep their
// order and none is lost or duplicated, a request is only completed when the
// next row does not fit, refused rows really are malformed or too large, and
// Split halves put back together give the original.
func FuzzPack(f *testing.F) {
	f.Add([]byte("\x10hello world, this is a row\x03abc\x20{\"a\":[1,2]}, \"x\", 1"), uint8(3), uint16(300), uint8(3), true)
	f.Add(bytes.Repeat([]byte("\x40é中\"\\\n"), 200), uint8(0), uint16(2000), uint8(11), false)
	f.Add([]byte("\x01\x02\x03"), uint8(1), uint16(0), uint8(1), true)
	f.Fuzz(func(t *testing.T, data []byte, maxRows uint8, extra uint16, cols uint8, db bool) {
		cfg := batch.Config{
			Prefix:  "INSERT INTO `t` VALUES ",
			Suffix:  " ON DUPLICATE KEY UPDATE a = a",
			Columns: int(cols%12) + 1,
			MaxRows: int(maxRows % 50),
		}
		if db {
			cfg.Database = "d\"<b>"
		}
		// The smallest cap New accepts, plus up to 64 KB.
		cfg.MaxBytes = len(concatBody(cfg, [][]byte{bytes.Repeat([]byte("1,"), cfg.Columns)[:2*cfg.Columns-1]})) + int(extra)
		p, err := batch.New(cfg)
		if err != nil {
			t.Fatalf("New(%+v): %v", cfg, err)
		}
		maxRowsEff := cfg.MaxRows
		if maxRowsEff == 0 {
			maxRowsEff = batch.DefaultMaxRows
		}
		rows := fuzzRows(data, cfg.Columns)
		var reqs []*batch.Request
		var accepted []int
		for i, row := range rows {
			full, err := p.Add(row, i)
			if err != nil {
				var re *batch.RowError
				if !errors.As(err, &re) || re.Ref != i {
					t.Fatalf("row %d: error %v is not a *RowError for it", i, err)
				}
				alone := len(concatBody(cfg, [][]byte{row}))
				switch {
				case errors.Is(err, batch.ErrRowTooLarge):
					if alone <= cfg.MaxBytes || re.Size != alone {
						t.Fatalf("row %d refused as too large: alone %d, Size %d, cap %d", i, alone, re.Size, cfg.MaxBytes)
					}
				case errors.Is(err, batch.ErrMalformedRow):
					if n, ok := valuesIn(row); ok && n == cfg.Columns {
						t.Fatalf("row %d %q refused as malformed (%v) but holds %d JSON values", i, row, err, n)
					}
				default:
					t.Fatalf("row %d: unexpected error %v", i, err)
				}
				continue
			}
			if n, ok := valuesIn(row); !ok || n != cfg.Columns {
				t.Fatalf("row %d %q accepted but holds %d values (valid %v), want %d", i, row, n, ok, cfg.Columns)
			}
			if full != nil {
				// Completed only because row did not fit.
				last := full.Refs()
				with := append(rowsOf(rows, last), row)
				if full.Len() < maxRowsEff && len(concatBody(cfg, with)) <= cfg.MaxBytes {
					t.Fatalf("request of %d rows completed although row %d fitted", full.Len(), i)
				}
				reqs = append(reqs, full)
			}
			accepted = append(accepted, i)
		}
		if last := p.Flush(); last != nil {
			reqs = append(reqs, last)
		}
		var got []int
		for _, r := range reqs {
			checkFuzzRequest(t, cfg, maxRowsEff, r, rows)
			got = append(got, r.Refs()...)
			a, b := r.Split()
			if r.Len() < 2 {
				if a != r || b != nil {
					t.Fatalf("Split of a %d-row request gave new requests", r.Len())
				}
				continue
			}
			checkFuzzRequest(t, cfg, maxRowsEff, a, rows)
			checkFuzzRequest(t, cfg, maxRowsEff, b, rows)
			if a.Len() == 0 || b.Len() == 0 || !equalInts(append(append([]int{}, a.Refs()...), b.Refs()...), r.Refs()) {
				t.Fatalf("Split of %v gave %v and %v", r.Refs(), a.Refs(), b.Refs())
			}
		}
		if !equalInts(got, accepted) {
			t.Fatalf("requests hold rows %v, accepted %v", got, accepted)
		}
	})
}

func checkFuzzRequest(t *testing.T, cfg batch.Config, maxRows int, r *batch.Request, rows [][]byte) {
	t.Helper()
	body := r.Body()
	if len(body) > cfg.MaxBytes {
		t.Fatalf("body of %d bytes exceeds the %d-byte cap", len(body), cfg.MaxBytes)
	}
	if r.Len() == 0 || r.Len() > maxRows {
		t.Fatalf("request of %d rows, cap %d", r.Len(), maxRows)
	}
	own := rowsOf(rows, r.Refs())
	if want := concatBody(cfg, own); !bytes.Equal(body, want) {
		t.Fatalf("body\n%s\nwant\n%s", body, want)
	}
	for i := range own {
		if !bytes.Equal(r.Row(i), own[i]) {
			t.Fatalf("Row(%d) = %q, want %q", i, r.Row(i), own[i])
		}
	}
	if !json.Valid(body) {
		t.Fatalf("body is not valid JSON: %s", body)
	}
}

func rowsOf(rows [][]byte, refs []int) [][]byte {
	out := make([][]byte, len(refs))
	for i, ref := range refs {
		out[i] = rows[ref]
	}
	return out
}

// valuesIn counts the JSON values of a row as encoding/json sees it inside
// a body.
func valuesIn(row []byte) (int, bool) {
	doc := []byte(`{"args":[` + string(row) + `]}`)
	var env struct{ Args []json.RawMessage }
	if !json.Valid(doc) || json.Unmarshal(doc, &env) != nil {
		return 0, false
	}
	return len(env.Args), true
}

func equalInts(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
