package dataapi

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

func TestRetryableStatus(t *testing.T) {
	for code := 100; code < 600; code++ {
		want := code == 408 || code == 429 || code >= 500 && code != 501 && code != 505
		assert.Equal(t, want, RetryableStatus(code), "status %d", code)
	}
}

func TestDefaultRetryPolicy(t *testing.T) {
	ctx := context.Background()
	done, cancel := context.WithCancel(ctx)
	cancel()
	tests := []struct {
		name string
		ctx  context.Context
		code int
		err  error
		want bool
	}{
		{"429", ctx, 429, nil, true},
		{"503", ctx, 503, nil, true},
		{"501", ctx, 501, nil, false},
		{"505", ctx, 505, nil, false},
		{"400", ctx, 400, nil, false},
		{"413", ctx, 413, nil, false},
		{"423", ctx, 423, nil, false},
		{"200", ctx, 200, nil, false},
		{"reset", ctx, 0, fmt.Errorf("post: %w", io.ErrUnexpectedEOF), true},
		{"timeout", ctx, 0, context.DeadlineExceeded, true},
		{"unknown CA", ctx, 0, fmt.Errorf("post: %w", x509.UnknownAuthorityError{}), false},
		{"hostname", ctx, 0, fmt.Errorf("post: %w", x509.HostnameError{}), false},
		{"unreadable answer", ctx, 0, fmt.Errorf("x: %w", ErrUnexpectedResponse), false},
		{"cancelled", done, 503, nil, false},
		{"cancelled transport", done, 0, errors.New("reset"), false},
	}
	for _, tc := range tests {
		var resp *http.Response
		if tc.code != 0 {
			resp = &http.Response{StatusCode: tc.code}
		}
		assert.Equal(t, tc.want, DefaultRetryPolicy(tc.ctx, resp, tc.err), tc.name)
	}
}

func TestBackoff(t *testing.T) {
	base, maxWait := 100*time.Millisecond, 2*time.Second
	tests := []struct {
		attempt int
		jitter  float64
		want    time.Duration
	}{
		{1, 0.5, 50 * time.Millisecond},
		{2, 0.5, 100 * time.Millisecond},
		{3, 0.999, 399600 * time.Microsecond},
		{5, 1, 1600 * time.Millisecond},
		{6, 1, 2 * time.Second}, // capped
		{1000, 0.5, time.Second},
		{0, 1, 100 * time.Millisecond},
		{4, 0, 0},
	}
	for _, tc := range tests {
		assert.Equal(t, tc.want, Backoff(base, maxWait, tc.attempt, tc.jitter), "attempt %d jitter %v", tc.attempt, tc.jitter)
	}
}

func TestRetryAfter(t *testing.T) {
	now := time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		header string
		want   time.Duration
		ok     bool
	}{
		{"2", 2 * time.Second, true},
		{" 120 ", 2 * time.Minute, true},
		{"0", 0, true},
		{"Sun, 01 Jun 2025 12:00:30 GMT", 30 * time.Second, true},
		{"Sunday, 01-Jun-25 12:01:00 GMT", time.Minute, true},
		{"Sun, 01 Jun 2025 11:00:00 GMT", 0, true}, // in the past
		{"", 0, false},
		{"-2", 0, false},
		{"soon", 0, false},
		{"1.5", 0, false},
	}
	for _, tc := range tests {
		resp := &http.Response{Header: http.Header{}}
		if tc.header != "" {
			resp.Header.Set("Retry-After", tc.header)
		}
		d, ok := RetryAfter(resp, now)
		assert.Equal(t, tc.ok, ok, "%q", tc.header)
		assert.Equal(t, tc.want, d, "%q", tc.header)
	}
	_, ok := RetryAfter(nil, now)
	assert.False(t, ok)
}

func TestParseErrorBody(t *testing.T) {
	tests := []struct {
		body     string
		errno    int
		sqlState string
		message  string
	}{
		{"Error 1146 (42S02): Table 'db.t' doesn't exist", 1146, "42S02", "Table 'db.t' doesn't exist"},
		{"Error 1064: You have an error in your SQL syntax: near 'x'\n", 1064, "", "You have an error in your SQL syntax: near 'x'"},
		{"Error  1045 (28000) : Access denied", 1045, "28000", "Access denied"},
		{"Error 2205 (HY000) something: Leaf Error: partitions offline", 2205, "", "Leaf Error: partitions offline"},
		{"Error reading request body: http: request body too large", 0, "", "Error reading request body: http: request body too large"},
		{"Error: no number", 0, "", "Error: no number"},
		{"Errors 12: x", 0, "", "Errors 12: x"},
		{"Error 12 no colon", 0, "", "Error 12 no colon"},
		{`{"error":{"code":1062,"message":"Duplicate entry"}}`, 1062, "", "Duplicate entry"},
		{`{"other":1}`, 0, "", `{"other":1}`},
		{"  Database error  ", 0, "", "Database error"},
		{"", 0, "", ""},
	}
	for _, tc := range tests {
		errno, state, msg := parseErrorBody([]byte(tc.body))
		assert.Equal(t, tc.errno, errno, "%q", tc.body)
		assert.Equal(t, tc.sqlState, state, "%q", tc.body)
		assert.Equal(t, tc.message, msg, "%q", tc.body)
	}
	long := strings.Repeat("é", maxMessage)
	_, _, msg := parseErrorBody([]byte(long))
	assert.LessOrEqual(t, len(msg), maxMessage+len("…"))
	assert.True(t, strings.HasSuffix(msg, "…"))
}

// FuzzParseErrorBody checks that any body parses without panic into a
// bounded message, and that a formatted "Error N (S): M" body gives N, S and
// M back.
func FuzzParseErrorBody(f *testing.F) {
	f.Add([]byte("Error 1146 (42S02): Table 'db.t' doesn't exist"), 1146, "42S02", "msg")
	f.Add([]byte(`{"error":{"code":1,"message":"m"}}`), 0, "", "")
	f.Add([]byte("Error 99999999999999999999: x"), 1, "HY000", "a: b")
	f.Fuzz(func(t *testing.T, body []byte, errno int, state, msg string) {
		n, s, m := parseErrorBody(body)
		if n < 0 || len(m) > maxMessage+len("…") || (s != "" && len(s) != 5) {
			t.Fatalf("parseErrorBody(%q) = %d, %q, %q", body, n, s, m)
		}
		errno = errno%100000 + 100000 // five or six digits, positive
		if errno < 0 {
			errno = -errno
		}
		msg = strings.TrimSpace(msg)
		if len(state) != 5 || !isSQLState(state) || len(msg) > maxMessage {
			return
		}
		formatted := fmt.Sprintf("Error %d (%s): %s", errno, state, msg)
		n, s, m = parseErrorBody([]byte(formatted))
		if n != errno || s != state || m != msg {
			t.Fatalf("parseErrorBody(%q) = %d, %q, %q", formatted, n, s, m)
		}
	})
}
