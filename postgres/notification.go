package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"math"
	"time"

	"github.com/belfry/belfry"
	"github.com/jackc/pgx/v5"
)

// columns are read by scanNotification, in this order.
const columns = `id, message, COALESCE(title, ''), COALESCE(link, ''), COALESCE(category, ''),
	data, read_at, created_at`

// scanNotification reads one row selected with columns.
func scanNotification(row pgx.Row, userID string) (*belfry.Notification, error) {
	n := &belfry.Notification{UserID: userID}
	var data []byte
	var readAt *time.Time
	if err := row.Scan(&n.ID, &n.Message, &n.Title, &n.Link, &n.Category, &data, &readAt, &n.CreatedAt); err != nil {
		return nil, err
	}
	if len(data) > 0 && string(data) != "null" {
		n.Data = json.RawMessage(data)
	}
	if readAt != nil {
		t := readAt.UTC()
		n.ReadAt = &t
	}
	n.CreatedAt = n.CreatedAt.UTC()
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
// backward scan of the primary key, or of the unread index for UnreadOnly.
// Errors: EUNAVAILABLE.
func (s *Store) List(ctx context.Context, userID string, q belfry.ListQuery) ([]*belfry.Notification, error) {
	before := q.Before
	if before <= 0 {
		before = math.MaxInt64
	}
	sql := `SELECT ` + columns + ` FROM belfry_notifications
		WHERE user_id = $1 AND id < $2 ORDER BY id DESC LIMIT $3`
	if q.UnreadOnly {
		sql = `SELECT ` + columns + ` FROM belfry_notifications
			WHERE user_id = $1 AND id < $2 AND read_at IS NULL ORDER BY id DESC LIMIT $3`
	}
	return s.query(ctx, userID, sql, userID, before, q.Limit)
}

// After returns up to limit notifications of the user with ids above
// afterID, oldest first. Errors: EUNAVAILABLE.
func (s *Store) After(ctx context.Context, userID string, afterID int64, limit int) ([]*belfry.Notification, error) {
	return s.query(ctx, userID, `SELECT `+columns+` FROM belfry_notifications
		WHERE user_id = $1 AND id > $2 ORDER BY id LIMIT $3`, userID, afterID, limit)
}

// Stats returns the unread count and the last id assigned, read in one
// statement, so from one snapshot: the two always agree.
// Errors: EUNAVAILABLE.
func (s *Store) Stats(ctx context.Context, userID string) (belfry.Stats, error) {
	var st belfry.Stats
	err := s.do(ctx, true, func() error {
		var unread int64
		err := s.pool.QueryRow(ctx, `SELECT
			(SELECT count(*) FROM belfry_notifications WHERE user_id = $1 AND read_at IS NULL),
			COALESCE((SELECT last_id FROM belfry_counters WHERE user_id = $1), 0)`,
			userID).Scan(&unread, &st.LastID)
		st.Unread = int(unread)
		return err
	})
	if err != nil {
		return belfry.Stats{}, classify("postgres", err)
	}
	return st, nil
}

// SetRead marks one notification read at *at (keeping an earlier read
// time) or unread (at == nil) and returns it. Errors: ENOTFOUND (no such
// id for this user), EUNAVAILABLE.
func (s *Store) SetRead(ctx context.Context, userID string, id int64, at *time.Time) (*belfry.Notification, error) {
	var readAt *time.Time
	if at != nil {
		t := belfry.Now(*at)
		readAt = &t
	}
	var n *belfry.Notification
	err := s.do(ctx, false, func() error {
		var err error
		// With $3 NULL this marks unread; otherwise COALESCE keeps the
		// first read time.
		n, err = scanNotification(s.pool.QueryRow(ctx, `UPDATE belfry_notifications
			SET read_at = CASE WHEN $3::timestamptz IS NULL THEN NULL ELSE COALESCE(read_at, $3) END
			WHERE user_id = $1 AND id = $2
			RETURNING `+columns, userID, id, readAt), userID)
		return err
	})
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, belfry.Errorf(belfry.ENOTFOUND, "notification not found")
	}
	if err != nil {
		return nil, classify("postgres", err)
	}
	return n, nil
}

// ReadAll marks the user's unread notifications with ids up to upTo read
// and returns how many changed. Errors: EUNAVAILABLE.
func (s *Store) ReadAll(ctx context.Context, userID string, upTo int64, at time.Time) (int, error) {
	var changed int64
	err := s.do(ctx, false, func() error {
		tag, err := s.pool.Exec(ctx, `UPDATE belfry_notifications SET read_at = $3
			WHERE user_id = $1 AND id <= $2 AND read_at IS NULL`, userID, upTo, belfry.Now(at))
		changed = tag.RowsAffected()
		return err
	})
	if err != nil {
		return 0, classify("postgres", err)
	}
	return int(changed), nil
}

// Delete removes one notification; the user's counter keeps its id from
// being reused. Errors: ENOTFOUND, EUNAVAILABLE.
func (s *Store) Delete(ctx context.Context, userID string, id int64) error {
	var deleted int64
	err := s.do(ctx, false, func() error {
		tag, err := s.pool.Exec(ctx, `DELETE FROM belfry_notifications WHERE user_id = $1 AND id = $2`,
			userID, id)
		deleted = tag.RowsAffected()
		return err
	})
	if err != nil {
		return classify("postgres", err)
	}
	if deleted == 0 {
		return belfry.Errorf(belfry.ENOTFOUND, "notification not found")
	}
	return nil
}
