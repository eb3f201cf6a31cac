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

// SetRead marks one notification read (at is the time) or unread (at is
// nil) and returns it as it is now. A read notification keeps its first
// read time: the update only matches while read_at is null. Each is one
// atomic findAndModify. Errors: ENOTFOUND, EUNAVAILABLE.
func (s *Store) SetRead(ctx context.Context, userID string, id int64, at *time.Time) (*belfry.Notification, error) {
	ctx, cancel := s.opCtx(ctx)
	defer cancel()
	key := bson.D{{Key: "user_id", Value: userID}, {Key: "seq", Value: id}}
	now := belfry.Now(time.Now())
	f := key
	var set bson.D
	if at != nil {
		f = append(bson.D{}, key...)
		f = append(f, bson.E{Key: "read_at", Value: nil})
		set = bson.D{{Key: "read_at", Value: at.UTC()}, {Key: "updated_at", Value: now}}
	} else {
		set = bson.D{{Key: "read_at", Value: nil}, {Key: "updated_at", Value: now}}
	}
	var d readDoc
	err := s.notes.FindOneAndUpdate(ctx, f, bson.D{{Key: "$set", Value: set}},
		options.FindOneAndUpdate().SetReturnDocument(options.After)).Decode(&d)
	if errors.Is(err, mongo.ErrNoDocuments) && at != nil {
		// Already read (keep its first read time), or not there.
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

// ReadAll marks every unread notification of the user with ID <= upTo read
// and returns how many changed. It is one updateMany. Errors: EUNAVAILABLE.
func (s *Store) ReadAll(ctx context.Context, userID string, upTo int64, at time.Time) (int, error) {
	ctx, cancel := s.opCtx(ctx)
	defer cancel()
	f := bson.D{{Key: "user_id", Value: userID}, {Key: "read_at", Value: nil},
		{Key: "seq", Value: bson.D{{Key: "$lte", Value: upTo}}}}
	u := bson.D{{Key: "$set", Value: bson.D{{Key: "read_at", Value: at.UTC()},
		{Key: "updated_at", Value: belfry.Now(time.Now())}}}}
	res, err := s.notes.UpdateMany(ctx, f, u)
	if err != nil {
		return 0, classify("mongodb", err)
	}
	return int(res.ModifiedCount), nil
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
