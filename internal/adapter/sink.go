package adapter

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sync/atomic"

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
}

// Sink writes events with a singlestore.Writer and reports a endpoint.Result
// per event. It is safe for concurrent use.
type Sink struct {
	w          *singlestore.Writer // nil for a warehouse sink
	write      func(ctx context.Context, events [][]byte) *destination.MultiStatus
	batchSize  int
	reportSent bool

	written, rejected, failed atomic.Int64
}

// SinkStats counts a Sink's events since it was made.
type SinkStats struct {
	// Written counts events written (or, in the dedupe schema, found
	// already there).
	Written int64
	// Rejected counts events refused for good: invalid, not selected by
	// the subscription, too large, or refused by the database in a way a
	// retry would not change.
	Rejected int64
	// Failed counts events that failed in a way worth retrying; the sender
	// was told to send them again.
	Failed int64
}

// NewSink compiles the writer of cfg on exec. A mapping or subscription
// that does not compile, or a bad table or database name, is an error.
func NewSink(exec singlestore.Executor, cfg SinkConfig) (*Sink, error) {
	if cfg.Warehouse != nil {
		wexec, ok := exec.(singlestore.WarehouseExecutor)
		if !ok {
			return nil, errors.New("the warehouse action needs an executor that reads rows (singlestore.WarehouseExecutor)")
		}
		ww, err := singlestore.NewWarehouseWriter(wexec, *cfg.Warehouse)
		if err != nil {
			return nil, err
		}
		return &Sink{write: ww.Write, batchSize: ww.BatchSize(), reportSent: cfg.ReportSent}, nil
	}
	w, err := singlestore.NewWriter(exec, cfg.WriterConfig)
	if err != nil {
		return nil, err
	}
	return &Sink{w: w, write: w.Write, batchSize: w.BatchSize(), reportSent: cfg.ReportSent}, nil
}

// Writer returns the sink's Send Data writer, or nil for a warehouse sink.
func (s *Sink) Writer() *singlestore.Writer { return s.w }

// BatchSize returns the most rows one request of the sink carries.
func (s *Sink) BatchSize() int { return s.batchSize }

// Stats returns the sink's counters.
func (s *Sink) Stats() SinkStats {
	return SinkStats{Written: s.written.Load(), Rejected: s.rejected.Load(), Failed: s.failed.Load()}
}

// Write writes events (JSON objects, checked by the server) and returns one
// result per event, in order. Results hold no slice of the events.
func (s *Sink) Write(ctx context.Context, events [][]byte) []endpoint.Result {
	ms := s.write(ctx, events)
	out := make([]endpoint.Result, len(events))
	var written, rejected, failed int64
	for i := range out {
		var r destination.Result
		if i < len(ms.Results) {
			r = ms.Results[i]
		} else {
			r = destination.ResultOf(fmt.Errorf("writing event %d: the writer reported %d results for %d events", i, len(ms.Results), len(events)))
			r.ErrorType = destination.TypeRetryableError
		}
		out[i] = s.result(r)
		switch {
		case out[i].OK():
			written++
		case out[i].Retryable:
			failed++
		default:
			rejected++
		}
	}
	s.written.Add(written)
	s.rejected.Add(rejected)
	s.failed.Add(failed)
	return out
}

// result converts a writer's result into the server's.
func (s *Sink) result(r destination.Result) endpoint.Result {
	if r.OK() {
		res := endpoint.Result{Status: r.Status}
		if res.Status == 0 {
			res.Status = http.StatusOK
		}
		if s.reportSent {
			res.Sent, res.Body = r.Sent, r.Body
		}
		return res
	}
	res := endpoint.Result{
		Status:    r.Status,
		ErrorType: r.ErrorType,
		Message:   r.ErrorMessage,
		Retryable: r.Retryable(),
		Filtered:  errors.Is(r.Err, destination.ErrNoMatch),
	}
	if res.Message == "" && r.Err != nil {
		res.Message = r.Err.Error()
	}
	// A deadline or cancellation is the endpoint's own limit, not the
	// event's fault: always worth another try.
	if errors.Is(r.Err, context.DeadlineExceeded) || errors.Is(r.Err, context.Canceled) {
		res.Retryable = true
	}
	if s.reportSent {
		res.Sent, res.Body = r.Sent, r.Body
	}
	return res
}
