package retryafter

import (
	"net/http"
	"testing"
	"time"
)

func TestParse(t *testing.T) {
	now := time.Date(2026, 12, 7, 10, 0, 0, 0, time.UTC)
	for _, c := range []struct {
		in   string
		want time.Duration
	}{
		{"", 0},
		{"0", 0},
		{"5", 5 * time.Second},
		{"120", 120 * time.Second},
		{" 7 ", 7 * time.Second},
		{" 120 ", 2 * time.Minute},
		{"007", 7 * time.Second},
		{"-5", 0},
		{"-3", 0},
		{"1.5", 0},
		{"12a", 0},
		{"soon", 0},
		{"99999999999999", Max},
		{"99999999999999999999999", Max},
		{"3000000000", Max},
		{"31536001", Max},
		// The three HTTP-date forms.
		{"Mon, 07 Dec 2026 10:01:30 GMT", 90 * time.Second},
		{"Monday, 07-Dec-26 10:01:30 GMT", 90 * time.Second},
		{"Monday, 07-Dec-26 10:02:00 GMT", 2 * time.Minute},
		{"Mon Dec  7 10:01:30 2026", 90 * time.Second},
		{"Mon Dec  7 10:00:05 2026", 5 * time.Second},
		{now.Add(90 * time.Second).Format(http.TimeFormat), 90 * time.Second},
		{now.Add(-time.Minute).Format(http.TimeFormat), 0},
		{"Mon, 07 Dec 2026 10:00:00 GMT", 0}, // now
		{"Mon, 07 Dec 2026 09:59:00 GMT", 0}, // past
		{"Mon, 07 Dec 2026 10:01:30 CET", 0}, // not GMT: malformed
		{"Fri, 07 Dec 2125 10:00:00 GMT", Max},
		{"Fri, 01 Jan 9999 00:00:00 GMT", Max},
	} {
		if got := Parse(c.in, now); got != c.want {
			t.Errorf("Parse(%q) = %v, want %v", c.in, got, c.want)
		}
	}
}
