package httpapi

import (
	"sync"
	"time"

	dto "github.com/prometheus/client_model/go"
)

// rateWindow turns the node's counters into rates for the operator page:
// each view adds a sample (at most one a second), samples older than
// rateSpan are dropped, and the rates are taken between the oldest sample
// kept and now. The first view has no rate yet; a page viewed again a
// minute later shows the rate over that minute.
type rateWindow struct {
	mu      sync.Mutex
	samples []rateSample // oldest first
}

type rateSample struct {
	at                   time.Time
	published, delivered float64
}

// rateSpan is the longest window the rates are taken over.
const rateSpan = 5 * time.Minute

// rates are the figures shown; OK is false until two samples are a second
// or more apart.
type rates struct {
	Published, Delivered float64 // per second
	Over                 time.Duration
	OK                   bool
}

// observe adds the sample now and returns the rates since the oldest one
// kept.
func (w *rateWindow) observe(now rateSample) rates {
	w.mu.Lock()
	defer w.mu.Unlock()
	i := 0
	for i < len(w.samples)-1 && now.at.Sub(w.samples[i].at) > rateSpan {
		i++
	}
	w.samples = w.samples[i:]
	if n := len(w.samples); n == 0 || now.at.Sub(w.samples[n-1].at) >= time.Second {
		w.samples = append(w.samples, now)
	}
	first := w.samples[0]
	dt := now.at.Sub(first.at)
	if dt < time.Second {
		return rates{}
	}
	secs := dt.Seconds()
	return rates{OK: true, Over: dt.Round(time.Second),
		Published: max(0, now.published-first.published) / secs,
		Delivered: max(0, now.delivered-first.delivered) / secs}
}

// publishedTotal reads belfry_notifications_published_total.
func (s *Server) publishedTotal() float64 {
	var m dto.Metric
	if err := s.metrics.published.Write(&m); err != nil {
		return 0
	}
	return m.GetCounter().GetValue()
}
