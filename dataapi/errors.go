package dataapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
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
	// read: not the JSON expected, too large, or a ping that is not "pong".
	ErrUnexpectedResponse = errors.New("unexpected response")
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
	switch {
	case e.StatusCode == http.StatusRequestEntityTooLarge,
		e.StatusCode == http.StatusBadRequest && strings.Contains(e.Message, tooLargeText):
		e.kind = ErrRequestTooLarge
	case e.StatusCode == http.StatusUnauthorized:
		e.kind = ErrUnauthorized
	case e.StatusCode == http.StatusForbidden:
		e.kind = ErrForbidden
	}
	return e
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
