package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"github.com/belfry/belfry"
)

// The state changes: applied by the writer inside its transaction. In
// every statement ?1 is the user, ?2 the id (or the bulk change's upTo)
// and ?3 now in Unix milliseconds (see live): an expired notification is
// not found, and bulk changes leave it alone.

type stmtDef struct {
	dst **sql.Stmt
	sql string
}

// statements lists the writer's prepared statements but the chunked ones.
func (w *writer) statements() []stmtDef {
	return []stmtDef{
		// Every commit's: prepared once rather than parsed each time.
		{&w.begin, `BEGIN IMMEDIATE`},
		{&w.commitStmt, `COMMIT`},
		{&w.get, `SELECT ` + columns + ` FROM notifications WHERE user_id = ?1 AND id = ?2 AND ` + live},
		{&w.read, `UPDATE notifications SET read_at = ?4, seen_at = coalesce(seen_at, ?4)
			WHERE user_id = ?1 AND id = ?2 AND ` + live + ` AND read_at IS NULL`},
		{&w.unread, `UPDATE notifications SET read_at = NULL
			WHERE user_id = ?1 AND id = ?2 AND ` + live + ` AND read_at IS NOT NULL`},
		// ReadAll and SeeAll walk notifications_user, which holds the
		// columns they filter on: a row they leave alone is not read.
		{&w.readAll, `UPDATE notifications INDEXED BY notifications_user
			SET read_at = ?4, seen_at = coalesce(seen_at, ?4)
			WHERE user_id = ?1 AND id <= ?2 AND ` + live + ` AND read_at IS NULL AND archived_at IS NULL
			AND (?5 IS NULL OR category = ?5)`},
		{&w.seeAll, `UPDATE notifications INDEXED BY notifications_user SET seen_at = ?4
			WHERE user_id = ?1 AND id <= ?2 AND ` + live + ` AND read_at IS NULL AND seen_at IS NULL`},
		{&w.archive, `UPDATE notifications SET archived_at = ?4
			WHERE user_id = ?1 AND id = ?2 AND ` + live + ` AND archived_at IS NULL`},
		{&w.unarchive, `UPDATE notifications SET archived_at = NULL
			WHERE user_id = ?1 AND id = ?2 AND ` + live + ` AND archived_at IS NOT NULL`},
		{&w.archiveAll, `UPDATE notifications SET archived_at = ?4
			WHERE user_id = ?1 AND id <= ?2 AND ` + live + ` AND archived_at IS NULL
			AND (?5 IS NULL OR category = ?5) AND (?6 IS NULL OR (read_at IS NOT NULL) = ?6)`},
		{&w.act, `UPDATE notifications SET action = ?4, acted_at = ?5,
			read_at = coalesce(read_at, ?5), seen_at = coalesce(seen_at, ?5)
			WHERE user_id = ?1 AND id = ?2 AND ` + live + ` AND action = ''`},
		{&w.del, `DELETE FROM notifications WHERE user_id = ?1 AND id = ?2 AND ` + live + ` RETURNING 1`},
		// After deleting ?2 of ?1: if no newer row is left, ?2 was the
		// user's last id, kept so that it is not handed out again.
		{&w.floor, `INSERT INTO id_floors (user_id, last_id) SELECT ?1, ?2
			WHERE NOT EXISTS (SELECT 1 FROM notifications WHERE user_id = ?1 AND id > ?2)
			ON CONFLICT (user_id) DO UPDATE SET last_id = max(last_id, excluded.last_id)`},

		{&w.getKey, `SELECT hash, result, created_at FROM idempotency_keys WHERE name = ?1 AND expires_at > ?2`},
		{&w.putKey, `INSERT OR REPLACE INTO idempotency_keys (name, hash, result, created_at, expires_at)
			VALUES (?, ?, ?, ?, ?)`},
		{&w.anyOff, `SELECT EXISTS (SELECT 1 FROM preferences WHERE in_app_off)`},
		{&w.getPrefs, `SELECT prefs FROM preferences WHERE user_id = ?`},
		{&w.putPrefs, `INSERT INTO preferences (user_id, prefs, in_app_off) VALUES (?1, ?2, ?3)
			ON CONFLICT (user_id) DO UPDATE SET prefs = excluded.prefs, in_app_off = excluded.in_app_off`},
		{&w.delPrefs, `DELETE FROM preferences WHERE user_id = ?`},

		{&w.purgeExpired, `DELETE FROM notifications WHERE rowid IN (
			SELECT rowid FROM notifications INDEXED BY notifications_expiry
			WHERE expires_at <= ?1 ORDER BY expires_at LIMIT ?2) RETURNING user_id, id`},
		{&w.purgeDone, `DELETE FROM notifications WHERE rowid IN (
			SELECT rowid FROM notifications INDEXED BY notifications_done
			WHERE (read_at IS NOT NULL OR archived_at IS NOT NULL) AND created_at < ?1
			ORDER BY created_at LIMIT ?2) RETURNING user_id, id`},
		{&w.purgeOne, `DELETE FROM notifications WHERE user_id = ?1 AND id = ?2 AND created_at < ?3
			RETURNING user_id, id`},
		{&w.purgeOldest, `DELETE FROM notifications WHERE rowid IN (
			SELECT rowid FROM notifications WHERE user_id = ?1 ORDER BY id LIMIT ?2) RETURNING user_id, id`},
		{&w.count, `SELECT count(*) FROM notifications WHERE user_id = ?`},
		{&w.purgeKeys, `DELETE FROM idempotency_keys WHERE name IN (
			SELECT name FROM idempotency_keys WHERE expires_at <= ?1 ORDER BY expires_at LIMIT ?2)`},

		// The outbox (outbox.go). A claim is held by claim <> '': the
		// empty claim of a job never claimed settles nothing. OR FAIL, as
		// the inserts of notifications: SQLite keeps no statement journal,
		// and a failed statement rolls the whole transaction back anyway.
		// A job is inserted from VALUES, not from a SELECT that checks
		// the subscription: SQLite journals the pages an INSERT … SELECT
		// touches (whole pages, spilled to a temporary file), which
		// took more CPU than the insert.
		{&w.insertJobStmt, `INSERT OR FAIL INTO outbox (id, kind, user_id, notification_id, created_at, due_at, payload)
			VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7) ON CONFLICT (id) DO NOTHING`},
		{&w.subscribed, `SELECT EXISTS (SELECT 1 FROM push_subscriptions WHERE user_id = ?1)`},
		{&w.claimJobs, `UPDATE OR FAIL outbox SET claim = ?1 || '.' || rowid, lease_until = ?3 WHERE rowid IN (
			SELECT rowid FROM outbox INDEXED BY outbox_due
			WHERE NOT failed AND due_at <= ?2 AND lease_until <= ?2 ORDER BY due_at, id LIMIT ?4)
			RETURNING ` + jobColumns},
		{&w.jobDone, `DELETE FROM outbox WHERE id = ?1 AND claim = ?2 AND claim <> ''`},
		{&w.jobRetry, `UPDATE OR FAIL outbox SET due_at = ?3, attempts = attempts + 1, last_error = ?4,
			payload = CASE WHEN ?5 THEN ?6 ELSE payload END, claim = '', lease_until = 0
			WHERE id = ?1 AND claim = ?2 AND claim <> ''`},
		{&w.jobFail, `UPDATE OR FAIL outbox SET failed = 1, attempts = attempts + 1, last_error = ?3, claim = '', lease_until = 0
			WHERE id = ?1 AND claim = ?2 AND claim <> ''`},
		{&w.revive, `UPDATE OR FAIL outbox SET failed = 0, due_at = ?2, attempts = 0, claim = '', lease_until = 0
			WHERE id = ?1 AND failed RETURNING ` + jobColumns},
		{&w.purgeJobs, `DELETE FROM outbox WHERE rowid IN (
			SELECT rowid FROM outbox INDEXED BY outbox_failed_created
			WHERE failed AND created_at < ?1 ORDER BY created_at LIMIT ?2)`},
		// Push subscriptions (subscriptions.go).
		{&w.countSubs, `SELECT count(*) FROM push_subscriptions WHERE user_id = ?1 AND endpoint <> ?2`},
		{&w.putSub, `INSERT OR FAIL INTO push_subscriptions (endpoint, user_id, p256dh, auth, created_at)
			VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT (endpoint) DO UPDATE SET
			user_id = excluded.user_id, p256dh = excluded.p256dh, auth = excluded.auth, created_at = excluded.created_at`},
		{&w.delSub, `DELETE FROM push_subscriptions WHERE endpoint = ?1 AND user_id = ?2`},
	}
}

var errNotFound = belfry.Errorf(belfry.ENOTFOUND, "notification not found")

// apply runs one change other than a create inside the open transaction.
// A not-found or conflict result is an answer (r.err), not a failure; the
// returned error is a database error that aborts the transaction.
func (w *writer) apply(ctx context.Context, r *request, now time.Time) error {
	r.err, r.n, r.count, r.removed = nil, nil, 0, r.removed[:0]
	ms := now.UnixMilli()
	switch r.op {
	case opSetRead, opSetArchived:
		var err error
		switch {
		case r.op == opSetRead && r.at != nil:
			_, err = w.read.ExecContext(ctx, r.user, r.id, ms, r.at.UnixMilli())
		case r.op == opSetRead:
			_, err = w.unread.ExecContext(ctx, r.user, r.id, ms)
		case r.at != nil:
			_, err = w.archive.ExecContext(ctx, r.user, r.id, ms, r.at.UnixMilli())
		default:
			_, err = w.unarchive.ExecContext(ctx, r.user, r.id, ms)
		}
		if err != nil {
			return err
		}
		return w.answer(ctx, r, ms)
	case opReadAll, opSeeAll, opArchiveAll:
		var (
			res sql.Result
			err error
		)
		cat := categoryArg(r.filter)
		switch r.op {
		case opReadAll:
			if r.filter.Read != nil && *r.filter.Read {
				return nil // only read ones: none is unread
			}
			res, err = w.readAll.ExecContext(ctx, r.user, r.id, ms, r.at.UnixMilli(), cat)
		case opSeeAll:
			res, err = w.seeAll.ExecContext(ctx, r.user, r.id, ms, r.at.UnixMilli())
		default:
			var read any
			if r.filter.Read != nil {
				read = *r.filter.Read
			}
			res, err = w.archiveAll.ExecContext(ctx, r.user, r.id, ms, r.at.UnixMilli(), cat, read)
		}
		if err != nil {
			return err
		}
		changed, err := res.RowsAffected()
		r.count = int(changed)
		return err
	case opAct:
		if err := w.answer(ctx, r, ms); err != nil || r.err != nil {
			return err
		}
		n := r.n
		switch {
		case n.FindAction(r.action) == nil:
			r.n, r.err = nil, belfry.Errorf(belfry.ENOTFOUND, "notification %d has no action %q", r.id, r.action)
		case n.Action == r.action: // taken before: nothing changes
		case n.Action != "":
			r.n, r.err = nil, belfry.Errorf(belfry.ECONFLICT, "action %q was already taken", n.Action)
		default:
			if _, err := w.act.ExecContext(ctx, r.user, r.id, ms, r.action, r.at.UnixMilli()); err != nil {
				return err
			}
			at := *r.at
			n.Action, n.ActedAt = r.action, &at
			if n.ReadAt == nil {
				n.ReadAt = &at
			}
			if n.SeenAt == nil {
				n.SeenAt = &at
			}
		}
		return nil
	case opDelete:
		var one int
		err := w.del.QueryRowContext(ctx, r.user, r.id, ms).Scan(&one)
		if errors.Is(err, sql.ErrNoRows) {
			r.err = errNotFound
			return nil
		}
		if err != nil {
			return err
		}
		_, err = w.floor.ExecContext(ctx, r.user, r.id)
		return err
	case opSetPrefs:
		return w.setPrefs(ctx, r)
	case opPurge:
		return w.purge(ctx, r)
	case opEnqueue, opClaim, opSettle, opRevive, opSubscribe, opUnsubscribe:
		return w.applyOutbox(ctx, r)
	}
	return errors.New("sqlite store: unknown write")
}

// answer reads the request's notification into r.n, or sets r.err to
// ENOTFOUND.
func (w *writer) answer(ctx context.Context, r *request, ms int64) error {
	rows, err := w.get.QueryContext(ctx, r.user, r.id, ms)
	if err != nil {
		return err
	}
	defer rows.Close()
	if rows.Next() {
		if r.n, err = scan(rows); err != nil {
			return err
		}
	}
	if err := rows.Close(); err != nil {
		return err
	}
	if r.n == nil {
		r.err = errNotFound
	}
	return nil
}

// categoryArg is the filter's category as bound: NULL for any.
func categoryArg(f belfry.Filter) any {
	if f.Category == nil {
		return nil
	}
	return *f.Category
}
