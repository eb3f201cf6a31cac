package mongodb

import (
	"context"
	"errors"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
)

// counter is a user's document in notification_counters. LastID is the
// highest id recorded as assigned. Owner and Until form the lease: while
// Owner is set, only that writer inserts the user's notifications, until
// Until has passed. Dirty says LastID may be behind the stored ids (a
// writer failed, or its lease was taken over), so the next writer must look
// at the highest stored id.
type counter struct {
	User   string    `bson:"_id"`
	LastID int64     `bson:"last_id"`
	Owner  string    `bson:"owner,omitempty"`
	Until  time.Time `bson:"until,omitempty"`
	Dirty  bool      `bson:"dirty,omitempty"`
}

func in(values []string) bson.D { return bson.D{{Key: "$in", Value: values}} }

// acquire takes the leases of as many of users as it can for token, without
// waiting for any, and returns the last id of each user it got. A user whose
// lease another writer holds is left out (the caller retries it later): a
// writer never waits while holding leases, so writers cannot deadlock. An
// expired lease is taken over and its user repaired from the highest stored
// id. On error the caller must release whatever token may hold.
func (s *Store) acquire(ctx context.Context, token string, users []string) (map[string]int64, error) {
	now := time.Now()
	until := now.Add(s.leaseTimeout)
	lease := bson.D{{Key: "owner", Value: token}, {Key: "until", Value: until}}

	// 1. Free counters: one updateMany.
	_, err := s.counters.UpdateMany(ctx,
		bson.D{{Key: "_id", Value: in(users)}, {Key: "owner", Value: bson.D{{Key: "$exists", Value: false}}}},
		bson.D{{Key: "$set", Value: lease}})
	if err != nil {
		return nil, err
	}
	cs, err := s.readCounters(ctx, users)
	if err != nil {
		return nil, err
	}
	got := make(map[string]int64, len(users))
	var repair, expired, missing []string
	for _, u := range users {
		c, ok := cs[u]
		switch {
		case !ok:
			missing = append(missing, u)
		case c.Owner == token:
			got[u] = c.LastID
			if c.Dirty {
				repair = append(repair, u)
			}
		case c.Owner == "":
			// Released since the updateMany: try again next batch.
		case c.Until.Before(now):
			expired = append(expired, u)
		}
	}

	// 2. Expired leases: a writer died or stalled. Take them over, marked
	// dirty; the until condition makes two nodes taking over at once safe.
	if len(expired) > 0 {
		s.log.Warn("mongodb: taking over expired counter leases", "users", len(expired))
		_, err := s.counters.UpdateMany(ctx,
			bson.D{{Key: "_id", Value: in(expired)}, {Key: "until", Value: bson.D{{Key: "$lt", Value: now}}}},
			bson.D{{Key: "$set", Value: append(lease, bson.E{Key: "dirty", Value: true})}})
		if err != nil {
			return nil, err
		}
		cs, err := s.readCounters(ctx, expired)
		if err != nil {
			return nil, err
		}
		for _, u := range expired {
			if c, ok := cs[u]; ok && c.Owner == token {
				got[u] = c.LastID
				repair = append(repair, u)
			}
		}
	}

	// 3. New users: insert their counters already leased. An insert that
	// fails on _id lost a race with another writer: that user waits.
	if len(missing) > 0 {
		docs := make([]any, len(missing))
		for i, u := range missing {
			docs[i] = counter{User: u, Owner: token, Until: until}
		}
		_, err := s.counters.InsertMany(ctx, docs, options.InsertMany().SetOrdered(false))
		lost := map[int]bool{}
		if err != nil {
			var bwe mongo.BulkWriteException
			if !errors.As(err, &bwe) || bwe.WriteConcernError != nil {
				return nil, err
			}
			for _, we := range bwe.WriteErrors {
				if !mongo.IsDuplicateKeyError(we) {
					return nil, err
				}
				lost[we.Index] = true
			}
		}
		var fresh []string
		for i, u := range missing {
			if !lost[i] {
				got[u] = 0
				fresh = append(fresh, u)
			}
		}
		// A counter is created before its user's first insert, so a user
		// without one has no notifications, unless the counters were
		// dropped or the notifications written by someone else. One query
		// checks all; the rare hit is repaired user by user.
		if len(fresh) > 0 {
			err := s.notes.FindOne(ctx, bson.D{{Key: "user_id", Value: in(fresh)}},
				options.FindOne().SetProjection(bson.D{{Key: "_id", Value: 1}})).Err()
			switch {
			case err == nil:
				repair = append(repair, fresh...)
			case !errors.Is(err, mongo.ErrNoDocuments):
				return nil, err
			}
		}
	}

	for _, u := range repair {
		m, err := s.maxSeq(ctx, u)
		if err != nil {
			return nil, err
		}
		got[u] = max(got[u], m)
	}
	return got, nil
}

func (s *Store) readCounters(ctx context.Context, users []string) (map[string]counter, error) {
	cur, err := s.counters.Find(ctx, bson.D{{Key: "_id", Value: in(users)}})
	if err != nil {
		return nil, err
	}
	var all []counter
	if err := cur.All(ctx, &all); err != nil {
		return nil, err
	}
	m := make(map[string]counter, len(all))
	for _, c := range all {
		m[c.User] = c
	}
	return m, nil
}

// release records each user's last id and ends token's leases, in one
// bulk write. A user in dirty keeps the dirty mark (its stored ids may be
// beyond last). A lease that was taken over meanwhile no longer matches
// and is left alone. If release fails the leases expire by themselves and
// the next writer repairs the users.
func (s *Store) release(token string, last map[string]int64, dirty map[string]bool) {
	if len(last) == 0 {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), s.opTimeout)
	defer cancel()
	models := make([]mongo.WriteModel, 0, len(last))
	for u, id := range last {
		up := bson.D{{Key: "$max", Value: bson.D{{Key: "last_id", Value: id}}}}
		if dirty[u] {
			up = append(up, bson.E{Key: "$set", Value: bson.D{{Key: "dirty", Value: true}}},
				bson.E{Key: "$unset", Value: bson.D{{Key: "owner", Value: ""}, {Key: "until", Value: ""}}})
		} else {
			up = append(up, bson.E{Key: "$unset", Value: bson.D{{Key: "owner", Value: ""},
				{Key: "until", Value: ""}, {Key: "dirty", Value: ""}}})
		}
		models = append(models, mongo.NewUpdateOneModel().
			SetFilter(bson.D{{Key: "_id", Value: u}, {Key: "owner", Value: token}}).SetUpdate(up))
	}
	if _, err := s.counters.BulkWrite(ctx, models, options.BulkWrite().SetOrdered(false)); err != nil {
		s.log.Warn("mongodb: releasing counter leases failed; they will expire", "users", len(last), "err", err)
	}
}

// releaseAll ends whatever leases token holds among users, changing no
// last id: used when acquire failed midway.
func (s *Store) releaseAll(token string, users []string) {
	ctx, cancel := context.WithTimeout(context.Background(), s.opTimeout)
	defer cancel()
	_, err := s.counters.UpdateMany(ctx, bson.D{{Key: "_id", Value: in(users)}, {Key: "owner", Value: token}},
		bson.D{{Key: "$unset", Value: bson.D{{Key: "owner", Value: ""}, {Key: "until", Value: ""}}}})
	if err != nil {
		s.log.Warn("mongodb: releasing counter leases failed; they will expire", "users", len(users), "err", err)
	}
}
