package postgres

import (
	"context"
	"errors"
	"strconv"
	"time"

	"github.com/belfry/belfry"
	"github.com/jackc/pgx/v5"
)

func errNotFound() error { return belfry.Errorf(belfry.ENOTFOUND, "notification not found") }

// updateOne runs an UPDATE … RETURNING columns of one notification.
func (s *Store) updateOne(ctx context.Context, userID, sql string, args ...any) (*belfry.Notification, error) {
	var n *belfry.Notification
	err := s.do(ctx, false, func() error {
		var err error
		n, err = scanNotification(s.pool.QueryRow(ctx, sql, args...), userID)
		return err
	})
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, errNotFound()
	}
	if err != nil {
		return nil, classify("postgres", err)
	}
	return n, nil
}

// optTime returns at at the stored precision, or nil.
func optTime(at *time.Time) *time.Time {
	if at == nil {
		return nil
	}
	t := belfry.Now(*at)
	return &t
}

// SetRead marks one notification read at *at (keeping an earlier read
// time) and seen (keeping an earlier seen time), or unread (at == nil,
// seen_at kept), and returns it. An expired notification is not found.
// Errors: ENOTFOUND (no such id for this user), EUNAVAILABLE.
func (s *Store) SetRead(ctx context.Context, userID string, id int64, at *time.Time) (*belfry.Notification, error) {
	// seen_at = COALESCE(seen_at, read_at, …) also records, on the first
	// change, the seen time that a row read before seen_at existed has
	// implicitly.
	return s.updateOne(ctx, userID, `UPDATE belfry_notifications
		SET read_at = CASE WHEN $3::timestamptz IS NULL THEN NULL ELSE COALESCE(read_at, $3) END,
			seen_at = COALESCE(seen_at, read_at, $3)
		WHERE user_id = $1 AND id = $2 AND `+live(4)+`
		RETURNING `+columns, userID, id, optTime(at), s.now())
}

// SetArchived archives one notification at *at (keeping an earlier time)
// or unarchives it (at == nil) and returns it. An expired notification is
// not found. Errors: ENOTFOUND, EUNAVAILABLE.
func (s *Store) SetArchived(ctx context.Context, userID string, id int64, at *time.Time) (*belfry.Notification, error) {
	return s.updateOne(ctx, userID, `UPDATE belfry_notifications
		SET archived_at = CASE WHEN $3::timestamptz IS NULL THEN NULL ELSE COALESCE(archived_at, $3) END
		WHERE user_id = $1 AND id = $2 AND `+live(4)+`
		RETURNING `+columns, userID, id, optTime(at), s.now())
}

// Act records the action actionID of one notification, reads and sees it
// (keeping earlier times) and returns it. The first action taken stays.
// An expired notification is not found.
// Errors: ENOTFOUND (no such notification or action), ECONFLICT (another
// action was taken), EUNAVAILABLE.
func (s *Store) Act(ctx context.Context, userID string, id int64, actionID string, at time.Time) (*belfry.Notification, error) {
	for range attempts {
		now := s.now()
		n, err := s.updateOne(ctx, userID, `UPDATE belfry_notifications
			SET action = $3, acted_at = $4, read_at = COALESCE(read_at, $4),
				seen_at = COALESCE(seen_at, read_at, $4)
			WHERE user_id = $1 AND id = $2 AND `+live(5)+` AND action IS NULL
				AND actions @> jsonb_build_array(jsonb_build_object('id', $3::text))
			RETURNING `+columns, userID, id, actionID, belfry.Now(at), now)
		if belfry.ErrorCode(err) != belfry.ENOTFOUND {
			return n, err
		}
		// Nothing changed: say why, from the notification as it is now.
		ns, err := s.query(ctx, userID, `SELECT `+columns+` FROM belfry_notifications
			WHERE user_id = $1 AND id = $2 AND `+live(3), userID, id, now)
		switch {
		case err != nil:
			return nil, err
		case len(ns) == 0:
			return nil, errNotFound()
		case ns[0].FindAction(actionID) == nil:
			return nil, belfry.Errorf(belfry.ENOTFOUND, "the notification has no action %q", actionID)
		case ns[0].Action == actionID:
			return ns[0], nil // taken before: nothing changes
		case ns[0].Action != "":
			return nil, belfry.Errorf(belfry.ECONFLICT, "action %q was taken already", ns[0].Action)
		}
		// The action exists and none was taken, yet the update found
		// nothing: the row was committed in between. Try again.
	}
	return nil, belfry.Errorf(belfry.EUNAVAILABLE, "the notification kept changing; try again")
}

// bulk runs one UPDATE over the user's notifications up to f.UpTo that f
// selects and returns how many changed. set is the SET clause ($3 is the
// time), cond what the rows must be besides.
func (s *Store) bulk(ctx context.Context, userID, set, cond string, f belfry.Filter, at time.Time) (int, error) {
	sql := `UPDATE belfry_notifications SET ` + set + `
		WHERE user_id = $1 AND id <= $2 AND ` + live(4) + ` AND ` + cond
	args := []any{userID, f.UpTo, belfry.Now(at), s.now()}
	if f.Category != nil {
		if *f.Category == "" {
			sql += ` AND category IS NULL`
		} else {
			args = append(args, *f.Category)
			sql += ` AND category = $` + strconv.Itoa(len(args))
		}
	}
	if f.Read != nil {
		if *f.Read {
			sql += ` AND read_at IS NOT NULL`
		} else {
			sql += ` AND read_at IS NULL`
		}
	}
	var changed int64
	err := s.do(ctx, false, func() error {
		tag, err := s.pool.Exec(ctx, sql, args...)
		changed = tag.RowsAffected()
		return err
	})
	if err != nil {
		return 0, classify("postgres", err)
	}
	return int(changed), nil
}

// ReadAll marks read (and seen) the user's unread, unarchived
// notifications that f selects, in one statement, and returns how many
// changed. Errors: EUNAVAILABLE.
func (s *Store) ReadAll(ctx context.Context, userID string, f belfry.Filter, at time.Time) (int, error) {
	if f.Read != nil && *f.Read {
		return 0, nil // only read ones: none is unread
	}
	return s.bulk(ctx, userID, `read_at = $3, seen_at = COALESCE(seen_at, $3)`,
		`read_at IS NULL AND archived_at IS NULL`, f, at)
}

// SeeAll marks seen the user's unseen notifications with ids up to upTo
// and returns how many changed. Errors: EUNAVAILABLE.
func (s *Store) SeeAll(ctx context.Context, userID string, upTo int64, at time.Time) (int, error) {
	// Unseen ones are unread: the unread index finds them.
	return s.bulk(ctx, userID, `seen_at = $3`, `read_at IS NULL AND seen_at IS NULL`,
		belfry.Filter{UpTo: upTo}, at)
}

// ArchiveAll archives the user's unarchived notifications that f selects
// and returns how many changed. Errors: EUNAVAILABLE.
func (s *Store) ArchiveAll(ctx context.Context, userID string, f belfry.Filter, at time.Time) (int, error) {
	return s.bulk(ctx, userID, `archived_at = $3`, `archived_at IS NULL`, f, at)
}

// Delete removes one notification; the user's counter keeps its id from
// being reused. An expired notification is not found (Purge removes it).
// Errors: ENOTFOUND, EUNAVAILABLE.
func (s *Store) Delete(ctx context.Context, userID string, id int64) error {
	var deleted int64
	err := s.do(ctx, false, func() error {
		tag, err := s.pool.Exec(ctx, `DELETE FROM belfry_notifications
			WHERE user_id = $1 AND id = $2 AND `+live(3), userID, id, s.now())
		deleted = tag.RowsAffected()
		return err
	})
	if err != nil {
		return classify("postgres", err)
	}
	if deleted == 0 {
		return errNotFound()
	}
	return nil
}
