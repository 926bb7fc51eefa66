package endpoint

import (
	"crypto/hmac"
	"crypto/sha1"
	"encoding/hex"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/tidwall/gjson"
)

// SignatureHeader is the header of a webhook's signature.
const SignatureHeader = "X-Signature"

// TimestampHeader is the header of a webhook's signing time, in Unix
// seconds. When a webhook carries it, the signature covers it (see
// SignTimestamp); a source with a WebhookTolerance requires it.
const TimestampHeader = "X-Signature-Timestamp"

// Sign returns the X-Signature of a webhook body sent without
// X-Signature-Timestamp: the lowercase hex HMAC-SHA1 of the whole raw body,
// byte for byte as sent, under the shared secret. For an array of events the
// whole array is covered, so no element can be added, removed or changed.
func Sign(secret, body []byte) string {
	return sign(secret, body)
}

// SignTimestamp returns the X-Signature of a webhook body sent with
// "X-Signature-Timestamp: ts" (ts in decimal Unix seconds, as
// strconv.FormatInt(t.Unix(), 10) writes it): the lowercase hex HMAC-SHA1,
// under the shared secret, of the bytes of ts, a ".", and the whole raw
// body. A receiver with a WebhookTolerance refuses it once ts is further
// than the tolerance from its clock, so a captured request cannot be
// replayed later.
func SignTimestamp(secret []byte, ts string, body []byte) string {
	return sign(secret, []byte(ts), []byte{'.'}, body)
}

func sign(secret []byte, parts ...[]byte) string {
	return hex.EncodeToString(mac(secret, parts...))
}

func mac(secret []byte, parts ...[]byte) []byte {
	m := hmac.New(sha1.New, secret)
	for _, p := range parts {
		m.Write(p)
	}
	return m.Sum(nil)
}

// verify reports whether sig (hex, any case) is the signature of the
// concatenated parts, comparing in constant time.
func verify(secret []byte, sig string, parts ...[]byte) bool {
	got, err := hex.DecodeString(strings.TrimSpace(sig))
	if err != nil {
		return false
	}
	return hmac.Equal(got, mac(secret, parts...))
}

// firstElement returns the raw bytes of element 0 of body when body is a
// JSON array, as sent, and nil otherwise. Only element 0 is scanned.
func firstElement(body []byte) []byte {
	start := 0
	for start < len(body) && isSpace(body[start]) {
		start++
	}
	if start == len(body) || body[start] != '[' {
		return nil
	}
	first := gjson.Get(view(body), "0")
	if !first.Exists() {
		return nil
	}
	return rawBytes(body, first)
}

// signed reports whether sig authenticates body for src: the HMAC of the
// timestamp and the body when ts is set, else of the whole body, else, for a
// source that allows it, of an array's first element.
func (src *source) signed(body []byte, sig, ts string) bool {
	if ts != "" {
		return verify(src.secret, sig, []byte(ts), []byte{'.'}, body)
	}
	if verify(src.secret, sig, body) {
		return true
	}
	if src.WebhookFirstElementSignature {
		if first := firstElement(body); first != nil {
			return verify(src.secret, sig, first)
		}
	}
	return false
}

// checkTimestamp checks a webhook's X-Signature-Timestamp against the
// source's tolerance before the body is read; it returns why it refuses.
func (src *source) checkTimestamp(ts string, now time.Time) string {
	if ts == "" {
		if src.WebhookTolerance > 0 {
			return "missing " + TimestampHeader + " header: this source requires timestamped signatures"
		}
		return ""
	}
	sec, err := strconv.ParseInt(ts, 10, 64)
	if err != nil || sec < 0 {
		return TimestampHeader + " must be the signing time in decimal Unix seconds"
	}
	if tol := src.WebhookTolerance; tol > 0 {
		d := now.Sub(time.Unix(sec, 0))
		if d < -tol || d > tol {
			return fmt.Sprintf("%s is %v from the server's clock; this source accepts at most %v", TimestampHeader, d.Round(time.Second), tol)
		}
	}
	return ""
}

// webhookBody splits a webhook body (already checked to be JSON and
// authenticated) into its events: one event object (single), or the
// elements of an array, at most maxEvents of them.
func webhookBody(body []byte, maxEvents int) (events []gjson.Result, single bool, err error) {
	start, end := 0, len(body)
	for start < end && isSpace(body[start]) {
		start++
	}
	for end > start && isSpace(body[end-1]) {
		end--
	}
	if start == end {
		return nil, false, &JSONError{Offset: 0, Reason: "empty body: expected an event object or an array of events"}
	}
	v := gjson.Result{Type: gjson.JSON, Raw: view(body[start:end]), Index: start}
	switch body[start] {
	case '{':
		return []gjson.Result{v}, true, nil
	case '[':
		v.ForEach(func(_, e gjson.Result) bool {
			events = append(events, e)
			return len(events) <= maxEvents
		})
		if len(events) > maxEvents {
			return nil, false, errTooManyEvents
		}
		return events, false, nil
	}
	return nil, false, &JSONError{Offset: int64(start), Reason: "expected an event object or an array of events"}
}

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

// handleWebhook serves POST /webhook/{source} and, in single-source mode,
// POST /webhook: one event object, or an array of events, signed with the
// source's shared secret. The signature is checked over the raw body before
// anything in it is parsed, and the body is read under the unauthenticated
// budget until then.
func (s *Server) handleWebhook(w *response, r *http.Request) {
	src := s.single
	if name := r.PathValue("source"); name != "" {
		src = s.sources[name]
	}
	if src == nil || src.secret == nil {
		s.fail(w, http.StatusNotFound, "no webhook source at this address")
		return
	}
	w.source = src.Name
	sig := r.Header.Get(SignatureHeader)
	if sig == "" {
		s.fail(w, http.StatusUnauthorized, "missing "+SignatureHeader+" header: webhooks must be signed with the source's shared secret")
		return
	}
	ts := r.Header.Get(TimestampHeader)
	if msg := src.checkTimestamp(ts, s.now()); msg != "" {
		s.fail(w, http.StatusUnauthorized, msg)
		return
	}
	// Classic webhooks retry 5xx only, so overload is a 503 here.
	body, l := s.readBody(w, r, "webhook", s.cfg.MaxBodyBytes, http.StatusServiceUnavailable, s.unauth)
	if body == nil {
		return
	}
	defer l.release()
	if !src.signed(body, sig, ts) {
		s.fail(w, http.StatusUnauthorized, SignatureHeader+" does not match the body")
		return
	}
	if !s.admit(w, l, src.budget, "webhook", http.StatusServiceUnavailable) {
		return
	}
	if err := checkJSON(body); err != nil {
		s.fail(w, http.StatusBadRequest, err.Error())
		return
	}
	items, single, err := webhookBody(body, s.cfg.MaxRequestEvents)
	if err != nil {
		s.bodyShapeError(w, err)
		return
	}
	if single && int64(len(items[0].Raw)) > s.cfg.MaxEventBytes {
		s.fail(w, http.StatusRequestEntityTooLarge, fmt.Sprintf("the event is %d bytes; the limit is %d", len(items[0].Raw), s.cfg.MaxEventBytes))
		return
	}
	events, results, utf8Err := s.itemEvents(body, items, func(i int) string { return fmt.Sprintf("element %d", i) })
	if single && utf8Err != nil { // one event: the request fails, as for the Tracking API
		s.fail(w, http.StatusBadRequest, utf8Err.Error())
		return
	}
	err = s.deliver(r.Context(), src.c, events, results, l)
	s.answerEvents(w, "webhook", results, err, false)
}
