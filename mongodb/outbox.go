package mongodb

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"strconv"
	"time"

	"github.com/belfry/belfry"
	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
)

// jobDoc is a document of outbox: one job. _id is the job's ID, so an
// insert of an ID already stored fails on the _id index and leaves the
// stored job as it is (Enqueue's rule). Claim is "" and LeaseUntil the
// zero instant (1970) while the job is not claimed; Gen counts the claims
// made (see Claim). Index and OnlyIfSubscribed are kept only in the plan
// of an idempotent publish (keyDoc.Jobs), never in outbox.
type jobDoc struct {
	ID             string    `bson:"_id"`
	Kind           string    `bson:"kind"`
	UserID         string    `bson:"user_id"`
	NotificationID int64     `bson:"notification_id"`
	Created        time.Time `bson:"created"`
	Due            time.Time `bson:"due"`
	Attempts       int       `bson:"attempts"`
	Payload        []byte    `bson:"payload"`
	Failed         bool      `bson:"failed"`
	LastError      string    `bson:"last_error"`
	Claim          string    `bson:"claim"`
	LeaseUntil     time.Time `bson:"lease_until"`
	Gen            int64     `bson:"gen"`

	Index            int  `bson:"index,omitempty"`
	OnlyIfSubscribed bool `bson:"only_if_subscribed,omitempty"`
}

// claimDoc is a document of outbox_claims: the claim number Gen of job
// Job, taken until Until. Its _id is "<job>/<gen>", so exactly one
// insert wins each number.
type claimDoc struct {
	ID    string    `bson:"_id"`
	Job   string    `bson:"job"`
	Gen   int64     `bson:"gen"`
	Claim string    `bson:"claim"`
	Until time.Time `bson:"until"`
}

// noLease is the lease_until of a job that is not claimed.
var noLease = time.Unix(0, 0).UTC()

// maxJobID bounds a job ID, in bytes.
const maxJobID = 64

func toJobDoc(j belfry.Job) jobDoc {
	return jobDoc{ID: j.ID, Kind: string(j.Kind), UserID: j.UserID, NotificationID: j.NotificationID,
		Created: belfry.Now(j.Created), Due: belfry.Now(j.Due), Payload: j.Payload,
		LeaseUntil: noLease, Index: j.Index, OnlyIfSubscribed: j.OnlyIfSubscribed}
}

func (d *jobDoc) job() belfry.Job {
	return belfry.Job{ID: d.ID, Kind: belfry.JobKind(d.Kind), UserID: d.UserID, NotificationID: d.NotificationID,
		Created: d.Created.UTC(), Due: d.Due.UTC(), Attempts: d.Attempts, Payload: d.Payload,
		Failed: d.Failed, LastError: d.LastError, Claim: d.Claim}
}

// Enqueue stores the jobs as pending and unclaimed. A job whose ID is
// already stored is left as it is; one with OnlyIfSubscribed whose user
// has no push subscription is not stored. A zero Created or Due is the
// store's clock now. Errors: EINVALID (an empty ID, or one over 64 bytes),
// EUNAVAILABLE.
func (s *Store) Enqueue(ctx context.Context, jobs []belfry.Job) error {
	docs := make([]jobDoc, len(jobs))
	for i, j := range jobs {
		if j.ID == "" || len(j.ID) > maxJobID {
			return belfry.Errorf(belfry.EINVALID, "a job id must be 1 to %d bytes", maxJobID)
		}
		docs[i] = toJobDoc(j)
	}
	ctx, cancel := s.opCtx(ctx)
	defer cancel()
	return classify("mongodb", s.enqueue(ctx, docs))
}

// enqueue inserts docs (their Index and OnlyIfSubscribed are cleared),
// leaving out those with OnlyIfSubscribed whose user has no subscription,
// with one unordered insertMany whose duplicate-key errors (jobs already
// stored) are ignored.
func (s *Store) enqueue(ctx context.Context, docs []jobDoc) error {
	var users []string
	for _, d := range docs {
		if d.OnlyIfSubscribed {
			users = append(users, d.UserID)
		}
	}
	var subscribed map[string]bool
	if len(users) > 0 {
		var err error
		if subscribed, err = s.subscribed(ctx, users); err != nil {
			return err
		}
	}
	now := belfry.Now(s.now())
	out := make([]jobDoc, 0, len(docs))
	for _, d := range docs {
		if d.OnlyIfSubscribed && !subscribed[d.UserID] {
			continue
		}
		d.Index, d.OnlyIfSubscribed = 0, false
		d.Claim, d.LeaseUntil, d.Gen, d.Failed, d.Attempts, d.LastError = "", noLease, 0, false, 0, ""
		if d.Created.IsZero() {
			d.Created = now
		}
		if d.Due.IsZero() {
			d.Due = now
		}
		out = append(out, d)
	}
	if len(out) == 0 {
		return nil
	}
	_, err := s.outbox.InsertMany(ctx, out, options.InsertMany().SetOrdered(false))
	if err == nil {
		return nil
	}
	var bwe mongo.BulkWriteException
	if !errors.As(err, &bwe) || bwe.WriteConcernError != nil || len(bwe.WriteErrors) == 0 {
		return err
	}
	for _, we := range bwe.WriteErrors {
		if !mongo.IsDuplicateKeyError(we) {
			return err
		}
	}
	return nil
}

// claimable is the filter of a job that Claim may take at now.
func claimable(now time.Time) bson.D {
	return bson.D{{Key: "failed", Value: false}, {Key: "due", Value: bson.D{{Key: "$lte", Value: now}}},
		{Key: "lease_until", Value: bson.D{{Key: "$lte", Value: now}}}}
}

// Claim leases up to limit due jobs, soonest Due first (then ID), each
// with a new random Claim token held until now+lease.
//
// A findOneAndUpdate alone cannot do this on FerretDB v1, which runs it
// as a query followed by a write by _id: two nodes would both read the job
// as free and both return it. So each claim is decided by the one atomic
// primitive of both servers, an insert that fails on a unique index: the
// claimer reads the job's claim count Gen, inserts outbox_claims
// "<id>/<Gen+1>" (exactly one insert wins that number), and only the
// winner updates the job, with a findOneAndUpdate on condition that Gen
// is unchanged and the job still claimable. A claimer that loses skips
// the job. A number whose winner died before updating the job (its claim
// document's until is past) is skipped by the next claimer, which tries
// the following number, so no job is stuck; a number is passed over only
// once its lease has expired, so two leases never hold at once. Settle
// deletes the job's claim documents once the job no longer carries the
// claim; a claimer that read an older Gen and wins a deleted number then
// fails the condition on Gen.
//
// On FerretDB the winner's update is itself a read then a write, so a
// Settle from a holder whose lease had expired, landing at the same
// instant, may overwrite the new claim (the job then runs twice, never
// zero times). Errors: EUNAVAILABLE.
func (s *Store) Claim(ctx context.Context, now time.Time, lease time.Duration, limit int) ([]belfry.Job, error) {
	if limit <= 0 {
		return nil, nil
	}
	ctx, cancel := context.WithTimeout(ctx, 2*s.opTimeout)
	defer cancel()
	now = belfry.Now(now)
	until := belfry.Now(now.Add(lease))
	var out []belfry.Job
	tried := []string{}
	for len(out) < limit {
		f := append(claimable(now), bson.E{Key: "_id", Value: bson.D{{Key: "$nin", Value: tried}}})
		cur, err := s.outbox.Find(ctx, f, options.Find().
			SetSort(bson.D{{Key: "due", Value: 1}, {Key: "_id", Value: 1}}).
			SetProjection(bson.D{{Key: "_id", Value: 1}, {Key: "gen", Value: 1}}).
			SetLimit(int64(limit-len(out))))
		if err != nil {
			return out, classify("mongodb", err)
		}
		var cands []struct {
			ID  string `bson:"_id"`
			Gen int64  `bson:"gen"`
		}
		if err := cur.All(ctx, &cands); err != nil {
			return out, classify("mongodb", err)
		}
		if len(cands) == 0 {
			break
		}
		for _, c := range cands {
			tried = append(tried, c.ID)
			j, err := s.claimOne(ctx, c.ID, c.Gen, now, until)
			if err != nil {
				return out, classify("mongodb", err)
			}
			if j != nil {
				out = append(out, *j)
			}
		}
	}
	return out, nil
}

// claimOne tries to claim job id, read at claim count gen (see Claim). It
// returns nil when another claimer has it.
func (s *Store) claimOne(ctx context.Context, id string, gen int64, now, until time.Time) (*belfry.Job, error) {
	tok := newToken()
	n := gen + 1
	for {
		cd := claimDoc{ID: id + "/" + strconv.FormatInt(n, 10), Job: id, Gen: n, Claim: tok, Until: until}
		_, err := s.claims.InsertOne(ctx, cd)
		if err == nil {
			break
		}
		if !mongo.IsDuplicateKeyError(err) {
			return nil, err
		}
		var old claimDoc
		err = s.claims.FindOne(ctx, bson.D{{Key: "_id", Value: cd.ID}}).Decode(&old)
		if errors.Is(err, mongo.ErrNoDocuments) {
			return nil, nil // settled meanwhile
		}
		if err != nil {
			return nil, err
		}
		if old.Until.After(now) {
			return nil, nil // held
		}
		n++ // its claimer died before taking the job: pass over it
	}
	f := append(claimable(now), bson.E{Key: "_id", Value: id}, bson.E{Key: "gen", Value: gen})
	var d jobDoc
	err := s.outbox.FindOneAndUpdate(ctx, f,
		bson.D{{Key: "$set", Value: bson.D{{Key: "gen", Value: n}, {Key: "claim", Value: tok}, {Key: "lease_until", Value: until}}}},
		options.FindOneAndUpdate().SetReturnDocument(options.After)).Decode(&d)
	if errors.Is(err, mongo.ErrNoDocuments) {
		// Claimed or settled since it was read: give the number back.
		_, err := s.claims.DeleteOne(ctx, bson.D{{Key: "_id", Value: id + "/" + strconv.FormatInt(n, 10)}, {Key: "claim", Value: tok}})
		return nil, err
	}
	if err != nil {
		return nil, err
	}
	j := d.job()
	return &j, nil
}

func newToken() string {
	var b [16]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// Settle ends a claimed job's attempt. Without transactions it goes in
// three steps: it checks that the job carries s.Claim (else ECONFLICT,
// nothing written), inserts s.Next (as Enqueue), then deletes or updates
// the job on condition that it still carries s.Claim. A crash between the
// last two, or a claim lost between the check and the update (its lease
// expired and another node claimed the job), leaves s.Next stored with
// the job still there: the work may be done twice, never lost. The second
// case answers ECONFLICT. Errors: ECONFLICT, EINVALID (a bad id in Next),
// EUNAVAILABLE.
func (s *Store) Settle(ctx context.Context, st belfry.Settlement) error {
	conflict := belfry.Errorf(belfry.ECONFLICT, "the job is gone or claimed by another")
	if st.Claim == "" {
		return conflict
	}
	next := make([]jobDoc, len(st.Next))
	for i, j := range st.Next {
		if j.ID == "" || len(j.ID) > maxJobID {
			return belfry.Errorf(belfry.EINVALID, "a job id must be 1 to %d bytes", maxJobID)
		}
		next[i] = toJobDoc(j)
	}
	ctx, cancel := context.WithTimeout(ctx, 2*s.opTimeout)
	defer cancel()
	held := bson.D{{Key: "_id", Value: st.ID}, {Key: "claim", Value: st.Claim}}
	n, err := s.outbox.CountDocuments(ctx, held, options.Count().SetLimit(1))
	if err != nil {
		return classify("mongodb", err)
	}
	if n == 0 {
		return conflict
	}
	if len(next) > 0 {
		if err := s.enqueue(ctx, next); err != nil {
			return classify("mongodb", err)
		}
	}
	var matched int64
	if st.Done {
		res, err := s.outbox.DeleteOne(ctx, held)
		if err != nil {
			return classify("mongodb", err)
		}
		matched = res.DeletedCount
	} else {
		set := bson.D{{Key: "last_error", Value: st.LastError}, {Key: "claim", Value: ""}, {Key: "lease_until", Value: noLease}}
		if st.Fail {
			set = append(set, bson.E{Key: "failed", Value: true})
		} else {
			set = append(set, bson.E{Key: "due", Value: belfry.Now(st.Retry)})
			if st.Payload != nil {
				set = append(set, bson.E{Key: "payload", Value: st.Payload})
			}
		}
		res, err := s.outbox.UpdateOne(ctx, held, bson.D{{Key: "$set", Value: set},
			{Key: "$inc", Value: bson.D{{Key: "attempts", Value: 1}}}})
		if err != nil {
			return classify("mongodb", err)
		}
		matched = res.MatchedCount
	}
	if matched == 0 {
		return conflict
	}
	// The job no longer carries a claim: its claim numbers are spent.
	if _, err := s.claims.DeleteMany(ctx, bson.D{{Key: "job", Value: st.ID}}); err != nil {
		s.log.Warn("mongodb: deleting a job's claims failed (harmless: they expire)", "err", err)
	}
	return nil
}

// FailedJobs returns up to limit failed jobs of the kind, newest Created
// first (then ID, descending), with ID below before when before is not "".
// Errors: EUNAVAILABLE.
func (s *Store) FailedJobs(ctx context.Context, kind belfry.JobKind, before string, limit int) ([]belfry.Job, error) {
	if limit <= 0 {
		return nil, nil
	}
	ctx, cancel := s.opCtx(ctx)
	defer cancel()
	f := bson.D{{Key: "failed", Value: true}, {Key: "kind", Value: string(kind)}}
	if before != "" {
		f = append(f, bson.E{Key: "_id", Value: bson.D{{Key: "$lt", Value: before}}})
	}
	cur, err := s.outbox.Find(ctx, f, options.Find().
		SetSort(bson.D{{Key: "created", Value: -1}, {Key: "_id", Value: -1}}).SetLimit(int64(limit)))
	if err != nil {
		return nil, classify("mongodb", err)
	}
	var docs []jobDoc
	if err := cur.All(ctx, &docs); err != nil {
		return nil, classify("mongodb", err)
	}
	out := make([]belfry.Job, len(docs))
	for i := range docs {
		out[i] = docs[i].job()
		out[i].Claim = ""
	}
	return out, nil
}

// Revive makes a failed job pending again: due at now, Attempts 0, no
// claim, LastError kept. Errors: ENOTFOUND, EUNAVAILABLE.
func (s *Store) Revive(ctx context.Context, id string, now time.Time) (belfry.Job, error) {
	ctx, cancel := s.opCtx(ctx)
	defer cancel()
	var d jobDoc
	err := s.outbox.FindOneAndUpdate(ctx, bson.D{{Key: "_id", Value: id}, {Key: "failed", Value: true}},
		bson.D{{Key: "$set", Value: bson.D{{Key: "failed", Value: false}, {Key: "due", Value: belfry.Now(now)},
			{Key: "attempts", Value: 0}, {Key: "claim", Value: ""}, {Key: "lease_until", Value: noLease}}}},
		options.FindOneAndUpdate().SetReturnDocument(options.After)).Decode(&d)
	if errors.Is(err, mongo.ErrNoDocuments) {
		return belfry.Job{}, belfry.Errorf(belfry.ENOTFOUND, "no failed job with this id")
	}
	if err != nil {
		return belfry.Job{}, classify("mongodb", err)
	}
	return d.job(), nil
}

// purgeFailed deletes up to limit failed jobs created before before.
func (s *Store) purgeFailed(ctx context.Context, before time.Time, limit int) error {
	f := bson.D{{Key: "failed", Value: true}, {Key: "created", Value: bson.D{{Key: "$lt", Value: before.UTC()}}}}
	cur, err := s.outbox.Find(ctx, f, options.Find().SetProjection(bson.D{{Key: "_id", Value: 1}}).SetLimit(int64(limit)))
	if err != nil {
		return err
	}
	var js []struct {
		ID string `bson:"_id"`
	}
	if err := cur.All(ctx, &js); err != nil || len(js) == 0 {
		return err
	}
	ids := make([]string, len(js))
	for i, j := range js {
		ids[i] = j.ID
	}
	_, err = s.outbox.DeleteMany(ctx, append(f, bson.E{Key: "_id", Value: in(ids)}))
	return err
}
