package singlestore

import (
	"encoding/json"
	"fmt"
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/s2segment/s2segment/destination"
	"github.com/tidwall/gjson"
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
func NewEncoder(opts Options) (*Encoder, error) {
	p, err := SendAction().Compile(destination.Config{Mapping: opts.Mapping, Subscription: opts.Subscription})
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
				dst = append(dst, v.Raw...)
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

// appendJSONString appends s as a JSON string. s is JSON text, so it is
// valid UTF-8 and has no raw control characters except the white space
// JSON allows between tokens.
func appendJSONString(dst []byte, s string) []byte {
	dst = append(dst, '"')
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch c {
		case '"', '\\':
			dst = append(dst, '\\', c)
		case '\n':
			dst = append(dst, '\\', 'n')
		case '\r':
			dst = append(dst, '\\', 'r')
		case '\t':
			dst = append(dst, '\\', 't')
		default:
			if c < 0x20 {
				dst = append(dst, `\u00`...)
				dst = append(dst, "0123456789abcdef"[c>>4], "0123456789abcdef"[c&15])
				continue
			}
			dst = append(dst, c)
		}
	}
	return append(dst, '"')
}
