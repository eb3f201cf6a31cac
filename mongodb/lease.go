package mongodb

import (
	"context"
	"errors"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
)

// lease is a document of notification_leases: while it exists, only its
// owner inserts notifications for the user or changes the user's counter.
// It is taken by inserting it (_id is the user, so the _id index lets one
// insert win: the one primitive that is atomic on MongoDB and on FerretDB
// alike) and released by deleting it.
type lease struct {
	User  string    `bson:"_id"`
	Owner string    `bson:"owner"`
	Until time.Time `bson:"until"`
}

// counter is a document of notification_counters, a checkpoint: the
// highest id recorded as assigned to the user. Only the holder of the
// user's lease writes them. A writer inserts a new checkpoint and then
// deletes the ones it read (never others), so the highest checkpoint of a
// user only grows and there is normally one per user. Checkpoints are
// inserted rather than updated because FerretDB v1 runs an update as a
// read then a write per document, so a batch of N users would cost N
// statements. The checkpoint may lag the stored ids (a writer died between
// its insert and its checkpoint), never lead them except for deleted ids.
type counter struct {
	ID     bson.ObjectID `bson:"_id"`
	User   string        `bson:"user_id"`
	LastID int64         `bson:"last_id"`
}

func in[T any](values []T) bson.D { return bson.D{{Key: "$in", Value: values}} }

// acquire takes the leases of as many of users as it can for token,
// without waiting for any, and returns those it got. A user whose lease
// another writer holds is left out (the caller retries it later): a writer
// never waits while holding leases, so writers cannot deadlock. A lease
// past its until (its writer died or stalled) is deleted and taken.
func (s *Store) acquire(ctx context.Context, token string, users []string) (map[string]bool, error) {
	now := time.Now()
	until := now.Add(s.leaseTimeout)
	got, busy, err := s.insertLeases(ctx, token, until, users)
	if err != nil || len(busy) == 0 {
		return got, err
	}
	cur, err := s.leases.Find(ctx, bson.D{{Key: "_id", Value: in(busy)},
		{Key: "until", Value: bson.D{{Key: "$lt", Value: now}}}})
	if err != nil {
		return got, err
	}
	var expired []lease
	if err := cur.All(ctx, &expired); err != nil {
		return got, err
	}
	if len(expired) == 0 {
		return got, nil
	}
	s.log.Warn("mongodb: taking over expired counter leases", "users", len(expired))
	var stale []string
	for _, l := range expired {
		_, err := s.leases.DeleteOne(ctx, bson.D{{Key: "_id", Value: l.User},
			{Key: "owner", Value: l.Owner}, {Key: "until", Value: l.Until}})
		if err != nil {
			return got, err
		}
		stale = append(stale, l.User)
	}
	more, _, err := s.insertLeases(ctx, token, until, stale)
	for u := range more {
		got[u] = true
	}
	return got, err
}

// insertLeases inserts a lease for each user and reports which inserts
// won and which lost to an existing lease.
func (s *Store) insertLeases(ctx context.Context, token string, until time.Time, users []string) (got map[string]bool, busy []string, err error) {
	docs := make([]lease, len(users))
	for i, u := range users {
		docs[i] = lease{User: u, Owner: token, Until: until}
	}
	got = make(map[string]bool, len(users))
	_, err = s.leases.InsertMany(ctx, docs, options.InsertMany().SetOrdered(false))
	lost := map[int]bool{}
	if err != nil {
		var bwe mongo.BulkWriteException
		if !errors.As(err, &bwe) || bwe.WriteConcernError != nil || len(bwe.WriteErrors) == 0 {
			return got, nil, err
		}
		for _, we := range bwe.WriteErrors {
			if !mongo.IsDuplicateKeyError(we) {
				return got, nil, err
			}
			lost[we.Index] = true
		}
	}
	for i, u := range users {
		if lost[i] {
			busy = append(busy, u)
		} else {
			got[u] = true
		}
	}
	return got, busy, nil
}

// releaseLeases deletes token's leases of users. If it fails they expire.
func (s *Store) releaseLeases(token string, users []string) {
	if len(users) == 0 {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), s.opTimeout)
	defer cancel()
	_, err := s.leases.DeleteMany(ctx, bson.D{{Key: "_id", Value: in(users)}, {Key: "owner", Value: token}})
	if err != nil {
		s.log.Warn("mongodb: releasing counter leases failed; they will expire", "users", len(users), "err", err)
	}
}

// checkpoints is what readCounters read: each user's last id and the
// checkpoints that gave it, for writeCounters to delete.
type checkpoints struct {
	last map[string]int64
	ids  map[string][]bson.ObjectID
}

// readCounters returns the last id of each user (0 for a user with no
// checkpoint yet). The caller holds their leases.
func (s *Store) readCounters(ctx context.Context, users []string) (checkpoints, error) {
	cur, err := s.counters.Find(ctx, bson.D{{Key: "user_id", Value: in(users)}})
	if err != nil {
		return checkpoints{}, err
	}
	var all []counter
	if err := cur.All(ctx, &all); err != nil {
		return checkpoints{}, err
	}
	cp := checkpoints{last: make(map[string]int64, len(users)), ids: map[string][]bson.ObjectID{}}
	for _, u := range users {
		cp.last[u] = 0
	}
	for _, c := range all {
		cp.last[c.User] = max(cp.last[c.User], c.LastID)
		cp.ids[c.User] = append(cp.ids[c.User], c.ID)
	}
	return cp, nil
}

// writeCounters records new last ids (each above the user's old one): it
// inserts one checkpoint per user, then deletes the checkpoints read
// before. The caller holds the leases. If the insert fails a counter lags;
// the next writer's first insert then collides on the unique index and
// repairs it (see commit).
func (s *Store) writeCounters(last map[string]int64, old checkpoints) {
	if len(last) == 0 {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), s.opTimeout)
	defer cancel()
	docs := make([]counter, 0, len(last))
	var stale []bson.ObjectID
	for u, id := range last {
		docs = append(docs, counter{ID: bson.NewObjectID(), User: u, LastID: id})
		stale = append(stale, old.ids[u]...)
	}
	if _, err := s.counters.InsertMany(ctx, docs); err != nil {
		s.log.Warn("mongodb: recording last ids failed; the next writer will repair them", "users", len(last), "err", err)
		return
	}
	if len(stale) == 0 {
		return
	}
	if _, err := s.counters.DeleteMany(ctx, bson.D{{Key: "_id", Value: in(stale)}}); err != nil {
		s.log.Warn("mongodb: deleting old checkpoints failed (harmless: the highest wins)", "err", err)
	}
}

// holdLease takes one user's lease for a change outside the writers
// (Delete), waiting while another writer holds it, until ctx ends. It
// returns the function that releases it. Errors: those of the driver, or
// ctx's.
func (s *Store) holdLease(ctx context.Context, user string) (func(), error) {
	token := s.token + "-d" + bson.NewObjectID().Hex()
	wait := time.Millisecond
	for {
		got, err := s.acquire(ctx, token, []string{user})
		if err != nil {
			s.releaseLeases(token, []string{user})
			return nil, err
		}
		if got[user] {
			return func() { s.releaseLeases(token, []string{user}) }, nil
		}
		t := time.NewTimer(wait)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return nil, ctx.Err()
		}
		wait = min(2*wait, 50*time.Millisecond)
	}
}
