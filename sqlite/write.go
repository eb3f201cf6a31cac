package sqlite

import (
	"context"
	"time"

	"github.com/belfry/belfry"
)

// Create stores the notifications in one transaction, shared with other
// calls queued at the same moment, and sets each one's ID and CreatedAt
// once it is committed (durable as Config.Synchronous says). Either all
// are stored or none. An ExpiresAt in the past is stored as given (the
// notification is then never listed). Errors: EUNAVAILABLE.
func (s *Store) Create(ctx context.Context, ns []*belfry.Notification) error {
	if len(ns) == 0 {
		return nil
	}
	return s.submit(ctx, &request{op: opCreate, ns: ns})
}

// SetRead marks the user's notification read at at (keeping an earlier read
// time) and seen (keeping an earlier seen time) or, with a nil at, unread,
// and returns it as it now is. Errors: ENOTFOUND (no such id for this
// user, or expired), EUNAVAILABLE.
func (s *Store) SetRead(ctx context.Context, userID string, id int64, at *time.Time) (*belfry.Notification, error) {
	return s.change(ctx, &request{op: opSetRead, user: userID, id: id, at: msPtr(at)})
}

// SetArchived archives the user's notification at at (keeping an earlier
// time) or, with a nil at, unarchives it, and returns it as it now is.
// Errors: ENOTFOUND (no such id for this user, or expired), EUNAVAILABLE.
func (s *Store) SetArchived(ctx context.Context, userID string, id int64, at *time.Time) (*belfry.Notification, error) {
	return s.change(ctx, &request{op: opSetArchived, user: userID, id: id, at: msPtr(at)})
}

// Act records the action actionID taken at at, marks the notification
// read and seen (keeping earlier times), and returns it as it now is.
// Taking the action already taken changes nothing.
// Errors: ENOTFOUND (no such id for this user, expired, or no such action
// on it), ECONFLICT (another action was taken), EUNAVAILABLE.
func (s *Store) Act(ctx context.Context, userID string, id int64, actionID string, at time.Time) (*belfry.Notification, error) {
	return s.change(ctx, &request{op: opAct, user: userID, id: id, action: actionID, at: msPtr(&at)})
}

// change submits a change of one notification and returns it.
func (s *Store) change(ctx context.Context, r *request) (*belfry.Notification, error) {
	if err := s.submit(ctx, r); err != nil {
		return nil, err
	}
	return r.n, nil
}

// ReadAll marks read (and seen where it was not) at at every unread,
// unarchived, unexpired notification of the user that f selects, and
// returns how many changed. Errors: EUNAVAILABLE.
func (s *Store) ReadAll(ctx context.Context, userID string, f belfry.Filter, at time.Time) (int, error) {
	return s.bulk(ctx, &request{op: opReadAll, user: userID, id: f.UpTo, filter: f, at: msPtr(&at)})
}

// SeeAll marks seen at at every unseen, unexpired notification of the user
// with ID <= upTo, archived ones included, and returns how many changed.
// Errors: EUNAVAILABLE.
func (s *Store) SeeAll(ctx context.Context, userID string, upTo int64, at time.Time) (int, error) {
	return s.bulk(ctx, &request{op: opSeeAll, user: userID, id: upTo, at: msPtr(&at)})
}

// ArchiveAll archives at at every unarchived, unexpired notification of
// the user that f selects and returns how many changed.
// Errors: EUNAVAILABLE.
func (s *Store) ArchiveAll(ctx context.Context, userID string, f belfry.Filter, at time.Time) (int, error) {
	return s.bulk(ctx, &request{op: opArchiveAll, user: userID, id: f.UpTo, filter: f, at: msPtr(&at)})
}

func (s *Store) bulk(ctx context.Context, r *request) (int, error) {
	if err := s.submit(ctx, r); err != nil {
		return 0, err
	}
	return r.count, nil
}

// Delete removes the user's notification; its id is never reused.
// Errors: ENOTFOUND (no such id for this user, or expired), EUNAVAILABLE.
func (s *Store) Delete(ctx context.Context, userID string, id int64) error {
	return s.submit(ctx, &request{op: opDelete, user: userID, id: id})
}

// msPtr returns a copy of *at at the stored precision, or nil.
func msPtr(at *time.Time) *time.Time {
	if at == nil {
		return nil
	}
	t := belfry.Now(*at)
	return &t
}
