package bench

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"iter"
	"net"
	"net/http"
	"net/url"
	"path"
	"sync/atomic"
	"time"

	"github.com/s2segment/s2segment/dataapi"
	"github.com/s2segment/s2segment/destination"
	"github.com/s2segment/s2segment/destination/singlestore"
	"github.com/s2segment/s2segment/internal/adapter"
	"github.com/s2segment/s2segment/internal/endpoint"
	"github.com/s2segment/s2segment/internal/wait"
	"github.com/tidwall/gjson"
)

// In-process endpoint limits: events of every size class are accepted (the
// hosted default of 32 KB per event, Segment's own, would refuse the large
// ones).
const (
	inProcessMaxEventBytes = 1 << 20
	inProcessMaxBatchBytes = 16 << 20
)

// serveOptions choose the in-process endpoint of a serve run.
type serveOptions struct {
	table string
	// onePerEvent turns group commit off and writes every event with a
	// Data API request of its own: the serve stage's baseline.
	onePerEvent bool
}

// singleRoutes are the Tracking API's single-event routes.
var singleRoutes = map[string]bool{"track": true, "identify": true, "page": true, "screen": true, "group": true, "alias": true}

// runServe sends the events to the endpoint at c.URL, or to an in-process
// one (internal/endpoint, a Writer, and the target of openTarget).
func runServe(ctx context.Context, c *Config, events [][]byte, opt serveOptions) (*stageResult, error) {
	var (
		endpointURL *url.URL
		writeKey    = c.WriteKey
		desc        string
		exec        *countingExecutor
		tg          *target
		sink        *benchSink
	)
	if c.URL == "" {
		var err error
		if tg, err = openTarget(ctx, c); err != nil {
			return nil, err
		}
		defer tg.close()
		exec = newCountingExecutor(tg.client, c.MaxRequestBytes)
		size := c.BatchSize
		if opt.onePerEvent {
			size = 1
		}
		as, err := newSink(ctx, c, exec, tg.database, opt.table, size)
		if err != nil {
			return nil, err
		}
		sink = &benchSink{Sink: as}
		writeKey = randomKey()
		group := endpoint.GroupConfig{MaxEvents: c.BatchSize, Disabled: opt.onePerEvent}
		srv, err := endpoint.New(endpoint.Config{
			Sources:       []endpoint.Source{{Name: "bench", WriteKey: writeKey, Sink: sink}},
			MaxEventBytes: inProcessMaxEventBytes, MaxBatchBytes: inProcessMaxBatchBytes,
			Group: group,
		})
		if err != nil {
			return nil, fmt.Errorf("configuring the endpoint: %w", err)
		}
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, fmt.Errorf("starting the endpoint: %w", err)
		}
		served := make(chan error, 1)
		go func() { served <- srv.Serve(context.Background(), ln) }()
		defer func() {
			sctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			_ = srv.Shutdown(sctx)
			<-served
		}()
		endpointURL = &url.URL{Scheme: "http", Host: ln.Addr().String(), Path: "/v1/track"}
		mode := "group commit"
		if opt.onePerEvent {
			mode = "one Data API request per event"
		}
		desc = "in-process endpoint " + endpointURL.String() + " (" + mode + ") writing to " + tg.desc
		c.logf("serving on %s, writing to %s, table %s", endpointURL, tg.desc, singlestore.QuoteIdentifier(opt.table))
	} else {
		u, err := url.Parse(c.URL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return nil, &ConfigError{"URL", fmt.Sprintf("%q: want an http or https URL such as http://127.0.0.1:3000/v1/track", redactURL(c.URL))}
		}
		if u.User != nil {
			if writeKey == "" {
				writeKey = u.User.Username()
			}
			u.User = nil
		}
		endpointURL = u
		desc = u.Redacted()
		if u.RawQuery != "" {
			desc = (&url.URL{Scheme: u.Scheme, Host: u.Host, Path: u.Path}).String()
		}
	}

	d := newHTTPDriver(endpointURL, writeKey, c.Concurrency)
	defer d.client.CloseIdleConnections()
	chunk := 1
	if d.batch {
		chunk = c.BatchSize
	}
	var before dataapi.Stats
	if tg != nil {
		before = tg.client.Stats()
	}
	var (
		fails failureSet
		ok    atomic.Int64
	)
	feed := newFeeder(len(events), chunk, c.Duration)
	m := feed.drive(ctx, c.Concurrency, c.ServerPID, func(chunks iter.Seq2[int, int]) {
		for from, to := range chunks {
			if reason := d.send(ctx, events[from:to]); reason != "" {
				fails.add(reason, to-from)
				continue
			}
			ok.Add(int64(to - from))
		}
	})
	if err := ctx.Err(); err != nil && errors.Is(err, context.Canceled) {
		return nil, err
	}
	n := feed.driven()
	res := &stageResult{
		target: desc, driven: n, eventBytes: sumBytes(events, n),
		ok: int(ok.Load()), requests: d.requests.Load(), requestBytes: d.bytes.Load(), retries: d.retries.Load(),
		latency: d.lat.summary("request"), clock: m,
	}
	if sink != nil {
		// The Tracking API acknowledges an event it rejected as invalid
		// (as Segment's does); the sink knows.
		for reason, k := range sink.rejected.snapshot() {
			fails.add("accepted but not written: "+reason, k)
			res.ok -= k
		}
		res.ok = max(res.ok, 0)
		res.dataapi = exec.stat(before, tg.client.Stats())
		res.fill = res.dataapi.fill()
	}
	res.failures = fails.snapshot()
	return res, nil
}

// randomKey returns a fresh write key for the in-process endpoint.
func randomKey() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	return "bench_" + hex.EncodeToString(b)
}

// redactURL removes the user information of a URL for messages.
func redactURL(s string) string {
	u, err := url.Parse(s)
	if err != nil {
		return "(unparsable URL)"
	}
	u.User = nil
	return u.String()
}

// benchSink is the in-process endpoint's endpoint.Sink: the endpoint's own
// SingleStore adapter (adapter.Sink), with a count of the events it refused
// for good.
type benchSink struct {
	*adapter.Sink
	rejected failureSet
}

// Write writes events with the adapter and counts its final failures.
func (s *benchSink) Write(ctx context.Context, events [][]byte) []endpoint.Result {
	out := s.Sink.Write(ctx, events)
	for _, r := range out {
		if r.Status/100 != 2 && !r.Retryable {
			typ := r.ErrorType
			if typ == "" {
				typ = destination.ErrorTypeFor(r.Status)
			}
			s.rejected.add(reasonOf(r.Status, typ), 1)
		}
	}
	return out
}

// httpDriver sends events to an endpoint of the HTTP Tracking API.
type httpDriver struct {
	client   *http.Client
	base     *url.URL
	dir      string // the path up to the route name, for single-event routes
	writeKey string
	byType   bool // send each event to /v1/{its type}
	batch    bool // send {"batch":[…]} bodies

	lat                      recorder
	requests, retries, bytes atomic.Int64
}

func newHTTPDriver(u *url.URL, writeKey string, conc int) *httpDriver {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConns = conc * 2
	tr.MaxIdleConnsPerHost = conc * 2
	d := &httpDriver{
		client:   &http.Client{Transport: tr, Timeout: 2 * time.Minute},
		base:     u,
		writeKey: writeKey,
	}
	dir, route := path.Split(u.Path)
	switch {
	case singleRoutes[route]:
		d.byType, d.dir = true, dir
	case route == "batch" || route == "import":
		d.batch = true
	}
	return d
}

// urlFor returns where to send one event.
func (d *httpDriver) urlFor(ev []byte) string {
	if !d.byType {
		return d.base.String()
	}
	typ := gjson.GetBytes(ev, "type").Str
	if !singleRoutes[typ] {
		return d.base.String()
	}
	u := *d.base
	u.Path = d.dir + typ
	return u.String()
}

// send delivers events in one request, trying again after 429, 503 and
// transport errors. It returns "" when the endpoint acknowledged them, and
// the reason they failed otherwise.
func (d *httpDriver) send(ctx context.Context, events [][]byte) string {
	var body []byte
	target := d.base.String()
	if d.batch {
		body = append(body, `{"batch":[`...)
		for i, ev := range events {
			if i > 0 {
				body = append(body, ',')
			}
			body = append(body, ev...)
		}
		body = append(body, "]}"...)
	} else {
		body = events[0]
		target = d.urlFor(body)
	}
	for attempt := 1; ; attempt++ {
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, target, bytes.NewReader(body))
		if err != nil {
			return "request error"
		}
		req.Header.Set("Content-Type", "application/json")
		if d.writeKey != "" {
			req.SetBasicAuth(d.writeKey, "")
		}
		t0 := time.Now()
		resp, err := d.client.Do(req)
		status := 0
		if err == nil {
			_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20))
			_ = resp.Body.Close()
			status = resp.StatusCode
		}
		d.lat.add(time.Since(t0))
		d.requests.Add(1)
		d.bytes.Add(int64(len(body)))
		if status >= 200 && status < 300 {
			return ""
		}
		retry := err != nil || status == http.StatusTooManyRequests || status == http.StatusServiceUnavailable
		if !retry || attempt >= MaxHTTPAttempts || ctx.Err() != nil {
			if err != nil {
				return "transport error"
			}
			return fmt.Sprintf("HTTP %d", status)
		}
		pause := time.Duration(50<<attempt) * time.Millisecond
		if resp != nil {
			if ra, ok := dataapi.RetryAfter(resp, time.Now()); ok {
				pause = ra
			}
		}
		d.retries.Add(1)
		if wait.Sleep(ctx, min(pause, MaxRetryWait)) != nil {
			return "transport error"
		}
	}
}
