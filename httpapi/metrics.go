package httpapi

import (
	"strconv"
	"sync"

	"github.com/belfry/belfry"
	"github.com/belfry/belfry/hub"
	"github.com/prometheus/client_golang/prometheus"
)

// metrics are the API's Prometheus collectors. The stream figures are read
// from Hub.Stats at scrape time.
type metrics struct {
	requests *prometheus.CounterVec
	// requestCounters caches requests' counter of each route and code
	// (routeCode → prometheus.Counter): a lookup by label values hashes
	// them on every request.
	requestCounters sync.Map
	published       prometheus.Counter
	// rateLimited counts 429 answers by limit: "auth" (failed
	// authentications of an address) or "publish" (an API key's rate).
	rateLimited  *prometheus.CounterVec
	authFailures prometheus.Counter
}

func newMetrics(reg prometheus.Registerer, h *hub.Hub, setupsWaiting, authAddrs func() float64) (*metrics, error) {
	m := &metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "belfry_http_requests_total",
			Help: "HTTP requests answered, by route pattern and status code.",
		}, []string{"route", "code"}),
		published: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "belfry_notifications_published_total",
			Help: "Notifications created through POST /api/notifications.",
		}),
		rateLimited: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "belfry_rate_limited_total",
			Help: "Requests refused with 429 rate_limited, by limit: auth (too many failed authentications from the address) or publish (the API key's publish rate).",
		}, []string{"limit"}),
		authFailures: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "belfry_auth_failures_total",
			Help: "Failed authentications charged to their client address (credentials belfry did not recognize).",
		}),
	}
	m.rateLimited.WithLabelValues("auth")
	m.rateLimited.WithLabelValues("publish")
	cs := []prometheus.Collector{m.requests, m.published, m.rateLimited, m.authFailures,
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "belfry_auth_fail_addresses",
			Help: "Client addresses (IPv6: /64 prefixes) whose failed authentications are being tracked.",
		}, authAddrs),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "belfry_streams_open",
			Help: "SSE streams open on this node.",
		}, func() float64 { return float64(h.Stats().Streams) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "belfry_streams_lean",
			Help: "Of the open streams, those written by the Hub without a goroutine of their own (hijacked HTTP/1.1).",
		}, func() float64 { return float64(h.Stats().Lean) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "belfry_stream_users",
			Help: "Users with at least one SSE stream open on this node.",
		}, func() float64 { return float64(h.Stats().Users) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "belfry_stream_setups_waiting",
			Help: "Stream requests waiting for their turn to be set up (Config.SetupConcurrency).",
		}, setupsWaiting),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "belfry_stream_replays_waiting",
			Help: "Resuming streams waiting for one of their user's replay places (--replays-per-user).",
		}, func() float64 { return float64(h.Stats().ReplaysWaiting) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name: "belfry_slow_disconnects_total",
			Help: "Streams cut because they could not keep up (their queue was full).",
		}, func() float64 { return float64(h.Stats().Slow) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name:        "belfry_streams_refused_total",
			Help:        "Streams refused by a limit, by reason: too_many_streams (the user's, 429), server_full (the node's, 503).",
			ConstLabels: prometheus.Labels{"reason": belfry.ETOOMANYSTREAMS},
		}, func() float64 { return float64(h.Stats().RefusedUser) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name:        "belfry_streams_refused_total",
			Help:        "Streams refused by a limit, by reason: too_many_streams (the user's, 429), server_full (the node's, 503).",
			ConstLabels: prometheus.Labels{"reason": belfry.ESERVERFULL},
		}, func() float64 { return float64(h.Stats().RefusedNode) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name: "belfry_events_delivered_total",
			Help: "Events queued to this node's streams.",
		}, func() float64 { return float64(h.Stats().Delivered) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name: "belfry_lean_writes_blocked_total",
			Help: "Writes to lean streams that the socket did not take at once (a worker then wrote the rest).",
		}, func() float64 { return float64(h.Stats().Blocked) }),
	}
	for _, r := range hub.EndReasons() {
		cs = append(cs, prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name:        "belfry_streams_ended_total",
			Help:        "SSE streams ended, by reason: closed, client_gone, slow (queue full or write timeout), token_expired, shutdown, store_unavailable.",
			ConstLabels: prometheus.Labels{"reason": r.String()},
		}, func() float64 { return float64(h.Stats().Ends[r]) }))
	}
	for _, c := range cs {
		if err := reg.Register(c); err != nil {
			return nil, err
		}
	}
	return m, nil
}

type routeCode struct {
	route string
	code  int
}

// requestCounter is the counter of requests answered on route with code.
func (m *metrics) requestCounter(route string, code int) prometheus.Counter {
	k := routeCode{route, code}
	if c, ok := m.requestCounters.Load(k); ok {
		return c.(prometheus.Counter)
	}
	c := m.requests.WithLabelValues(route, strconv.Itoa(code))
	m.requestCounters.Store(k, c)
	return c
}
