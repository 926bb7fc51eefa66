package emulator

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/go-sql-driver/mysql"

	"github.com/s2segment/s2segment/dataapi/emulator/internal/gms"
)

// Dialect names the SQL engine behind a Server.
type Dialect string

// Dialects a Server can run on.
const (
	// DialectEmbedded is go-mysql-server, in memory.
	DialectEmbedded Dialect = "embedded"
	// DialectMariaDB is a MariaDB server reached by DSN.
	DialectMariaDB Dialect = "mariadb"
	// DialectMySQL is a MySQL (or other MySQL-protocol) server by DSN.
	DialectMySQL Dialect = "mysql"
	// DialectSingleStore is SingleStore's SQL port reached by DSN; its
	// statements are run as written, with no adaptation.
	DialectSingleStore Dialect = "singlestore"
)

// maxPools bounds how many context databases keep a connection pool; the
// least recently used idle pool is closed beyond it.
const maxPools = 16

// backend runs statements on the engine over database/sql, with one
// connection pool per context database: the database is chosen when a
// connection is opened, as the Data API's "database" field does, and a
// request without one gets a connection with no current database.
type backend struct {
	dialect Dialect
	version string
	addr    string // where the engine is, for messages (no credentials)
	base    mysql.Config
	engine  *gms.Engine // embedded only
	conns   int

	// serial makes the embedded engine run one statement at a time: its
	// in-memory tables keep a copy per session and the last commit wins,
	// so concurrent writes would silently lose rows.
	serial sync.Mutex

	mu     sync.Mutex
	pools  map[string]*pool
	closed bool
}

type pool struct {
	db      *sql.DB
	refs    int
	lastUse time.Time
}

// discardLogger silences go-sql-driver/mysql's own logging: every error it
// would log also comes back to the caller.
type discardLogger struct{}

func (discardLogger) Print(...any) {}

// newBackend starts the embedded engine or connects to cfg.DSN, detects
// the dialect and creates cfg.Databases.
func newBackend(cfg Config) (*backend, error) {
	b := &backend{conns: cfg.MaxConns, pools: map[string]*pool{}}
	if cfg.DSN == "" {
		engine, err := gms.Start(cfg.Databases...)
		if err != nil {
			return nil, err
		}
		b.engine = engine
		b.dialect = DialectEmbedded
		b.addr = "in memory"
		b.base = *mysql.NewConfig()
		b.base.User = "root"
		b.base.Net = "tcp"
		b.base.Addr = "embedded"
		b.base.DialFunc = engine.Dial
	} else {
		parsed, err := mysql.ParseDSN(cfg.DSN)
		if err != nil {
			return nil, &ConfigError{Field: "DSN", Value: "(redacted)", Reason: err.Error()}
		}
		b.base = *parsed
		b.base.DBName = ""
		b.addr = b.base.Addr
		if b.base.Timeout == 0 {
			b.base.Timeout = DefaultConnectTimeout
		}
	}
	// The Data API interpolates arguments client-side; so does the
	// driver with InterpolateParams, in one round trip.
	b.base.InterpolateParams = true
	b.base.MultiStatements = false
	b.base.ParseTime = false
	b.base.Logger = discardLogger{}

	ctx, cancel := context.WithTimeout(context.Background(), DefaultConnectTimeout)
	defer cancel()
	if err := b.setup(ctx, cfg.Databases); err != nil {
		b.close()
		return nil, err
	}
	return b, nil
}

func (b *backend) setup(ctx context.Context, databases []string) error {
	p, err := b.acquire("")
	if err != nil {
		return err
	}
	defer b.release(p)
	if err := p.db.PingContext(ctx); err != nil {
		return fmt.Errorf("connecting to %s: %w", b.addr, err)
	}
	if err := p.db.QueryRowContext(ctx, "SELECT VERSION()").Scan(&b.version); err != nil {
		return fmt.Errorf("reading the server version: %w", err)
	}
	if b.engine == nil {
		var v string
		switch {
		case p.db.QueryRowContext(ctx, "SELECT @@memsql_version").Scan(&v) == nil:
			b.dialect, b.version = DialectSingleStore, v
		case strings.Contains(strings.ToLower(b.version), "mariadb"):
			b.dialect = DialectMariaDB
		default:
			b.dialect = DialectMySQL
		}
		charset := " DEFAULT CHARACTER SET utf8mb4" // events carry emoji; MariaDB's default is not 4-byte UTF-8
		if b.dialect == DialectSingleStore {
			charset = ""
		}
		for _, name := range databases {
			if _, err := p.db.ExecContext(ctx, "CREATE DATABASE IF NOT EXISTS "+quoteIdent(name)+charset); err != nil {
				return fmt.Errorf("creating database %q: %w", name, err)
			}
		}
	}
	return nil
}

// quoteIdent quotes a MySQL identifier with backticks.
func quoteIdent(name string) string {
	return "`" + strings.ReplaceAll(name, "`", "``") + "`"
}

// errUnknownDatabase builds the engine's error for a missing database.
func errUnknownDatabase(name string) error {
	return &mysql.MySQLError{Number: 1049, SQLState: [5]byte{'4', '2', '0', '0', '0'}, Message: fmt.Sprintf("Unknown database '%s'", name)}
}

// errClosed is returned for requests that arrive after Close.
var errClosed = errors.New("emulator closed")

func (b *backend) acquire(database string) (*pool, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return nil, errClosed
	}
	p, ok := b.pools[database]
	if !ok {
		cfg := b.base.Clone()
		cfg.DBName = database
		connector, err := mysql.NewConnector(cfg)
		if err != nil {
			return nil, fmt.Errorf("configuring the connection: %w", err)
		}
		db := sql.OpenDB(connector)
		conns := b.conns
		if b.engine != nil {
			// One session per database: the embedded engine's in-memory
			// tables keep a copy per session, and a statement on a second
			// session could commit a stale copy over another session's
			// ALTER TABLE (a column added by one connection lost by the
			// next). Statements run one at a time anyway (serial).
			conns = 1
		}
		db.SetMaxOpenConns(conns)
		db.SetMaxIdleConns(conns)
		db.SetConnMaxIdleTime(5 * time.Minute)
		p = &pool{db: db}
		b.pools[database] = p
		b.evictLocked()
	}
	p.refs++
	p.lastUse = time.Now()
	return p, nil
}

// evictLocked closes the least recently used idle pools beyond maxPools.
func (b *backend) evictLocked() {
	for len(b.pools) > maxPools {
		victim, oldest := "", time.Time{}
		found := false
		for name, p := range b.pools {
			if p.refs == 0 && (!found || p.lastUse.Before(oldest)) {
				victim, oldest, found = name, p.lastUse, true
			}
		}
		if !found {
			return
		}
		go b.pools[victim].db.Close() // waits for nothing: the pool is idle
		delete(b.pools, victim)
	}
}

func (b *backend) release(p *pool) {
	b.mu.Lock()
	p.refs--
	b.mu.Unlock()
}

// sessionChanging lists first keywords of statements that change the
// session (current database, variables, open transaction, table locks).
// Their connection is discarded after use, so no later request inherits
// the change.
var sessionChanging = map[string]bool{"USE": true, "SET": true, "BEGIN": true, "START": true, "LOCK": true}

// withConn runs f on a connection whose current database is database,
// passing it the context to run the statement under.
//
// On the embedded engine that context is never cancelled: when a cancelled
// context makes the driver give up on a statement, it closes the connection
// at once while the engine goes on running the statement in its session and
// commits it later. Giving up would release b.serial early, and a
// statement begun meanwhile on another session would commit against the
// same old copy of the table: whichever commits last wins, and an
// acknowledged write vanished (TestCancelledStatementLosesNoAcknowledgedWrite).
// So the statement runs to its end, as it would on a server that does not
// notice a client going away, and only then is the next one let in.
func (b *backend) withConn(ctx context.Context, database, keyword string, f func(context.Context, *sql.Conn) error) error {
	if b.engine != nil && database != "" && !slices.Contains(b.engine.DatabaseNames(), database) {
		// The embedded engine matches names case-insensitively; the
		// Data API's database field is case-sensitive.
		return errUnknownDatabase(database)
	}
	p, err := b.acquire(database)
	if err != nil {
		return err
	}
	defer b.release(p)
	conn, err := p.db.Conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	run := ctx
	if b.engine != nil {
		b.serial.Lock()
		defer b.serial.Unlock()
		run = context.WithoutCancel(ctx)
	}
	err = f(run, conn)
	if sessionChanging[keyword] {
		_ = conn.Raw(func(any) error { return driver.ErrBadConn }) // drop it from the pool
	}
	return err
}

func (b *backend) close() error {
	b.mu.Lock()
	if b.closed {
		b.mu.Unlock()
		return nil
	}
	b.closed = true
	pools := b.pools
	b.pools = nil
	b.mu.Unlock()
	var errs []error
	for _, p := range pools {
		errs = append(errs, p.db.Close())
	}
	if b.engine != nil {
		errs = append(errs, b.engine.Close())
	}
	return errors.Join(errs...)
}
