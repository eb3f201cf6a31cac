package belfry

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"time"
)

// PushTokenTTL is how long the token in a push payload is good for: the
// user may click a notification that stayed on the screen for days.
const PushTokenTTL = 7 * 24 * time.Hour

// decidePush runs a JobPush: whether the notification is pushed, and to
// which subscriptions.
func (r *Reach) decidePush(ctx context.Context, j Job) Settlement {
	now := r.now()
	n, err := r.notification(ctx, j.UserID, j.NotificationID, now)
	if err != nil {
		return r.later(err)
	}
	if n == nil {
		r.stats.pushSkipped.Add(1)
		return Settlement{Done: true}
	}
	ch, err := r.channels(ctx, n)
	if err != nil {
		return r.later(err)
	}
	if !ch.Push {
		r.stats.pushSkipped.Add(1)
		return Settlement{Done: true}
	}
	if PushMode(j.Payload) != PushAlways {
		if n.SeenAt != nil || n.ReadAt != nil || n.ArchivedAt != nil {
			r.stats.pushSkipped.Add(1)
			return Settlement{Done: true}
		}
		ps, err := r.Presence.Lookup(ctx, []string{n.UserID})
		if err != nil {
			return r.later(err)
		}
		if ps[0].Online {
			r.stats.pushSkipped.Add(1)
			return Settlement{Done: true}
		}
	}
	subs, err := r.Store.SubscriptionsOf(ctx, n.UserID)
	if err != nil {
		return r.later(err)
	}
	expires := FormatTime(now.Add(r.PushTTL))
	next := make([]Job, len(subs))
	for i, s := range subs {
		p, _ := json.Marshal(PushSendPayload{Endpoint: s.Endpoint, Expires: expires})
		next[i] = Job{ID: NewJobID(now), Kind: JobPushSend, UserID: n.UserID, NotificationID: n.ID,
			Created: now, Due: now, Payload: p}
	}
	if len(next) > 0 {
		defer r.Poke()
	}
	return Settlement{Done: true, Next: next}
}

// sendPush runs a JobPushSend: one request to one push service, and what
// its answer means (RFC 8030 §5 and the push services' documentation).
func (r *Reach) sendPush(ctx context.Context, j Job) Settlement {
	now := r.now()
	var p PushSendPayload
	if err := json.Unmarshal(j.Payload, &p); err != nil {
		return Settlement{Fail: true, LastError: "unreadable payload: " + err.Error()}
	}
	expires, err := time.Parse(time.RFC3339, p.Expires)
	if err != nil {
		return Settlement{Fail: true, LastError: "unreadable expiry: " + err.Error()}
	}
	if !now.Before(expires) {
		r.stats.pushFailed.Add(1)
		return Settlement{Fail: true, LastError: "the push TTL passed"}
	}
	n, err := r.notification(ctx, j.UserID, j.NotificationID, now)
	if err != nil {
		return r.later(err)
	}
	if n == nil {
		r.stats.pushSkipped.Add(1)
		return Settlement{Done: true}
	}
	sub, err := r.subscription(ctx, j.UserID, p.Endpoint)
	if err != nil {
		return r.later(err)
	}
	if sub == nil { // the user unsubscribed meanwhile
		r.stats.pushSkipped.Add(1)
		return Settlement{Done: true}
	}
	body, err := r.pushPayload(n, p.Small)
	if err == nil && len(body) > MaxPushPayload { // a long message: send what fits
		body, err = r.pushPayload(n, true)
	}
	if err != nil {
		return Settlement{Fail: true, LastError: err.Error()}
	}
	sctx, sp := StartSpan(ctx, r.Tracer, "push.send", SpanClient)
	d, err := r.Push.Push(sctx, PushRequest{Subscription: *sub, Payload: body,
		TTL: expires.Sub(now).Truncate(time.Second), Urgency: "normal", Topic: PushTopic(n.UserID, n.ID)})
	endAttempt(sp, j, d.Status, err)
	retry := func(why string, after time.Duration) Settlement {
		next := now.Add(max(backoff(j.Attempts, 5*time.Second, time.Hour), after))
		if !next.Before(expires) {
			r.stats.pushFailed.Add(1)
			return Settlement{Fail: true, LastError: why + "; the push TTL ends before the next try"}
		}
		r.stats.pushRetried.Add(1)
		return Settlement{Retry: next, LastError: why}
	}
	switch {
	case err != nil && ErrorCode(err) == EINVALID:
		r.stats.pushFailed.Add(1)
		return Settlement{Fail: true, LastError: err.Error()}
	case err != nil:
		return retry(err.Error(), 0)
	case d.Status >= 200 && d.Status < 300:
		r.stats.pushSent.Add(1)
		return Settlement{Done: true}
	case d.Status == 404 || d.Status == 410:
		// The subscription expired or the user revoked it.
		if err := r.Store.Unsubscribe(context.WithoutCancel(ctx), j.UserID, p.Endpoint); err != nil &&
			ErrorCode(err) != ENOTFOUND {
			return r.later(err)
		}
		r.stats.pushGone.Add(1)
		return Settlement{Done: true}
	case d.Status == 413 && !p.Small:
		p.Small = true
		small, _ := json.Marshal(p)
		r.stats.pushRetried.Add(1)
		return Settlement{Retry: now, Payload: small, LastError: "413: payload too large; retrying with id, title and link"}
	case d.Status == 429 || d.Status >= 500:
		return retry(fmt.Sprintf("the push service answered %d", d.Status), d.RetryAfter)
	default:
		r.stats.pushFailed.Add(1)
		return Settlement{Fail: true, LastError: fmt.Sprintf("the push service answered %d", d.Status)}
	}
}

func (r *Reach) subscription(ctx context.Context, user, endpoint string) (*Subscription, error) {
	subs, err := r.Store.SubscriptionsOf(ctx, user)
	if err != nil {
		return nil, err
	}
	for i := range subs {
		if subs[i].Endpoint == endpoint {
			return &subs[i], nil
		}
	}
	return nil, nil
}

// PushTopic is the Topic of a notification's pushes: a push service
// replaces an undelivered push with a newer one of the same topic, so a
// retried notification is shown once.
func PushTopic(user string, id int64) string {
	h := sha256.Sum256(fmt.Appendf(nil, "%s\x00%d", user, id))
	return base64.RawURLEncoding.EncodeToString(h[:24]) // 32 characters
}

// PushPayload is what the service worker receives (see docs/reach.md).
type PushPayload struct {
	ID        int64        `json:"id"`
	UserID    string       `json:"user_id,omitempty"`
	Title     string       `json:"title,omitempty"`
	Body      string       `json:"body,omitempty"`
	Link      string       `json:"link,omitempty"`
	Icon      string       `json:"icon,omitempty"`
	Category  string       `json:"category,omitempty"`
	Actions   []PushAction `json:"actions,omitempty"`
	CreatedAt string       `json:"created_at,omitempty"`
	API       string       `json:"api,omitempty"`
	Token     string       `json:"token,omitempty"`
}

// PushAction is an action button as the Notifications API names it.
type PushAction struct {
	Action string `json:"action"`
	Title  string `json:"title"`
}

// pushPayload returns the payload for n: the whole of it, or (small, after
// a 413) only its id, title and link. Without the token, the worker's
// click marks it read with the browser's own credentials, if any.
func (r *Reach) pushPayload(n *Notification, small bool) ([]byte, error) {
	p := PushPayload{ID: n.ID, Title: n.Title, Link: n.Link}
	if !small {
		p.API = r.API
		if r.Token != nil {
			tok, err := r.Token(n.UserID, n.ID, PushTokenTTL)
			if err != nil {
				return nil, err
			}
			p.Token = tok
		}
		p.UserID, p.Body, p.Icon, p.Category = n.UserID, n.Message, n.Avatar, n.Category
		p.CreatedAt = FormatTime(n.CreatedAt)
		for _, a := range n.Actions {
			p.Actions = append(p.Actions, PushAction{Action: a.ID, Title: a.Label})
		}
	}
	return json.Marshal(p)
}
