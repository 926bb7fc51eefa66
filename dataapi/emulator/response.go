package emulator

import (
	"bytes"
	"database/sql"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/s2segment/s2segment/internal/jsontext"
)

// valueKind says how a column's values are written in a JSON response
// (as the Data API's documentation describes them): numbers for integer and floating-point types, embedded JSON
// for JSON columns, base64 strings for binary types, strings for
// everything else (DECIMAL, text, date and time, ENUM, SET).
type valueKind uint8

const (
	kindString valueKind = iota
	kindNumber
	kindFloat32
	kindJSON
	kindBinary
	kindBit
)

// column is one result column.
type column struct {
	name     string
	dbType   string // as go-sql-driver/mysql names it: BIGINT, TEXT, JSON, …
	nullable bool
	kind     valueKind
}

func kindOf(dbType string) valueKind {
	t := strings.TrimPrefix(dbType, "UNSIGNED ")
	switch t {
	case "TINYINT", "SMALLINT", "MEDIUMINT", "INT", "BIGINT", "YEAR", "DOUBLE":
		return kindNumber
	case "FLOAT":
		return kindFloat32
	case "JSON":
		return kindJSON
	case "BLOB", "TINYBLOB", "MEDIUMBLOB", "LONGBLOB", "BINARY", "VARBINARY", "GEOMETRY", "VECTOR":
		return kindBinary
	case "BIT":
		return kindBit
	}
	return kindString
}

func columnsOf(cts []*sql.ColumnType) []column {
	cols := make([]column, len(cts))
	for i, ct := range cts {
		nullable, ok := ct.Nullable()
		cols[i] = column{
			name:     ct.Name(),
			dbType:   ct.DatabaseTypeName(),
			nullable: nullable || !ok,
			kind:     kindOf(ct.DatabaseTypeName()),
		}
	}
	return cols
}

// appendValue appends v, as scanned from column c into an *any, as JSON.
func appendValue(buf []byte, c *column, v any) []byte {
	switch x := v.(type) {
	case nil:
		return append(buf, "null"...)
	case int64:
		return strconv.AppendInt(buf, x, 10)
	case uint64:
		return strconv.AppendUint(buf, x, 10)
	case float64:
		if math.IsNaN(x) || math.IsInf(x, 0) {
			return append(buf, "null"...)
		}
		bits := 64
		if c.kind == kindFloat32 {
			bits = 32
		}
		return strconv.AppendFloat(buf, x, 'g', -1, bits)
	case float32:
		return appendValue(buf, &column{kind: kindFloat32}, float64(x))
	case bool:
		return strconv.AppendBool(buf, x)
	case time.Time:
		return jsontext.AppendString(buf, x.Format("2006-01-02 15:04:05.999999"))
	case string:
		return appendBytesValue(buf, c, []byte(x))
	case []byte:
		return appendBytesValue(buf, c, x)
	}
	return append(buf, "null"...) // not produced by go-sql-driver/mysql
}

func appendBytesValue(buf []byte, c *column, x []byte) []byte {
	switch c.kind {
	case kindNumber, kindFloat32:
		if validNumber(x) {
			return append(buf, x...)
		}
	case kindJSON:
		// Engines format JSON their own way ({"a": 1}); answer compact JSON.
		n := len(buf)
		b := bytes.NewBuffer(buf)
		if json.Compact(b, x) == nil {
			return b.Bytes()
		}
		// go-mysql-server writes control characters inside JSON strings
		// unescaped; escape them and try again.
		if fixed, ok := escapeControls(x); ok && json.Compact(b, fixed) == nil {
			return b.Bytes()
		}
		buf = b.Bytes()[:n]
	case kindBinary:
		buf = append(buf, '"')
		buf = base64.StdEncoding.AppendEncode(buf, x)
		return append(buf, '"')
	case kindBit:
		if len(x) <= 8 {
			var be [8]byte
			copy(be[8-len(x):], x)
			return strconv.AppendUint(buf, binary.BigEndian.Uint64(be[:]), 10)
		}
	}
	return jsontext.AppendBytes(buf, x)
}

// escapeControls returns x with raw control characters inside JSON
// strings written as \u00XX escapes, and whether it changed anything.
func escapeControls(x []byte) ([]byte, bool) {
	var out []byte
	inString, escaped := false, false
	for i, c := range x {
		switch {
		case escaped:
			escaped = false
		case inString && c == '\\':
			escaped = true
		case c == '"':
			inString = !inString
		case inString && c < 0x20:
			if out == nil {
				out = append(make([]byte, 0, len(x)+16), x[:i]...)
			}
			out = jsontext.AppendControl(out, c)
			continue
		}
		if out != nil {
			out = append(out, c)
		}
	}
	return out, out != nil
}

// validNumber reports whether b is a JSON number.
func validNumber(b []byte) bool {
	i, n := 0, len(b)
	if i < n && b[i] == '-' {
		i++
	}
	switch {
	case i < n && b[i] == '0':
		i++
	case i < n && b[i] >= '1' && b[i] <= '9':
		for i < n && b[i] >= '0' && b[i] <= '9' {
			i++
		}
	default:
		return false
	}
	if i < n && b[i] == '.' {
		i++
		if i == n || b[i] < '0' || b[i] > '9' {
			return false
		}
		for i < n && b[i] >= '0' && b[i] <= '9' {
			i++
		}
	}
	if i < n && (b[i] == 'e' || b[i] == 'E') {
		i++
		if i < n && (b[i] == '+' || b[i] == '-') {
			i++
		}
		if i == n || b[i] < '0' || b[i] > '9' {
			return false
		}
		for i < n && b[i] >= '0' && b[i] <= '9' {
			i++
		}
	}
	return i == n
}
