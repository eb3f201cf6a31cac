package sqlite

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"slices"
	"strings"
	"time"

	"github.com/belfry/belfry"
)

// The outbox: every write (Enqueue, Claim, Settle, Revive) goes through the
// writer like any other, so a job is committed in the same transaction as
// what it belongs to (Batch.Jobs with their notifications, Settle's Next
// with the settlement), and the single writer, with BEGIN IMMEDIATE across
// processes, is what keeps two Claims from taking one job. FailedJobs reads
// on the read pool.

// jobColumns is the select list that scanJob reads.
const jobColumns = `id, kind, user_id, notification_id, created_at, due_at, attempts, payload,
	failed, last_error, claim`

// maxJobID is the longest job id, in bytes.
const maxJobID = 64

// outboxReq holds the inputs and results of an outbox or subscription
// write; on an opCreate, the batch's jobs.
type outboxReq struct {
	jobs   []belfry.Job // opEnqueue; Batch.Jobs on opCreate
	now    time.Time    // opClaim, opRevive
	lease  time.Duration
	limit  int
	settle *belfry.Settlement
	id     string              // opRevive
	sub    belfry.Subscription // opSubscribe; Endpoint alone for opUnsubscribe

	claimed []belfry.Job // opClaim
	job     belfry.Job   // opRevive
}

// checkJobs validates what the store relies on: an id of 1 to 64 bytes
// and a kind. Errors: EINVALID.
func checkJobs(jobs []belfry.Job) error {
	for _, j := range jobs {
		if j.ID == "" || len(j.ID) > maxJobID {
			return belfry.Errorf(belfry.EINVALID, "a job id has 1 to %d bytes, not %d", maxJobID, len(j.ID))
		}
		if j.Kind == "" {
			return belfry.Errorf(belfry.EINVALID, "job %q has no kind", j.ID)
		}
	}
	return nil
}

// Enqueue stores the jobs in one transaction; a job whose id is stored is
// left as it is, and one with OnlyIfSubscribed whose user has no push
// subscription is left out. Errors: EINVALID (an empty or too long id, no
// kind), EUNAVAILABLE.
func (s *Store) Enqueue(ctx context.Context, jobs []belfry.Job) error {
	if len(jobs) == 0 {
		return nil
	}
	if err := checkJobs(jobs); err != nil {
		return err
	}
	return s.submit(ctx, &request{op: opEnqueue, ob: &outboxReq{jobs: slices.Clone(jobs)}})
}

// Claim leases up to limit due jobs until now+lease, soonest Due first
// (then ID), and returns them in that order, each with its own Claim
// token. Errors: EINVALID (a lease not above 0), EUNAVAILABLE.
func (s *Store) Claim(ctx context.Context, now time.Time, lease time.Duration, limit int) ([]belfry.Job, error) {
	if limit <= 0 {
		return nil, nil
	}
	if lease <= 0 {
		return nil, belfry.Errorf(belfry.EINVALID, "a claim's lease must be above 0, not %s", lease)
	}
	r := &request{op: opClaim, ob: &outboxReq{now: belfry.Now(now), lease: lease, limit: limit}}
	if err := s.submit(ctx, r); err != nil {
		return nil, err
	}
	return r.ob.claimed, nil
}

// Settle ends the attempt of a claimed job and enqueues st.Next in the
// same transaction. A job is settled only with the claim it holds: the
// empty claim of a job never claimed settles nothing.
// Errors: EINVALID (not exactly one of Done, Retry and Fail; a bad Next),
// ECONFLICT, EUNAVAILABLE.
func (s *Store) Settle(ctx context.Context, st belfry.Settlement) error {
	n := 0
	for _, set := range []bool{st.Done, !st.Retry.IsZero(), st.Fail} {
		if set {
			n++
		}
	}
	if n != 1 {
		return belfry.Errorf(belfry.EINVALID, "a settlement is exactly one of done, retry and fail")
	}
	if err := checkJobs(st.Next); err != nil {
		return err
	}
	if st.Claim == "" {
		return errStaleClaim
	}
	st.Next = slices.Clone(st.Next)
	return s.submit(ctx, &request{op: opSettle, ob: &outboxReq{settle: &st}})
}

var errStaleClaim = belfry.Errorf(belfry.ECONFLICT, "the job is gone or claimed by another")

// FailedJobs returns up to limit failed jobs of the kind, newest Created
// first (then ID descending), with ID below before when before is not "".
// Errors: EUNAVAILABLE.
func (s *Store) FailedJobs(ctx context.Context, kind belfry.JobKind, before string, limit int) ([]belfry.Job, error) {
	if limit <= 0 {
		return nil, nil
	}
	rows, err := s.reads.failedJobs.QueryContext(ctx, string(kind), before, limit)
	if err != nil {
		return nil, belfry.Unavailable("sqlite store", err)
	}
	js, err := scanJobs(rows)
	if err != nil {
		return nil, belfry.Unavailable("sqlite store", err)
	}
	return js, nil
}

// Revive makes a failed job pending, due at now, with no attempt counted
// and its last error kept, and returns it.
// Errors: ENOTFOUND (no failed job has the id), EUNAVAILABLE.
func (s *Store) Revive(ctx context.Context, id string, now time.Time) (belfry.Job, error) {
	r := &request{op: opRevive, ob: &outboxReq{id: id, now: belfry.Now(now)}}
	if err := s.submit(ctx, r); err != nil {
		return belfry.Job{}, err
	}
	return r.ob.job, nil
}

// applyOutbox runs an outbox or subscription write inside the open
// transaction. As in apply, a conflict, a not-found or a limit is an
// answer (r.err); the returned error aborts the transaction.
func (w *writer) applyOutbox(ctx context.Context, r *request) error {
	ob := r.ob
	ob.claimed, ob.job = nil, belfry.Job{}
	switch r.op {
	case opEnqueue:
		for _, j := range ob.jobs {
			if err := w.insertJob(ctx, j, j.NotificationID, j.Created); err != nil {
				return err
			}
		}
		return nil
	case opClaim:
		return w.claim(ctx, ob)
	case opSettle:
		return w.settle(ctx, r)
	case opRevive:
		rows, err := w.revive.QueryContext(ctx, ob.id, ob.now.UnixMilli())
		if err != nil {
			return err
		}
		js, err := scanJobs(rows)
		if err != nil {
			return err
		}
		if len(js) == 0 {
			r.err = belfry.Errorf(belfry.ENOTFOUND, "no failed job %q", ob.id)
			return nil
		}
		ob.job = js[0]
		return nil
	case opSubscribe:
		return w.subscribe(ctx, r)
	case opUnsubscribe:
		return w.unsubscribe(ctx, r)
	}
	return errors.New("sqlite store: unknown outbox write")
}

// insertJob stores j with the notification id and creation time given,
// unless its id is stored, or it is OnlyIfSubscribed and its user has no
// push subscription.
func (w *writer) insertJob(ctx context.Context, j belfry.Job, notification int64, created time.Time) error {
	if j.OnlyIfSubscribed {
		var ok bool
		if err := w.subscribed.QueryRowContext(ctx, j.UserID).Scan(&ok); err != nil || !ok {
			return err
		}
	}
	_, err := w.insertJobStmt.ExecContext(ctx, j.ID, string(j.Kind), j.UserID, notification,
		created.UnixMilli(), j.Due.UnixMilli(), payloadArg(j.Payload))
	return err
}

// payloadArg is a payload as bound: NULL when there is none.
func payloadArg(p []byte) any {
	if len(p) == 0 {
		return nil
	}
	return p
}

// insertBatchJobs stores the Batch.Jobs of the publishes of a run that
// created notifications: each job gets the id of the notification at its
// Index in the call (and its CreatedAt, when the job has no Created), and
// is dropped when that notification was skipped. Called after the ids are
// handed out.
func (w *writer) insertBatchJobs(ctx context.Context, rs []*request, now time.Time) error {
	for _, r := range rs {
		if r.ob == nil || len(r.ob.jobs) == 0 || r.replayed || r.err != nil {
			continue
		}
		// ids[i] is the id of r.ns[i], 0 when it was skipped.
		ids := make([]int64, len(r.ns))
		j := 0
		for i, n := range r.ns {
			if j < len(r.live) && r.live[j] == n {
				ids[i] = r.ids[j]
				j++
			}
		}
		for _, job := range r.ob.jobs {
			id := ids[job.Index]
			if id == 0 {
				continue
			}
			created := job.Created
			if created.IsZero() {
				created = now
			}
			if err := w.insertJob(ctx, job, id, created); err != nil {
				return err
			}
		}
	}
	return nil
}

// claim leases the jobs in one statement. Each job's token is the call's
// random token and the row's rowid, so no two jobs share one.
func (w *writer) claim(ctx context.Context, ob *outboxReq) error {
	var b [16]byte
	rand.Read(b[:])
	now := ob.now.UnixMilli()
	lease := (ob.lease + time.Millisecond - 1).Milliseconds() // a lease of part of a millisecond still holds one
	rows, err := w.claimJobs.QueryContext(ctx, hex.EncodeToString(b[:]), now, now+lease, ob.limit)
	if err != nil {
		return err
	}
	js, err := scanJobs(rows)
	if err != nil {
		return err
	}
	// RETURNING's order is unspecified.
	slices.SortFunc(js, func(a, b belfry.Job) int {
		if c := a.Due.Compare(b.Due); c != 0 {
			return c
		}
		return strings.Compare(a.ID, b.ID)
	})
	ob.claimed = js
	return nil
}

// settle applies a Settlement: the change, guarded by the claim, then Next.
func (w *writer) settle(ctx context.Context, r *request) error {
	st := r.ob.settle
	var (
		res sql.Result
		err error
	)
	switch {
	case st.Done:
		res, err = w.jobDone.ExecContext(ctx, st.ID, st.Claim)
	case st.Fail:
		res, err = w.jobFail.ExecContext(ctx, st.ID, st.Claim, st.LastError)
	default:
		res, err = w.jobRetry.ExecContext(ctx, st.ID, st.Claim, belfry.Now(st.Retry).UnixMilli(), st.LastError,
			st.Payload != nil, payloadArg(st.Payload))
	}
	if err != nil {
		return err
	}
	n, err := res.RowsAffected()
	if err != nil {
		return err
	}
	if n == 0 {
		r.err = errStaleClaim
		return nil
	}
	for _, j := range st.Next {
		if err := w.insertJob(ctx, j, j.NotificationID, j.Created); err != nil {
			return err
		}
	}
	return nil
}

// scanJobs reads the rows selected with jobColumns and closes them.
func scanJobs(rows *sql.Rows) ([]belfry.Job, error) {
	defer rows.Close()
	var js []belfry.Job
	for rows.Next() {
		var (
			j                     belfry.Job
			kind                  string
			created, due, attempt int64
		)
		if err := rows.Scan(&j.ID, &kind, &j.UserID, &j.NotificationID, &created, &due, &attempt,
			&j.Payload, &j.Failed, &j.LastError, &j.Claim); err != nil {
			return nil, err
		}
		j.Kind, j.Attempts = belfry.JobKind(kind), int(attempt)
		j.Created, j.Due = time.UnixMilli(created).UTC(), time.UnixMilli(due).UTC()
		js = append(js, j)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	return js, rows.Close()
}
