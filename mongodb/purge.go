package mongodb

import (
	"context"
	"time"

	"github.com/belfry/belfry"
	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
)

// victim is what Purge reads of a notification it deletes.
type victim struct {
	ID     bson.ObjectID `bson:"_id"`
	UserID string        `bson:"user_id"`
	Seq    int64         `bson:"seq"`
}

// Purge deletes one batch of at most q.Limit notifications, across all
// users, in this order: expired ones (expires_at <= q.Now, reason
// expired); then, when q.RetainBefore is set, those created before it
// that are read or archived (any, with q.RetainUnread; reason retention);
// then, when q.MaxPerUser is set, each user's oldest beyond that many
// (reason retention). It also deletes up to q.Limit idempotency keys
// expired at q.Now and, when q.FailedBefore is set, up to q.Limit failed
// outbox jobs created before it (not in the result). Jobs of deleted
// notifications stay: the runner drops them when it finds no notification. Each step is a find of at most the room left and one
// deleteMany by _id, so no statement takes more than a batch.
//
// Before deleting, it makes sure each user's counter covers the highest id
// it deletes (inserting a checkpoint if the counter lags), so that no id
// is handed out again. A notification deleted by its user between the
// find and the deleteMany is still reported. Errors: EUNAVAILABLE.
func (s *Store) Purge(ctx context.Context, q belfry.PurgeQuery) ([]belfry.Removed, error) {
	if q.Limit <= 0 {
		return nil, nil
	}
	ctx, cancel := context.WithTimeout(ctx, 4*s.opTimeout)
	defer cancel()
	var out []belfry.Removed
	step := func(reason belfry.Reason, f bson.D, o *options.FindOptionsBuilder) error {
		room := q.Limit - len(out)
		if room <= 0 {
			return nil
		}
		cur, err := s.notes.Find(ctx, f, o.SetLimit(int64(room)))
		if err != nil {
			return err
		}
		var vs []victim
		if err := cur.All(ctx, &vs); err != nil {
			return err
		}
		if err := s.remove(ctx, vs); err != nil {
			return err
		}
		for _, v := range vs {
			out = append(out, belfry.Removed{UserID: v.UserID, ID: v.Seq, Reason: reason})
		}
		return nil
	}
	proj := func() *options.FindOptionsBuilder {
		return options.Find().SetProjection(bson.D{{Key: "_id", Value: 1}, {Key: "user_id", Value: 1}, {Key: "seq", Value: 1}})
	}
	now := q.Now.UTC()
	if err := step(belfry.ReasonExpired, bson.D{{Key: "expires_at", Value: bson.D{{Key: "$lte", Value: now}}}}, proj()); err != nil {
		return out, classify("mongodb", err)
	}
	if !q.RetainBefore.IsZero() {
		f := bson.D{{Key: "created_at", Value: bson.D{{Key: "$lt", Value: q.RetainBefore.UTC()}}}}
		if !q.RetainUnread {
			f = append(f, bson.E{Key: "$or", Value: bson.A{
				bson.D{{Key: "read_at", Value: notNull}}, bson.D{{Key: "archived_at", Value: notNull}}}})
		}
		if err := step(belfry.ReasonRetention, f, proj()); err != nil {
			return out, classify("mongodb", err)
		}
	}
	if q.MaxPerUser > 0 && len(out) < q.Limit {
		users, err := s.usersOver(ctx, q.MaxPerUser, q.Limit-len(out))
		if err != nil {
			return out, classify("mongodb", err)
		}
		for _, u := range users {
			o := proj().SetSort(bson.D{{Key: "seq", Value: -1}}).SetSkip(int64(q.MaxPerUser))
			if err := step(belfry.ReasonRetention, bson.D{{Key: "user_id", Value: u}}, o); err != nil {
				return out, classify("mongodb", err)
			}
		}
	}
	if err := s.purgeKeys(ctx, now, q.Limit); err != nil {
		return out, classify("mongodb", err)
	}
	if !q.FailedBefore.IsZero() {
		if err := s.purgeFailed(ctx, q.FailedBefore, q.Limit); err != nil {
			return out, classify("mongodb", err)
		}
	}
	return out, nil
}

// usersOver returns up to limit users with more than max notifications.
// It groups the whole collection: Purge runs in the background, seldom.
func (s *Store) usersOver(ctx context.Context, max, limit int) ([]string, error) {
	cur, err := s.notes.Aggregate(ctx, mongo.Pipeline{
		{{Key: "$group", Value: bson.D{{Key: "_id", Value: "$user_id"}, {Key: "n", Value: bson.D{{Key: "$sum", Value: 1}}}}}},
		{{Key: "$match", Value: bson.D{{Key: "n", Value: bson.D{{Key: "$gt", Value: max}}}}}},
		{{Key: "$limit", Value: limit}},
	})
	if err != nil {
		return nil, err
	}
	var groups []struct {
		User string `bson:"_id"`
	}
	if err := cur.All(ctx, &groups); err != nil {
		return nil, err
	}
	users := make([]string, len(groups))
	for i, g := range groups {
		users[i] = g.User
	}
	return users, nil
}

// remove deletes vs, after raising the counter of any user whose counter
// lags the highest id deleted (a writer died before recording it): an id
// must stay recorded or stored, or a repair could hand it out again. No
// lease is needed: a checkpoint is only ever added, and the highest wins.
func (s *Store) remove(ctx context.Context, vs []victim) error {
	if len(vs) == 0 {
		return nil
	}
	top := map[string]int64{}
	ids := make([]bson.ObjectID, len(vs))
	for i, v := range vs {
		top[v.UserID] = max(top[v.UserID], v.Seq)
		ids[i] = v.ID
	}
	users := make([]string, 0, len(top))
	for u := range top {
		users = append(users, u)
	}
	cp, err := s.readCounters(ctx, users)
	if err != nil {
		return err
	}
	var raise []counter
	for u, id := range top {
		if cp.last[u] < id {
			raise = append(raise, counter{ID: bson.NewObjectID(), User: u, LastID: id})
		}
	}
	if len(raise) > 0 {
		if _, err := s.counters.InsertMany(ctx, raise); err != nil {
			return err
		}
	}
	_, err = s.notes.DeleteMany(ctx, bson.D{{Key: "_id", Value: in(ids)}})
	return err
}

// purgeKeys deletes up to limit idempotency keys expired at now.
func (s *Store) purgeKeys(ctx context.Context, now time.Time, limit int) error {
	f := bson.D{{Key: "expires_at", Value: bson.D{{Key: "$lte", Value: now}}}}
	cur, err := s.keys.Find(ctx, f, options.Find().SetProjection(bson.D{{Key: "_id", Value: 1}}).SetLimit(int64(limit)))
	if err != nil {
		return err
	}
	var ks []struct {
		Name string `bson:"_id"`
	}
	if err := cur.All(ctx, &ks); err != nil || len(ks) == 0 {
		return err
	}
	names := make([]string, len(ks))
	for i, k := range ks {
		names[i] = k.Name
	}
	_, err = s.keys.DeleteMany(ctx, append(f, bson.E{Key: "_id", Value: in(names)}))
	return err
}
