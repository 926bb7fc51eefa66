package endpoint

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/binary"
	"errors"
	"fmt"
	"net/http"
	"sort"
	"strings"
	"unicode/utf8"

	"github.com/tidwall/gjson"

	"github.com/s2segment/s2segment/internal/lrucache"
)

// sinkCache keeps the committers of the sinks /send builds, one per
// destination configuration, least recently used first out. Keys are hashes,
// so no settings (and no password) stay in the cache's keys.
//
// A committer pushed out ends its linger, so requests still holding it have
// their events written at once, and leaves the committers Shutdown drains.
type sinkCache struct {
	actions Actions
	s       *Server
	lru     *lrucache.Cache[[32]byte, *committer]
}

func newSinkCache(maxEntries int, a Actions, s *Server) (*sinkCache, error) {
	c, err := lrucache.New[[32]byte](maxEntries, s.forget)
	if err != nil {
		return nil, fmt.Errorf("creating the sink cache: %w", err)
	}
	return &sinkCache{actions: a, s: s, lru: c}, nil
}

func cacheKey(settings, mapping []byte, subscription string) [32]byte {
	h := sha256.New()
	var n [8]byte
	for _, part := range [][]byte{settings, mapping, []byte(subscription)} {
		binary.BigEndian.PutUint64(n[:], uint64(len(part)))
		h.Write(n[:])
		h.Write(part)
	}
	var k [32]byte
	h.Sum(k[:0])
	return k
}

// get returns the committer for a configuration, building its Sink on a miss.
func (sc *sinkCache) get(settings, mapping []byte, subscription string) (*committer, error) {
	key := cacheKey(settings, mapping, subscription)
	if c, ok := sc.lru.Get(key); ok {
		return c, nil
	}

	sink, err := sc.actions.Sink(settings, mapping, subscription)
	if err != nil {
		return nil, err
	}
	if sink == nil {
		return nil, errors.New("the destination returned no sink for these settings")
	}

	// Built concurrently, the first one is kept.
	return sc.lru.GetOrMake(key, func() (*committer, error) { return sc.s.newCommitter(sink), nil })
}

func (sc *sinkCache) len() int { return sc.lru.Len() }

// authorized checks the Actions token, answering 401 when it is wrong.
func (s *Server) authorized(w *response, r *http.Request) bool {
	if s.cfg.ActionsToken == "" {
		return true
	}
	got, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	a, b := sha256.Sum256([]byte(got)), sha256.Sum256([]byte(s.cfg.ActionsToken))
	if ok && subtle.ConstantTimeCompare(a[:], b[:]) == 1 {
		return true
	}
	w.Header().Set("WWW-Authenticate", `Bearer realm="s2segment"`)
	s.fail(w, http.StatusUnauthorized, "missing or wrong bearer token")
	return false
}

// readObject reads a body that must be one JSON object.
func (s *Server) readObject(w *response, r *http.Request, route string) ([]byte, *lease) {
	body, l := s.readBody(w, r, route, s.cfg.MaxBodyBytes, http.StatusTooManyRequests, s.actBud)
	if body == nil {
		return nil, nil
	}
	if err := checkJSON(body); err != nil {
		l.release()
		s.fail(w, http.StatusBadRequest, err.Error())
		return nil, nil
	}
	if !gjson.Parse(view(body)).IsObject() {
		l.release()
		s.fail(w, http.StatusBadRequest, "the body must be a JSON object")
		return nil, nil
	}
	return body, l
}

// handleManifest serves GET /manifest: the destination definition.
func (s *Server) handleManifest(w *response, _ *http.Request) {
	writeJSON(w, http.StatusOK, s.actions.actions.Manifest())
}

// handleAuthenticate serves POST /authenticate, whose body is the settings
// object: {"ok":true}, or {"ok":false,"error":…,"fields":{…}}, both 200 as
// actions-cli answers.
func (s *Server) handleAuthenticate(w *response, r *http.Request) {
	if !s.authorized(w, r) {
		return
	}
	body, l := s.readObject(w, r, "authenticate")
	if body == nil {
		return
	}
	defer l.release()
	ctx, cancel := context.WithTimeout(r.Context(), s.cfg.SinkTimeout)
	defer cancel()
	err := s.actions.actions.Authenticate(ctx, body)
	if err == nil {
		writeJSON(w, http.StatusOK, []byte(`{"ok":true}`))
		return
	}
	w.reason = "authentication failed" // the message may quote the settings: not logged
	out := appendJSONString([]byte(`{"ok":false,"error":`), err.Error())
	out = appendFields(append(out, `,"fields":`...), err)
	writeJSON(w, http.StatusOK, append(out, '}'))
}

// appendFields appends the field messages of err (a FieldsError) as a JSON
// object, keys sorted; {} when it names no fields.
func appendFields(dst []byte, err error) []byte {
	var fe FieldsError
	if !errors.As(err, &fe) {
		return append(dst, "{}"...)
	}
	fields := fe.Fields()
	keys := make([]string, 0, len(fields))
	for k := range fields {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	dst = append(dst, '{')
	for i, k := range keys {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = append(appendJSONString(dst, k), ':')
		dst = appendJSONString(dst, fields[k])
	}
	return append(dst, '}')
}

// handleSend serves POST /send:
// {"payload": event | [event, …], "settings": {…}, "mapping": {…}, "subscription": "…"}.
// It answers {"multistatus":[node, …]}, one node per event in order: 200
// when every event has a final result, else a retryable status.
func (s *Server) handleSend(w *response, r *http.Request) {
	if !s.authorized(w, r) {
		return
	}
	body, l := s.readObject(w, r, "send")
	if body == nil {
		return
	}
	defer l.release()
	doc := view(body)
	got := gjson.GetMany(doc, "payload", "settings", "mapping", "subscription")
	payload, settings, mapping, sub := got[0], got[1], got[2], got[3]
	var items []gjson.Result
	switch {
	case payload.IsObject():
		items = []gjson.Result{payload}
	case payload.IsArray():
		payload.ForEach(func(_, v gjson.Result) bool {
			items = append(items, v)
			return len(items) <= s.cfg.MaxRequestEvents
		})
		if len(items) > s.cfg.MaxRequestEvents {
			s.bodyShapeError(w, errTooManyEvents)
			return
		}
	default:
		s.fail(w, http.StatusBadRequest, `"payload" must be an event object or an array of events`)
		return
	}
	settingsRaw := []byte("{}")
	switch {
	case settings.IsObject():
		settingsRaw = rawBytes(body, settings)
	case settings.Exists() && settings.Type != gjson.Null:
		s.fail(w, http.StatusBadRequest, `"settings" must be a JSON object`)
		return
	}
	var mappingRaw []byte
	switch {
	case mapping.IsObject():
		mappingRaw = rawBytes(body, mapping)
	case mapping.Exists() && mapping.Type != gjson.Null:
		s.fail(w, http.StatusBadRequest, `"mapping" must be a JSON object`)
		return
	}
	if sub.Exists() && sub.Type != gjson.String && sub.Type != gjson.Null {
		s.fail(w, http.StatusBadRequest, `"subscription" must be a string`)
		return
	}

	events, results, _ := s.itemEvents(body, items, func(i int) string { return fmt.Sprintf("payload[%d]", i) })
	w.events = len(items)
	c, err := s.actions.get(settingsRaw, mappingRaw, sub.Str)
	if err != nil {
		w.reason = "the destination configuration was refused"
		et := ""
		var typer errorTyper
		if errors.As(err, &typer) {
			et = typer.ErrorType()
		}
		for i := range results {
			if results[i].Status == 0 {
				results[i] = Result{Status: http.StatusBadRequest, ErrorType: et, Message: err.Error()}
			}
		}
	} else if err := s.deliver(r.Context(), c, events, results, l); err != nil {
		s.metrics.events.WithLabelValues("send", resultAbandoned).Add(float64(len(results)))
		w.reason = "the sender went away before the events were written"
		return
	}
	s.metrics.countResults("send", results)
	s.metrics.status.record("", "send", results)
	status, after := s.outcome(results, true)
	if status != http.StatusOK {
		w.Header().Set("Retry-After", retryAfterSeconds(after))
		w.reason = "some events failed and can be retried"
	}
	writeJSON(w, status, s.multiStatus(results))
}

// clippedMessage is how much of an error message each node keeps when the
// answer would pass its bound otherwise.
const clippedMessage = 120

// maxNodeBytes bounds a node with a clipped message: its status, error type
// (Segment's are short), message and reporter, JSON-escaped.
const maxNodeBytes = 6*clippedMessage + 200

// multiStatus returns the multistatus answer of results. It is at most
// MaxBodyBytes long when the nodes fit in it: past that they go without
// "sent" and "body" (which are optional), and if they still do not fit,
// with their error messages clipped to clippedMessage bytes, so the answer
// stays under MaxRequestEvents × maxNodeBytes whatever the payload. Each
// node keeps its status, error type and reporter.
func (s *Server) multiStatus(results []Result) []byte {
	out := appendMultiStatus(nil, results, true, 0)
	if int64(len(out)) <= s.cfg.MaxBodyBytes {
		return out
	}
	out = appendMultiStatus(out[:0], results, false, 0)
	if int64(len(out)) <= s.cfg.MaxBodyBytes {
		return out
	}
	return appendMultiStatus(out[:0], results, false, clippedMessage)
}

// appendMultiStatus appends {"multistatus":[…]} with Segment's node shapes:
// success {status, sent?, body?}; error {status, errortype, errormessage,
// sent?, body?, errorreporter}, the reporter being DESTINATION when the node
// carries what was sent or received, else INTEGRATIONS. Without withSent
// the nodes leave out sent and body; a positive clip cuts error messages to
// that many bytes (on a rune boundary, marked with "…").
func appendMultiStatus(dst []byte, results []Result, withSent bool, clip int) []byte {
	dst = append(dst, `{"multistatus":[`...)
	for i, r := range results {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = append(dst, `{"status":`...)
		dst = fmt.Appendf(dst, "%d", r.Status)
		if !r.OK() {
			et := r.ErrorType
			if et == "" {
				et = errorTypeFor(r.Status)
			}
			dst = append(dst, `,"errortype":`...)
			dst = appendJSONString(dst, et)
			dst = append(dst, `,"errormessage":`...)
			dst = appendJSONString(dst, clipMessage(r.Message, clip))
		}
		sent := withSent && reportable(r.Sent)
		body := withSent && reportable(r.Body)
		if sent {
			dst = append(append(dst, `,"sent":`...), r.Sent...)
		}
		if body {
			dst = append(append(dst, `,"body":`...), r.Body...)
		}
		if !r.OK() {
			if sent || body {
				dst = append(dst, `,"errorreporter":"DESTINATION"`...)
			} else {
				dst = append(dst, `,"errorreporter":"INTEGRATIONS"`...)
			}
		}
		dst = append(dst, '}')
	}
	return append(dst, "]}"...)
}

// clipMessage cuts msg to n bytes on a rune boundary, marking the cut; n <= 0
// keeps it whole.
func clipMessage(msg string, n int) string {
	if n <= 0 || len(msg) <= n {
		return msg
	}
	for n > 0 && !utf8.RuneStart(msg[n]) {
		n--
	}
	return msg[:n] + "…"
}

// reportable reports whether a node's sent or body value is one JSON value,
// the only kind a node carries: anything else (such as the raw bytes of an
// answer that was not the Data API's) is left out, never echoed.
func reportable(raw []byte) bool {
	return raw != nil && gjson.ValidBytes(raw)
}
