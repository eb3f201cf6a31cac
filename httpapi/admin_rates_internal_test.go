package httpapi

import (
	"testing"
	"time"
)

func TestRateWindow(t *testing.T) {
	var w rateWindow
	t0 := time.Unix(1_000_000, 0)
	if r := w.observe(rateSample{at: t0, published: 10, delivered: 100}); r.OK {
		t.Fatalf("first view: %+v, want no rate yet", r)
	}
	if r := w.observe(rateSample{at: t0.Add(500 * time.Millisecond), published: 11, delivered: 101}); r.OK {
		t.Fatalf("half a second later: %+v, want no rate yet", r)
	}
	r := w.observe(rateSample{at: t0.Add(10 * time.Second), published: 30, delivered: 600})
	if !r.OK || r.Published != 2 || r.Delivered != 50 || r.Over != 10*time.Second {
		t.Fatalf("10 s later: %+v, want 2/s and 50/s over 10s", r)
	}
	// Samples older than rateSpan are dropped: the rate is taken from the
	// oldest one kept.
	r = w.observe(rateSample{at: t0.Add(rateSpan + 5*time.Second), published: 30 + 295, delivered: 600})
	if !r.OK || r.Over != rateSpan-5*time.Second || r.Published != 1 || r.Delivered != 0 {
		t.Fatalf("after the span: %+v", r)
	}
	if len(w.samples) != 2 {
		t.Errorf("%d samples kept, want 2", len(w.samples))
	}
}
