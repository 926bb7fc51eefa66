package replay

import (
	"strconv"
	"unicode/utf8"

	"github.com/tidwall/gjson"

	"github.com/s2segment/s2segment/destination"
)

// writeReport appends the report line of one item.
func (c *collector) writeReport(it *item, kind Kind, r *destination.Result) {
	if c.report == nil || c.reportErr != nil {
		return
	}
	b := append(c.line[:0], `{"source":`...)
	if it.err != nil {
		e := it.err
		b = appendJSONString(b, e.Source)
		if e.Index >= 0 {
			b = append(b, `,"line":`...)
			b = strconv.AppendInt(b, int64(e.Line), 10)
			b = append(b, `,"index":`...)
			b = strconv.AppendInt(b, int64(e.Index), 10)
		}
		if e.Offset >= 0 {
			b = append(b, `,"offset":`...)
			b = strconv.AppendInt(b, e.Offset, 10)
		}
		b = append(b, `,"status":"read_error","error":`...)
		b = appendJSONString(b, e.Error())
	} else {
		ev := it.ev
		b = appendJSONString(b, ev.Source)
		b = append(b, `,"line":`...)
		b = strconv.AppendInt(b, int64(ev.Line), 10)
		b = append(b, `,"index":`...)
		b = strconv.AppendInt(b, int64(ev.Index), 10)
		fields := gjson.GetManyBytes(ev.Data, "messageId", "type")
		if fields[0].Exists() {
			b = append(b, `,"messageId":`...)
			b = appendJSONString(b, fields[0].String())
		}
		if fields[1].Exists() {
			b = append(b, `,"type":`...)
			b = appendJSONString(b, fields[1].String())
		}
		b = append(b, `,"status":"`...)
		b = append(b, kind.String()...)
		b = append(b, '"')
		if kind != Written {
			b = append(b, `,"code":`...)
			b = strconv.AppendInt(b, int64(r.Status), 10)
			b = append(b, `,"error":`...)
			b = appendJSONString(b, r.ErrorMessage)
		}
	}
	b = append(b, "}\n"...)
	c.line = b
	if _, err := c.report.Write(b); err != nil {
		c.reportErr = err
	}
}

// appendJSONString appends s as a JSON string; bytes that are not valid
// UTF-8 become U+FFFD.
func appendJSONString(dst []byte, s string) []byte {
	const hex = "0123456789abcdef"
	dst = append(dst, '"')
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			switch {
			case c == '"' || c == '\\':
				dst = append(dst, '\\', c)
			case c == '\n':
				dst = append(dst, '\\', 'n')
			case c == '\r':
				dst = append(dst, '\\', 'r')
			case c == '\t':
				dst = append(dst, '\\', 't')
			case c < 0x20:
				dst = append(dst, '\\', 'u', '0', '0', hex[c>>4], hex[c&15])
			default:
				dst = append(dst, c)
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			dst = append(dst, `\ufffd`...)
		} else {
			dst = append(dst, s[i:i+size]...)
		}
		i += size
	}
	return append(dst, '"')
}
