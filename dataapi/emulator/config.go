package emulator

import (
	"cmp"
	"fmt"
	"log/slog"
	"math"
	"net/http"
	"time"
)

// Defaults used for zero Config fields.
const (
	// DefaultMaxBodyBytes is the request body limit: 1 MB read as
	// 1,048,576 bytes (the Data API's documentation: "must not exceed 1MB"; the exact byte count
	// of the real service is unconfirmed).
	DefaultMaxBodyBytes = 1 << 20
	// DefaultTooLargeStatus answers a body over the limit. The real
	// service's status is undocumented; 413 says what happened, and
	// Config.TooLargeStatus can switch it to 400.
	DefaultTooLargeStatus = http.StatusRequestEntityTooLarge
	// DefaultDatabase is created in the embedded engine at start, so a
	// newcomer's writes land somewhere.
	DefaultDatabase = "s2segment"
	// DefaultFailStatus answers an injected failure.
	DefaultFailStatus = http.StatusServiceUnavailable
	// DefaultRetryAfter is the Retry-After of an injected 429 or 503.
	DefaultRetryAfter = time.Second
	// DefaultMaxConns bounds the engine connections per context database.
	DefaultMaxConns = 8
	// DefaultConnectTimeout bounds New's first contact with a DSN server.
	DefaultConnectTimeout = 10 * time.Second
)

// Config configures a Server. The zero value is a working emulator: the
// embedded in-memory engine with database "s2segment", any Basic
// credentials accepted, the 1 MB body limit answered with 413, and no
// fault injection.
type Config struct {
	// DSN selects the engine. Empty runs the embedded engine
	// (go-mysql-server, in memory, private to this Server). Otherwise it
	// is a go-sql-driver/mysql DSN of a MySQL-protocol server (MariaDB,
	// MySQL, or SingleStore's SQL port), e.g.
	// "user:pass@tcp(127.0.0.1:3306)/". The database part of the DSN is
	// ignored: every request names its own context database.
	DSN string

	// Databases are created when the server starts, if missing. For the
	// embedded engine nil means []string{DefaultDatabase}; for a DSN
	// server nothing is created unless listed.
	Databases []string

	// User and Password, when User is set, are the only Basic credentials
	// accepted. When User is empty any Basic credentials are accepted
	// (a request still needs an Authorization: Basic header).
	User, Password string

	// MaxBodyBytes is the largest accepted request body; 0 means
	// DefaultMaxBodyBytes.
	MaxBodyBytes int64
	// TooLargeStatus answers a larger body (with the text
	// "Error reading request body: http: request body too large");
	// 0 means DefaultTooLargeStatus. It must be a 4xx status.
	TooLargeStatus int

	// PlainMySQL turns the SingleStore rule layer off. By default every
	// statement is first checked against SingleStore's documented rules
	// (unique and shard keys, upserts, table types, system limits; see
	// the package doc) and refused as SingleStore would refuse it, and
	// SingleStore's JSON accessors (col::key, JSON_EXTRACT_STRING, …) are
	// translated for the engine. With PlainMySQL the engine judges
	// statements alone, as plain MySQL or MariaDB would. The rule layer is
	// never used when the engine is SingleStore itself.
	PlainMySQL bool

	// Faults injects failures; the zero value injects none.
	Faults Faults

	// MaxConns bounds the engine connections per context database;
	// 0 means DefaultMaxConns.
	MaxConns int

	// Logger, if set, gets one line per request (method, path, status,
	// duration; never credentials or arguments).
	Logger *slog.Logger
}

// Faults describes injected failures, for testing clients and pipelines.
// They apply only to authenticated Data API requests (never to /ping), are
// all off in the zero value, and are drawn from a random source seeded
// with Seed, so the n-th request gets the same fate in every run with the
// same configuration.
type Faults struct {
	// FailRate is the fraction (0 to 1) of requests answered with
	// FailStatus instead of being executed.
	FailRate float64
	// FailStatus is the status of an injected failure; 0 means 503. A 429
	// or 503 carries a Retry-After header.
	FailStatus int
	// RetryAfter is the Retry-After of an injected 429/503, rounded up to
	// whole seconds; 0 means one second.
	RetryAfter time.Duration

	// ResetRate is the fraction (0 to 1) of requests whose connection is
	// closed without an answer (a TCP reset where possible). A request is
	// either reset or failed, never both, so FailRate+ResetRate is at
	// most 1.
	ResetRate float64

	// AfterExec moves injected failures and resets after the statement has
	// run: the write is applied, but the client sees a failure. Use it to
	// test that retries are idempotent.
	AfterExec bool

	// Latency delays every request by this much; with LatencyMax above it,
	// by a uniformly drawn duration in [Latency, LatencyMax].
	Latency, LatencyMax time.Duration

	// Seed seeds the random source; equal seeds give equal fates.
	Seed uint64
}

// ConfigError reports an invalid Config field.
type ConfigError struct {
	Field  string
	Value  any
	Reason string
}

// Error says which field is wrong and why.
func (e *ConfigError) Error() string {
	return fmt.Sprintf("emulator config %s = %v: %s", e.Field, e.Value, e.Reason)
}

// inRange is the rule of the numeric fields: zero (unset) takes def, and
// a value outside [lo, hi] is refused with reason.
func inRange[T int | int64 | time.Duration](field string, v *T, def, lo, hi T, reason string) error {
	if *v == 0 {
		*v = def
	}
	if *v < lo || *v > hi {
		return &ConfigError{field, *v, reason}
	}
	return nil
}

// withDefaults checks cfg and fills its zero fields.
func (cfg Config) withDefaults() (Config, error) {
	f := &cfg.Faults
	if err := cmp.Or(
		inRange("MaxBodyBytes", &cfg.MaxBodyBytes, DefaultMaxBodyBytes, 1, math.MaxInt64, "must be positive"),
		inRange("TooLargeStatus", &cfg.TooLargeStatus, DefaultTooLargeStatus, 400, 499, "must be a 4xx status"),
		inRange("MaxConns", &cfg.MaxConns, DefaultMaxConns, 1, math.MaxInt, "must be positive"),
		inRange("Faults.FailStatus", &f.FailStatus, DefaultFailStatus, 400, 599, "must be a 4xx or 5xx status"),
		inRange("Faults.RetryAfter", &f.RetryAfter, DefaultRetryAfter, 0, math.MaxInt64, "must not be negative"),
	); err != nil {
		return cfg, err
	}
	if cfg.Password != "" && cfg.User == "" {
		return cfg, &ConfigError{"Password", "(set)", "needs User"}
	}
	for _, db := range cfg.Databases {
		if db == "" {
			return cfg, &ConfigError{"Databases", cfg.Databases, "names must not be empty"}
		}
	}
	if cfg.DSN == "" && cfg.Databases == nil {
		cfg.Databases = []string{DefaultDatabase}
	}
	if f.FailRate < 0 || f.FailRate > 1 || f.FailRate != f.FailRate {
		return cfg, &ConfigError{"Faults.FailRate", f.FailRate, "must be between 0 and 1"}
	}
	if f.ResetRate < 0 || f.ResetRate > 1 || f.ResetRate != f.ResetRate {
		return cfg, &ConfigError{"Faults.ResetRate", f.ResetRate, "must be between 0 and 1"}
	}
	if f.FailRate+f.ResetRate > 1 {
		return cfg, &ConfigError{"Faults.FailRate", f.FailRate, "FailRate plus ResetRate must not exceed 1"}
	}
	if f.Latency < 0 {
		return cfg, &ConfigError{"Faults.Latency", f.Latency, "must not be negative"}
	}
	if f.LatencyMax != 0 && f.LatencyMax < f.Latency {
		return cfg, &ConfigError{"Faults.LatencyMax", f.LatencyMax, "must not be below Latency"}
	}
	return cfg, nil
}
