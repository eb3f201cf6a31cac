package httpapi

import (
	"github.com/belfry/belfry"
	"github.com/prometheus/client_golang/prometheus"
)

// metrics are the API's Prometheus collectors. The stream figures are read
// from Hub.Stats at scrape time.
type metrics struct {
	requests  *prometheus.CounterVec
	published prometheus.Counter
}

func newMetrics(reg prometheus.Registerer, hub *belfry.Hub, setupsWaiting func() float64) (*metrics, error) {
	m := &metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "belfry_http_requests_total",
			Help: "HTTP requests answered, by route pattern and status code.",
		}, []string{"route", "code"}),
		published: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "belfry_notifications_published_total",
			Help: "Notifications created through POST /api/notifications.",
		}),
	}
	cs := []prometheus.Collector{m.requests, m.published,
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "belfry_streams_open",
			Help: "SSE streams open on this node.",
		}, func() float64 { return float64(hub.Stats().Streams) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "belfry_streams_lean",
			Help: "Of the open streams, those written by the Hub without a goroutine of their own (hijacked HTTP/1.1).",
		}, func() float64 { return float64(hub.Stats().Lean) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "belfry_stream_users",
			Help: "Users with at least one SSE stream open on this node.",
		}, func() float64 { return float64(hub.Stats().Users) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "belfry_stream_setups_waiting",
			Help: "Stream requests waiting for their turn to be set up (Config.SetupConcurrency).",
		}, setupsWaiting),
		prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name: "belfry_slow_disconnects_total",
			Help: "Streams cut because they could not keep up (their queue was full).",
		}, func() float64 { return float64(hub.Stats().Slow) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name:        "belfry_streams_refused_total",
			Help:        "Streams refused by a limit, by reason: too_many_streams (the user's, 429), server_full (the node's, 503).",
			ConstLabels: prometheus.Labels{"reason": belfry.ETOOMANYSTREAMS},
		}, func() float64 { return float64(hub.Stats().RefusedUser) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name:        "belfry_streams_refused_total",
			Help:        "Streams refused by a limit, by reason: too_many_streams (the user's, 429), server_full (the node's, 503).",
			ConstLabels: prometheus.Labels{"reason": belfry.ESERVERFULL},
		}, func() float64 { return float64(hub.Stats().RefusedNode) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name: "belfry_events_delivered_total",
			Help: "Events queued to this node's streams.",
		}, func() float64 { return float64(hub.Stats().Delivered) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name: "belfry_lean_writes_blocked_total",
			Help: "Writes to lean streams that the socket did not take at once (a worker then wrote the rest).",
		}, func() float64 { return float64(hub.Stats().Blocked) }),
	}
	for _, c := range cs {
		if err := reg.Register(c); err != nil {
			return nil, err
		}
	}
	return m, nil
}
