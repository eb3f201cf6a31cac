package belfry

import (
	"context"
	"fmt"
	"time"
)

// Webhook event types.
const (
	EventUnseen  = "notification.unseen"
	EventAction  = "notification.action"
	EventRead    = "notification.read"
	EventOnline  = "user.online"
	EventOffline = "user.offline"
)

// escalate runs a JobEscalate: notification.unseen, unless the user saw,
// read or archived the notification first, it expired or went, or the
// category's webhook switch is off.
func (r *Reach) escalate(ctx context.Context, j Job) Settlement {
	now := r.now()
	n, err := r.notification(ctx, j.UserID, j.NotificationID, now)
	if err != nil {
		return r.later(err)
	}
	if n == nil || n.SeenAt != nil || n.ReadAt != nil || n.ArchivedAt != nil {
		return Settlement{Done: true}
	}
	ch, err := r.channels(ctx, n)
	if err != nil {
		return r.later(err)
	}
	if !ch.Webhook {
		return Settlement{Done: true}
	}
	defer r.Poke()
	return Settlement{Done: true, Next: []Job{r.event(EventUnseen, n.UserID, n.ID, now, n.AppendJSON(nil))}}
}

// deliver runs a JobWebhook: one attempt, retried with backoff (and at
// least the app's Retry-After) until WebhookRetryFor after the event.
func (r *Reach) deliver(ctx context.Context, j Job) Settlement {
	now := r.now()
	// The signature's timestamp is the wall clock: receivers compare it
	// with theirs to refuse replays (Now may be a test's clock).
	sctx, sp := StartSpan(ctx, r.Tracer, "webhook.deliver", SpanClient)
	d, err := r.Webhook.Deliver(sctx, j.ID, time.Now(), j.Payload)
	endAttempt(sp, j, d.Status, err)
	if err == nil && d.Status >= 200 && d.Status < 300 {
		r.stats.webhookSent.Add(1)
		return Settlement{Done: true}
	}
	if err != nil && ErrorCode(err) == EINVALID { // it can never be sent
		r.stats.webhookFailed.Add(1)
		return Settlement{Fail: true, LastError: err.Error()}
	}
	why := ""
	if err != nil {
		why = err.Error()
	} else {
		why = fmt.Sprintf("the app answered %d", d.Status)
	}
	next := now.Add(max(backoff(j.Attempts, 5*time.Second, 2*time.Hour), min(d.RetryAfter, 2*time.Hour)))
	if !next.Before(j.Created.Add(r.WebhookRetryFor)) {
		r.stats.webhookFailed.Add(1)
		return Settlement{Fail: true, LastError: why}
	}
	r.stats.webhookRetried.Add(1)
	return Settlement{Retry: next, LastError: why}
}

// event returns the JobWebhook of one event: the body the Standard
// Webhooks specification recommends, {"type", "timestamp", "data"}.
func (r *Reach) event(typ, user string, id int64, at time.Time, data []byte) Job {
	b := make([]byte, 0, 64+len(data))
	b = append(b, `{"type":"`...)
	b = append(b, typ...)
	b = append(b, `","timestamp":"`...)
	b = append(b, FormatTime(at)...)
	b = append(b, `","data":`...)
	b = append(b, data...)
	b = append(b, '}')
	return Job{ID: NewJobID(at), Kind: JobWebhook, UserID: user, NotificationID: id,
		Created: at, Due: at, Payload: b}
}

// Emit enqueues a webhook event now (a no-op without webhooks). data is
// the event's JSON "data". Errors: EUNAVAILABLE.
func (r *Reach) Emit(ctx context.Context, typ, user string, id int64, data []byte) error {
	if r == nil || r.Webhook == nil {
		return nil
	}
	r.init()
	if err := r.Store.Enqueue(ctx, []Job{r.event(typ, user, id, r.now(), data)}); err != nil {
		return err
	}
	r.Poke()
	return nil
}

// Webhooks reports whether webhooks are on.
func (r *Reach) Webhooks() bool { return r != nil && r.Webhook != nil }

// watchPresence turns the Presence's changes into checks due after the
// debounce; a newer change of the same user pushes its check back.
func (r *Reach) watchPresence(ctx context.Context) {
	ch := r.Presence.Changes()
	for {
		select {
		case <-ctx.Done():
			return
		case u := <-ch:
			r.PresenceChanged(u)
		}
	}
}

// PresenceChanged schedules a check of the user's presence after the
// debounce (Run does it for the Presence's Changes).
func (r *Reach) PresenceChanged(user string) {
	r.init()
	r.mu.Lock()
	r.pending[user] = r.now().Add(r.PresenceDebounce)
	r.mu.Unlock()
}

// checkPresence sends user.online or user.offline for each user whose
// check is due and whose presence differs from what the app was last
// told (Presence.Announce decides, cluster-wide, who sends it).
func (r *Reach) checkPresence(ctx context.Context, now time.Time) {
	if r.Presence == nil || r.Webhook == nil {
		return
	}
	var due []string
	r.mu.Lock()
	for u, at := range r.pending {
		if !at.After(now) {
			due = append(due, u)
			delete(r.pending, u)
		}
	}
	r.mu.Unlock()
	if len(due) == 0 {
		return
	}
	ps, err := r.Presence.Lookup(ctx, due)
	if err != nil {
		r.logger().Warn("reach: presence lookup failed; checking again later", "users", len(due), "err", err)
		r.mu.Lock()
		for _, u := range due {
			if _, ok := r.pending[u]; !ok {
				r.pending[u] = now.Add(r.PresenceDebounce)
			}
		}
		r.mu.Unlock()
		return
	}
	for _, p := range ps {
		changed, err := r.Presence.Announce(ctx, p.UserID, p.Online)
		if err != nil {
			r.PresenceChanged(p.UserID)
			continue
		}
		if !changed {
			continue
		}
		typ := EventOffline
		if p.Online {
			typ = EventOnline
		}
		if err := r.Emit(ctx, typ, p.UserID, 0, appendPresence(nil, p)); err != nil {
			r.logger().Warn("reach: enqueueing a presence webhook failed", "user", p.UserID, "err", err)
		}
	}
}

// appendPresence appends p as JSON: {"user_id","online","streams","since"}
// or, offline, "last_seen" when known.
func appendPresence(b []byte, p UserPresence) []byte {
	b = append(b, `{"user_id":`...)
	b = appendString(b, p.UserID)
	b = fmt.Appendf(b, `,"online":%t,"streams":%d`, p.Online, p.Streams)
	if p.Online && !p.Since.IsZero() {
		b = append(b, `,"since":"`...)
		b = append(b, FormatTime(p.Since)...)
		b = append(b, '"')
	}
	if !p.Online && !p.LastSeen.IsZero() {
		b = append(b, `,"last_seen":"`...)
		b = append(b, FormatTime(p.LastSeen)...)
		b = append(b, '"')
	}
	return append(b, '}')
}

// AppendPresence is appendPresence for the HTTP layer.
func AppendPresence(b []byte, p UserPresence) []byte { return appendPresence(b, p) }
