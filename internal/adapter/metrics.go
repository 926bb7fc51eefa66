package adapter

import (
	"maps"
	"sync"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/s2segment/s2segment/dataapi"
)

// ClientMetrics is a Prometheus collector of the work of every Data API
// client a Connection makes: requests, retries, splits of too-large
// batches, bytes sent and failed calls, summed over the clients. A client
// that is let go (Retire) leaves its figures in the sums, so the counters
// only grow. The zero value is not usable; call NewClientMetrics.
type ClientMetrics struct {
	mu          sync.Mutex
	live        map[*dataapi.Client]struct{}
	retired     dataapi.Stats
	unavailable map[string]int64 // by reason

	requests, retries, splits, bytes, failures, unavail *prometheus.Desc
}

// NewClientMetrics returns an empty collector.
func NewClientMetrics() *ClientMetrics {
	d := func(name, help string) *prometheus.Desc {
		return prometheus.NewDesc("s2segment_dataapi_"+name, help, nil, nil)
	}
	return &ClientMetrics{
		live:        make(map[*dataapi.Client]struct{}),
		unavailable: make(map[string]int64),
		unavail: prometheus.NewDesc("s2segment_destination_unavailable_total",
			"Events answered with a retryable status because the destination itself failed (refused credentials or privileges, "+
				"a missing database or table, an answer that is not the Data API's, an unverifiable certificate), by reason; "+
				"a probe of /readyz that met such a failure counts 0 events but creates the series.",
			[]string{"reason"}, nil),
		requests: d("requests_total", "HTTP requests sent to Data APIs, retries and split halves included."),
		retries:  d("retries_total", "Data API requests that were tried again after a transport error, 408, 429 or 5xx."),
		splits:   d("splits_total", "Batches split in halves after a Data API answered that the body was too large."),
		bytes:    d("sent_bytes_total", "Request body bytes sent to Data APIs."),
		failures: d("failures_total", "Data API calls that ended in an error after their retries."),
	}
}

// countUnavailable adds n events failed because the destination failed
// for reason.
func (m *ClientMetrics) countUnavailable(reason string, n int) {
	if m == nil {
		return
	}
	m.mu.Lock()
	m.unavailable[reason] += int64(n)
	m.mu.Unlock()
}

// Unavailable returns the events counted by countUnavailable, by reason.
func (m *ClientMetrics) Unavailable() map[string]int64 {
	m.mu.Lock()
	defer m.mu.Unlock()
	return maps.Clone(m.unavailable)
}

// track adds a client to the sums.
func (m *ClientMetrics) track(c *dataapi.Client) {
	if m == nil {
		return
	}
	m.mu.Lock()
	m.live[c] = struct{}{}
	m.mu.Unlock()
}

// Retire keeps c's figures so far in the sums and stops reading it. Work c
// does after Retire is not counted.
func (m *ClientMetrics) Retire(c *dataapi.Client) {
	if m == nil {
		return
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, ok := m.live[c]; !ok {
		return
	}
	delete(m.live, c)
	addStats(&m.retired, c.Stats())
}

func addStats(sum *dataapi.Stats, s dataapi.Stats) {
	sum.Requests += s.Requests
	sum.Retries += s.Retries
	sum.Splits += s.Splits
	sum.BytesSent += s.BytesSent
	sum.Failures += s.Failures
}

// Total returns the figures summed over every client tracked.
func (m *ClientMetrics) Total() dataapi.Stats {
	m.mu.Lock()
	defer m.mu.Unlock()
	sum := m.retired
	for c := range m.live {
		addStats(&sum, c.Stats())
	}
	return sum
}

// Describe implements prometheus.Collector.
func (m *ClientMetrics) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{m.requests, m.retries, m.splits, m.bytes, m.failures, m.unavail} {
		ch <- d
	}
}

// Collect implements prometheus.Collector.
func (m *ClientMetrics) Collect(ch chan<- prometheus.Metric) {
	t := m.Total()
	for _, v := range []struct {
		d *prometheus.Desc
		n int64
	}{{m.requests, t.Requests}, {m.retries, t.Retries}, {m.splits, t.Splits}, {m.bytes, t.BytesSent}, {m.failures, t.Failures}} {
		ch <- prometheus.MustNewConstMetric(v.d, prometheus.CounterValue, float64(v.n))
	}
	for reason, n := range m.Unavailable() {
		ch <- prometheus.MustNewConstMetric(m.unavail, prometheus.CounterValue, float64(n), reason)
	}
}
