package destination

import (
	"net/mail"
	"net/netip"
	"net/url"
	"regexp"
	"strings"
)

// validFormat checks a string against a field format, as ajv-formats does
// for the formats a Field may name.
func validFormat(format, s string) bool {
	switch format {
	case "date-like":
		// Segment's own format for datetime fields: anything its date
		// parser reads, numeric strings included.
		if isDecimalLiteral(s) {
			return true
		}
		_, err := ParseTime(s)
		return err == nil
	case "date-time":
		return dateTimeRE.MatchString(s) && isValidISO(s)
	case "date":
		return dateRE.MatchString(s) && isValidISO(s)
	case "time":
		return timeRE.MatchString(s)
	case "email":
		a, err := mail.ParseAddress(s)
		return err == nil && a.Address == s
	case "uri":
		u, err := url.Parse(s)
		return err == nil && u.Scheme != "" && !strings.ContainsAny(s, " \t\n")
	case "hostname":
		return hostnameRE.MatchString(s) && len(s) <= 253
	case "ipv4":
		a, err := netip.ParseAddr(s)
		return err == nil && a.Is4()
	case "ipv6":
		a, err := netip.ParseAddr(s)
		return err == nil && a.Is6()
	case "uuid":
		return uuidRE.MatchString(s)
	}
	return true
}

var (
	dateTimeRE = regexp.MustCompile(`(?i)^\d\d\d\d-[0-1]\d-[0-3]\d[t\s](?:[0-2]\d:[0-5]\d:[0-5]\d|23:59:60)(?:\.\d+)?(?:z|[+-]\d\d(?::?\d\d)?)$`)
	dateRE     = regexp.MustCompile(`^\d\d\d\d-[0-1]\d-[0-3]\d$`)
	timeRE     = regexp.MustCompile(`(?i)^(?:[0-2]\d:[0-5]\d:[0-5]\d|23:59:60)(?:\.\d+)?(?:z|[+-]\d\d(?::?\d\d)?)?$`)
	hostnameRE = regexp.MustCompile(`(?i)^(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)(?:\.[a-z0-9](?:[-0-9a-z]{0,61}[0-9a-z])?)*\.?$`)
	uuidRE     = regexp.MustCompile(`(?i)^(?:urn:uuid:)?[0-9a-f]{8}-(?:[0-9a-f]{4}-){3}[0-9a-f]{12}$`)
)

// isValidISO checks the calendar date of an ISO string ("2025-02-30" is not
// a date).
func isValidISO(s string) bool {
	if len(s) < 10 {
		return false
	}
	_, ok := parseISO(s[:10])
	return ok
}
