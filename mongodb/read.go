package mongodb

import (
	"context"
	"errors"

	"github.com/belfry/belfry"
	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
)

// List returns a page of the user's notifications, newest first.
// Errors: EUNAVAILABLE.
func (s *Store) List(ctx context.Context, userID string, q belfry.ListQuery) ([]*belfry.Notification, error) {
	if q.Limit <= 0 {
		return nil, nil
	}
	f := bson.D{{Key: "user_id", Value: userID}}
	if q.UnreadOnly {
		f = append(f, bson.E{Key: "read_at", Value: nil})
	}
	if q.Before > 0 {
		f = append(f, bson.E{Key: "seq", Value: bson.D{{Key: "$lt", Value: q.Before}}})
	}
	return s.find(ctx, f, options.Find().SetSort(bson.D{{Key: "seq", Value: -1}}).SetLimit(int64(q.Limit)))
}

// After returns up to limit notifications of the user with ID > afterID,
// oldest first. Ids are inserted in commit order (see the package doc), so
// the result never skips an id that a later call could still return.
// Errors: EUNAVAILABLE.
func (s *Store) After(ctx context.Context, userID string, afterID int64, limit int) ([]*belfry.Notification, error) {
	if limit <= 0 {
		return nil, nil
	}
	f := bson.D{{Key: "user_id", Value: userID}, {Key: "seq", Value: bson.D{{Key: "$gt", Value: afterID}}}}
	return s.find(ctx, f, options.Find().SetSort(bson.D{{Key: "seq", Value: 1}}).SetLimit(int64(limit)))
}

func (s *Store) find(ctx context.Context, f bson.D, o *options.FindOptionsBuilder) ([]*belfry.Notification, error) {
	ctx, cancel := s.opCtx(ctx)
	defer cancel()
	cur, err := s.notes.Find(ctx, f, o)
	if err != nil {
		return nil, classify("mongodb", err)
	}
	defer cur.Close(ctx)
	var out []*belfry.Notification
	for cur.Next(ctx) {
		var d readDoc
		if err := cur.Decode(&d); err != nil {
			return nil, &belfry.Error{Code: belfry.EINTERNAL, Message: "mongodb: undecodable notification", Err: err}
		}
		out = append(out, d.notification())
	}
	if err := cur.Err(); err != nil {
		return nil, classify("mongodb", err)
	}
	return out, nil
}

// Stats returns the user's unread count and the highest id ever assigned:
// the larger of the user's counter (which covers deleted ids) and the
// highest stored id (the counter lags while a batch is being inserted).
// With no transaction to read both in, the last id is read first and only
// ids up to it are counted, so that a notification inserted meanwhile is
// in neither: the two describe one moment, as a stream's sync needs.
// Errors: EUNAVAILABLE.
func (s *Store) Stats(ctx context.Context, userID string) (belfry.Stats, error) {
	ctx, cancel := s.opCtx(ctx)
	defer cancel()
	cp, err := s.readCounters(ctx, []string{userID})
	if err != nil {
		return belfry.Stats{}, classify("mongodb", err)
	}
	m, err := s.maxSeq(ctx, userID)
	if err != nil {
		return belfry.Stats{}, err
	}
	last := max(cp.last[userID], m)
	unread, err := s.notes.CountDocuments(ctx, bson.D{{Key: "user_id", Value: userID}, {Key: "read_at", Value: nil},
		{Key: "seq", Value: bson.D{{Key: "$lte", Value: last}}}})
	if err != nil {
		return belfry.Stats{}, classify("mongodb", err)
	}
	return belfry.Stats{Unread: int(unread), LastID: last}, nil
}

// maxSeq returns the highest id stored for the user, 0 if none.
// Errors: EUNAVAILABLE.
func (s *Store) maxSeq(ctx context.Context, userID string) (int64, error) {
	var d struct {
		Seq int64 `bson:"seq"`
	}
	err := s.notes.FindOne(ctx, bson.D{{Key: "user_id", Value: userID}},
		options.FindOne().SetSort(bson.D{{Key: "seq", Value: -1}}).SetProjection(bson.D{{Key: "seq", Value: 1}})).Decode(&d)
	if errors.Is(err, mongo.ErrNoDocuments) {
		return 0, nil
	}
	if err != nil {
		return 0, classify("mongodb", err)
	}
	return d.Seq, nil
}
