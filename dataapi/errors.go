package dataapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Sentinels for the states a caller acts on; a [*APIError] matches them with
// errors.Is.
var (
	// ErrRequestTooLarge matches an answer that refuses the request body as
	// too large: 413, or 400 "request body too large".
	ErrRequestTooLarge = errors.New("request body too large")
	// ErrUnauthorized matches a 401: the user or password is wrong.
	ErrUnauthorized = errors.New("unauthorized")
	// ErrForbidden matches a 403: the user lacks a privilege.
	ErrForbidden = errors.New("forbidden")
	// ErrUnexpectedResponse is wrapped when a successful answer cannot be
	// read: not the JSON expected, an exec answer without rowsAffected, too
	// large, or a ping that is not "pong".
	ErrUnexpectedResponse = errors.New("unexpected response")
	// ErrMissingTable matches errno 1146: the table does not exist.
	ErrMissingTable = errors.New("table does not exist")
	// ErrUnknownDatabase matches errno 1049: the database does not exist.
	ErrUnknownDatabase = errors.New("unknown database")
)

// APIError is a request the Data API answered with a failure.
type APIError struct {
	// Path is the endpoint, such as "/api/v2/exec".
	Path string
	// StatusCode is the HTTP status; 200 for an error object in a 200 answer.
	StatusCode int
	// Errno is the MySQL error number from a body like
	// "Error 1146 (42S02): …"; 0 when the body has none.
	Errno int
	// SQLState is the SQLSTATE from such a body; "" when absent.
	SQLState string
	// Message is the server's message (after "Error NNNN (SSSSS): "), with
	// any credentials removed; the status text when the body is empty.
	Message string
	// Retryable says whether the same request may succeed later: 408, 429
	// and 5xx other than 501 and 505 (see RetryableStatus).
	Retryable bool
	// Attempts is how many attempts the call made.
	Attempts int

	kind error // the sentinel the error matches, if any
}

// Error describes the failure, e.g. "dataapi: /api/v2/exec: 400 Bad Request:
// Error 1146 (42S02): Table 'db.t' doesn't exist".
func (e *APIError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "dataapi: %s: %d %s: ", e.Path, e.StatusCode, http.StatusText(e.StatusCode))
	if e.Errno != 0 {
		fmt.Fprintf(&b, "Error %d", e.Errno)
		if e.SQLState != "" {
			fmt.Fprintf(&b, " (%s)", e.SQLState)
		}
		b.WriteString(": ")
	}
	b.WriteString(e.Message)
	if e.Attempts > 1 {
		fmt.Fprintf(&b, " (after %d attempts)", e.Attempts)
	}
	return b.String()
}

// Is reports whether the error is in the state target names:
// ErrRequestTooLarge, ErrUnauthorized or ErrForbidden.
func (e *APIError) Is(target error) bool { return e.kind != nil && target == e.kind }

// RetryableStatus reports whether an answer with this HTTP status may
// succeed if sent again later: 408, 429, and 5xx except 501 (Not
// Implemented) and 505 (HTTP Version Not Supported).
func RetryableStatus(status int) bool {
	switch {
	case status == http.StatusRequestTimeout, status == http.StatusTooManyRequests:
		return true
	case status == http.StatusNotImplemented, status == http.StatusHTTPVersionNotSupported:
		return false
	default:
		return status >= 500 && status <= 599
	}
}

// tooLargeText is what Go's http.MaxBytesReader says, which the Data API
// passes on in a 400 body: "Error reading request body: http: request body
// too large".
const tooLargeText = "request body too large"

// apiError builds the error of an unsuccessful answer.
func (c *Client) apiError(path string, ans *answer, attempts int) *APIError {
	e := &APIError{Path: path, StatusCode: ans.resp.StatusCode, Attempts: attempts,
		Retryable: RetryableStatus(ans.resp.StatusCode)}
	e.Errno, e.SQLState, e.Message = parseErrorBody(ans.body)
	if e.Message == "" {
		e.Message = http.StatusText(e.StatusCode)
	}
	e.Message = c.redact(e.Message)
	tooLarge := e.StatusCode == http.StatusRequestEntityTooLarge ||
		e.StatusCode == http.StatusBadRequest && strings.Contains(e.Message, tooLargeText)
	if e.Errno == 0 && !tooLarge && !plainMessage(ans.resp.Header.Get("Content-Type"), e.Message) {
		// Not the Data API's words (an HTML page from a proxy, binary
		// bytes): say what came, never pass the bytes on.
		e.Message = foreignBody(ans.resp.Header.Get("Content-Type"), len(ans.body))
	}
	switch {
	case tooLarge:
		e.kind = ErrRequestTooLarge
	case e.StatusCode == http.StatusUnauthorized, e.Errno == 1045:
		e.kind = ErrUnauthorized
	case e.StatusCode == http.StatusForbidden, e.Errno == 1044, e.Errno == 1142, e.Errno == 1227:
		e.kind = ErrForbidden
	case e.Errno == 1146:
		e.kind = ErrMissingTable
	case e.Errno == 1049:
		e.kind = ErrUnknownDatabase
	}
	return e
}

// maxPlainMessage bounds a message kept from a body that is not in the
// Data API's "Error NNNN: …" form.
const maxPlainMessage = 512

// plainMessage reports whether msg, from a body of the given content type
// that is not in the Data API's error form, reads as the server's own short
// text message (the Data API answers bare strings): one line of at most
// maxPlainMessage printable characters, not HTML, XML or JSON.
func plainMessage(contentType, msg string) bool {
	ct := strings.ToLower(contentType)
	if strings.Contains(ct, "html") || strings.Contains(ct, "xml") || strings.Contains(ct, "json") {
		return false
	}
	if len(msg) > maxPlainMessage || strings.HasPrefix(msg, "<") || strings.HasPrefix(msg, "{") || strings.HasPrefix(msg, "[") {
		return false
	}
	for _, r := range msg {
		if r == utf8.RuneError || r < 0x20 && r != '\t' || r == 0x7f {
			return false
		}
	}
	return true
}

// foreignBody describes an error body that is not the Data API's.
func foreignBody(contentType string, n int) string {
	if contentType == "" {
		contentType = "no content type"
	}
	return fmt.Sprintf("the answer is not the Data API's (%d bytes, %s)", n, contentType)
}

// SetupFault reports whether err is a failure of the Data API's set-up
// rather than of the request's values or of a passing fault, one that the
// same request will meet again until someone fixes the set-up:
//
//   - credentials or privileges refused (ErrUnauthorized, ErrForbidden);
//   - a missing database or table (ErrUnknownDatabase, ErrMissingTable);
//   - an answer that is not the Data API's: ErrUnexpectedResponse (a 200
//     "{}", HTML), or an error answer that is neither retryable nor carries
//     a MySQL error number (an HTML 400 or 404 from a proxy, a 404 for a
//     wrong path);
//   - a server certificate that cannot be verified, or https spoken to a
//     plain-HTTP server.
//
// Too-large answers (ErrRequestTooLarge) are not set-up faults. A caller
// holding events should keep them (answer their senders with a retryable
// status) and report the fault, rather than drop them as invalid.
func SetupFault(err error) bool {
	if err == nil || errors.Is(err, ErrRequestTooLarge) {
		return false
	}
	switch {
	case errors.Is(err, ErrUnauthorized), errors.Is(err, ErrForbidden),
		errors.Is(err, ErrMissingTable), errors.Is(err, ErrUnknownDatabase),
		errors.Is(err, ErrUnexpectedResponse):
		return true
	}
	var ae *APIError
	if errors.As(err, &ae) {
		return !ae.Retryable && ae.Errno == 0
	}
	return certificateFault(err)
}

// valueErrnos are the MySQL errors that refuse a value for itself, whatever
// the table's character set: too long, out of range, not a date, not JSON,
// a failed CHECK (MariaDB's JSON_VALID on JSON columns).
var valueErrnos = map[int]bool{1406: true, 1264: true, 1292: true, 1367: true, 3140: true, 4025: true}

// ValueFault reports whether err refuses a row for one of its own values:
// a row-level error (see RowLevel) whose MySQL error number is one of
// valueErrnos, or whose SQLSTATE is a data exception (class 22) other than
// errno 1366. Errno 1366 (incorrect string value) and 1048 (a column that
// cannot be NULL) are row-level but not the value's fault: a table whose
// character set cannot store 4-byte UTF-8, or whose columns differ from the
// ones written, refuses good values; they are set-up problems for check to
// report.
func ValueFault(err error) bool {
	if !RowLevel(err) {
		return false
	}
	var ae *APIError
	errors.As(err, &ae)
	switch {
	case ae.Errno == 1366, ae.Errno == 1048:
		return false
	case valueErrnos[ae.Errno]:
		return true
	}
	return strings.HasPrefix(ae.SQLState, "22")
}

// maxMessage bounds the message kept from an error body.
const maxMessage = 2048

// parseErrorBody reads a Data API error body. Bodies are text such as
// "Error 1146 (42S02): Table 'db.t' doesn't exist" or "Error 1064: …"
// (anything between the number and the first colon is skipped, as the
// SingleStore Python client does); a JSON {"error":{"code":N,"message":…}}
// body is read too. Anything else is kept whole as the message, trimmed and
// cut to maxMessage bytes.
func parseErrorBody(body []byte) (errno int, sqlState, message string) {
	body = bytes.TrimSpace(body)
	if len(body) > 0 && body[0] == '{' {
		var obj struct {
			Error *struct {
				Code    int    `json:"code"`
				Message string `json:"message"`
			} `json:"error"`
		}
		if json.Unmarshal(body, &obj) == nil && obj.Error != nil {
			return obj.Error.Code, "", clip(strings.TrimSpace(obj.Error.Message))
		}
	}
	s := string(body)
	rest, ok := strings.CutPrefix(s, "Error")
	if !ok || rest == "" || (rest[0] != ' ' && rest[0] != '\t') {
		return 0, "", clip(s)
	}
	rest = strings.TrimLeft(rest, " \t")
	n := 0
	for n < len(rest) && n < 9 && rest[n] >= '0' && rest[n] <= '9' {
		n++
	}
	head, msg, ok := strings.Cut(rest[n:], ":")
	if n == 0 || !ok {
		return 0, "", clip(s)
	}
	errno, _ = strconv.Atoi(rest[:n])
	head = strings.TrimSpace(head)
	if len(head) == 7 && head[0] == '(' && head[6] == ')' && isSQLState(head[1:6]) {
		sqlState = head[1:6]
	}
	return errno, sqlState, clip(strings.TrimSpace(msg))
}

func isSQLState(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= '0' && c <= '9' || c >= 'A' && c <= 'Z') {
			return false
		}
	}
	return true
}

// clip cuts s to maxMessage bytes, on a rune boundary.
func clip(s string) string {
	if len(s) <= maxMessage {
		return s
	}
	cut := maxMessage
	for cut > 0 && s[cut]&0xC0 == 0x80 {
		cut--
	}
	return s[:cut] + "…"
}
