package idp

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"strconv"
	"syscall"
	"time"
)

// Retry is the retry policy for transient failures: 429 (honouring Retry-After), 5xx,
// timeouts and dropped connections. 4xx answers are permanent and never retried.
type Retry struct {
	Attempts int           // tries in all, the first included
	Base     time.Duration // the first backoff's upper bound
	Cap      time.Duration // the largest backoff
}

// DefaultRetry returns the retry policy used when a Client sets none: about a minute
// and a half of attempts in the worst case.
func DefaultRetry() Retry {
	return Retry{Attempts: 12, Base: 100 * time.Millisecond, Cap: 10 * time.Second}
}

// Backoff returns the wait before the next attempt: full jitter over an exponentially
// growing bound, or the server's Retry-After when it gave one (plus a little jitter so
// concurrent workers do not return in lockstep).
func (r Retry) Backoff(attempt int, retryAfter time.Duration) time.Duration {
	if retryAfter > 0 {
		return min(retryAfter, time.Minute) + rand.N(r.Base+1)
	}
	bound := r.Base << min(attempt-1, 20)
	if bound <= 0 || bound > r.Cap {
		bound = r.Cap
	}
	return rand.N(bound + 1)
}

// RetryableStatus reports whether an HTTP status is worth retrying.
func RetryableStatus(status int) bool {
	return status == http.StatusTooManyRequests || status == http.StatusRequestTimeout || status >= 500
}

// retryableAnswer is RetryableStatus, except for the 429 Authgear gives when a project's
// usage limit (user_import per day or month) is used up: a quota, not a rate, so waiting
// seconds and trying again only delays the error.
func retryableAnswer(status int, body []byte) bool {
	if !RetryableStatus(status) {
		return false
	}
	if status == http.StatusTooManyRequests && bytes.Contains(body, []byte(`"UsageLimitExceeded"`)) {
		var env struct {
			Error *APIError `json:"error"`
		}
		if json.Unmarshal(body, &env) == nil && env.Error != nil && env.Error.Reason == "UsageLimitExceeded" {
			return false
		}
	}
	return true
}

// IsTransient reports whether a transport error may go away on retry: timeouts,
// dropped or refused connections, an answer cut short.
func IsTransient(err error) bool {
	if errors.Is(err, context.Canceled) {
		return false
	}
	var ne net.Error
	switch {
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF),
		errors.Is(err, syscall.ECONNRESET), errors.Is(err, syscall.ECONNREFUSED),
		errors.Is(err, syscall.EPIPE), errors.Is(err, context.DeadlineExceeded):
		return true
	case errors.As(err, &ne):
		return true // timeouts and other network-level failures
	}
	return false
}

// ParseRetryAfter reads a Retry-After header: seconds or an HTTP date.
func ParseRetryAfter(v string, now time.Time) time.Duration {
	if v == "" {
		return 0
	}
	if s, err := strconv.Atoi(v); err == nil && s >= 0 {
		return time.Duration(s) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil && t.After(now) {
		return t.Sub(now)
	}
	return 0
}
