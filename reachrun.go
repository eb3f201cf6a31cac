package belfry

import (
	"context"
	"math/rand/v2"
	"sync"
	"time"
)

// Run claims and runs due jobs, and sends the presence webhooks, until ctx
// ends; it returns nil then. Run it on every node: the outbox's leases
// share the work out.
func (r *Reach) Run(ctx context.Context) error {
	r.init()
	if r.Presence != nil && r.Webhook != nil {
		go r.watchPresence(ctx)
	}
	tick := time.NewTicker(r.Poll)
	defer tick.Stop()
	for {
		if r.Step(ctx) < r.Workers || ctx.Err() != nil {
			select {
			case <-ctx.Done():
				return nil
			case <-tick.C:
			case <-r.wake:
			}
		}
	}
}

// Step runs, at the time Now gives, the presence checks that are due and
// one claim of due jobs (at most Workers, run at once), and returns how
// many jobs it claimed. Run calls it; tests call it to drive a clock.
func (r *Reach) Step(ctx context.Context) int {
	r.init()
	now := r.now()
	r.checkPresence(ctx, now)
	jobs, err := r.Store.Claim(ctx, now, r.Lease, r.Workers)
	if err != nil {
		if ctx.Err() == nil {
			r.logger().Warn("reach: claiming due jobs failed", "err", err)
		}
		return 0
	}
	var wg sync.WaitGroup
	for _, j := range jobs {
		wg.Go(func() { r.run(ctx, j) })
	}
	wg.Wait()
	return len(jobs)
}

// run runs one claimed job and settles it.
func (r *Reach) run(ctx context.Context, j Job) {
	var s Settlement
	switch j.Kind {
	case JobPush:
		s = r.decidePush(ctx, j)
	case JobPushSend:
		s = r.sendPush(ctx, j)
	case JobEscalate:
		s = r.escalate(ctx, j)
	case JobWebhook:
		s = r.deliver(ctx, j)
	default:
		s = Settlement{Fail: true, LastError: "unknown job kind " + string(j.Kind)}
	}
	s.ID, s.Claim = j.ID, j.Claim
	if len(s.LastError) > 500 {
		s.LastError = s.LastError[:500]
	}
	// A job's effect (a push, a webhook) has happened: settle even when
	// the caller is leaving, so it is not sent again.
	err := r.Store.Settle(context.WithoutCancel(ctx), s)
	if err != nil && ErrorCode(err) != ECONFLICT {
		r.logger().Warn("reach: settling a job failed; it runs again when its lease ends",
			"job", j.ID, "kind", j.Kind, "err", err)
	}
}

// later is a retry after a store error: the job runs again soon.
func (r *Reach) later(err error) Settlement {
	return Settlement{Retry: r.now().Add(backoff(0, 5*time.Second, time.Minute)), LastError: err.Error()}
}

// backoff returns base·2^attempts, at most limit, less up to a fifth at
// random (so retries from many jobs spread out).
func backoff(attempts int, base, limit time.Duration) time.Duration {
	d := base
	for range attempts {
		d *= 2
		if d >= limit {
			d = limit
			break
		}
	}
	return d - time.Duration(rand.Int64N(int64(d)/5+1))
}

// notification returns the user's notification id, or nil when it is gone
// (deleted, retracted, purged) or expired. Errors: EUNAVAILABLE.
func (r *Reach) notification(ctx context.Context, user string, id int64, now time.Time) (*Notification, error) {
	ns, err := r.Store.After(ctx, user, id-1, 1)
	if err != nil {
		return nil, err
	}
	if len(ns) == 0 || ns[0].ID != id {
		return nil, nil
	}
	if n := ns[0]; n.ExpiresAt != nil && !n.ExpiresAt.After(now) {
		return nil, nil
	}
	return ns[0], nil
}

// channels returns the user's switches for the notification's category.
func (r *Reach) channels(ctx context.Context, n *Notification) (Channels, error) {
	p, err := r.Store.Preferences(ctx, n.UserID)
	if err != nil {
		return Channels{}, err
	}
	return p.For(n.Category), nil
}
