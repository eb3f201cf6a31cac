package belfry

import (
	"context"
	"log/slog"
	"sync"
	"time"
)

// Inbox is the service that publishers and users call: every change goes
// to the Store first and then, as an event, to the Broker.
type Inbox struct {
	Store  Store
	Broker Broker
	// Reach, when set, gets the outbox jobs of each publish (pushes,
	// escalations) and the webhook events of reads and actions.
	Reach  *Reach
	Now    func() time.Time // default time.Now
	Logger *slog.Logger     // default slog.Default()
	// Tracer, when set, records a span per publish with the store's and
	// the broker's as children (nil: off).
	Tracer Tracer

	// tellMu serializes, per user (by hash), reading the counts after a
	// change and publishing them, so that this node publishes a user's
	// state events in the order of their snapshots: the last event a tab
	// gets carries the latest counts.
	tellMu [256]sync.Mutex
	// hookMus serialize a user's reads and actions while webhooks are on
	// (see current).
	hookMus [64]sync.Mutex
}

func (ib *Inbox) now() time.Time {
	if ib.Now != nil {
		return Now(ib.Now())
	}
	return Now(time.Now())
}

func (ib *Inbox) logger() *slog.Logger {
	if ib.Logger != nil {
		return ib.Logger
	}
	return slog.Default()
}

// Published is the outcome of a publish call.
type Published struct {
	Notifications []*Notification // created (or, Replayed, created by the first call), in input order
	Skipped       []string        // users whose preferences turn the category off in-app
	Replayed      bool            // an earlier call with the same idempotency key did the work
}

// Publish validates the draft, stores one notification per user (all or
// none; users whose preferences turn its category off in-app are skipped)
// and publishes them. With a key, a repeat of the call within the key's
// window creates nothing and answers what the first call created.
// Duplicate user ids are dropped. Errors: EINVALID, ETOOLARGE,
// EIDEMCONFLICT, EUNAVAILABLE.
func (ib *Inbox) Publish(ctx context.Context, d Draft, key *IdempotencyKey) (*Published, error) {
	if ib.Tracer == nil {
		return ib.publishDraft(ctx, d, key)
	}
	ctx, sp := ib.Tracer.Start(ctx, "belfry.publish", SpanInternal)
	sp.SetInt("belfry.users", int64(len(d.UserIDs)))
	p, err := ib.publishDraft(ctx, d, key)
	if p != nil && sp.Recording() {
		ids := make([]int64, len(p.Notifications))
		for i, n := range p.Notifications {
			ids[i] = n.ID
		}
		sp.SetInts("belfry.notification_ids", ids)
		sp.SetInt("belfry.skipped", int64(len(p.Skipped)))
		if p.Replayed {
			sp.SetString("belfry.replayed", "true")
		}
	}
	sp.End(err)
	return p, err
}

func (ib *Inbox) publishDraft(ctx context.Context, d Draft, key *IdempotencyKey) (*Published, error) {
	if err := d.Validate(); err != nil {
		return nil, err
	}
	ttl := d.TTL
	if err := d.expiry(ib.now()); err != nil {
		return nil, err
	}
	pub := new(publishing)
	ns := pub.ns[:]
	if len(d.UserIDs) != 1 {
		ns = make([]*Notification, len(d.UserIDs))
	}
	for i, u := range d.UserIDs {
		n := &pub.n
		if i > 0 {
			n = new(Notification)
		}
		*n = Notification{UserID: u, Message: d.Message, Title: d.Title,
			Link: d.Link, Category: d.Category, Data: d.Data, Avatar: d.Avatar,
			Actions: d.Actions, ExpiresAt: d.ExpiresAt}
		ns[i] = n
	}
	b := &pub.b
	*b = Batch{Notifications: ns, Key: key, Jobs: ib.Reach.Jobs(d, ns)}
	sctx, sp := StartSpan(ctx, ib.Tracer, "store.publish", SpanInternal)
	sp.SetInt("belfry.notifications", int64(len(ns)))
	sp.SetInt("belfry.jobs", int64(len(b.Jobs)))
	err := ib.Store.Publish(sctx, b)
	sp.End(err)
	if err != nil {
		return nil, err
	}
	if len(b.Jobs) > 0 && !b.Replayed {
		ib.Reach.Poke()
	}
	if b.Replayed && ttl > 0 {
		ib.replayedExpiry(ctx, b.Notifications)
	}
	if !b.Replayed && len(b.Notifications) > 0 {
		msgs := pub.msgs[:]
		if len(b.Notifications) != 1 {
			msgs = make([]Message, len(b.Notifications))
		}
		for i, n := range b.Notifications {
			msgs[i] = Message{Kind: KindNew, UserID: n.UserID, New: n}
		}
		bctx, sp := StartSpan(ctx, ib.Tracer, "broker.publish", SpanProducer)
		sp.SetInt("belfry.events", int64(len(msgs)))
		sp.End(ib.publish(bctx, msgs))
	}
	pub.p = Published{Notifications: b.Notifications, Skipped: b.Skipped, Replayed: b.Replayed}
	return &pub.p, nil
}

// publishing is what publishDraft allocates, in one piece: a publish to
// one user, the usual kind, needs no other allocation of its own.
type publishing struct {
	b    Batch
	p    Published
	n    Notification // the first user's
	ns   [1]*Notification
	msgs [1]Message
}

// replayedExpiry sets the expiry of replayed notifications published with
// a ttl to the one the first call stored (this call computed its own from
// its own clock): the record keeps ids and creation times, and expires_at
// is read back. One that is gone since keeps the recomputed one.
func (ib *Inbox) replayedExpiry(ctx context.Context, ns []*Notification) {
	for _, n := range ns {
		got, err := ib.Store.After(ctx, n.UserID, n.ID-1, 1)
		if err == nil && len(got) == 1 && got[0].ID == n.ID {
			n.ExpiresAt = got[0].ExpiresAt
		}
	}
}

// Create is Publish without an idempotency key, answering the
// notifications created. Errors: EINVALID, ETOOLARGE, EUNAVAILABLE.
func (ib *Inbox) Create(ctx context.Context, d Draft) ([]*Notification, error) {
	p, err := ib.Publish(ctx, d, nil)
	if err != nil {
		return nil, err
	}
	return p.Notifications, nil
}

// publish hands events to the broker. A failure is logged, not returned:
// the change is durable, and streams catch up from the store. The caller
// leaving (ctx canceled, say a publisher's client timing out) once the
// change is committed does not stop its events: the broker's own timeout
// bounds the call. The error is answered for the trace only.
func (ib *Inbox) publish(ctx context.Context, msgs []Message) error {
	if ctx.Done() != nil { // a context that cannot be canceled is kept: no allocation
		ctx = context.WithoutCancel(ctx)
	}
	err := ib.Broker.Publish(ctx, msgs)
	if err != nil {
		ib.logger().Warn("broker publish failed; streams will catch up from the store",
			"events", len(msgs), "err", err)
	}
	return err
}

// List returns a page of the user's notifications, newest first, and
// whether more exist beyond it. Errors: EINVALID, EUNAVAILABLE.
func (ib *Inbox) List(ctx context.Context, user string, q ListQuery) ([]*Notification, bool, error) {
	if q.Limit == 0 {
		q.Limit = DefaultPageSize
	}
	if q.Limit < 1 || q.Limit > MaxPageSize {
		return nil, false, Errorf(EINVALID, "limit must be between 1 and %d", MaxPageSize)
	}
	if q.Before < 0 {
		return nil, false, Errorf(EINVALID, "before must be a positive id")
	}
	switch q.Status {
	case "":
		q.Status = StatusInbox
	case StatusInbox, StatusArchived, StatusAll:
	default:
		return nil, false, Errorf(EINVALID, "status must be inbox, archived or all")
	}
	if q.Category != "" {
		if err := ValidateCategory(q.Category); err != nil {
			return nil, false, err
		}
	}
	want := q.Limit
	q.Limit++
	ns, err := ib.Store.List(ctx, user, q)
	if err != nil {
		return nil, false, err
	}
	if len(ns) > want {
		return ns[:want], true, nil
	}
	return ns, false, nil
}

// Stats returns the user's counts and last id. Errors: EUNAVAILABLE.
func (ib *Inbox) Stats(ctx context.Context, user string) (Stats, error) {
	return ib.Store.Stats(ctx, user)
}

// Preferences returns the user's preferences. Errors: EUNAVAILABLE.
func (ib *Inbox) Preferences(ctx context.Context, user string) (Preferences, error) {
	return ib.Store.Preferences(ctx, user)
}

// SetPreferences validates and applies a patch to the user's preferences
// and returns them as they are now. Errors: EINVALID, EUNAVAILABLE.
func (ib *Inbox) SetPreferences(ctx context.Context, user string, p PreferencesPatch) (Preferences, error) {
	if err := p.Validate(); err != nil {
		return Preferences{}, err
	}
	return ib.Store.SetPreferences(ctx, user, p)
}
