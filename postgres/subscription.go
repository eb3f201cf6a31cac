package postgres

import (
	"context"
	"errors"
	"unicode/utf8"

	"github.com/belfry/belfry"
	"github.com/jackc/pgx/v5"
)

// maxEndpoint bounds a subscription's endpoint, in bytes (the HTTP layer
// refuses longer ones first). It also keeps the endpoint well within what
// a B-tree entry of its primary key can hold.
const maxEndpoint = 2048

// subscriptionLockClass is the first key of the transaction advisory lock
// a Subscribe holds on its user; the second is a hash of the schema and
// the user. Users whose hashes collide only wait for each other.
const subscriptionLockClass = 0x62656c70 // "belp"

// subscribeSQL stores the subscription $2 for the user $1, taking the
// endpoint over from whoever had it, unless the user has $6 or more
// subscriptions with other endpoints: then it returns no row.
const subscribeSQL = `
WITH n AS (
	SELECT count(*) AS others FROM belfry_push_subscriptions
	WHERE user_id = $1 AND endpoint <> $2
)
INSERT INTO belfry_push_subscriptions AS p (endpoint, user_id, p256dh, auth, created_at)
SELECT $2, $1, $3, $4, $5 FROM n WHERE n.others < $6
ON CONFLICT (endpoint) DO UPDATE SET user_id = excluded.user_id, p256dh = excluded.p256dh,
	auth = excluded.auth, created_at = excluded.created_at
RETURNING 1`

// Subscribe stores the subscription for the user, replacing the one with
// the same endpoint whoever's it was. The user's count and the insert run
// under a lock on the user (a transaction advisory lock, taken before the
// count's snapshot), so concurrent Subscribes of one user, on any node,
// count each other and never exceed belfry.MaxSubscriptions. A zero
// sub.Created is the store's clock.
// Errors: ELIMIT, EINVALID (an empty endpoint or one over 2,048 bytes, a
// NUL character), EUNAVAILABLE.
func (s *Store) Subscribe(ctx context.Context, userID string, sub belfry.Subscription) error {
	if sub.Endpoint == "" || len(sub.Endpoint) > maxEndpoint {
		return belfry.Errorf(belfry.EINVALID, "a push endpoint must be 1 to %d bytes", maxEndpoint)
	}
	for _, t := range []string{userID, sub.Endpoint, sub.P256DH, sub.Auth} {
		if hasNULString(t) || !utf8.ValidString(t) {
			return belfry.Errorf(belfry.EINVALID, "a push subscription must be UTF-8 without NUL characters")
		}
	}
	created := belfry.Now(sub.Created)
	if sub.Created.IsZero() {
		created = belfry.Now(s.now())
	}
	err := s.do(ctx, false, func() error {
		return pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
			if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1, hashtext(current_schema() || ' ' || $2))`,
				subscriptionLockClass, userID); err != nil {
				return err
			}
			var one int32
			err := tx.QueryRow(ctx, subscribeSQL, userID, sub.Endpoint, sub.P256DH, sub.Auth, created,
				belfry.MaxSubscriptions).Scan(&one)
			if errors.Is(err, pgx.ErrNoRows) {
				return errLimit
			}
			return err
		})
	})
	if err != nil {
		return classify("postgres", err)
	}
	return nil
}

var errLimit = belfry.Errorf(belfry.ELIMIT, "at most %d push subscriptions per user", belfry.MaxSubscriptions)

// Unsubscribe removes the user's subscription with this endpoint, never
// another user's. Errors: ENOTFOUND, EUNAVAILABLE.
func (s *Store) Unsubscribe(ctx context.Context, userID, endpoint string) error {
	if hasNULString(userID) || hasNULString(endpoint) {
		return errNoSubscription
	}
	var deleted int64
	err := s.do(ctx, false, func() error {
		tag, err := s.pool.Exec(ctx, `DELETE FROM belfry_push_subscriptions
			WHERE endpoint = $2 AND user_id = $1`, userID, endpoint)
		deleted = tag.RowsAffected()
		return err
	})
	if err != nil {
		return classify("postgres", err)
	}
	if deleted == 0 {
		return errNoSubscription
	}
	return nil
}

var errNoSubscription = belfry.Errorf(belfry.ENOTFOUND, "no such push subscription")

// SubscriptionsOf returns the user's subscriptions, oldest Created first,
// then by endpoint. Errors: EUNAVAILABLE.
func (s *Store) SubscriptionsOf(ctx context.Context, userID string) ([]belfry.Subscription, error) {
	if hasNULString(userID) {
		return nil, nil
	}
	var subs []belfry.Subscription
	err := s.do(ctx, true, func() error {
		rows, err := s.pool.Query(ctx, `SELECT endpoint, p256dh, auth, created_at
			FROM belfry_push_subscriptions WHERE user_id = $1 ORDER BY created_at, endpoint`, userID)
		if err != nil {
			return err
		}
		subs, err = pgx.CollectRows(rows, func(r pgx.CollectableRow) (belfry.Subscription, error) {
			var sub belfry.Subscription
			err := r.Scan(&sub.Endpoint, &sub.P256DH, &sub.Auth, &sub.Created)
			sub.Created = sub.Created.UTC()
			return sub, err
		})
		return err
	})
	if err != nil {
		return nil, classify("postgres", err)
	}
	return subs, nil
}
