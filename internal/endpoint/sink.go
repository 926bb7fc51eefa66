package endpoint

import (
	"context"
	"encoding/json"
	"time"

	"github.com/s2segment/s2segment/destination"
)

// Sink writes events for one destination configuration (settings, mapping
// and subscription are the Sink's business) and reports one Result per event.
//
// Write receives one or more events, each one JSON object as raw bytes, and
// returns exactly one Result per event, in the same order. It must be safe for
// concurrent use (see GroupConfig.MaxConcurrentWrites), must not modify the
// event slices nor keep them after it returns, and should return once ctx is
// done, reporting what it could not write as retryable. A missing Result, a
// Result with no Status, or a panic counts as a retryable failure of the event:
// the server never acknowledges an event it has no final result for.
type Sink interface {
	Write(ctx context.Context, events [][]byte) []Result
}

// SinkFunc adapts a function to the Sink interface.
type SinkFunc func(ctx context.Context, events [][]byte) []Result

// Write calls f(ctx, events).
func (f SinkFunc) Write(ctx context.Context, events [][]byte) []Result { return f(ctx, events) }

// Result is the outcome of one event, the same facts as a node of Segment's
// multistatus response.
type Result struct {
	// Status is 2xx when the event was written; otherwise the HTTP-style
	// status of the failure (400 invalid event, 413 too large, the Data API's
	// status for a failed request, ...). Zero is not a result.
	Status int
	// ErrorType is Segment's error type, e.g. PAYLOAD_VALIDATION_FAILED;
	// empty means the one Segment infers from Status (TOO_MANY_REQUESTS for
	// 429, UNKNOWN_ERROR for statuses it has no name for).
	ErrorType string
	// Message says why the event failed, for people; it must not hold
	// secrets. Empty for written events.
	Message string
	// Retryable marks a failure that may succeed if the event is sent again
	// (a failed or timed-out request); false makes the failure final.
	Retryable bool
	// RetryAfter, when set on a retryable failure, asks the sender to wait at
	// least that long; the server sends the longest one it was given.
	RetryAfter time.Duration
	// Sent and Body, when set, are JSON values reported in the multistatus
	// node: what was sent for the event and the response it got.
	Sent json.RawMessage
	Body json.RawMessage
}

// OK reports whether the event was written.
func (r Result) OK() bool { return r.Status >= 200 && r.Status < 300 }

// Final reports whether the result is final: written, or failed in a way that
// sending the event again would not change.
func (r Result) Final() bool { return r.OK() || (r.Status != 0 && !r.Retryable) }

// Actions is the destination definition behind the actions-cli routes.
type Actions interface {
	// Manifest returns the destination definition as JSON, served as is by
	// GET /manifest.
	Manifest() []byte
	// Authenticate tests the settings (a JSON object) the way Segment's
	// testAuthentication does. An error that implements FieldsError names the
	// settings fields it concerns.
	Authenticate(ctx context.Context, settings []byte) error
	// Sink returns the Sink for one destination configuration: settings and
	// mapping are JSON objects (mapping may be nil: the fields' defaults) and
	// subscription is the FQL text ("" when the request had none). It does no
	// I/O; the server keeps the sinks it gets, so group commit also applies
	// to /send. An error fails every event of the request with status 400.
	Sink(settings, mapping []byte, subscription string) (Sink, error)
}

// FieldsError is implemented by errors of Actions.Authenticate and
// Actions.Sink that concern particular settings fields. Fields maps a field
// path ("$" for the root) to its message, as actions-cli's "fields" does.
type FieldsError interface {
	error
	Fields() map[string]string
}

// errorTyper is implemented by errors of Actions.Sink that carry a Segment
// error type for the nodes of the events they fail.
type errorTyper interface {
	ErrorType() string
}

// normalize returns r with the guarantees the rest of the server relies on:
// a result nobody set is a retryable 500 (results fail closed), a success is
// never retryable, and a failure whose status Segment retries
// (destination.Retryable, the module's one rule) is retryable whatever the
// Sink said.
func (r Result) normalize() Result {
	switch {
	case r.Status == 0:
		return Result{Status: 500, ErrorType: destination.TypeRetryableError, Message: "the sink returned no result for the event", Retryable: true}
	case r.OK():
		r.Retryable = false
	case destination.Retryable(r.Status):
		r.Retryable = true
	}
	return r
}

// errorTypeFor returns Segment's error type for an HTTP status, from the
// module's one table (destination.ErrorTypeFor).
func errorTypeFor(status int) string { return destination.ErrorTypeFor(status) }
