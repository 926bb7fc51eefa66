package endpoint

import (
	"compress/gzip"
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"crypto/tls"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"golang.org/x/net/netutil"

	"github.com/s2segment/s2segment/destination"
)

// ErrClosed is returned by Serve once the server has been shut down.
var ErrClosed = errors.New("server: closed")

// ErrServing is returned by Serve when the server is already serving.
var ErrServing = errors.New("server: already serving")

// Server is the hosted endpoint. Create it with New, serve it with Serve (or
// mount Handler in a server of your own) and stop it with Shutdown.
type Server struct {
	cfg     *settings
	log     *slog.Logger
	metrics *metrics
	budget  *budget // MaxInFlightBytes: the parent of every other budget
	unauth  *budget // requests not authenticated yet
	actBud  *budget // /authenticate and /send
	work    *tracker
	base    context.Context // parent of every Sink.Write context; never cancelled
	handler http.Handler
	status  atomic.Pointer[http.Handler] // the status routes, once enabled
	admin   http.Handler

	sources map[string]*source   // by name
	byKey   map[[32]byte]*source // by sha256 of the write key
	single  *source              // the only source, in single-source mode
	actions *sinkCache

	mu         sync.Mutex
	committers map[*committer]struct{}
	srv        *http.Server
	shutdown   sync.Once
	closeErr   error
	closed     chan struct{} // closed when Shutdown has finished

	now   func() time.Time
	newID func(digest []byte) string
}

// source is a configured Source with its committer.
type source struct {
	Source
	secret []byte
	c      *committer
	budget *budget // the source's share of the in-flight budget
}

// New checks cfg and returns a Server ready to serve. The error is a
// *ConfigError naming the field at fault.
func New(cfg Config) (*Server, error) {
	st, err := validate(cfg)
	if err != nil {
		return nil, err
	}
	s := &Server{
		cfg:        st,
		log:        st.Logger,
		metrics:    newMetrics(),
		work:       newTracker(),
		base:       context.Background(),
		sources:    make(map[string]*source, len(st.Sources)),
		byKey:      make(map[[32]byte]*source, len(st.Sources)),
		committers: make(map[*committer]struct{}),
		closed:     make(chan struct{}),
		now:        time.Now,
		newID:      newMessageID,
	}
	s.budget = &budget{limit: st.MaxInFlightBytes, gauge: s.metrics.inflight.Set}
	s.unauth = &budget{limit: st.MaxUnauthenticatedBytes, parent: s.budget}
	s.actBud = &budget{limit: st.MaxActionsInFlightBytes, parent: s.budget}
	shared := make(map[Sink]*committer)
	for _, src := range st.Sources {
		sc := &source{Source: src, budget: &budget{limit: src.MaxInFlightBytes, parent: s.budget}}
		if src.WebhookSecret != "" {
			sc.secret = []byte(src.WebhookSecret)
		}
		// Sources sharing a Sink share its groups, when the Sink can be
		// compared (a func or a struct holding slices cannot).
		if t := reflect.TypeOf(src.Sink); t.Comparable() {
			if c, ok := shared[src.Sink]; ok {
				sc.c = c
			} else {
				sc.c = s.newCommitter(src.Sink)
				shared[src.Sink] = sc.c
			}
		} else {
			sc.c = s.newCommitter(src.Sink)
		}
		s.sources[src.Name] = sc
		if src.WriteKey != "" {
			s.byKey[sha256.Sum256([]byte(src.WriteKey))] = sc
		}
	}
	if len(st.Sources) == 1 {
		s.single = s.sources[st.Sources[0].Name]
	}
	if st.Actions != nil {
		sc, err := newSinkCache(st.MaxActionSinks, st.Actions, s)
		if err != nil { // validate has checked MaxActionSinks is positive
			return nil, &ConfigError{Field: "MaxActionSinks", Reason: err.Error()}
		}
		s.actions = sc
	}
	s.handler = s.routes(false)
	s.admin = s.routes(true)
	return s, nil
}

func (s *Server) newCommitter(sink Sink) *committer {
	c := newCommitter(s, sink)
	s.mu.Lock()
	s.committers[c] = struct{}{}
	s.mu.Unlock()
	return c
}

// forget drops c from the committers drained at shutdown, after ending its
// linger: requests still holding it have their events written at once.
func (s *Server) forget(c *committer) {
	c.drain()
	s.mu.Lock()
	delete(s.committers, c)
	s.mu.Unlock()
}

// Handler returns the server's routes. Requests it takes after Shutdown has
// begun are answered 503 with Retry-After.
func (s *Server) Handler() http.Handler { return s.handler }

// AdminHandler returns the operator's routes, GET /healthz, /readyz and
// /metrics, for an address of their own that only operators reach: its
// /readyz says why the server is not ready (which may name internal
// addresses), where Handler's says so only to a request bearing
// Config.AdminToken.
func (s *Server) AdminHandler() http.Handler { return s.admin }

// Registry returns the Prometheus registry of the server's metrics, the one
// GET /metrics serves.
func (s *Server) Registry() *prometheus.Registry { return s.metrics.reg }

func (s *Server) routes(admin bool) http.Handler {
	mux := http.NewServeMux()
	mux.Handle("GET /healthz", s.wrap("healthz", false, func(w *response, _ *http.Request) {
		writeJSON(w, http.StatusOK, []byte(`{"ok":true}`))
	}))
	mux.Handle("GET /readyz", s.wrap("readyz", false, func(w *response, r *http.Request) {
		s.handleReady(w, r, admin || s.adminRequest(r))
	}))
	mux.Handle("GET /metrics", promhttp.HandlerFor(s.metrics.reg, promhttp.HandlerOpts{Registry: s.metrics.reg}))
	for _, p := range []string{"/status", "/status.json", "/status/try"} {
		mux.Handle(p, s.statusRoute(admin)) // see EnableStatus
	}
	if admin {
		return mux
	}
	for _, typ := range []string{"track", "identify", "page", "screen", "group", "alias"} {
		mux.Handle("POST /v1/"+typ, s.wrap(typ, true, s.handleEvent(typ)))
	}
	mux.Handle("POST /v1/batch", s.wrap("batch", true, s.handleBatch("batch")))
	mux.Handle("POST /v1/import", s.wrap("import", true, s.handleBatch("import")))
	mux.Handle("POST /webhook/{source}", s.wrap("webhook", true, s.handleWebhook))
	mux.Handle("POST /webhook", s.wrap("webhook", true, s.handleWebhook))
	if s.actions != nil {
		mux.Handle("GET /manifest", s.wrap("manifest", false, s.handleManifest))
		mux.Handle("POST /authenticate", s.wrap("authenticate", true, s.handleAuthenticate))
		mux.Handle("POST /send", s.wrap("send", true, s.handleSend))
	}
	return mux
}

// response records what a handler answered, for the request log and metrics.
type response struct {
	http.ResponseWriter
	status int
	source string
	events int
	reason string // why the request failed, for the log; never a secret
}

func (w *response) WriteHeader(status int) {
	if w.status == 0 {
		w.status = status
	}
	w.ResponseWriter.WriteHeader(status)
}

func (w *response) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

// wrap adds the request log, the latency metric and, for tracked routes, the
// accounting Shutdown waits on.
func (s *Server) wrap(route string, tracked bool, h func(*response, *http.Request)) http.Handler {
	return http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		start := time.Now()
		w := &response{ResponseWriter: rw}
		if tracked {
			if !s.work.enter() {
				s.retryLater(w, http.StatusServiceUnavailable, s.cfg.RetryAfter, "the server is shutting down; retry the request")
				w.reason = "shutting down"
			} else {
				defer s.work.done()
				h(w, r)
			}
		} else {
			h(w, r)
		}
		if w.status == 0 { // the sender went away before the answer
			w.status = 499
		}
		elapsed := time.Since(start)
		s.metrics.requests.WithLabelValues(route, strconv.Itoa(w.status)).Observe(elapsed.Seconds())
		level := slog.LevelDebug
		switch {
		case w.status >= 500 || w.status == http.StatusTooManyRequests:
			level = slog.LevelWarn
		case w.status >= 400:
			level = slog.LevelInfo
		}
		if !s.log.Enabled(r.Context(), level) {
			return
		}
		attrs := []slog.Attr{
			slog.String("route", route),
			slog.String("method", r.Method),
			slog.String("path", r.URL.Path),
			slog.Int("status", w.status),
			slog.Float64("duration_ms", float64(elapsed.Microseconds())/1000),
			slog.String("remote", r.RemoteAddr),
		}
		if w.source != "" {
			attrs = append(attrs, slog.String("source", w.source))
		}
		if w.events > 0 {
			attrs = append(attrs, slog.Int("events", w.events))
		}
		if w.reason != "" {
			attrs = append(attrs, slog.String("reason", w.reason))
		}
		s.log.LogAttrs(context.WithoutCancel(r.Context()), level, "request", attrs...)
	})
}

// adminRequest reports whether r bears the admin token.
func (s *Server) adminRequest(r *http.Request) bool {
	if s.cfg.AdminToken == "" {
		return false
	}
	got, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	a, b := sha256.Sum256([]byte(got)), sha256.Sum256([]byte(s.cfg.AdminToken))
	return ok && subtle.ConstantTimeCompare(a[:], b[:]) == 1
}

// handleReady serves GET /readyz; the reason for a 503 is in the answer
// only when details is set (the admin address, or the admin token).
func (s *Server) handleReady(w *response, r *http.Request, details bool) {
	unready := func(reason string) {
		w.reason = "not ready"
		if !details {
			writeJSON(w, http.StatusServiceUnavailable, []byte(`{"ok":false}`))
			return
		}
		writeJSON(w, http.StatusServiceUnavailable, obj2("ok", []byte("false"), "error", quote(reason)))
	}
	if s.work.isClosed() {
		unready("shutting down")
		w.reason = "shutting down"
		return
	}
	if s.cfg.Ready != nil {
		ctx, cancel := context.WithTimeout(r.Context(), s.cfg.SinkTimeout)
		defer cancel()
		if err := s.cfg.Ready(ctx); err != nil {
			unready(err.Error())
			return
		}
	}
	writeJSON(w, http.StatusOK, []byte(`{"ok":true}`))
}

// unauthChunk is the first buffer of a body read before its request is
// authenticated: the buffer then grows only as bytes arrive.
const unauthChunk = 16 << 10

// errOverloaded is a body read that would pass its budget.
var errOverloaded = errors.New("in-flight budget exhausted")

// errTooManyEvents is a request with more elements than MaxRequestEvents.
var errTooManyEvents = errors.New("too many events")

// readBody reads the request body, at most limit bytes (after gzip
// decoding), counting the bytes held in b as they arrive: b is the budget of
// the request's source once authenticated, or s.unauth before. When it
// cannot, it answers the request (413, 415, 400, or overload with
// Retry-After) and returns nil. The caller releases the lease.
func (s *Server) readBody(w *response, r *http.Request, route string, limit int64, overload int, b *budget) ([]byte, *lease) {
	if r.ContentLength > limit {
		s.fail(w, http.StatusRequestEntityTooLarge, fmt.Sprintf("the body is %d bytes; the limit is %d", r.ContentLength, limit))
		return nil, nil
	}
	gz := false
	switch enc := r.Header.Get("Content-Encoding"); enc {
	case "", "identity":
	case "gzip":
		gz = true
	default:
		s.fail(w, http.StatusUnsupportedMediaType, fmt.Sprintf("Content-Encoding %q is not supported; send identity or gzip", enc))
		return nil, nil
	}
	// The first buffer: the whole declared body once authenticated, else
	// a small chunk, so that a slow sender holds only what it sent.
	first := int64(512)
	if r.ContentLength >= 0 && !gz {
		first = r.ContentLength + 1 // +1 so a body of exactly that size reads EOF without growing
	}
	if b == s.unauth {
		first = min(first, unauthChunk)
	}
	first = min(first, limit+1)
	l, ok := b.acquire(first)
	if !ok {
		s.overloaded(w, route, overload)
		return nil, nil
	}
	var rd io.Reader = http.MaxBytesReader(w.ResponseWriter, r.Body, limit)
	if gz {
		zr, err := gzip.NewReader(rd)
		if err != nil {
			l.release()
			s.bodyError(w, limit, fmt.Errorf("reading gzip body: %w", err))
			return nil, nil
		}
		rd = &capReader{r: zr, n: limit}
	}
	body, err := readAll(rd, l, first, limit+1)
	if err != nil {
		l.release()
		if errors.Is(err, errOverloaded) {
			s.overloaded(w, route, overload)
			return nil, nil
		}
		s.bodyError(w, limit, fmt.Errorf("reading body: %w", err))
		return nil, nil
	}
	l.resize(int64(len(body)))
	return body, l
}

// overloaded answers a request turned away at an in-flight budget.
func (s *Server) overloaded(w *response, route string, status int) {
	s.metrics.overload.WithLabelValues(route).Inc()
	w.reason = "overloaded"
	s.retryLater(w, status, s.cfg.RetryAfter, "the server is at its in-flight limit; retry the request later")
}

// admit moves the lease of a request that has just been authenticated from
// the unauthenticated budget to its source's, answering with overload when
// the source is at its share.
func (s *Server) admit(w *response, l *lease, b *budget, route string, overload int) bool {
	if l.moveTo(b) {
		return true
	}
	s.overloaded(w, route, overload)
	return false
}

// bodyShapeError answers a body refused by a splitter: too many elements
// (413) or not the shape expected (400).
func (s *Server) bodyShapeError(w *response, err error) {
	if errors.Is(err, errTooManyEvents) {
		s.fail(w, http.StatusRequestEntityTooLarge, fmt.Sprintf("the request has more than %d events; send them in several requests", s.cfg.MaxRequestEvents))
		return
	}
	s.fail(w, http.StatusBadRequest, err.Error())
}

func (s *Server) bodyError(w *response, limit int64, err error) {
	var tooBig *http.MaxBytesError
	if errors.As(err, &tooBig) || errors.Is(err, errTooBig) {
		s.fail(w, http.StatusRequestEntityTooLarge, fmt.Sprintf("the body is larger than the limit of %d bytes", limit))
		return
	}
	s.fail(w, http.StatusBadRequest, err.Error())
}

var errTooBig = errors.New("decoded body too large")

// capReader reads at most n bytes and fails with errTooBig past them.
type capReader struct {
	r io.Reader
	n int64
}

func (c *capReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n -= int64(n)
	if c.n < 0 {
		return n, errTooBig
	}
	return n, err
}

// readAll is io.ReadAll with a first capacity of first bytes, already
// leased under l, growing l before each larger buffer (up to most bytes); it
// fails with errOverloaded when l cannot grow.
func readAll(r io.Reader, l *lease, first, most int64) ([]byte, error) {
	b := make([]byte, 0, first)
	for {
		n, err := r.Read(b[len(b):cap(b)])
		b = b[:len(b)+n]
		if err == io.EOF {
			return b, nil
		}
		if err != nil {
			return b, err
		}
		if len(b) == cap(b) {
			size := min(max(2*int64(cap(b)), 512), most)
			if size <= int64(cap(b)) {
				size = int64(cap(b)) + 512 // past most: the reader fails on its own
			}
			if !l.grow(size - int64(cap(b))) {
				return b, errOverloaded
			}
			nb := make([]byte, len(b), size)
			copy(nb, b)
			b = nb
		}
	}
}

// fail answers a request that failed as a whole.
func (s *Server) fail(w *response, status int, msg string) {
	w.reason = msg
	writeJSON(w, status, obj2("success", []byte("false"), "message", quote(msg)))
}

// retryLater answers with a retryable status and Retry-After.
func (s *Server) retryLater(w *response, status int, after time.Duration, msg string) {
	w.Header().Set("Retry-After", retryAfterSeconds(after))
	writeJSON(w, status, obj2("success", []byte("false"), "message", quote(msg)))
}

// retryAfterSeconds formats d for Retry-After: whole seconds, rounded up, at
// least 1.
func retryAfterSeconds(d time.Duration) string {
	return strconv.FormatInt(max(1, int64((d+time.Second-1)/time.Second)), 10)
}

func writeJSON(w http.ResponseWriter, status int, body []byte) {
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

// deliver writes the events that have no result yet (events[i] != nil and
// results[i].Status == 0) through c and stores their results in place.
func (s *Server) deliver(ctx context.Context, c *committer, events [][]byte, results []Result, l *lease) error {
	var todo [][]byte
	var idx []int
	var size int64
	for i, ev := range events {
		if results[i].Status == 0 && ev != nil {
			todo = append(todo, ev)
			idx = append(idx, i)
			size += int64(len(ev))
		}
	}
	if len(todo) == 0 {
		return nil
	}
	got, err := c.write(ctx, todo, size, l)
	if err != nil {
		return err
	}
	for j, i := range idx {
		results[i] = got[j]
	}
	return nil
}

// outcome returns the HTTP status for a request whose events have these
// results: 200 when every result is final; otherwise a status the sender
// retries, with the Retry-After to send (see the package documentation).
func (s *Server) outcome(results []Result, allow429 bool) (int, time.Duration) {
	status, after := 0, s.cfg.RetryAfter
	for _, r := range results {
		if r.Final() {
			continue
		}
		after = max(after, r.RetryAfter)
		switch {
		case r.Status == http.StatusTooManyRequests && allow429:
			status = r.Status // the database's back-pressure is passed on as is
		case status != 0:
		case retried(r.Status):
			status = r.Status
		default:
			status = http.StatusServiceUnavailable
		}
	}
	if status == 0 {
		return http.StatusOK, 0
	}
	return status, after
}

// retried reports whether status can be passed on to the sender as the
// answer of a request to retry: a 5xx that Segment retries
// (destination.Retryable, the module's one rule). Other retryable statuses
// (408, 423) are answered 503, which every sender retries.
func retried(status int) bool {
	return status >= 500 && destination.Retryable(status)
}

// answerEvents answers a Tracking API or webhook request: {"success":true}
// once every event has a final result, else the retryable status.
func (s *Server) answerEvents(w *response, route string, results []Result, err error, allow429 bool) {
	w.events = len(results)
	if err != nil {
		s.metrics.events.WithLabelValues(route, resultAbandoned).Add(float64(len(results)))
		w.reason = "the sender went away before the events were written"
		return
	}
	s.metrics.countResults(route, results)
	s.metrics.status.record(w.source, route, results)
	s.logRejected(w, route, results)
	status, after := s.outcome(results, allow429)
	if status == http.StatusOK {
		writeJSON(w, http.StatusOK, []byte(`{"success":true}`))
		return
	}
	n := 0
	for _, r := range results {
		if !r.Final() {
			n++
		}
	}
	w.reason = fmt.Sprintf("%d of %d events failed and can be retried", n, len(results))
	s.retryLater(w, status, after, fmt.Sprintf("%d of %d events could not be written yet; retry the request", n, len(results)))
}

// maxRejectLogs bounds the "event not written" records of one request.
const maxRejectLogs = 10

// logRejected logs the events that failed, one record each up to
// maxRejectLogs per request, so that a 200 that dropped an invalid event
// still leaves a trace.
func (s *Server) logRejected(w *response, route string, results []Result) {
	if !s.log.Enabled(context.Background(), slog.LevelInfo) {
		return
	}
	logged, failed := 0, 0
	for i, r := range results {
		if r.OK() {
			continue
		}
		failed++
		if logged == maxRejectLogs {
			continue
		}
		logged++
		s.log.LogAttrs(context.Background(), slog.LevelInfo, "event not written",
			slog.String("route", route), slog.String("source", w.source), slog.Int("index", i),
			slog.Int("status", r.Status), slog.Bool("retryable", r.Retryable), slog.String("error", r.Message))
	}
	if failed > logged {
		s.log.LogAttrs(context.Background(), slog.LevelInfo, "more events not written",
			slog.String("route", route), slog.String("source", w.source), slog.Int("unlogged", failed-logged))
	}
}

// Serve accepts connections on ln and serves them (over TLS when
// Config.TLSCertFile is set) until ctx is done or Shutdown is called. When ctx
// is done it shuts down gracefully within Config.ShutdownTimeout. It returns
// nil once a graceful shutdown has finished, the shutdown's error if it did
// not finish in time, ErrClosed if the server was shut down already, or the
// listener's error.
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	s.mu.Lock()
	switch {
	case s.work.isClosed():
		s.mu.Unlock()
		return ErrClosed
	case s.srv != nil:
		s.mu.Unlock()
		return ErrServing
	}
	if s.cfg.MaxConnections > 0 {
		ln = netutil.LimitListener(ln, s.cfg.MaxConnections)
	}
	srv := &http.Server{
		Handler:           s.handler,
		MaxHeaderBytes:    s.cfg.MaxHeaderBytes,
		ReadHeaderTimeout: s.cfg.ReadHeaderTimeout,
		ReadTimeout:       s.cfg.ReadTimeout,
		WriteTimeout:      s.cfg.WriteTimeout,
		IdleTimeout:       s.cfg.IdleTimeout,
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelWarn),
		TLSConfig:         &tls.Config{MinVersion: tls.VersionTLS12},
	}
	s.srv = srv
	s.mu.Unlock()

	errc := make(chan error, 1)
	go func() {
		if s.cfg.TLSCertFile != "" {
			errc <- srv.ServeTLS(ln, s.cfg.TLSCertFile, s.cfg.TLSKeyFile)
			return
		}
		errc <- srv.Serve(ln)
	}()
	s.log.Info("serving", "addr", ln.Addr().String(), "tls", s.cfg.TLSCertFile != "")
	select {
	case err := <-errc:
		if !errors.Is(err, http.ErrServerClosed) {
			return fmt.Errorf("serving: %w", err)
		}
		<-s.closed // Shutdown was called elsewhere: wait for it to finish
		return s.closeErr
	case <-ctx.Done():
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), s.cfg.ShutdownTimeout)
		defer cancel()
		err := s.Shutdown(sctx)
		<-errc
		return err
	}
}

// Shutdown stops the server gracefully: it stops accepting connections (when
// serving), answers new requests 503, ends every group's linger so waiting
// events are written at once, and waits until every request in flight has
// been answered and every write has finished, or ctx is done. Nothing
// acknowledged is lost either way: a request is answered 200 only after its
// events are written. Shutdown may be called more than once; later calls wait
// for the first.
func (s *Server) Shutdown(ctx context.Context) error {
	first := false
	s.shutdown.Do(func() {
		first = true
		s.mu.Lock() // Serve checks for a closed tracker under s.mu too
		idle := s.work.close()
		srv := s.srv
		committers := make([]*committer, 0, len(s.committers))
		for c := range s.committers {
			committers = append(committers, c)
		}
		s.mu.Unlock()
		for _, c := range committers {
			c.drain()
		}
		var errs []error
		if srv != nil {
			if err := srv.Shutdown(ctx); err != nil {
				errs = append(errs, fmt.Errorf("closing connections: %w", err))
			}
		}
		select {
		case <-idle:
		case <-ctx.Done():
			errs = append(errs, fmt.Errorf("waiting for writes in flight: %w", ctx.Err()))
		}
		s.closeErr = errors.Join(errs...)
		if s.closeErr != nil {
			s.log.Warn("shutdown did not finish", "error", s.closeErr.Error())
		} else {
			s.log.Info("shut down")
		}
		close(s.closed)
	})
	if first {
		return s.closeErr
	}
	select {
	case <-s.closed:
		return s.closeErr
	case <-ctx.Done():
		return fmt.Errorf("waiting for shutdown: %w", ctx.Err())
	}
}

// newMessageID returns the messageId of an event that came without one, in
// the "api-" form Segment's API uses: "api-" and 32 hex digits of the
// SHA-256 of the event's content as sent (its route's type and its members
// but writeKey, in order; see editEvent). Segment's API picks a random id,
// so a resend after a lost answer would be a second event; here the same
// event sent again gets the same id, and the dedupe table keeps one row.
// Two events that are the same byte for byte and carry no messageId are
// therefore one event; a sender that means two must give them ids (or
// timestamps) of their own.
func newMessageID(digest []byte) string {
	return "api-" + hex.EncodeToString(digest[:16])
}
