package emulator

import (
	"context"
	"crypto/subtle"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/s2segment/s2segment/internal/jsontext"
	"github.com/s2segment/s2segment/internal/wait"
)

// Server is a Data API server: an http.Handler that answers the Data API's
// endpoints by running each request's statement on the engine. It is safe
// for concurrent use.
type Server struct {
	cfg     Config
	backend *backend
	faults  *faultSource
	rules   *rules // nil when off (Config.PlainMySQL, or SingleStore itself)

	// sleep waits for d or until ctx is done; tests replace it.
	sleep func(ctx context.Context, d time.Duration) error

	closeOnce sync.Once
	closeErr  error

	requests, statements, failures, injectedFailures, injectedResets atomic.Int64
}

// Stats are counters of a Server since New.
type Stats struct {
	// Requests counts every HTTP request, /ping included.
	Requests int64
	// Statements counts statements that ran without error.
	Statements int64
	// Failures counts answers with an error status, injected ones excluded.
	Failures int64
	// InjectedFailures and InjectedResets count the faults injected.
	InjectedFailures, InjectedResets int64
}

// New starts the engine (or connects to cfg.DSN), creates cfg.Databases and
// returns a Server ready to serve. It fails with a *ConfigError for an
// invalid cfg, and with the engine's error when the DSN server cannot be
// reached within DefaultConnectTimeout. Close releases the engine. New is
// safe to call from several goroutines at once.
func New(cfg Config) (*Server, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	b, err := newBackend(cfg)
	if err != nil {
		return nil, fmt.Errorf("starting the emulator engine: %w", err)
	}
	s := &Server{cfg: cfg, backend: b, faults: newFaultSource(cfg.Faults), sleep: wait.Sleep}
	if !cfg.PlainMySQL && b.dialect != DialectSingleStore {
		s.rules = newRules(b.dialect == DialectEmbedded)
	}
	return s, nil
}

// SingleStoreRules reports whether the SingleStore rule layer checks the
// statements (see Config.PlainMySQL).
func (s *Server) SingleStoreRules() bool { return s.rules != nil }

// Dialect reports the engine behind the server.
func (s *Server) Dialect() Dialect { return s.backend.dialect }

// Engine describes the engine for people: dialect, version and where it
// is (never credentials), e.g. "mariadb 10.11.6-MariaDB at 127.0.0.1:3306".
func (s *Server) Engine() string {
	if s.backend.dialect == DialectEmbedded {
		return fmt.Sprintf("embedded go-mysql-server (MySQL %s dialect), in memory", s.backend.version)
	}
	return fmt.Sprintf("%s %s at %s", s.backend.dialect, s.backend.version, s.backend.addr)
}

// Stats returns the server's counters.
func (s *Server) Stats() Stats {
	return Stats{
		Requests:         s.requests.Load(),
		Statements:       s.statements.Load(),
		Failures:         s.failures.Load(),
		InjectedFailures: s.injectedFailures.Load(),
		InjectedResets:   s.injectedResets.Load(),
	}
}

// Close closes the engine connections and, for the embedded engine, drops
// its data. Requests still running fail. It is idempotent.
func (s *Server) Close() error {
	s.closeOnce.Do(func() { s.closeErr = s.backend.close() })
	return s.closeErr
}

// endpoint is what a Data API path does.
type endpoint uint8

const (
	epExec endpoint = iota + 1
	epRows
	epTuples
)

var endpoints = map[string]endpoint{
	"/api/v2/exec":         epExec,
	"/api/v2/query/rows":   epRows,
	"/api/v2/query/tuples": epTuples,
	"/api/v1/exec":         epExec,
	"/api/v1/query/rows":   epRows,
	"/api/v1/query/tuples": epTuples,
}

// ServeHTTP answers one Data API request.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.requests.Add(1)
	start := time.Now()
	rec := &statusRecorder{ResponseWriter: w}
	s.serve(rec, r)
	if rec.status >= 400 && !rec.injected {
		s.failures.Add(1)
	}
	if s.cfg.Logger != nil {
		attrs := []slog.Attr{
			slog.String("method", r.Method), slog.String("path", r.URL.Path),
			slog.Int("status", rec.status), slog.Duration("duration", time.Since(start)),
			slog.Bool("injected", rec.injected),
		}
		level := slog.LevelInfo
		if rec.serverErr != "" {
			level = slog.LevelWarn
			attrs = append(attrs, slog.String("error", rec.serverErr))
		}
		s.cfg.Logger.LogAttrs(r.Context(), level, "data api request", attrs...)
	}
}

// statusRecorder remembers the status written, for counters and logs.
type statusRecorder struct {
	http.ResponseWriter
	status    int
	injected  bool
	serverErr string // the text of a 5xx answer from the engine, for the log
}

func (r *statusRecorder) WriteHeader(code int) {
	if r.status == 0 {
		r.status = code
	}
	r.ResponseWriter.WriteHeader(code)
}

func (r *statusRecorder) Write(b []byte) (int, error) {
	if r.status == 0 {
		r.status = http.StatusOK
	}
	return r.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the connection (for resets).
func (r *statusRecorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }

func (s *Server) serve(w *statusRecorder, r *http.Request) {
	if r.URL.Path == "/ping" {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			writeText(w, http.StatusMethodNotAllowed, "Method Not Allowed")
			return
		}
		writeText(w, http.StatusOK, "pong")
		return
	}
	ep, ok := endpoints[r.URL.Path]
	if !ok {
		writeText(w, http.StatusNotFound, "Not Found")
		return
	}
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		writeText(w, http.StatusMethodNotAllowed, "Method Not Allowed")
		return
	}
	if !s.authorized(r) {
		w.Header().Set("WWW-Authenticate", `Basic realm="SingleStore Data API", charset="UTF-8"`)
		writeText(w, http.StatusUnauthorized, "Unauthorized: bad or missing credentials (Basic auth)")
		return
	}

	body, err := s.readBody(w, r)
	if err != nil {
		var tooLarge *http.MaxBytesError
		status := http.StatusBadRequest
		if errors.As(err, &tooLarge) {
			status = s.cfg.TooLargeStatus
		}
		writeText(w, status, "Error reading request body: "+err.Error())
		return
	}

	fate := s.faults.next()
	if fate.latency > 0 {
		if err := s.sleep(r.Context(), fate.latency); err != nil {
			return // the client is gone
		}
	}
	if !s.cfg.Faults.AfterExec && s.inject(w, fate) {
		return
	}

	if ct := r.Header.Get("Content-Type"); !isJSON(ct) {
		writeText(w, http.StatusBadRequest, fmt.Sprintf("Error parsing request: Content-Type must be application/json, got %q", ct))
		return
	}
	req, err := parseRequest(body)
	if err != nil {
		writeText(w, http.StatusBadRequest, "Error parsing request body: "+err.Error())
		return
	}

	out, err := s.execute(r.Context(), ep, req)
	if err == nil {
		s.statements.Add(1)
	}
	if s.cfg.Faults.AfterExec && s.inject(w, fate) {
		return
	}
	if err != nil {
		se := toSQLError(err)
		if se.status >= 500 {
			w.serverErr = se.Error()
		}
		writeText(w, se.status, se.Error())
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", strconv.Itoa(len(out)))
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(out)
}

func isJSON(contentType string) bool {
	mt, _, err := mime.ParseMediaType(contentType)
	return err == nil && mt == "application/json"
}

// authorized checks the Basic credentials.
func (s *Server) authorized(r *http.Request) bool {
	user, pass, ok := r.BasicAuth()
	if !ok {
		return false
	}
	if s.cfg.User == "" {
		return true
	}
	u := subtle.ConstantTimeCompare([]byte(user), []byte(s.cfg.User))
	p := subtle.ConstantTimeCompare([]byte(pass), []byte(s.cfg.Password))
	return u&p == 1
}

// readBody reads the whole body, up to the limit.
func (s *Server) readBody(w http.ResponseWriter, r *http.Request) ([]byte, error) {
	limit := s.cfg.MaxBodyBytes
	if r.ContentLength > limit {
		return nil, &http.MaxBytesError{Limit: limit}
	}
	size := 512
	if r.ContentLength > 0 {
		size = int(r.ContentLength) + 1
	}
	buf := make([]byte, 0, size)
	rd := http.MaxBytesReader(w, r.Body, limit)
	for {
		n, err := rd.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		if err == io.EOF {
			return buf, nil
		}
		if err != nil {
			return nil, err
		}
		if len(buf) == cap(buf) {
			buf = append(buf, 0)[:len(buf)]
		}
	}
}

// inject carries out the fate's failure or reset, if any, and reports
// whether it did.
func (s *Server) inject(w *statusRecorder, f fate) bool {
	switch {
	case f.reset:
		s.injectedResets.Add(1)
		w.injected = true
		resetConnection(w)
		return true
	case f.fail:
		s.injectedFailures.Add(1)
		w.injected = true
		status := s.cfg.Faults.FailStatus
		if status == http.StatusTooManyRequests || status == http.StatusServiceUnavailable {
			secs := (s.cfg.Faults.RetryAfter + time.Second - 1) / time.Second
			w.Header().Set("Retry-After", strconv.FormatInt(int64(secs), 10))
		}
		writeText(w, status, fmt.Sprintf("Error 1105 (HY000): injected failure (emulator fail rate %g)", s.cfg.Faults.FailRate))
		return true
	}
	return false
}

// writeText writes a text/plain answer.
func writeText(w http.ResponseWriter, status int, text string) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Content-Length", strconv.Itoa(len(text)))
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	_, _ = io.WriteString(w, text)
}

// execute runs the request's statement and returns the JSON answer.
func (s *Server) execute(ctx context.Context, ep endpoint, req *request) ([]byte, error) {
	st := analyze(req.SQL, s.backend.dialect != DialectSingleStore)
	switch {
	case st.Empty:
		return nil, errEmptyQuery()
	case st.Multiple:
		return nil, errMultipleStatements()
	case st.Placeholders != len(req.Args):
		return nil, errArgCount(st.Placeholders, len(req.Args))
	}
	query := st.SQL
	var p plan
	if s.rules != nil {
		var err error
		if p, err = s.rules.prepare(req.Database, st); err != nil {
			return nil, err
		}
		defer p.done()
		query = p.sql
	}
	if e := s.backend.engine; e != nil && st.Keyword == "CREATE" && st.Clauses != nil {
		// The embedded engine's own tables cost O(n) per statement and
		// check unique keys by scanning; tables it can keep go to its
		// store tables instead (internal/gms/store.go).
		if out, db, table, keys, ok := storeDDL(query); ok {
			if db == "" {
				db = req.Database
			}
			e.ExpectTable(db, table, keys)
			defer e.ForgetExpected(db, table)
			query = out
		}
	}
	if s.backend.dialect == DialectMariaDB && (st.Keyword == "CREATE" || st.Keyword == "ALTER") {
		query = noPadCollations(query)
	}
	var out []byte
	err := s.backend.withConn(ctx, req.Database, st.Keyword, func(ctx context.Context, conn *sql.Conn) error {
		var err error
		if ep == epExec {
			out, err = execJSON(ctx, conn, query, req.Args)
		} else {
			out, err = queryJSON(ctx, conn, query, req.Args, ep == epTuples)
		}
		return err
	})
	if err == nil && p.commit != nil {
		p.commit()
	}
	return out, err
}

// execJSON runs a statement and answers {"lastInsertId":N,"rowsAffected":N}.
func execJSON(ctx context.Context, conn *sql.Conn, query string, args []any) ([]byte, error) {
	res, err := conn.ExecContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	id, err := res.LastInsertId()
	if err != nil {
		return nil, err
	}
	n, err := res.RowsAffected()
	if err != nil {
		return nil, err
	}
	out := append([]byte(`{"lastInsertId":`), strconv.FormatInt(id, 10)...)
	out = append(out, `,"rowsAffected":`...)
	out = strconv.AppendInt(out, n, 10)
	return append(out, '}'), nil
}

// queryJSON runs a statement and answers its result sets, as rows
// ({"results":[{"rows":[{col:val,…}]}]}) or as tuples
// ({"results":[{"columns":[…],"rows":[[val,…]]}]}).
func queryJSON(ctx context.Context, conn *sql.Conn, query string, args []any, tuples bool) ([]byte, error) {
	rows, err := conn.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []byte(`{"results":[`)
	for set := 0; ; set++ {
		cts, err := rows.ColumnTypes()
		if err != nil {
			return nil, err
		}
		cols := columnsOf(cts)
		if set > 0 {
			out = append(out, ',')
		}
		if tuples {
			out = append(out, `{"columns":[`...)
			for i := range cols {
				if i > 0 {
					out = append(out, ',')
				}
				out = append(out, `{"name":`...)
				out = jsontext.AppendString(out, cols[i].name)
				out = append(out, `,"dataType":`...)
				out = jsontext.AppendString(out, cols[i].dbType)
				out = append(out, `,"nullable":`...)
				out = strconv.AppendBool(out, cols[i].nullable)
				out = append(out, '}')
			}
			out = append(out, `],"rows":[`...)
		} else {
			out = append(out, `{"rows":[`...)
		}
		vals := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		for n := 0; rows.Next(); n++ {
			if err := rows.Scan(ptrs...); err != nil {
				return nil, err
			}
			if n > 0 {
				out = append(out, ',')
			}
			if tuples {
				out = append(out, '[')
			} else {
				out = append(out, '{')
			}
			for i := range cols {
				if i > 0 {
					out = append(out, ',')
				}
				if !tuples {
					out = jsontext.AppendString(out, cols[i].name)
					out = append(out, ':')
				}
				out = appendValue(out, &cols[i], vals[i])
			}
			if tuples {
				out = append(out, ']')
			} else {
				out = append(out, '}')
			}
		}
		out = append(out, "]}"...)
		if !rows.NextResultSet() {
			break
		}
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	return append(out, "]}"...), nil
}

// resetConnection closes the client connection without an answer: a TCP
// reset where the connection can be taken over, otherwise an aborted
// response (for HTTP/2, a reset stream).
func resetConnection(w http.ResponseWriter) {
	conn, _, err := http.NewResponseController(w).Hijack()
	if err != nil {
		panic(http.ErrAbortHandler) // net/http's documented way to abort a response
	}
	if tc, ok := conn.(interface{ SetLinger(int) error }); ok {
		_ = tc.SetLinger(0)
	}
	_ = conn.Close()
}
