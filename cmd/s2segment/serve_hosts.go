package main

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"strconv"
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
// addresses (any port), "host:port" or "[v6]:port" for one port only,
// "*.domain" for any name under domain (not domain itself), CIDR prefixes
// such as 10.0.0.0/8 for IP addresses, or "*" for any host. Names compare
// without case and without a trailing dot. It matches the host as given in
// the settings, before any DNS lookup.
type hostList struct {
	any      bool
	names    map[string]bool // host, or host:port (JoinHostPort form)
	suffixes []string        // ".domain"
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
			key, ok := hostKey(e)
			if !ok {
				return nil, fmt.Errorf("--send-hosts: %q is not a host, host:port, IP address, CIDR prefix or *.domain pattern (give hosts without scheme or path)", e)
			}
			l.names[key] = true
		}
	}
	return l, nil
}

// hostKey reads an exact entry: a host or IP address, or one with a port.
func hostKey(e string) (string, bool) {
	h := normHost(e)
	if isIP(h) {
		return canonIP(h), true
	}
	if host, port, err := net.SplitHostPort(e); err == nil {
		h = normHost(host)
		if h == "" || !validPort(port) || (strings.Contains(h, ":") && !isIP(h)) || strings.ContainsAny(h, "*/@[]") {
			return "", false
		}
		if isIP(h) {
			h = canonIP(h)
		}
		return net.JoinHostPort(h, port), true
	}
	if h == "" || strings.ContainsAny(h, "*/@:[]") {
		return "", false
	}
	return h, true
}

func validPort(p string) bool {
	n, err := strconv.Atoi(p)
	return err == nil && n >= 1 && n <= 65535 && strconv.Itoa(n) == p
}

func canonIP(h string) string {
	ip, _ := netip.ParseAddr(h)
	return ip.Unmap().String()
}

// addPort allows one more host on one port (the default port when port is
// empty): a configured source's.
func (l *hostList) addPort(host, port string) {
	if port == "" {
		port = singlestore.DefaultPort
	}
	if h := normHost(host); h != "" {
		if isIP(h) {
			h = canonIP(h)
		}
		l.names[net.JoinHostPort(h, port)] = true
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

// allows reports whether host may be connected to on port.
func (l *hostList) allows(host, port string) bool {
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
		return l.names[ip.String()] || l.names[net.JoinHostPort(ip.String(), port)]
	}
	if strings.ContainsAny(h, ":/@[]") {
		return false
	}
	if l.names[h] || l.names[net.JoinHostPort(h, port)] {
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
	if !a.hosts.allows(s.Host, s.Port) {
		return &hostError{host: net.JoinHostPort(s.Host, s.Port)}
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
