package sqlite

import (
	"context"
	"database/sql"

	"github.com/belfry/belfry"
)

// Purge deletes one batch of at most q.Limit notifications, through the
// writer in one transaction, in this order: expired ones (ReasonExpired),
// then for retention those created before q.RetainBefore that are read or
// archived, then (with RetainUnread) the other ones created before it,
// then the oldest of each user beyond q.MaxPerUser (ReasonRetention). It
// also deletes up to q.Limit idempotency keys expired at q.Now and, with
// q.FailedBefore set, up to q.Limit failed outbox jobs created before it,
// oldest first (not in the result).
//
// The first two walk indexes in the writer's transaction and stop at the
// batch's size. The last two have to scan (every unread row, or
// notifications_user whole, counting each user's rows), so the scan runs first
// on a read connection, beside the writer and without holding it, and
// hands the writer candidates, which it checks again before deleting (a
// row still created before the cut; a user's rows counted again).
// Errors: EINVALID (q.Limit not above 0), EUNAVAILABLE.
func (s *Store) Purge(ctx context.Context, q belfry.PurgeQuery) ([]belfry.Removed, error) {
	if q.Limit <= 0 {
		return nil, belfry.Errorf(belfry.EINVALID, "purge limit must be above 0")
	}
	j := &purgeJob{q: q}
	if !q.RetainBefore.IsZero() && q.RetainUnread {
		rows, err := s.reads.unreadOld.QueryContext(ctx, q.RetainBefore.UnixMilli(), q.Limit, s.nowMillis())
		if err != nil {
			return nil, belfry.Unavailable("sqlite store", err)
		}
		for rows.Next() {
			var c candidate
			if err := rows.Scan(&c.user, &c.id); err != nil {
				rows.Close()
				return nil, belfry.Unavailable("sqlite store", err)
			}
			j.old = append(j.old, c)
		}
		if err := rows.Close(); err != nil {
			return nil, belfry.Unavailable("sqlite store", err)
		}
	}
	if q.MaxPerUser > 0 {
		rows, err := s.reads.users.QueryContext(ctx, q.MaxPerUser, q.Limit)
		if err != nil {
			return nil, belfry.Unavailable("sqlite store", err)
		}
		for rows.Next() {
			var u string
			if err := rows.Scan(&u); err != nil {
				rows.Close()
				return nil, belfry.Unavailable("sqlite store", err)
			}
			j.users = append(j.users, u)
		}
		if err := rows.Close(); err != nil {
			return nil, belfry.Unavailable("sqlite store", err)
		}
	}
	r := &request{op: opPurge, purge: j}
	if err := s.submit(ctx, r); err != nil {
		return nil, err
	}
	return r.removed, nil
}

// purgeCountBudget bounds the rows the writer counts for the per-user
// maximum in one batch (writer.countBudget), at about 50 ns a row (5 ms):
// the publishes queued behind the batch wait for it. Candidates past it
// wait for the next retention pass; the first one is always counted.
const purgeCountBudget = 100_000

// purgeJob is a Purge for the writer, with the candidates found by scans
// on a read connection.
type purgeJob struct {
	q     belfry.PurgeQuery
	old   []candidate // unread rows created before q.RetainBefore
	users []string    // users with more than q.MaxPerUser rows
}

type candidate struct {
	user string
	id   int64
}

// purge applies a purgeJob inside the open transaction.
func (w *writer) purge(ctx context.Context, r *request) error {
	j := r.purge
	q := j.q
	left := q.Limit
	// take runs a deleting statement that returns user_id, id, and keeps
	// the floor of each user whose last id it deleted.
	take := func(reason belfry.Reason, st *sql.Stmt, args ...any) error {
		rows, err := st.QueryContext(ctx, args...)
		if err != nil {
			return err
		}
		defer rows.Close()
		newest := map[string]int64{}
		for rows.Next() {
			var x belfry.Removed
			if err := rows.Scan(&x.UserID, &x.ID); err != nil {
				return err
			}
			x.Reason = reason
			r.removed = append(r.removed, x)
			newest[x.UserID] = max(newest[x.UserID], x.ID)
			left--
		}
		if err := rows.Close(); err != nil {
			return err
		}
		for u, id := range newest {
			if _, err := w.floor.ExecContext(ctx, u, id); err != nil {
				return err
			}
		}
		return nil
	}
	if err := take(belfry.ReasonExpired, w.purgeExpired, q.Now.UnixMilli(), left); err != nil {
		return err
	}
	if !q.RetainBefore.IsZero() && left > 0 {
		if err := take(belfry.ReasonRetention, w.purgeDone, q.RetainBefore.UnixMilli(), left); err != nil {
			return err
		}
	}
	for _, c := range j.old {
		if left == 0 {
			break
		}
		if err := take(belfry.ReasonRetention, w.purgeOne, c.user, c.id, q.RetainBefore.UnixMilli()); err != nil {
			return err
		}
	}
	counted := int64(0)
	for _, u := range j.users {
		if left == 0 || counted >= w.countBudget {
			break
		}
		var total int64
		if err := w.count.QueryRowContext(ctx, u).Scan(&total); err != nil {
			return err
		}
		counted += total
		if excess := total - int64(q.MaxPerUser); excess > 0 {
			if err := take(belfry.ReasonRetention, w.purgeOldest, u, min(excess, int64(left))); err != nil {
				return err
			}
		}
	}
	if _, err := w.purgeKeys.ExecContext(ctx, q.Now.UnixMilli(), q.Limit); err != nil {
		return err
	}
	if !q.FailedBefore.IsZero() {
		_, err := w.purgeJobs.ExecContext(ctx, q.FailedBefore.UnixMilli(), q.Limit)
		return err
	}
	return nil
}
