package destination

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/s2segment/s2segment/internal/checked"
)

// NoMatchMessage is Segment's error message for an event its subscription
// does not select.
const NoMatchMessage = "Payload is either invalid or does not match the subscription"

// Error types of results, as Segment names them.
const (
	TypePayloadValidationFailed = "PAYLOAD_VALIDATION_FAILED"
	TypeRetryableError          = "RETRYABLE_ERROR"
	TypeInvalidAuthentication   = "INVALID_AUTHENTICATION"
	TypeSelfTimeout             = "SELF_TIMEOUT"
	TypeUnknownError            = "UNKNOWN_ERROR"
)

// Error reporters of results: who is to blame for a failure.
const (
	ReporterIntegrations = "INTEGRATIONS" // the event or the integration (nothing was sent)
	ReporterDestination  = "DESTINATION"  // the destination answered with an error
)

// httpErrorTypes is the one status → error-type table of the module: the
// error type Segment's actions-core (getErrorCodeFromHttpStatus) infers
// from an HTTP status. The endpoint's answers, the multistatus nodes and the
// writers' results all read it through ErrorTypeFor.
var httpErrorTypes = map[int]string{
	400: "BAD_REQUEST", 401: "UNAUTHORIZED", 403: "FORBIDDEN", 404: "NOT_FOUND",
	405: "METHOD_NOT_ALLOWED", 408: "REQUEST_TIMEOUT", 409: "CONFLICT", 410: "GONE",
	413: "PAYLOAD_TOO_LARGE", 415: "UNSUPPORTED_MEDIA_TYPE", 422: "UNPROCESSABLE_ENTITY",
	423: "LOCKED", 429: "TOO_MANY_REQUESTS", 499: "CANCELLED",
	500: "INTERNAL_SERVER_ERROR", 501: "NOT_IMPLEMENTED", 502: "BAD_GATEWAY",
	503: "SERVICE_UNAVAILABLE", 504: "GATEWAY_TIMEOUT", 505: "HTTP_VERSION_NOT_SUPPORTED",
	507: "INSUFFICIENT_STORAGE",
}

// ErrorTypeFor returns the error type Segment infers from an HTTP status:
// "TOO_MANY_REQUESTS" for 429, "UNKNOWN_ERROR" for codes it does not name.
func ErrorTypeFor(status int) string {
	if t, ok := httpErrorTypes[status]; ok {
		return t
	}
	return TypeUnknownError
}

// Retryable is the one rule of the module for what Segment retries: a
// failure with this status is worth sending again. It holds for 408, 423,
// 429 and 5xx except 501 and 505 (the union of Segment's and its support's
// rules, without the codes only one of them retries). The endpoint decides
// its answers with it, and Result.Retryable reads it.
//
// The Data API client's own rule for retrying a request before giving up
// (dataapi.RetryableStatus, dataapi.DefaultRetryPolicy) is a different
// question, about one HTTP call to the database, and is kept separate.
func Retryable(status int) bool {
	switch {
	case status == 408, status == 423, status == 429:
		return true
	case status >= 500 && status <= 599:
		return status != 501 && status != 505
	}
	return false
}

// ErrUnavailable marks a failure of the destination itself, not of the
// event: the credentials or privileges were refused, the database or table
// is missing, the answer was not the Data API's, or the server's
// certificate could not be verified. Such an event is answered with a
// retryable status, so that its sender keeps it until the cause is fixed;
// match it with errors.Is on Result.Err.
var ErrUnavailable = errors.New("the destination cannot take writes")

// MissingMessage is the message of a result nobody set.
const MissingMessage = "no result was reported for the event; it may not have been written"

// Error is a failure with a status, returned by perform functions and
// writers: Segment's IntegrationError, RetryableError and APIError in one.
type Error struct {
	Status  int
	Type    string // "" infers it from Status
	Message string
	Err     error // the cause, if any
}

func (e *Error) Error() string {
	if e.Err != nil && e.Message == "" {
		return e.Err.Error()
	}
	return e.Message
}

// Unwrap returns the cause.
func (e *Error) Unwrap() error { return e.Err }

// Result is the outcome of one event: a node of Segment's multistatus
// response. Status is an HTTP status; 2xx is success.
type Result struct {
	Status int `json:"status"`
	// ErrorType is a code such as "PAYLOAD_VALIDATION_FAILED"; when empty on
	// a failure, JSON infers it from Status.
	ErrorType    string `json:"errortype,omitempty"`
	ErrorMessage string `json:"errormessage,omitempty"`
	// ErrorReporter is ReporterIntegrations or ReporterDestination; when
	// empty on a failure, JSON infers it (DESTINATION when Sent or Body is
	// set).
	ErrorReporter string `json:"errorreporter,omitempty"`
	// Sent is the payload that was sent; Body the destination's answer.
	Sent json.RawMessage `json:"sent,omitempty"`
	Body json.RawMessage `json:"body,omitempty"`
	// Err is the error behind a failure, for errors.Is and errors.As; it is
	// not part of the JSON.
	Err error `json:"-"`
}

// OK reports whether the event was delivered: a 2xx status. A result that
// was never set (status 0) is not: results fail closed.
func (r Result) OK() bool { return r.Status >= 200 && r.Status < 300 }

// Unset reports whether nobody set the result (status 0). An unset result
// is a retryable failure (see Retryable, and MarshalJSON writes it as 500).
func (r Result) Unset() bool { return r.Status == 0 }

// Retryable reports whether the failure is worth retrying: it was never
// set, its status is (see the function Retryable), or its type is
// RETRYABLE_ERROR. False for a success.
func (r Result) Retryable() bool {
	return !r.OK() && (r.Status == 0 || Retryable(r.Status) || r.ErrorType == TypeRetryableError)
}

// MarshalJSON writes the node as Segment does, filling in the error type
// and reporter of a failure when they are not set.
func (r Result) MarshalJSON() ([]byte, error) {
	type plain Result
	p := plain(r)
	if p.Status == 0 {
		p.Status, p.ErrorType, p.ErrorMessage = 500, TypeRetryableError, MissingMessage
	}
	if r.OK() {
		p.ErrorType, p.ErrorMessage, p.ErrorReporter = "", "", ""
	} else {
		if p.ErrorType == "" {
			p.ErrorType = ErrorTypeFor(p.Status)
		}
		if p.ErrorReporter == "" {
			p.ErrorReporter = ReporterIntegrations
			if len(p.Sent) > 0 || len(p.Body) > 0 {
				p.ErrorReporter = ReporterDestination
			}
		}
	}
	if len(p.Sent) > 0 && !json.Valid(p.Sent) {
		p.Sent = mustJSONString(p.Sent)
	}
	if len(p.Body) > 0 && !json.Valid(p.Body) {
		p.Body = mustJSONString(p.Body)
	}
	return json.Marshal(p)
}

func mustJSONString(b []byte) json.RawMessage {
	s, _ := json.Marshal(string(b))
	return s
}

// ResultOf turns an error into the Result Segment would report:
//
//   - nil: 200;
//   - a *ValidationError: 400 PAYLOAD_VALIDATION_FAILED with its message;
//   - ErrNoMatch: 400 PAYLOAD_VALIDATION_FAILED with NoMatchMessage;
//   - ErrInvalidEvent: 400 PAYLOAD_VALIDATION_FAILED;
//   - a *DepthError: 400 PAYLOAD_VALIDATION_FAILED, "The event is nested
//     more than 10000 levels deep at byte offset N.";
//   - an *Error: its status, type and message;
//   - context deadline or cancellation: 408 SELF_TIMEOUT;
//   - anything else: 500 UNKNOWN_ERROR.
func ResultOf(err error) Result {
	if err == nil {
		return Result{Status: 200}
	}
	var ve *ValidationError
	var de *Error
	var depth *DepthError
	switch {
	case errors.As(err, &ve):
		return Result{Status: 400, ErrorType: TypePayloadValidationFailed, ErrorMessage: ve.Error(), ErrorReporter: ReporterIntegrations, Err: err}
	case errors.As(err, &depth):
		return Result{Status: 400, ErrorType: TypePayloadValidationFailed, ErrorMessage: "The event is " + depth.Error() + ".", ErrorReporter: ReporterIntegrations, Err: err}
	case errors.Is(err, ErrInvalidEvent):
		msg := "The event is not a JSON object."
		var se *checked.SyntaxError
		if errors.As(err, &se) {
			// Where and why, never the input's bytes.
			msg = "The event is not a JSON object: " + se.Error() + "."
		}
		return Result{Status: 400, ErrorType: TypePayloadValidationFailed, ErrorMessage: msg, ErrorReporter: ReporterIntegrations, Err: err}
	case errors.Is(err, ErrNoMatch):
		return Result{Status: 400, ErrorType: TypePayloadValidationFailed, ErrorMessage: NoMatchMessage, ErrorReporter: ReporterIntegrations, Err: err}
	case errors.As(err, &de):
		status := de.Status
		if status == 0 {
			status = 500
		}
		typ := de.Type
		if typ == "" {
			typ = ErrorTypeFor(status)
		}
		return Result{Status: status, ErrorType: typ, ErrorMessage: de.Error(), Err: err}
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, context.Canceled):
		return Result{Status: 408, ErrorType: TypeSelfTimeout, ErrorMessage: err.Error(), Err: err}
	}
	return Result{Status: 500, ErrorType: TypeUnknownError, ErrorMessage: err.Error(), Err: err}
}

// MultiStatus holds one Result per event of a batch, in input order: the
// multistatus of Segment's batch response. Results fail closed: each starts
// unset (status 0), which counts as a retryable failure until a writer sets
// it, so a writer that forgets an event never acknowledges it. One event's
// failure never changes another's result.
type MultiStatus struct {
	Results []Result
}

// NewMultiStatus returns a MultiStatus for n events, every result unset
// (a failure) until set.
func NewMultiStatus(n int) *MultiStatus {
	return &MultiStatus{Results: make([]Result, n)}
}

// Succeed sets the result of event i to 200.
func (m *MultiStatus) Succeed(i int) { m.Results[i] = Result{Status: 200} }

// Fail sets the result of event i from err (see ResultOf).
func (m *MultiStatus) Fail(i int, err error) { m.Results[i] = ResultOf(err) }

// Failed returns the number of events that were not delivered.
func (m *MultiStatus) Failed() int {
	n := 0
	for _, r := range m.Results {
		if !r.OK() {
			n++
		}
	}
	return n
}

// Err is the headline error: nil when every event was delivered, otherwise
// a *BatchError counting the failures and naming the first.
func (m *MultiStatus) Err() error {
	failed, first := 0, -1
	for i, r := range m.Results {
		if !r.OK() {
			failed++
			if first < 0 {
				first = i
			}
		}
	}
	if failed == 0 {
		return nil
	}
	return &BatchError{Failed: failed, Total: len(m.Results), First: first, FirstResult: m.Results[first]}
}

// BatchError is the headline error of a batch in which some events failed.
type BatchError struct {
	Failed, Total int
	First         int // index of the first failed event
	FirstResult   Result
}

func (e *BatchError) Error() string {
	return fmt.Sprintf("%d of %d events failed; the first, event %d: %d %s", e.Failed, e.Total, e.First, e.FirstResult.Status, e.FirstResult.ErrorMessage)
}

// Unwrap returns the first failure's error.
func (e *BatchError) Unwrap() error { return e.FirstResult.Err }

// MarshalJSON writes {"multistatus":[…]}, the element of Segment's batch
// response.
func (m *MultiStatus) MarshalJSON() ([]byte, error) {
	var b bytes.Buffer
	b.WriteString(`{"multistatus":[`)
	for i, r := range m.Results {
		if i > 0 {
			b.WriteByte(',')
		}
		j, err := r.MarshalJSON()
		if err != nil {
			return nil, fmt.Errorf("writing result %d: %w", i, err)
		}
		b.Write(j)
	}
	b.WriteString("]}")
	return b.Bytes(), nil
}
