// Package gms runs the embedded SQL engine of the Data API emulator:
// go-mysql-server with in-memory databases, serving the MySQL wire protocol
// on an in-process listener. Nothing is bound to a network port; a client
// reaches the engine only through Engine.Dial (go-sql-driver/mysql's
// Config.DialFunc), so every Engine is private to its owner and several can
// run in one process without sharing data.
//
// go-mysql-server logs through logrus. Sessions of an Engine log to a
// discarding logger, and Start raises the standard logrus logger from its
// default Info level to Warn (once per process) so that connection
// open/close notices do not reach stderr; warnings and errors still do.
package gms

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"

	sqle "github.com/dolthub/go-mysql-server"
	"github.com/dolthub/go-mysql-server/memory"
	"github.com/dolthub/go-mysql-server/server"
	"github.com/dolthub/go-mysql-server/sql"
	vmysql "github.com/dolthub/vitess/go/mysql"
	"github.com/dolthub/vitess/go/sqltypes"
	querypb "github.com/dolthub/vitess/go/vt/proto/query"
	"github.com/sirupsen/logrus"
)

// ErrClosed is returned by Dial after Close.
var ErrClosed = errors.New("embedded engine closed")

// Engine is one embedded go-mysql-server instance with its own databases.
type Engine struct {
	provider *memory.DbProvider
	engine   *sqle.Engine
	srv      *server.Server
	ln       *pipeListener
	done     chan struct{}
	once     sync.Once
	stores   *stores
}

var quietOnce sync.Once

// starts serializes the construction of engines. go-mysql-server v0.20.0's
// engine.New calls variables.InitStatusVariables, which creates the
// package-level sql.StatusVariables on first use (an unguarded nil check
// and assignment) and otherwise resets every global status variable through
// an unlocked map; two engines constructed at once race on both. Holding
// starts across construction makes Start safe to call concurrently.
var starts sync.Mutex

// quietLogger discards everything; sessions log to it.
var quietLogger = func() *logrus.Entry {
	l := logrus.New()
	l.SetOutput(io.Discard)
	l.SetLevel(logrus.PanicLevel)
	return logrus.NewEntry(l)
}()

// Start creates an engine with the given databases (names kept exactly as
// given) and starts serving it. It is safe to call from several goroutines
// at once.
func Start(databases ...string) (*Engine, error) {
	quietOnce.Do(func() {
		if logrus.GetLevel() == logrus.InfoLevel {
			logrus.SetLevel(logrus.WarnLevel)
		}
	})
	st := newStores()
	dbs := make([]sql.Database, 0, len(databases))
	for _, name := range databases {
		db := memory.NewDatabase(name)
		db.EnablePrimaryKeyIndexes()
		dbs = append(dbs, db)
	}
	pro := memory.NewDBProvider(dbs...)
	pro.WithOption(memory.NativeIndexProvider(true))
	starts.Lock()
	// The engine sees the databases through keyedProvider; sessions keep
	// the plain provider, whose databases they commit to.
	engine := sqle.NewDefault(keyedProvider{pro, st})
	starts.Unlock()
	engine.Analyzer.Catalog.RegisterFunction(sql.NewEmptyContext(), sql.Function1{Name: ExactJSONFunc, Fn: newExactJSON})

	sessions := func(ctx context.Context, c *vmysql.Conn, addr string) (sql.Session, error) {
		host, user := "", ""
		if u, ok := c.UserData.(sql.MysqlConnectionUser); ok {
			host, user = u.Host, u.User
		}
		client := sql.Client{Address: host, User: user, Capabilities: c.Capabilities}
		base := sql.NewBaseSessionWithClientServer(addr, client, c.ConnectionID)
		base.SetLogger(quietLogger)
		return memory.NewSession(base, pro), nil
	}
	ln := newPipeListener()
	wrap := func(h vmysql.Handler) (vmysql.Handler, error) { return fspHandler{h}, nil }
	srv, err := server.NewServerWithHandler(server.Config{Listener: ln, MaxLoggedQueryLen: -1}, engine, sql.NewContext, sessions, nil, wrap)
	if err != nil {
		ln.Close()
		_ = engine.Close()
		return nil, fmt.Errorf("starting embedded engine: %w", err)
	}
	e := &Engine{provider: pro, engine: engine, srv: srv, ln: ln, done: make(chan struct{}), stores: st}
	go func() {
		defer close(e.done)
		srv.Listener.Accept() // returns when the listener is closed
	}()
	return e, nil
}

// Dial opens a new client connection to the engine. Its signature matches
// go-sql-driver/mysql's Config.DialFunc; network and addr are ignored.
func (e *Engine) Dial(ctx context.Context, _, _ string) (net.Conn, error) {
	return e.ln.dial(ctx)
}

// DatabaseNames returns the names of the engine's databases as created
// (the engine itself compares them case-insensitively).
func (e *Engine) DatabaseNames() []string {
	ctx := sql.NewEmptyContext()
	all := e.provider.AllDatabases(ctx)
	names := make([]string, 0, len(all))
	for _, db := range all {
		names = append(names, db.Name())
	}
	return names
}

// Close stops accepting connections, closes the engine and waits for the
// accept loop to end. Connections still open are cut. It is idempotent.
func (e *Engine) Close() error {
	var err error
	e.once.Do(func() {
		e.srv.Listener.Close()
		<-e.done
		e.ln.closeConns()
		err = e.engine.Close()
		if errors.Is(err, context.Canceled) { // the background threads' own stop signal
			err = nil
		}
	})
	return err
}

// fspHandler makes text-protocol DATETIME(n) values carry exactly n
// fractional digits, as MySQL, MariaDB and SingleStore send them;
// go-mysql-server trims trailing zeros ("10:19:25.665" for
// "10:19:25.665000"). It pads every date and time column whose precision
// the engine reports, which in go-mysql-server v0.20.0 is DATETIME only.
type fspHandler struct{ vmysql.Handler }

func (h fspHandler) ComQuery(ctx context.Context, c *vmysql.Conn, query string, callback vmysql.ResultSpoolFn) error {
	var fields []*querypb.Field
	return h.Handler.ComQuery(ctx, c, query, func(res *sqltypes.Result, more bool) error {
		if res != nil && len(res.Fields) > 0 {
			fields = res.Fields
		}
		if res != nil {
			padFractions(fields, res.Rows)
		}
		return callback(res, more)
	})
}

func padFractions(fields []*querypb.Field, rows [][]sqltypes.Value) {
	for j, f := range fields {
		if f.Decimals == 0 || f.Decimals > 6 {
			continue
		}
		switch f.Type {
		case querypb.Type_DATETIME, querypb.Type_TIMESTAMP, querypb.Type_TIME:
		default:
			continue
		}
		for _, row := range rows {
			if j >= len(row) || row[j].IsNull() {
				continue
			}
			if v, ok := padFraction(row[j].Raw(), int(f.Decimals)); ok {
				row[j] = sqltypes.MakeTrusted(row[j].Type(), v)
			}
		}
	}
}

// padFraction returns v with exactly n fractional digits, if it has fewer.
func padFraction(v []byte, n int) ([]byte, bool) {
	have := -1
	if dot := bytes.LastIndexByte(v, '.'); dot >= 0 {
		have = len(v) - dot - 1
	}
	if have >= n {
		return nil, false
	}
	out := make([]byte, 0, len(v)+n+1)
	out = append(out, v...)
	if have < 0 {
		out = append(out, '.')
		have = 0
	}
	for ; have < n; have++ {
		out = append(out, '0')
	}
	return out, true
}

// pipeListener is a net.Listener whose connections are in-memory pipes.
type pipeListener struct {
	conns  chan net.Conn
	closed chan struct{}
	once   sync.Once

	mu   sync.Mutex
	open map[net.Conn]struct{}
}

func newPipeListener() *pipeListener {
	return &pipeListener{conns: make(chan net.Conn), closed: make(chan struct{}), open: map[net.Conn]struct{}{}}
}

// loopback is the address both ends of a pipe report, so the engine sees a
// local client.
var loopback = &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1)}

type pipeConn struct {
	net.Conn
	l *pipeListener
}

func (c *pipeConn) LocalAddr() net.Addr  { return loopback }
func (c *pipeConn) RemoteAddr() net.Addr { return loopback }
func (c *pipeConn) Close() error {
	c.l.mu.Lock()
	delete(c.l.open, c.Conn)
	c.l.mu.Unlock()
	return c.Conn.Close()
}

func (l *pipeListener) dial(ctx context.Context) (net.Conn, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	select {
	case <-l.closed:
		return nil, ErrClosed
	default:
	}
	client, srv := net.Pipe()
	l.mu.Lock()
	l.open[client] = struct{}{}
	l.open[srv] = struct{}{}
	l.mu.Unlock()
	select {
	case l.conns <- &pipeConn{Conn: srv, l: l}:
		return &pipeConn{Conn: client, l: l}, nil
	case <-l.closed:
	case <-ctx.Done():
	}
	client.Close()
	srv.Close()
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	return nil, ErrClosed
}

func (l *pipeListener) Accept() (net.Conn, error) {
	select {
	case c := <-l.conns:
		return c, nil
	case <-l.closed:
		return nil, net.ErrClosed
	}
}

func (l *pipeListener) Close() error {
	l.once.Do(func() { close(l.closed) })
	return nil
}

func (l *pipeListener) closeConns() {
	l.mu.Lock()
	defer l.mu.Unlock()
	for c := range l.open {
		c.Close()
	}
	l.open = map[net.Conn]struct{}{}
}

func (l *pipeListener) Addr() net.Addr { return loopback }
