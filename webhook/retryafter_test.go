package webhook

import (
	"testing"
	"time"
)

func TestParseRetryAfter(t *testing.T) {
	now := time.Date(2026, 12, 7, 10, 0, 0, 0, time.UTC)
	for _, c := range []struct {
		in   string
		want time.Duration
	}{
		{"", 0},
		{"0", 0},
		{"120", 120 * time.Second},
		{" 7 ", 7 * time.Second},
		{"007", 7 * time.Second},
		{"-5", 0},
		{"1.5", 0},
		{"12a", 0},
		{"soon", 0},
		{"99999999999999999999999", maxRetryAfter},
		{"3000000000", maxRetryAfter},
		// The three HTTP-date forms.
		{"Mon, 07 Dec 2026 10:01:30 GMT", 90 * time.Second},
		{"Monday, 07-Dec-26 10:01:30 GMT", 90 * time.Second},
		{"Mon Dec  7 10:01:30 2026", 90 * time.Second},
		{"Mon, 07 Dec 2026 10:00:00 GMT", 0}, // now
		{"Mon, 07 Dec 2026 09:59:00 GMT", 0}, // past
		{"Mon, 07 Dec 2026 10:01:30 CET", 0}, // not GMT: malformed
		{"Fri, 01 Jan 9999 00:00:00 GMT", maxRetryAfter},
	} {
		if got := parseRetryAfter(c.in, now); got != c.want {
			t.Errorf("parseRetryAfter(%q) = %v, want %v", c.in, got, c.want)
		}
	}
}
