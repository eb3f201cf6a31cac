package belfry

import (
	"crypto/rand"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"
)

// Reach takes notifications beyond the open tabs: Web Push to the user's
// devices and webhooks that tell the app (escalations, actions, reads,
// presence). Its work lives in the store's outbox, so it survives a crash,
// and Run on every node claims what is due (see Outbox).
//
// Set the fields before the first call; they are not changed afterwards.
type Reach struct {
	Store    Store
	Presence Presence      // required by the offline push rule and presence webhooks
	Push     PushSender    // nil: no Web Push
	Webhook  WebhookSender // nil: no webhooks

	PushDefault   PushMode      // a publish without "push"; default PushOffline
	PushDelay     time.Duration // offline pushes wait this long; default 30 s
	PushTTL       time.Duration // the TTL of a push, and how long it is retried; default 24 h
	EscalateAfter time.Duration // notification.unseen this long after creation; default 15 min; < 0: never
	// PresenceDebounce: user.online and user.offline are sent when a
	// change has held this long; default 10 s.
	PresenceDebounce time.Duration
	WebhookRetryFor  time.Duration // a webhook is retried this long; default 24 h

	// API is belfry's public base URL, put in push payloads for the
	// service worker ("" leaves it out: the worker uses its own origin).
	API string
	// Token, when set, mints the push payload's token: a credential that
	// only marks notification id of user read (or takes one of its
	// actions), valid for ttl.
	Token func(user string, id int64, ttl time.Duration) (string, error)

	Lease   time.Duration    // how long a claimed job is held; default 2 min
	Workers int              // jobs run at once; default 16
	Poll    time.Duration    // how often Run looks for due jobs; default 1 s
	Now     func() time.Time // default time.Now
	Logger  *slog.Logger     // default slog.Default()
	// Tracer, when set, records a span per push and webhook attempt
	// (nil: off).
	Tracer Tracer

	wake chan struct{}
	once sync.Once

	mu      sync.Mutex
	pending map[string]time.Time // presence checks due, by user

	stats reachCounters
}

func (r *Reach) init() {
	r.once.Do(func() {
		r.wake = make(chan struct{}, 1)
		r.pending = make(map[string]time.Time)
		if r.PushDefault == "" {
			r.PushDefault = PushOffline
		}
		if r.PushDelay <= 0 {
			r.PushDelay = 30 * time.Second
		}
		if r.PushTTL <= 0 {
			r.PushTTL = 24 * time.Hour
		}
		if r.EscalateAfter == 0 {
			r.EscalateAfter = 15 * time.Minute
		}
		if r.PresenceDebounce <= 0 {
			r.PresenceDebounce = 10 * time.Second
		}
		if r.WebhookRetryFor <= 0 {
			r.WebhookRetryFor = 24 * time.Hour
		}
		if r.Lease <= 0 {
			r.Lease = 2 * time.Minute
		}
		if r.Workers <= 0 {
			r.Workers = 16
		}
		if r.Poll <= 0 {
			r.Poll = time.Second
		}
	})
}

func (r *Reach) now() time.Time {
	if r.Now != nil {
		return Now(r.Now())
	}
	return Now(time.Now())
}

func (r *Reach) logger() *slog.Logger {
	if r.Logger != nil {
		return r.Logger
	}
	return slog.Default()
}

// Poke makes Run look for due jobs now rather than at its next poll.
func (r *Reach) Poke() {
	r.init()
	select {
	case r.wake <- struct{}{}:
	default:
	}
}

// Jobs returns the outbox jobs of a publish, for Batch.Jobs: a push job
// per notification unless its mode (d.Push, else PushDefault) is never,
// and an escalation per notification when webhooks are on. The store
// keeps a push job only for users with a push subscription.
func (r *Reach) Jobs(d Draft, ns []*Notification) []Job {
	if r == nil {
		return nil
	}
	r.init()
	mode := d.Push
	if mode == "" {
		mode = r.PushDefault
	}
	push := r.Push != nil && mode != PushNever
	escalate := r.Webhook != nil && r.EscalateAfter > 0
	if !push && !escalate {
		return nil
	}
	now := r.now()
	jobs := make([]Job, 0, len(ns)*2)
	for i, n := range ns {
		if push {
			due := now
			if mode == PushOffline {
				due = now.Add(r.PushDelay)
			}
			jobs = append(jobs, Job{ID: NewJobID(now), Kind: JobPush, UserID: n.UserID, Index: i,
				OnlyIfSubscribed: true, Created: now, Due: due, Payload: []byte(mode)})
		}
		if escalate {
			jobs = append(jobs, Job{ID: NewJobID(now), Kind: JobEscalate, UserID: n.UserID, Index: i,
				Created: now, Due: now.Add(r.EscalateAfter)})
		}
	}
	return jobs
}

// NewJobID returns a fresh job id that sorts by creation time: "msg_", 10
// characters of the millisecond time and 16 random ones, in Crockford's
// base 32 (the shape of a Standard Webhooks webhook-id).
func NewJobID(at time.Time) string {
	const digits = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
	var b [30]byte
	copy(b[:], "msg_")
	ms := uint64(at.UnixMilli())
	for i := 13; i >= 4; i-- {
		b[i] = digits[ms&31]
		ms >>= 5
	}
	var rnd [10]byte
	_, _ = rand.Read(rnd[:])
	for i := range 16 { // 80 random bits, 5 at a time
		bit := i * 5
		v := uint16(rnd[bit/8])<<8 | uint16(safeByte(rnd[:], bit/8+1))
		b[14+i] = digits[v>>(11-bit%8)&31]
	}
	return string(b[:])
}

// ReachStats are Reach's counters, for metrics.
type ReachStats struct {
	PushSent, PushRetried, PushFailed, PushGone, PushSkipped uint64
	WebhookSent, WebhookRetried, WebhookFailed               uint64
}

type reachCounters struct {
	pushSent, pushRetried, pushFailed, pushGone, pushSkipped atomic.Uint64
	webhookSent, webhookRetried, webhookFailed               atomic.Uint64
}

// Stats returns Reach's counters.
func (r *Reach) Stats() ReachStats {
	c := &r.stats
	return ReachStats{PushSent: c.pushSent.Load(), PushRetried: c.pushRetried.Load(),
		PushFailed: c.pushFailed.Load(), PushGone: c.pushGone.Load(), PushSkipped: c.pushSkipped.Load(),
		WebhookSent: c.webhookSent.Load(), WebhookRetried: c.webhookRetried.Load(),
		WebhookFailed: c.webhookFailed.Load()}
}

func safeByte(b []byte, i int) byte {
	if i < len(b) {
		return b[i]
	}
	return 0
}
