package endpoint

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
)

// metrics are the server's Prometheus metrics, registered on a registry of
// the server's own (never the global one).
type metrics struct {
	reg          *prometheus.Registry
	events       *prometheus.CounterVec   // route, result
	requests     *prometheus.HistogramVec // route, code
	groupEvents  prometheus.Histogram
	groupBytes   prometheus.Histogram
	writeSeconds prometheus.Histogram
	inflight     prometheus.Gauge
	pending      prometheus.Gauge
	overload     *prometheus.CounterVec // route
	status       *statusRecorder        // what the status page shows
}

// observeWrite records the duration of one Sink.Write.
func (m *metrics) observeWrite(d time.Duration) {
	m.writeSeconds.Observe(d.Seconds())
	m.status.observeWrite(d)
}

// Event results counted by s2segment_server_events_total.
const (
	resultWritten   = "written"   // written (2xx)
	resultRejected  = "rejected"  // final failure: invalid, too large, refused by the database
	resultFailed    = "failed"    // retryable failure: the sender is told to retry
	resultAbandoned = "abandoned" // the sender went away before the result was known
)

// intakeRoutes are the route labels of the requests that carry events.
var intakeRoutes = []string{"track", "identify", "page", "screen", "group", "alias", "batch", "import", "webhook", "send"}

func newMetrics() *metrics {
	m := &metrics{
		status: newStatusRecorder(time.Now),
		reg:    prometheus.NewRegistry(),
		events: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "s2segment_server_events_total",
			Help: "Events received, by route and result (written, rejected, failed, abandoned).",
		}, []string{"route", "result"}),
		requests: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "s2segment_server_request_duration_seconds",
			Help:    "Time from request to answer, by route and HTTP status.",
			Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30},
		}, []string{"route", "code"}),
		groupEvents: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "s2segment_server_group_events",
			Help:    "Events per group-commit Write call.",
			Buckets: prometheus.ExponentialBuckets(1, 2, 13), // 1 … 4096
		}),
		groupBytes: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "s2segment_server_group_bytes",
			Help:    "Event bytes per group-commit Write call.",
			Buckets: prometheus.ExponentialBuckets(256, 4, 9), // 256 B … 16 MiB
		}),
		writeSeconds: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "s2segment_server_sink_write_duration_seconds",
			Help:    "Duration of Sink.Write calls.",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10},
		}),
		inflight: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "s2segment_server_inflight_bytes",
			Help: "Request bytes held from admission until their events are written.",
		}),
		pending: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "s2segment_server_pending_events",
			Help: "Events handed to group commit and not yet written.",
		}),
		overload: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "s2segment_server_overload_rejects_total",
			Help: "Requests turned away with 429 or 503 because the in-flight byte limit was reached, by route.",
		}, []string{"route"}),
	}
	m.reg.MustRegister(m.events, m.requests, m.groupEvents, m.groupBytes, m.writeSeconds,
		m.inflight, m.pending, m.overload,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	// Every series exists from the start, at 0: a dashboard or an alert on
	// a rate sees the first event, not a series appearing.
	for _, route := range intakeRoutes {
		m.overload.WithLabelValues(route)
		for _, result := range []string{resultWritten, resultRejected, resultFailed, resultAbandoned} {
			m.events.WithLabelValues(route, result)
		}
	}
	return m
}

// countResults adds the results of one request to the events counter.
func (m *metrics) countResults(route string, results []Result) {
	var written, rejected, failed int
	for _, r := range results {
		switch {
		case r.OK():
			written++
		case r.Final():
			rejected++
		default:
			failed++
		}
	}
	for _, c := range []struct {
		result string
		n      int
	}{{resultWritten, written}, {resultRejected, rejected}, {resultFailed, failed}} {
		if c.n > 0 {
			m.events.WithLabelValues(route, c.result).Add(float64(c.n))
		}
	}
}
