package sqlite

import (
	"context"
	"time"

	"github.com/belfry/belfry"
)

// Create stores the notifications in one transaction, shared with other
// calls queued at the same moment, and sets each one's ID and CreatedAt
// once it is committed (durable as Config.Synchronous says). Either all
// are stored or none. Errors: EUNAVAILABLE.
func (s *Store) Create(ctx context.Context, ns []*belfry.Notification) error {
	if len(ns) == 0 {
		return nil
	}
	return s.submit(ctx, &request{op: opCreate, ns: ns})
}

// SetRead marks the user's notification read at at (keeping an earlier read
// time) or, with a nil at, unread, and returns it as it now is.
// Errors: ENOTFOUND (no such id for this user), EUNAVAILABLE.
func (s *Store) SetRead(ctx context.Context, userID string, id int64, at *time.Time) (*belfry.Notification, error) {
	if at != nil {
		t := belfry.Now(*at)
		at = &t
	}
	r := &request{op: opSetRead, user: userID, id: id, at: at}
	if err := s.submit(ctx, r); err != nil {
		return nil, err
	}
	return r.n, nil
}

// ReadAll marks the user's unread notifications with ID <= upTo read at at
// and returns how many changed. Errors: EUNAVAILABLE.
func (s *Store) ReadAll(ctx context.Context, userID string, upTo int64, at time.Time) (int, error) {
	at = belfry.Now(at)
	r := &request{op: opReadAll, user: userID, id: upTo, at: &at}
	if err := s.submit(ctx, r); err != nil {
		return 0, err
	}
	return r.count, nil
}

// Delete removes the user's notification; its id is never reused.
// Errors: ENOTFOUND (no such id for this user), EUNAVAILABLE.
func (s *Store) Delete(ctx context.Context, userID string, id int64) error {
	return s.submit(ctx, &request{op: opDelete, user: userID, id: id})
}
