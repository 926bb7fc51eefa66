package endpoint

import (
	"cmp"
	"context"
	"fmt"
	"log/slog"
	"time"
)

// Defaults used for the zero values of Config and GroupConfig.
const (
	// DefaultMaxEventBytes is the largest event accepted, as Segment's HTTP
	// Tracking API allows 32 KB per event.
	DefaultMaxEventBytes = 32 << 10
	// DefaultMaxBatchBytes is the largest /v1/batch or /v1/import body, as
	// Segment allows 500 KB per batch request.
	DefaultMaxBatchBytes = 500 << 10
	// DefaultMaxBodyBytes is the largest webhook, /send or /authenticate body.
	DefaultMaxBodyBytes = 4 << 20
	// DefaultMaxInFlightBytes bounds the request bytes held in memory at once.
	DefaultMaxInFlightBytes = 64 << 20
	// DefaultMaxUnauthenticatedBytes bounds the bytes held at once by
	// requests whose credentials are in their bodies and not yet checked
	// (signed webhooks, a write key in the body).
	DefaultMaxUnauthenticatedBytes = 16 << 20
	// DefaultMaxRequestEvents bounds the elements of one batch, webhook
	// array or /send payload.
	DefaultMaxRequestEvents = 10000
	// DefaultMaxExpandedBatchBytes bounds the bytes a /v1/batch or
	// /v1/import body may expand to once its top-level context and
	// integrations are merged into each event.
	DefaultMaxExpandedBatchBytes = 16 << 20
	// DefaultMaxHeaderBytes bounds a request's header block: the routes need
	// a few hundred bytes (Authorization, X-Signature, Content-Type).
	DefaultMaxHeaderBytes = 16 << 10
	// DefaultMaxConnections bounds the connections Serve keeps open at once.
	DefaultMaxConnections = 1024
	// DefaultRetryAfter is the Retry-After sent with 429 and 5xx answers.
	DefaultRetryAfter = time.Second
	// DefaultSinkTimeout bounds one Sink.Write call.
	DefaultSinkTimeout = 10 * time.Second
	// DefaultMaxActionSinks is how many per-settings sinks /send keeps.
	DefaultMaxActionSinks = 64

	// DefaultReadHeaderTimeout, DefaultReadTimeout, DefaultWriteTimeout and
	// DefaultIdleTimeout are the http.Server timeouts used by Serve. The write
	// timeout covers the whole handler, so it is longer than the linger plus
	// DefaultSinkTimeout: a request is never cut off while its write runs.
	DefaultReadHeaderTimeout = 5 * time.Second
	DefaultReadTimeout       = 15 * time.Second
	DefaultWriteTimeout      = 30 * time.Second
	DefaultIdleTimeout       = 120 * time.Second
	// DefaultShutdownTimeout bounds the graceful shutdown Serve starts when
	// its context is done.
	DefaultShutdownTimeout = 30 * time.Second

	// DefaultGroupLinger is how long a group waits for more events before it
	// is written.
	DefaultGroupLinger = 2 * time.Millisecond
	// NoLinger is the GroupConfig.Linger of a group that does not wait for
	// more events: it is written as soon as a write slot is free, so events
	// only group while every slot is busy.
	NoLinger time.Duration = -1
	// DefaultMaxGroupEvents and DefaultMaxGroupBytes make a group full; a full
	// group is written at once.
	DefaultMaxGroupEvents = 500
	DefaultMaxGroupBytes  = 1 << 20
	// DefaultMaxConcurrentWrites is how many Write calls run at once per Sink.
	DefaultMaxConcurrentWrites = 4
)

// Config configures a Server. The zero value of every field means its
// default; durations that can be turned off say so. At least one Source or an
// Actions implementation is required.
type Config struct {
	// Sources are the senders of the HTTP Tracking API and of webhooks, each
	// with its own credentials and Sink. A Config with exactly one source is
	// single-source mode: its name may be empty (it is then "default") and
	// "POST /webhook" addresses it as well as "POST /webhook/{name}".
	Sources []Source

	// Actions, when set, serves the actions-cli routes: GET /manifest,
	// POST /authenticate and POST /send.
	Actions Actions
	// ActionsToken, when set, must be sent as "Authorization: Bearer TOKEN"
	// to /authenticate and /send. Those routes carry database credentials in
	// their bodies and make the server connect where the settings say, so an
	// endpoint reachable by others should set it.
	ActionsToken string
	// MaxActionSinks bounds the per-settings sinks /send keeps, least
	// recently used first out (DefaultMaxActionSinks).
	MaxActionSinks int
	// MaxActionsInFlightBytes is the share of MaxInFlightBytes that
	// /authenticate and /send may hold at once (0: as for a source, see
	// Source.MaxInFlightBytes).
	MaxActionsInFlightBytes int64

	// AdminToken, when set, lets a request to the public handler's
	// GET /readyz see why the server is not ready, by sending
	// "Authorization: Bearer TOKEN". Without it /readyz only says
	// {"ok":true} or {"ok":false}: the reasons name internal addresses.
	// AdminHandler always shows them; serve it on an address of its own.
	AdminToken string

	// Ready reports whether the server can write, e.g. by pinging the Data
	// API; GET /readyz answers 503 when it returns an error. Nil means ready.
	Ready func(ctx context.Context) error
	// Logger receives one structured record per request and the failures
	// worth a look. Nil discards logs. Secrets are never logged.
	Logger *slog.Logger

	// MaxEventBytes caps one event: a single-event body, or one element of a
	// batch or webhook array (DefaultMaxEventBytes).
	MaxEventBytes int64
	// MaxBatchBytes caps /v1/batch and /v1/import bodies (DefaultMaxBatchBytes).
	MaxBatchBytes int64
	// MaxBodyBytes caps webhook, /send and /authenticate bodies
	// (DefaultMaxBodyBytes).
	MaxBodyBytes int64
	// MaxInFlightBytes bounds the request bytes held at once, from admission
	// until the events are written; past it requests are turned away with
	// 429 or 503 and Retry-After (DefaultMaxInFlightBytes). It must be at
	// least the largest body limit.
	MaxInFlightBytes int64
	// MaxUnauthenticatedBytes bounds the bytes held at once by requests not
	// yet authenticated: webhooks until their signature is verified, and
	// Tracking API requests whose write key is in the body until it is
	// read (DefaultMaxUnauthenticatedBytes). These bytes are counted as
	// they arrive, so a slow sender holds only what it has sent; past the
	// bound such requests get 429 (503 for webhooks) and Retry-After. It is
	// part of MaxInFlightBytes, and must be at least the largest body limit.
	MaxUnauthenticatedBytes int64
	// MaxRequestEvents bounds the elements of one /v1/batch or /v1/import
	// batch, webhook array or /send payload; a request with more is refused
	// with 413 (DefaultMaxRequestEvents).
	MaxRequestEvents int
	// MaxExpandedBatchBytes bounds what one /v1/batch or /v1/import body
	// may expand to once its top-level context and integrations are merged
	// into each event (DefaultMaxExpandedBatchBytes): a body that would
	// pass it is refused with 413 before any event is copied. A negative
	// value means no bound. Accepted batches are merged and written in
	// groups of at most Group.MaxBytes, one after the other, so a request
	// never holds more than one group's merged copies at a time.
	MaxExpandedBatchBytes int64
	// RetryAfter is sent as Retry-After with every retryable answer
	// (DefaultRetryAfter), unless the Sink asked for longer.
	RetryAfter time.Duration

	// Group configures group commit.
	Group GroupConfig
	// SinkTimeout bounds each Sink.Write (DefaultSinkTimeout).
	SinkTimeout time.Duration

	// ReadHeaderTimeout, ReadTimeout, WriteTimeout and IdleTimeout are the
	// http.Server timeouts used by Serve (the Default*Timeout constants); a
	// negative value turns one off.
	ReadHeaderTimeout time.Duration
	ReadTimeout       time.Duration
	WriteTimeout      time.Duration
	IdleTimeout       time.Duration
	// ShutdownTimeout bounds the graceful shutdown Serve performs when its
	// context is done (DefaultShutdownTimeout).
	ShutdownTimeout time.Duration
	// MaxHeaderBytes bounds the header block of a request read by Serve
	// (DefaultMaxHeaderBytes); a larger one is answered 431.
	MaxHeaderBytes int
	// MaxConnections bounds the connections Serve has open at once
	// (DefaultMaxConnections); further connections wait to be accepted. A
	// negative value means no bound.
	MaxConnections int

	// TLSCertFile and TLSKeyFile, when both set, make Serve speak HTTPS with
	// that PEM certificate chain and key.
	TLSCertFile string
	TLSKeyFile  string
}

// GroupConfig configures group commit: events of concurrent requests for the
// same Sink are written by shared Write calls.
type GroupConfig struct {
	// Disabled writes every request's events with a Write call of their own,
	// in the request's goroutine, with no limit on concurrent writes.
	Disabled bool
	// Linger is how long an open group waits for more events before it is
	// written: 0 means DefaultGroupLinger, and NoLinger (or any negative
	// value) means no wait.
	Linger time.Duration
	// MaxEvents and MaxBytes make a group full; a full group is written at
	// once (DefaultMaxGroupEvents, DefaultMaxGroupBytes). A request's events
	// always stay together, so one request larger than these forms a group
	// of its own.
	MaxEvents int
	MaxBytes  int64
	// MaxConcurrentWrites is how many Write calls run at once for one Sink
	// (DefaultMaxConcurrentWrites). While all of them are busy, new events
	// keep joining the open group.
	MaxConcurrentWrites int
}

// Source is one sender of events and where they go.
type Source struct {
	// Name identifies the source in webhook URLs (/webhook/{name}), logs and
	// metrics: 1 to 64 characters from [A-Za-z0-9._-].
	Name string
	// WriteKey authenticates the HTTP Tracking API routes (/v1/...), sent as
	// the user name of Basic auth or as "writeKey" in the body. Empty means
	// the source takes no Tracking API calls.
	WriteKey string
	// WebhookSecret is the shared secret of signed webhooks (X-Signature).
	// Empty means the source takes no webhooks: unsigned webhooks are never
	// accepted. The signature covers the whole raw body (see Sign and
	// SignTimestamp).
	WebhookSecret string
	// WebhookTolerance, when positive, turns on replay protection: every
	// webhook must carry X-Signature-Timestamp (Unix seconds), covered by
	// the signature, no further than this from the server's clock. Zero
	// accepts a signed body however old it is.
	WebhookTolerance time.Duration
	// WebhookFirstElementSignature also accepts an array whose signature
	// covers only its first element, byte for byte as sent, which is how
	// some senders sign arrays. The other elements are then NOT
	// authenticated: anyone who has seen one signed array can append events
	// of their own to it and have them written. Leave it off unless a sender
	// signs that way; it cannot be combined with WebhookTolerance.
	WebhookFirstElementSignature bool
	// MaxInFlightBytes is the share of Config.MaxInFlightBytes this
	// source's requests may hold at once once authenticated, so that one
	// busy or hostile source cannot starve the others. Zero means
	// Config.MaxInFlightBytes divided by the number of sources (the Actions
	// routes counting as one), and never less than the largest body limit.
	MaxInFlightBytes int64
	// Sink writes the source's events. Sources may share a Sink; they then
	// share its groups.
	Sink Sink
}

// ConfigError reports a Config field that cannot be used. It never holds a
// secret's value.
type ConfigError struct {
	// Field is the field's path, e.g. "Sources[1].WriteKey".
	Field string
	// Reason says what is wrong and what was expected.
	Reason string
}

func (e *ConfigError) Error() string {
	return fmt.Sprintf("server config: %s: %s", e.Field, e.Reason)
}

// positiveOr is the rule of every size and count limit: zero (unset) takes
// def, and a negative value is refused.
func positiveOr[T int | int64](field string, v *T, def T) error {
	if *v == 0 {
		*v = def
	}
	if *v < 0 {
		return &ConfigError{Field: field, Reason: fmt.Sprintf("must be positive, got %d", *v)}
	}
	return nil
}

// settings is a Config with its defaults filled in.
type settings struct {
	Config
	sourceShare int64 // the default Source.MaxInFlightBytes
	linger      time.Duration
	maxEvents   int
	maxBytes    int64
	maxWriters  int
}

func durationOr(d, def time.Duration) time.Duration {
	switch {
	case d == 0:
		return def
	case d < 0:
		return 0
	}
	return d
}

// validate checks cfg and returns it with its defaults filled in.
func validate(cfg Config) (*settings, error) {
	s := &settings{Config: cfg}
	if len(cfg.Sources) == 0 && cfg.Actions == nil {
		return nil, &ConfigError{Field: "Sources", Reason: "no source and no Actions: nothing to serve"}
	}
	names := make(map[string]int, len(cfg.Sources))
	keys := make(map[string]int, len(cfg.Sources))
	s.Sources = make([]Source, len(cfg.Sources))
	copy(s.Sources, cfg.Sources)
	for i := range s.Sources {
		src := &s.Sources[i]
		field := fmt.Sprintf("Sources[%d]", i)
		if src.Name == "" && len(s.Sources) == 1 {
			src.Name = "default"
		}
		if !validName(src.Name) {
			return nil, &ConfigError{Field: field + ".Name", Reason: fmt.Sprintf("%q is not 1 to 64 characters from [A-Za-z0-9._-]", src.Name)}
		}
		if j, dup := names[src.Name]; dup {
			return nil, &ConfigError{Field: field + ".Name", Reason: fmt.Sprintf("%q is also the name of Sources[%d]", src.Name, j)}
		}
		names[src.Name] = i
		if src.Sink == nil {
			return nil, &ConfigError{Field: field + ".Sink", Reason: "missing"}
		}
		if src.WriteKey == "" && src.WebhookSecret == "" {
			return nil, &ConfigError{Field: field, Reason: "needs a WriteKey, a WebhookSecret or both"}
		}
		if src.WriteKey != "" {
			if j, dup := keys[src.WriteKey]; dup {
				return nil, &ConfigError{Field: field + ".WriteKey", Reason: fmt.Sprintf("the same as the write key of Sources[%d]", j)}
			}
			keys[src.WriteKey] = i
		}
	}
	if err := cmp.Or(
		positiveOr("MaxActionSinks", &s.MaxActionSinks, DefaultMaxActionSinks),
		positiveOr("MaxEventBytes", &s.MaxEventBytes, DefaultMaxEventBytes),
		positiveOr("MaxBatchBytes", &s.MaxBatchBytes, DefaultMaxBatchBytes),
		positiveOr("MaxBodyBytes", &s.MaxBodyBytes, DefaultMaxBodyBytes),
		positiveOr("MaxInFlightBytes", &s.MaxInFlightBytes, DefaultMaxInFlightBytes),
		positiveOr("MaxRequestEvents", &s.MaxRequestEvents, DefaultMaxRequestEvents),
		positiveOr("MaxHeaderBytes", &s.MaxHeaderBytes, DefaultMaxHeaderBytes),
	); err != nil {
		return nil, err
	}
	// Zero takes the default; a negative value means no bound.
	s.MaxExpandedBatchBytes = cmp.Or(s.MaxExpandedBatchBytes, DefaultMaxExpandedBatchBytes)
	s.MaxConnections = cmp.Or(s.MaxConnections, DefaultMaxConnections)
	if s.MaxEventBytes > s.MaxBatchBytes {
		return nil, &ConfigError{Field: "MaxEventBytes", Reason: fmt.Sprintf("%d is more than MaxBatchBytes (%d)", s.MaxEventBytes, s.MaxBatchBytes)}
	}
	if s.MaxInFlightBytes < max(s.MaxBatchBytes, s.MaxBodyBytes) {
		return nil, &ConfigError{Field: "MaxInFlightBytes", Reason: fmt.Sprintf("%d is less than the largest body limit (%d), so such bodies could never be admitted", s.MaxInFlightBytes, max(s.MaxBatchBytes, s.MaxBodyBytes))}
	}
	if err := positiveOr("MaxUnauthenticatedBytes", &s.MaxUnauthenticatedBytes, min(DefaultMaxUnauthenticatedBytes, s.MaxInFlightBytes)); err != nil {
		return nil, err
	}
	largest := max(s.MaxBatchBytes, s.MaxBodyBytes)
	if s.MaxUnauthenticatedBytes < largest || s.MaxUnauthenticatedBytes > s.MaxInFlightBytes {
		return nil, &ConfigError{Field: "MaxUnauthenticatedBytes", Reason: fmt.Sprintf("%d is not between the largest body limit (%d) and MaxInFlightBytes (%d)", s.MaxUnauthenticatedBytes, largest, s.MaxInFlightBytes)}
	}
	shares := int64(len(s.Sources))
	if s.Actions != nil {
		shares++
	}
	s.sourceShare = max(largest, s.MaxInFlightBytes/max(1, shares))
	for i := range s.Sources {
		src := &s.Sources[i]
		field := fmt.Sprintf("Sources[%d]", i)
		if src.MaxInFlightBytes == 0 {
			src.MaxInFlightBytes = s.sourceShare
		}
		if src.MaxInFlightBytes < largest || src.MaxInFlightBytes > s.MaxInFlightBytes {
			return nil, &ConfigError{Field: field + ".MaxInFlightBytes", Reason: fmt.Sprintf("%d is not between the largest body limit (%d) and MaxInFlightBytes (%d)", src.MaxInFlightBytes, largest, s.MaxInFlightBytes)}
		}
		if src.WebhookTolerance < 0 {
			return nil, &ConfigError{Field: field + ".WebhookTolerance", Reason: "must not be negative"}
		}
		if src.WebhookTolerance > 0 && src.WebhookFirstElementSignature {
			return nil, &ConfigError{Field: field + ".WebhookFirstElementSignature", Reason: "a first-element signature carries no timestamp, so it cannot be combined with WebhookTolerance"}
		}
		if (src.WebhookTolerance > 0 || src.WebhookFirstElementSignature) && src.WebhookSecret == "" {
			return nil, &ConfigError{Field: field + ".WebhookSecret", Reason: "missing: WebhookTolerance and WebhookFirstElementSignature apply to signed webhooks"}
		}
	}
	if s.MaxActionsInFlightBytes == 0 {
		s.MaxActionsInFlightBytes = s.sourceShare
	}
	if s.MaxActionsInFlightBytes < largest || s.MaxActionsInFlightBytes > s.MaxInFlightBytes {
		return nil, &ConfigError{Field: "MaxActionsInFlightBytes", Reason: fmt.Sprintf("%d is not between the largest body limit (%d) and MaxInFlightBytes (%d)", s.MaxActionsInFlightBytes, largest, s.MaxInFlightBytes)}
	}
	if s.RetryAfter < 0 {
		return nil, &ConfigError{Field: "RetryAfter", Reason: "must not be negative"}
	}
	if s.RetryAfter == 0 {
		s.RetryAfter = DefaultRetryAfter
	}
	if s.SinkTimeout < 0 {
		return nil, &ConfigError{Field: "SinkTimeout", Reason: "must not be negative"}
	}
	if s.SinkTimeout == 0 {
		s.SinkTimeout = DefaultSinkTimeout
	}
	s.ReadHeaderTimeout = durationOr(s.ReadHeaderTimeout, DefaultReadHeaderTimeout)
	s.ReadTimeout = durationOr(s.ReadTimeout, DefaultReadTimeout)
	s.WriteTimeout = durationOr(s.WriteTimeout, DefaultWriteTimeout)
	s.IdleTimeout = durationOr(s.IdleTimeout, DefaultIdleTimeout)
	s.ShutdownTimeout = durationOr(s.ShutdownTimeout, DefaultShutdownTimeout)

	g := s.Group
	switch {
	case g.Linger == 0:
		s.linger = DefaultGroupLinger
	case g.Linger < 0:
		s.linger = 0
	default:
		s.linger = g.Linger
	}
	s.maxEvents, s.maxBytes, s.maxWriters = g.MaxEvents, g.MaxBytes, g.MaxConcurrentWrites
	if s.maxEvents == 0 {
		s.maxEvents = DefaultMaxGroupEvents
	}
	if s.maxBytes == 0 {
		s.maxBytes = DefaultMaxGroupBytes
	}
	if s.maxWriters == 0 {
		s.maxWriters = DefaultMaxConcurrentWrites
	}
	if s.maxEvents < 0 || s.maxBytes < 0 || s.maxWriters < 0 {
		return nil, &ConfigError{Field: "Group", Reason: "MaxEvents, MaxBytes and MaxConcurrentWrites must not be negative"}
	}
	if s.WriteTimeout > 0 && s.WriteTimeout <= s.linger+s.SinkTimeout {
		return nil, &ConfigError{Field: "WriteTimeout", Reason: fmt.Sprintf("%v does not leave room for Group.Linger plus SinkTimeout (%v): answers would be cut off after the events were written", s.WriteTimeout, s.linger+s.SinkTimeout)}
	}
	if (s.TLSCertFile == "") != (s.TLSKeyFile == "") {
		return nil, &ConfigError{Field: "TLSCertFile", Reason: "TLSCertFile and TLSKeyFile go together: set both or neither"}
	}
	if s.Logger == nil {
		s.Logger = slog.New(slog.DiscardHandler)
	}
	return s, nil
}

func validName(name string) bool {
	if name == "" || len(name) > 64 {
		return false
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', c == '.', c == '_', c == '-':
		default:
			return false
		}
	}
	return true
}
