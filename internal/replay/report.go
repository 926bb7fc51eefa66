package replay

import (
	"strconv"

	"github.com/tidwall/gjson"

	"github.com/s2segment/s2segment/destination"
	"github.com/s2segment/s2segment/internal/jsontext"
)

// writeReport appends the report line of one item.
func (c *collector) writeReport(it *item, kind Kind, r *destination.Result) {
	if c.report == nil || c.reportErr != nil {
		return
	}
	b := append(c.line[:0], `{"source":`...)
	if it.err != nil {
		e := it.err
		b = jsontext.AppendString(b, e.Source)
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
		b = jsontext.AppendString(b, e.Error())
	} else {
		ev := it.ev
		b = jsontext.AppendString(b, ev.Source)
		b = append(b, `,"line":`...)
		b = strconv.AppendInt(b, int64(ev.Line), 10)
		b = append(b, `,"index":`...)
		b = strconv.AppendInt(b, int64(ev.Index), 10)
		fields := gjson.GetManyBytes(ev.Data, "messageId", "type")
		if fields[0].Exists() {
			b = append(b, `,"messageId":`...)
			b = jsontext.AppendString(b, fields[0].String())
		}
		if fields[1].Exists() {
			b = append(b, `,"type":`...)
			b = jsontext.AppendString(b, fields[1].String())
		}
		b = append(b, `,"status":"`...)
		b = append(b, kind.String()...)
		b = append(b, '"')
		if kind != Written {
			b = append(b, `,"code":`...)
			b = strconv.AppendInt(b, int64(r.Status), 10)
			b = append(b, `,"error":`...)
			b = jsontext.AppendString(b, r.ErrorMessage)
		}
	}
	b = append(b, "}\n"...)
	c.line = b
	if _, err := c.report.Write(b); err != nil {
		c.reportErr = err
	}
}
