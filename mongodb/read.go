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

// live is the condition "not expired at now": expires_at absent, null or
// after now. ($not matches the documents without the field, as $or with
// null would, in one clause MongoDB and FerretDB both take.)
func live(now time.Time) bson.E {
	return bson.E{Key: "expires_at", Value: bson.D{{Key: "$not", Value: bson.D{{Key: "$lte", Value: now}}}}}
}

var notNull = bson.D{{Key: "$ne", Value: nil}}

// List returns a page of the user's notifications, newest first, leaving
// out expired ones. Errors: EUNAVAILABLE.
func (s *Store) List(ctx context.Context, userID string, q belfry.ListQuery) ([]*belfry.Notification, error) {
	if q.Limit <= 0 {
		return nil, nil
	}
	f := bson.D{{Key: "user_id", Value: userID}}
	if q.Before > 0 {
		f = append(f, bson.E{Key: "seq", Value: bson.D{{Key: "$lt", Value: q.Before}}})
	}
	if q.UnreadOnly {
		f = append(f, bson.E{Key: "read_at", Value: nil})
	}
	if q.UnseenOnly {
		f = append(f, bson.E{Key: "seen_at", Value: nil})
	}
	switch q.Status {
	case belfry.StatusAll:
	case belfry.StatusArchived:
		f = append(f, bson.E{Key: "archived_at", Value: notNull})
	default:
		f = append(f, bson.E{Key: "archived_at", Value: nil})
	}
	if q.Category != "" {
		f = append(f, bson.E{Key: "category", Value: q.Category})
	}
	f = append(f, live(s.now()))
	return s.find(ctx, f, options.Find().SetSort(bson.D{{Key: "seq", Value: -1}}).SetLimit(int64(q.Limit)))
}

// After returns up to limit notifications of the user with ID > afterID,
// oldest first, archived ones included and expired ones left out. Ids are
// inserted in commit order (see the package doc), so the result never
// skips an id that a later call could still return. Errors: EUNAVAILABLE.
func (s *Store) After(ctx context.Context, userID string, afterID int64, limit int) ([]*belfry.Notification, error) {
	if limit <= 0 {
		return nil, nil
	}
	f := bson.D{{Key: "user_id", Value: userID}, {Key: "seq", Value: bson.D{{Key: "$gt", Value: afterID}}}, live(s.now())}
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

// Stats returns the user's counts and the highest id ever assigned: the
// larger of the user's counter (which covers deleted ids) and the highest
// stored id (the counter lags while a batch is being inserted). With no
// transaction to read everything in, the last id is read first and only
// ids up to it are counted, so that a notification inserted meanwhile is
// in neither. The counts are one aggregation over the user's unarchived,
// unexpired notifications up to the last id that are unread or unseen,
// grouped by category and by the BSON type of read_at and seen_at (null or
// missing means unread, unseen; FerretDB v1 has no $cond, but has $type),
// so each notification is read once and the unread and unseen counts
// agree with each other. Errors: EUNAVAILABLE.
func (s *Store) Stats(ctx context.Context, userID string) (belfry.Stats, error) {
	ctx, cancel := s.opCtx(ctx)
	defer cancel()
	last, err := s.lastID(ctx, userID)
	if err != nil {
		return belfry.Stats{}, err
	}
	st := belfry.Stats{LastID: last, ByCategory: map[string]belfry.Counts{}}
	if last == 0 {
		return st, nil
	}
	f := bson.D{{Key: "user_id", Value: userID}, {Key: "seq", Value: bson.D{{Key: "$lte", Value: last}}},
		{Key: "archived_at", Value: nil}, live(s.now()),
		{Key: "$or", Value: bson.A{bson.D{{Key: "read_at", Value: nil}}, bson.D{{Key: "seen_at", Value: nil}}}}}
	typeOf := func(field string) bson.D { return bson.D{{Key: "$type", Value: "$" + field}} }
	cur, err := s.notes.Aggregate(ctx, mongo.Pipeline{
		{{Key: "$match", Value: f}},
		{{Key: "$addFields", Value: bson.D{{Key: "r", Value: typeOf("read_at")}, {Key: "s", Value: typeOf("seen_at")}}}},
		{{Key: "$group", Value: bson.D{
			{Key: "_id", Value: bson.D{{Key: "c", Value: "$category"}, {Key: "r", Value: "$r"}, {Key: "s", Value: "$s"}}},
			{Key: "n", Value: bson.D{{Key: "$sum", Value: 1}}}}}},
	})
	if err != nil {
		return belfry.Stats{}, classify("mongodb", err)
	}
	var groups []struct {
		Key struct {
			Category any    `bson:"c"`
			Read     string `bson:"r"`
			Seen     string `bson:"s"`
		} `bson:"_id"`
		N int64 `bson:"n"`
	}
	if err := cur.All(ctx, &groups); err != nil {
		return belfry.Stats{}, classify("mongodb", err)
	}
	unset := func(typ string) bool { return typ == "null" || typ == "missing" }
	for _, g := range groups {
		cat, _ := g.Key.Category.(string)
		c := st.ByCategory[cat]
		if unset(g.Key.Read) {
			st.Unread += int(g.N)
			c.Unread += int(g.N)
		}
		if unset(g.Key.Seen) {
			st.Unseen += int(g.N)
			c.Unseen += int(g.N)
		}
		if cat != "" && c != (belfry.Counts{}) {
			st.ByCategory[cat] = c
		}
	}
	return st, nil
}

// lastID returns the highest id ever assigned to the user.
// Errors: EUNAVAILABLE.
func (s *Store) lastID(ctx context.Context, userID string) (int64, error) {
	cp, err := s.readCounters(ctx, []string{userID})
	if err != nil {
		return 0, classify("mongodb", err)
	}
	last := cp.last[userID]
	m, err := s.maxSeqAbove(ctx, userID, last)
	if err != nil {
		return 0, err
	}
	return max(last, m), nil
}

// maxSeq returns the highest id stored for the user, 0 if none.
// Errors: EUNAVAILABLE.
func (s *Store) maxSeq(ctx context.Context, userID string) (int64, error) {
	return s.maxSeqAbove(ctx, userID, 0)
}

// maxSeqAbove returns the highest id stored for the user if it is above
// floor, else 0. (Looking only above the counter is what lets FerretDB,
// which sorts in its own process, skip most of the user's documents.)
// Errors: EUNAVAILABLE.
func (s *Store) maxSeqAbove(ctx context.Context, userID string, floor int64) (int64, error) {
	var d struct {
		Seq int64 `bson:"seq"`
	}
	err := s.notes.FindOne(ctx, bson.D{{Key: "user_id", Value: userID}, {Key: "seq", Value: bson.D{{Key: "$gt", Value: floor}}}},
		options.FindOne().SetSort(bson.D{{Key: "seq", Value: -1}}).SetProjection(bson.D{{Key: "seq", Value: 1}})).Decode(&d)
	if errors.Is(err, mongo.ErrNoDocuments) {
		return 0, nil
	}
	if err != nil {
		return 0, classify("mongodb", err)
	}
	return d.Seq, nil
}
