package endpoint

import (
	"crypto/hmac"
	"crypto/sha1"
	"encoding/hex"
	"fmt"
	"net/http"
	"strings"

	"github.com/tidwall/gjson"
)

// SignatureHeader is the header of a webhook's signature.
const SignatureHeader = "X-Signature"

// Sign returns the X-Signature of a webhook body as Segment computes it: the
// lowercase hex HMAC-SHA1 of the signed bytes under the shared secret. The
// signed bytes are the whole body for one event, and only the first element
// for an array of events, exactly as sent.
func Sign(secret, signed []byte) string {
	mac := hmac.New(sha1.New, secret)
	mac.Write(signed)
	return hex.EncodeToString(mac.Sum(nil))
}

// verify reports whether sig (hex, any case) is the signature of signed,
// comparing in constant time.
func verify(secret, signed []byte, sig string) bool {
	got, err := hex.DecodeString(strings.TrimSpace(sig))
	if err != nil {
		return false
	}
	mac := hmac.New(sha1.New, secret)
	mac.Write(signed)
	return hmac.Equal(got, mac.Sum(nil))
}

// webhookBody splits a webhook body (already checked to be JSON) into its
// events and the bytes its signature covers: for one event object (single)
// the whole body, for an array the raw bytes of element 0 as sent (the whole
// body when the array is empty).
func webhookBody(body []byte) (events []gjson.Result, signed []byte, single bool, err error) {
	start, end := 0, len(body)
	for start < end && isSpace(body[start]) {
		start++
	}
	for end > start && isSpace(body[end-1]) {
		end--
	}
	if start == end {
		return nil, nil, false, &JSONError{Offset: 0, Reason: "empty body: expected an event object or an array of events"}
	}
	v := gjson.Result{Type: gjson.JSON, Raw: view(body[start:end]), Index: start}
	switch body[start] {
	case '{':
		return []gjson.Result{v}, body, true, nil
	case '[':
		v.ForEach(func(_, e gjson.Result) bool {
			events = append(events, e)
			return true
		})
		if len(events) == 0 {
			return nil, body, false, nil
		}
		return events, rawBytes(body, events[0]), false, nil
	}
	return nil, nil, false, &JSONError{Offset: int64(start), Reason: "expected an event object or an array of events"}
}

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

// handleWebhook serves POST /webhook/{source} and, in single-source mode,
// POST /webhook: one event object, or an array of events, signed with the
// source's shared secret.
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
	// Classic webhooks retry 5xx only, so overload is a 503 here.
	body, l := s.readBody(w, r, "webhook", s.cfg.MaxBodyBytes, http.StatusServiceUnavailable)
	if body == nil {
		return
	}
	defer l.release()
	if err := checkJSON(body); err != nil {
		s.fail(w, http.StatusBadRequest, err.Error())
		return
	}
	items, signed, single, err := webhookBody(body)
	if err != nil {
		s.fail(w, http.StatusBadRequest, err.Error())
		return
	}
	if !verify(src.secret, signed, sig) {
		s.fail(w, http.StatusUnauthorized, SignatureHeader+" does not match the body")
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
