package mongodb

import (
	"context"
	"encoding/hex"
	"errors"
	"strconv"
	"time"

	"github.com/belfry/belfry"
	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
)

// keyDoc is a document of idempotency_keys: one publish call made with an
// Idempotency-Key. _id is the key, so inserting it is the claim that
// exactly one caller wins. Claim names this use of the key (a key
// replaced after it expired gets a new one); the notifications of the call
// carry idempotency_slot "<claim>:<position>", unique, so that no
// position is ever stored twice, whoever writes it.
//
// Users is the call's user of each position and Skip the positions its
// users' preferences kept out, as planned when the key was claimed: a
// writer taking the call over follows the plan rather than preferences
// that may have changed since. IDs, Created and Expires are recorded per
// position (0 and nulls for a position not created) once every planned
// notification is stored; State then goes from pending to done.
type keyDoc struct {
	Name       string        `bson:"_id"`
	Claim      bson.ObjectID `bson:"claim"`
	Hash       string        `bson:"hash"` // hex SHA-256 of the request body
	State      string        `bson:"state"`
	Owner      string        `bson:"owner"`
	ClaimedAt  time.Time     `bson:"claimed_at"`
	ExpiresAt  time.Time     `bson:"expires_at"`
	Users      []string      `bson:"users"`
	Skip       []int         `bson:"skip"`
	IDs        []int64       `bson:"ids,omitempty"`
	Created    []time.Time   `bson:"created_at,omitempty"`
	Expires    []*time.Time  `bson:"notification_expires_at,omitempty"`
	RecordedAt *time.Time    `bson:"recorded_at,omitempty"`
	// Jobs are the call's Batch.Jobs, with their Index: enqueued by
	// whoever completes the claim, before it is recorded (see
	// publishJobs).
	Jobs []jobDoc `bson:"jobs,omitempty"`
}

const (
	keyPending = "pending"
	keyDone    = "done"
)

// released is the claimed_at of a claim whose writer gave up (its Create
// failed): the next duplicate takes it over at once.
var released = time.Unix(0, 0).UTC()

func slotOf(claim bson.ObjectID, pos int) string {
	return claim.Hex() + ":" + strconv.Itoa(pos)
}

// publishOnce is Publish with a key. It claims the key by inserting its
// document. The caller that wins creates the notifications and records
// them. A caller that loses reads the document: another body is
// EIDEMCONFLICT; a record is replayed; a pending claim is polled until it
// is recorded, or taken over once it is older than the write timeout (its
// writer died, or gave up). An expired key is deleted and claimed anew.
// Errors: EIDEMCONFLICT, EUNAVAILABLE.
func (s *Store) publishOnce(ctx context.Context, b *belfry.Batch, keep []bool) error {
	k := b.Key
	hash := hex.EncodeToString(k.Hash[:])
	owner := s.token + "-k" + bson.NewObjectID().Hex()
	users := make([]string, len(b.Notifications))
	skip := []int{}
	for i, n := range b.Notifications {
		users[i] = n.UserID
		if !keep[i] {
			skip = append(skip, i)
		}
	}
	// Polling ends with a record or a takeover within the write timeout;
	// the bound only stops a loop that something keeps restarting.
	giveUp := time.Now().Add(3*s.writeTimeout + s.opTimeout)
	wait := 2 * time.Millisecond
	for {
		if err := ctx.Err(); err != nil {
			return belfry.Unavailable("mongodb", err)
		}
		if time.Now().After(giveUp) {
			return belfry.Unavailable("mongodb", errors.New("idempotency key stayed pending"))
		}
		// Expiry follows the store's clock; staleness is wall time,
		// measured against the write timeout.
		now, wall := s.now(), belfry.Now(time.Now())
		claim := &keyDoc{Name: k.Name, Claim: bson.NewObjectID(), Hash: hash, State: keyPending,
			Owner: owner, ClaimedAt: wall, ExpiresAt: k.Expires.UTC(), Users: users, Skip: skip,
			Jobs: planJobs(b.Jobs)}
		err := s.keyOp(ctx, func(ctx context.Context) error {
			_, err := s.keys.InsertOne(ctx, claim)
			return err
		})
		if err == nil {
			return s.runClaim(ctx, b, claim, false)
		}
		if !mongo.IsDuplicateKeyError(err) {
			return classify("mongodb", err)
		}
		d, err := s.readKey(ctx, k.Name)
		if err != nil {
			return err
		}
		switch {
		case d == nil:
			continue // deleted meanwhile: claim again
		case !d.ExpiresAt.After(now):
			if err := s.keyOp(ctx, func(ctx context.Context) error {
				_, err := s.keys.DeleteOne(ctx, bson.D{{Key: "_id", Value: d.Name}, {Key: "claim", Value: d.Claim}})
				return err
			}); err != nil {
				return classify("mongodb", err)
			}
			continue
		case d.Hash != hash || !samePlan(d, b.Notifications):
			return belfry.Errorf(belfry.EIDEMCONFLICT, "this Idempotency-Key was used with another request body")
		case d.State == keyDone:
			replay(b, d)
			return nil
		case wall.Sub(d.ClaimedAt) >= s.writeTimeout:
			var res *mongo.UpdateResult
			err := s.keyOp(ctx, func(ctx context.Context) (err error) {
				res, err = s.keys.UpdateOne(ctx, bson.D{{Key: "_id", Value: d.Name}, {Key: "claim", Value: d.Claim},
					{Key: "state", Value: keyPending}, {Key: "owner", Value: d.Owner}, {Key: "claimed_at", Value: d.ClaimedAt}},
					bson.D{{Key: "$set", Value: bson.D{{Key: "owner", Value: owner}, {Key: "claimed_at", Value: wall}}}})
				return err
			})
			if err != nil {
				return classify("mongodb", err)
			}
			if res.MatchedCount == 0 {
				continue // recorded, or taken by another: look again
			}
			s.log.Warn("mongodb: taking over an idempotent publish whose writer stopped", "key_claim", d.Claim.Hex())
			d.Owner, d.ClaimedAt = owner, wall
			return s.runClaim(ctx, b, d, true)
		}
		t := time.NewTimer(wait)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return belfry.Unavailable("mongodb", ctx.Err())
		}
		wait = min(2*wait, 100*time.Millisecond)
	}
}

// keyOp runs one statement on idempotency_keys within the op timeout.
func (s *Store) keyOp(ctx context.Context, op func(context.Context) error) error {
	ctx, cancel := s.opCtx(ctx)
	defer cancel()
	return op(ctx)
}

// readKey returns the key's document, or nil. Errors: EUNAVAILABLE.
func (s *Store) readKey(ctx context.Context, name string) (*keyDoc, error) {
	var d keyDoc
	err := s.keyOp(ctx, func(ctx context.Context) error {
		return s.keys.FindOne(ctx, bson.D{{Key: "_id", Value: name}}).Decode(&d)
	})
	if errors.Is(err, mongo.ErrNoDocuments) {
		return nil, nil
	}
	if err != nil {
		return nil, classify("mongodb", err)
	}
	return &d, nil
}

// samePlan reports whether the claim was made for these users, position
// by position (the same body always is).
func samePlan(d *keyDoc, ns []*belfry.Notification) bool {
	if len(d.Users) != len(ns) {
		return false
	}
	for i, n := range ns {
		if d.Users[i] != n.UserID {
			return false
		}
	}
	return true
}

// runClaim creates the planned notifications of a claim this caller holds
// (in a takeover, only those not stored yet), enqueues the claim's jobs,
// records them on the key and fills b. If Create or the jobs fail, the
// claim is released for the next duplicate to take over at once. If only
// the record fails, the call has succeeded all the same: the claim stays
// pending until a duplicate takes it over, finds every notification
// stored, enqueues the jobs again (ignored: their ids are stored) and
// records them.
func (s *Store) runClaim(ctx context.Context, b *belfry.Batch, d *keyDoc, takeover bool) error {
	ns := b.Notifications
	skipped := make(map[int]bool, len(d.Skip))
	for _, i := range d.Skip {
		skipped[i] = true
	}
	tags := make(map[*belfry.Notification]slot, len(ns))
	var planned []*belfry.Notification
	for i, n := range ns {
		n.ID = 0
		if !skipped[i] {
			tags[n] = slot{key: d.Name, slot: slotOf(d.Claim, i)}
			planned = append(planned, n)
		}
	}
	todo := planned
	if takeover {
		if err := s.fillStored(ctx, planned, tags); err != nil {
			return err
		}
		todo = nil
		for _, n := range planned {
			if n.ID == 0 {
				todo = append(todo, n)
			}
		}
	}
	if err := s.create(ctx, todo, tags, takeover); err != nil {
		s.releaseKey(d)
		return err
	}
	// Notifications another node stored meanwhile (dropped by the
	// writer, ID 0) are read back.
	if err := s.fillStored(ctx, planned, tags); err != nil {
		return err
	}
	if err := s.publishJobs(ctx, d.Jobs, ns); err != nil {
		s.releaseKey(d)
		return err
	}
	rec := bson.D{{Key: "state", Value: keyDone}}
	ids := make([]int64, len(ns))
	created := make([]time.Time, len(ns))
	expires := make([]*time.Time, len(ns))
	for i, n := range ns {
		if n.ID != 0 {
			ids[i], created[i], expires[i] = n.ID, n.CreatedAt, n.ExpiresAt
		}
	}
	now := belfry.Now(s.now())
	rec = append(rec, bson.E{Key: "ids", Value: ids}, bson.E{Key: "created_at", Value: created},
		bson.E{Key: "notification_expires_at", Value: expires}, bson.E{Key: "recorded_at", Value: now})
	err := s.keyOp(ctx, func(ctx context.Context) error {
		_, err := s.keys.UpdateOne(ctx, bson.D{{Key: "_id", Value: d.Name}, {Key: "claim", Value: d.Claim}},
			bson.D{{Key: "$set", Value: rec}})
		return err
	})
	if err != nil {
		s.log.Warn("mongodb: recording an idempotency key failed; a duplicate call will record it", "err", err)
	}
	d.IDs, d.Created, d.Expires = ids, created, expires
	fill(b, d)
	b.Replayed = false
	return nil
}

// fillStored sets ID, CreatedAt and ExpiresAt of the notifications among
// ns that have none from their stored tag, if stored. Errors: EUNAVAILABLE.
func (s *Store) fillStored(ctx context.Context, ns []*belfry.Notification, tags map[*belfry.Notification]slot) error {
	var want []string
	for _, n := range ns {
		if n.ID == 0 {
			want = append(want, tags[n].slot)
		}
	}
	if len(want) == 0 {
		return nil
	}
	ctx, cancel := s.opCtx(ctx)
	defer cancel()
	got, err := s.storedSlots(ctx, want)
	if err != nil {
		return classify("mongodb", err)
	}
	for _, n := range ns {
		if r, ok := got[tags[n].slot]; ok && n.ID == 0 {
			n.ID, n.CreatedAt, n.ExpiresAt = r.Seq, r.CreatedAt.UTC(), utc(r.ExpiresAt)
		}
	}
	return nil
}

// slotRecord is what storedSlots reads of a tagged notification.
type slotRecord struct {
	Slot      string     `bson:"idempotency_slot"`
	Seq       int64      `bson:"seq"`
	CreatedAt time.Time  `bson:"created_at"`
	ExpiresAt *time.Time `bson:"expires_at"`
}

// storedSlots returns the stored notifications with these tags, by tag.
func (s *Store) storedSlots(ctx context.Context, tags []string) (map[string]slotRecord, error) {
	cur, err := s.notes.Find(ctx, bson.D{{Key: "idempotency_slot", Value: in(tags)}},
		options.Find().SetProjection(bson.D{{Key: "idempotency_slot", Value: 1}, {Key: "seq", Value: 1},
			{Key: "created_at", Value: 1}, {Key: "expires_at", Value: 1}}))
	if err != nil {
		return nil, err
	}
	var rs []slotRecord
	if err := cur.All(ctx, &rs); err != nil {
		return nil, err
	}
	out := make(map[string]slotRecord, len(rs))
	for _, r := range rs {
		out[r.Slot] = r
	}
	return out, nil
}

// releaseKey marks the claim d as given up, so that the next duplicate
// takes it over without waiting. If that fails the claim goes stale after
// the write timeout.
func (s *Store) releaseKey(d *keyDoc) {
	ctx, cancel := context.WithTimeout(context.Background(), s.opTimeout)
	defer cancel()
	_, err := s.keys.UpdateOne(ctx, bson.D{{Key: "_id", Value: d.Name}, {Key: "claim", Value: d.Claim},
		{Key: "owner", Value: d.Owner}, {Key: "state", Value: keyPending}},
		bson.D{{Key: "$set", Value: bson.D{{Key: "claimed_at", Value: released}}}})
	if err != nil {
		s.log.Warn("mongodb: releasing an idempotency key failed; it goes stale after the write timeout", "err", err)
	}
}

// replay answers b from the record d.
func replay(b *belfry.Batch, d *keyDoc) {
	fill(b, d)
	b.Replayed = true
}

// fill sets the IDs, CreatedAt and ExpiresAt of b's notifications from
// d's record, keeps those created and lists the others' users in Skipped.
func fill(b *belfry.Batch, d *keyDoc) {
	var kept []*belfry.Notification
	b.Skipped = nil
	for i, n := range b.Notifications {
		if i < len(d.IDs) && d.IDs[i] != 0 && i < len(d.Created) {
			n.ID, n.CreatedAt = d.IDs[i], d.Created[i].UTC()
			if i < len(d.Expires) {
				n.ExpiresAt = utc(d.Expires[i])
			}
			kept = append(kept, n)
		} else {
			n.ID = 0
			b.Skipped = append(b.Skipped, n.UserID)
		}
	}
	b.Notifications = kept
}
