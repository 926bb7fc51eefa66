package main

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/s2segment/s2segment/dataapi"
	"github.com/s2segment/s2segment/dataapi/emulator"
	"github.com/s2segment/s2segment/destination/singlestore"
	"github.com/s2segment/s2segment/internal/adapter"
	"github.com/s2segment/s2segment/internal/diagnose"
	"github.com/s2segment/s2segment/internal/endpoint"
)

func init() { register(newServeCmd) }

// Environment variables of serve's secrets.
const (
	serveWriteKeyEnv      = "S2_WRITE_KEY"
	serveWebhookSecretEnv = "S2_WEBHOOK_SECRET"
	serveActionsTokenEnv  = "S2_ACTIONS_TOKEN"
	serveAdminTokenEnv    = "S2_ADMIN_TOKEN"
)

// Defaults of serve.
const (
	defaultServeAddr = "127.0.0.1:3000"
	// defaultServeLinger is the group-commit linger. Measured against the
	// emulator at concurrency 64 (docs/benchmarks.md, section serve), a 2 ms
	// linger matched or beat no linger (0: groups form only while every
	// write slot is busy) on throughput, cut the p99 latency by several
	// times, and made 3 to 4 times fewer database requests.
	defaultServeLinger = 2 * time.Millisecond
	// defaultServeWriterConcurrency is how many requests one group's write
	// sends at a time when it spans several Data API requests.
	defaultServeWriterConcurrency = 2
)

// serveFlags are the command line of "s2segment serve".
type serveFlags struct {
	target       targetFlags
	addr         string
	config       string
	writeKey     string
	secret       string
	mapping      string
	subscription string
	schema       string
	jsonStrings  bool

	actions      bool
	actionsToken string
	sendHosts    string
	check        bool

	adminAddr  string
	adminToken string

	webhookTolerance    time.Duration
	webhookFirstElement bool
	maxConnections      int
	maxHeaderBytes      int
	unauthBytes         int64
	requestEvents       int
	expandedBytes       int64

	groupCommit  bool
	linger       time.Duration
	groupEvents  int
	writeSlots   int
	eventBytes   int64
	batchBytes   int64
	bodyBytes    int64
	inFlight     int64
	sinkTimeout  time.Duration
	readHeader   time.Duration
	readTimeout  time.Duration
	writeTimeout time.Duration
	idleTimeout  time.Duration
	shutdown     time.Duration
	tlsCert      string
	tlsKey       string
	logLevel     string

	// metrics counts the work of every Data API client serve makes; it is
	// served on /metrics.
	metrics *adapter.ClientMetrics
}

func newServeCmd() *cobra.Command {
	f := serveFlags{metrics: adapter.NewClientMetrics()}
	cmd := &cobra.Command{
		Annotations: map[string]string{annotationStopsOnSignal: "true"},
		Use:         "serve [--addr 127.0.0.1:3000] [--config FILE] [settings flags]",
		Short:       "Run the hosted endpoint: Tracking API, webhooks and Actions routes",
		Long: `serve runs the hosted endpoint. It accepts Segment's delivery formats and
writes each event to SingleStore before it answers, so a sender's retry is the
only queue and nothing acknowledged is lost:

  POST /v1/track /v1/identify /v1/page /v1/screen /v1/group /v1/alias   HTTP Tracking API, one event
  POST /v1/batch /v1/import         a batch of events
  POST /webhook, /webhook/{source}  Segment webhooks, signed with X-Signature
  GET  /manifest, POST /authenticate, POST /send   actions-cli routes
  GET  /healthz /readyz /metrics

Single-source mode takes the settings flags (--host, --user, --database, …),
--write-key (` + serveWriteKeyEnv + `) for the Tracking API and --webhook-secret
(` + serveWebhookSecretEnv + `) for webhooks, with an optional --mapping and
--subscription. Multi-source mode reads sources from a JSON --config file
(see docs/serve.example.json). --scheme, --ca-cert and --insecure apply to
every Data API the endpoint writes to, including those /send names.

With no host, serve starts the embedded Data API emulator on loopback (data in
memory, gone at exit), generates a write key if none is given, and prints a
curl command to send a first event.

At start every source is checked as "s2segment check" does (connect, create
the table, compare its columns): a wrong setting stops serve with exit status
1; an unreachable server only warns, and /readyz reports it until it answers.

Concurrent requests share database writes (group commit); a request is
answered once its own events are written. SIGTERM or Ctrl-C stops accepting
requests, finishes those in flight and exits. Logs are JSON on standard error
and never hold passwords, write keys or Authorization headers.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runServe(cmd, &f)
		},
	}
	fs := cmd.Flags()
	f.target.register(fs)
	fs.StringVar(&f.addr, "addr", defaultServeAddr, "address to listen on (port 0 picks a free port)")
	fs.StringVar(&f.config, "config", "", "JSON file of sources (multi-source mode); see docs/serve.example.json")
	fs.StringVar(&f.writeKey, "write-key", "", "write key of the HTTP Tracking API routes (env "+serveWriteKeyEnv+")")
	fs.StringVar(&f.secret, "webhook-secret", "", "shared secret of signed webhooks (env "+serveWebhookSecretEnv+")")
	fs.StringVar(&f.mapping, "mapping", "", "mapping to overlay on the Send Data defaults: a JSON object, or a file holding one")
	fs.StringVar(&f.subscription, "subscription", "", "FQL subscription replacing the default one")
	fs.StringVar(&f.schema, "schema", "dedupe", "table schema: dedupe (messageId unique, redeliveries written once) or reference (Segment's keyless table)")
	fs.BoolVar(&f.jsonStrings, "json-strings", false, "send properties, traits and context as JSON-encoded strings")

	fs.BoolVar(&f.actions, "actions", true, "serve the actions-cli routes /manifest, /authenticate and /send")
	fs.StringVar(&f.actionsToken, "actions-token", "", "bearer token required by /authenticate and /send (env "+serveActionsTokenEnv+"); needed to listen beyond loopback")
	fs.StringVar(&f.sendHosts, "send-hosts", defaultSendHosts, "Data API hosts /authenticate and /send may connect to, comma-separated: names or IPs (any port), host:port, CIDR prefixes, *.domain, or * for any; each source's host and port is always allowed")
	fs.StringVar(&f.adminAddr, "admin-addr", "", "address of the operator's routes (/healthz, /readyz with reasons, /metrics); empty for none")
	fs.StringVar(&f.adminToken, "admin-token", "", "bearer token that shows /readyz's reasons on the main address (env "+serveAdminTokenEnv+")")
	fs.DurationVar(&f.webhookTolerance, "webhook-tolerance", 0, "require "+endpoint.TimestampHeader+" on webhooks, signed with the body, within this of the server's clock; 0 turns replay protection off")
	fs.BoolVar(&f.webhookFirstElement, "webhook-first-element-signature", false, "also accept webhook arrays signed over their first element only: the other elements are then NOT authenticated")
	fs.IntVar(&f.maxConnections, "max-connections", endpoint.DefaultMaxConnections, "connections open at once; further ones wait to be accepted")
	fs.IntVar(&f.maxHeaderBytes, "max-header-bytes", endpoint.DefaultMaxHeaderBytes, "largest request header block in bytes")
	fs.Int64Var(&f.unauthBytes, "max-unauthenticated-bytes", endpoint.DefaultMaxUnauthenticatedBytes, "bytes held at once by requests not yet authenticated (webhooks before their signature is checked, write keys in bodies)")
	fs.IntVar(&f.requestEvents, "max-request-events", endpoint.DefaultMaxRequestEvents, "most events in one batch, webhook array or /send payload")
	fs.Int64Var(&f.expandedBytes, "max-expanded-batch-bytes", endpoint.DefaultMaxExpandedBatchBytes, "most bytes a batch may expand to once its top-level context is merged into each event")
	fs.BoolVar(&f.check, "check", true, "check every source at start: connect, create the table, compare its columns")

	fs.BoolVar(&f.groupCommit, "group-commit", true, "share database writes between concurrent requests")
	fs.DurationVar(&f.linger, "linger", defaultServeLinger, "how long a group waits for more events; 0 writes as soon as a write slot is free")
	fs.IntVar(&f.groupEvents, "max-group-events", 0, "most events per group; 0 means the writer's batch size (max_batch_size, 100 by default)")
	fs.IntVar(&f.writeSlots, "max-concurrent-writes", endpoint.DefaultMaxConcurrentWrites, "database writes in flight at once per source")
	fs.Int64Var(&f.eventBytes, "max-event-bytes", endpoint.DefaultMaxEventBytes, "largest event, and largest single-event body, in bytes")
	fs.Int64Var(&f.batchBytes, "max-batch-bytes", endpoint.DefaultMaxBatchBytes, "largest /v1/batch or /v1/import body in bytes")
	fs.Int64Var(&f.bodyBytes, "max-body-bytes", endpoint.DefaultMaxBodyBytes, "largest webhook, /send or /authenticate body in bytes")
	fs.Int64Var(&f.inFlight, "max-in-flight-bytes", endpoint.DefaultMaxInFlightBytes, "request bytes held at once; past it requests get 429/503 with Retry-After")
	fs.DurationVar(&f.sinkTimeout, "write-db-timeout", endpoint.DefaultSinkTimeout, "bound on one database write, retries included")
	fs.DurationVar(&f.readHeader, "read-header-timeout", endpoint.DefaultReadHeaderTimeout, "time to read a request's headers")
	fs.DurationVar(&f.readTimeout, "read-timeout", endpoint.DefaultReadTimeout, "time to read a whole request")
	fs.DurationVar(&f.writeTimeout, "write-timeout", endpoint.DefaultWriteTimeout, "time from the end of the headers to the end of the answer; above linger + --write-db-timeout")
	fs.DurationVar(&f.idleTimeout, "idle-timeout", endpoint.DefaultIdleTimeout, "how long an idle keep-alive connection stays open")
	fs.DurationVar(&f.shutdown, "shutdown-timeout", endpoint.DefaultShutdownTimeout, "how long SIGTERM waits for requests in flight")
	fs.StringVar(&f.tlsCert, "tls-cert", "", "PEM certificate chain: serve https (with --tls-key)")
	fs.StringVar(&f.tlsKey, "tls-key", "", "PEM private key of --tls-cert")
	fs.StringVar(&f.logLevel, "log-level", "info", "debug (every request), info, warn or error")
	return cmd
}

// serveSetup is what runServe builds before it listens.
type serveSetup struct {
	sources  []serveSource
	sinks    []*adapter.Sink
	clients  []*dataapi.Client
	targets  []diagnose.Target
	cfg      endpoint.Config
	emu      *emulator.Local
	genKey   bool // the write key was generated
	emuTable string
	emuDB    string
	// sendHosts is where the Actions routes may connect.
	sendHosts *hostList
}

func runServe(cmd *cobra.Command, f *serveFlags) error {
	ctx := cmd.Context()
	out, errOut := cmd.OutOrStdout(), cmd.ErrOrStderr()

	level, err := serveLogLevel(f.logLevel)
	if err != nil {
		return usageError(err)
	}
	// Every configured secret is taken out of every log line, whatever its
	// length, including the Data API's own error text.
	redacting := adapter.NewRedactingHandler(slog.NewJSONHandler(errOut, logOptions(level)) /* durations as text */)
	redacting.SetSecrets(f.target.Password, f.writeKey, f.secret, f.actionsToken, f.adminToken)
	logger := slog.New(redacting)

	st, err := f.setup(cmd.Flags(), os.LookupEnv, logger)
	if err != nil {
		return err
	}
	secrets := []string{f.target.Password, f.writeKey, f.secret, f.actionsToken, f.adminToken}
	for _, src := range st.sources {
		secrets = append(secrets, src.writeKey, src.webhookSecret, src.settings.Password)
	}
	redacting.SetSecrets(secrets...)
	if st.emu != nil {
		defer st.emu.Close() // last, once the endpoint has finished its writes
	}

	srv, err := endpoint.New(st.cfg)
	if err != nil {
		return usageError(err)
	}
	srv.EnableStatus(statusOptions(st))
	if err := srv.Registry().Register(f.metrics); err != nil {
		return fmt.Errorf("registering Data API metrics: %w", err)
	}
	if f.check || st.emu != nil { // the emulator starts empty: its tables must be created
		if err := checkSources(ctx, st, errOut, logger); err != nil { // warnings go to standard error
			return err
		}
	}
	ln, err := net.Listen("tcp", f.addr)
	if err != nil {
		return failedError(fmt.Errorf("listening on %s: %w", f.addr, err))
	}
	var admin *http.Server
	adminDone := make(chan struct{})
	if f.adminAddr != "" {
		aln, err := net.Listen("tcp", f.adminAddr)
		if err != nil {
			_ = ln.Close()
			return failedError(fmt.Errorf("listening on --admin-addr %s: %w", f.adminAddr, err))
		}
		admin = &http.Server{Handler: srv.AdminHandler(), ReadHeaderTimeout: f.readHeader, ReadTimeout: f.readTimeout,
			WriteTimeout: f.writeTimeout, IdleTimeout: f.idleTimeout, MaxHeaderBytes: f.maxHeaderBytes}
		go func() {
			defer close(adminDone)
			_ = admin.Serve(aln)
		}()
		fmt.Fprintf(out, "s2segment serve: operator routes on http://%s (/healthz /readyz /metrics; status page: http://%s/status)\n", aln.Addr(), aln.Addr())
	} else {
		close(adminDone)
	}
	printServeBanner(out, f, st, ln.Addr())

	serveErr := srv.Serve(ctx, ln)
	if admin != nil {
		actx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Second)
		_ = admin.Shutdown(actx)
		cancel()
	}
	<-adminDone
	printServeSummary(out, st)
	if serveErr != nil {
		return failedError(fmt.Errorf("stopping: %w", serveErr))
	}
	return nil
}

// setup reads the flags (and the --config file) and builds the sources,
// their sinks and the server's configuration. Every flag is checked before
// anything is started.
func (f *serveFlags) setup(fs *pflag.FlagSet, lookup func(string) (string, bool), logger *slog.Logger) (*serveSetup, error) {
	if err := f.resolve(fs, lookup); err != nil {
		return nil, usageError(err)
	}
	conn, err := f.connection(logger)
	if err != nil {
		return nil, usageError(err)
	}
	st := &serveSetup{}
	if st.sources, st.genKey, err = f.sources(fs, lookup); err != nil {
		return nil, usageError(err)
	}
	if !serveLoopbackAddr(f.addr) && f.actions && f.actionsToken == "" {
		return nil, usageError(fmt.Errorf("--addr %s is reachable from other machines and the Actions routes (/authenticate, /send) "+
			"carry database credentials and connect where they say: set --actions-token (%s), or --actions=false", f.addr, serveActionsTokenEnv))
	}
	if err := st.startEmulator(); err != nil {
		return nil, failedError(err)
	}
	fail := func(err error) (*serveSetup, error) {
		if st.emu != nil {
			_ = st.emu.Close()
		}
		return nil, err
	}
	batchSize, err := st.openSinks(conn, f.metrics, logger)
	if err != nil {
		return fail(usageError(err))
	}
	if f.actions {
		if err := st.enableActions(conn, f); err != nil {
			return fail(err)
		}
	}
	f.endpointConfig(fs, &st.cfg, batchSize)
	sinks := st.sinks
	names := make([]string, len(st.sources))
	for i, src := range st.sources {
		names[i] = serveSourceName(src.name)
	}
	st.cfg.Ready = func(ctx context.Context) error { return serveReadyAll(ctx, sinks, names) }
	st.cfg.Logger = logger
	return st, nil
}

// resolve takes the secrets not given as flags from the environment and
// checks the flags that stand on their own: TLS files, durations and
// sizes.
func (f *serveFlags) resolve(fs *pflag.FlagSet, lookup func(string) (string, bool)) error {
	if err := f.target.resolve(lookup); err != nil {
		return err
	}
	for _, s := range []struct {
		flag, env string
		v         *string
	}{
		{"write-key", serveWriteKeyEnv, &f.writeKey},
		{"webhook-secret", serveWebhookSecretEnv, &f.secret},
		{"actions-token", serveActionsTokenEnv, &f.actionsToken},
		{"admin-token", serveAdminTokenEnv, &f.adminToken},
	} {
		if !fs.Changed(s.flag) {
			if v, ok := lookup(s.env); ok {
				*s.v = v
			}
		}
	}
	if (f.tlsCert == "") != (f.tlsKey == "") {
		return errors.New("--tls-cert and --tls-key go together")
	}
	if f.tlsCert != "" {
		if _, err := tls.LoadX509KeyPair(f.tlsCert, f.tlsKey); err != nil {
			return fmt.Errorf("--tls-cert/--tls-key: %w", err)
		}
	}
	if f.linger < 0 {
		return fmt.Errorf("--linger: want 0 or a positive duration, got %v", f.linger)
	}
	if f.groupEvents < 0 {
		return fmt.Errorf("--max-group-events: want a positive number, got %d", f.groupEvents)
	}
	for _, v := range []struct {
		flag string
		n    int64
	}{{"max-connections", int64(f.maxConnections)}, {"max-header-bytes", int64(f.maxHeaderBytes)}, {"max-unauthenticated-bytes", f.unauthBytes},
		{"max-request-events", int64(f.requestEvents)}, {"max-expanded-batch-bytes", f.expandedBytes}, {"max-event-bytes", f.eventBytes}, {"max-batch-bytes", f.batchBytes},
		{"max-body-bytes", f.bodyBytes}, {"max-in-flight-bytes", f.inFlight}, {"max-concurrent-writes", int64(f.writeSlots)}} {
		if v.n <= 0 {
			return fmt.Errorf("--%s: want a positive number, got %d", v.flag, v.n)
		}
	}
	for _, v := range []struct {
		flag string
		d    time.Duration
	}{{"write-db-timeout", f.sinkTimeout}, {"read-header-timeout", f.readHeader}, {"read-timeout", f.readTimeout}, {"write-timeout", f.writeTimeout}, {"idle-timeout", f.idleTimeout}, {"shutdown-timeout", f.shutdown}} {
		if v.d <= 0 {
			return fmt.Errorf("--%s: want a positive duration, got %v", v.flag, v.d)
		}
	}
	return nil
}

// sources returns the sources: those of --config, or the one source the
// flags describe. genKey reports a write key generated for a source that
// was given neither a write key nor a webhook secret and writes to the
// embedded emulator.
func (f *serveFlags) sources(fs *pflag.FlagSet, lookup func(string) (string, bool)) (_ []serveSource, genKey bool, _ error) {
	if f.config != "" {
		for _, name := range []string{"host", "port", "user", "password", "database", "table", "write-key", "webhook-secret", "webhook-tolerance", "webhook-first-element-signature", "mapping", "subscription", "schema", "json-strings"} {
			if fs.Changed(name) {
				return nil, false, fmt.Errorf("--%s is a per-source setting: with --config give it in the file", name)
			}
		}
		srcs, err := loadServeConfig(f.config, lookup)
		return srcs, false, err
	}
	src, err := f.singleSource(fs)
	if err != nil {
		return nil, false, err
	}
	if src.writeKey == "" && src.webhookSecret == "" {
		if src.settings.Host != "" {
			return nil, false, fmt.Errorf("give --write-key (%s) for the Tracking API, --webhook-secret (%s) for webhooks, or both", serveWriteKeyEnv, serveWebhookSecretEnv)
		}
		src.writeKey = serveGenerateWriteKey()
		genKey = true
	}
	return []serveSource{src}, genKey, nil
}

// startEmulator starts the embedded emulator when a source has no host,
// with the databases of those sources.
func (st *serveSetup) startEmulator() error {
	var dbs []string
	for _, src := range st.sources {
		if src.settings.Host == "" {
			db := src.settings.DBName
			if db == "" {
				db = emulator.DefaultDatabase
			}
			dbs = serveAppendUnique(dbs, db)
		}
	}
	if len(dbs) == 0 {
		return nil
	}
	var err error
	if st.emu, err = emulator.Listen(context.Background(), emulator.Config{Databases: dbs}); err != nil {
		return fmt.Errorf("starting the embedded emulator: %w", err)
	}
	return nil
}

// openSinks makes a Data API client and a Sink for every source (a source
// without a host writes to the embedded emulator) and adds the sources to
// st.cfg. It returns the smallest batch size of the sinks.
func (st *serveSetup) openSinks(conn adapter.Connection, metrics *adapter.ClientMetrics, logger *slog.Logger) (batchSize int, _ error) {
	for i := range st.sources {
		src := &st.sources[i]
		srcConn := conn
		if src.settings.Host == "" {
			src.settings.Host, src.settings.Port = st.emu.Host(), st.emu.Port()
			src.settings.Username, src.settings.Password = serveEmulatorUser, serveEmulatorPassword
			if src.settings.DBName == "" {
				src.settings.DBName = emulator.DefaultDatabase
			}
			srcConn.Scheme, srcConn.CACert, srcConn.InsecureSkipVerify = "http", nil, false
			st.emuDB, st.emuTable = src.settings.DBName, src.settings.TableName
		}
		client, err := srcConn.NewClient(src.settings)
		if err != nil {
			return 0, fmt.Errorf("source %s: %w", serveSourceName(src.name), err)
		}
		sinkCfg := adapter.SinkConfig{WriterConfig: singlestore.WriterConfig{
			Options: singlestore.Options{
				Mapping: src.mapping, Subscription: src.subscription, Schema: src.schema, JSONColumns: src.jsonColumns,
			},
			Database: src.settings.DBName, Table: src.settings.TableName, Concurrency: defaultServeWriterConcurrency,
		}, CreateMissingTable: true, Name: serveSourceName(src.name), Logger: logger, Metrics: metrics}
		if src.action == singlestore.WarehouseActionKey {
			sinkCfg.Warehouse = &singlestore.WarehouseConfig{Database: src.settings.DBName, Concurrency: defaultServeWriterConcurrency}
		}
		sink, err := adapter.NewSink(singlestore.NewExecutor(client), sinkCfg)
		if err != nil {
			return 0, fmt.Errorf("source %s: %w", serveSourceName(src.name), err)
		}
		if bs := sink.BatchSize(); batchSize == 0 || bs < batchSize {
			batchSize = bs
		}
		st.clients = append(st.clients, client)
		st.sinks = append(st.sinks, sink)
		st.targets = append(st.targets, srcConn.TargetOf(src.settings, src.schema))
		st.cfg.Sources = append(st.cfg.Sources, endpoint.Source{Name: src.name, WriteKey: src.writeKey, WebhookSecret: src.webhookSecret,
			WebhookTolerance: src.webhookTolerance, WebhookFirstElementSignature: src.webhookFirstElement, Sink: sink})
	}
	return batchSize, nil
}

// enableActions adds the Actions routes (/authenticate, /send) to st.cfg:
// they may connect to --send-hosts and to the sources' own hosts.
func (st *serveSetup) enableActions(conn adapter.Connection, f *serveFlags) error {
	schema, err := singlestore.ParseSchema(f.schema)
	if err != nil {
		return usageError(fmt.Errorf("--schema: %w", err))
	}
	jsonMode := singlestore.JSONRaw
	if f.jsonStrings {
		jsonMode = singlestore.JSONString
	}
	acts, err := adapter.NewActions(adapter.ActionsConfig{Connection: conn, Schema: schema, JSONColumns: jsonMode, Concurrency: defaultServeWriterConcurrency})
	if err != nil {
		return failedError(err)
	}
	hosts, err := parseHostList(f.sendHosts)
	if err != nil {
		return usageError(err)
	}
	for _, src := range st.sources {
		hosts.addPort(src.settings.Host, src.settings.Port)
	}
	st.sendHosts = hosts
	st.cfg.Actions = hostActions{Actions: acts, hosts: hosts}
	st.cfg.ActionsToken = f.actionsToken
	return nil
}

// endpointConfig sets the endpoint's limits, timeouts, group commit, TLS
// and admin token from the flags. batchSize is the default group size.
func (f *serveFlags) endpointConfig(fs *pflag.FlagSet, cfg *endpoint.Config, batchSize int) {
	groupEvents := f.groupEvents
	if groupEvents == 0 {
		groupEvents = batchSize
	}
	linger := f.linger
	if linger == 0 {
		linger = endpoint.NoLinger // GroupConfig's zero means its default
	}
	cfg.Group = endpoint.GroupConfig{Disabled: !f.groupCommit, Linger: linger, MaxEvents: groupEvents, MaxConcurrentWrites: f.writeSlots}
	cfg.MaxEventBytes, cfg.MaxBatchBytes, cfg.MaxBodyBytes, cfg.MaxInFlightBytes = f.eventBytes, f.batchBytes, f.bodyBytes, f.inFlight
	cfg.MaxConnections, cfg.MaxHeaderBytes = f.maxConnections, f.maxHeaderBytes
	cfg.MaxRequestEvents, cfg.MaxExpandedBatchBytes = f.requestEvents, f.expandedBytes
	if fs.Changed("max-unauthenticated-bytes") { // else the endpoint fits it within --max-in-flight-bytes
		cfg.MaxUnauthenticatedBytes = f.unauthBytes
	}
	cfg.SinkTimeout = f.sinkTimeout
	cfg.ReadHeaderTimeout, cfg.ReadTimeout, cfg.WriteTimeout, cfg.IdleTimeout = f.readHeader, f.readTimeout, f.writeTimeout, f.idleTimeout
	cfg.ShutdownTimeout = f.shutdown
	cfg.TLSCertFile, cfg.TLSKeyFile = f.tlsCert, f.tlsKey
	cfg.AdminToken = f.adminToken
}

// connection is how every Data API is spoken to.
func (f *serveFlags) connection(logger *slog.Logger) (adapter.Connection, error) {
	conn := adapter.Connection{
		Metrics:            f.metrics,
		Scheme:             f.target.Scheme,
		InsecureSkipVerify: f.target.Insecure,
		Timeout:            f.sinkTimeout,
		Logger:             logger,
	}
	if f.target.CACert != "" {
		pem, err := os.ReadFile(f.target.CACert)
		if err != nil {
			return conn, fmt.Errorf("--ca-cert: %w", err)
		}
		conn.CACert = pem
	}
	return conn, nil
}

// singleSource builds the one source of single-source mode from the flags.
func (f *serveFlags) singleSource(fs *pflag.FlagSet) (serveSource, error) {
	t := f.target
	src := serveSource{
		writeKey: f.writeKey, webhookSecret: f.secret, subscription: f.subscription,
		webhookTolerance: f.webhookTolerance, webhookFirstElement: f.webhookFirstElement,
		settings: singlestore.Settings{Host: t.Host, Port: t.Port, Username: t.User, Password: t.Password, DBName: t.Database, TableName: t.Table},
	}
	var err error
	if src.schema, err = singlestore.ParseSchema(f.schema); err != nil {
		return src, fmt.Errorf("--schema: %w", err)
	}
	if f.jsonStrings {
		src.jsonColumns = singlestore.JSONString
	}
	if f.mapping != "" {
		if src.mapping, err = readServeMapping(f.mapping); err != nil {
			return src, err
		}
	}
	if t.Host == "" { // --port, --user and --password without it are refused by targetFlags.resolve
		return src, nil
	}
	if t.User == "" {
		return src, errors.New("--user (S2_USER) is required with --host")
	}
	if t.Database == "" {
		return src, errors.New("--database (S2_DATABASE) is required with --host")
	}
	if err := singlestore.ValidateDatabaseName(t.Database); err != nil {
		return src, fmt.Errorf("--database: %w", err)
	}
	if err := singlestore.ValidateTableName(t.Table); err != nil {
		return src, fmt.Errorf("--table: %w", err)
	}
	return src, nil
}

// readServeMapping reads --mapping: a JSON object given inline, or a file
// holding one.
func readServeMapping(v string) ([]byte, error) {
	data, source := []byte(v), "the --mapping value"
	if t := strings.TrimSpace(v); !strings.HasPrefix(t, "{") {
		b, err := os.ReadFile(v)
		if err != nil {
			return nil, fmt.Errorf("--mapping: reading the mapping file: %w", err)
		}
		data, source = b, v
	}
	var m map[string]any
	if err := serveDecodeStrict(data, &m); err != nil {
		return nil, fmt.Errorf("--mapping: %s: %w", source, err)
	}
	return data, nil
}

// checkSources checks every source's settings and table, as "s2segment
// check" does. A failure that may pass by itself (server unreachable) is a
// warning; any other stops serve.
func checkSources(ctx context.Context, st *serveSetup, out io.Writer, logger *slog.Logger) error {
	for i, src := range st.sources {
		name := serveSourceName(src.name)
		cctx, cancel := context.WithTimeout(ctx, st.cfg.SinkTimeout)
		if src.action == singlestore.WarehouseActionKey {
			// The warehouse tables are created as events need them: there is
			// no table to check, only the Data API to reach.
			err := st.clients[i].Ping(cctx)
			cancel()
			if err != nil {
				if ctx.Err() != nil {
					return failedError(ctx.Err())
				}
				logger.Warn("checking source", "source", name, "error", err.Error())
				fmt.Fprintf(out, "warning: source %s: %v; serving anyway, /readyz answers 503 until it is reachable\n", name, err)
				continue
			}
			logger.Info("checked source", "source", name, "endpoint", st.targets[i].Endpoint(), "database", st.targets[i].Database, "action", src.action)
			continue
		}
		res, err := diagnose.Check(cctx, st.clients[i], st.targets[i])
		cancel()
		var ce *diagnose.CheckError
		switch {
		case err == nil:
			for _, w := range res.Warnings {
				logger.Warn("checking source", "source", name, "warning", w)
				fmt.Fprintf(out, "warning: source %s: %s\n", name, w)
			}
			logger.Info("checked source", "source", name, "endpoint", st.targets[i].Endpoint(), "database", st.targets[i].Database,
				"table", st.targets[i].Table, "schema", st.targets[i].Schema.String(), "created", res.Created)
		case errors.As(err, &ce) && ce.Kind.Transient():
			logger.Warn("checking source", "source", name, "kind", ce.Kind.String(), "error", ce.Summary)
			fmt.Fprintf(out, "warning: source %s: %s; serving anyway, /readyz answers 503 until it is reachable\n", name, ce.Summary)
		case ctx.Err() != nil:
			return failedError(ctx.Err())
		default:
			return failedError(fmt.Errorf("source %s: %w", name, err))
		}
	}
	return nil
}

// serveReadyAll checks every source's destination with a real,
// authenticated query of its table (adapter.Sink.Ready), at once; the error
// names each source that is not ready and why.
func serveReadyAll(ctx context.Context, sinks []*adapter.Sink, names []string) error {
	errs := make([]error, len(sinks))
	var wg sync.WaitGroup
	for i, s := range sinks {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := s.Ready(ctx); err != nil {
				errs[i] = fmt.Errorf("source %s: %w", names[i], err)
			}
		}()
	}
	wg.Wait()
	return errors.Join(errs...)
}

func printServeBanner(w io.Writer, f *serveFlags, st *serveSetup, addr net.Addr) {
	scheme := "http"
	if f.tlsCert != "" {
		scheme = "https"
	}
	host, port, _ := net.SplitHostPort(addr.String())
	if ip := net.ParseIP(host); ip != nil && ip.IsUnspecified() {
		host = "127.0.0.1"
	}
	base := scheme + "://" + net.JoinHostPort(host, port)
	fmt.Fprintf(w, "s2segment serve: listening on %s\n", base)
	for i, src := range st.sources {
		var routes []string
		if src.writeKey != "" {
			routes = append(routes, "Tracking API /v1/*")
		}
		if src.webhookSecret != "" {
			if len(st.sources) == 1 {
				routes = append(routes, "webhooks /webhook")
			} else {
				routes = append(routes, "webhooks /webhook/"+src.name)
			}
		}
		t := st.targets[i]
		where := t.Endpoint()
		if st.emu != nil && t.Host == st.emu.Host() && t.Port == st.emu.Port() {
			where += " (embedded emulator)"
		}
		if src.action == singlestore.WarehouseActionKey {
			fmt.Fprintf(w, "  source %s: %s -> %s at %s, warehouse schema (tracks, identifies, users, … created as events need them)\n",
				serveSourceName(src.name), strings.Join(routes, ", "), singlestore.QuoteIdentifier(t.Database), where)
			continue
		}
		fmt.Fprintf(w, "  source %s: %s -> %s.%s at %s, %s schema\n", serveSourceName(src.name), strings.Join(routes, ", "),
			singlestore.QuoteIdentifier(t.Database), singlestore.QuoteIdentifier(t.Table), where, t.Schema)
	}
	if st.cfg.Actions != nil {
		auth := "no token: keep it on loopback"
		if st.cfg.ActionsToken != "" {
			auth = "Authorization: Bearer token required"
		}
		fmt.Fprintf(w, "  actions: GET /manifest, POST /authenticate, POST /send (%s); Data API hosts allowed: %s\n", auth, st.sendHosts)
	}
	g := st.cfg.Group
	if g.Disabled {
		fmt.Fprintln(w, "  group commit: off, one database write per request")
	} else {
		linger := "none, groups form while writes are in flight"
		if g.Linger > 0 {
			linger = g.Linger.String()
		}
		fmt.Fprintf(w, "  group commit: up to %d events per write, linger %s, %d writes at once per source\n", g.MaxEvents, linger, g.MaxConcurrentWrites)
	}
	status := "--admin-addr, or /status with --admin-token"
	if f.adminToken != "" {
		status = base + "/status (with the admin token)"
	}
	fmt.Fprintln(w, "  health: /healthz /readyz /metrics; status page: "+status+"; logs: JSON on standard error")
	if st.emu != nil {
		fmt.Fprintf(w, "No --host given: started the embedded Data API emulator at %s (in memory; the data is gone when serve stops).\n", st.emu.URL())
	}
	if len(st.sources) == 1 && st.sources[0].writeKey != "" {
		src := st.sources[0]
		auth := "'" + src.writeKey + ":'"
		if st.emu == nil {
			auth = `"$` + serveWriteKeyEnv + `:"`
		}
		if st.genKey {
			fmt.Fprintf(w, "Generated write key (give --write-key or %s to choose one): %s\n", serveWriteKeyEnv, src.writeKey)
		}
		curl := "curl"
		if scheme == "https" {
			curl += " -k"
		}
		fmt.Fprintf(w, "Send an event:\n  %s -u %s -H 'Content-Type: application/json' -d '{\"userId\":\"user-1\",\"event\":\"Signed Up\",\"properties\":{\"plan\":\"pro\"}}' %s/v1/track\n", curl, auth, base)
		if st.emu != nil {
			fmt.Fprintf(w, "Read it back:\n  curl -u %s: -H 'Content-Type: application/json' -d '{\"sql\":\"SELECT messageId, type, event, userId, properties FROM %s\",\"database\":\"%s\"}' %s/api/v2/query/rows\n",
				serveEmulatorUser, serveSQLIdent(st.emuTable), st.emuDB, st.emu.URL())
		}
	}
	fmt.Fprintln(w, "Stop with Ctrl-C (requests in flight finish first).")
}

// serveSQLIdent quotes a table name for SQL inside a JSON string inside a
// shell single-quoted string.
func serveSQLIdent(name string) string {
	q := singlestore.QuoteIdentifier(name)
	q = strings.ReplaceAll(q, `\`, `\\`)
	q = strings.ReplaceAll(q, `"`, `\"`)
	return strings.ReplaceAll(q, `'`, `'\''`)
}

func printServeSummary(w io.Writer, st *serveSetup) {
	for i, src := range st.sources {
		s := st.sinks[i].Stats()
		fmt.Fprintf(w, "s2segment serve: source %s: events %d written, %d rejected, %d failed (failed ones were answered with a retryable status)\n",
			serveSourceName(src.name), s.Written, s.Rejected, s.Failed)
	}
	fmt.Fprintln(w, "s2segment serve: stopped")
}

func serveSourceName(name string) string {
	if name == "" {
		return "default"
	}
	return name
}

func serveLogLevel(s string) (slog.Level, error) {
	var l slog.Level
	if err := l.UnmarshalText([]byte(s)); err != nil {
		return 0, fmt.Errorf("--log-level: want debug, info, warn or error, got %q", s)
	}
	return l, nil
}

// serveLoopbackAddr reports whether addr listens on loopback only.
func serveLoopbackAddr(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return false
	}
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

func serveGenerateWriteKey() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return "dev-" + hex.EncodeToString(b[:])
}

func serveAppendUnique(list []string, s string) []string {
	for _, x := range list {
		if x == s {
			return list
		}
	}
	return append(list, s)
}

// The credentials serve uses with its embedded emulator, which accepts any.
const (
	serveEmulatorUser     = "root"
	serveEmulatorPassword = "emulator"
)
