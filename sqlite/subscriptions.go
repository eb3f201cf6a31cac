package sqlite

import (
	"context"
	"time"

	"github.com/belfry/belfry"
)

// Subscribe stores sub for the user in the writer's transaction: a
// subscription with the same endpoint, whoever's it was, is replaced.
// Errors: EINVALID (no endpoint), ELIMIT (the user has
// belfry.MaxSubscriptions with other endpoints), EUNAVAILABLE.
func (s *Store) Subscribe(ctx context.Context, userID string, sub belfry.Subscription) error {
	if sub.Endpoint == "" {
		return belfry.Errorf(belfry.EINVALID, "a push subscription needs an endpoint")
	}
	sub.Created = belfry.Now(sub.Created)
	return s.submit(ctx, &request{op: opSubscribe, user: userID, ob: &outboxReq{sub: sub}})
}

// Unsubscribe removes the user's subscription with the endpoint; another
// user's is never touched. Errors: ENOTFOUND, EUNAVAILABLE.
func (s *Store) Unsubscribe(ctx context.Context, userID, endpoint string) error {
	return s.submit(ctx, &request{op: opUnsubscribe, user: userID,
		ob: &outboxReq{sub: belfry.Subscription{Endpoint: endpoint}}})
}

// SubscriptionsOf returns the user's subscriptions, oldest Created first,
// then by endpoint. Errors: EUNAVAILABLE.
func (s *Store) SubscriptionsOf(ctx context.Context, userID string) ([]belfry.Subscription, error) {
	rows, err := s.reads.subscriptions.QueryContext(ctx, userID)
	if err != nil {
		return nil, belfry.Unavailable("sqlite store", err)
	}
	defer rows.Close()
	var subs []belfry.Subscription
	for rows.Next() {
		var (
			sub     belfry.Subscription
			created int64
		)
		if err := rows.Scan(&sub.Endpoint, &sub.P256DH, &sub.Auth, &created); err != nil {
			return nil, belfry.Unavailable("sqlite store", err)
		}
		sub.Created = time.UnixMilli(created).UTC()
		subs = append(subs, sub)
	}
	if err := rows.Err(); err != nil {
		return nil, belfry.Unavailable("sqlite store", err)
	}
	return subs, nil
}

var errTooManySubs = belfry.Errorf(belfry.ELIMIT, "at most %d push subscriptions per user", belfry.MaxSubscriptions)

// subscribe counts the user's other subscriptions, then upserts by
// endpoint.
func (w *writer) subscribe(ctx context.Context, r *request) error {
	sub := r.ob.sub
	var others int
	if err := w.countSubs.QueryRowContext(ctx, r.user, sub.Endpoint).Scan(&others); err != nil {
		return err
	}
	if others >= belfry.MaxSubscriptions {
		r.err = errTooManySubs
		return nil
	}
	_, err := w.putSub.ExecContext(ctx, sub.Endpoint, r.user, sub.P256DH, sub.Auth, sub.Created.UnixMilli())
	return err
}

func (w *writer) unsubscribe(ctx context.Context, r *request) error {
	res, err := w.delSub.ExecContext(ctx, r.ob.sub.Endpoint, r.user)
	if err != nil {
		return err
	}
	n, err := res.RowsAffected()
	if err != nil {
		return err
	}
	if n == 0 {
		r.err = belfry.Errorf(belfry.ENOTFOUND, "no such push subscription")
	}
	return nil
}
