package postgres

import (
	"context"
	"errors"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/belfry/belfry"
	"github.com/jackc/pgx/v5"
)

// maxJobID bounds a job id, in bytes.
const maxJobID = 64

// jobColumns are read by scanJob, in this order, from belfry_outbox AS o.
const jobColumns = `o.id, o.kind, o.user_id, o.notification_id, o.created_at, o.due_at,
	o.attempts, o.payload, o.failed, o.last_error, COALESCE(o.claim, '')`

// scanJob reads one row selected with jobColumns.
func scanJob(row pgx.Row) (belfry.Job, error) {
	var j belfry.Job
	var attempts int32
	if err := row.Scan(&j.ID, &j.Kind, &j.UserID, &j.NotificationID, &j.Created, &j.Due,
		&attempts, &j.Payload, &j.Failed, &j.LastError, &j.Claim); err != nil {
		return j, err
	}
	j.Attempts = int(attempts)
	j.Created, j.Due = j.Created.UTC(), j.Due.UTC()
	return j, nil
}

// enqueueSQL inserts jobs, in id order (so two calls with common ids lock
// them in one order), skipping ids already stored and, for those with
// OnlyIfSubscribed, users without a push subscription. A job without
// Created gets $11, the store's clock; one without Due is due when
// created.
const enqueueSQL = `
INSERT INTO belfry_outbox (id, kind, user_id, notification_id, created_at, due_at, attempts,
	payload, last_error)
SELECT x.id, x.kind, x.u, x.nid, COALESCE(x.created, $11), COALESCE(x.due, x.created, $11),
	x.attempts, x.payload, x.err
FROM unnest($1::text[], $2::text[], $3::text[], $4::bigint[], $5::timestamptz[],
	$6::timestamptz[], $7::integer[], $8::bytea[], $9::text[], $10::boolean[])
	AS x(id, kind, u, nid, created, due, attempts, payload, err, only_subscribed)
WHERE NOT x.only_subscribed
	OR EXISTS (SELECT 1 FROM belfry_push_subscriptions p WHERE p.user_id = x.u)
ORDER BY x.id
ON CONFLICT (id) DO NOTHING`

// jobArgs are the columns of jobs to insert, as arrays: the arguments of
// enqueueSQL ($1–$10) and of insertJobsCTE ($18–$27).
type jobArgs struct {
	ids, kinds, users, errs []string
	nids                    []int64 // the notification id; in a publish, the row's o
	created, due            []*time.Time
	attempts                []int32
	payloads                [][]byte
	only                    []bool
}

func newJobArgs(n int) *jobArgs {
	return &jobArgs{ids: make([]string, 0, n), kinds: make([]string, 0, n),
		users: make([]string, 0, n), errs: make([]string, 0, n), nids: make([]int64, 0, n),
		created: make([]*time.Time, 0, n), due: make([]*time.Time, 0, n),
		attempts: make([]int32, 0, n), payloads: make([][]byte, 0, n), only: make([]bool, 0, n)}
}

// add appends a job (checked by checkJob) with the notification id nid.
// Zero times are NULL: the statement chooses them.
func (a *jobArgs) add(j *belfry.Job, nid int64) {
	a.ids = append(a.ids, j.ID)
	a.kinds = append(a.kinds, string(j.Kind))
	a.users = append(a.users, j.UserID)
	a.errs = append(a.errs, cleanText(j.LastError))
	a.nids = append(a.nids, nid)
	a.created = append(a.created, msTime(j.Created))
	a.due = append(a.due, msTime(j.Due))
	a.attempts = append(a.attempts, int32(min(max(j.Attempts, 0), 1<<31-1)))
	a.payloads = append(a.payloads, j.Payload)
	a.only = append(a.only, j.OnlyIfSubscribed)
}

func (a *jobArgs) values() []any {
	return []any{a.ids, a.kinds, a.users, a.nids, a.created, a.due, a.attempts, a.payloads,
		a.errs, a.only}
}

// msTime is t at the stored precision, or nil when t is zero.
func msTime(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	t = belfry.Now(t)
	return &t
}

// cleanText makes s storable in a text column: PostgreSQL refuses NUL
// characters and invalid UTF-8. It is used on errors kept for operators,
// which may quote anything a remote server answered.
func cleanText(s string) string {
	if strings.IndexByte(s, 0) >= 0 {
		s = strings.ReplaceAll(s, "\x00", "")
	}
	return strings.ToValidUTF8(s, "\uFFFD")
}

// checkJob refuses a job the outbox cannot store. Errors: EINVALID.
func checkJob(j *belfry.Job) error {
	if j.ID == "" || len(j.ID) > maxJobID {
		return belfry.Errorf(belfry.EINVALID, "a job id must be 1 to %d bytes", maxJobID)
	}
	for _, s := range []string{j.ID, string(j.Kind), j.UserID} {
		if hasNULString(s) || !utf8.ValidString(s) {
			return belfry.Errorf(belfry.EINVALID, "a job's id, kind and user must be UTF-8 without NUL characters")
		}
	}
	return nil
}

// Enqueue stores the jobs, unclaimed and pending, in one statement: all or
// none. A job whose id is stored already is left as it is (so is the
// second of two jobs with one id); one with OnlyIfSubscribed is stored only
// if its user has a push subscription. A job with no Created is created
// now (the store's clock); one with no Due is due when created.
// Errors: EINVALID (an empty id, one over 64 bytes, a NUL character),
// EUNAVAILABLE.
func (s *Store) Enqueue(ctx context.Context, jobs []belfry.Job) error {
	if len(jobs) == 0 {
		return nil
	}
	args, err := s.enqueueArgs(jobs)
	if err != nil {
		return err
	}
	err = s.do(ctx, false, func() error {
		_, err := s.pool.Exec(ctx, enqueueSQL, args...)
		return err
	})
	if err != nil {
		return classify("postgres", err)
	}
	return nil
}

// enqueueArgs checks the jobs and returns the arguments of enqueueSQL.
// Errors: EINVALID.
func (s *Store) enqueueArgs(jobs []belfry.Job) ([]any, error) {
	a := newJobArgs(len(jobs))
	for i := range jobs {
		if err := checkJob(&jobs[i]); err != nil {
			return nil, err
		}
		a.add(&jobs[i], jobs[i].NotificationID)
	}
	return append(a.values(), belfry.Now(s.now())), nil
}

// claimSQL leases up to $3 due jobs until $2, in due then id order, each
// with a new random claim token. FOR UPDATE SKIP LOCKED passes over the
// jobs another Claim is taking right now; a job that another Claim took
// and committed since this statement's snapshot is re-read by FOR UPDATE,
// found leased, and left out. So two Claims, on any nodes, never return
// one job while its lease holds.
const claimSQL = `
WITH c AS (
	SELECT id FROM belfry_outbox
	WHERE NOT failed AND due_at <= $1 AND (lease_until IS NULL OR lease_until <= $1)
	ORDER BY due_at, id LIMIT $3
	FOR UPDATE SKIP LOCKED
)
UPDATE belfry_outbox o SET claim = gen_random_uuid()::text, lease_until = $2
FROM c WHERE o.id = c.id
RETURNING ` + jobColumns

// Claim leases up to limit due jobs (Due <= now, not failed, no lease or
// an expired one) until now+lease and returns them, soonest Due first,
// then by id, each with its new Claim. The lease is kept at full
// precision (it is not a time callers read), so it never ends early.
// Errors: EUNAVAILABLE.
func (s *Store) Claim(ctx context.Context, now time.Time, lease time.Duration, limit int) ([]belfry.Job, error) {
	if limit <= 0 {
		return nil, nil
	}
	var jobs []belfry.Job
	err := s.do(ctx, false, func() error {
		rows, err := s.pool.Query(ctx, claimSQL, now, now.Add(lease), limit)
		if err != nil {
			return err
		}
		jobs, err = pgx.CollectRows(rows, func(r pgx.CollectableRow) (belfry.Job, error) { return scanJob(r) })
		return err
	})
	if err != nil {
		return nil, classify("postgres", err)
	}
	slices.SortFunc(jobs, func(a, b belfry.Job) int {
		if c := a.Due.Compare(b.Due); c != 0 {
			return c
		}
		return strings.Compare(a.ID, b.ID)
	})
	return jobs, nil
}

// The statements of Settle: each changes the job only if its claim is
// $2, and clears the lease.
const (
	settleDoneSQL  = `DELETE FROM belfry_outbox WHERE id = $1 AND claim = $2`
	settleRetrySQL = `UPDATE belfry_outbox SET due_at = $3, attempts = attempts + 1,
		last_error = $4, payload = CASE WHEN $5 THEN $6 ELSE payload END,
		claim = NULL, lease_until = NULL
		WHERE id = $1 AND claim = $2`
	settleFailSQL = `UPDATE belfry_outbox SET failed = true, attempts = attempts + 1,
		last_error = $3, claim = NULL, lease_until = NULL
		WHERE id = $1 AND claim = $2`
)

var errConflict = belfry.Errorf(belfry.ECONFLICT, "the job is gone or claimed again")

// Settle ends a claimed job's attempt and enqueues st.Next (as Enqueue
// does) in the same transaction; without Next, it is one statement.
// Errors: ECONFLICT (no job with this id and claim), EINVALID (not
// exactly one of Done, Retry and Fail; a bad job in Next), EUNAVAILABLE.
func (s *Store) Settle(ctx context.Context, st belfry.Settlement) error {
	var sql string
	var args []any
	switch {
	case st.Done && st.Retry.IsZero() && !st.Fail:
		sql, args = settleDoneSQL, []any{st.ID, st.Claim}
	case !st.Done && !st.Retry.IsZero() && !st.Fail:
		sql, args = settleRetrySQL, []any{st.ID, st.Claim, belfry.Now(st.Retry),
			cleanText(st.LastError), st.Payload != nil, st.Payload}
	case !st.Done && st.Retry.IsZero() && st.Fail:
		sql, args = settleFailSQL, []any{st.ID, st.Claim, cleanText(st.LastError)}
	default:
		return belfry.Errorf(belfry.EINVALID, "a settlement is exactly one of done, retry and fail")
	}
	var next []any
	if len(st.Next) > 0 {
		var err error
		if next, err = s.enqueueArgs(st.Next); err != nil {
			return err
		}
	}
	err := s.do(ctx, false, func() error {
		if len(st.Next) == 0 {
			tag, err := s.pool.Exec(ctx, sql, args...)
			if err == nil && tag.RowsAffected() == 0 {
				return errConflict
			}
			return err
		}
		return pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
			tag, err := tx.Exec(ctx, sql, args...)
			if err != nil {
				return err
			}
			if tag.RowsAffected() == 0 {
				return errConflict
			}
			_, err = tx.Exec(ctx, enqueueSQL, next...)
			return err
		})
	})
	if err != nil {
		return classify("postgres", err)
	}
	return nil
}

// FailedJobs returns up to limit failed jobs of the kind, newest Created
// first (then id, descending), with an id below before unless it is "".
// Errors: EUNAVAILABLE.
func (s *Store) FailedJobs(ctx context.Context, kind belfry.JobKind, before string, limit int) ([]belfry.Job, error) {
	if limit <= 0 || hasNULString(string(kind)) || hasNULString(before) {
		return nil, nil
	}
	var jobs []belfry.Job
	err := s.do(ctx, true, func() error {
		rows, err := s.pool.Query(ctx, `SELECT `+jobColumns+` FROM belfry_outbox o
			WHERE o.failed AND o.kind = $1 AND ($2 = '' OR o.id < $2)
			ORDER BY o.created_at DESC, o.id DESC LIMIT $3`, string(kind), before, limit)
		if err != nil {
			return err
		}
		jobs, err = pgx.CollectRows(rows, func(r pgx.CollectableRow) (belfry.Job, error) { return scanJob(r) })
		return err
	})
	if err != nil {
		return nil, classify("postgres", err)
	}
	return jobs, nil
}

// Revive makes the failed job id pending, due at now, with no attempts
// and no lease; its LastError stays. Errors: ENOTFOUND (no failed job with
// this id), EUNAVAILABLE.
func (s *Store) Revive(ctx context.Context, id string, now time.Time) (belfry.Job, error) {
	if hasNULString(id) {
		return belfry.Job{}, errNoFailedJob
	}
	var j belfry.Job
	err := s.do(ctx, false, func() error {
		var err error
		j, err = scanJob(s.pool.QueryRow(ctx, `UPDATE belfry_outbox o SET failed = false,
			due_at = $2, attempts = 0, claim = NULL, lease_until = NULL
			WHERE o.id = $1 AND o.failed RETURNING `+jobColumns, id, belfry.Now(now)))
		return err
	})
	if errors.Is(err, pgx.ErrNoRows) {
		return belfry.Job{}, errNoFailedJob
	}
	if err != nil {
		return belfry.Job{}, classify("postgres", err)
	}
	return j, nil
}

var errNoFailedJob = belfry.Errorf(belfry.ENOTFOUND, "no failed job with this id")
