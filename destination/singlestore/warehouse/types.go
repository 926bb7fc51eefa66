package warehouse

import (
	"math"
	"math/big"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/s2segment/s2segment/internal/jsontext"
)

// Type is the SQL type of a column.
type Type uint8

// Column types. The zero Type is TypeUnknown: a column of a type the engine
// does not write (created by someone else), which takes no value.
const (
	TypeUnknown  Type = iota
	TypeBigInt        // BIGINT: integers that fit int64
	TypeDouble        // DOUBLE: other numbers
	TypeBool          // BOOL (TINYINT(1))
	TypeDateTime      // DATETIME(6), in UTC
	TypeText          // TEXT, up to 65,535 bytes
	TypeLongText      // LONGTEXT
	TypeJSON          // JSON: arrays
	TypeID            // VARCHAR(255) NOT NULL: the id key
)

// MaxTextBytes is the most bytes a TEXT column holds.
const MaxTextBytes = 65535

// MaxIDLength is the most characters of an id (the VARCHAR(255) key).
const MaxIDLength = 255

// SQL returns the type as written in a column definition.
func (t Type) SQL() string {
	switch t {
	case TypeBigInt:
		return "BIGINT"
	case TypeDouble:
		return "DOUBLE"
	case TypeBool:
		return "BOOL"
	case TypeDateTime:
		return "DATETIME(6)"
	case TypeText:
		return "TEXT"
	case TypeLongText:
		return "LONGTEXT"
	case TypeJSON:
		return "JSON"
	case TypeID:
		return "VARCHAR(255) NOT NULL"
	}
	return "UNKNOWN"
}

// String returns SQL().
func (t Type) String() string { return t.SQL() }

// ParseColumnType reads a column's type from information_schema: its
// DATA_TYPE and COLUMN_TYPE. It returns the Type and, for text types, the
// most bytes (or, for VARCHAR, characters) it holds. MariaDB reports JSON
// columns as longtext; they take what a LONGTEXT takes.
func ParseColumnType(dataType, columnType string) (Type, int64) {
	switch strings.ToLower(dataType) {
	case "bigint":
		return TypeBigInt, 0
	case "double":
		return TypeDouble, 0
	case "tinyint":
		if strings.HasPrefix(strings.ToLower(columnType), "tinyint(1)") {
			return TypeBool, 0
		}
	case "datetime":
		if strings.Contains(columnType, "(6)") {
			return TypeDateTime, 0
		}
	case "tinytext":
		return TypeText, 255
	case "text":
		return TypeText, MaxTextBytes
	case "mediumtext":
		return TypeText, 1<<24 - 1
	case "longtext":
		return TypeLongText, 1<<32 - 1
	case "varchar":
		ct := strings.ToLower(columnType)
		if i := strings.IndexByte(ct, '('); i >= 0 {
			if n, err := strconv.ParseInt(strings.TrimSuffix(ct[i+1:], ")"), 10, 64); err == nil {
				return TypeText, -n // negative: characters
			}
		}
	case "json":
		return TypeJSON, 0
	}
	return TypeUnknown, 0
}

// Kind is the kind of a JSON value, as the engine types it.
type Kind uint8

// Value kinds.
const (
	KindInt    Kind = iota + 1 // an integer that fits int64
	KindBigInt                 // an integer beyond int64
	KindFloat                  // any other number
	KindBool                   // true or false
	KindTime                   // a string holding an ISO-8601 date and time
	KindString                 // any other string
	KindArray                  // an array
)

func (k Kind) String() string {
	switch k {
	case KindInt:
		return "integer"
	case KindBigInt:
		return "integer beyond int64"
	case KindFloat:
		return "number"
	case KindBool:
		return "boolean"
	case KindTime:
		return "timestamp"
	case KindString:
		return "string"
	case KindArray:
		return "array"
	}
	return "value"
}

// Value is one typed value of a row.
type Value struct {
	Kind Kind
	// Raw is the value's JSON text as the event has it.
	Raw string
	// Str is the decoded string, for KindTime and KindString.
	Str string
	// Time is the instant in UTC, for KindTime.
	Time time.Time
}

// infer returns the type of a new column created for values, in the order
// they come: the first value's type, except that integers and other
// numbers together make a DOUBLE, and text past MaxTextBytes a LONGTEXT.
func infer(values []Value) Type {
	if len(values) == 0 {
		return TypeUnknown
	}
	var t Type
	switch values[0].Kind {
	case KindInt:
		t = TypeBigInt
	case KindFloat:
		t = TypeDouble
	case KindBool:
		t = TypeBool
	case KindTime:
		t = TypeDateTime
	case KindArray:
		t = TypeJSON
	default: // KindString, KindBigInt: text keeps every character and digit
		t = TypeText
	}
	for _, v := range values[1:] {
		if t == TypeBigInt && v.Kind == KindFloat {
			t = TypeDouble
		}
		if t == TypeText && len(v.textOf()) > MaxTextBytes {
			t = TypeLongText
		}
	}
	if t == TypeText && len(values[0].textOf()) > MaxTextBytes {
		t = TypeLongText
	}
	return t
}

// textOf is the text a text column stores for v: a string's characters,
// any other value's JSON text.
func (v Value) textOf() string {
	if v.Kind == KindString || v.Kind == KindTime {
		return v.Str
	}
	return v.Raw
}

// appendArg appends v as the JSON text of a Data API argument for a column
// of type t (whose text limit is limit: bytes, or characters when
// negative), and reports whether the column holds v exactly. When it does
// not, dst is returned unchanged and the value belongs in _unmapped.
func appendArg(dst []byte, t Type, limit int64, v Value) ([]byte, bool) {
	switch t {
	case TypeBigInt:
		if v.Kind == KindInt {
			return append(dst, v.Raw...), true
		}
	case TypeDouble:
		switch v.Kind {
		case KindFloat:
			f, err := strconv.ParseFloat(v.Raw, 64)
			if err != nil || math.IsInf(f, 0) {
				return dst, false
			}
			return append(dst, v.Raw...), true
		case KindInt, KindBigInt:
			if exactDouble(v.Raw) {
				return append(dst, v.Raw...), true
			}
		}
	case TypeBool:
		if v.Kind == KindBool {
			return append(dst, v.Raw...), true
		}
	case TypeDateTime:
		if v.Kind == KindTime {
			return appendDateTime(dst, v.Time), true
		}
	case TypeText, TypeLongText:
		s := v.textOf()
		if limit == 0 {
			limit = MaxTextBytes
			if t == TypeLongText {
				limit = 1<<32 - 1
			}
		}
		if (limit > 0 && int64(len(s)) > limit) || (limit < 0 && int64(utf8.RuneCountInString(s)) > -limit) {
			return dst, false
		}
		if (v.Kind == KindString || v.Kind == KindTime) && len(v.Raw) == len(s)+2 && strings.IndexByte(v.Raw, '\\') < 0 {
			// The string as sent has nothing escaped: its JSON text is the
			// argument as it is.
			return append(dst, v.Raw...), true
		}
		return jsontext.AppendString(dst, s), true
	case TypeJSON:
		if v.Kind == KindArray {
			return append(dst, v.Raw...), true
		}
	}
	return dst, false
}

// exactDouble reports whether the integer digits s are held exactly by a
// float64.
func exactDouble(s string) bool {
	if n, err := strconv.ParseInt(s, 10, 64); err == nil {
		f := float64(n)
		return f >= -(1<<63) && f < 1<<63 && int64(f) == n
	}
	var i big.Int
	if _, ok := i.SetString(s, 10); !ok {
		return false
	}
	f, acc := new(big.Float).SetInt(&i).Float64()
	return acc == big.Exact && !math.IsInf(f, 0)
}

// appendDateTime appends t as a JSON string in SingleStore's DATETIME(6)
// literal form, "YYYY-MM-DD HH:MM:SS.ffffff", in UTC.
func appendDateTime(dst []byte, t time.Time) []byte {
	dst = append(dst, '"')
	dst = t.UTC().AppendFormat(dst, "2006-01-02 15:04:05.000000")
	return append(dst, '"')
}

// datetimeRange reports whether t fits a DATETIME(6) column.
func datetimeRange(t time.Time) bool {
	y := t.UTC().Year()
	return y >= 1000 && y <= 9999
}
