package postgres

import (
	"context"
	"time"

	"github.com/belfry/belfry"
)

// Each Purge statement deletes at most a batch of rows it locks with FOR
// UPDATE SKIP LOCKED: rows a user is changing right now, or another node's
// Purge is deleting, are left for the next call instead of waited for,
// and no lock outlives its statement.

// purgeExpiredSQL deletes the notifications expired at $1, the earliest
// first, found through the partial index of expiring ones.
const purgeExpiredSQL = `
WITH v AS (
	SELECT user_id, id FROM belfry_notifications
	WHERE expires_at <= $1 ORDER BY expires_at LIMIT $2
	FOR UPDATE SKIP LOCKED
)
DELETE FROM belfry_notifications n USING v WHERE n.user_id = v.user_id AND n.id = v.id
RETURNING n.user_id, n.id`

// purgeOldSQL deletes notifications created before $1 that are read or
// archived, or any with $2, found through the block range index on
// created_at.
const purgeOldSQL = `
WITH v AS (
	SELECT user_id, id FROM belfry_notifications
	WHERE created_at < $1 AND ($2 OR read_at IS NOT NULL OR archived_at IS NOT NULL) LIMIT $3
	FOR UPDATE SKIP LOCKED
)
DELETE FROM belfry_notifications n USING v WHERE n.user_id = v.user_id AND n.id = v.id
RETURNING n.user_id, n.id`

// overfullSQL finds, in user order after $1 (and up to $4 unless NULL),
// up to $3 users who may hold more than $2 notifications: those with one
// at least $2 ids below their last id. Each test is one probe of the
// primary key; a user with fewer but holes (deleted ids) passes it too,
// and trimSQL then finds nothing to delete.
const overfullSQL = `
SELECT c.user_id FROM belfry_counters c
WHERE c.user_id > $1 AND ($4::text IS NULL OR c.user_id <= $4) AND c.last_id > $2
	AND EXISTS (SELECT 1 FROM belfry_notifications n
		WHERE n.user_id = c.user_id AND n.id <= c.last_id - $2)
ORDER BY c.user_id LIMIT $3`

// trimSQL deletes, oldest first and at most $3, the notifications of the
// users $1 beyond each one's $2 newest.
const trimSQL = `
WITH o AS (
	SELECT u.user_id, (SELECT n.id FROM belfry_notifications n WHERE n.user_id = u.user_id
		ORDER BY n.id DESC OFFSET $2 LIMIT 1) AS top
	FROM unnest($1::text[]) AS u(user_id)
), v AS (
	SELECT n.user_id, n.id FROM o JOIN belfry_notifications n ON n.user_id = o.user_id AND n.id <= o.top
	ORDER BY n.user_id, n.id LIMIT $3
	FOR UPDATE OF n SKIP LOCKED
)
DELETE FROM belfry_notifications n USING v WHERE n.user_id = v.user_id AND n.id = v.id
RETURNING n.user_id, n.id`

// purgeKeysSQL deletes idempotency keys expired at $1 and their records.
// A key being claimed again right now is locked, so skipped; one claimed
// again once the select saw it expired is rechecked by FOR UPDATE, and
// kept.
const purgeKeysSQL = `
WITH k AS (
	DELETE FROM belfry_idempotency_keys WHERE name IN (
		SELECT name FROM belfry_idempotency_keys WHERE expires_at <= $1 LIMIT $2
		FOR UPDATE SKIP LOCKED)
	RETURNING name
), r AS (
	DELETE FROM belfry_idempotency_records r USING k WHERE r.name = k.name
)
SELECT count(*) FROM k`

// overfullWindow is how many users one overfullSQL returns.
const overfullWindow = 100

// maxKeyBatches bounds the batches of expired idempotency keys one Purge
// deletes.
const maxKeyBatches = 10

// Purge deletes at most q.Limit notifications: expired ones first, then
// old ones (q.RetainBefore), then those beyond q.MaxPerUser of each user;
// and expired idempotency keys. Each kind is deleted by short statements
// of one batch each (see above). Users over q.MaxPerUser are looked for
// in user order from where the previous call of this Store stopped, so
// calls repeated while they return a full batch sweep every user once.
// Errors: EINVALID (q.Limit not above 0), EUNAVAILABLE.
func (s *Store) Purge(ctx context.Context, q belfry.PurgeQuery) ([]belfry.Removed, error) {
	if q.Limit <= 0 {
		return nil, belfry.Errorf(belfry.EINVALID, "purge limit must be above 0")
	}
	now := belfry.Now(q.Now)
	var out []belfry.Removed
	var err error
	if !q.Now.IsZero() {
		if out, err = s.purge(ctx, out, belfry.ReasonExpired, purgeExpiredSQL, now, q.Limit); err != nil {
			return out, err
		}
	}
	if !q.RetainBefore.IsZero() && len(out) < q.Limit {
		out, err = s.purge(ctx, out, belfry.ReasonRetention, purgeOldSQL,
			belfry.Now(q.RetainBefore), q.RetainUnread, q.Limit-len(out))
		if err != nil {
			return out, err
		}
	}
	if q.MaxPerUser > 0 && len(out) < q.Limit {
		if out, err = s.trim(ctx, out, q.MaxPerUser, q.Limit); err != nil {
			return out, err
		}
	}
	if !q.Now.IsZero() {
		if err := s.purgeKeys(ctx, now, q.Limit); err != nil {
			return out, err
		}
	}
	return out, nil
}

// purge runs one delete statement returning (user_id, id) and appends
// what it deleted to out.
func (s *Store) purge(ctx context.Context, out []belfry.Removed, why belfry.Reason, sql string, args ...any) ([]belfry.Removed, error) {
	n := len(out)
	err := s.do(ctx, false, func() error {
		out = out[:n]
		rows, err := s.pool.Query(ctx, sql, args...)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			r := belfry.Removed{Reason: why}
			if err := rows.Scan(&r.UserID, &r.ID); err != nil {
				return err
			}
			out = append(out, r)
		}
		return rows.Err()
	})
	if err != nil {
		return out[:n], classify("postgres", err)
	}
	return out, nil
}

// trim deletes notifications beyond max per user until out holds limit,
// or every user has been looked at once.
func (s *Store) trim(ctx context.Context, out []belfry.Removed, max, limit int) ([]belfry.Removed, error) {
	s.purgeMu.Lock()
	start := s.purgeFrom
	s.purgeMu.Unlock()
	from, upTo := start, (*string)(nil)
	for {
		var users []string
		err := s.do(ctx, true, func() error {
			rows, err := s.pool.Query(ctx, overfullSQL, from, max, overfullWindow, upTo)
			if err != nil {
				return err
			}
			users = users[:0]
			for rows.Next() {
				var u string
				if err := rows.Scan(&u); err != nil {
					return err
				}
				users = append(users, u)
			}
			return rows.Err()
		})
		if err != nil {
			return out, classify("postgres", err)
		}
		if len(users) > 0 {
			if out, err = s.purge(ctx, out, belfry.ReasonRetention, trimSQL, users, max, limit-len(out)); err != nil {
				return out, err
			}
			if len(out) >= limit {
				// These users may hold more: the next call starts with them.
				s.setPurgeFrom(from)
				return out, nil
			}
			from = users[len(users)-1]
		}
		if len(users) < overfullWindow {
			if upTo != nil || start == "" {
				s.setPurgeFrom("")
				return out, nil
			}
			from, upTo = "", &start // wrap around to where this call started
		}
	}
}

func (s *Store) setPurgeFrom(u string) {
	s.purgeMu.Lock()
	s.purgeFrom = u
	s.purgeMu.Unlock()
}

// purgeKeys deletes expired idempotency keys, batch by batch.
func (s *Store) purgeKeys(ctx context.Context, now time.Time, limit int) error {
	for range maxKeyBatches {
		var n int64
		err := s.do(ctx, false, func() error {
			return s.pool.QueryRow(ctx, purgeKeysSQL, now, limit).Scan(&n)
		})
		if err != nil {
			return classify("postgres", err)
		}
		if n < int64(limit) {
			return nil
		}
	}
	return nil
}
