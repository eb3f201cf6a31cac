package mongodb

import (
	"context"
	"errors"
	"maps"
	"strconv"
	"time"

	"github.com/belfry/belfry"
	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
)

var errLeaseBusy = errors.New("another writer held the user's lease until the write timeout")

// commit inserts one batch: it takes the leases of the batch's users,
// reads their counters, assigns the ids that follow, inserts every
// notification with one ordered insertMany, answers the callers, records
// the new last ids and releases the leases. It returns the parts to try
// again later: those whose users another writer holds, and those a
// transient error or a collision kept out (no id of theirs is stored).
func (s *Store) commit(batch []*part) (retry []*part) {
	token := s.token + "-" + strconv.FormatUint(s.batches.Add(1), 36)
	ctx, cancel := context.WithTimeout(context.Background(), s.writeTimeout)
	defer cancel()

	batch, err := s.dropStored(ctx, batch)
	if len(batch) == 0 {
		return nil
	}
	var users []string
	seen := map[string]bool{}
	for _, p := range batch {
		for _, n := range p.ns {
			if !seen[n.UserID] {
				seen[n.UserID] = true
				users = append(users, n.UserID)
			}
		}
	}
	var got map[string]bool
	if err == nil {
		got, err = s.acquire(ctx, token, users)
	}
	var held []string
	for _, u := range users {
		if got[u] {
			held = append(held, u)
		}
	}
	var cp checkpoints
	if err == nil && len(held) > 0 {
		cp, err = s.readCounters(ctx, held)
	}
	last := cp.last
	if err != nil {
		s.releaseLeases(token, users)
		for _, p := range batch {
			if transient(err) {
				p.lastErr = err
				retry = append(retry, p)
			} else {
				p.req.answer(classify("mongodb", err))
			}
		}
		return retry
	}

	// Notifications of users another writer holds wait for a later batch.
	var run []*part
	rows := 0
	for _, p := range batch {
		var mine, other []*belfry.Notification
		for _, n := range p.ns {
			if got[n.UserID] {
				mine = append(mine, n)
			} else {
				other = append(other, n)
			}
		}
		switch {
		case len(other) == 0:
			run = append(run, p)
		case len(mine) == 0:
			p.lastErr = errLeaseBusy
			retry = append(retry, p)
			continue
		default:
			np := p.req.split(p, other)
			np.lastErr = errLeaseBusy
			retry = append(retry, np)
			p.ns = mine
			run = append(run, p)
		}
		rows += len(p.ns)
	}
	if len(run) == 0 {
		return retry
	}

	next := maps.Clone(last)
	docs := make([]newDoc, 0, rows)
	for _, p := range run {
		for _, n := range p.ns {
			next[n.UserID]++
			docs = append(docs, toDoc(n, next[n.UserID], p.req.at, p.req.tags[n]))
		}
	}
	done, unknown, err := s.insert(ctx, docs)

	changed := map[string]int64{}
	for _, d := range docs[:done] {
		changed[d.UserID] = d.Seq
	}
	collided := !unknown && err != nil && mongo.IsDuplicateKeyError(err) && done < len(docs)
	if collided {
		d := docs[done]
		if d.Seq == last[d.UserID]+1 {
			// The counter lags the stored ids (a writer died before
			// recording them, or its release failed): nothing of this
			// user went in; start after the highest stored id next time.
			if m, err := s.maxSeq(ctx, d.UserID); err == nil && m > last[d.UserID] {
				changed[d.UserID] = m
			}
		} else if d.IdemSlot == "" {
			// Someone inserted inside our range: a lease was taken
			// over from a writer that was only slow. (A tagged
			// notification may instead have met its tag, stored
			// meanwhile by another node taking over the same
			// idempotent publish: the retry drops it.)
			s.log.Warn("mongodb: id collision under a lease", "user", d.UserID, "id", d.Seq)
		}
	}
	canRetry := !unknown && (collided || transient(err))

	i := 0
	for _, p := range run {
		var rest []*belfry.Notification
		split := map[string]bool{} // users with docs both stored and not
		storedUser := map[string]bool{}
		for _, n := range p.ns {
			if i < done {
				n.ID, n.CreatedAt = docs[i].Seq, docs[i].CreatedAt
				storedUser[n.UserID] = true
			} else {
				rest = append(rest, n)
				if storedUser[n.UserID] {
					split[n.UserID] = true
				}
			}
			i++
		}
		switch {
		case len(rest) == 0:
			p.req.answer(nil)
		case canRetry && len(rest) == len(p.ns):
			p.lastErr = err
			retry = append(retry, p)
		case canRetry && len(split) == 0:
			// The stored users are done; the others go again.
			np := p.req.split(p, rest)
			np.lastErr = err
			np.state.Store(partTaken)
			retry = append(retry, np)
			p.req.answer(nil)
		case !unknown && len(rest) == len(p.ns):
			p.req.answer(classify("mongodb", err))
		default:
			p.req.answer(partial(err, unknown))
		}
	}
	s.writeCounters(changed, cp)
	s.releaseLeases(token, held)
	return retry
}

// dropStored answers and removes from batch the tagged notifications of
// an idempotent publish whose tag is stored already (by another node that
// took the publish over, or by this one before a failure), so a takeover
// never creates a notification twice. One query, only for the parts of a
// takeover and those retried (after a collision, say): the first insert
// of a fresh claim's tags needs no look (nobody else has its claim id).
// A tag stored between this check and the insert makes the insert collide
// on the unique idempotency_slot index, and the retry drops it.
func (s *Store) dropStored(ctx context.Context, batch []*part) ([]*part, error) {
	var tags []string
	for _, p := range batch {
		if !p.req.recheck && p.tries == 0 {
			continue
		}
		for _, n := range p.ns {
			if t := p.req.tags[n].slot; t != "" {
				tags = append(tags, t)
			}
		}
	}
	if len(tags) == 0 {
		return batch, nil
	}
	stored, err := s.storedSlots(ctx, tags)
	if err != nil || len(stored) == 0 {
		return batch, err
	}
	out := make([]*part, 0, len(batch))
	for _, p := range batch {
		if !p.req.recheck && p.tries == 0 {
			out = append(out, p)
			continue
		}
		keep := p.ns[:0:0]
		for _, n := range p.ns {
			if _, ok := stored[p.req.tags[n].slot]; !ok {
				keep = append(keep, n)
			}
		}
		if len(keep) == 0 {
			p.req.answer(nil)
			continue
		}
		p.ns = keep
		out = append(out, p)
	}
	return out, nil
}

// partial is the error of a call of which only some notifications are
// known to be stored.
func partial(err error, unknown bool) error {
	msg := "mongodb failed midway: the notifications with an id are stored, the others are not"
	if unknown {
		msg = "mongodb failed midway: the notifications with an id are stored, the others may or may not be"
	}
	return &belfry.Error{Code: belfry.EUNAVAILABLE, Message: msg, Err: err}
}

// insert inserts docs in order with ordered insertMany and returns how
// many (a prefix of docs) are stored. When the outcome of an attempt is
// unknown (a lost connection, a timeout), it looks up which _ids exist and
// retries the rest while ctx lasts, so no document is stored twice.
// unknown reports that even that lookup failed: docs[done:] may or may
// not be stored.
func (s *Store) insert(ctx context.Context, docs []newDoc) (done int, unknown bool, err error) {
	for attempt := 0; ; attempt++ {
		_, err = s.notes.InsertMany(ctx, docs[done:])
		if err == nil {
			return len(docs), false, nil
		}
		var bwe mongo.BulkWriteException
		if errors.As(err, &bwe) && len(bwe.WriteErrors) > 0 && bwe.WriteConcernError == nil {
			// The server refused a document: the ones before it are in.
			return done + bwe.WriteErrors[0].Index, false, err
		}
		// The lookup gets its own time: the write may have failed because
		// ctx ran out, and knowing what is stored matters more than the
		// deadline.
		lctx, cancel := context.WithTimeout(context.Background(), s.opTimeout)
		k, lerr := s.stored(lctx, docs[done:])
		cancel()
		if lerr != nil {
			return done, true, err
		}
		done += k
		if done == len(docs) {
			// Inserted, but the write concern was not satisfied in time.
			s.log.Warn("mongodb: insert applied but its write concern failed", "err", err)
			return done, false, nil
		}
		if !transient(err) {
			return done, false, err
		}
		t := time.NewTimer(min(10*time.Millisecond<<attempt, 500*time.Millisecond))
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return done, false, err
		}
	}
}

// stored returns how many of docs, from the first, exist.
func (s *Store) stored(ctx context.Context, docs []newDoc) (int, error) {
	ids := make([]bson.ObjectID, len(docs))
	for i, d := range docs {
		ids[i] = d.ID
	}
	cur, err := s.notes.Find(ctx, bson.D{{Key: "_id", Value: bson.D{{Key: "$in", Value: ids}}}},
		options.Find().SetProjection(bson.D{{Key: "_id", Value: 1}}))
	if err != nil {
		return 0, err
	}
	var found []struct {
		ID bson.ObjectID `bson:"_id"`
	}
	if err := cur.All(ctx, &found); err != nil {
		return 0, err
	}
	in := make(map[bson.ObjectID]bool, len(found))
	for _, f := range found {
		in[f.ID] = true
	}
	k := 0
	for k < len(docs) && in[docs[k].ID] {
		k++
	}
	return k, nil
}
