package endpoint

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	_ "embed" // the status page
	"encoding/json"
	"io"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// StatusOptions configures the status page (see Server.EnableStatus).
type StatusOptions struct {
	// Action is the key of the action the sources' events go through,
	// shown beside each source ("send" when empty).
	Action string
	// Try runs one event through a source's mapping and subscription, as
	// "s2segment try" does, and returns the outcome as a JSON object (the
	// row, or why there is none). Nil leaves the page without its form.
	Try func(ctx context.Context, source string, event []byte) (json.RawMessage, error)
	// Sources lists the source names the form offers.
	Sources []string
}

// statusMinutes is how far back the page looks: one bucket per minute.
const statusMinutes = 60

// statusFailures is how many of the latest failures the page keeps.
const statusFailures = 20

// statusCounts are the outcomes of the events of one source and action in
// one minute.
type statusCounts struct {
	Received int64 `json:"received"`
	Written  int64 `json:"written"`
	Filtered int64 `json:"filtered"`
	Rejected int64 `json:"rejected"`
	Failed   int64 `json:"failed"`
}

type statusKey struct{ source, action string }

// statusBucket is one minute of the recorder.
type statusBucket struct {
	minute  int64 // Unix minute; 0 for an unused bucket
	counts  map[statusKey]*statusCounts
	latN    int64
	latSum  time.Duration
	latMax  time.Duration
	latency []time.Duration // the minute's write durations, for percentiles (bounded)
}

// statusFailure is one of the latest failed events.
type statusFailure struct {
	Time      time.Time `json:"time"`
	Source    string    `json:"source"`
	Action    string    `json:"action"`
	Route     string    `json:"route"`
	Status    int       `json:"status"`
	ErrorType string    `json:"errorType,omitempty"`
	Message   string    `json:"message"`
	Retryable bool      `json:"retryable"`
}

// statusRecorder keeps per-minute counts of the last hour, the database
// write latency and the latest failures. It is safe for concurrent use.
type statusRecorder struct {
	mu       sync.Mutex
	now      func() time.Time
	action   atomic.Pointer[string]
	buckets  [statusMinutes]statusBucket
	failures []statusFailure // newest last, at most statusFailures
	started  time.Time
}

// maxLatencySamples bounds the durations kept per minute.
const maxLatencySamples = 2048

func newStatusRecorder(now func() time.Time) *statusRecorder {
	return &statusRecorder{now: now, started: now()}
}

func (r *statusRecorder) actionName() string {
	if a := r.action.Load(); a != nil && *a != "" {
		return *a
	}
	return "send"
}

// bucket returns the bucket of the minute of t, emptied if it held an
// older minute. The caller holds mu.
func (r *statusRecorder) bucket(t time.Time) *statusBucket {
	m := t.Unix() / 60
	b := &r.buckets[m%statusMinutes]
	if b.minute != m {
		*b = statusBucket{minute: m, counts: map[statusKey]*statusCounts{}}
	}
	return b
}

// record counts the results of one request of source through route.
func (r *statusRecorder) record(source, route string, results []Result) {
	if len(results) == 0 {
		return
	}
	if source == "" {
		source = route // /send has no source of its own
	}
	now := r.now()
	key := statusKey{source, r.actionName()}
	r.mu.Lock()
	defer r.mu.Unlock()
	b := r.bucket(now)
	c := b.counts[key]
	if c == nil {
		c = &statusCounts{}
		b.counts[key] = c
	}
	for _, res := range results {
		c.Received++
		switch {
		case res.OK():
			c.Written++
			continue
		case res.Filtered:
			c.Filtered++
			continue
		case res.Final():
			c.Rejected++
		default:
			c.Failed++
		}
		r.failures = append(r.failures, statusFailure{
			Time: now.UTC(), Source: source, Action: key.action, Route: route, Status: res.Status,
			ErrorType: res.ErrorType, Message: res.Message, Retryable: !res.Final(),
		})
	}
	if n := len(r.failures); n > statusFailures {
		r.failures = slices.Delete(r.failures, 0, n-statusFailures)
	}
}

// observeWrite records the duration of one database write.
func (r *statusRecorder) observeWrite(d time.Duration) {
	r.mu.Lock()
	defer r.mu.Unlock()
	b := r.bucket(r.now())
	b.latN++
	b.latSum += d
	b.latMax = max(b.latMax, d)
	if len(b.latency) < maxLatencySamples {
		b.latency = append(b.latency, d)
	}
}

// statusSeries is one source and action over the last hour.
type statusSeries struct {
	Source   string       `json:"source"`
	Action   string       `json:"action"`
	Totals   statusCounts `json:"totals"`
	Received []int64      `json:"received"`
	Written  []int64      `json:"written"`
	Filtered []int64      `json:"filtered"`
	Rejected []int64      `json:"rejected"`
	Failed   []int64      `json:"failed"`
}

// statusLatency is the database write latency over the last hour, in
// milliseconds.
type statusLatency struct {
	Count      int64     `json:"count"`
	MeanMs     float64   `json:"meanMs"`
	P50Ms      float64   `json:"p50Ms"`
	P95Ms      float64   `json:"p95Ms"`
	MaxMs      float64   `json:"maxMs"`
	PerMinute  []float64 `json:"perMinuteMeanMs"`
	PerMinuteN []int64   `json:"perMinuteCount"`
}

// statusSnapshot is the JSON of GET /status.json.
type statusSnapshot struct {
	Now      time.Time       `json:"now"`
	Started  time.Time       `json:"started"`
	Minutes  []time.Time     `json:"minutes"` // start of each minute, oldest first
	Series   []statusSeries  `json:"series"`
	Latency  statusLatency   `json:"latency"`
	Failures []statusFailure `json:"failures"` // newest first
	Try      bool            `json:"try"`
	Sources  []string        `json:"sources"`
}

func (r *statusRecorder) snapshot() statusSnapshot {
	now := r.now()
	cur := now.Unix() / 60
	snap := statusSnapshot{Now: now.UTC(), Started: r.started.UTC()}
	series := map[statusKey]*statusSeries{}
	var all []time.Duration
	snap.Latency.PerMinute = make([]float64, statusMinutes)
	snap.Latency.PerMinuteN = make([]int64, statusMinutes)
	var latSum, latMax time.Duration

	r.mu.Lock()
	for i := range statusMinutes {
		m := cur - statusMinutes + 1 + int64(i)
		snap.Minutes = append(snap.Minutes, time.Unix(m*60, 0).UTC())
		b := &r.buckets[m%statusMinutes]
		if b.minute != m {
			continue
		}
		for k, c := range b.counts {
			s := series[k]
			if s == nil {
				s = &statusSeries{Source: k.source, Action: k.action}
				for _, p := range []*[]int64{&s.Received, &s.Written, &s.Filtered, &s.Rejected, &s.Failed} {
					*p = make([]int64, statusMinutes)
				}
				series[k] = s
			}
			s.Received[i], s.Written[i], s.Filtered[i], s.Rejected[i], s.Failed[i] = c.Received, c.Written, c.Filtered, c.Rejected, c.Failed
			s.Totals.Received += c.Received
			s.Totals.Written += c.Written
			s.Totals.Filtered += c.Filtered
			s.Totals.Rejected += c.Rejected
			s.Totals.Failed += c.Failed
		}
		if b.latN > 0 {
			snap.Latency.PerMinute[i] = ms(b.latSum / time.Duration(b.latN))
			snap.Latency.PerMinuteN[i] = b.latN
			snap.Latency.Count += b.latN
			latSum += b.latSum
			latMax = max(latMax, b.latMax)
			all = append(all, b.latency...)
		}
	}
	for i := len(r.failures) - 1; i >= 0; i-- {
		if now.Sub(r.failures[i].Time) < statusMinutes*time.Minute {
			snap.Failures = append(snap.Failures, r.failures[i])
		}
	}
	r.mu.Unlock()

	if snap.Latency.Count > 0 {
		snap.Latency.MeanMs = ms(latSum / time.Duration(snap.Latency.Count))
		snap.Latency.MaxMs = ms(latMax)
		slices.Sort(all)
		snap.Latency.P50Ms = ms(all[(len(all)-1)*50/100])
		snap.Latency.P95Ms = ms(all[(len(all)-1)*95/100])
	}
	for _, s := range series {
		snap.Series = append(snap.Series, *s)
	}
	slices.SortFunc(snap.Series, func(a, b statusSeries) int {
		if c := strings.Compare(a.Source, b.Source); c != 0 {
			return c
		}
		return strings.Compare(a.Action, b.Action)
	})
	if snap.Failures == nil {
		snap.Failures = []statusFailure{}
	}
	if snap.Series == nil {
		snap.Series = []statusSeries{}
	}
	return snap
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

//go:embed status.html
var statusPage []byte

// statusTryLimit bounds the event the form posts.
const statusTryLimit = 1 << 20

// EnableStatus serves the status page on the operator's routes (see
// statusRoute for who may see it): GET /status (an HTML page, no external assets), GET
// /status.json (what the page shows: per source and action, the events
// received, written, filtered, rejected and failed per minute over the last
// hour; the database write latency; the latest failures with their
// reasons) and POST /status/try (runs {"source":…,"event":{…}} through
// opts.Try). Until it is called those routes answer 404. Call it before
// serving.
func (s *Server) EnableStatus(opts StatusOptions) {
	if opts.Action != "" {
		s.metrics.status.action.Store(&opts.Action)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /status", func(w http.ResponseWriter, _ *http.Request) {
		h := w.Header()
		h.Set("Content-Type", "text/html; charset=utf-8")
		h.Set("Content-Security-Policy", "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; connect-src 'self'; img-src data:; form-action 'none'; frame-ancestors 'none'")
		h.Set("Cache-Control", "no-store")
		h.Set("X-Content-Type-Options", "nosniff")
		_, _ = w.Write(statusPage)
	})
	mux.HandleFunc("GET /status.json", func(w http.ResponseWriter, _ *http.Request) {
		snap := s.metrics.status.snapshot()
		snap.Try = opts.Try != nil
		snap.Sources = opts.Sources
		if snap.Sources == nil {
			snap.Sources = []string{}
		}
		b, err := json.Marshal(snap)
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		w.Header().Set("Cache-Control", "no-store")
		writeJSON(w, http.StatusOK, b)
	})
	mux.HandleFunc("POST /status/try", func(w http.ResponseWriter, r *http.Request) {
		if opts.Try == nil {
			writeJSON(w, http.StatusNotFound, obj2("ok", []byte("false"), "error", quote("trying events is not enabled")))
			return
		}
		body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, statusTryLimit))
		if err != nil {
			writeJSON(w, http.StatusRequestEntityTooLarge, obj2("ok", []byte("false"), "error", quote("the request is over 1 MiB")))
			return
		}
		var in struct {
			Source string          `json:"source"`
			Event  json.RawMessage `json:"event"`
		}
		if err := json.Unmarshal(body, &in); err != nil || len(in.Event) == 0 {
			writeJSON(w, http.StatusBadRequest, obj2("ok", []byte("false"), "error", quote(`want {"source":"…","event":{…}}`)))
			return
		}
		out, err := opts.Try(r.Context(), in.Source, in.Event)
		if err != nil {
			writeJSON(w, http.StatusBadRequest, obj2("ok", []byte("false"), "error", quote(err.Error())))
			return
		}
		writeJSON(w, http.StatusOK, out)
	})
	var h http.Handler = mux
	s.status.Store(&h)
}

// statusRoute serves the status routes (404 until EnableStatus). They
// are operator routes, like /readyz's reasons: open on AdminHandler, and on
// Handler only to a request bearing Config.AdminToken, as a Bearer token or
// as the password of Basic credentials (which a browser asks for); without
// an admin token they are not on Handler at all.
func (s *Server) statusRoute(admin bool) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := s.status.Load()
		if h == nil || (!admin && s.cfg.AdminToken == "") {
			http.NotFound(w, r)
			return
		}
		if !admin && !s.adminRequest(r) && !s.adminBasic(r) {
			w.Header().Set("WWW-Authenticate", `Basic realm="s2segment status", charset="UTF-8"`)
			writeJSON(w, http.StatusUnauthorized, obj2("ok", []byte("false"), "error", quote("the status page needs the admin token (as the password, any user name), or the admin address")))
			return
		}
		(*h).ServeHTTP(w, r)
	})
}

// adminBasic reports whether r bears the admin token as the password of
// Basic credentials.
func (s *Server) adminBasic(r *http.Request) bool {
	_, got, ok := r.BasicAuth()
	a, b := sha256.Sum256([]byte(got)), sha256.Sum256([]byte(s.cfg.AdminToken))
	return ok && s.cfg.AdminToken != "" && subtle.ConstantTimeCompare(a[:], b[:]) == 1
}
