package belfry

import (
	"context"
	"fmt"
	"sync"
	"time"
)

// The user's state changes. Each goes to the Store, then reads the user's
// counts, then tells the user's streams on every node with one state event
// carrying them. Once the store has the change, the caller leaving does not
// stop the count or the event.

// MarkRead marks one of the user's notifications read (and seen).
// Errors: ENOTFOUND, EUNAVAILABLE.
func (ib *Inbox) MarkRead(ctx context.Context, user string, id int64) (*Notification, error) {
	at := ib.now()
	return ib.setRead(ctx, user, id, &at)
}

// MarkUnread marks one of the user's notifications unread.
// Errors: ENOTFOUND, EUNAVAILABLE.
func (ib *Inbox) MarkUnread(ctx context.Context, user string, id int64) (*Notification, error) {
	return ib.setRead(ctx, user, id, nil)
}

func (ib *Inbox) setRead(ctx context.Context, user string, id int64, at *time.Time) (*Notification, error) {
	if id <= 0 {
		return nil, errNotFound()
	}
	var was *Notification
	if at != nil && ib.Reach.Webhooks() {
		mu := ib.hookMu(user)
		mu.Lock()
		defer mu.Unlock()
		was = ib.current(ctx, user, id)
	}
	n, err := ib.Store.SetRead(ctx, user, id, at)
	if err != nil {
		return nil, err
	}
	if was != nil && was.ReadAt == nil && n.ReadAt != nil { // read by this call
		ib.emit(ctx, EventRead, n)
	}
	return n, ib.tell(ctx, user, KindRead, &StateChange{ID: n.ID, Read: n.ReadAt != nil,
		ReadAt: FormatTimePtr(n.ReadAt), SeenAt: FormatTimePtr(n.SeenAt)})
}

// Bulk is the outcome of a bulk change: how many notifications changed
// and the user's counts after it.
type Bulk struct {
	Updated int
	Stats   Stats
}

// MarkAllRead marks read every unread, unarchived notification of the user
// that f selects, up to f.UpTo or, when it is 0, the last id at the time of
// the call. Errors: EINVALID, EUNAVAILABLE.
func (ib *Inbox) MarkAllRead(ctx context.Context, user string, f Filter) (Bulk, error) {
	return ib.bulk(ctx, user, f, KindRead, ib.Store.ReadAll)
}

// ArchiveAll archives every unarchived notification of the user that f
// selects, as MarkAllRead. Errors: EINVALID, EUNAVAILABLE.
func (ib *Inbox) ArchiveAll(ctx context.Context, user string, f Filter) (Bulk, error) {
	return ib.bulk(ctx, user, f, KindArchive, ib.Store.ArchiveAll)
}

func (ib *Inbox) bulk(ctx context.Context, user string, f Filter, kind Kind,
	apply func(context.Context, string, Filter, time.Time) (int, error)) (Bulk, error) {
	if f.UpTo < 0 {
		return Bulk{}, Errorf(EINVALID, "up_to_id must be a positive id")
	}
	if f.Category != nil {
		if err := ValidateCategory(*f.Category); err != nil {
			return Bulk{}, err
		}
	}
	if err := ib.bound(ctx, user, &f.UpTo); err != nil {
		return Bulk{}, err
	}
	at := ib.now()
	changed, err := apply(ctx, user, f, at)
	if err != nil {
		return Bulk{}, err
	}
	s := FormatTime(at)
	c := &StateChange{All: true, UpTo: f.UpTo, Filter: EventFilterOf(f)}
	if kind == KindRead && changed > 0 && ib.Reach.Webhooks() {
		ib.emitData(ctx, EventRead, user, 0, appendBulkRead(nil, user, f, changed, at))
	}
	if kind == KindRead {
		c.Read, c.ReadAt, c.SeenAt = true, &s, &s
	} else {
		c.Archived, c.ArchivedAt = true, &s
	}
	err = ib.tell(ctx, user, kind, c)
	return Bulk{Updated: changed, Stats: c.Stats}, err
}

// bound sets *upTo to the user's last id when it is 0.
func (ib *Inbox) bound(ctx context.Context, user string, upTo *int64) error {
	if *upTo > 0 {
		return nil
	}
	st, err := ib.Store.Stats(ctx, user)
	if err != nil {
		return err
	}
	*upTo = st.LastID
	return nil
}

// MarkSeen marks seen every notification of the user up to upTo or, when
// it is 0, the last id at the time of the call. The bell calls it when its
// panel opens. Errors: EINVALID, EUNAVAILABLE.
func (ib *Inbox) MarkSeen(ctx context.Context, user string, upTo int64) (Bulk, error) {
	if upTo < 0 {
		return Bulk{}, Errorf(EINVALID, "up_to_id must be a positive id")
	}
	if err := ib.bound(ctx, user, &upTo); err != nil {
		return Bulk{}, err
	}
	at := ib.now()
	changed, err := ib.Store.SeeAll(ctx, user, upTo, at)
	if err != nil {
		return Bulk{}, err
	}
	if changed == 0 {
		// Nothing changed: answer the counts, tell no stream.
		st, err := ib.Store.Stats(context.WithoutCancel(ctx), user)
		return Bulk{Stats: st}, err
	}
	s := FormatTime(at)
	c := &StateChange{All: true, UpTo: upTo, SeenAt: &s}
	err = ib.tell(ctx, user, KindSeen, c)
	return Bulk{Updated: changed, Stats: c.Stats}, err
}

// Archive archives one of the user's notifications.
// Errors: ENOTFOUND, EUNAVAILABLE.
func (ib *Inbox) Archive(ctx context.Context, user string, id int64) (*Notification, error) {
	at := ib.now()
	return ib.setArchived(ctx, user, id, &at)
}

// Unarchive brings one of the user's notifications back to the inbox.
// Errors: ENOTFOUND, EUNAVAILABLE.
func (ib *Inbox) Unarchive(ctx context.Context, user string, id int64) (*Notification, error) {
	return ib.setArchived(ctx, user, id, nil)
}

func (ib *Inbox) setArchived(ctx context.Context, user string, id int64, at *time.Time) (*Notification, error) {
	if id <= 0 {
		return nil, errNotFound()
	}
	n, err := ib.Store.SetArchived(ctx, user, id, at)
	if err != nil {
		return nil, err
	}
	return n, ib.tell(ctx, user, KindArchive, &StateChange{ID: n.ID,
		Archived: n.ArchivedAt != nil, ArchivedAt: FormatTimePtr(n.ArchivedAt)})
}

// Act records the user's action on one of their notifications and marks
// it read. Taking the same action again changes nothing.
// Errors: ENOTFOUND (no such notification or action), ECONFLICT (another
// action was taken), EUNAVAILABLE.
func (ib *Inbox) Act(ctx context.Context, user string, id int64, actionID string) (*Notification, error) {
	if id <= 0 || actionID == "" {
		return nil, errNotFound()
	}
	var was *Notification
	if ib.Reach.Webhooks() {
		mu := ib.hookMu(user)
		mu.Lock()
		defer mu.Unlock()
		was = ib.current(ctx, user, id)
	}
	n, err := ib.Store.Act(ctx, user, id, actionID, ib.now())
	if err != nil {
		return nil, err
	}
	if was != nil && was.ActedAt == nil && n.ActedAt != nil { // taken by this call
		ib.emit(ctx, EventAction, n)
	}
	return n, ib.tell(ctx, user, KindAction, &StateChange{ID: n.ID, Action: n.Action,
		ActedAt: FormatTimePtr(n.ActedAt), Read: true, ReadAt: FormatTimePtr(n.ReadAt),
		SeenAt: FormatTimePtr(n.SeenAt)})
}

// Delete removes one of the user's notifications, as the user.
// Errors: ENOTFOUND, EUNAVAILABLE.
func (ib *Inbox) Delete(ctx context.Context, user string, id int64) error {
	return ib.remove(ctx, user, id, ReasonDeleted)
}

// Retract removes one of the user's notifications, as the app.
// Errors: EINVALID (a bad user id), ENOTFOUND, EUNAVAILABLE.
func (ib *Inbox) Retract(ctx context.Context, user string, id int64) error {
	if err := ValidateUserID(user); err != nil {
		return err
	}
	return ib.remove(ctx, user, id, ReasonRetracted)
}

func (ib *Inbox) remove(ctx context.Context, user string, id int64, why Reason) error {
	if id <= 0 {
		return errNotFound()
	}
	if err := ib.Store.Delete(ctx, user, id); err != nil {
		return err
	}
	return ib.tell(ctx, user, KindDeleted, &StateChange{ID: id, Reason: why})
}

// tell reads the user's counts into c and publishes c as a kind event. The
// change is committed: the counts are read and the event published even
// if the caller left.
func (ib *Inbox) tell(ctx context.Context, user string, kind Kind, c *StateChange) error {
	ctx = context.WithoutCancel(ctx)
	mu := ib.userMu(user)
	mu.Lock()
	defer mu.Unlock()
	st, err := ib.Store.Stats(ctx, user)
	if err != nil {
		return err
	}
	c.Stats = st
	ib.publish(ctx, []Message{{Kind: kind, UserID: user, State: c}})
	return nil
}

// userMu returns the lock of user's counts-and-publish (see tellMu).
func (ib *Inbox) userMu(user string) *sync.Mutex {
	return &ib.tellMu[fnv(user)%uint32(len(ib.tellMu))]
}

// fnv is the FNV-1a hash of s.
func fnv(s string) uint32 {
	h := uint32(2166136261)
	for i := 0; i < len(s); i++ {
		h = (h ^ uint32(s[i])) * 16777619
	}
	return h
}

func errNotFound() error { return Errorf(ENOTFOUND, "notification not found") }

// current returns the user's notification id as it is, or nil. With
// hookMu held, it tells whether a read or an action is the first, so the
// app gets one webhook per change (the time of a change cannot tell: two
// calls may fall in one millisecond). Two nodes changing one notification
// at the same instant may both send it: webhooks are at least once.
func (ib *Inbox) current(ctx context.Context, user string, id int64) *Notification {
	ns, err := ib.Store.After(ctx, user, id-1, 1)
	if err != nil || len(ns) == 0 || ns[0].ID != id {
		return nil
	}
	return ns[0]
}

// hookMu serializes one user's reads and actions while webhooks are on.
func (ib *Inbox) hookMu(user string) *sync.Mutex {
	return &ib.hookMus[fnv(user)%uint32(len(ib.hookMus))]
}

// emit enqueues the webhook event typ about n, after its change committed.
// A store failure here is logged: the change itself stands.
func (ib *Inbox) emit(ctx context.Context, typ string, n *Notification) {
	if ib.Reach.Webhooks() {
		ib.emitData(ctx, typ, n.UserID, n.ID, n.AppendJSON(nil))
	}
}

func (ib *Inbox) emitData(ctx context.Context, typ, user string, id int64, data []byte) {
	if err := ib.Reach.Emit(context.WithoutCancel(ctx), typ, user, id, data); err != nil {
		ib.logger().Warn("enqueueing a webhook failed", "type", typ, "user", user, "err", err)
	}
}

// appendBulkRead appends the data of a read-all's notification.read:
// {"user_id", "all": true, "up_to_id", "filter"?, "updated", "read_at"}.
func appendBulkRead(b []byte, user string, f Filter, updated int, at time.Time) []byte {
	b = append(b, `{"user_id":`...)
	b = appendString(b, user)
	b = fmt.Appendf(b, `,"all":true,"up_to_id":%d`, f.UpTo)
	if ef := EventFilterOf(f); ef != nil {
		b = append(b, `,"filter":{`...)
		sep := ""
		if ef.Category != nil {
			b = append(b, `"category":`...)
			b = appendString(b, *ef.Category)
			sep = ","
		}
		if ef.Read != nil {
			b = fmt.Appendf(b, `%s"read":%t`, sep, *ef.Read)
		}
		b = append(b, '}')
	}
	b = fmt.Appendf(b, `,"updated":%d,"read_at":"%s"}`, updated, FormatTime(at))
	return b
}
