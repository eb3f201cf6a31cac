// Package retryafter reads the Retry-After header (RFC 9110, 10.2.3) for
// belfry's HTTP callers: the Web Push sender, the webhook sender and the
// Go client.
package retryafter

import (
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Max bounds what Parse returns, so that an absurd value cannot overflow a
// time.Duration. What to do with a long wait is the caller's decision.
const Max = 365 * 24 * time.Hour

// Parse reads a Retry-After value: delta-seconds, or an HTTP-date taken
// relative to now. It returns 0 when the value is empty or malformed, or
// names a time not after now.
func Parse(v string, now time.Time) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0
	}
	if v[0] >= '0' && v[0] <= '9' {
		n, err := strconv.ParseUint(v, 10, 64)
		if errors.Is(err, strconv.ErrRange) {
			return Max
		}
		if err != nil {
			return 0
		}
		if n > uint64(Max/time.Second) {
			return Max
		}
		return time.Duration(n) * time.Second
	}
	t, err := http.ParseTime(v)
	if err != nil {
		return 0
	}
	d := t.Sub(now)
	if d <= 0 {
		return 0
	}
	return min(d, Max)
}
