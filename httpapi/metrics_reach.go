package httpapi

import (
	"github.com/belfry/belfry"
	"github.com/prometheus/client_golang/prometheus"
)

// reachCollector exports Reach's counters at scrape time:
// belfry_push_deliveries_total{result} and
// belfry_webhook_deliveries_total{result}.
type reachCollector struct {
	r             *belfry.Reach
	push, webhook *prometheus.Desc
}

func newReachCollector(r *belfry.Reach) *reachCollector {
	return &reachCollector{r: r,
		push: prometheus.NewDesc("belfry_push_deliveries_total",
			"Web Push outcomes, by result: sent (2xx), retried (429, 5xx, no answer, 413 once), failed (gave up), gone (404/410: the subscription was deleted), skipped (seen, read, online, preference off, or gone before its time).",
			[]string{"result"}, nil),
		webhook: prometheus.NewDesc("belfry_webhook_deliveries_total",
			"Webhook delivery attempts, by result: sent (2xx), retried (another answer or none; tried again later), failed (gave up after the retry window; listed by GET /api/webhooks/failed).",
			[]string{"result"}, nil)}
}

func (c *reachCollector) Describe(ch chan<- *prometheus.Desc) { ch <- c.push; ch <- c.webhook }

func (c *reachCollector) Collect(ch chan<- prometheus.Metric) {
	s := c.r.Stats()
	for _, v := range []struct {
		name string
		n    uint64
	}{{"sent", s.PushSent}, {"retried", s.PushRetried}, {"failed", s.PushFailed},
		{"gone", s.PushGone}, {"skipped", s.PushSkipped}} {
		ch <- prometheus.MustNewConstMetric(c.push, prometheus.CounterValue, float64(v.n), v.name)
	}
	for _, v := range []struct {
		name string
		n    uint64
	}{{"sent", s.WebhookSent}, {"retried", s.WebhookRetried}, {"failed", s.WebhookFailed}} {
		ch <- prometheus.MustNewConstMetric(c.webhook, prometheus.CounterValue, float64(v.n), v.name)
	}
}
