package main

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/go-sql-driver/mysql"
	"github.com/spf13/cobra"

	"github.com/s2segment/s2segment/dataapi/emulator"
)

func init() { register(newEmulatorCmd) }

// emulatorFlags are the command line of "s2segment emulator".
type emulatorFlags struct {
	addr      string
	dsn       string
	user      string
	password  string
	databases []string

	tls     bool
	tlsCert string
	tlsKey  string

	failRate       float64
	failStatus     int
	retryAfter     time.Duration
	resetRate      float64
	latency        string
	afterExec      bool
	seed           uint64
	maxBodyBytes   int64
	tooLargeStatus int
	verbose        bool
	rules          bool
}

// Environment variables the emulator reads for flags that hold secrets.
const (
	emulatorDSNEnv      = "S2_EMULATOR_DSN"
	emulatorPasswordEnv = "S2_EMULATOR_PASSWORD"
)

func newEmulatorCmd() *cobra.Command {
	var f emulatorFlags
	cmd := &cobra.Command{
		Annotations: map[string]string{annotationStopsOnSignal: "true"},
		Use:         "emulator [--addr 127.0.0.1:9000] [--dsn DSN] [--user U --password P] [--tls]",
		Short:       "Run a local SingleStore Data API on a real SQL engine",
		Long: `emulator serves the SingleStore Data API (/ping, /api/v2/exec,
/api/v2/query/rows, /api/v2/query/tuples and the same under /api/v1/) and runs
every statement on a real SQL engine, so s2segment, curl or any Data API client
can be tried without SingleStore. It prints where it listens and how to point
s2segment at it, and runs until interrupted (Ctrl-C or SIGTERM), then lets
running requests finish.

Engine: by default an embedded MySQL-compatible engine (go-mysql-server) in
memory, with a database "s2segment" created at start; its data is gone when the
emulator stops. The embedded engine runs one statement at a time and keeps
unique keys in hash indexes, so an insert costs the same at any table size.
To keep the data, use --dsn with MariaDB, e.g.
--dsn 'user:pass@tcp(127.0.0.1:3306)/'. --dsn takes any MySQL-protocol server
(MariaDB, MySQL, or SingleStore's SQL port) in go-sql-driver/mysql form; the
database part is ignored, as each request names its own database. SingleStore-
only DDL (SHARD KEY, SORT KEY, CREATE ROWSTORE TABLE, AUTOSTATS_*, SQL_MODE
table options) is adapted for MariaDB and MySQL.

SingleStore rules: every statement is first checked against SingleStore's
documented rules (unique keys must contain the shard key, no upsert of a unique
key column of a columnstore table or of a shard key column, no INSERT IGNORE
with ON DUPLICATE KEY UPDATE, no UPDATE of a shard key, system limits) and
refused with SingleStore's error when it breaks one; SingleStore's JSON
accessors (col::key, col::$key, col::%key, JSON_EXTRACT_STRING, ...) work in
queries. --singlestore-rules=false turns this off, for plain MySQL or MariaDB
work. See docs/emulator.md.

Auth: with --user (and --password), only those Basic credentials are accepted.
Without --user any Basic credentials are accepted, e.g. user root with an empty
password; a request still needs an Authorization header, as the real service
requires one.

Faults, for testing clients and pipelines: --fail-rate answers that fraction of
requests with --fail-status (503 by default, with Retry-After), --reset-rate
closes that fraction of connections without an answer, --latency delays every
request (50ms, or a range like 10ms-200ms). Faults are drawn from --seed, so a
run repeats exactly; --faults-after-exec applies them after the statement ran
(the write lands, the client sees a failure).

Environment: ` + emulatorDSNEnv + ` and ` + emulatorPasswordEnv + ` stand in for --dsn and
--password, which would otherwise show in process lists.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runEmulator(cmd, &f)
		},
	}
	fs := cmd.Flags()
	fs.StringVar(&f.addr, "addr", "127.0.0.1:9000", "address to listen on (port 0 picks a free port)")
	fs.StringVar(&f.dsn, "dsn", "", "MySQL-protocol server to run statements on, instead of the embedded engine (env "+emulatorDSNEnv+")")
	fs.StringVar(&f.user, "user", "", "the only Basic user accepted; empty accepts any credentials")
	fs.StringVar(&f.password, "password", "", "the password of --user (env "+emulatorPasswordEnv+")")
	fs.StringSliceVar(&f.databases, "database", nil, "databases to create at start (default s2segment; with --dsn, the DSN's database if it names one)")
	fs.BoolVar(&f.tls, "tls", false, "serve https, with --tls-cert/--tls-key or a generated self-signed certificate")
	fs.StringVar(&f.tlsCert, "tls-cert", "", "PEM certificate file for --tls")
	fs.StringVar(&f.tlsKey, "tls-key", "", "PEM private key file for --tls")
	fs.Float64Var(&f.failRate, "fail-rate", 0, "fraction of requests (0 to 1) answered with --fail-status")
	fs.IntVar(&f.failStatus, "fail-status", emulator.DefaultFailStatus, "status of injected failures")
	fs.DurationVar(&f.retryAfter, "retry-after", emulator.DefaultRetryAfter, "Retry-After of injected 429 and 503 answers")
	fs.Float64Var(&f.resetRate, "reset-rate", 0, "fraction of requests (0 to 1) whose connection is closed without an answer")
	fs.StringVar(&f.latency, "latency", "", "delay of every request: a duration (50ms) or a range (10ms-200ms)")
	fs.BoolVar(&f.afterExec, "faults-after-exec", false, "inject failures and resets after the statement ran")
	fs.Uint64Var(&f.seed, "seed", 0, "seed of the fault draws")
	fs.Int64Var(&f.maxBodyBytes, "max-body-bytes", emulator.DefaultMaxBodyBytes, "largest request body accepted")
	fs.IntVar(&f.tooLargeStatus, "too-large-status", emulator.DefaultTooLargeStatus, "status for a body over --max-body-bytes (413 or 400)")
	fs.BoolVarP(&f.verbose, "verbose", "v", false, "log every request to standard error")
	fs.BoolVar(&f.rules, "singlestore-rules", true, "refuse statements SingleStore refuses and translate its JSON accessors (false: plain MySQL)")
	return cmd
}

// parseLatency reads "50ms" or "10ms-200ms".
func parseLatency(s string) (lo, hi time.Duration, err error) {
	if s == "" {
		return 0, 0, nil
	}
	a, b, isRange := strings.Cut(s, "-")
	if lo, err = time.ParseDuration(strings.TrimSpace(a)); err != nil || lo < 0 {
		return 0, 0, fmt.Errorf("--latency: want a duration like 50ms or a range like 10ms-200ms, got %q", s)
	}
	if !isRange {
		return lo, 0, nil
	}
	if hi, err = time.ParseDuration(strings.TrimSpace(b)); err != nil || hi < lo {
		return 0, 0, fmt.Errorf("--latency: want a range MIN-MAX with MIN <= MAX, like 10ms-200ms, got %q", s)
	}
	return lo, hi, nil
}

// emulatorConfig turns the flags into an emulator.Config.
func (f *emulatorFlags) config(fs interface{ Changed(string) bool }, stderr io.Writer) (emulator.Config, error) {
	if !fs.Changed("dsn") {
		f.dsn = os.Getenv(emulatorDSNEnv)
	}
	if !fs.Changed("password") {
		if v, ok := os.LookupEnv(emulatorPasswordEnv); ok {
			f.password = v
		}
	}
	lo, hi, err := parseLatency(f.latency)
	if err != nil {
		return emulator.Config{}, err
	}
	if f.dsn != "" && len(f.databases) == 0 {
		// A database to point replay at: the DSN's own, or s2segment.
		db := emulator.DefaultDatabase
		if c, err := mysql.ParseDSN(f.dsn); err == nil && c.DBName != "" {
			db = c.DBName
		}
		f.databases = []string{db}
	}
	cfg := emulator.Config{
		DSN:            f.dsn,
		Databases:      f.databases,
		User:           f.user,
		Password:       f.password,
		MaxBodyBytes:   f.maxBodyBytes,
		TooLargeStatus: f.tooLargeStatus,
		PlainMySQL:     !f.rules,
		Faults: emulator.Faults{
			FailRate:   f.failRate,
			FailStatus: f.failStatus,
			RetryAfter: f.retryAfter,
			ResetRate:  f.resetRate,
			AfterExec:  f.afterExec,
			Latency:    lo,
			LatencyMax: hi,
			Seed:       f.seed,
		},
	}
	if f.maxBodyBytes <= 0 {
		return cfg, fmt.Errorf("--max-body-bytes: want a positive number of bytes, got %d", f.maxBodyBytes)
	}
	if f.verbose {
		cfg.Logger = newTextLogger(stderr)
	}
	return cfg, nil
}

func runEmulator(cmd *cobra.Command, f *emulatorFlags) error {
	ctx := cmd.Context()
	out := cmd.OutOrStdout()
	cfg, err := f.config(cmd.Flags(), cmd.ErrOrStderr())
	if err != nil {
		return usageError(err)
	}
	if (f.tlsCert == "") != (f.tlsKey == "") {
		return usageError(errors.New("--tls-cert and --tls-key go together"))
	}
	useTLS := f.tls || f.tlsCert != ""

	srv, err := emulator.New(cfg)
	if err != nil {
		var ce *emulator.ConfigError
		if errors.As(err, &ce) {
			return usageError(err)
		}
		return failedError(err)
	}
	defer srv.Close()

	ln, err := net.Listen("tcp", f.addr)
	if err != nil {
		return failedError(fmt.Errorf("listening on %s: %w", f.addr, err))
	}
	host, port, _ := net.SplitHostPort(ln.Addr().String())
	if ip := net.ParseIP(host); ip != nil && ip.IsUnspecified() {
		host = "127.0.0.1"
	}

	scheme, caFile := "http", ""
	var tlsConfig *tls.Config
	if useTLS {
		scheme = "https"
		var cert tls.Certificate
		if f.tlsCert != "" {
			cert, err = tls.LoadX509KeyPair(f.tlsCert, f.tlsKey)
			if err != nil {
				ln.Close()
				return usageError(fmt.Errorf("loading --tls-cert/--tls-key: %w", err))
			}
		} else {
			dir, err := os.MkdirTemp("", "s2segment-emulator-tls-")
			if err != nil {
				ln.Close()
				return failedError(fmt.Errorf("creating a directory for the certificate: %w", err))
			}
			defer os.RemoveAll(dir)
			caFile = filepath.Join(dir, "cert.pem")
			if cert, err = selfSignedCert(caFile, host); err != nil {
				ln.Close()
				return failedError(err)
			}
		}
		tlsConfig = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	}

	local := emulator.Start(srv, ln, tlsConfig)
	defer local.Close()

	printEmulatorBanner(out, srv, cfg, f, scheme, host, port, caFile)

	select {
	case <-ctx.Done():
	case <-local.Done():
		return failedError(local.Err())
	}
	closeErr := local.Close()
	st := srv.Stats()
	fmt.Fprintf(out, "s2segment emulator: stopped after %d requests (%d statements, %d errors, %d injected failures, %d resets)\n",
		st.Requests, st.Statements, st.Failures, st.InjectedFailures, st.InjectedResets)
	if closeErr != nil {
		return failedError(fmt.Errorf("stopping: %w", closeErr))
	}
	return nil
}

func printEmulatorBanner(w io.Writer, srv *emulator.Server, cfg emulator.Config, f *emulatorFlags, scheme, host, port, caFile string) {
	url := scheme + "://" + net.JoinHostPort(host, port)
	fmt.Fprintf(w, "s2segment emulator: Data API at %s\n", url)
	engine := srv.Engine()
	if srv.Dialect() == emulator.DialectEmbedded {
		engine += " (data is lost when the emulator stops)"
	}
	fmt.Fprintf(w, "  engine:    %s\n", engine)
	if srv.SingleStoreRules() {
		fmt.Fprintln(w, "  rules:     SingleStore's (--singlestore-rules=false for plain MySQL)")
	} else {
		fmt.Fprintln(w, "  rules:     the engine's own (plain MySQL)")
	}
	dbs := cfg.Databases
	if dbs == nil && cfg.DSN == "" {
		dbs = []string{emulator.DefaultDatabase}
	}
	if len(dbs) > 0 {
		fmt.Fprintf(w, "  databases: %s\n", strings.Join(dbs, ", "))
	}
	if cfg.User == "" {
		fmt.Fprintln(w, "  auth:      any Basic credentials (start with --user/--password to require some)")
	} else {
		fmt.Fprintf(w, "  auth:      Basic, user %s\n", cfg.User)
	}
	fl := cfg.Faults
	if fl.FailRate > 0 || fl.ResetRate > 0 || f.latency != "" {
		fmt.Fprintf(w, "  faults:    fail %g (status %d), reset %g, latency %s, seed %d\n", fl.FailRate, f.failStatus, fl.ResetRate, orNone(f.latency), fl.Seed)
	}
	if caFile != "" {
		fmt.Fprintf(w, "  tls:       self-signed certificate %s (trust it with --ca-cert)\n", caFile)
	}

	fmt.Fprintf(w, "Point s2segment at it:\n  %s\n", emulatorTarget(host, port, scheme, dbs, caFile))
	for _, c := range emulatorCommands(cfg, scheme, host, port, dbs, caFile) {
		fmt.Fprintf(w, "%s\n  %s\n", c.what, c.line)
	}
	fmt.Fprintln(w, "Stop with Ctrl-C.")
}

// emulatorTarget is the settings flags that point s2segment at the
// emulator.
func emulatorTarget(host, port, scheme string, dbs []string, caFile string) string {
	target := fmt.Sprintf("--host %s --port %s --scheme %s", host, port, scheme)
	if len(dbs) > 0 {
		target += " --database " + dbs[0]
	}
	if caFile != "" {
		target += " --ca-cert " + shellQuote(caFile)
	}
	return target
}

// emulatorCommand is a command line the banner offers to paste.
type emulatorCommand struct{ what, line string }

// emulatorCommands are the command lines of the banner, each one that works
// when pasted into a POSIX shell: the password is never printed, but read
// from the emulator's own environment variable (curl asks for it when the
// emulator got it as a flag).
func emulatorCommands(cfg emulator.Config, scheme, host, port string, dbs []string, caFile string) []emulatorCommand {
	url := scheme + "://" + net.JoinHostPort(host, port)
	target := emulatorTarget(host, port, scheme, dbs, caFile)
	env, cred := "", "root:"
	if cfg.User == "" {
		target += " --user root" // any Basic credentials, but some
	} else {
		target += " --user " + shellQuote(cfg.User)
		env = `S2_PASSWORD="$` + emulatorPasswordEnv + `" `
		cred = shellQuote(cfg.User) + `:"$` + emulatorPasswordEnv + `"`
		if _, fromEnv := os.LookupEnv(emulatorPasswordEnv); !fromEnv {
			env = "S2_PASSWORD=… "      // given as --password: not printed
			cred = shellQuote(cfg.User) // curl asks for the password
		}
	}
	var out []emulatorCommand
	if len(dbs) > 0 {
		out = append(out, emulatorCommand{"Replay the bundled sample events into it:", env + "s2segment replay " + target})
	} else {
		out = append(out, emulatorCommand{"Replay the bundled sample events into it (name a database of the server):",
			env + "s2segment replay " + target + " --database DATABASE"})
	}
	curl := "curl"
	if caFile != "" {
		curl += " --cacert " + shellQuote(caFile)
	}
	db := ""
	if len(dbs) > 0 {
		db = `,"database":"` + dbs[0] + `"`
	}
	out = append(out, emulatorCommand{"Try it:", fmt.Sprintf(`%s -u %s -H 'Content-Type: application/json' -d '{"sql":"SELECT 1 AS one"%s}' %s/api/v2/query/rows`, curl, cred, db, url)})
	return out
}

// shellQuote quotes s for a POSIX shell when it needs it.
func shellQuote(s string) string {
	if s != "" && strings.Trim(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_./:@") == "" {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

func orNone(s string) string {
	if s == "" {
		return "none"
	}
	return s
}

// selfSignedCert makes a certificate for localhost, 127.0.0.1, ::1 and
// host, valid for 30 days, writes it (not the key) to certFile and returns
// the pair.
func selfSignedCert(certFile, host string) (tls.Certificate, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("generating a key: %w", err)
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 62))
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("generating a serial number: %w", err)
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: "s2segment emulator"},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(30 * 24 * time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
		DNSNames:              []string{"localhost"},
		IPAddresses:           []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback},
	}
	if ip := net.ParseIP(host); ip != nil {
		if !ip.IsLoopback() {
			tmpl.IPAddresses = append(tmpl.IPAddresses, ip)
		}
	} else if host != "" && host != "localhost" {
		tmpl.DNSNames = append(tmpl.DNSNames, host)
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("creating the certificate: %w", err)
	}
	pemBytes := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	if err := os.WriteFile(certFile, pemBytes, 0o644); err != nil {
		return tls.Certificate{}, fmt.Errorf("writing the certificate: %w", err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}, nil
}

// rulesNote says, for a banner, that the emulator refuses what SingleStore's
// documentation refuses, when its rule layer is on.
func rulesNote(srv *emulator.Server) string {
	if srv.SingleStoreRules() {
		return ", refusing what SingleStore's documentation refuses"
	}
	return ""
}
