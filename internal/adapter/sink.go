package adapter

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/s2segment/s2segment/dataapi"
	"github.com/s2segment/s2segment/destination"
	"github.com/s2segment/s2segment/destination/singlestore"
	"github.com/s2segment/s2segment/internal/endpoint"
)

// SinkConfig configures a Sink: the writer's table, action options and
// packing, and what each result carries.
type SinkConfig struct {
	singlestore.WriterConfig
	// ReportSent keeps, in each result, the payload sent and the Data API's
	// answer (the "sent" and "body" of a multistatus node, as /send reports
	// them). Sinks of the Tracking API and webhooks leave it off: nobody
	// reads them there.
	ReportSent bool
	// Warehouse, when set, makes the sink write Segment's warehouse schema
	// with a singlestore.WarehouseWriter instead of the Send Data rows of
	// WriterConfig (which is then not used).
	Warehouse *singlestore.WarehouseConfig
	// CreateMissingTable makes the Sink create its table again when a write
	// or Ready finds it missing (errno 1146), and then send the events that
	// failed on it once more, so a dropped table heals by itself (Send Data
	// sinks; a warehouse writer creates its tables itself).
	CreateMissingTable bool
	// Name names the Sink in its log lines (a source name); "" leaves it
	// out.
	Name string
	// Logger receives an ERROR line when the destination fails (see
	// Sink.Fault) and an INFO line when it recovers; nil discards them.
	Logger *slog.Logger
	// Metrics, when set, counts the events answered retryable because the
	// destination failed, by reason.
	Metrics *ClientMetrics
}

// faultLogEvery bounds how often one unchanged fault is logged again.
const faultLogEvery = 10 * time.Second

// Sink writes events with a singlestore.Writer and reports an
// endpoint.Result per event. It is safe for concurrent use.
//
// A failure of the destination itself (dataapi.SetupFault: credentials,
// privileges, a missing database or table, an answer that is not the Data
// API's, an unverifiable certificate) fails the events it met with a
// retryable 503, so their senders keep them; the Sink remembers it as its
// Fault, which Ready reports until a later write or probe succeeds, logs it
// at ERROR and counts it in s2segment_destination_unavailable_total.
type Sink struct {
	w          *singlestore.Writer // nil for a warehouse sink
	write      func(ctx context.Context, events [][]byte) *destination.MultiStatus
	exec       singlestore.Executor
	batchSize  int
	cfg        SinkConfig
	log        *slog.Logger
	reportSent bool

	written, rejected, failed atomic.Int64

	mu       sync.Mutex
	fault    *Fault
	loggedAt time.Time
	create   sync.Mutex // one CREATE TABLE at a time
}

// Fault is why a Sink's destination cannot take writes.
type Fault struct {
	// Reason is a short word for metrics: "credentials", "privileges",
	// "missing_table", "unknown_database", "unexpected_response",
	// "certificate" or "refused".
	Reason string
	// Message says what the Data API answered, without secrets.
	Message string
	// Since is when the fault was first seen.
	Since time.Time
	// Err is the error behind it.
	Err error
}

// SinkStats counts a Sink's events since it was made.
type SinkStats struct {
	// Written counts events written (or, in the dedupe schema, found
	// already there).
	Written int64
	// Rejected counts events refused for good: invalid, not selected by
	// the subscription, too large, or refused by the database for one of
	// their own values.
	Rejected int64
	// Failed counts events that failed in a way worth retrying; the sender
	// was told to send them again.
	Failed int64
}

// NewSink compiles the writer of cfg on exec. A mapping or subscription
// that does not compile, or a bad table or database name, is an error.
func NewSink(exec singlestore.Executor, cfg SinkConfig) (*Sink, error) {
	s := &Sink{exec: exec, cfg: cfg, reportSent: cfg.ReportSent}
	if cfg.Warehouse != nil {
		wexec, ok := exec.(singlestore.WarehouseExecutor)
		if !ok {
			return nil, errors.New("the warehouse action needs an executor that reads rows (singlestore.WarehouseExecutor)")
		}
		ww, err := singlestore.NewWarehouseWriter(wexec, *cfg.Warehouse)
		if err != nil {
			return nil, err
		}
		s.write, s.batchSize = ww.Write, ww.BatchSize()
		s.cfg.CreateMissingTable = false
	} else {
		w, err := singlestore.NewWriter(exec, cfg.WriterConfig)
		if err != nil {
			return nil, err
		}
		s.w, s.write, s.batchSize = w, w.Write, w.BatchSize()
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if cfg.Name != "" {
		log = log.With("source", cfg.Name)
	}
	s.log = log
	return s, nil
}

// Writer returns the sink's Send Data writer, or nil for a warehouse sink.
func (s *Sink) Writer() *singlestore.Writer { return s.w }

// BatchSize returns the most rows one request of the sink carries.
func (s *Sink) BatchSize() int { return s.batchSize }

// Stats returns the sink's counters.
func (s *Sink) Stats() SinkStats {
	return SinkStats{Written: s.written.Load(), Rejected: s.rejected.Load(), Failed: s.failed.Load()}
}

// Fault returns the destination's standing fault, or nil when the last
// write or probe reached it.
func (s *Sink) Fault() *Fault {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.fault
}

// Write writes events (JSON objects, checked by the server) and returns one
// result per event, in order. Results hold no slice of the events.
func (s *Sink) Write(ctx context.Context, events [][]byte) []endpoint.Result {
	ms := s.write(ctx, events)
	if s.cfg.CreateMissingTable && s.w != nil {
		s.retryMissingTable(ctx, events, ms)
	}
	out := Results(ms, len(events), s.reportSent)
	var written, rejected, failed int64
	var fault error
	for i := range out {
		switch {
		case out[i].OK():
			written++
		case out[i].Retryable:
			failed++
		default:
			rejected++
		}
		if i < len(ms.Results) && fault == nil && errors.Is(ms.Results[i].Err, destination.ErrUnavailable) {
			fault = ms.Results[i].Err
		}
	}
	s.written.Add(written)
	s.rejected.Add(rejected)
	s.failed.Add(failed)
	switch {
	case fault != nil:
		n := 0
		for i := range ms.Results {
			if errors.Is(ms.Results[i].Err, destination.ErrUnavailable) {
				n++
			}
		}
		s.setFault(fault, n)
	case written > 0:
		s.clearFault()
	}
	return out
}

// retryMissingTable creates the table when events failed because it is
// missing, and writes those events again, in place.
func (s *Sink) retryMissingTable(ctx context.Context, events [][]byte, ms *destination.MultiStatus) {
	var idx []int
	for i := range ms.Results {
		if i < len(events) && errors.Is(ms.Results[i].Err, dataapi.ErrMissingTable) {
			idx = append(idx, i)
		}
	}
	if len(idx) == 0 || s.createTable(ctx) != nil {
		return
	}
	again := make([][]byte, len(idx))
	for k, i := range idx {
		again[k] = events[i]
	}
	ms2 := s.w.Write(ctx, again)
	for k, i := range idx {
		if k < len(ms2.Results) {
			ms.Results[i] = ms2.Results[k]
		}
	}
}

// createTable creates the table, once at a time.
func (s *Sink) createTable(ctx context.Context) error {
	s.create.Lock()
	defer s.create.Unlock()
	if err := s.w.CreateTable(ctx); err != nil {
		s.log.Error("creating the missing table", "error", err.Error())
		return err
	}
	s.log.Warn("created the table again: it was missing", "table", s.cfg.Table, "database", s.cfg.Database)
	return nil
}

// Ready reports whether the destination can take writes: an authenticated
// query of the table (singlestore.Writer.Probe), after creating the table
// again when it is missing and CreateMissingTable is set, and no standing
// Fault of a write since. The error says why not, without secrets or the
// Data API's address.
func (s *Sink) Ready(ctx context.Context) error {
	err := s.probe(ctx)
	if errors.Is(err, dataapi.ErrMissingTable) && s.cfg.CreateMissingTable && s.createTable(ctx) == nil {
		err = s.probe(ctx)
	}
	if err != nil {
		if dataapi.SetupFault(err) {
			s.setFault(err, 0)
		}
		return errors.New(describe(err))
	}
	if f := s.Fault(); f != nil && !errors.Is(f.Err, dataapi.ErrMissingTable) {
		// The probe reads; a write may still be refused (no INSERT
		// privilege): that stands until a write succeeds.
		return fmt.Errorf("the last write was refused: %s", f.Message)
	}
	s.clearFault()
	return nil
}

// probe runs the writer's probe of its table; a warehouse sink, whose
// tables come and go with the events, runs an authenticated SELECT 1.
func (s *Sink) probe(ctx context.Context) error {
	if s.w != nil {
		return s.w.Probe(ctx)
	}
	if q, ok := s.exec.(singlestore.Querier); ok {
		_, err := q.QueryRows(ctx, "SELECT 1")
		return err
	}
	_, err := s.exec.Exec(ctx, "SELECT 1")
	return err
}

// setFault records a destination fault seen by n events (0: by a probe),
// logs it at ERROR (again at most every faultLogEvery while unchanged) and
// counts it.
func (s *Sink) setFault(err error, n int) {
	reason := faultReason(err)
	msg := describe(err)
	now := time.Now()
	s.mu.Lock()
	changed := s.fault == nil || s.fault.Reason != reason
	if changed {
		s.fault = &Fault{Reason: reason, Message: msg, Since: now, Err: err}
	} else {
		s.fault.Message, s.fault.Err = msg, err
	}
	logIt := changed || now.Sub(s.loggedAt) >= faultLogEvery
	if logIt {
		s.loggedAt = now
	}
	s.mu.Unlock()
	s.cfg.Metrics.countUnavailable(reason, n)
	if logIt {
		s.log.Error("the destination cannot take writes; events are answered with a retryable status until it can",
			"reason", reason, "error", msg, "events", n)
	}
}

func (s *Sink) clearFault() {
	s.mu.Lock()
	f := s.fault
	s.fault = nil
	s.mu.Unlock()
	if f != nil {
		s.log.Info("the destination takes writes again", "reason", f.Reason, "down", time.Since(f.Since).Round(time.Millisecond).String())
	}
}

// faultReason names the kind of a destination fault.
func faultReason(err error) string {
	switch {
	case errors.Is(err, dataapi.ErrUnauthorized):
		return "credentials"
	case errors.Is(err, dataapi.ErrForbidden):
		return "privileges"
	case errors.Is(err, dataapi.ErrMissingTable):
		return "missing_table"
	case errors.Is(err, dataapi.ErrUnknownDatabase):
		return "unknown_database"
	case errors.Is(err, dataapi.ErrUnexpectedResponse):
		return "unexpected_response"
	}
	var ae *dataapi.APIError
	if errors.As(err, &ae) {
		return "refused"
	}
	if dataapi.SetupFault(err) {
		return "certificate"
	}
	return "unreachable"
}

// describe says what went wrong without the Data API's address: the
// answer's status and message, or the kind of transport failure.
func describe(err error) string {
	var ae *dataapi.APIError
	if errors.As(err, &ae) {
		s := fmt.Sprintf("the Data API answered %d %s", ae.StatusCode, http.StatusText(ae.StatusCode))
		if ae.Errno != 0 {
			s += fmt.Sprintf(": Error %d (%s): %s", ae.Errno, ae.SQLState, ae.Message)
		} else if ae.Message != "" && ae.Message != http.StatusText(ae.StatusCode) {
			s += ": " + ae.Message
		}
		return s
	}
	switch reason := faultReason(err); reason {
	case "unexpected_response":
		return "the answer was not the Data API's (" + innermost(err) + ")"
	case "certificate":
		return "the Data API's certificate cannot be verified (" + innermost(err) + ")"
	}
	var op *net.OpError
	if errors.As(err, &op) && op.Err != nil {
		return "the Data API cannot be reached: " + op.Err.Error()
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return "the Data API did not answer in time"
	}
	return "the Data API cannot be reached"
}

// innermost returns the text of the last error in err's chain of single
// causes, which names the failure without the URL around it.
func innermost(err error) string {
	for {
		next := errors.Unwrap(err)
		if next == nil {
			return err.Error()
		}
		err = next
	}
}

// Results converts a writer's MultiStatus into the endpoint's results for
// n events: the one conversion of destination results into endpoint
// results, used by the endpoint's sinks and by the suites that test them.
// A result the writer did not set, or did not report at all, is a retryable
// failure (results fail closed).
func Results(ms *destination.MultiStatus, n int, reportSent bool) []endpoint.Result {
	out := make([]endpoint.Result, n)
	for i := range out {
		var r destination.Result
		if ms != nil && i < len(ms.Results) {
			r = ms.Results[i]
		}
		out[i] = Result(r, reportSent)
	}
	return out
}

// Result converts one writer result into the endpoint's. Status 0 (a
// result nobody set) becomes a retryable 500; a deadline or cancellation is
// always retryable; retryability otherwise follows destination.Result.
func Result(r destination.Result, reportSent bool) endpoint.Result {
	if r.Unset() {
		return endpoint.Result{Status: http.StatusInternalServerError, ErrorType: destination.TypeRetryableError,
			Message: destination.MissingMessage, Retryable: true}
	}
	if r.OK() {
		res := endpoint.Result{Status: r.Status}
		if reportSent {
			res.Sent, res.Body = r.Sent, r.Body
		}
		return res
	}
	res := endpoint.Result{
		Status:    r.Status,
		ErrorType: r.ErrorType,
		Message:   r.ErrorMessage,
		Retryable: r.Retryable(),
	}
	if res.Message == "" && r.Err != nil {
		res.Message = r.Err.Error()
	}
	// A deadline or cancellation is the endpoint's own limit, not the
	// event's fault: always worth another try.
	if errors.Is(r.Err, context.DeadlineExceeded) || errors.Is(r.Err, context.Canceled) {
		res.Retryable = true
	}
	if reportSent {
		res.Sent, res.Body = r.Sent, r.Body
	}
	return res
}
