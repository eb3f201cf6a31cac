package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/belfry/belfry"
)

// columns is the select list that scan reads.
const columns = `id, user_id, message, title, link, category, data, read_at, created_at,
	avatar, actions, seen_at, archived_at, expires_at, action, acted_at`

// live is the condition that leaves out expired rows; ?3 is now in Unix
// milliseconds in every statement that uses it.
const live = `(expires_at IS NULL OR expires_at > ?3)`

// listKind is one shape of List query: by status, and whether it keeps
// only unread or only unseen rows. The category filter is a parameter.
type listKind struct {
	status         belfry.Status
	unread, unseen bool
}

// readStmts are the read queries, prepared on the read-only pool.
type readStmts struct {
	list                       map[listKind]*sql.Stmt
	after, stats, prefs, users *sql.Stmt
	unreadOld                  *sql.Stmt
	failedJobs, subscriptions  *sql.Stmt
}

// listSQL returns the List query of kind k. Parameters: ?1 user, ?2
// before, ?3 now, ?4 category ("" for any), ?5 limit. Each walks one index
// backwards from before and stops after limit matching rows: the archived
// index for the archived ones, else notifications_user, which holds every
// column the filters read, so a row that does not match is skipped
// without reading it.
func listSQL(k listKind) string {
	index, where := " INDEXED BY notifications_user", ""
	if k.status == belfry.StatusArchived {
		index = " INDEXED BY notifications_archived"
	}
	if k.unread || k.unseen {
		where = " AND read_at IS NULL"
		if k.unseen {
			where += " AND seen_at IS NULL"
		}
	}
	switch k.status {
	case belfry.StatusInbox:
		where += " AND archived_at IS NULL"
	case belfry.StatusArchived:
		where += " AND archived_at IS NOT NULL"
	}
	return `SELECT ` + columns + ` FROM notifications` + index + `
		WHERE user_id = ?1 AND id < ?2 AND ` + live + where + ` AND (?4 = '' OR category = ?4)
		ORDER BY id DESC LIMIT ?5`
}

// statsSQL counts the user's unread and unseen rows that count (not
// archived, not expired) by category, reading notifications_user only, and
// adds the last id (the newest row's, or the floor a deletion left) as a
// first row: one statement, so one snapshot. Parameters: ?1 user, ?3 now.
const statsSQL = `SELECT NULL, 0, 0, max(
		coalesce((SELECT id FROM notifications WHERE user_id = ?1 ORDER BY id DESC LIMIT 1), 0),
		coalesce((SELECT last_id FROM id_floors WHERE user_id = ?1), 0))
	UNION ALL
	SELECT category, count(*), sum(seen_at IS NULL), 0
	FROM notifications INDEXED BY notifications_user
	WHERE user_id = ?1 AND read_at IS NULL AND archived_at IS NULL AND ` + live + `
	GROUP BY category`

func (rs *readStmts) prepare(ctx context.Context, db *sql.DB) error {
	rs.list = map[listKind]*sql.Stmt{}
	prep := func(q string) (*sql.Stmt, error) {
		st, err := db.PrepareContext(ctx, q)
		if err != nil {
			rs.close()
			return nil, fmt.Errorf("%w in %s", err, q)
		}
		return st, nil
	}
	for _, status := range []belfry.Status{belfry.StatusInbox, belfry.StatusArchived, belfry.StatusAll} {
		for _, k := range []listKind{{status, false, false}, {status, true, false}, {status, false, true}, {status, true, true}} {
			st, err := prep(listSQL(k))
			if err != nil {
				return err
			}
			rs.list[k] = st
		}
	}
	for _, p := range []struct {
		dst **sql.Stmt
		sql string
	}{
		{&rs.after, `SELECT ` + columns + ` FROM notifications
			WHERE user_id = ?1 AND id > ?2 AND ` + live + ` ORDER BY id LIMIT ?4`},
		{&rs.stats, statsSQL},
		{&rs.prefs, `SELECT prefs FROM preferences WHERE user_id = ?`},
		// Purge's hints (see purge.go).
		{&rs.users, `SELECT user_id FROM notifications GROUP BY user_id HAVING count(*) > ?1 LIMIT ?2`},
		{&rs.unreadOld, `SELECT user_id, id FROM notifications
			WHERE created_at < ?1 AND read_at IS NULL AND archived_at IS NULL AND ` + live + ` LIMIT ?2`},
		// The failed jobs of a kind, newest first; the cursor is a filter
		// (ids sort by creation, but the order is by created_at).
		{&rs.failedJobs, `SELECT ` + jobColumns + ` FROM outbox INDEXED BY outbox_failed
			WHERE failed AND kind = ?1 AND (?2 = '' OR id < ?2) ORDER BY created_at DESC, id DESC LIMIT ?3`},
		{&rs.subscriptions, `SELECT endpoint, p256dh, auth, created_at FROM push_subscriptions
			WHERE user_id = ?1 ORDER BY created_at, endpoint`},
	} {
		st, err := prep(p.sql)
		if err != nil {
			return err
		}
		*p.dst = st
	}
	return nil
}

func (rs *readStmts) close() error {
	var errs []error
	for _, st := range rs.list {
		errs = append(errs, st.Close())
	}
	for _, st := range []*sql.Stmt{rs.after, rs.stats, rs.prefs, rs.users, rs.unreadOld, rs.failedJobs, rs.subscriptions} {
		if st != nil {
			errs = append(errs, st.Close())
		}
	}
	return errors.Join(errs...)
}

// nowMillis is the store's clock in Unix milliseconds: what expiry is
// judged by.
func (s *Store) nowMillis() int64 { return s.cfg.Now().UnixMilli() }

// List returns a page of the user's notifications, newest first, leaving
// out expired ones. Errors: EINVALID (an unknown Status), EUNAVAILABLE.
func (s *Store) List(ctx context.Context, userID string, q belfry.ListQuery) ([]*belfry.Notification, error) {
	before := q.Before
	if before <= 0 {
		before = math.MaxInt64
	}
	k := listKind{status: q.Status, unread: q.UnreadOnly, unseen: q.UnseenOnly}
	if k.status == "" {
		k.status = belfry.StatusInbox
	}
	st := s.reads.list[k]
	if st == nil {
		return nil, belfry.Errorf(belfry.EINVALID, "unknown status %q", q.Status)
	}
	return query(ctx, st, q.Limit, userID, before, s.nowMillis(), q.Category, q.Limit)
}

// After returns up to limit of the user's notifications with ID > afterID,
// oldest first, archived ones included and expired ones left out.
// Errors: EUNAVAILABLE.
func (s *Store) After(ctx context.Context, userID string, afterID int64, limit int) ([]*belfry.Notification, error) {
	return query(ctx, s.reads.after, limit, userID, afterID, s.nowMillis(), limit)
}

// Stats returns the user's counts and last id, read in one statement.
// Errors: EUNAVAILABLE.
func (s *Store) Stats(ctx context.Context, userID string) (belfry.Stats, error) {
	rows, err := s.reads.stats.QueryContext(ctx, userID, nil, s.nowMillis())
	if err != nil {
		return belfry.Stats{}, belfry.Unavailable("sqlite store", err)
	}
	defer rows.Close()
	st := belfry.Stats{ByCategory: map[string]belfry.Counts{}}
	for rows.Next() {
		var (
			category sql.NullString
			c        belfry.Counts
			last     int64
		)
		if err := rows.Scan(&category, &c.Unread, &c.Unseen, &last); err != nil {
			return belfry.Stats{}, belfry.Unavailable("sqlite store", err)
		}
		switch {
		case !category.Valid: // the counter's row
			st.LastID = last
			continue
		case category.String != "":
			st.ByCategory[category.String] = c
		}
		st.Unread += c.Unread
		st.Unseen += c.Unseen
	}
	if err := rows.Err(); err != nil {
		return belfry.Stats{}, belfry.Unavailable("sqlite store", err)
	}
	return st, nil
}

// Preferences returns the user's preferences, the defaults if the user
// never set any. Errors: EUNAVAILABLE.
func (s *Store) Preferences(ctx context.Context, userID string) (belfry.Preferences, error) {
	var raw []byte
	err := s.reads.prefs.QueryRowContext(ctx, userID).Scan(&raw)
	if errors.Is(err, sql.ErrNoRows) {
		return belfry.DefaultPreferences(), nil
	}
	if err != nil {
		return belfry.Preferences{}, belfry.Unavailable("sqlite store", err)
	}
	p, err := decodePrefs(raw)
	if err != nil {
		return belfry.Preferences{}, belfry.Unavailable("sqlite store", err)
	}
	return p, nil
}

func query(ctx context.Context, st *sql.Stmt, limit int, args ...any) ([]*belfry.Notification, error) {
	rows, err := st.QueryContext(ctx, args...)
	if err != nil {
		return nil, belfry.Unavailable("sqlite store", err)
	}
	defer rows.Close()
	ns := make([]*belfry.Notification, 0, min(limit, 128))
	for rows.Next() {
		n, err := scan(rows)
		if err != nil {
			return nil, belfry.Unavailable("sqlite store", err)
		}
		ns = append(ns, n)
	}
	if err := rows.Err(); err != nil {
		return nil, belfry.Unavailable("sqlite store", err)
	}
	return ns, nil
}

// scan reads one row selected with columns.
func scan(rows *sql.Rows) (*belfry.Notification, error) {
	var (
		n                                      belfry.Notification
		data, actions                          []byte
		readAt, seen, archived, expires, acted sql.NullInt64
		created                                int64
	)
	if err := rows.Scan(&n.ID, &n.UserID, &n.Message, &n.Title, &n.Link, &n.Category,
		&data, &readAt, &created, &n.Avatar, &actions, &seen, &archived, &expires, &n.Action, &acted); err != nil {
		return nil, err
	}
	if len(data) > 0 {
		n.Data = data
	}
	if len(actions) > 0 {
		if err := json.Unmarshal(actions, &n.Actions); err != nil {
			return nil, fmt.Errorf("notification %d: actions: %w", n.ID, err)
		}
	}
	n.CreatedAt = time.UnixMilli(created).UTC()
	n.ReadAt = millis(readAt)
	n.SeenAt = millis(seen)
	n.ArchivedAt = millis(archived)
	n.ExpiresAt = millis(expires)
	n.ActedAt = millis(acted)
	return &n, nil
}

// millis turns a nullable Unix-milliseconds column into a time.
func millis(v sql.NullInt64) *time.Time {
	if !v.Valid {
		return nil
	}
	t := time.UnixMilli(v.Int64).UTC()
	return &t
}

// msArg is t as bound: Unix milliseconds, or NULL for nil.
func msArg(t *time.Time) any {
	if t == nil {
		return nil
	}
	return t.UnixMilli()
}
