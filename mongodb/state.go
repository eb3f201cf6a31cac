package mongodb

import (
	"context"
	"errors"
	"time"

	"github.com/belfry/belfry"
	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
)

func errNotFound() error { return belfry.Errorf(belfry.ENOTFOUND, "notification not found") }

var returnAfter = options.FindOneAndUpdate().SetReturnDocument(options.After)

// key selects one notification of the user that has not expired: an
// expired notification is gone for the user, so changing it is ENOTFOUND.
func (s *Store) key(userID string, id int64) bson.D {
	return bson.D{{Key: "user_id", Value: userID}, {Key: "seq", Value: id}, live(s.now())}
}

// change applies update to the notification that f selects and returns it
// as it is now. If f matches nothing it reads the notification by key
// instead (the update's condition no longer held: it is already in the
// wanted state). Errors: ENOTFOUND, EUNAVAILABLE.
func (s *Store) change(ctx context.Context, key, f, update bson.D) (*belfry.Notification, error) {
	ctx, cancel := s.opCtx(ctx)
	defer cancel()
	var d readDoc
	err := s.notes.FindOneAndUpdate(ctx, f, update, returnAfter).Decode(&d)
	if errors.Is(err, mongo.ErrNoDocuments) && len(f) > len(key) {
		err = s.notes.FindOne(ctx, key).Decode(&d)
	}
	if errors.Is(err, mongo.ErrNoDocuments) {
		return nil, errNotFound()
	}
	if err != nil {
		return nil, classify("mongodb", err)
	}
	return d.notification(), nil
}

func with(f bson.D, more ...bson.E) bson.D {
	return append(append(bson.D{}, f...), more...)
}

// markRead is the update that reads (and sees, keeping an earlier seen
// time: $min sets an absent seen_at) at the given time.
func markRead(at, now time.Time) bson.D {
	return bson.D{
		{Key: "$set", Value: bson.D{{Key: "read_at", Value: at}, {Key: "updated_at", Value: now}}},
		{Key: "$min", Value: bson.D{{Key: "seen_at", Value: at}}},
	}
}

// SetRead marks one notification read (at is the time) or unread (at is
// nil) and returns it as it is now. A read notification keeps its first
// read time: the update only matches while read_at is null. Reading also
// sets seen_at unless it is earlier. Each is one findAndModify (atomic on
// MongoDB; see the package doc for FerretDB). Errors: ENOTFOUND,
// EUNAVAILABLE.
func (s *Store) SetRead(ctx context.Context, userID string, id int64, at *time.Time) (*belfry.Notification, error) {
	key := s.key(userID, id)
	now := belfry.Now(s.now())
	if at == nil {
		return s.change(ctx, key, key, bson.D{{Key: "$set", Value: bson.D{{Key: "read_at", Value: nil}, {Key: "updated_at", Value: now}}}})
	}
	return s.change(ctx, key, with(key, bson.E{Key: "read_at", Value: nil}), markRead(at.UTC(), now))
}

// bulk returns the filter of a bulk change of the user: ids up to f.UpTo,
// f's category and read state, not expired.
func (s *Store) bulk(userID string, f belfry.Filter) bson.D {
	q := bson.D{{Key: "user_id", Value: userID}, {Key: "seq", Value: bson.D{{Key: "$lte", Value: f.UpTo}}}}
	if f.Category != nil {
		q = append(q, bson.E{Key: "category", Value: *f.Category})
	}
	if f.Read != nil {
		if *f.Read {
			q = append(q, bson.E{Key: "read_at", Value: notNull})
		} else {
			q = append(q, bson.E{Key: "read_at", Value: nil})
		}
	}
	return append(q, live(s.now()))
}

func (s *Store) updateMany(ctx context.Context, f, u bson.D) (int, error) {
	ctx, cancel := s.opCtx(ctx)
	defer cancel()
	res, err := s.notes.UpdateMany(ctx, f, u)
	if err != nil {
		return 0, classify("mongodb", err)
	}
	return int(res.ModifiedCount), nil
}

// ReadAll marks read every unread, unarchived notification of the user
// that f selects, and seen where it was not, and returns how many changed.
// It is one updateMany. Errors: EUNAVAILABLE.
func (s *Store) ReadAll(ctx context.Context, userID string, f belfry.Filter, at time.Time) (int, error) {
	if f.Read != nil && *f.Read {
		return 0, nil // only read ones, of which none is unread
	}
	q := with(s.bulk(userID, f), bson.E{Key: "archived_at", Value: nil})
	if f.Read == nil {
		q = append(q, bson.E{Key: "read_at", Value: nil})
	}
	return s.updateMany(ctx, q, markRead(at.UTC(), belfry.Now(s.now())))
}

// SeeAll marks seen every unseen notification of the user with ID <= upTo
// and returns how many changed. One updateMany. Errors: EUNAVAILABLE.
func (s *Store) SeeAll(ctx context.Context, userID string, upTo int64, at time.Time) (int, error) {
	q := with(s.bulk(userID, belfry.Filter{UpTo: upTo}), bson.E{Key: "seen_at", Value: nil})
	return s.updateMany(ctx, q, bson.D{{Key: "$set", Value: bson.D{{Key: "seen_at", Value: at.UTC()},
		{Key: "updated_at", Value: belfry.Now(s.now())}}}})
}

// SetArchived archives one notification (keeping its first archive time)
// or unarchives it (at is nil), and returns it as it is now.
// Errors: ENOTFOUND, EUNAVAILABLE.
func (s *Store) SetArchived(ctx context.Context, userID string, id int64, at *time.Time) (*belfry.Notification, error) {
	key := s.key(userID, id)
	now := belfry.Now(s.now())
	if at == nil {
		return s.change(ctx, key, key, bson.D{{Key: "$unset", Value: bson.D{{Key: "archived_at", Value: ""}}},
			{Key: "$set", Value: bson.D{{Key: "updated_at", Value: now}}}})
	}
	return s.change(ctx, key, with(key, bson.E{Key: "archived_at", Value: nil}),
		bson.D{{Key: "$set", Value: bson.D{{Key: "archived_at", Value: at.UTC()}, {Key: "updated_at", Value: now}}}})
}

// ArchiveAll archives every unarchived notification of the user that f
// selects and returns how many changed. One updateMany.
// Errors: EUNAVAILABLE.
func (s *Store) ArchiveAll(ctx context.Context, userID string, f belfry.Filter, at time.Time) (int, error) {
	q := with(s.bulk(userID, f), bson.E{Key: "archived_at", Value: nil})
	return s.updateMany(ctx, q, bson.D{{Key: "$set", Value: bson.D{{Key: "archived_at", Value: at.UTC()},
		{Key: "updated_at", Value: belfry.Now(s.now())}}}})
}

// Act records the user's action on a notification, reads and sees it
// (keeping earlier times), and returns it as it is now. It reads the
// notification, then updates it on condition that no action was taken and
// the read state is still the one read; if the condition fails (a
// concurrent change) it starts again. On MongoDB the first action wins
// exactly; on FerretDB v1, whose conditional update is a read then a
// write, two different actions at the same instant may both be answered
// as taken (the last one stays). Errors: ENOTFOUND, ECONFLICT,
// EUNAVAILABLE.
func (s *Store) Act(ctx context.Context, userID string, id int64, actionID string, at time.Time) (*belfry.Notification, error) {
	key := s.key(userID, id)
	at = at.UTC()
	ctx, cancel := s.opCtx(ctx)
	defer cancel()
	for {
		var d readDoc
		err := s.notes.FindOne(ctx, key).Decode(&d)
		if errors.Is(err, mongo.ErrNoDocuments) {
			return nil, errNotFound()
		}
		if err != nil {
			return nil, classify("mongodb", err)
		}
		n := d.notification()
		switch {
		case n.FindAction(actionID) == nil:
			return nil, belfry.Errorf(belfry.ENOTFOUND, "the notification has no action %q", actionID)
		case n.Action == actionID:
			return n, nil
		case n.Action != "":
			return nil, belfry.Errorf(belfry.ECONFLICT, "another action was taken on this notification")
		}
		f := with(key, bson.E{Key: "action", Value: nil})
		set := bson.D{{Key: "action", Value: actionID}, {Key: "acted_at", Value: at}, {Key: "updated_at", Value: belfry.Now(s.now())}}
		if n.ReadAt == nil {
			f = append(f, bson.E{Key: "read_at", Value: nil})
			set = append(set, bson.E{Key: "read_at", Value: at})
		} else {
			f = append(f, bson.E{Key: "read_at", Value: notNull})
		}
		err = s.notes.FindOneAndUpdate(ctx, f, bson.D{{Key: "$set", Value: set},
			{Key: "$min", Value: bson.D{{Key: "seen_at", Value: at}}}}, returnAfter).Decode(&d)
		if errors.Is(err, mongo.ErrNoDocuments) {
			continue // changed meanwhile: look again
		}
		if err != nil {
			return nil, classify("mongodb", err)
		}
		return d.notification(), nil
	}
}

// Delete removes one notification. Its id is never reused: holding the
// user's lease (so no writer is changing the counter meanwhile), it first
// raises the user's counter to at least this id, then deletes.
// Errors: ENOTFOUND, EUNAVAILABLE.
func (s *Store) Delete(ctx context.Context, userID string, id int64) error {
	ctx, cancel := s.opCtx(ctx)
	defer cancel()
	key := bson.D{{Key: "user_id", Value: userID}, {Key: "seq", Value: id}}
	err := s.notes.FindOne(ctx, key, options.FindOne().SetProjection(bson.D{{Key: "_id", Value: 1}})).Err()
	if errors.Is(err, mongo.ErrNoDocuments) {
		return errNotFound()
	}
	if err != nil {
		return classify("mongodb", err)
	}
	release, err := s.holdLease(ctx, userID)
	if err != nil {
		return classify("mongodb", err)
	}
	defer release()
	cp, err := s.readCounters(ctx, []string{userID})
	if err != nil {
		return classify("mongodb", err)
	}
	if cp.last[userID] < id {
		_, err := s.counters.InsertOne(ctx, counter{ID: bson.NewObjectID(), User: userID, LastID: id})
		if err != nil {
			return classify("mongodb", err)
		}
	}
	res, err := s.notes.DeleteOne(ctx, key)
	if err != nil {
		return classify("mongodb", err)
	}
	if res.DeletedCount == 0 {
		return errNotFound() // deleted meanwhile by another call
	}
	return nil
}
