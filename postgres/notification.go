package postgres

import (
	"context"
	"encoding/json"
	"math"
	"strconv"
	"time"

	"github.com/belfry/belfry"
	"github.com/jackc/pgx/v5"
)

// columns are read by scanNotification, in this order. A notification
// read before seen_at existed has only read_at: it was seen then.
const columns = `id, message, COALESCE(title, ''), COALESCE(link, ''), COALESCE(category, ''),
	data, read_at, created_at, COALESCE(avatar, ''), actions, COALESCE(action, ''), acted_at,
	COALESCE(seen_at, read_at), archived_at, expires_at`

// live is the condition of a notification that has not expired at the
// parameter $n.
func live(n int) string {
	p := "$" + strconv.Itoa(n)
	return `(expires_at IS NULL OR expires_at > ` + p + `)`
}

// scanNotification reads one row selected with columns.
func scanNotification(row pgx.Row, userID string) (*belfry.Notification, error) {
	n := &belfry.Notification{UserID: userID}
	var data, actions []byte
	if err := row.Scan(&n.ID, &n.Message, &n.Title, &n.Link, &n.Category, &data, &n.ReadAt,
		&n.CreatedAt, &n.Avatar, &actions, &n.Action, &n.ActedAt, &n.SeenAt, &n.ArchivedAt,
		&n.ExpiresAt); err != nil {
		return nil, err
	}
	if len(data) > 0 && string(data) != "null" {
		n.Data = json.RawMessage(data)
	}
	if len(actions) > 0 {
		if err := json.Unmarshal(actions, &n.Actions); err != nil {
			return nil, err
		}
		if len(n.Actions) == 0 {
			n.Actions = nil
		}
	}
	n.CreatedAt = n.CreatedAt.UTC()
	for _, t := range []**time.Time{&n.ReadAt, &n.ActedAt, &n.SeenAt, &n.ArchivedAt, &n.ExpiresAt} {
		if *t != nil {
			u := (*t).UTC()
			*t = &u
		}
	}
	return n, nil
}

// query runs a select of notifications of one user.
func (s *Store) query(ctx context.Context, userID, sql string, args ...any) ([]*belfry.Notification, error) {
	var ns []*belfry.Notification
	err := s.do(ctx, true, func() error {
		rows, err := s.pool.Query(ctx, sql, args...)
		if err != nil {
			return err
		}
		ns, err = pgx.CollectRows(rows, func(r pgx.CollectableRow) (*belfry.Notification, error) {
			return scanNotification(r, userID)
		})
		return err
	})
	if err != nil {
		return nil, classify("postgres", err)
	}
	return ns, nil
}

// List returns a page of the user's notifications, newest first: a
// backward scan of the primary key, or of the unread index for UnreadOnly
// or UnseenOnly (unseen ones are unread). Errors: EINVALID (an unknown
// Status), EUNAVAILABLE.
func (s *Store) List(ctx context.Context, userID string, q belfry.ListQuery) ([]*belfry.Notification, error) {
	before := q.Before
	if before <= 0 {
		before = math.MaxInt64
	}
	sql := `SELECT ` + columns + ` FROM belfry_notifications
		WHERE user_id = $1 AND id < $2 AND ` + live(3)
	args := []any{userID, before, s.now(), q.Limit}
	switch q.Status {
	case belfry.StatusInbox, "":
		sql += ` AND archived_at IS NULL`
	case belfry.StatusArchived:
		sql += ` AND archived_at IS NOT NULL`
	case belfry.StatusAll:
	default:
		return nil, belfry.Errorf(belfry.EINVALID, "status must be inbox, archived or all")
	}
	if q.UnreadOnly || q.UnseenOnly {
		sql += ` AND read_at IS NULL`
	}
	if q.UnseenOnly {
		sql += ` AND seen_at IS NULL`
	}
	if q.Category != "" {
		sql += ` AND category = $5`
		args = append(args, q.Category)
	}
	sql += ` ORDER BY id DESC LIMIT $4`
	return s.query(ctx, userID, sql, args...)
}

// After returns up to limit notifications of the user with ids above
// afterID, oldest first, archived ones included and expired ones left
// out. Errors: EUNAVAILABLE.
func (s *Store) After(ctx context.Context, userID string, afterID int64, limit int) ([]*belfry.Notification, error) {
	return s.query(ctx, userID, `SELECT `+columns+` FROM belfry_notifications
		WHERE user_id = $1 AND id > $2 AND `+live(4)+` ORDER BY id LIMIT $3`,
		userID, afterID, limit, s.now())
}

// statsSQL counts, per category, the unread and the unseen notifications
// that count (neither archived nor expired), and reads the last id, in
// one statement: one snapshot, so the counts and the last id always
// agree. Unseen notifications are unread ones (reading marks seen), so
// both counts walk the user's entries in the partial index of unread
// notifications. The outer join yields one row even when nothing counts.
const statsSQL = `
WITH g AS (
	SELECT category, count(*) AS unread, count(*) FILTER (WHERE seen_at IS NULL) AS unseen
	FROM belfry_notifications
	WHERE user_id = $1 AND read_at IS NULL AND archived_at IS NULL
		AND (expires_at IS NULL OR expires_at > $2)
	GROUP BY category
)
SELECT COALESCE((SELECT last_id FROM belfry_counters WHERE user_id = $1), 0),
	g.category, COALESCE(g.unread, 0), COALESCE(g.unseen, 0)
FROM (VALUES (1)) AS one LEFT JOIN g ON true`

// Stats returns the user's counts and last id, read in one statement.
// Errors: EUNAVAILABLE.
func (s *Store) Stats(ctx context.Context, userID string) (belfry.Stats, error) {
	var st belfry.Stats
	now := s.now()
	err := s.do(ctx, true, func() error {
		st = belfry.Stats{ByCategory: map[string]belfry.Counts{}}
		rows, err := s.pool.Query(ctx, statsSQL, userID, now)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var cat *string
			var unread, unseen int64
			if err := rows.Scan(&st.LastID, &cat, &unread, &unseen); err != nil {
				return err
			}
			st.Unread += int(unread)
			st.Unseen += int(unseen)
			if cat != nil {
				st.ByCategory[*cat] = belfry.Counts{Unread: int(unread), Unseen: int(unseen)}
			}
		}
		return rows.Err()
	})
	if err != nil {
		return belfry.Stats{}, classify("postgres", err)
	}
	return st, nil
}
