package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"math"
	"time"

	"github.com/belfry/belfry"
)

// columns is the select list that scan reads.
const columns = `id, user_id, message, title, link, category, data, read_at, created_at`

// readStmts are the read queries, prepared on the read-only pool.
type readStmts struct {
	list, listUnread, after, stats *sql.Stmt
}

func (rs *readStmts) prepare(ctx context.Context, db *sql.DB) error {
	for _, p := range []struct {
		dst **sql.Stmt
		sql string
	}{
		// Both walk the primary key (or the partial unread index)
		// backwards from before: LIMIT rows read, whatever the inbox size.
		{&rs.list, `SELECT ` + columns + ` FROM notifications
			WHERE user_id = ? AND id < ? ORDER BY id DESC LIMIT ?`},
		{&rs.listUnread, `SELECT ` + columns + ` FROM notifications INDEXED BY notifications_unread
			WHERE user_id = ? AND id < ? AND read_at IS NULL ORDER BY id DESC LIMIT ?`},
		{&rs.after, `SELECT ` + columns + ` FROM notifications
			WHERE user_id = ? AND id > ? ORDER BY id LIMIT ?`},
		{&rs.stats, `SELECT unread, last_id FROM user_counters WHERE user_id = ?`},
	} {
		st, err := db.PrepareContext(ctx, p.sql)
		if err != nil {
			rs.close()
			return err
		}
		*p.dst = st
	}
	return nil
}

func (rs *readStmts) close() error {
	var errs []error
	for _, st := range []*sql.Stmt{rs.list, rs.listUnread, rs.after, rs.stats} {
		if st != nil {
			errs = append(errs, st.Close())
		}
	}
	return errors.Join(errs...)
}

// List returns a page of the user's notifications, newest first.
// Errors: EUNAVAILABLE.
func (s *Store) List(ctx context.Context, userID string, q belfry.ListQuery) ([]*belfry.Notification, error) {
	before := q.Before
	if before <= 0 {
		before = math.MaxInt64
	}
	st := s.reads.list
	if q.UnreadOnly {
		st = s.reads.listUnread
	}
	return query(ctx, st, q.Limit, userID, before, q.Limit)
}

// After returns up to limit of the user's notifications with ID > afterID,
// oldest first. Errors: EUNAVAILABLE.
func (s *Store) After(ctx context.Context, userID string, afterID int64, limit int) ([]*belfry.Notification, error) {
	return query(ctx, s.reads.after, limit, userID, afterID, limit)
}

// Stats returns the user's unread count and last id. Errors: EUNAVAILABLE.
func (s *Store) Stats(ctx context.Context, userID string) (belfry.Stats, error) {
	var st belfry.Stats
	err := s.reads.stats.QueryRowContext(ctx, userID).Scan(&st.Unread, &st.LastID)
	if errors.Is(err, sql.ErrNoRows) {
		return belfry.Stats{}, nil
	}
	if err != nil {
		return belfry.Stats{}, belfry.Unavailable("sqlite store", err)
	}
	return st, nil
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
		n       belfry.Notification
		data    []byte
		readAt  sql.NullInt64
		created int64
	)
	if err := rows.Scan(&n.ID, &n.UserID, &n.Message, &n.Title, &n.Link, &n.Category,
		&data, &readAt, &created); err != nil {
		return nil, err
	}
	if len(data) > 0 {
		n.Data = data
	}
	if readAt.Valid {
		t := time.UnixMilli(readAt.Int64).UTC()
		n.ReadAt = &t
	}
	n.CreatedAt = time.UnixMilli(created).UTC()
	return &n, nil
}
