package endpoint

import (
	"crypto/sha256"
	"fmt"
	"net/http"

	"github.com/s2segment/s2segment/internal/eventsource"
	"github.com/tidwall/gjson"
)

// receivedAtLayout is how the server writes receivedAt and a missing
// timestamp: RFC 3339 in UTC with milliseconds, as Segment does.
const receivedAtLayout = "2006-01-02T15:04:05.000Z07:00"

// headerSource returns the source named by a Basic Authorization header
// (write key as the user name) and whether such a header was sent; the
// source is nil when the key is wrong.
func (s *Server) headerSource(r *http.Request) (*source, bool) {
	user, _, ok := r.BasicAuth()
	if !ok {
		return nil, false
	}
	return s.byKey[sha256.Sum256([]byte(user))], true
}

// bodySource returns the source named by the body's "writeKey", or answers 401.
func (s *Server) bodySource(w *response, body []byte) *source {
	k := gjson.Get(view(body), "writeKey")
	if k.Type != gjson.String || k.Str == "" {
		s.unauthorized(w, "missing write key: send it as the user name of Basic auth or as \"writeKey\" in the body")
		return nil
	}
	src := s.byKey[sha256.Sum256([]byte(k.Str))]
	if src == nil {
		s.unauthorized(w, "invalid write key")
	}
	return src
}

func (s *Server) unauthorized(w *response, msg string) {
	w.Header().Set("WWW-Authenticate", `Basic realm="s2segment"`)
	s.fail(w, http.StatusUnauthorized, msg)
}

func (s *Server) trackingEdits(typ string) *eventEdits {
	return &eventEdits{
		typ:        typ,
		fill:       true,
		receivedAt: s.now().UTC().Format(receivedAtLayout),
		messageID:  s.newID,
	}
}

// readTracking does what every Tracking API route does first: refuse a
// write key in the Authorization header that names no source (401), read
// the body within limit, and check that it is JSON (400). It returns the
// source named by the header, if any, and whether the header named one; a
// nil body means the answer has been written. The caller releases l.
func (s *Server) readTracking(w *response, r *http.Request, route string, limit int64) (src *source, fromHeader bool, body []byte, l *lease) {
	src, fromHeader = s.headerSource(r)
	if fromHeader && src == nil {
		s.unauthorized(w, "invalid write key")
		return nil, fromHeader, nil, nil
	}
	body, l = s.readBody(w, r, route, limit, http.StatusTooManyRequests)
	if body == nil {
		return nil, fromHeader, nil, nil
	}
	if err := checkJSON(body); err != nil {
		l.release()
		s.fail(w, http.StatusBadRequest, err.Error())
		return nil, fromHeader, nil, nil
	}
	return src, fromHeader, body, l
}

// handleEvent serves POST /v1/{typ}: one event per request.
func (s *Server) handleEvent(typ string) func(*response, *http.Request) {
	return func(w *response, r *http.Request) {
		src, fromHeader, body, l := s.readTracking(w, r, typ, s.cfg.MaxEventBytes)
		if body == nil {
			return
		}
		defer l.release()
		if !gjson.Parse(view(body)).IsObject() {
			s.fail(w, http.StatusBadRequest, "the body must be one event, a JSON object")
			return
		}
		if !fromHeader {
			if src = s.bodySource(w, body); src == nil {
				return
			}
		}
		w.source = src.Name
		if err := checkUTF8(body, 0); err != nil {
			s.fail(w, http.StatusBadRequest, err.Error())
			return
		}
		ev := editEvent(body, s.trackingEdits(typ))
		if !sameBytes(ev, body) {
			l.resize(int64(len(body) + len(ev)))
		}
		results := make([]Result, 1)
		err := s.deliver(r.Context(), src.c, [][]byte{ev}, results, l)
		s.answerEvents(w, typ, results, err, true)
	}
}

// handleBatch serves POST /v1/batch and /v1/import:
// {"batch":[event, …], "context":{…}, "integrations":{…}}. The batch is
// expanded by eventsource.ExpandBatch, which merges the top-level context and
// integrations into each event as Segment does.
func (s *Server) handleBatch(route string) func(*response, *http.Request) {
	return func(w *response, r *http.Request) {
		src, fromHeader, body, l := s.readTracking(w, r, route, s.cfg.MaxBatchBytes)
		if body == nil {
			return
		}
		defer l.release()
		if !fromHeader {
			if src = s.bodySource(w, body); src == nil {
				return
			}
		}
		w.source = src.Name
		events, results, edited, err := s.batchEvents(body)
		if err != nil {
			s.fail(w, http.StatusBadRequest, err.Error())
			return
		}
		l.resize(int64(len(body) + edited))
		err = s.deliver(r.Context(), src.c, events, results, l)
		s.answerEvents(w, route, results, err, true)
	}
}

// batchEvents expands and checks the events of a batch body. An element that
// cannot be an event gets its final result here and a nil event. edited
// counts the bytes of the events rewritten into new memory. The error is for
// a body that is not a batch.
func (s *Server) batchEvents(body []byte) (events [][]byte, results []Result, edited int, err error) {
	edits := s.trackingEdits("")
	err = eventsource.ExpandBatch(body, func(ev eventsource.Event, evErr error) error {
		i := len(events)
		var out []byte
		var res Result
		switch t := gjson.Get(view(ev.Data), "type"); {
		case evErr != nil:
			res = invalidEvent(evErr.Error())
		case int64(len(ev.Data)) > s.cfg.MaxEventBytes:
			res = tooLarge(i, len(ev.Data), s.cfg.MaxEventBytes)
		case t.Type != gjson.String || t.Str == "":
			res = invalidEvent(fmt.Sprintf(`element %d has no "type": every batch event needs one (track, identify, page, screen, group or alias)`, i))
		default:
			out = editEvent(ev.Data, edits)
			if !sameBytes(out, ev.Data) || !within(ev.Data, body) {
				edited += len(out)
			}
		}
		events = append(events, out)
		results = append(results, res)
		return nil
	})
	return events, results, edited, err
}

func invalidEvent(msg string) Result {
	return Result{Status: http.StatusBadRequest, ErrorType: "PAYLOAD_VALIDATION_FAILED", Message: msg}
}

func tooLarge(i, n int, limit int64) Result {
	return Result{Status: http.StatusRequestEntityTooLarge, ErrorType: "PAYLOAD_TOO_LARGE",
		Message: fmt.Sprintf("event %d is %d bytes; the limit is %d", i, n, limit)}
}

func jsonKind(r gjson.Result) string {
	switch {
	case r.IsArray():
		return "an array"
	case r.Type == gjson.String:
		return "a string"
	case r.Type == gjson.Number:
		return "a number"
	case r.Type == gjson.True || r.Type == gjson.False:
		return "a boolean"
	case r.Type == gjson.Null:
		return "null"
	}
	return "a JSON value"
}
