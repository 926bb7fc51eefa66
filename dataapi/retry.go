package dataapi

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"math"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// DefaultRetryPolicy reports whether a failed attempt should be tried
// again. It never retries once ctx is done. With err set (no answer) it
// retries transport failures (refused or reset connections, timeouts)
// except those that will not change: certificate verification failures, a
// plain-HTTP server spoken to over TLS, and unreadable successful answers.
// With an answer it retries the statuses RetryableStatus accepts (408, 429,
// 5xx except 501 and 505) and nothing else: other 4xx are final.
func DefaultRetryPolicy(ctx context.Context, resp *http.Response, err error) bool {
	if ctx.Err() != nil {
		return false
	}
	if err != nil {
		return retryableTransport(err)
	}
	return resp != nil && RetryableStatus(resp.StatusCode)
}

// certificateFault reports whether err is a failure to verify the server's
// certificate or a TLS/plain-HTTP mismatch: it will not change by itself.
func certificateFault(err error) bool {
	var (
		unknownAuthority x509.UnknownAuthorityError
		invalidCert      x509.CertificateInvalidError
		hostname         x509.HostnameError
		verification     *tls.CertificateVerificationError
		recordHeader     tls.RecordHeaderError
	)
	return errors.Is(err, http.ErrSchemeMismatch) ||
		errors.As(err, &unknownAuthority) ||
		errors.As(err, &invalidCert) ||
		errors.As(err, &hostname) ||
		errors.As(err, &verification) ||
		errors.As(err, &recordHeader)
}

func retryableTransport(err error) bool {
	return !errors.Is(err, context.Canceled) && !errors.Is(err, ErrUnexpectedResponse) && !certificateFault(err)
}

// Backoff returns the wait before retry number attempt (1 for the first
// retry) with full-jitter exponential backoff: jitter, a random number in
// [0, 1), times min(maxWait, base·2^(attempt-1)).
func Backoff(base, maxWait time.Duration, attempt int, jitter float64) time.Duration {
	if attempt < 1 {
		attempt = 1
	}
	ceiling := float64(base) * math.Pow(2, float64(attempt-1))
	if ceiling > float64(maxWait) || math.IsInf(ceiling, 0) {
		ceiling = float64(maxWait)
	}
	return time.Duration(jitter * ceiling)
}

// RetryAfter reads the Retry-After header of resp, either delay-seconds or
// an HTTP-date (the wait is then counted from now; a date in the past means
// no wait). ok is false when resp is nil or the header is absent or
// unreadable.
func RetryAfter(resp *http.Response, now time.Time) (d time.Duration, ok bool) {
	if resp == nil {
		return 0, false
	}
	v := strings.TrimSpace(resp.Header.Get("Retry-After"))
	if v == "" {
		return 0, false
	}
	if secs, err := strconv.ParseInt(v, 10, 64); err == nil {
		if secs < 0 {
			return 0, false
		}
		if secs > int64(math.MaxInt64/time.Second) {
			return time.Duration(math.MaxInt64), true
		}
		return time.Duration(secs) * time.Second, true
	}
	t, err := http.ParseTime(v)
	if err != nil {
		return 0, false
	}
	return max(t.Sub(now), 0), true
}
