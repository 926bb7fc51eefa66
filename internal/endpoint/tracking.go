package endpoint

import (
	"context"
	"crypto/sha256"
	"errors"
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
// the body within limit, and check that it is JSON (400). A request whose
// header names its source is read under that source's budget; one whose
// write key is in the body is read under the unauthenticated budget, and
// moves to its source's once the key is found (authenticate). It returns
// the source named by the header, if any; a nil body means the answer has
// been written. The caller releases l.
func (s *Server) readTracking(w *response, r *http.Request, route string, limit int64) (src *source, body []byte, l *lease) {
	src, fromHeader := s.headerSource(r)
	if fromHeader && src == nil {
		s.unauthorized(w, "invalid write key")
		return nil, nil, nil
	}
	b := s.unauth
	if src != nil {
		b = src.budget
		w.source = src.Name
	}
	body, l = s.readBody(w, r, route, limit, http.StatusTooManyRequests, b)
	if body == nil {
		return nil, nil, nil
	}
	if err := checkJSON(body); err != nil {
		l.release()
		s.fail(w, http.StatusBadRequest, err.Error())
		return nil, nil, nil
	}
	return src, body, l
}

// authenticate returns src when the header named it, else the source named
// by the body's write key, moving l to that source's budget; nil when the
// request has been answered (401, or overload).
func (s *Server) authenticate(w *response, route string, src *source, body []byte, l *lease) *source {
	if src == nil {
		if src = s.bodySource(w, body); src == nil {
			return nil
		}
	}
	w.source = src.Name
	if !s.admit(w, l, src.budget, route, http.StatusTooManyRequests) {
		return nil
	}
	return src
}

// handleEvent serves POST /v1/{typ}: one event per request.
func (s *Server) handleEvent(typ string) func(*response, *http.Request) {
	return func(w *response, r *http.Request) {
		src, body, l := s.readTracking(w, r, typ, s.cfg.MaxEventBytes)
		if body == nil {
			return
		}
		defer l.release()
		if !gjson.Parse(view(body)).IsObject() {
			s.fail(w, http.StatusBadRequest, "the body must be one event, a JSON object")
			return
		}
		if src = s.authenticate(w, typ, src, body, l); src == nil {
			return
		}
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
// integrations into each event as Segment does. A body that would expand past
// MaxExpandedBatchBytes is refused before any event is copied; the others are
// merged and written a group at a time (see batchEvents).
func (s *Server) handleBatch(route string) func(*response, *http.Request) {
	return func(w *response, r *http.Request) {
		src, body, l := s.readTracking(w, r, route, s.cfg.MaxBatchBytes)
		if body == nil {
			return
		}
		defer l.release()
		if src = s.authenticate(w, route, src, body, l); src == nil {
			return
		}
		if n, size := expansion(body); n > s.cfg.MaxRequestEvents {
			s.bodyShapeError(w, errTooManyEvents)
			return
		} else if s.cfg.MaxExpandedBatchBytes >= 0 && size > s.cfg.MaxExpandedBatchBytes {
			s.fail(w, http.StatusRequestEntityTooLarge, fmt.Sprintf("the batch's %d events would take up to %d bytes once its top-level context and integrations are merged into each; "+
				"the limit is %d: send the context inside the events, or fewer events per batch", n, size, s.cfg.MaxExpandedBatchBytes))
			return
		}
		results, err := s.batchEvents(r.Context(), src.c, body, l)
		var jerr *batchShapeError
		if errors.As(err, &jerr) {
			s.fail(w, http.StatusBadRequest, jerr.err.Error())
			return
		}
		s.answerEvents(w, route, results, err, true)
	}
}

// expansion returns the number of items of a batch body and a bound on the
// bytes they take once the top-level context and integrations are merged into
// each, counted without copying anything.
func expansion(body []byte) (n int, size int64) {
	got := gjson.GetMany(view(body), "batch.#", "context", "integrations")
	n = int(got[0].Int())
	per := int64(128) // the members editEvent may add, and separators
	for _, v := range got[1:] {
		if v.IsObject() {
			per += int64(len(v.Raw))
		}
	}
	return n, int64(len(body)) + int64(n)*per
}

// batchShapeError is a body that is not a batch.
type batchShapeError struct{ err error }

func (e *batchShapeError) Error() string { return e.err.Error() }

func (e *batchShapeError) Unwrap() error { return e.err }

// batchEvents expands, checks and writes the events of a batch body through
// c, and returns one result per item. An element that cannot be an event gets
// its final result here. The events are merged with the top-level context
// lazily, as the expansion reaches them, and handed to c in chunks of at most
// Group.MaxBytes (or the body's size, when larger) merged bytes: each chunk
// is written before the next is merged, so the merged copies held at once
// stay within one chunk whatever the expansion. The error is a
// *batchShapeError for a body that is not a batch, or the context's when the
// sender went away.
func (s *Server) batchEvents(ctx context.Context, c *committer, body []byte, l *lease) ([]Result, error) {
	edits := s.trackingEdits("")
	chunkLimit := max(s.cfg.maxBytes, int64(len(body)))
	var results []Result
	var chunk [][]byte
	var idx []int
	var size, copied int64
	flush := func() error {
		if len(chunk) == 0 {
			return nil
		}
		l.resize(int64(len(body)) + copied)
		got, err := c.write(ctx, chunk, size, l)
		if err != nil {
			return err
		}
		for j, i := range idx {
			results[i] = got[j]
		}
		clear(chunk)
		chunk, idx, size, copied = chunk[:0], idx[:0], 0, 0
		return nil
	}
	var sendErr error
	err := eventsource.ExpandBatch(body, func(ev eventsource.Event, evErr error) error {
		i := len(results)
		var res Result
		switch t := gjson.Get(view(ev.Data), "type"); {
		case evErr != nil:
			res = invalidEvent(evErr.Error())
		case int64(len(ev.Data)) > s.cfg.MaxEventBytes:
			res = tooLarge(i, len(ev.Data), s.cfg.MaxEventBytes)
		case t.Type != gjson.String || t.Str == "":
			res = invalidEvent(fmt.Sprintf(`element %d has no "type": every batch event needs one (track, identify, page, screen, group or alias)`, i))
		default:
			out := editEvent(ev.Data, edits)
			if !sameBytes(out, ev.Data) || !within(ev.Data, body) {
				copied += int64(len(out))
			}
			if size > 0 && size+int64(len(out)) > chunkLimit {
				if sendErr = flush(); sendErr != nil {
					return sendErr
				}
			}
			chunk = append(chunk, out)
			idx = append(idx, i)
			size += int64(len(out))
		}
		results = append(results, res)
		return nil
	})
	switch {
	case sendErr != nil:
		return results, sendErr
	case err != nil:
		return nil, &batchShapeError{err: err}
	}
	if err := flush(); err != nil {
		return results, err
	}
	return results, nil
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
