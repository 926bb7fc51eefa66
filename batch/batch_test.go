package batch_test

import (
	"errors"
	"flag"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/s2segment/s2segment/batch"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

var cfg3 = batch.Config{
	Prefix:   "INSERT INTO `t<1>` (`a`, `b`, `c`) VALUES ",
	Suffix:   " ON DUPLICATE KEY UPDATE `a` = `a`",
	Columns:  3,
	Database: "db\"1",
}

func newPacker(t testing.TB, cfg batch.Config) *batch.Packer {
	t.Helper()
	p, err := batch.New(cfg)
	require.NoError(t, err)
	return p
}

func TestNewRejectsBadConfig(t *testing.T) {
	ok := batch.Config{Prefix: "INSERT INTO t VALUES ", Columns: 2}
	tests := []struct {
		name  string
		edit  func(*batch.Config)
		field string
	}{
		{"no prefix", func(c *batch.Config) { c.Prefix = "" }, "Prefix"},
		{"no columns", func(c *batch.Config) { c.Columns = 0 }, "Columns"},
		{"negative columns", func(c *batch.Config) { c.Columns = -1 }, "Columns"},
		{"negative rows", func(c *batch.Config) { c.MaxRows = -5 }, "MaxRows"},
		{"negative bytes", func(c *batch.Config) { c.MaxBytes = -1 }, "MaxBytes"},
		{"above 1 MiB", func(c *batch.Config) { c.MaxBytes = batch.LimitMaxBytes + 1 }, "MaxBytes"},
		{"too small for any row", func(c *batch.Config) { c.MaxBytes = 40 }, "MaxBytes"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := ok
			tc.edit(&c)
			p, err := batch.New(c)
			assert.Nil(t, p)
			var ce *batch.ConfigError
			require.ErrorAs(t, err, &ce)
			assert.Equal(t, tc.field, ce.Field)
			assert.Contains(t, err.Error(), "Config."+tc.field)
		})
	}
	for _, mb := range []int{0, 1000, batch.DefaultMaxBytes, batch.LimitMaxBytes} {
		c := ok
		c.MaxBytes = mb
		_, err := batch.New(c)
		assert.NoError(t, err, "MaxBytes %d", mb)
	}
}

func TestBodiesMatchJSONMarshal(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	var rows [][]byte
	for range 300 {
		rows = append(rows, makeRow(r, 3, r.IntN(2000)))
	}
	for _, c := range []batch.Config{
		cfg3,
		{Prefix: "INSERT INTO t VALUES ", Columns: 3, MaxBytes: 5000, MaxRows: 7},
		{Prefix: "INSERT INTO t VALUES ", Columns: 3, MaxBytes: 20_000, Database: "é&"},
	} {
		limit := c.MaxBytes
		if limit == 0 {
			limit = batch.DefaultMaxBytes
		}
		reqs, refused := pack(t, newPacker(t, c), rows)
		require.Empty(t, refused)
		next := 0
		for _, req := range reqs {
			checkRequest(t, c, req, rows)
			assert.LessOrEqual(t, len(req.Body()), limit)
			for _, ref := range req.Refs() {
				require.Equal(t, next, ref, "rows out of order")
				next++
			}
		}
		require.Equal(t, len(rows), next)
	}
}

// TestByteCapBoundary packs n rows whose one-request body is exactly size
// bytes (computed with json.Marshal) under caps of size-1, size and size+1.
func TestByteCapBoundary(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	for _, n := range []int{1, 2, 3, 10} {
		rows := make([][]byte, n)
		for i := range rows {
			rows[i] = makeRow(r, 3, 50+r.IntN(200))
		}
		size := len(marshalBody(t, cfg3, rows))
		for _, limit := range []int{size - 1, size, size + 1} {
			c := cfg3
			c.MaxBytes = limit
			p := newPacker(t, c)
			reqs, refused := pack(t, p, rows)
			if limit < size && n == 1 {
				require.Len(t, refused, 1, "limit %d", limit)
				var re *batch.RowError
				require.ErrorAs(t, refused[0], &re)
				assert.ErrorIs(t, refused[0], batch.ErrRowTooLarge)
				assert.Equal(t, batch.RowError{Ref: 0, Size: size, Limit: limit, Offset: -1, Err: batch.ErrRowTooLarge}, *re)
				assert.Empty(t, reqs)
				continue
			}
			require.Empty(t, refused)
			if limit < size {
				require.Len(t, reqs, 2, "n=%d limit=%d", n, limit)
				assert.Equal(t, n-1, reqs[0].Len())
				assert.Equal(t, 1, reqs[1].Len())
			} else {
				require.Len(t, reqs, 1, "n=%d limit=%d", n, limit)
				assert.Equal(t, size, len(reqs[0].Body()))
			}
			for _, req := range reqs {
				assert.LessOrEqual(t, len(req.Body()), limit)
				checkRequest(t, c, req, rows)
			}
		}
	}
}

func TestSizeIsExactBeforeFlush(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	p := newPacker(t, cfg3)
	assert.Equal(t, 0, p.Size())
	var rows [][]byte
	for i := range 20 {
		rows = append(rows, makeRow(r, 3, r.IntN(300)))
		full, err := p.Add(rows[i], i)
		require.NoError(t, err)
		require.Nil(t, full)
		assert.Equal(t, len(marshalBody(t, cfg3, rows)), p.Size())
		assert.Equal(t, i+1, p.Len())
	}
	req := p.Flush()
	assert.Equal(t, len(req.Body()), len(marshalBody(t, cfg3, rows)))
	assert.Nil(t, p.Flush())
	assert.Equal(t, 0, p.Len())
}

func TestRowCountCap(t *testing.T) {
	c := cfg3
	c.MaxRows = 3
	rows := make([][]byte, 10)
	for i := range rows {
		rows[i] = []byte(`1,"x",null`)
	}
	reqs, refused := pack(t, newPacker(t, c), rows)
	require.Empty(t, refused)
	assert.Equal(t, "[0 1 2] [3 4 5] [6 7 8] [9]", refsString(reqs))
	for _, req := range reqs {
		checkRequest(t, c, req, rows)
	}
}

func TestRefusedRowLeavesPackerUnharmed(t *testing.T) {
	c := cfg3
	c.MaxBytes = 400
	rows := [][]byte{
		[]byte(`1,"a",null`),
		[]byte(`2,"` + strings.Repeat("x", 400) + `",null`), // too large alone
		[]byte(`3,"c"`),           // two values
		[]byte(`4,"d",null]}`),    // tries to leave the args array
		[]byte(`5,"e",{"k":tru}`), // bad literal
		[]byte(`6,"f",[1,2]`),
	}
	reqs, refused := pack(t, newPacker(t, c), rows)
	require.Len(t, refused, 4)
	assert.ErrorIs(t, refused[1], batch.ErrRowTooLarge)
	for _, ref := range []int{2, 3, 4} {
		assert.ErrorIs(t, refused[ref], batch.ErrMalformedRow, "row %d", ref)
		var re *batch.RowError
		require.ErrorAs(t, refused[ref], &re)
		assert.Equal(t, ref, re.Ref)
	}
	require.Len(t, reqs, 1)
	assert.Equal(t, []int{0, 5}, reqs[0].Refs())
	checkRequest(t, c, reqs[0], rows)
}

func TestMalformedRowErrors(t *testing.T) {
	tests := []struct {
		row    string
		offset int
		reason string
	}{
		{``, 0, "unexpected end of row, expected a value"},
		{`1,2`, 3, "2 values, expected 3"},
		{`1,2,3,4`, 5, "more than 3 values"},
		{`1,2,3]`, 5, "invalid character ']' after a value, expected ','"},
		{`1,2,[3}`, 6, `invalid character '}', expected ',' or ']'`},
		{`1,2,{"a" 1}`, 9, "invalid character '1' after an object key, expected ':'"},
		{`1,2,{a:1}`, 5, "invalid character 'a', expected an object key"},
		{`1,2,"abc`, 4, "unterminated string"},
		{"1,2,\"a\tb\"", 6, `control character '\t' in string`},
		{`1,2,"\x"`, 6, `invalid character 'x' after '\' in string`},
		{`1,2,"\u12g4"`, 9, `invalid character 'g' in \u escape, expected a hex digit`},
		{`01,2,3`, 1, "invalid character '1' after a value, expected ','"},
		{`1.,2,3`, 2, "expected a digit after the decimal point"},
		{`1e,2,3`, 2, "expected a digit in the exponent"},
		{`-,2,3`, 1, "invalid character ',' in number, expected a digit"},
		{`nul,2,3`, 3, "invalid character ',' in literal null"},
		{`1,,3`, 2, "invalid character ',', expected a value"},
		{"1,2,\xff", 4, `invalid character byte \xff, expected a value`},
		{`1,2,[[`, 6, "unexpected end of row, expected a value"},
		{`1,2,[1`, 6, "unexpected end of row, expected ',' or ']'"},
	}
	p := newPacker(t, cfg3)
	for _, tc := range tests {
		_, err := p.Add([]byte(tc.row), 7)
		var re *batch.RowError
		require.ErrorAs(t, err, &re, "row %q", tc.row)
		assert.ErrorIs(t, err, batch.ErrMalformedRow)
		assert.Equal(t, tc.offset, re.Offset, "row %q", tc.row)
		assert.Equal(t, tc.reason, re.Reason, "row %q", tc.row)
		assert.Equal(t, "batch: row 7: malformed row at byte "+strconv.Itoa(tc.offset)+": "+tc.reason, err.Error())
	}
	assert.Equal(t, 0, p.Len())
}

func TestNestingDepthMatchesEncodingJSON(t *testing.T) {
	p := newPacker(t, batch.Config{Prefix: "INSERT INTO t VALUES ", Columns: 1})
	deep := func(d int) []byte { return []byte(strings.Repeat("[", d) + strings.Repeat("]", d)) }
	full, err := p.Add(deep(9998), 0)
	require.NoError(t, err)
	require.Nil(t, full)
	_, err = p.Add(deep(9999), 1)
	assert.ErrorIs(t, err, batch.ErrMalformedRow)
	req := p.Flush()
	assert.True(t, jsonValid(req.Body()), "a body with the deepest accepted row must be valid JSON")
}

func TestSplitRebuildsBodiesExactly(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 8))
	rows := make([][]byte, 9)
	for i := range rows {
		rows[i] = makeRow(r, 3, r.IntN(500))
	}
	p := newPacker(t, cfg3)
	reqs, refused := pack(t, p, rows)
	require.Empty(t, refused)
	require.Len(t, reqs, 1)

	var leaves []*batch.Request
	var walk func(*batch.Request)
	walk = func(req *batch.Request) {
		checkRequest(t, cfg3, req, rows)
		a, b := req.Split()
		if req.Len() < 2 {
			assert.Same(t, req, a)
			assert.Nil(t, b)
			leaves = append(leaves, req)
			return
		}
		assert.Equal(t, req.Len()/2, a.Len())
		assert.Equal(t, req.Len(), a.Len()+b.Len())
		assert.Equal(t, req.Refs(), append(append([]int{}, a.Refs()...), b.Refs()...))
		walk(a)
		walk(b)
	}
	walk(reqs[0])
	assert.Equal(t, "[0] [1] [2] [3] [4] [5] [6] [7] [8]", refsString(leaves))
	var nilReq *batch.Request
	assert.Equal(t, 0, nilReq.Len())
}

func TestRequestsAreNotAliased(t *testing.T) {
	c := cfg3
	c.MaxRows = 2
	p := newPacker(t, c)
	row := []byte(`1,"a",null`)
	var reqs []*batch.Request
	for i := range 10 {
		row[0] = byte('0' + i) // the caller reuses its buffer
		full, err := p.Add(row, i)
		require.NoError(t, err)
		if full != nil {
			reqs = append(reqs, full)
		}
	}
	reqs = append(reqs, p.Flush())
	for k, req := range reqs {
		want := [][]byte{[]byte(`` + string(rune('0'+2*k)) + `,"a",null`), []byte(string(rune('0'+2*k+1)) + `,"a",null`)}
		assert.Equal(t, string(marshalBody(t, c, want)), string(req.Body()), "request %d", k)
	}
}

func TestGoldenBody(t *testing.T) {
	c := batch.Config{
		Prefix:   "INSERT INTO `segment_data` (`messageId`, `timestamp`, `type`, `event`, `name`, `properties`, `userId`, `anonymousId`, `groupId`, `traits`, `context`) VALUES ",
		Suffix:   " ON DUPLICATE KEY UPDATE `type` = `type`",
		Columns:  11,
		Database: "analytics",
	}
	rows := [][]byte{
		[]byte(`"m1","2025-01-01 00:00:00.000000","track","Order Completed",null,{"total":12345678901234567890,"items":[{"sku":"a"}]},"u1","a1",null,null,{"ip":"1.2.3.4"}`),
		[]byte(`"m2","2025-01-01 00:00:01.500000","identify",null,null,null,"u2",null,null,{"email":"x@y.z","plan":"pro"},{}`),
		[]byte(`"m3","2025-01-01 00:00:02.000000","page",null,"Home",{"url":"https://e.x/?a=1&b=<2>"},null,"a3",null,null,{"locale":"fr-FR"}`),
	}
	reqs, refused := pack(t, newPacker(t, c), rows)
	require.Empty(t, refused)
	require.Len(t, reqs, 1)
	got := append(append([]byte{}, reqs[0].Body()...), '\n')
	path := filepath.Join("testdata", "three-rows.golden.json")
	if *update {
		require.NoError(t, os.WriteFile(path, got, 0o644))
	}
	want, err := os.ReadFile(path)
	require.NoError(t, err)
	assert.Equal(t, string(want), string(got))
	assert.True(t, jsonValid(reqs[0].Body()))
}

func TestErrorsNameTheRowNotItsContent(t *testing.T) {
	c := cfg3
	c.MaxBytes = 200
	p := newPacker(t, c)
	secret := "s3cr3t-value"
	for _, row := range []string{`1,"` + secret + `"`, `1,2,"` + secret + strings.Repeat("x", 300) + `"`} {
		_, err := p.Add([]byte(row), 42)
		require.Error(t, err)
		assert.NotContains(t, err.Error(), secret)
		assert.Contains(t, err.Error(), "row 42")
		assert.True(t, errors.Is(err, batch.ErrMalformedRow) || errors.Is(err, batch.ErrRowTooLarge))
	}
}
