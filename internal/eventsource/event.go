package eventsource

import (
	"errors"
	"fmt"
	"io/fs"
	"strconv"
	"strings"

	"github.com/s2segment/s2segment/internal/checked"
)

// Default limits of a [Config] whose fields are zero.
const (
	// DefaultMaxEventBytes is the default limit on one event: 1 MiB, the
	// largest request the SingleStore Data API accepts, so an event above it
	// could never be written as a row.
	DefaultMaxEventBytes = 1 << 20
	// DefaultMaxBatchBytes is the default limit on one top-level value that
	// is a Tracking API batch body. Segment itself accepts 500 KB per batch.
	DefaultMaxBatchBytes = 16 << 20
)

// Sentinel errors wrapped by [Error]. Test with [errors.Is].
var (
	// ErrMalformed is wrapped by errors for input that is not well-formed
	// JSON. The message gives the byte offset and line of the problem and
	// what was expected there.
	ErrMalformed = errors.New("malformed JSON")
	// ErrNotObject is wrapped by errors for a well-formed value that is not
	// a JSON object; the message names what it is ("got array").
	ErrNotObject = errors.New("expected a JSON object")
	// ErrTooLarge is wrapped by errors for an event longer than
	// Config.MaxEventBytes, or a batch body longer than Config.MaxBatchBytes.
	ErrTooLarge = errors.New("too large")
	// ErrInvalidUTF8 is wrapped by errors for a string that is not valid
	// UTF-8; the message gives the offset of the first bad byte.
	ErrInvalidUTF8 = errors.New("invalid UTF-8")
	// ErrTruncated is wrapped by errors for input that ends inside a value,
	// and for a compressed file whose stream is cut short.
	ErrTruncated = errors.New("truncated input")
	// ErrNotBatch is returned by [ExpandBatch] for a body that has no
	// "batch" array.
	ErrNotBatch = errors.New(`expected an object with a "batch" array`)
)

// Format is the layout of the input an event came from.
type Format uint8

// Formats of an input, as reported in [Event.Format] and [Error.Format].
const (
	// FormatStream is a sequence of top-level values: NDJSON, JSON Lines,
	// a file holding a single event, or concatenated JSON values.
	FormatStream Format = iota
	// FormatArray is a top-level JSON array of events.
	FormatArray
	// FormatBatch is a Tracking API batch body ({"batch":[...], ...}).
	FormatBatch
)

// String returns "stream", "array" or "batch".
func (f Format) String() string {
	switch f {
	case FormatStream:
		return "stream"
	case FormatArray:
		return "array"
	case FormatBatch:
		return "batch"
	}
	return "Format(" + strconv.Itoa(int(f)) + ")"
}

// Event is one Segment event read from an input.
type Event struct {
	// Data is the event: one JSON object, well-formed and valid UTF-8. It is
	// never modified once returned and stays valid after later calls; it may
	// share a backing array with neighbouring events.
	Data []byte
	// Source is the path of the file as given or as found in a directory,
	// "<stdin>" for standard input, or "" for [ExpandBatch].
	Source string
	// Format is the layout the event was found in.
	Format Format
	// Line is the 1-based line on which the event starts.
	Line int
	// Index is the 0-based position of the event among its siblings: the
	// element index in an array or a batch, or the ordinal of the top-level
	// value in a stream.
	Index int
	// Offset is the byte offset of the event's first byte in the file (in
	// its decompressed content for gzip files).
	Offset int64

	checked checked.Event
}

// Checked returns Data as it was checked while it was read: the offsets of
// its top-level members come with it, so the pipeline does not walk it
// again (destination.Pipeline.ProcessEvent). An Event not made by this
// package returns the zero checked.Event.
func (e *Event) Checked() checked.Event { return e.checked }

// Config holds the limits of a [Reader]. The zero value is ready to use.
type Config struct {
	// MaxEventBytes is the largest event delivered, in bytes; a longer one
	// is an ErrTooLarge error for that event alone. Zero means
	// DefaultMaxEventBytes.
	MaxEventBytes int
	// MaxBatchBytes is the largest top-level value kept in memory, which is
	// what a Tracking API batch body needs; a longer one is an ErrTooLarge
	// error. Zero means DefaultMaxBatchBytes, or MaxEventBytes when that is
	// larger.
	MaxBatchBytes int
	// FS, when set, is where paths are resolved: they are then slash-
	// separated and relative to its root ("." is the root). When nil, paths
	// name files of the operating system. "-" is standard input either way.
	FS fs.FS
}

// ConfigError reports a [Config] field that cannot be used.
type ConfigError struct {
	Field  string // the Config field
	Value  int    // its value
	Reason string // what was expected
}

// Error returns "eventsource: Config.Field = value: reason".
func (e *ConfigError) Error() string {
	return fmt.Sprintf("eventsource: Config.%s = %d: %s", e.Field, e.Value, e.Reason)
}

// withDefaults validates c and fills in its zero fields.
func (c Config) withDefaults() (Config, error) {
	if c.MaxEventBytes < 0 {
		return c, &ConfigError{Field: "MaxEventBytes", Value: c.MaxEventBytes, Reason: "must not be negative"}
	}
	if c.MaxBatchBytes < 0 {
		return c, &ConfigError{Field: "MaxBatchBytes", Value: c.MaxBatchBytes, Reason: "must not be negative"}
	}
	if c.MaxEventBytes == 0 {
		c.MaxEventBytes = DefaultMaxEventBytes
	}
	if c.MaxBatchBytes == 0 {
		c.MaxBatchBytes = max(DefaultMaxBatchBytes, c.MaxEventBytes)
	}
	if c.MaxBatchBytes < c.MaxEventBytes {
		return c, &ConfigError{Field: "MaxBatchBytes", Value: c.MaxBatchBytes,
			Reason: "must be at least MaxEventBytes (" + strconv.Itoa(c.MaxEventBytes) + ")"}
	}
	return c, nil
}

// Error is a problem with one value or one file. Reading goes on after it.
type Error struct {
	// Source is the file, as in [Event.Source].
	Source string
	// Format is the layout being read when the problem was found.
	Format Format
	// Line is the 1-based line where the value starts, or 0 for a problem
	// with the whole file.
	Line int
	// Index is the position of the value as in [Event.Index], or -1 for a
	// problem with the whole file.
	Index int
	// Offset is the byte offset where the value starts, or -1 for a problem
	// with the whole file that has no position.
	Offset int64
	// Err is what went wrong; it wraps one of the package's sentinel errors
	// or the error of the file system.
	Err error
}

// Error returns the source, the position and the problem, for example
// "events.ndjson: line 7 (byte 1204): expected a JSON object, got array".
func (e *Error) Error() string {
	var b strings.Builder
	if e.Source != "" {
		b.WriteString(e.Source)
		b.WriteString(": ")
	}
	if e.Index >= 0 && e.Format != FormatStream {
		b.WriteString("element ")
		b.WriteString(strconv.Itoa(e.Index))
		if e.Line > 0 {
			b.WriteString(" at ")
		} else {
			b.WriteString(": ")
		}
	}
	if e.Line > 0 {
		b.WriteString("line ")
		b.WriteString(strconv.Itoa(e.Line))
		if e.Offset >= 0 {
			b.WriteString(" (byte ")
			b.WriteString(strconv.FormatInt(e.Offset, 10))
			b.WriteString(")")
		}
		b.WriteString(": ")
	} else if e.Offset >= 0 {
		b.WriteString("byte ")
		b.WriteString(strconv.FormatInt(e.Offset, 10))
		b.WriteString(": ")
	}
	if e.Err != nil {
		b.WriteString(e.Err.Error())
	}
	return b.String()
}

// Unwrap returns e.Err.
func (e *Error) Unwrap() error { return e.Err }
