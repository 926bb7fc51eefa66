package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/tidwall/gjson"

	"github.com/s2segment/s2segment/internal/endpoint"
)

func TestHostList(t *testing.T) {
	l, err := parseHostList("*.svc.singlestore.com, db.example.org., 10.1.0.0/16, ::1, [fd00::5], dev.example.org:9000, [fd00::9]:9000, 127.0.0.1:8080")
	require.NoError(t, err)
	l.addPort("Source.Example.org", "")
	for hp, want := range map[string]bool{
		"svc-1-dml.aws-virginia-1.svc.singlestore.com 443": true,
		"SVC-1.SVC.SingleStore.com. 8443":                  true,
		"svc.singlestore.com 443":                          false, // the domain itself is not under it
		"evilsvc.singlestore.com 443":                      false,
		"svc.singlestore.com.evil.net 443":                 false,
		"db.example.org 3306":                              true,
		"other.example.org 443":                            false,
		"10.1.200.3 9000":                                  true,
		"10.2.0.1 443":                                     false,
		"::ffff:10.1.0.9 443":                              true, // an IPv4-mapped address is the IPv4 address
		"::1 443":                                          true,
		"[::1] 443":                                        true,
		"fd00::5 22":                                       true,
		"dev.example.org 9000":                             true,
		"dev.example.org 22":                               false, // one port only
		"fd00::9 9000":                                     true,
		"fd00::9 9001":                                     false,
		"127.0.0.1 8080":                                   true,
		"127.0.0.1 22":                                     false,
		"source.example.org 443":                           true, // a source's host on its port
		"source.example.org 22":                            false,
		"localhost 443":                                    false,
		" 443":                                             false,
		"db.example.org:3306 443":                          false,
		"user@db.example.org 443":                          false,
	} {
		host, port, _ := strings.Cut(hp, " ")
		assert.Equal(t, want, l.allows(host, port), "%q", hp)
	}
	anyHost, err := parseHostList("*")
	require.NoError(t, err)
	assert.True(t, anyHost.allows("169.254.169.254", "80"))

	for _, bad := range []string{"*.", "a*.example.com", "https://db.example.org", "db.example.org:0", "db.example.org:http", "db.example.org:99999", "10.0.0.0/33"} {
		_, err := parseHostList(bad)
		assert.Error(t, err, "%q", bad)
	}
}

// refusingActions fails the test if a refused host reaches it.
type refusingActions struct{ t *testing.T }

func (a refusingActions) Manifest() []byte { return []byte(`{}`) }
func (a refusingActions) Authenticate(context.Context, []byte) error {
	a.t.Error("Authenticate reached the destination")
	return nil
}
func (a refusingActions) Sink([]byte, []byte, string) (endpoint.Sink, error) {
	a.t.Error("Sink reached the destination")
	return nil, errors.New("unreachable")
}

func TestHostActionsRefuseBeforeConnecting(t *testing.T) {
	l, err := parseHostList(defaultSendHosts)
	require.NoError(t, err)
	a := hostActions{Actions: refusingActions{t}, hosts: l}
	settings := []byte(`{"host":"169.254.169.254","port":"80","username":"u","password":"p","dbName":"d","tableName":"t"}`)
	err = a.Authenticate(context.Background(), settings)
	var he *hostError
	require.ErrorAs(t, err, &he)
	assert.Contains(t, he.Fields(), "/host")
	assert.NotContains(t, err.Error(), `"p"`)
	_, err = a.Sink(settings, nil, "")
	require.ErrorAs(t, err, &he)
	assert.Equal(t, "PAYLOAD_VALIDATION_FAILED", he.ErrorType())
}

// TestServeAdminAddrAndSendHosts runs serve with the embedded emulator, an
// operators' address and the default host allow-list: /send and
// /authenticate refuse a host that is not allowed before connecting, the
// emulator (a configured source's host) is allowed, and /readyz keeps its
// reason for the operators' address and the admin token.
func TestServeAdminAddrAndSendHosts(t *testing.T) {
	r := serveStart(t, "--write-key", serveTestKey, "--scheme", "http", "--admin-addr", "127.0.0.1:0", "--admin-token", "adm_SECRET_serve_5c5c", "--check=false")
	m := regexp.MustCompile(`operator routes on (http://\S+)`).FindStringSubmatch(r.stdout.String())
	require.NotNil(t, m, r.stdout.String())
	adminURL := m[1]
	assert.Contains(t, r.stdout.String(), "Data API hosts allowed: *.svc.singlestore.com")

	c := &http.Client{Timeout: 30 * time.Second}
	status, body := servePost(t, c, r.url+"/authenticate", `{"host":"169.254.169.254","port":"80","username":"u","password":"p","dbName":"d","tableName":"t"}`, nil)
	require.Equal(t, 200, status)
	assert.False(t, gjson.Get(body, "ok").Bool(), body)
	assert.Contains(t, gjson.Get(body, "fields./host").Str, "not one this endpoint may connect to", body)

	send := `{"payload":{"type":"track","event":"E","userId":"u","messageId":"m1"},"settings":{"host":"10.0.0.1","port":"9000","username":"u","password":"p","dbName":"d","tableName":"t"}}`
	status, body = servePost(t, c, r.url+"/send", send, nil)
	require.Equal(t, 200, status, body)
	assert.Equal(t, int64(400), gjson.Get(body, "multistatus.0.status").Int(), body)
	assert.Contains(t, gjson.Get(body, "multistatus.0.errormessage").Str, "--send-hosts")

	// The emulator's host is a source's, so it is allowed.
	emuHost, emuPort, _ := net.SplitHostPort(strings.TrimPrefix(r.emuURL, "http://"))
	status, body = servePost(t, c, r.url+"/authenticate", fmt.Sprintf(`{"host":%q,"port":%q,"username":"root","password":"x","dbName":"s2segment","tableName":"hosts_ok"}`, emuHost, emuPort), nil)
	require.Equal(t, 200, status)
	assert.JSONEq(t, `{"ok":true}`, body)

	for _, u := range []string{r.url, adminURL} {
		status, body = serveGet(t, u+"/readyz")
		assert.Equal(t, 200, status, "%s: %s", u, body)
	}
	status, _ = serveGet(t, adminURL+"/metrics")
	assert.Equal(t, 200, status)
	require.Equal(t, exitOK, r.wait(t))
}

// FuzzHostList checks that no --send-hosts value or host makes the
// allow-list panic, that every exact entry it accepts allows its own host,
// and that an empty list allows nothing.
func FuzzHostList(f *testing.F) {
	f.Add("*.svc.singlestore.com,10.0.0.0/8", "svc-1.svc.singlestore.com")
	f.Add("db.example.org., [::1]", "::1")
	f.Add("", "127.0.0.1")
	f.Add("*", "anything")
	f.Fuzz(func(t *testing.T, list, host string) {
		l, err := parseHostList(list)
		if err != nil {
			return
		}
		_ = l.allows(host, "443")
		_ = l.String()
		if strings.TrimSpace(strings.ReplaceAll(list, ",", "")) == "" && l.allows(host, "443") {
			t.Fatalf("an empty list allowed %q", host)
		}
		for _, e := range strings.Split(list, ",") {
			e = strings.TrimSpace(e)
			if e == "" || strings.HasPrefix(e, "*") || strings.Contains(e, "/") {
				continue
			}
			host, port := e, "443"
			if h, p, err := net.SplitHostPort(e); err == nil {
				host, port = h, p
			}
			if !l.allows(host, port) {
				t.Fatalf("%q is in %q but not allowed", e, list)
			}
		}
	})
}
