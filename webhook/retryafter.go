package webhook

import (
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// maxRetryAfter bounds what parseRetryAfter returns, so that an absurd
// delta-seconds cannot overflow a time.Duration. What to do with a long wait
// is the caller's decision.
const maxRetryAfter = (1<<31 - 1) * time.Second

// parseRetryAfter reads a Retry-After value (RFC 9110, 10.2.3): either
// delta-seconds or an HTTP-date, which is taken relative to now. It returns
// 0 when the value is empty or malformed, or names a time not after now.
func parseRetryAfter(v string, now time.Time) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0
	}
	if v[0] >= '0' && v[0] <= '9' {
		n, err := strconv.ParseUint(v, 10, 64)
		if errors.Is(err, strconv.ErrRange) {
			return maxRetryAfter
		}
		if err != nil {
			return 0
		}
		if n > uint64(maxRetryAfter/time.Second) {
			return maxRetryAfter
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
	return min(d, maxRetryAfter)
}
