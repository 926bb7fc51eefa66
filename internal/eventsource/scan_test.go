package eventsource

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"io"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// scanAll reports whether data is exactly one JSON value with optional white
// space around it, by the scanner.
func scanAll(data []byte) (ok bool, badUTF8 int64) {
	s := newMemScanner(data, 0, 1, 0)
	if _, ok := s.skipSpace(); !ok {
		return false, -1
	}
	if s.scanValue() != nil {
		return false, -1
	}
	if _, more := s.skipSpace(); more {
		return false, -1
	}
	return true, s.badUTF8
}

// checkScanner compares the scanner with encoding/json on data: both must
// accept or reject it, and invalid UTF-8 must be noticed.
func checkScanner(t *testing.T, data []byte) {
	ok, bad := scanAll(data)
	want := json.Valid(data)
	if ok != want {
		t.Fatalf("scanner says %v, encoding/json says %v for %q", ok, want, data)
	}
	if ok && (bad >= 0) == utf8.Valid(data) {
		t.Fatalf("badUTF8 = %d for %q", bad, data)
	}
}

func TestScannerAgreesWithEncodingJSON(t *testing.T) {
	for _, in := range []string{
		``, ` `, `{}`, `[]`, `{"a":1}`, `{"a":1,}`, `[1,]`, `[,1]`, `{"a"}`, `{"a":}`, `{:1}`, `{1:1}`,
		`0`, `-0`, `01`, `-`, `1.`, `1.5`, `.5`, `1e5`, `1E+5`, `1e-5`, `1e`, `1e+`, `-1.5e-300`, `2.`,
		`true`, `tru`, `truee`, `false`, `null`, `nul`, `NaN`, `Infinity`,
		`""`, `"\"`, `"\\"`, `"\u00e9"`, `"\u00g9"`, `"\x"`, "\"\t\"", "\"a\nb\"", `"\/"`,
		`[[[[]]]]`, `[[[[]]]`, `{"a":{"b":{"c":[1,{"d":null}]}}}`, `{} {}`, `1 2`, "\xef\xbb\xbf{}",
		"\"\xff\"", "\"\xc3\xa9\"", "\"\xed\xa0\x80\"", "\"\xf4\x90\x80\x80\"", "{\"\xc0\":1}", "\xff",
		strings.Repeat("[", 10000) + strings.Repeat("]", 10000),
		strings.Repeat("[", 10001) + strings.Repeat("]", 10001),
	} {
		t.Run(strconv.Quote(in), func(t *testing.T) { checkScanner(t, []byte(in)) })
	}
}

func FuzzScanner(f *testing.F) {
	for _, s := range []string{`{"a":[1,2,{"b":null}],"c":"\u00e9"}`, `[1,2,3]`, `-1.5e+10`, `"\ud83d\ude00"`, "\"\xff\"", `{"a":tru}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) { checkScanner(t, data) })
}

// lines is a reader of n NDJSON events, generated as they are read.
type lines struct {
	n, i int
	buf  []byte
}

func (l *lines) Read(p []byte) (int, error) {
	for len(l.buf) == 0 {
		if l.i == l.n {
			return 0, io.EOF
		}
		l.buf = strconv.AppendInt(append(l.buf[:0], `{"type":"track","event":"Tick","messageId":"m`...), int64(l.i), 10)
		l.buf = append(l.buf, "\",\"properties\":{\"pad\":\"......................................\"}}\n"...)
		l.i++
	}
	n := copy(p, l.buf)
	l.buf = l.buf[n:]
	return n, nil
}

// TestMemoryStaysBounded reads a long NDJSON stream and a long array and
// checks that the reader's buffer never grows past its initial size, so
// memory does not depend on the length of the input.
func TestMemoryStaysBounded(t *testing.T) {
	n := 100_000
	if testing.Short() {
		n = 30_000
	}
	array := io.MultiReader(strings.NewReader("["), &commaLines{lines: lines{n: n}}, strings.NewReader("{}]"))
	for name, src := range map[string]io.Reader{"ndjson": &lines{n: n}, "array": array} {
		t.Run(name, func(t *testing.T) {
			r, err := Open(context.Background(), Config{}, []string{"-"}, src)
			require.NoError(t, err)
			count, maxBuf := 0, 0
			for {
				_, err := r.Next()
				if err == io.EOF {
					break
				}
				require.NoError(t, err)
				count++
				if r.cur != nil {
					maxBuf = max(maxBuf, cap(r.cur.sc.buf))
				}
			}
			assert.GreaterOrEqual(t, count, n)
			assert.LessOrEqual(t, maxBuf, 4*readSize, "the buffer grew")
		})
	}
}

// commaLines turns the events of lines into array elements.
type commaLines struct{ lines }

func (c *commaLines) Read(p []byte) (int, error) {
	n, err := c.lines.Read(p)
	for i := range n {
		if p[i] == '\n' {
			p[i] = ','
		}
	}
	return n, err
}

func TestValueOverLimitIsNotKept(t *testing.T) {
	// A 20 MB value is scanned to its end with a buffer that stays near the
	// limit, and the next value is read.
	huge := io.MultiReader(strings.NewReader(`{"a":"`), io.LimitReader(repeat('x'), 20<<20), strings.NewReader("\"}\n{\"b\":1}\n"))
	r, err := Open(context.Background(), Config{MaxEventBytes: 1 << 20, MaxBatchBytes: 1 << 20}, []string{"-"}, huge)
	require.NoError(t, err)
	_, err = r.Next()
	require.ErrorIs(t, err, ErrTooLarge)
	assert.Contains(t, err.Error(), "the value is 20971528 bytes, over the limit of 1048576")
	assert.LessOrEqual(t, cap(r.cur.sc.buf), 4<<20)
	ev, err := r.Next()
	require.NoError(t, err)
	assert.Equal(t, `{"b":1}`, string(ev.Data))
}

type repeat byte

func (b repeat) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = byte(b)
	}
	return len(p), nil
}

func TestSpecial8(t *testing.T) {
	for c := range 256 {
		for lane := range 8 {
			var b [8]byte
			for i := range b {
				b[i] = 'a'
			}
			b[lane] = byte(c)
			got := special8(binary.LittleEndian.Uint64(b[:]))
			require.Equal(t, !strSafe[c], got, "byte 0x%02x in lane %d", c, lane)
		}
	}
}
