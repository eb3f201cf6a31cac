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

// purgeOldSQL deletes read or archived notifications created before $1,
// found through the partial index of those.
const purgeOldSQL = `
WITH v AS (
	SELECT user_id, id FROM belfry_notifications
	WHERE created_at < $1 AND (read_at IS NOT NULL OR archived_at IS NOT NULL) LIMIT $2
	FOR UPDATE SKIP LOCKED
)
DELETE FROM belfry_notifications n USING v WHERE n.user_id = v.user_id AND n.id = v.id
RETURNING n.user_id, n.id`

// sweepSQL reads the next $3 users after $1 (up to $2 unless NULL), in
// user order, and says of each whether it may need trimming: more than $4
// notifications (when $4 > 0), or an unread one created before $5 (when
// not NULL). Each test is one probe of an index: a notification at least
// $4 ids below the user's last id (a user with fewer but holes, deleted
// ids, passes too, and trimSQL then finds nothing to delete); the user's
// oldest unread notification.
const sweepSQL = `
SELECT c.user_id,
	($4 > 0 AND c.last_id > $4 AND EXISTS (SELECT 1 FROM belfry_notifications n
		WHERE n.user_id = c.user_id AND n.id <= c.last_id - $4))
	OR ($5::timestamptz IS NOT NULL AND (SELECT n.created_at FROM belfry_notifications n
		WHERE n.user_id = c.user_id AND n.read_at IS NULL ORDER BY n.id LIMIT 1) < $5)
FROM belfry_counters c
WHERE c.user_id > $1 AND ($2::text IS NULL OR c.user_id <= $2)
ORDER BY c.user_id LIMIT $3`

// purgeOldUnreadSQL deletes, oldest first and at most $3, the unread
// notifications of the users $1 created before $2.
const purgeOldUnreadSQL = `
WITH v AS (
	SELECT user_id, id FROM belfry_notifications
	WHERE user_id = ANY($1) AND read_at IS NULL AND created_at < $2
	ORDER BY user_id, id LIMIT $3
	FOR UPDATE SKIP LOCKED
)
DELETE FROM belfry_notifications n USING v WHERE n.user_id = v.user_id AND n.id = v.id
RETURNING n.user_id, n.id`

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

// purgeFailedSQL deletes up to $2 failed outbox jobs created before $1,
// found through the partial index of failed jobs. A job being revived
// right now is locked, so skipped; one revived once the select saw it
// failed is rechecked by FOR UPDATE, and kept.
const purgeFailedSQL = `
DELETE FROM belfry_outbox WHERE id IN (
	SELECT id FROM belfry_outbox WHERE failed AND created_at < $1 LIMIT $2
	FOR UPDATE SKIP LOCKED)`

// sweepWindow is how many users one sweepSQL reads (Store.sweepWindow
// unless a test changes it).
const sweepWindow = 1000

// maxKeyBatches bounds the batches of expired idempotency keys one Purge
// deletes.
const maxKeyBatches = 10

// Purge deletes at most q.Limit notifications: expired ones first, then
// old ones (q.RetainBefore), then those beyond q.MaxPerUser of each user;
// expired idempotency keys; and up to q.Limit failed outbox jobs created
// before q.FailedBefore (not in the result). Jobs of the notifications
// deleted stay: they check their notification when they run. Each kind is deleted by short statements
// of one batch each (see above). Old unread notifications (with
// q.RetainUnread) and users over q.MaxPerUser are looked for user by user
// (sweep), from where the previous call of this Store stopped, so calls
// repeated while they return a full batch look at every user once.
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
	var oldUnread *time.Time
	if !q.RetainBefore.IsZero() {
		before := belfry.Now(q.RetainBefore)
		if len(out) < q.Limit {
			out, err = s.purge(ctx, out, belfry.ReasonRetention, purgeOldSQL, before, q.Limit-len(out))
			if err != nil {
				return out, err
			}
		}
		if q.RetainUnread {
			oldUnread = &before
		}
	}
	if (q.MaxPerUser > 0 || oldUnread != nil) && len(out) < q.Limit {
		if out, err = s.sweep(ctx, out, oldUnread, q.MaxPerUser, q.Limit); err != nil {
			return out, err
		}
	}
	if !q.Now.IsZero() {
		if err := s.purgeKeys(ctx, now, q.Limit); err != nil {
			return out, err
		}
	}
	if !q.FailedBefore.IsZero() {
		err := s.do(ctx, false, func() error {
			_, err := s.pool.Exec(ctx, purgeFailedSQL, belfry.Now(q.FailedBefore), q.Limit)
			return err
		})
		if err != nil {
			return out, classify("postgres", err)
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

// sweep deletes unread notifications created before oldUnread (unless
// nil) and notifications beyond max per user (unless 0), until out holds
// limit or every user has been looked at once.
func (s *Store) sweep(ctx context.Context, out []belfry.Removed, oldUnread *time.Time, max, limit int) ([]belfry.Removed, error) {
	s.purgeMu.Lock()
	start := s.purgeFrom
	s.purgeMu.Unlock()
	from, upTo := start, (*string)(nil)
	for {
		var read int
		var users []string
		var last string
		err := s.do(ctx, true, func() error {
			read, users = 0, users[:0]
			rows, err := s.pool.Query(ctx, sweepSQL, from, upTo, s.sweepWindow, max, oldUnread)
			if err != nil {
				return err
			}
			defer rows.Close()
			for rows.Next() {
				var u string
				var candidate *bool
				if err := rows.Scan(&u, &candidate); err != nil {
					return err
				}
				read++
				if candidate != nil && *candidate {
					users = append(users, u)
				}
				last = u
			}
			return rows.Err()
		})
		if err != nil {
			return out, classify("postgres", err)
		}
		if len(users) > 0 {
			if oldUnread != nil {
				if out, err = s.purge(ctx, out, belfry.ReasonRetention, purgeOldUnreadSQL, users, *oldUnread, limit-len(out)); err != nil {
					return out, err
				}
			}
			if max > 0 && len(out) < limit {
				if out, err = s.purge(ctx, out, belfry.ReasonRetention, trimSQL, users, max, limit-len(out)); err != nil {
					return out, err
				}
			}
			if len(out) >= limit {
				// These users may hold more: the next call starts again
				// with this window.
				s.setPurgeFrom(from)
				return out, nil
			}
		}
		from = last
		if read < s.sweepWindow {
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
