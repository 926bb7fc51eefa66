package destination

import (
	"errors"
	"math"
	"strings"
	"time"

	"github.com/tidwall/gjson"
)

// ErrNotDateTime is returned by ParseTime and ParseTimeValue for a value
// that is not a date and time.
var ErrNotDateTime = errors.New("not a date and time")

// epochMillisThreshold separates epoch seconds from epoch milliseconds in
// ParseTimeValue: a number above it is milliseconds. 1e11 seconds is the
// year 5138; 1e11 milliseconds is March 1973.
const epochMillisThreshold = 1e11

// ParseTimeValue reads a date and time from a JSON value: a string as
// ParseTime reads it, or a number (or a string holding only a number) as
// Unix epoch milliseconds when its magnitude is greater than 1e11 (March
// 1973 in milliseconds, the year 5138 in seconds) and epoch seconds
// otherwise. The result is in UTC.
//
// It is how a perform function reads a field of format "date-time" the way
// validation accepted it: a payload's timestamp (Payload.Value) goes
// through ParseTimeValue to become a column's time.
func ParseTimeValue(v gjson.Result) (time.Time, error) {
	switch v.Type {
	case gjson.Number:
		return epoch(v.Num)
	case gjson.String:
		if isDecimalLiteral(v.Str) {
			return epoch(jsNumber(v.Str))
		}
		return ParseTime(v.Str)
	}
	return time.Time{}, ErrNotDateTime
}

func epoch(f float64) (time.Time, error) {
	if math.IsNaN(f) || math.IsInf(f, 0) || math.Abs(f) > 8.64e15 {
		return time.Time{}, ErrNotDateTime
	}
	ms := f
	if math.Abs(f) <= epochMillisThreshold {
		ms = f * 1000
	}
	sec := math.Floor(ms / 1000)
	nsec := math.Round((ms - sec*1000) * 1e6)
	return time.Unix(int64(sec), int64(nsec)).UTC(), nil
}

// ParseTime reads a date and time in the forms Segment's libraries send and
// its date parsing accepts, and returns it in UTC:
//
//   - ISO 8601 / RFC 3339: 2025-07-07T10:19:25.665Z, with any offset
//     (+02:00, +0200, +02), any number of fractional digits (truncated to
//     nanoseconds), "T", "t" or a space between date and time, and without
//     seconds (2025-07-07T10:19Z); a date alone (2025-07-07) is midnight.
//   - No zone at all means UTC.
//   - Slashes for dashes (2025/07/07 10:19:25).
//   - RFC 1123 and RFC 2822 (Mon, 07 Jul 2025 10:19:25 GMT), ANSI C, and
//     JavaScript's Date#toString (Mon Jul 07 2025 10:19:25 GMT+0200 (…)).
//
// Anything else is ErrNotDateTime.
func ParseTime(s string) (time.Time, error) {
	if t, ok := parseISO(s); ok {
		return t, nil
	}
	s = strings.TrimSpace(s)
	if t, ok := parseISO(s); ok {
		return t, nil
	}
	// Date#toString appends the zone's name in parentheses.
	if i := strings.IndexByte(s, '('); i > 0 && strings.HasSuffix(s, ")") {
		s = strings.TrimSpace(s[:i])
	}
	for _, layout := range otherLayouts {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UTC(), nil
		}
	}
	return time.Time{}, ErrNotDateTime
}

var otherLayouts = []string{
	time.RFC1123,
	time.RFC1123Z,
	"Mon, 2 Jan 2006 15:04:05 MST",
	"Mon, 2 Jan 2006 15:04:05 -0700",
	"2 Jan 2006 15:04:05 -0700",
	"2 Jan 2006 15:04:05 MST",
	time.RFC850,
	time.ANSIC,
	time.UnixDate,
	"Mon Jan 02 2006 15:04:05 GMT-0700",
	"Mon Jan 02 2006 15:04:05 MST-0700",
	"Mon Jan 02 2006 15:04:05",
	"Jan 2, 2006 15:04:05",
	"January 2, 2006 15:04:05",
	"Jan 2, 2006",
	"January 2, 2006",
	"2 January 2006",
	"Mon, 02 Jan 2006",
}

// parseISO parses the ISO 8601 forms without allocating. It is the hot
// path: Segment's timestamps are RFC 3339 strings.
func parseISO(s string) (time.Time, bool) {
	p := 0
	num := func(n int) (int, bool) {
		if p+n > len(s) {
			return 0, false
		}
		v := 0
		for i := 0; i < n; i++ {
			c := s[p+i]
			if c < '0' || c > '9' {
				return 0, false
			}
			v = v*10 + int(c-'0')
		}
		p += n
		return v, true
	}
	year, ok := num(4)
	if !ok || p >= len(s) || (s[p] != '-' && s[p] != '/') {
		return time.Time{}, false
	}
	sep := s[p]
	p++
	month, ok := num(2)
	if !ok || p >= len(s) || s[p] != sep {
		return time.Time{}, false
	}
	p++
	day, ok := num(2)
	if !ok {
		return time.Time{}, false
	}
	var hour, minute, sec, nsec int
	if p < len(s) && (s[p] == 'T' || s[p] == 't' || s[p] == ' ') {
		p++
		if hour, ok = num(2); !ok || p >= len(s) || s[p] != ':' {
			return time.Time{}, false
		}
		p++
		if minute, ok = num(2); !ok {
			return time.Time{}, false
		}
		if p < len(s) && s[p] == ':' {
			p++
			if sec, ok = num(2); !ok {
				return time.Time{}, false
			}
			if p < len(s) && (s[p] == '.' || s[p] == ',') {
				p++
				digits := 0
				for p < len(s) && s[p] >= '0' && s[p] <= '9' {
					if digits < 9 {
						nsec = nsec*10 + int(s[p]-'0')
					}
					digits++
					p++
				}
				if digits == 0 {
					return time.Time{}, false
				}
				for i := digits; i < 9; i++ {
					nsec *= 10
				}
			}
		}
	}
	offset := 0
	if p < len(s) {
		switch s[p] {
		case 'Z', 'z':
			p++
		case '+', '-':
			sign := 1
			if s[p] == '-' {
				sign = -1
			}
			p++
			oh, ok := num(2)
			if !ok {
				return time.Time{}, false
			}
			om := 0
			if p < len(s) && s[p] == ':' {
				p++
				if om, ok = num(2); !ok {
					return time.Time{}, false
				}
			} else if p+2 <= len(s) {
				if om, ok = num(2); !ok {
					return time.Time{}, false
				}
			}
			if oh > 23 || om > 59 {
				return time.Time{}, false
			}
			offset = sign * (oh*3600 + om*60)
		default:
			return time.Time{}, false
		}
	}
	if p != len(s) {
		return time.Time{}, false
	}
	if month < 1 || month > 12 || day < 1 || day > daysIn(month, year) ||
		hour > 24 || minute > 59 || sec > 60 || (hour == 24 && (minute != 0 || sec != 0 || nsec != 0)) {
		return time.Time{}, false
	}
	t := time.Date(year, time.Month(month), day, hour, minute, sec, nsec, time.UTC)
	if offset != 0 {
		t = t.Add(-time.Duration(offset) * time.Second)
	}
	return t, true
}

func daysIn(month, year int) int {
	switch month {
	case 4, 6, 9, 11:
		return 30
	case 2:
		if year%4 == 0 && (year%100 != 0 || year%400 == 0) {
			return 29
		}
		return 28
	}
	return 31
}
