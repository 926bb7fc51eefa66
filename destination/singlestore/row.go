package singlestore

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/tidwall/gjson"

	"github.com/s2segment/s2segment/destination"
	"github.com/s2segment/s2segment/internal/jsontext"
)

// JSONMode says how the JSON columns (properties, traits, context) are sent.
type JSONMode uint8

const (
	// JSONRaw sends them as raw JSON values, as Segment does (the zero value).
	JSONRaw JSONMode = iota
	// JSONString sends them as JSON-encoded strings, for servers that want
	// a string argument for a JSON column.
	JSONString
)

// Options configure an Encoder (and a Writer). The zero value is the Send
// Data action with its default mapping and subscription, the dedupe
// schema and raw JSON columns.
type Options struct {
	// Mapping overlays the action's default mapping (see destination.Config).
	Mapping json.RawMessage
	// Subscription replaces the default subscription when not "".
	Subscription string
	// Schema is the schema of the table written; it decides the INSERT and
	// the length allowed for messageId.
	Schema Schema
	// JSONColumns is how properties, traits and context are sent.
	JSONColumns JSONMode
}

// Encoder turns raw events into rows of the table: the Send Data pipeline
// (subscription, mapping, validation) followed by the row encoding. It is
// immutable and safe for concurrent use.
type Encoder struct {
	pipeline *destination.Pipeline
	opts     Options
}

// NewEncoder compiles the Send Data action with opts' mapping and
// subscription. A mapping or subscription that does not compile is an
// error that says what is wrong and where.
func NewEncoder(opts Options) (*Encoder, error) { return newEncoder(SendAction(), opts) }

// newEncoder compiles action, the Send Data action or a copy of it with
// perform functions, with opts.
func newEncoder(action *destination.Action, opts Options) (*Encoder, error) {
	p, err := action.Compile(destination.Config{Mapping: opts.Mapping, Subscription: opts.Subscription})
	if err != nil {
		return nil, err
	}
	if opts.Schema != SchemaDedupe && opts.Schema != SchemaReference {
		return nil, fmt.Errorf("creating encoder: unknown schema %d", opts.Schema)
	}
	return &Encoder{pipeline: p, opts: opts}, nil
}

// Pipeline returns the compiled Send Data action.
func (e *Encoder) Pipeline() *destination.Pipeline { return e.pipeline }

// Process runs one event through the action (see destination.Pipeline.Process,
// with Batched delivery, as Segment's batches are validated).
func (e *Encoder) Process(buf, event []byte, out *destination.Payload) ([]byte, error) {
	return e.pipeline.Process(buf, event, destination.Batched, out)
}

// Column indexes: the Send Data fields come in column order.
const (
	colMessageID = iota
	colTimestamp
	colType
	colEvent
	colName
	colProperties
	colUserID
	colAnonymousID
	colGroupID
	colTraits
	colContext
	numColumns
)

var columnKeys = [numColumns]string{
	FieldMessageID, FieldTimestamp, FieldType, FieldEvent, FieldName, FieldProperties,
	FieldUserID, FieldAnonymousID, FieldGroupID, FieldTraits, FieldContext,
}

var columnLabels = [numColumns]string{
	"Message ID", "Timestamp", "Type", "Event", "Name", "Properties",
	"User ID", "Anonymous ID", "Group ID", "Traits", "Context",
}

// AppendRow appends the row of a validated payload to dst: the JSON text
// of its 11 column values joined by commas, as batch.Packer takes them.
// Strings and JSON values are copied as the payload's own JSON text (big
// integers keep their digits); the timestamp is converted to UTC
// "YYYY-MM-DD HH:MM:SS.ffffff" (truncated, not rounded); absent values are
// null.
//
// A value the table cannot hold is a *destination.ValidationError (a 400
// for that event alone): a timestamp that is not a date and time or falls
// outside DATETIME(6)'s years 1000 to 9999, a text longer than a TEXT
// column, a messageId longer than the dedupe schema's 255 characters.
func (e *Encoder) AppendRow(dst []byte, p *destination.Payload) ([]byte, error) {
	start := len(dst)
	for c := 0; c < numColumns; c++ {
		if c > 0 {
			dst = append(dst, ',')
		}
		v := p.Value(c)
		if !v.Exists() || v.Type == gjson.Null {
			dst = append(dst, "null"...)
			continue
		}
		switch c {
		case colTimestamp:
			t, err := destination.ParseTimeValue(v)
			if err != nil || t.Year() < 1000 || t.Year() > 9999 {
				return dst[:start], destination.NewValidationError("/"+FieldTimestamp, "Timestamp must be a valid date and time string but it was not.")
			}
			dst = append(dst, '"')
			dst = AppendDateTime(dst, t)
			dst = append(dst, '"')
		case colProperties, colTraits, colContext:
			if e.opts.JSONColumns == JSONString {
				dst = appendJSONString(dst, v.Raw)
			} else {
				dst = appendJSONText(dst, v.Raw)
			}
		default:
			if v.Type != gjson.String {
				// Validation makes these strings; anything else is a bug
				// upstream, and must not reach the table as another type.
				return dst[:start], destination.NewValidationError("/"+columnKeys[c], columnLabels[c]+" must be a string but it was not.")
			}
			if err := e.checkText(c, v.Str); err != nil {
				return dst[:start], err
			}
			dst = append(dst, v.Raw...)
		}
	}
	return dst, nil
}

func (e *Encoder) checkText(c int, s string) error {
	if c == colMessageID && e.opts.Schema == SchemaDedupe {
		if len(s) <= MaxMessageIDLength {
			return nil // at most as many characters as bytes
		}
		if n := utf8.RuneCountInString(s); n > MaxMessageIDLength {
			return destination.NewValidationError("/"+columnKeys[c], fmt.Sprintf("Message ID must be %d characters or fewer but it was %d characters.", MaxMessageIDLength, n))
		}
		return nil
	}
	if len(s) > MaxTextBytes {
		return destination.NewValidationError("/"+columnKeys[c], fmt.Sprintf("%s must be %d bytes or fewer but it was %d bytes.", columnLabels[c], MaxTextBytes, len(s)))
	}
	return nil
}

// AppendDateTime appends t in UTC as a DATETIME(6) literal,
// "YYYY-MM-DD HH:MM:SS.ffffff", truncating to microseconds.
func AppendDateTime(dst []byte, t time.Time) []byte {
	t = t.UTC()
	y, mo, d := t.Date()
	h, mi, s := t.Clock()
	us := t.Nanosecond() / 1000
	dst = appendPadded(dst, y, 4)
	dst = append(dst, '-')
	dst = appendPadded(dst, int(mo), 2)
	dst = append(dst, '-')
	dst = appendPadded(dst, d, 2)
	dst = append(dst, ' ')
	dst = appendPadded(dst, h, 2)
	dst = append(dst, ':')
	dst = appendPadded(dst, mi, 2)
	dst = append(dst, ':')
	dst = appendPadded(dst, s, 2)
	dst = append(dst, '.')
	return appendPadded(dst, us, 6)
}

func appendPadded(dst []byte, v, width int) []byte {
	var buf [20]byte
	b := strconv.AppendInt(buf[:0], int64(v), 10)
	for i := len(b); i < width; i++ {
		dst = append(dst, '0')
	}
	return append(dst, b...)
}

// appendJSONText appends the JSON text s of a JSON column with every
// supplementary-plane character written as a UTF-16 escape pair
// ("\uD83D\uDE00") turned into its raw UTF-8 bytes: users of SingleStore's
// Laravel driver report that such escapes break in a JSON column while the
// raw bytes are stored correctly (singlestore-labs/singlestoredb-laravel-driver
// issue 56). Every other byte,
// other escapes and lone surrogates included, is copied as it is. Text
// without a "\u" is copied in one append.
func appendJSONText(dst []byte, s string) []byte {
	i := indexPair(s, 0)
	if i < 0 {
		return append(dst, s...)
	}
	last := 0
	for i >= 0 {
		dst = append(dst, s[last:i]...)
		dst = utf8.AppendRune(dst, pairRune(s[i:]))
		last = i + 12
		i = indexPair(s, last)
	}
	return append(dst, s[last:]...)
}

// indexPair returns the offset, from from on, of the next escape pair of a
// high and a low surrogate in JSON text s, or -1. Backslashes come only in
// pairs with the byte they escape, so a scan that steps over each escape
// never mistakes an escaped backslash followed by "u" for an escape.
func indexPair(s string, from int) int {
	for i := from; i < len(s); i++ {
		j := strings.IndexByte(s[i:], '\\')
		if j < 0 {
			return -1
		}
		i += j
		if i+12 <= len(s) && s[i+1] == 'u' && s[i+6] == '\\' && s[i+7] == 'u' {
			hi, ok1 := hex4(s[i+2 : i+6])
			lo, ok2 := hex4(s[i+8 : i+12])
			if ok1 && ok2 && hi >= 0xD800 && hi < 0xDC00 && lo >= 0xDC00 && lo < 0xE000 {
				return i
			}
		}
		i++ // skip the escaped byte
	}
	return -1
}

// pairRune decodes the escape pair at the start of s.
func pairRune(s string) rune {
	hi, _ := hex4(s[2:6])
	lo, _ := hex4(s[8:12])
	return utf16.DecodeRune(rune(hi), rune(lo))
}

func hex4(s string) (uint16, bool) {
	var v uint16
	for i := 0; i < 4; i++ {
		c := s[i]
		switch {
		case c >= '0' && c <= '9':
			c -= '0'
		case c >= 'a' && c <= 'f':
			c -= 'a' - 10
		case c >= 'A' && c <= 'F':
			c -= 'A' - 10
		default:
			return 0, false
		}
		v = v<<4 | uint16(c)
	}
	return v, true
}

// appendJSONString appends s as a JSON string. s is JSON text, so it is
// valid UTF-8 and has no raw control characters except the white space
// JSON allows between tokens. Escape pairs of supplementary-plane
// characters in s are turned into raw UTF-8 first (see appendJSONText).
func appendJSONString(dst []byte, s string) []byte {
	dst = append(dst, '"')
	last := 0
	for i := indexPair(s, 0); i >= 0; i = indexPair(s, last) {
		dst = jsontext.AppendEscaped(dst, s[last:i])
		dst = utf8.AppendRune(dst, pairRune(s[i:]))
		last = i + 12
	}
	dst = jsontext.AppendEscaped(dst, s[last:])
	return append(dst, '"')
}
