package belfry

import (
	"context"
	"time"
)

// Store is the durable inbox. It is the truth: the broker and the streams are
// views of it. Every method is scoped to one user; no method returns, counts
// or changes another user's notifications.
//
// Implementations: sqlite (the embedded default), postgres, mongodb. Every
// one passes the storetest suite. A store that cannot reach its database
// returns an *Error with code EUNAVAILABLE and changes nothing.
type Store interface {
	// Create stores the notifications durably, assigning each its ID (the
	// user's next sequence number, in commit order: once Create returns id N
	// for a user, every id below N of that user is visible to readers) and
	// CreatedAt. The inputs are already validated. Either all are stored or
	// none is. Errors: EUNAVAILABLE.
	Create(ctx context.Context, ns []*Notification) error

	// List returns a page of the user's notifications, newest first.
	// Errors: EUNAVAILABLE.
	List(ctx context.Context, userID string, q ListQuery) ([]*Notification, error)

	// After returns up to limit notifications of the user with ID > afterID,
	// oldest first: the replay of a stream that resumes. Errors: EUNAVAILABLE.
	After(ctx context.Context, userID string, afterID int64, limit int) ([]*Notification, error)

	// Stats returns the user's unread count and the highest id ever assigned
	// to the user (0 if none). Errors: EUNAVAILABLE.
	Stats(ctx context.Context, userID string) (Stats, error)

	// SetRead marks one notification read (at is the time) or unread (at is
	// nil) and returns it as it is now. Marking a read notification read
	// keeps its first read time. Errors: ENOTFOUND, EUNAVAILABLE.
	SetRead(ctx context.Context, userID string, id int64, at *time.Time) (*Notification, error)

	// ReadAll marks every unread notification of the user with ID <= upTo
	// read at the given time and returns how many changed.
	// Errors: EUNAVAILABLE.
	ReadAll(ctx context.Context, userID string, upTo int64, at time.Time) (int, error)

	// Delete removes one notification. Its id is never reused.
	// Errors: ENOTFOUND, EUNAVAILABLE.
	Delete(ctx context.Context, userID string, id int64) error

	// Ping reports whether the database is reachable. Errors: EUNAVAILABLE.
	Ping(ctx context.Context) error

	// Close flushes what is pending and releases the database.
	Close() error
}

// ListQuery selects a page of GET /notifications.
type ListQuery struct {
	Limit      int   // 1..MaxPageSize; the store may assume it is valid
	Before     int64 // only ids below this one; 0 means no bound
	UnreadOnly bool  // only notifications with no read_at
}

// Stats is what a stream's sync event carries.
type Stats struct {
	Unread int   `json:"unread_count"`
	LastID int64 `json:"last_id"`
}
