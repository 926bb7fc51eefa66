// Package checked carries checks already made from the package that made
// them to the packages that would otherwise make them again: an [Event] is a
// JSON object proven well-formed, valid UTF-8 and nested at most [MaxDepth]
// deep, with the offsets of its top-level members, and a [Row] is a row of
// arguments written by this module's row encoder from such an event.
//
// Only code in this module can make either: [Scan] makes an Event by
// checking it, [Trust] makes one from the offsets a reader found while it
// checked the same bytes, and [TrustRow] vouches for an encoder's row. The
// public packages expose Event under their own names and never let other
// callers vouch for bytes they have not checked.
package checked

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math/bits"
	"strconv"
	"strings"
	"unsafe"

	"github.com/tidwall/gjson"

	"github.com/s2segment/s2segment/internal/jsontext"
)

// MaxDepth is the deepest nesting of arrays and objects an Event may have.
const MaxDepth = jsontext.MaxDepth

// Member is one member of an event's top-level object: the byte offsets in
// the event of its key (quotes included) and of its value.
type Member struct {
	KeyStart, KeyEnd     uint32
	ValueStart, ValueEnd uint32
}

// Event is a JSON object that has been checked once: well-formed (RFC
// 8259), valid UTF-8, nested at most MaxDepth deep, with its top-level
// members in order. The zero Event holds nothing and is not an object.
// An Event never modifies its bytes; they must not be modified while it is
// in use.
type Event struct {
	data    []byte
	members []Member
}

// Bytes returns the event's JSON text.
func (e *Event) Bytes() []byte { return e.data }

// Valid reports whether e holds a checked object (false for the zero Event).
func (e *Event) Valid() bool { return e.data != nil }

// Len returns the number of top-level members.
func (e *Event) Len() int { return len(e.members) }

// Key returns the raw text of the i-th member's key, quotes included.
func (e *Event) Key(i int) string {
	m := e.members[i]
	return bytesToString(e.data[m.KeyStart:m.KeyEnd])
}

// Value returns the raw JSON text of the i-th member's value.
func (e *Event) Value(i int) string {
	m := e.members[i]
	return bytesToString(e.data[m.ValueStart:m.ValueEnd])
}

// KeyString returns the i-th member's key, unescaped.
func (e *Event) KeyString(i int) string { return Unquote(e.Key(i)) }

// Trust returns the Event of data, whose members a reader of this module
// found while checking data as Scan would. members is kept.
func Trust(data []byte, members []Member) Event {
	if data == nil {
		data = []byte{}
	}
	return Event{data: data, members: members}
}

// SyntaxError is JSON that Scan refuses: the byte offset of the problem
// and what was expected there.
type SyntaxError struct {
	Offset int
	Msg    string
	Err    error // ErrMalformed, ErrInvalidUTF8, ErrTooDeep or ErrNotObject
}

// Error returns "invalid JSON at byte offset N: msg".
func (e *SyntaxError) Error() string {
	return "invalid JSON at byte offset " + strconv.Itoa(e.Offset) + ": " + e.Msg
}

// Unwrap returns Err.
func (e *SyntaxError) Unwrap() error { return e.Err }

// Sentinel errors wrapped by *SyntaxError.
var (
	ErrMalformed   = errors.New("malformed JSON")
	ErrInvalidUTF8 = errors.New("invalid UTF-8")
	ErrTooDeep     = errors.New("JSON nested too deep")
	ErrNotObject   = errors.New("not a JSON object")
)

// Scan checks data, one JSON object with optional white space around it,
// and returns it as an Event whose members are appended to members[:0]
// (pass the previous Event's to reuse its memory). It reads each byte once.
func Scan(data []byte, members []Member) (Event, error) {
	if uint64(len(data)) > 1<<32-1 {
		return Event{}, &SyntaxError{Offset: 0, Msg: "the event is larger than 4 GiB", Err: ErrMalformed}
	}
	s := scanner{b: data}
	ms, err := s.object(members[:0])
	if err != nil {
		return Event{}, err
	}
	return Event{data: data, members: ms}, nil
}

// scanner checks one event held in memory.
type scanner struct {
	b []byte
	i int
	// The containers open below the top level: n of them, the first 64 as
	// bits of objs (1 for an object), the deeper ones in deep.
	n    int
	objs uint64
	deep []byte
}

func (s *scanner) push(c byte) {
	if s.n < 64 {
		if c == '{' {
			s.objs |= 1 << s.n
		} else {
			s.objs &^= 1 << s.n
		}
	} else {
		s.deep = append(s.deep[:s.n-64], c)
	}
	s.n++
}

func (s *scanner) top() byte {
	k := s.n - 1
	if k < 64 {
		if s.objs>>k&1 != 0 {
			return '{'
		}
		return '['
	}
	return s.deep[k-64]
}

func (s *scanner) fail(err error, format string, args ...any) error {
	return &SyntaxError{Offset: s.i, Msg: fmt.Sprintf(format, args...), Err: err}
}

// describe names the byte at i for an error message.
func (s *scanner) describe() string {
	if s.i >= len(s.b) {
		return "the end of the input"
	}
	c := s.b[s.i]
	switch {
	case c == '\'':
		return `"'"`
	case c >= 0x20 && c < 0x7f:
		return "'" + string(rune(c)) + "'"
	}
	return fmt.Sprintf("byte 0x%02x", c)
}

func (s *scanner) expected(what string) error {
	return s.fail(ErrMalformed, "expected %s, got %s", what, s.describe())
}

func (s *scanner) space() {
	for s.i < len(s.b) {
		switch s.b[s.i] {
		case ' ', '\t', '\n', '\r':
			s.i++
		default:
			return
		}
	}
}

// object scans the top-level object and records its members.
func (s *scanner) object(ms []Member) ([]Member, error) {
	s.space()
	if s.i >= len(s.b) || s.b[s.i] != '{' {
		if s.i < len(s.b) {
			return nil, s.fail(ErrNotObject, "expected a JSON object, got %s", kindName(s.b[s.i]))
		}
		return nil, s.fail(ErrMalformed, "expected a JSON object, got the end of the input")
	}
	s.i++
	s.space()
	if s.i < len(s.b) && s.b[s.i] == '}' {
		s.i++
	} else {
		for {
			if s.i >= len(s.b) || s.b[s.i] != '"' {
				return nil, s.expected("a string key")
			}
			ks := s.i
			if err := s.str(); err != nil {
				return nil, err
			}
			ke := s.i
			s.space()
			if s.i >= len(s.b) || s.b[s.i] != ':' {
				return nil, s.expected("':' after an object key")
			}
			s.i++
			s.space()
			vs := s.i
			if err := s.value(); err != nil {
				return nil, err
			}
			ms = append(ms, Member{KeyStart: uint32(ks), KeyEnd: uint32(ke), ValueStart: uint32(vs), ValueEnd: uint32(s.i)})
			s.space()
			if s.i < len(s.b) && s.b[s.i] == ',' {
				s.i++
				s.space()
				continue
			}
			if s.i < len(s.b) && s.b[s.i] == '}' {
				s.i++
				break
			}
			return nil, s.expected("',' or '}' after an object member")
		}
	}
	s.space()
	if s.i < len(s.b) {
		return nil, s.expected("the end of the input after the object")
	}
	return ms, nil
}

// value scans one value at i (not white space) below the top level,
// without recursion.
func (s *scanner) value() error {
	s.n = 0
	for {
		if s.i >= len(s.b) {
			return s.expected("a JSON value")
		}
		switch c := s.b[s.i]; {
		case c == '{' || c == '[':
			if s.n+1 >= MaxDepth {
				return s.fail(ErrTooDeep, "nested more than %d levels deep", MaxDepth)
			}
			s.i++
			s.space()
			if s.i < len(s.b) && s.b[s.i] == c+2 { // '{'+2 is '}', '['+2 is ']'
				s.i++
				break
			}
			s.push(c)
			if c == '{' {
				if err := s.key(); err != nil {
					return err
				}
			}
			s.space()
			continue
		case c == '"':
			if err := s.str(); err != nil {
				return err
			}
		case c == '-' || c >= '0' && c <= '9':
			if err := s.number(); err != nil {
				return err
			}
		case c == 't':
			if err := s.literal("true"); err != nil {
				return err
			}
		case c == 'f':
			if err := s.literal("false"); err != nil {
				return err
			}
		case c == 'n':
			if err := s.literal("null"); err != nil {
				return err
			}
		default:
			return s.expected("a JSON value")
		}
		// A value ended: close the containers it completes.
		for {
			if s.n == 0 {
				return nil
			}
			top := s.top()
			s.space()
			if s.i < len(s.b) {
				if c := s.b[s.i]; c == ',' {
					s.i++
					s.space()
					if top == '{' {
						if err := s.key(); err != nil {
							return err
						}
						s.space()
					}
					break
				} else if c == top+2 {
					s.i++
					s.n--
					continue
				}
			}
			if top == '{' {
				return s.expected("',' or '}' after an object member")
			}
			return s.expected("',' or ']' after an array element")
		}
	}
}

// key scans an object key and its colon.
func (s *scanner) key() error {
	if s.i >= len(s.b) || s.b[s.i] != '"' {
		return s.expected("a string key")
	}
	if err := s.str(); err != nil {
		return err
	}
	s.space()
	if s.i >= len(s.b) || s.b[s.i] != ':' {
		return s.expected("':' after an object key")
	}
	s.i++
	s.space()
	return nil
}

// Word-at-a-time masks: one byte repeated eight times.
const (
	ones = 0x0101010101010101
	high = 0x8080808080808080
)

// special returns the mask of the bytes of w that need a closer look in a
// string: '"', '\\', control characters and non-ASCII bytes. The lowest
// marked byte is always a true match (a borrow only marks lanes above one
// that is marked already).
func special(w uint64) uint64 {
	q := w ^ ('"' * ones)
	bs := w ^ ('\\' * ones)
	return (w | (w-0x20*ones)&^w | (q-ones)&^q | (bs-ones)&^bs) & high
}

// str scans the string whose opening quote is at i.
func (s *scanner) str() error {
	b := s.b
	start := s.i
	i := s.i + 1
	for {
		for i+8 <= len(b) {
			if m := special(binary.LittleEndian.Uint64(b[i:])); m != 0 {
				i += bits.TrailingZeros64(m) >> 3
				goto look
			}
			i += 8
		}
		for i < len(b) && plain[b[i]] {
			i++
		}
	look:
		if i >= len(b) {
			s.i = start
			return s.fail(ErrMalformed, "unterminated string")
		}
		switch c := b[i]; {
		case c == '"':
			s.i = i + 1
			return nil
		case c == '\\':
			if i+1 >= len(b) {
				s.i = start
				return s.fail(ErrMalformed, "unterminated string")
			}
			switch b[i+1] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				i += 2
			case 'u':
				for k := i + 2; k < i+6; k++ {
					if k >= len(b) || !isHex(b[k]) {
						s.i = k
						return s.expected(`a hexadecimal digit in a \u escape`)
					}
				}
				i += 6
			default:
				s.i = i + 1
				return s.expected(`one of "\/bfnrtu after a backslash`)
			}
		case c < 0x20:
			s.i = i
			return s.fail(ErrMalformed, "control character 0x%02x in a string (it must be escaped)", c)
		default:
			n := utf8Len(b[i:])
			if n == 0 {
				s.i = i
				return s.fail(ErrInvalidUTF8, "invalid UTF-8 in a string")
			}
			i += n
		}
	}
}

// plain marks the bytes a string holds without a closer look.
var plain = func() (t [256]bool) {
	for c := 0x20; c < 0x80; c++ {
		t[c] = c != '"' && c != '\\'
	}
	return t
}()

// utf8Len returns the length of the valid UTF-8 sequence that starts b (its
// first byte is not ASCII), or 0 when it is not valid (RFC 3629: no
// overlong forms, no surrogates, nothing above U+10FFFF).
func utf8Len(b []byte) int {
	c := b[0]
	cont := func(k int) bool { return k < len(b) && b[k]&0xc0 == 0x80 }
	switch {
	case c >= 0xc2 && c <= 0xdf:
		if cont(1) {
			return 2
		}
	case c >= 0xe0 && c <= 0xef:
		if !cont(1) || !cont(2) {
			return 0
		}
		if c == 0xe0 && b[1] < 0xa0 || c == 0xed && b[1] > 0x9f {
			return 0
		}
		return 3
	case c >= 0xf0 && c <= 0xf4:
		if !cont(1) || !cont(2) || !cont(3) {
			return 0
		}
		if c == 0xf0 && b[1] < 0x90 || c == 0xf4 && b[1] > 0x8f {
			return 0
		}
		return 4
	}
	return 0
}

func isHex(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F'
}

func (s *scanner) digits() int {
	n := s.i
	for s.i < len(s.b) && s.b[s.i] >= '0' && s.b[s.i] <= '9' {
		s.i++
	}
	return s.i - n
}

// number scans -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?
func (s *scanner) number() error {
	if s.b[s.i] == '-' {
		s.i++
	}
	switch {
	case s.i < len(s.b) && s.b[s.i] == '0':
		s.i++
	case s.i < len(s.b) && s.b[s.i] >= '1' && s.b[s.i] <= '9':
		s.digits()
	default:
		return s.expected("a digit")
	}
	if s.i < len(s.b) && s.b[s.i] == '.' {
		s.i++
		if s.digits() == 0 {
			return s.expected("a digit after the decimal point")
		}
	}
	if s.i < len(s.b) && (s.b[s.i] == 'e' || s.b[s.i] == 'E') {
		s.i++
		if s.i < len(s.b) && (s.b[s.i] == '+' || s.b[s.i] == '-') {
			s.i++
		}
		if s.digits() == 0 {
			return s.expected("a digit in the exponent")
		}
	}
	return nil
}

func (s *scanner) literal(word string) error {
	if len(s.b)-s.i >= len(word) && bytesToString(s.b[s.i:s.i+len(word)]) == word {
		s.i += len(word)
		return nil
	}
	for k := 0; k < len(word); k++ {
		if s.i >= len(s.b) || s.b[s.i] != word[k] {
			return s.expected(strconv.Quote(word))
		}
		s.i++
	}
	return nil
}

func kindName(c byte) string {
	switch c {
	case '[':
		return "an array"
	case '"':
		return "a string"
	case 't', 'f':
		return "a boolean"
	case 'n':
		return "null"
	case '-', '0', '1', '2', '3', '4', '5', '6', '7', '8', '9':
		return "a number"
	}
	return "'" + string(rune(c)) + "'"
}

// Unquote returns the text of a raw JSON string that Scan accepted (quotes
// included), as gjson reads it.
func Unquote(raw string) string {
	if len(raw) >= 2 && strings.IndexByte(raw, '\\') < 0 {
		return raw[1 : len(raw)-1]
	}
	return gjson.Parse(raw).Str
}

// Row is the argument text of one row that this module's row encoder wrote
// from a checked Event: the batch packer takes it without scanning it again.
type Row struct{ b []byte }

// TrustRow vouches for b, a row the encoder just wrote.
func TrustRow(b []byte) Row { return Row{b} }

// Bytes returns the row's text.
func (r Row) Bytes() []byte { return r.b }

func bytesToString(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	return unsafe.String(&b[0], len(b))
}

// MembersOf returns e's member slice, for reuse by the next Scan.
func MembersOf(e *Event) []Member { return e.members }
