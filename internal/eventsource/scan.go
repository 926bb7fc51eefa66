package eventsource

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"unicode/utf8"

	"github.com/s2segment/s2segment/internal/checked"
	"github.com/s2segment/s2segment/internal/jsontext"
)

const (
	// readSize is the least free space the scanner offers each Read.
	readSize = 64 << 10
	// maxDepth bounds the nesting of arrays and objects, so that recursive
	// consumers of an event cannot be exhausted.
	maxDepth = jsontext.MaxDepth
)

// strSafe marks the bytes that a string can hold without a closer look:
// printable ASCII other than '"' and '\\'.
var strSafe = func() (t [256]bool) {
	for c := 0x20; c < 0x80; c++ {
		t[c] = c != '"' && c != '\\'
	}
	return t
}()

// scanner validates and delimits JSON values in a byte stream. It reads into
// its own buffer and keeps the bytes of the value being scanned (from mark)
// contiguous until the caller is done with them. A scanner with no reader
// scans an in-memory slice without copying it.
type scanner struct {
	r    io.Reader
	buf  []byte
	pos  int   // next byte to examine
	end  int   // end of the data in buf
	base int64 // input offset of buf[0]

	line    int   // line of buf[pos], from 1
	lineOff int64 // input offset of the first byte of that line

	eof     bool  // no more data will come
	readErr error // why the data stopped, when not a clean end of input

	// mark is the index in buf of the start of the value being scanned, or
	// -1. Bytes from mark on are kept by more, unless the value has grown
	// past limit, in which case over is set and they are dropped.
	mark  int
	limit int
	over  bool

	// Facts about the value scanned last.
	stack    []byte // open arrays and objects while scanning
	badUTF8  int64  // offset of its first invalid UTF-8 byte, or -1
	batchKey bool   // it is an object with a member named "batch"
	keys     bool   // record batchKey (set by the caller for top-level values)

	// The top-level members of the value scanned last, as offsets from
	// mark, when record is set (by the caller, for events).
	record bool
	found  []checked.Member
	vstart int // offset of the member value being read, or -1
}

// newMemScanner returns a scanner over data, which it never modifies. base,
// line and lineOff place data in a larger input: data[0] is at offset base, on
// line line, which starts at offset lineOff.
func newMemScanner(data []byte, base int64, line int, lineOff int64) *scanner {
	s := new(scanner)
	s.reset(data, base, line, lineOff)
	return s
}

// reset makes s a scanner over data as newMemScanner does, keeping the
// memory of its stack.
func (s *scanner) reset(data []byte, base int64, line int, lineOff int64) {
	*s = scanner{buf: data, end: len(data), eof: true, base: base, line: line, lineOff: lineOff,
		mark: -1, limit: len(data) + 1, badUTF8: -1, stack: s.stack[:0]}
}

// offset returns the input offset of buf[i].
func (s *scanner) offset(i int) int64 { return s.base + int64(i) }

// more makes more input available after end, keeping the bytes of the current
// value, and reports whether it read anything.
func (s *scanner) more() bool {
	if s.eof {
		return false
	}
	if s.mark >= 0 && !s.over && s.pos-s.mark > s.limit {
		s.over = true // the value is too long to keep: drop its bytes
	}
	keep := s.pos
	if s.mark >= 0 && !s.over {
		keep = s.mark
	}
	if len(s.buf)-s.end < readSize {
		if keep > 0 && s.end-keep+readSize <= len(s.buf) {
			s.shift(keep)
		} else {
			size := max(2*len(s.buf), 4*readSize)
			for size-(s.end-keep) < readSize {
				size *= 2
			}
			nb := make([]byte, size)
			copy(nb, s.buf[keep:s.end])
			s.buf = nb
			s.moved(keep)
		}
	}
	for range 100 {
		n, err := s.r.Read(s.buf[s.end:])
		s.end += n
		if err != nil {
			s.eof = true
			if err != io.EOF {
				s.readErr = err
			}
			return n > 0
		}
		if n > 0 {
			return true
		}
	}
	s.eof = true
	s.readErr = io.ErrNoProgress
	return false
}

// shift moves buf[keep:end] to the front of buf.
func (s *scanner) shift(keep int) {
	copy(s.buf, s.buf[keep:s.end])
	s.moved(keep)
}

// moved adjusts the indexes after the data at keep moved to index 0.
func (s *scanner) moved(keep int) {
	s.base += int64(keep)
	s.pos -= keep
	s.end -= keep
	if s.mark >= 0 {
		s.mark -= keep
		if s.mark < 0 {
			s.mark = -1
		}
	}
}

// need reports whether n bytes are available at pos, reading if necessary.
func (s *scanner) need(n int) bool {
	for s.end-s.pos < n {
		if !s.more() {
			return false
		}
	}
	return true
}

// skipSpace skips white space, counting lines, and returns the next byte.
// ok is false at the end of the input.
func (s *scanner) skipSpace() (c byte, ok bool) {
	for {
		for s.pos < s.end {
			c = s.buf[s.pos]
			switch c {
			case ' ', '\t', '\r':
			case '\n':
				s.line++
				s.lineOff = s.offset(s.pos + 1)
			default:
				return c, true
			}
			s.pos++
		}
		if !s.more() {
			return 0, false
		}
	}
}

// describe names the byte at pos for an error message, or says why there is
// none.
func (s *scanner) describe() string {
	if s.pos >= s.end {
		return "end of input"
	}
	c := s.buf[s.pos]
	switch {
	case c == '\'':
		return `"'"`
	case c >= 0x20 && c < 0x7f:
		return "'" + string(c) + "'"
	case c == '\n':
		return "a line break"
	case c < 0x20:
		return fmt.Sprintf("control character 0x%02x", c)
	}
	return fmt.Sprintf("byte 0x%02x", c)
}

// syntaxError reports that what was expected at pos is not there.
func (s *scanner) syntaxError(expected string) error {
	if s.pos >= s.end {
		if s.readErr != nil {
			return s.truncated(expected)
		}
		return fmt.Errorf("%w: the input ends at byte %d (line %d), expected %s",
			ErrTruncated, s.offset(s.pos), s.line, expected)
	}
	return fmt.Errorf("%w at byte %d (line %d): expected %s, got %s",
		ErrMalformed, s.offset(s.pos), s.line, expected, s.describe())
}

// truncated reports a read error that cut a value short.
func (s *scanner) truncated(expected string) error {
	if errors.Is(s.readErr, io.ErrUnexpectedEOF) {
		return fmt.Errorf("%w: the compressed stream is cut short after byte %d (line %d), expected %s",
			ErrTruncated, s.offset(s.pos), s.line, expected)
	}
	return fmt.Errorf("reading after byte %d (line %d): %w", s.offset(s.pos), s.line, s.readErr)
}

// readError reports a read error between values, or nil.
func (s *scanner) readError() error {
	if s.readErr == nil {
		return nil
	}
	if errors.Is(s.readErr, io.ErrUnexpectedEOF) {
		return fmt.Errorf("%w: the compressed stream is cut short after byte %d (line %d)",
			ErrTruncated, s.offset(s.pos), s.line)
	}
	return fmt.Errorf("reading after byte %d (line %d): %w", s.offset(s.pos), s.line, s.readErr)
}

// scanValue scans the value that starts at pos, which is not white space,
// and leaves pos just after it. It returns nil for a well-formed value, even
// one with invalid UTF-8 in its strings (see badUTF8), and an error wrapping
// ErrMalformed or ErrTruncated otherwise.
func (s *scanner) scanValue() error {
	s.stack = s.stack[:0]
	s.badUTF8 = -1
	s.batchKey = false
	s.found = s.found[:0]
	s.vstart = -1
	for {
		// A value is expected at pos.
		c, ok := s.skipSpace()
		if !ok {
			return s.syntaxError("a JSON value")
		}
		if s.vstart == -2 {
			s.vstart = s.pos - s.mark // a member of the top level starts
		}
		closed := true
		switch {
		case c == '{' || c == '[':
			if len(s.stack) >= maxDepth {
				return fmt.Errorf("%w at byte %d (line %d): nesting is deeper than %d",
					ErrMalformed, s.offset(s.pos), s.line, maxDepth)
			}
			s.pos++
			n, _ := s.skipSpace()
			if s.pos < s.end && (c == '{' && n == '}' || c == '[' && n == ']') {
				s.pos++
				break
			}
			s.stack = append(s.stack, c)
			if c == '{' {
				if err := s.scanKey("a string key or '}'"); err != nil {
					return err
				}
			}
			closed = false
		case c == '"':
			if err := s.scanString(); err != nil {
				return err
			}
		case c == '-' || c >= '0' && c <= '9':
			if err := s.scanNumber(); err != nil {
				return err
			}
		case c == 't':
			if err := s.scanLiteral("true"); err != nil {
				return err
			}
		case c == 'f':
			if err := s.scanLiteral("false"); err != nil {
				return err
			}
		case c == 'n':
			if err := s.scanLiteral("null"); err != nil {
				return err
			}
		default:
			return s.syntaxError("a JSON value")
		}
		if !closed {
			continue
		}
		// A value ended: close containers until one goes on.
		if len(s.stack) == 1 {
			s.endMember()
		}
		for {
			if len(s.stack) == 0 {
				return nil
			}
			top := s.stack[len(s.stack)-1]
			c, _ := s.skipSpace()
			if s.pos < s.end && c == ',' {
				s.pos++
				if top == '{' {
					if err := s.scanKey("a string key"); err != nil {
						return err
					}
				}
				break
			}
			if s.pos < s.end && (top == '{' && c == '}' || top == '[' && c == ']') {
				s.pos++
				s.stack = s.stack[:len(s.stack)-1]
				if len(s.stack) == 1 {
					s.endMember()
				}
				continue
			}
			if top == '{' {
				return s.syntaxError("',' or '}' after an object member")
			}
			return s.syntaxError("',' or ']' after an array element")
		}
	}
}

// scanKey scans an object member's key and its colon; expected says what
// should be at pos.
func (s *scanner) scanKey(expected string) error {
	c, ok := s.skipSpace()
	if !ok || c != '"' {
		return s.syntaxError(expected)
	}
	start := s.offset(s.pos)
	if err := s.scanString(); err != nil {
		return err
	}
	if s.record && len(s.stack) == 1 && !s.over && s.mark >= 0 {
		ks := int(start-s.base) - s.mark
		s.found = append(s.found, checked.Member{KeyStart: uint32(ks), KeyEnd: uint32(s.pos - s.mark)})
		s.vstart = -2 // set when the value starts
	}
	if s.keys && len(s.stack) == 1 && !s.over {
		key := s.buf[int(start-s.base)+1 : s.pos-1]
		s.batchKey = s.batchKey || isBatchKey(key)
	}
	if c, ok = s.skipSpace(); !ok || c != ':' {
		return s.syntaxError("':' after an object key")
	}
	s.pos++
	return nil
}

// endMember notes the end of the top-level member being read.
func (s *scanner) endMember() {
	if s.vstart < 0 || len(s.found) == 0 || s.over {
		s.vstart = -1
		return
	}
	m := &s.found[len(s.found)-1]
	m.ValueStart, m.ValueEnd = uint32(s.vstart), uint32(s.pos-s.mark)
	s.vstart = -1
}

// isBatchKey reports whether the raw key (without quotes) means "batch".
func isBatchKey(raw []byte) bool {
	if bytes.IndexByte(raw, '\\') < 0 {
		return string(raw) == "batch"
	}
	return unquote(raw) == "batch"
}

// unquote decodes a raw, well-formed JSON string without its quotes.
func unquote(raw []byte) string {
	if bytes.IndexByte(raw, '\\') < 0 {
		return string(raw)
	}
	q := make([]byte, 0, len(raw)+2)
	q = append(append(append(q, '"'), raw...), '"')
	var s string
	if json.Unmarshal(q, &s) != nil {
		return string(raw)
	}
	return s
}

// scanString scans the string whose opening quote is at pos.
func (s *scanner) scanString() error {
	s.pos++
	for {
		b, i, end := s.buf, s.pos, s.end
		for i+8 <= end && !special8(binary.LittleEndian.Uint64(b[i:])) {
			i += 8
		}
		for i < end && strSafe[b[i]] {
			i++
		}
		s.pos = i
		if i == end {
			if !s.more() {
				return s.syntaxError(`'"' to close the string`)
			}
			continue
		}
		switch c := b[i]; {
		case c == '"':
			s.pos++
			return nil
		case c == '\\':
			if !s.need(2) {
				return s.syntaxError("an escape sequence")
			}
			switch s.buf[s.pos+1] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				s.pos += 2
			case 'u':
				s.need(6)
				s.pos += 2
				for range 4 {
					if s.pos >= s.end || !isHex(s.buf[s.pos]) {
						return s.syntaxError(`a hexadecimal digit in a \u escape`)
					}
					s.pos++
				}
			default:
				s.pos++
				return s.syntaxError(`one of "\/bfnrtu after a backslash`)
			}
		case c < 0x20:
			return s.syntaxError(`a character or '"' (control characters and line breaks must be escaped in strings)`)
		default:
			for !utf8.FullRune(s.buf[s.pos:s.end]) && s.more() {
			}
			r, size := utf8.DecodeRune(s.buf[s.pos:s.end])
			if r == utf8.RuneError && size <= 1 {
				if s.badUTF8 < 0 {
					s.badUTF8 = s.offset(s.pos)
				}
				size = 1
			}
			s.pos += size
		}
	}
}

// special8 reports whether any of the 8 bytes in w needs a closer look in a
// string: '"', '\\', a control character, or a byte of a multi-byte UTF-8
// sequence. (A zero-byte test per lane: a borrow can only mark a lane above
// one that is marked already.)
func special8(w uint64) bool {
	const lo, hi = 0x0101010101010101, 0x8080808080808080
	q := w ^ ('"' * lo)
	bs := w ^ ('\\' * lo)
	return (w|(w-0x20*lo)&^w|(q-lo)&^q|(bs-lo)&^bs)&hi != 0
}

func isHex(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F'
}

// digits skips decimal digits and returns how many there were.
func (s *scanner) digits() int {
	n := 0
	for {
		b, i, end := s.buf, s.pos, s.end
		for i < end && b[i] >= '0' && b[i] <= '9' {
			i++
		}
		n += i - s.pos
		s.pos = i
		if i < end || !s.more() {
			return n
		}
	}
}

// peek returns the byte at pos, reading if necessary.
func (s *scanner) peek() (byte, bool) {
	if s.pos < s.end || s.more() {
		return s.buf[s.pos], true
	}
	return 0, false
}

// scanNumber scans the number that starts at pos:
// -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?
func (s *scanner) scanNumber() error {
	if s.buf[s.pos] == '-' {
		s.pos++
	}
	c, ok := s.peek()
	switch {
	case ok && c == '0':
		s.pos++
	case ok && c >= '1' && c <= '9':
		s.digits()
	default:
		return s.syntaxError("a digit")
	}
	if c, ok = s.peek(); ok && c == '.' {
		s.pos++
		if s.digits() == 0 {
			return s.syntaxError("a digit after the decimal point")
		}
		c, ok = s.peek()
	}
	if ok && (c == 'e' || c == 'E') {
		s.pos++
		if c, ok = s.peek(); ok && (c == '+' || c == '-') {
			s.pos++
		}
		if s.digits() == 0 {
			return s.syntaxError("a digit in the exponent")
		}
	}
	return nil
}

// scanLiteral scans true, false or null.
func (s *scanner) scanLiteral(lit string) error {
	s.need(len(lit))
	for i := 0; i < len(lit); i++ {
		if s.pos >= s.end || s.buf[s.pos] != lit[i] {
			return s.syntaxError(strconv.Quote(lit))
		}
		s.pos++
	}
	return nil
}

// kindOf names the kind of the JSON value whose first byte is c.
func kindOf(c byte) string {
	switch c {
	case '{':
		return "object"
	case '[':
		return "array"
	case '"':
		return "string"
	case 't', 'f':
		return "boolean"
	case 'n':
		return "null"
	}
	return "number"
}
