package main

import (
	"context"
	"fmt"
	"net/netip"
	"strings"

	"github.com/s2segment/s2segment/destination"
	"github.com/s2segment/s2segment/destination/singlestore"
	"github.com/s2segment/s2segment/internal/endpoint"
)

// defaultSendHosts is where /authenticate and /send may connect when
// --send-hosts is not given: SingleStore's hosted Data API endpoints (the
// hosts of every configured source are allowed as well).
const defaultSendHosts = "*.svc.singlestore.com"

// hostList is an allow-list of Data API hosts: exact host names or IP
// addresses, "*.domain" for any name under domain (not domain itself),
// CIDR prefixes such as 10.0.0.0/8 for IP addresses, or "*" for any host.
// Names compare without case and without a trailing dot. It matches the
// host as given in the settings, before any DNS lookup.
type hostList struct {
	any      bool
	names    map[string]bool
	suffixes []string // ".domain"
	prefixes []netip.Prefix
}

// parseHostList reads a comma-separated --send-hosts value.
func parseHostList(v string) (*hostList, error) {
	l := &hostList{names: map[string]bool{}}
	for _, e := range strings.Split(v, ",") {
		e = strings.TrimSpace(e)
		switch {
		case e == "":
		case e == "*":
			l.any = true
		case strings.HasPrefix(e, "*."):
			d := normHost(e[1:])
			if len(d) < 2 || strings.ContainsAny(d[1:], "*:/@[]") {
				return nil, fmt.Errorf("--send-hosts: %q is not a *.domain pattern", e)
			}
			l.suffixes = append(l.suffixes, d)
		case strings.Contains(e, "/"):
			p, err := netip.ParsePrefix(e)
			if err != nil {
				return nil, fmt.Errorf("--send-hosts: %q: %w", e, err)
			}
			l.prefixes = append(l.prefixes, p.Masked())
		default:
			h := normHost(e)
			if strings.ContainsAny(h, "*/@") || (strings.Contains(h, ":") && !isIP(h)) {
				return nil, fmt.Errorf("--send-hosts: %q is not a host name, IP address, CIDR prefix or *.domain pattern (give hosts without scheme or port)", e)
			}
			l.names[h] = true
		}
	}
	return l, nil
}

// add allows one more exact host.
func (l *hostList) add(host string) {
	if host != "" {
		l.names[normHost(host)] = true
	}
}

func normHost(h string) string {
	h = strings.TrimSuffix(strings.TrimPrefix(h, "["), "]")
	return strings.TrimSuffix(strings.ToLower(h), ".")
}

func isIP(h string) bool {
	_, err := netip.ParseAddr(h)
	return err == nil
}

// allows reports whether host may be connected to.
func (l *hostList) allows(host string) bool {
	if l.any {
		return true
	}
	h := normHost(host)
	if h == "" {
		return false
	}
	if ip, err := netip.ParseAddr(h); err == nil {
		ip = ip.Unmap()
		for _, p := range l.prefixes {
			if p.Contains(ip) {
				return true
			}
		}
		return l.names[ip.String()] || l.names[h]
	}
	if strings.ContainsAny(h, ":/@") {
		return false
	}
	if l.names[h] {
		return true
	}
	for _, s := range l.suffixes {
		if strings.HasSuffix(h, s) {
			return true
		}
	}
	return false
}

// String lists the allowed hosts for the banner.
func (l *hostList) String() string {
	if l.any {
		return "any host"
	}
	var parts []string
	for _, s := range l.suffixes {
		parts = append(parts, "*"+s)
	}
	for _, p := range l.prefixes {
		parts = append(parts, p.String())
	}
	for n := range l.names {
		parts = append(parts, n)
	}
	return strings.Join(parts, ", ")
}

// hostActions restricts the Data APIs the Actions routes connect to: the
// settings of /authenticate and /send name a host, and one that is not on
// the allow-list is refused before any connection is made.
type hostActions struct {
	endpoint.Actions
	hosts *hostList
}

// hostError is a settings host refused by the allow-list. It names the
// setting and is a payload validation failure for /send.
type hostError struct{ host string }

func (e *hostError) Error() string {
	return fmt.Sprintf("host %q is not one this endpoint may connect to (see serve --send-hosts)", e.host)
}

// Fields names the host setting, for /authenticate.
func (e *hostError) Fields() map[string]string {
	return map[string]string{"/" + singlestore.SettingHost: e.Error()}
}

// ErrorType is the error type of the /send events it fails.
func (e *hostError) ErrorType() string { return destination.TypePayloadValidationFailed }

// check refuses settings whose host is not allowed. Settings that do not
// parse are left to the destination, which says what is wrong with them.
func (a hostActions) check(settings []byte) error {
	s, err := singlestore.ParseSettings(settings)
	if err != nil {
		return nil
	}
	if !a.hosts.allows(s.Host) {
		return &hostError{host: s.Host}
	}
	return nil
}

// Authenticate tests the settings when their host is allowed.
func (a hostActions) Authenticate(ctx context.Context, settings []byte) error {
	if err := a.check(settings); err != nil {
		return err
	}
	return a.Actions.Authenticate(ctx, settings)
}

// Sink returns the destination's Sink when the settings' host is allowed.
func (a hostActions) Sink(settings, mapping []byte, subscription string) (endpoint.Sink, error) {
	if err := a.check(settings); err != nil {
		return nil, err
	}
	return a.Actions.Sink(settings, mapping, subscription)
}

var _ endpoint.FieldsError = (*hostError)(nil)
