package belfry

import (
	"context"
	"time"
)

// Store is the durable inbox. It is the truth: the broker and the streams are
// views of it. Every method is scoped to one user; no method returns, counts
// or changes another user's notifications.
//
// Expired notifications (ExpiresAt at or before the store's clock) are never
// listed, counted or returned by After, whether or not Purge has deleted
// them yet. Archived ones are not counted and are listed only when asked for.
//
// Implementations: sqlite (the embedded default), postgres, mongodb. Every
// one passes the storetest suite. A store that cannot reach its database
// returns an *Error with code EUNAVAILABLE and changes nothing.
type Store interface {
	Outbox        // push and webhook jobs (outbox.go)
	Subscriptions // push subscriptions (outbox.go)

	// Create stores the notifications durably, assigning each its ID (the
	// user's next sequence number, in commit order: once Create returns id N
	// for a user, every id below N of that user is visible to readers) and
	// CreatedAt. The inputs are already validated. Either all are stored or
	// none is. Preferences are not applied (Publish applies them).
	// Errors: EUNAVAILABLE.
	Create(ctx context.Context, ns []*Notification) error

	// Publish is Create for a publish call: it applies the users'
	// preferences and, when b.Key is set, makes the call idempotent. See
	// Batch. Errors: EIDEMCONFLICT, EUNAVAILABLE.
	Publish(ctx context.Context, b *Batch) error

	// List returns a page of the user's notifications, newest first.
	// Errors: EUNAVAILABLE.
	List(ctx context.Context, userID string, q ListQuery) ([]*Notification, error)

	// After returns up to limit notifications of the user with ID > afterID,
	// oldest first, archived ones included and expired ones left out: the
	// replay of a stream that resumes. Errors: EUNAVAILABLE.
	After(ctx context.Context, userID string, afterID int64, limit int) ([]*Notification, error)

	// Stats returns the user's counts and the highest id ever assigned to
	// the user (0 if none), read at one instant. Errors: EUNAVAILABLE.
	Stats(ctx context.Context, userID string) (Stats, error)

	// SetRead marks one notification read (at is the time) or unread (at is
	// nil) and returns it as it is now. Marking a read notification read
	// keeps its first read time. Reading also marks it seen (keeping an
	// earlier seen time); marking unread leaves seen_at alone.
	// Errors: ENOTFOUND, EUNAVAILABLE.
	SetRead(ctx context.Context, userID string, id int64, at *time.Time) (*Notification, error)

	// ReadAll marks read, at the given time, every unread and unarchived
	// notification of the user that f selects (f.UpTo is set), seen too
	// where it was not, and returns how many changed. One transaction, or
	// one atomic statement. Errors: EUNAVAILABLE.
	ReadAll(ctx context.Context, userID string, f Filter, at time.Time) (int, error)

	// SeeAll marks seen, at the given time, every unseen notification of
	// the user with ID <= upTo, and returns how many changed.
	// Errors: EUNAVAILABLE.
	SeeAll(ctx context.Context, userID string, upTo int64, at time.Time) (int, error)

	// SetArchived archives one notification (at is the time; an archived
	// one keeps its first time) or unarchives it (at is nil) and returns it
	// as it is now. Errors: ENOTFOUND, EUNAVAILABLE.
	SetArchived(ctx context.Context, userID string, id int64, at *time.Time) (*Notification, error)

	// ArchiveAll archives, at the given time, every unarchived notification
	// of the user that f selects (f.UpTo is set) and returns how many
	// changed. Errors: EUNAVAILABLE.
	ArchiveAll(ctx context.Context, userID string, f Filter, at time.Time) (int, error)

	// Act records that the user took the action actionID of notification
	// id at the given time, marks it read and seen (keeping earlier times),
	// and returns it as it is now. The first action taken stays: taking the
	// same one again changes nothing; taking another is ECONFLICT.
	// Errors: ENOTFOUND (no such notification, or no such action on it),
	// ECONFLICT, EUNAVAILABLE.
	Act(ctx context.Context, userID string, id int64, actionID string, at time.Time) (*Notification, error)

	// Delete removes one notification. Its id is never reused.
	// Errors: ENOTFOUND, EUNAVAILABLE.
	Delete(ctx context.Context, userID string, id int64) error

	// Preferences returns the user's preferences; a user who never set
	// any gets DefaultPreferences. Errors: EUNAVAILABLE.
	Preferences(ctx context.Context, userID string) (Preferences, error)

	// SetPreferences applies the (validated) patch atomically and returns
	// the preferences as they are now. Errors: EUNAVAILABLE.
	SetPreferences(ctx context.Context, userID string, p PreferencesPatch) (Preferences, error)

	// Purge deletes one bounded batch (at most q.Limit notifications) of
	// what q selects, across all users, and the idempotency keys expired at
	// q.Now, and returns the notifications it deleted with the reason. The
	// caller repeats while a full batch comes back. It never holds the
	// store's write path for longer than one batch. Errors: EUNAVAILABLE.
	Purge(ctx context.Context, q PurgeQuery) ([]Removed, error)

	// Ping reports whether the database is reachable. Errors: EUNAVAILABLE.
	Ping(ctx context.Context) error

	// Close flushes what is pending and releases the database.
	Close() error
}

// Status selects notifications by archive state in GET /notifications.
type Status string

const (
	StatusInbox    Status = "inbox"    // not archived (the default)
	StatusArchived Status = "archived" // archived only
	StatusAll      Status = "all"      // both
)

// ListQuery selects a page of GET /notifications. Expired notifications are
// never listed.
type ListQuery struct {
	Limit      int    // 1..MaxPageSize; the store may assume it is valid
	Before     int64  // only ids below this one; 0 means no bound
	UnreadOnly bool   // only notifications with no read_at
	UnseenOnly bool   // only notifications with no seen_at
	Status     Status // "" means StatusInbox
	Category   string // only this category; "" means any
}

// Filter selects the notifications of a bulk change (read-all,
// archive-all). Every set field must match.
type Filter struct {
	UpTo     int64   // ids <= UpTo; the Inbox sets it (to the last id when the caller gave none)
	Category *string // only this category
	Read     *bool   // only read (true) or only unread (false) notifications
}

// Counts are the unread and unseen notifications among those that count:
// not archived, not expired.
type Counts struct {
	Unread int `json:"unread"`
	Unseen int `json:"unseen"`
}

// Stats is what a stream's sync event and every state event carry.
type Stats struct {
	Unread int   `json:"unread_count"`
	Unseen int   `json:"unseen_count"`
	LastID int64 `json:"last_id"`
	// ByCategory holds the counts of each category with an unread or an
	// unseen notification; notifications without a category are only in
	// the totals. Never nil from a Store.
	ByCategory map[string]Counts `json:"by_category"`
}

// Batch is one publish call for Store.Publish.
//
// Preferences: a notification whose user has in-app delivery off for its
// category (the category's switch, else the user's default; an
// uncategorized notification follows the default) is not stored; its user
// is appended to Skipped and it is removed from Notifications.
//
// Idempotency: with Key set, the store records, in the same transaction as
// the notifications (or, without transactions, so that no crash creates a
// second set), the key, Key.Hash, the users and ids created and the time.
// A later Publish with the same Key.Name before Key.Expires, whatever the
// node, instead fills Notifications' ID and CreatedAt from the record,
// drops those not created then (and lists their users in Skipped), sets
// Replayed, and stores nothing. The same name with another Hash is
// EIDEMCONFLICT. Concurrent calls with one key create one set.
type Batch struct {
	Notifications []*Notification
	Key           *IdempotencyKey
	// Jobs are enqueued in the same transaction as the notifications (see
	// Job.Index and Job.OnlyIfSubscribed); none when the batch is replayed.
	Jobs     []Job
	Skipped  []string // out: users skipped by their preferences, in input order
	Replayed bool     // out: the answer is the record of an earlier call
}

// IdempotencyKey names a publish call.
type IdempotencyKey struct {
	Name    string    // the Idempotency-Key header, 1–255 printable ASCII
	Hash    [32]byte  // SHA-256 of the request body
	Expires time.Time // the end of the window
}

// PurgeQuery selects what Store.Purge deletes.
type PurgeQuery struct {
	Now time.Time // expired: ExpiresAt <= Now (always purged)
	// RetainBefore, when not zero: notifications created before it that
	// are read or archived (or any, with RetainUnread) are deleted.
	RetainBefore time.Time
	RetainUnread bool
	// MaxPerUser, when above 0: a user's oldest notifications beyond this
	// many are deleted.
	MaxPerUser int
	Limit      int // at most this many notifications in one call (> 0)
	// FailedBefore, when not zero: failed outbox jobs created before it
	// are deleted too (at most Limit of them; they are not in the result).
	FailedBefore time.Time
}

// Removed is one notification that Purge deleted.
type Removed struct {
	UserID string
	ID     int64
	Reason Reason
}

// Reason says why a notification was deleted (notification-deleted's
// "reason").
type Reason string

const (
	ReasonDeleted   Reason = "deleted"   // by the user
	ReasonRetracted Reason = "retracted" // by the app (API key)
	ReasonExpired   Reason = "expired"   // its expires_at passed
	ReasonRetention Reason = "retention" // --retain or --max-per-user
)
