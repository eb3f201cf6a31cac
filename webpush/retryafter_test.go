package webpush

import (
	"testing"
	"time"
)

func TestParseRetryAfter(t *testing.T) {
	now := time.Date(2026, 12, 7, 10, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		in   string
		want time.Duration
	}{
		{"", 0},
		{"0", 0},
		{"120", 120 * time.Second},
		{" 7 ", 7 * time.Second},
		{"Mon, 07 Dec 2026 10:01:30 GMT", 90 * time.Second}, // IMF-fixdate
		{"Monday, 07-Dec-26 10:02:00 GMT", 2 * time.Minute}, // RFC 850
		{"Mon Dec  7 10:00:05 2026", 5 * time.Second},       // asctime
		{"Mon, 07 Dec 2026 09:59:00 GMT", 0},                // past
		{"-5", 0},
		{"1.5", 0},
		{"soon", 0},
		{"99999999999999999999999", maxRetryAfter},
		{"31536001", maxRetryAfter},
		{"Fri, 07 Dec 2125 10:00:00 GMT", maxRetryAfter},
	} {
		if got := parseRetryAfter(tc.in, now); got != tc.want {
			t.Errorf("parseRetryAfter(%q) = %v, want %v", tc.in, got, tc.want)
		}
	}
}
