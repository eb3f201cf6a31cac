package belfry

import (
	"context"
	"time"
)

// Retention keeps inboxes from growing forever and removes expired
// notifications: it calls Store.Purge in bounded batches, and tells each
// affected user's streams (notification-deleted with the reason, carrying
// the counts after). Several nodes may run it at once: each notification is
// deleted, and announced, by one of them.
type Retention struct {
	Inbox *Inbox
	// Retain, when above 0: read or archived notifications older than this
	// are deleted (unread ones too with RetainUnread).
	Retain       time.Duration
	RetainUnread bool
	// MaxPerUser, when above 0: a user's oldest notifications beyond this
	// many are deleted.
	MaxPerUser int
	// ExpireEvery is how often expired notifications are looked for
	// (default 1s); RetainEvery how often the retention rules run
	// (default 1m). Batch bounds one store call (default 500).
	ExpireEvery time.Duration
	RetainEvery time.Duration
	Batch       int
}

// Defaults of Retention's intervals and batch.
const (
	DefaultExpireEvery = time.Second
	DefaultRetainEvery = time.Minute
	DefaultPurgeBatch  = 500
)

// Run purges until ctx ends. A store error is logged and retried at the
// next tick. It returns nil when ctx ends.
func (r *Retention) Run(ctx context.Context) error {
	expire := time.NewTicker(orDefault(r.ExpireEvery, DefaultExpireEvery))
	defer expire.Stop()
	retain := time.NewTicker(orDefault(r.RetainEvery, DefaultRetainEvery))
	defer retain.Stop()
	for {
		full := false
		select {
		case <-ctx.Done():
			return nil
		case <-expire.C:
		case <-retain.C:
			full = true
		}
		if _, err := r.Pass(ctx, full); err != nil && ctx.Err() == nil {
			r.Inbox.logger().Warn("purge failed; retrying later", "err", err)
		}
	}
}

// FailedJobsKept is how long a push or webhook that gave up stays listed
// (GET /api/webhooks/failed) and can be retried.
const FailedJobsKept = 30 * 24 * time.Hour

// Pass purges batch after batch until a batch comes back short: expired
// notifications and idempotency keys, and, when full, what the retention
// rules select. It returns how many notifications it deleted.
// Errors: EUNAVAILABLE.
func (r *Retention) Pass(ctx context.Context, full bool) (int, error) {
	total := 0
	for {
		q := PurgeQuery{Now: r.Inbox.now(), Limit: r.batch()}
		if full {
			if r.Retain > 0 {
				q.RetainBefore = q.Now.Add(-r.Retain)
				q.RetainUnread = r.RetainUnread
			}
			q.MaxPerUser = r.MaxPerUser
			q.FailedBefore = q.Now.Add(-FailedJobsKept)
		}
		removed, err := r.Inbox.Store.Purge(ctx, q)
		if err != nil {
			return total, err
		}
		total += len(removed)
		r.announce(ctx, removed)
		if len(removed) < q.Limit || ctx.Err() != nil {
			return total, nil
		}
	}
}

// announce tells each user's streams what was removed, with the user's
// counts after the batch.
func (r *Retention) announce(ctx context.Context, removed []Removed) {
	if len(removed) == 0 {
		return
	}
	ctx = context.WithoutCancel(ctx)
	byUser := make(map[string][]Removed)
	var order []string
	for _, x := range removed {
		if _, ok := byUser[x.UserID]; !ok {
			order = append(order, x.UserID)
		}
		byUser[x.UserID] = append(byUser[x.UserID], x)
	}
	for _, u := range order {
		mu := r.Inbox.userMu(u)
		mu.Lock()
		st, err := r.Inbox.Store.Stats(ctx, u)
		if err != nil {
			mu.Unlock()
			// The streams learn the counts at their next sync.
			r.Inbox.logger().Warn("purge: counts unavailable; streams not told", "err", err)
			continue
		}
		msgs := make([]Message, 0, len(byUser[u]))
		for _, x := range byUser[u] {
			msgs = append(msgs, Message{Kind: KindDeleted, UserID: u,
				State: &StateChange{ID: x.ID, Reason: x.Reason, Stats: st}})
		}
		r.Inbox.publish(ctx, msgs)
		mu.Unlock()
	}
}

func (r *Retention) batch() int {
	if r.Batch > 0 {
		return r.Batch
	}
	return DefaultPurgeBatch
}

func orDefault(d, def time.Duration) time.Duration {
	if d > 0 {
		return d
	}
	return def
}
