package destination

import (
	"errors"
	"fmt"

	"github.com/s2segment/s2segment/internal/jsontext"
)

// MaxDepth is the deepest nesting of arrays and objects the package reads
// from a caller: events, mappings and settings. It is encoding/json's
// limit. Deeper input is refused with a *DepthError before any recursive
// parser (gjson's validator among them) sees it: on Go's 1 GB stack they
// die of a fatal stack overflow, which no recover can catch, at a few
// million levels.
const MaxDepth = jsontext.MaxDepth

// ErrTooDeep is wrapped by *DepthError.
var ErrTooDeep = errors.New("JSON nested too deep")

// DepthError is JSON whose arrays and objects nest deeper than Limit.
type DepthError struct {
	// Offset is the byte offset of the bracket that opens level Limit+1.
	Offset int
	// Limit is the deepest nesting allowed (MaxDepth).
	Limit int
}

func (e *DepthError) Error() string {
	return fmt.Sprintf("nested more than %d levels deep at byte offset %d", e.Limit, e.Offset)
}

// Unwrap makes errors.Is(err, ErrTooDeep) hold.
func (e *DepthError) Unwrap() error { return ErrTooDeep }

// CheckDepth returns a *DepthError when data nests arrays and objects more
// than MaxDepth levels deep, and nil otherwise. It is the check to run on
// untrusted JSON before gjson.ValidBytes or any other recursive parser;
// every entry point of the package that validates its input runs it first.
//
// It scans bytes, without recursion, and does not check the syntax: brackets
// inside strings (escapes included) do not count, and unbalanced or
// unterminated input is measured as far as it goes. Input of MaxDepth bytes
// or fewer cannot nest deeper and is not scanned, so ordinary events cost
// nothing.
func CheckDepth(data []byte) error {
	if len(data) <= MaxDepth {
		return nil
	}
	return checkDepth(bytesToString(data), MaxDepth)
}

// checkDepth is CheckDepth with any limit, over a string.
func checkDepth(s string, limit int) error {
	if at := jsontext.TooDeep(s, limit); at >= 0 {
		return &DepthError{Offset: at, Limit: limit}
	}
	return nil
}
