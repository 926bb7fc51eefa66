// Package dataapi is a client for the SingleStore Data API: SQL statements
// sent as JSON over HTTP(S) to /api/v2/exec, /api/v2/query/rows and
// /api/v2/query/tuples, with Basic authentication.
//
// What it does:
//   - [Client.Exec], [Client.ExecBody] (a pre-encoded {"sql":…} body),
//     [Client.QueryRows], [Client.QueryTuples] and [Client.Ping] (GET /ping).
//   - https with certificate verification by default; http for development
//     deployments such as the dev image on port 9000; extra certificate
//     authorities, or no verification at all, for development only.
//   - Connections are reused, at most Config.MaxInFlight requests are in
//     flight per Client, and every call takes a context that bounds it.
//   - Failures come back as a [*APIError] with the HTTP status, the MySQL
//     error number and SQLSTATE parsed from the body ("Error 1146 (42S02):
//     …"), the message, and whether trying again later may succeed. Use
//     errors.Is with [ErrRequestTooLarge] or [ErrUnauthorized] for those
//     states.
//   - Transport errors, 408, 429 and 5xx other than 501 and 505 are retried
//     with full-jitter exponential backoff ([Backoff]), honouring
//     Retry-After, up to Config.MaxAttempts attempts and Config.MaxRetryTime;
//     other answers are final ([DefaultRetryPolicy]). A cancelled context is
//     never retried. This is the client's own rule for one request; what a
//     sender of Segment events should retry is decided elsewhere
//     (destination.Retryable), and a final answer here (a 401, a missing
//     table: see [SetupFault]) may well be worth keeping the events for.
//   - A success answer of /api/v2/exec must carry rowsAffected; one that
//     does not is [ErrUnexpectedResponse], never a write.
//   - [ExecBatch] writes a batch of rows (such as a *batch.Request) and, when
//     the server refuses the body as too large, splits it in halves and
//     writes each, down to single rows; it reports a result per row.
//
// What it does not do: it knows nothing of Segment or of the rows' meaning,
// it does not build SQL (beyond sending what it is given), and it never logs
// or reports the password, whatever its length, or an Authorization value:
// they are removed from errors (the server's own error text included), logs
// and the Stringer forms of Config and Client (see [Redactor] for the rule).
//
//	c, err := dataapi.New(dataapi.Config{Host: "svc-123.singlestore.com", User: "admin", Password: pw, Database: "analytics"})
//	res, err := c.Exec(ctx, "INSERT INTO t (a, b) VALUES (?, ?)", 1, "x")
package dataapi

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/go-resty/resty/v2"
	"github.com/s2segment/s2segment/internal/wait"
)

// Defaults of a [Config].
const (
	DefaultScheme           = "https"
	DefaultTimeout          = 30 * time.Second
	DefaultMaxAttempts      = 4
	DefaultMaxRetryTime     = 60 * time.Second
	DefaultBackoffBase      = 100 * time.Millisecond
	DefaultBackoffMax       = 10 * time.Second
	DefaultMaxInFlight      = 8
	DefaultMaxResponseBytes = 64 << 20
	DefaultUserAgent        = "s2segment-dataapi"
)

// maxErrorBody is how much of an error answer is read; error bodies are
// short text.
const maxErrorBody = 16 << 10

// The Data API's paths.
const (
	pathExec   = "/api/v2/exec"
	pathRows   = "/api/v2/query/rows"
	pathTuples = "/api/v2/query/tuples"
	pathPing   = "/ping"
)

// Config says where the Data API is and how to talk to it. Zero values mean
// the defaults; only Host is required.
type Config struct {
	// Host is the Data API's host name or IP address, without scheme or port.
	Host string
	// Port defaults to 443 for https and 80 for http.
	Port string
	// Scheme is "https" (the default, with certificate verification) or
	// "http", for development deployments only: credentials then travel in
	// clear text.
	Scheme string
	// User and Password are sent with Basic authentication.
	User     string
	Password string
	// Database is the context database of Exec, QueryRows and QueryTuples;
	// empty leaves it out. (ExecBody sends its body as it is.)
	Database string

	// CACert is PEM-encoded certificate authorities to trust for https, in
	// addition to the system's.
	CACert []byte
	// InsecureSkipVerify turns certificate verification off. Development
	// only.
	InsecureSkipVerify bool

	// Timeout bounds each attempt, from connecting to reading the answer
	// (DefaultTimeout).
	Timeout time.Duration
	// MaxAttempts bounds the attempts of one call, the first included
	// (DefaultMaxAttempts); 1 turns retries off.
	MaxAttempts int
	// MaxRetryTime bounds one call's retrying: no retry is started whose wait
	// would end later than MaxRetryTime after the call began
	// (DefaultMaxRetryTime).
	MaxRetryTime time.Duration
	// BackoffBase and BackoffMax shape the exponential backoff between
	// attempts (DefaultBackoffBase, DefaultBackoffMax); see Backoff.
	BackoffBase time.Duration
	BackoffMax  time.Duration
	// RetryPolicy decides whether a failed attempt is tried again;
	// nil means DefaultRetryPolicy.
	RetryPolicy func(ctx context.Context, resp *http.Response, err error) bool

	// MaxInFlight bounds the requests of this Client in flight at once
	// (DefaultMaxInFlight). Waiting for a slot honours the call's context.
	MaxInFlight int
	// MaxResponseBytes bounds the size of a successful answer, such as a
	// query result (DefaultMaxResponseBytes).
	MaxResponseBytes int64
	// UserAgent is sent with every request (DefaultUserAgent).
	UserAgent string
	// Logger receives a line per retry, never with credentials; nil
	// discards them.
	Logger *slog.Logger
}

// Format prints the Config with the password redacted, for every verb.
func (c Config) Format(f fmt.State, verb rune) {
	if c.Password != "" {
		c.Password = "REDACTED"
	}
	type plain Config // without the Format method
	fmt.Fprintf(f, fmtDirective(f, verb), plain(c))
}

// fmtDirective rebuilds the directive that called Format.
func fmtDirective(f fmt.State, verb rune) string {
	d := "%"
	for _, flag := range "+-# 0" {
		if f.Flag(int(flag)) {
			d += string(flag)
		}
	}
	return d + string(verb)
}

// ConfigError reports a Config that New cannot use. Value is never the
// password.
type ConfigError struct {
	Field  string
	Value  string
	Reason string
}

// Error returns "dataapi: Config.<Field> = <Value>: <Reason>".
func (e *ConfigError) Error() string {
	return fmt.Sprintf("dataapi: Config.%s = %q: %s", e.Field, e.Value, e.Reason)
}

// Stats counts a Client's work since New. Every field only grows.
type Stats struct {
	Requests  int64 // HTTP requests sent, retries and split halves included
	Retries   int64 // attempts that were tried again
	Splits    int64 // batches split in halves after a too-large answer
	BytesSent int64 // request body bytes over all requests
	Failures  int64 // calls that ended in an error, after their retries
}

// Client talks to one Data API endpoint. It is safe for concurrent use.
type Client struct {
	cfg      Config
	base     string // scheme://host:port
	auth     string // the Authorization header value
	redactor *Redactor
	rc       *resty.Client
	sem      chan struct{}
	policy   func(context.Context, *http.Response, error) bool
	log      *slog.Logger

	requests, retries, splits, bytesSent, failures atomic.Int64

	// Test hooks.
	now    func() time.Time
	sleep  func(ctx context.Context, d time.Duration) error
	jitter func() float64
}

// New checks cfg, fills in its defaults and returns a Client. It does not
// connect; use Ping to check that the server answers.
func New(cfg Config) (*Client, error) {
	if err := withDefaults(&cfg); err != nil {
		return nil, err
	}
	tr := &http.Transport{
		Proxy:                 http.ProxyFromEnvironment,
		DialContext:           (&net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		ForceAttemptHTTP2:     true,
		MaxIdleConns:          max(100, cfg.MaxInFlight),
		MaxIdleConnsPerHost:   cfg.MaxInFlight,
		IdleConnTimeout:       90 * time.Second,
		TLSHandshakeTimeout:   10 * time.Second,
		ExpectContinueTimeout: time.Second,
	}
	if cfg.Scheme == "https" {
		tc := &tls.Config{MinVersion: tls.VersionTLS12, InsecureSkipVerify: cfg.InsecureSkipVerify} // InsecureSkipVerify: development only, documented on Config
		if len(cfg.CACert) > 0 {
			pool, err := x509.SystemCertPool()
			if err != nil {
				pool = x509.NewCertPool()
			}
			if !pool.AppendCertsFromPEM(cfg.CACert) {
				return nil, &ConfigError{Field: "CACert", Value: fmt.Sprintf("%d bytes", len(cfg.CACert)), Reason: "no PEM certificate found"}
			}
			tc.RootCAs = pool
		}
		tr.TLSClientConfig = tc
	}
	c := &Client{
		cfg:    cfg,
		base:   cfg.Scheme + "://" + net.JoinHostPort(cfg.Host, cfg.Port),
		sem:    make(chan struct{}, cfg.MaxInFlight),
		policy: cfg.RetryPolicy,
		log:    cfg.Logger,
		now:    time.Now,
		sleep:  wait.Sleep,
		jitter: rand.Float64,
	}
	if cfg.User != "" || cfg.Password != "" {
		c.auth = "Basic " + base64.StdEncoding.EncodeToString([]byte(cfg.User+":"+cfg.Password))
	}
	c.redactor = NewRedactor(cfg.User, cfg.Password)
	if c.policy == nil {
		c.policy = DefaultRetryPolicy
	}
	if c.log == nil {
		c.log = slog.New(slog.DiscardHandler)
	}
	// Retries are done by this package's own loop (see call), so resty's
	// are turned off explicitly: its retry conditions replace its default
	// rule per attempt, and its waits could not be bounded by MaxRetryTime
	// or observed by tests.
	c.rc = resty.NewWithClient(&http.Client{Transport: tr}).
		SetRetryCount(0).
		SetTimeout(cfg.Timeout).
		SetLogger(restyLogger{c}).
		SetDisableWarn(cfg.Scheme == "http"). // http was asked for; the warning would repeat per request
		SetRedirectPolicy(resty.RedirectPolicyFunc(func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse // the Data API does not redirect; never resend credentials elsewhere
		})).
		SetHeader("User-Agent", cfg.UserAgent)
	return c, nil
}

// withDefaults checks cfg and sets its defaults.
func withDefaults(cfg *Config) error {
	switch cfg.Scheme {
	case "":
		cfg.Scheme = DefaultScheme
	case "https", "http":
	default:
		return &ConfigError{Field: "Scheme", Value: cfg.Scheme, Reason: `expected "https" or "http"`}
	}
	h := strings.TrimSuffix(strings.TrimPrefix(cfg.Host, "["), "]")
	switch {
	case h == "":
		return &ConfigError{Field: "Host", Value: "", Reason: "a host name or IP address is required"}
	case strings.ContainsAny(h, "@"):
		// May hold credentials: do not echo it.
		return &ConfigError{Field: "Host", Value: "(redacted)", Reason: "a bare host name is expected; give the user and password in User and Password"}
	case strings.Contains(h, "://") || strings.ContainsAny(h, "/?# \t\r\n"):
		return &ConfigError{Field: "Host", Value: h, Reason: "a bare host name is expected, without scheme or path"}
	case strings.Contains(h, ":") && net.ParseIP(h) == nil:
		return &ConfigError{Field: "Host", Value: h, Reason: "a bare host name is expected; give the port in Port"}
	}
	cfg.Host = h
	if cfg.Port == "" {
		cfg.Port = map[string]string{"https": "443", "http": "80"}[cfg.Scheme]
	}
	if p, err := strconv.Atoi(cfg.Port); err != nil || p < 1 || p > 65535 {
		return &ConfigError{Field: "Port", Value: cfg.Port, Reason: "expected a port number from 1 to 65535"}
	}
	durations := []struct {
		name string
		v    *time.Duration
		def  time.Duration
	}{
		{"Timeout", &cfg.Timeout, DefaultTimeout},
		{"MaxRetryTime", &cfg.MaxRetryTime, DefaultMaxRetryTime},
		{"BackoffBase", &cfg.BackoffBase, DefaultBackoffBase},
		{"BackoffMax", &cfg.BackoffMax, DefaultBackoffMax},
	}
	for _, d := range durations {
		if *d.v < 0 {
			return &ConfigError{Field: d.name, Value: d.v.String(), Reason: "must not be negative (0 means the default)"}
		}
		if *d.v == 0 {
			*d.v = d.def
		}
	}
	if cfg.BackoffMax < cfg.BackoffBase {
		return &ConfigError{Field: "BackoffMax", Value: cfg.BackoffMax.String(), Reason: "must not be below BackoffBase " + cfg.BackoffBase.String()}
	}
	counts := []struct {
		name string
		v    *int
		def  int
	}{
		{"MaxAttempts", &cfg.MaxAttempts, DefaultMaxAttempts},
		{"MaxInFlight", &cfg.MaxInFlight, DefaultMaxInFlight},
	}
	for _, n := range counts {
		if *n.v < 0 {
			return &ConfigError{Field: n.name, Value: strconv.Itoa(*n.v), Reason: "must not be negative (0 means the default)"}
		}
		if *n.v == 0 {
			*n.v = n.def
		}
	}
	switch {
	case cfg.MaxResponseBytes < 0:
		return &ConfigError{Field: "MaxResponseBytes", Value: strconv.FormatInt(cfg.MaxResponseBytes, 10), Reason: "must not be negative (0 means the default)"}
	case cfg.MaxResponseBytes == 0:
		cfg.MaxResponseBytes = DefaultMaxResponseBytes
	}
	if cfg.UserAgent == "" {
		cfg.UserAgent = DefaultUserAgent
	}
	return nil
}

// String describes the client without its credentials.
func (c *Client) String() string {
	return fmt.Sprintf("dataapi.Client{%s user=%q database=%q}", c.base, c.cfg.User, c.cfg.Database)
}

// GoString is String, so that %#v shows no credentials either.
func (c *Client) GoString() string { return c.String() }

// Stats returns a snapshot of the counters.
func (c *Client) Stats() Stats {
	return Stats{
		Requests:  c.requests.Load(),
		Retries:   c.retries.Load(),
		Splits:    c.splits.Load(),
		BytesSent: c.bytesSent.Load(),
		Failures:  c.failures.Load(),
	}
}

// CloseIdleConnections closes the connections kept for reuse. The Client
// stays usable.
func (c *Client) CloseIdleConnections() { c.rc.GetClient().CloseIdleConnections() }

// redact removes the password, of any length, and any Authorization value
// from s (see Redactor for the rule).
func (c *Client) redact(s string) string { return c.redactor.Redact(s) }

// restyLogger sends resty's own messages to the Client's logger, redacted.
type restyLogger struct{ c *Client }

func (l restyLogger) Errorf(format string, v ...any) {
	l.c.log.Error(l.c.redact(fmt.Sprintf(format, v...)))
}
func (l restyLogger) Warnf(format string, v ...any) {
	l.c.log.Warn(l.c.redact(fmt.Sprintf(format, v...)))
}
func (l restyLogger) Debugf(format string, v ...any) {
	l.c.log.Debug(l.c.redact(fmt.Sprintf(format, v...)))
}

// answer is what one attempt got back: the response head and a bounded
// body that has been read and closed.
type answer struct {
	resp *http.Response
	body []byte
}

// call makes one logical request: attempts, with retries as the policy
// says, until one succeeds (2xx) or the failure is final. A failure is a
// *APIError, or a transport or context error wrapped with the path.
func (c *Client) call(ctx context.Context, method, path string, body []byte, auth bool) (*answer, error) {
	start := c.now()
	for attempt := 1; ; attempt++ {
		ans, err := c.attempt(ctx, method, path, body, auth)
		if err == nil && ans.resp.StatusCode/100 == 2 {
			return ans, nil
		}
		var resp *http.Response
		transport := err
		if err == nil {
			resp = ans.resp
			err = c.apiError(path, ans, attempt)
		} else {
			err = fmt.Errorf("dataapi: calling %s (attempt %d): %w", path, attempt, err)
		}
		if cerr := ctx.Err(); cerr != nil {
			c.failures.Add(1)
			if errors.Is(err, cerr) {
				return nil, err
			}
			return nil, fmt.Errorf("dataapi: calling %s: %w (last failure: %w)", path, cerr, err)
		}
		if attempt >= c.cfg.MaxAttempts || !c.policy(ctx, resp, transport) {
			c.failures.Add(1)
			return nil, err
		}
		wait, ok := RetryAfter(resp, c.now())
		if !ok {
			wait = Backoff(c.cfg.BackoffBase, c.cfg.BackoffMax, attempt, c.jitter())
		}
		if c.now().Add(wait).Sub(start) > c.cfg.MaxRetryTime {
			c.failures.Add(1)
			c.log.Warn("dataapi: not retrying: the wait would end after MaxRetryTime",
				"path", path, "attempt", attempt, "wait", wait, "error", c.redact(err.Error()))
			return nil, err
		}
		c.retries.Add(1)
		c.log.Warn("dataapi: retrying", "path", path, "attempt", attempt, "wait", wait, "error", c.redact(err.Error()))
		if serr := c.sleep(ctx, wait); serr != nil {
			c.failures.Add(1)
			return nil, fmt.Errorf("dataapi: calling %s: %w while waiting to retry (last failure: %w)", path, serr, err)
		}
	}
}

// attempt sends one request while holding an in-flight slot and reads the
// answer's body, bounded.
func (c *Client) attempt(ctx context.Context, method, path string, body []byte, auth bool) (*answer, error) {
	select {
	case c.sem <- struct{}{}:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	defer func() { <-c.sem }()
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	req := c.rc.R().SetContext(ctx).SetDoNotParseResponse(true)
	if body != nil {
		req.SetHeader("Content-Type", "application/json").SetBody(bytes.NewReader(body))
	}
	if auth && c.auth != "" {
		req.SetBasicAuth(c.cfg.User, c.cfg.Password)
	}
	c.requests.Add(1)
	c.bytesSent.Add(int64(len(body)))
	resp, err := req.Execute(method, c.base+path)
	var raw *http.Response
	if resp != nil {
		raw = resp.RawResponse
	}
	if err != nil {
		if raw != nil && raw.Body != nil {
			raw.Body.Close()
		}
		return nil, err
	}
	defer raw.Body.Close()
	limit := int64(maxErrorBody)
	if raw.StatusCode/100 == 2 {
		limit = c.cfg.MaxResponseBytes
	}
	data, err := io.ReadAll(io.LimitReader(raw.Body, limit+1))
	if err != nil {
		return nil, fmt.Errorf("reading the answer: %w", err)
	}
	if int64(len(data)) > limit {
		if raw.StatusCode/100 == 2 {
			return nil, fmt.Errorf("%w: answer larger than Config.MaxResponseBytes (%d bytes)", ErrUnexpectedResponse, limit)
		}
		data = data[:limit]
		// Drain a little more so that the connection can be reused.
		_, _ = io.CopyN(io.Discard, raw.Body, 64<<10)
	}
	return &answer{resp: raw, body: data}, nil
}
