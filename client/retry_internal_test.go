package client

import (
	"errors"
	"net/http"
	"testing"
	"time"
)

// The backoff doubles from BaseDelay up to MaxDelay, each wait between
// half and all of it; a Retry-After is a floor, and over MaxDelay ends
// the call.
func TestDelay(t *testing.T) {
	c := &Client{retry: RetryPolicy{MaxAttempts: 10, BaseDelay: 100 * time.Millisecond, MaxDelay: 2 * time.Second}}
	network := errors.New("connection reset")
	for attempt, full := range []time.Duration{100, 200, 400, 800, 1600, 2000, 2000, 2000} {
		full *= time.Millisecond
		for range 50 {
			d, ok := c.delay(attempt+1, network)
			if !ok || d < full/2 || d > full {
				t.Fatalf("attempt %d: %v, %v; want within [%v, %v]", attempt+1, d, ok, full/2, full)
			}
		}
	}
	for range 50 {
		d, ok := c.delay(1, &Error{Status: 429, RetryAfter: time.Second})
		if !ok || d < time.Second || d > time.Second+50*time.Millisecond {
			t.Fatalf("Retry-After 1s: %v, %v", d, ok)
		}
		d, ok = c.delay(5, &Error{Status: 503, RetryAfter: 2 * time.Second})
		if !ok || d != 2*time.Second {
			t.Fatalf("Retry-After at MaxDelay: %v, %v", d, ok)
		}
	}
	if _, ok := c.delay(1, &Error{Status: 429, RetryAfter: 3 * time.Second}); ok {
		t.Fatal("a Retry-After over MaxDelay was waited for")
	}
	// A huge BaseDelay cannot overflow.
	c.retry = RetryPolicy{BaseDelay: time.Hour * 24 * 365 * 100, MaxDelay: time.Hour * 24 * 365 * 200}
	if d, ok := c.delay(60, network); !ok || d <= 0 || d > c.retry.MaxDelay {
		t.Fatalf("huge: %v, %v", d, ok)
	}
}

func TestErrorOf(t *testing.T) {
	now := time.Now()
	e := errorOf(502, http.Header{}, []byte("<html>bad gateway</html>"), now)
	if e.Code != "" || e.Message != "<html>bad gateway</html>" || e.Status != 502 {
		t.Fatalf("proxy page: %+v", e)
	}
	if e := errorOf(504, http.Header{}, nil, now); e.Message != "Gateway Timeout" {
		t.Fatalf("empty body: %+v", e)
	}
	e = errorOf(429, http.Header{"Retry-After": {"7"}}, []byte(`{"error":{"code":"rate_limited","message":"slow down"}}`), now)
	if e.Code != "rate_limited" || e.Message != "slow down" || e.RetryAfter != 7*time.Second ||
		e.Error() != "belfry: 429 rate_limited: slow down" {
		t.Fatalf("belfry's body: %+v (%v)", e, e)
	}
	for status, want := range map[int][2]bool{429: {true, true}, 503: {true, true}, 500: {false, true},
		502: {false, true}, 501: {false, false}, 400: {false, false}, 404: {false, false}} {
		if got := [2]bool{retryableStatus(status, false), retryableStatus(status, true)}; got != want {
			t.Errorf("retryableStatus(%d) = %v, want %v (not idempotent, idempotent)", status, got, want)
		}
	}
}
