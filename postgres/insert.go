package postgres

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"slices"
	"time"

	"github.com/belfry/belfry"
	"github.com/jackc/pgx/v5"
)

// insertSQL is a whole group commit in one statement, so one round trip
// and one transaction: it claims the idempotency keys, applies the
// preferences, bumps the counter of every user with a notification to
// store, inserts the notifications and records what each key created.
//
// Keys ($13 name, $14 hash, $15 expiry) are numbered kx from 1. A key is
// claimed when its row is inserted, or when the row of an expired key is
// taken over; a live key is left alone, and its rows are not stored (the
// caller replays its record). ON CONFLICT waits for a key inserted by a
// transaction still running, on any node, then sees whether it committed:
// concurrent calls with one key create one set. Every key is claimed
// before any counter is locked (claimed aggregates them all), keys in name
// order and counters in user order, by every statement on every node: two
// batches sharing keys or users wait for each other but never deadlock.
//
// Rows ($1 user, $2 index of the body, 1-based, $3 whether preferences
// apply, $16 kx or 0, $17 category) are numbered o in input order. A row of a claimed key
// (or of none) is stored unless preferences apply and the user's switch
// for the category (else the user's default) has in_app off; the CASE
// looks a user's preferences up only then, with one probe of their primary
// key. back is how many stored rows of the same user follow the row: the
// user's last one gets the new last id, the one before it that id minus 1,
// and so on.
//
// A publish to 1,000 users sends its body once ($5–$12), and the server
// parses its data once (b is MATERIALIZED so the casts are not inlined
// into the per-row select). The planner knows little of how many rows the
// CTEs hold (it guesses one row for k), so nothing joins on them that a
// wrong guess would make quadratic: the new last ids are looked up in a
// jsonb object (last; ki keeps only the ids, not a copy of the object per
// row), and r has each row's category instead of joining b.
//
// The result lists, by kind: 0, each user's new last id; 1, the o of each
// row skipped by preferences; 2, the kx of each key that was live.
const insertSQL = insertCTEs + insertResult

// insertCTEs are the CTEs of insertSQL.
const insertCTEs = `
WITH kin AS (
	SELECT name, hash, expires_at, kx
	FROM unnest($13::text[], $14::bytea[], $15::timestamptz[]) WITH ORDINALITY AS x(name, hash, expires_at, kx)
), claim AS (
	INSERT INTO belfry_idempotency_keys AS ik (name, hash, expires_at)
	SELECT name, hash, expires_at FROM kin ORDER BY name COLLATE "C"
	ON CONFLICT (name) DO UPDATE SET hash = excluded.hash, expires_at = excluded.expires_at
	WHERE ik.expires_at <= $4
	RETURNING name
), claimed AS (
	SELECT COALESCE(array_agg(kin.kx), '{}') AS kxs FROM claim JOIN kin ON kin.name = claim.name
), b AS MATERIALIZED (
	SELECT bi, message, NULLIF(title, '') AS title, NULLIF(link, '') AS link,
		NULLIF(category, '') AS category, NULLIF(data, '')::json AS data,
		NULLIF(avatar, '') AS avatar, NULLIF(actions, '')::jsonb AS actions, expires_at
	FROM unnest($5::text[], $6::text[], $7::text[], $8::text[], $9::text[], $10::text[], $11::text[],
		$12::timestamptz[])
		WITH ORDINALITY AS x(message, title, link, category, data, avatar, actions, expires_at, bi)
), r AS MATERIALIZED (
	SELECT t.u, t.bi, t.o, t.kx, (t.kx = 0 OR t.kx = ANY(cl.kxs)) AS claimed,
		COALESCE(CASE WHEN t.p THEN (
			SELECT COALESCE((pr.categories -> NULLIF(t.cat, '') ->> 'in_app')::boolean, pr.default_in_app)
			FROM belfry_preferences pr WHERE pr.user_id = t.u) END, true) AS pass
	FROM unnest($1::text[], $2::bigint[], $3::boolean[], $16::bigint[], $17::text[])
		WITH ORDINALITY AS t(u, bi, p, kx, cat, o)
	CROSS JOIN claimed cl
), k AS (
	SELECT u, bi, o, kx, row_number() OVER (PARTITION BY u COLLATE "C" ORDER BY o DESC) - 1 AS back
	FROM r WHERE claimed AND pass
), c AS (
	INSERT INTO belfry_counters AS cnt (user_id, last_id)
	SELECT u, count(*) FROM k GROUP BY u ORDER BY u COLLATE "C"
	ON CONFLICT (user_id) DO UPDATE SET last_id = cnt.last_id + excluded.last_id
	RETURNING user_id, last_id
), last AS (
	SELECT jsonb_object_agg(user_id, last_id) AS m FROM c
), ki AS (
	SELECT k.u, k.bi, k.o, k.kx, (last.m ->> k.u)::bigint - k.back AS id FROM k, last
), i AS (
	INSERT INTO belfry_notifications (user_id, id, message, title, link, category, data,
		avatar, actions, expires_at, created_at)
	SELECT ki.u, ki.id, b.message, b.title, b.link, b.category, b.data,
		b.avatar, b.actions, b.expires_at, $4
	FROM ki JOIN b ON b.bi = ki.bi
), rec AS (
	INSERT INTO belfry_idempotency_records AS ir (name, created_at, users, ids)
	SELECT kin.name, $4,
		COALESCE(array_agg(ki.u ORDER BY ki.o) FILTER (WHERE ki.u IS NOT NULL), '{}'),
		COALESCE(array_agg(ki.id ORDER BY ki.o) FILTER (WHERE ki.u IS NOT NULL), '{}')
	FROM kin
	JOIN claim ON claim.name = kin.name
	LEFT JOIN ki ON ki.kx = kin.kx
	GROUP BY kin.name
	ON CONFLICT (name) DO UPDATE SET created_at = excluded.created_at, users = excluded.users,
		ids = excluded.ids
)`

// insertResult is the end of insertSQL, after its CTEs.
const insertResult = `
SELECT 0, user_id, last_id FROM c
UNION ALL
SELECT 1, NULL, o FROM r WHERE claimed AND NOT pass
UNION ALL
SELECT 2, NULL, kx FROM kin, claimed WHERE NOT kx = ANY(claimed.kxs)`

// insertJobsSQL is insertSQL for a batch with outbox jobs (Batch.Jobs),
// which it inserts in the same statement: a batch without jobs runs
// insertSQL, and pays nothing for them.
//
// Jobs ($18–$27, as enqueueSQL's $1–$10, with the o of their
// notification's row in place of its id) belong to the rows that are
// stored: a job whose row was skipped (preferences, or a live key) finds
// no id in jo and is dropped. The ids are looked up in a jsonb object, as
// last is, rather than joined. A job with OnlyIfSubscribed is stored only
// if its user has a push subscription, read in this statement. A job with
// no Created is created with the notifications ($4); one with no Due is
// due then.
const insertJobsSQL = insertCTEs + `, jo AS (
	SELECT jsonb_object_agg(ki.o, ki.id) AS m FROM ki
), j AS (
	INSERT INTO belfry_outbox (id, kind, user_id, notification_id, created_at, due_at, attempts,
		payload, last_error)
	SELECT x.id, x.kind, x.u, x.nid, COALESCE(x.created, $4), COALESCE(x.due, x.created, $4),
		x.attempts, x.payload, x.err
	FROM (SELECT y.*, (jo.m ->> y.o::text)::bigint AS nid
		FROM unnest($18::text[], $19::text[], $20::text[], $21::bigint[], $22::timestamptz[],
			$23::timestamptz[], $24::integer[], $25::bytea[], $26::text[], $27::boolean[])
			AS y(id, kind, u, o, created, due, attempts, payload, err, only_subscribed), jo) x
	WHERE x.nid IS NOT NULL AND (NOT x.only_subscribed
		OR EXISTS (SELECT 1 FROM belfry_push_subscriptions p WHERE p.user_id = x.u))
	ORDER BY x.id
	ON CONFLICT (id) DO NOTHING
)` + insertResult

// insertion is one run of insertSQL: its arguments, then its outcome.
type insertion struct {
	reqs  []*createReq
	users []string // per row
	reqOf []int    // per row: its index in reqs
	keyOf []int    // per request: its kx, 0 if none
	now   time.Time
	sql   string // insertSQL, or insertJobsSQL when a request has jobs
	args  []any

	last    map[string]int64 // user → new last id
	skipped map[int64]bool   // o of the rows skipped by preferences
	live    map[int]bool     // kx of the keys that were live
}

// newInsertion prepares the arguments of insertSQL for the requests.
func newInsertion(reqs []*createReq, now time.Time) *insertion {
	rows := 0
	for _, r := range reqs {
		rows += len(r.ns)
	}
	in := &insertion{reqs: reqs, now: now, users: make([]string, 0, rows),
		reqOf: make([]int, 0, rows), keyOf: make([]int, len(reqs))}
	rowBody := make([]int64, 0, rows)
	rowPrefs := make([]bool, 0, rows)
	rowKey := make([]int64, 0, rows)
	rowCat := make([]string, 0, rows)
	var msg, title, link, cat, data, avatar, actions, keyName []string
	var expires, keyExpires []*time.Time
	var keyHash [][]byte
	var prev *belfry.Notification
	var jobs *jobArgs
	for ri, r := range reqs {
		for _, j := range r.jobs {
			if jobs == nil {
				jobs = newJobArgs(len(r.jobs))
			}
			if j.UserID == "" {
				j.UserID = r.ns[j.Index].UserID
			}
			jobs.add(&j, int64(len(in.users)+j.Index+1)) // the o of its row
		}
		if r.key != nil {
			keyName = append(keyName, r.key.Name)
			keyHash = append(keyHash, r.key.Hash[:])
			keyExpires = append(keyExpires, &r.key.Expires)
			in.keyOf[ri] = len(keyName)
		}
		for _, n := range r.ns {
			in.users = append(in.users, n.UserID)
			in.reqOf = append(in.reqOf, ri)
			rowPrefs = append(rowPrefs, r.prefs)
			rowKey = append(rowKey, int64(in.keyOf[ri]))
			rowCat = append(rowCat, n.Category)
			if prev == nil || !sameBody(prev, n) {
				msg = append(msg, n.Message)
				title = append(title, n.Title)
				link = append(link, n.Link)
				cat = append(cat, n.Category)
				data = append(data, string(n.Data))
				avatar = append(avatar, n.Avatar)
				actions = append(actions, actionsJSON(n.Actions))
				expires = append(expires, n.ExpiresAt)
				prev = n
			}
			rowBody = append(rowBody, int64(len(msg)))
		}
	}
	in.args = []any{in.users, rowBody, rowPrefs, now, msg, title, link, cat, data, avatar, actions,
		expires, keyName, keyHash, keyExpires, rowKey, rowCat}
	in.sql = insertSQL
	if jobs != nil {
		in.sql = insertJobsSQL
		in.args = append(in.args, jobs.values()...)
	}
	return in
}

// run executes the statement on q. It may be called again (a retry).
func (in *insertion) run(ctx context.Context, q querier) error {
	in.last = make(map[string]int64)
	in.skipped, in.live = nil, nil
	rows, err := q.Query(ctx, in.sql, in.args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	// Scanned into the same variables row after row: passing their
	// addresses moves them to the heap, once rather than once a row.
	var (
		kind int32
		u    *string
		v    int64
	)
	for rows.Next() {
		u = nil
		if err := rows.Scan(&kind, &u, &v); err != nil {
			return err
		}
		switch kind {
		case 0:
			in.last[*u] = v
		case 1:
			if in.skipped == nil {
				in.skipped = map[int64]bool{}
			}
			in.skipped[v] = true
		case 2:
			if in.live == nil {
				in.live = map[int]bool{}
			}
			in.live[int(v)] = true
		}
	}
	return rows.Err()
}

// stored reports whether row (0-based) was stored.
func (in *insertion) stored(row int) bool {
	return !in.skipped[int64(row+1)] && !in.live[in.keyOf[in.reqOf[row]]]
}

// assign returns the id of each row (in input order), 0 for one not
// stored, once the statement has succeeded. It changes nothing: set does.
func (in *insertion) assign() ([]int64, error) {
	next := make(map[string]int64, len(in.last))
	for u, id := range in.last {
		next[u] = id
	}
	ids := make([]int64, len(in.users))
	for row := len(in.users) - 1; row >= 0; row-- {
		if !in.stored(row) {
			if in.skipped[int64(row+1)] && !in.reqs[in.reqOf[row]].prefs {
				return nil, belfry.Errorf(belfry.EINTERNAL, "postgres: a Create skipped a notification")
			}
			continue
		}
		u := in.users[row]
		id := next[u]
		if id <= 0 {
			return nil, belfry.Errorf(belfry.EINTERNAL, "postgres: no id assigned to user %q", u)
		}
		ids[row] = id
		next[u] = id - 1
	}
	return ids, nil
}

// set gives the stored notifications their ids (from assign) and
// CreatedAt, and each request its skip list.
func (in *insertion) set(ids []int64) {
	row := 0
	for ri, r := range in.reqs {
		r.skip = nil
		if r.prefs {
			r.skip = make([]bool, len(r.ns))
		}
		live := in.live[in.keyOf[ri]]
		for i, n := range r.ns {
			switch {
			case live:
			case ids[row] == 0:
				r.skip[i] = true
			default:
				n.ID, n.CreatedAt = ids[row], in.now
			}
			row++
		}
	}
}

// querier is what insertion.run runs on: the pool, or a transaction.
type querier interface {
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
}

// insert writes the notifications of a batch in one statement and, on
// success only, sets their IDs and CreatedAt, and reads the records of the
// keys that were live. The batch has no key twice.
func (s *Store) insert(batch []*createReq) error {
	for _, r := range batch {
		r.err, r.rec = nil, nil
	}
	in := newInsertion(batch, belfry.Now(s.now()))
	ctx, cancel := context.WithTimeout(context.Background(), s.writeTimeout)
	defer cancel()
	if err := s.do(ctx, false, func() error { return in.run(ctx, s.pool) }); err != nil {
		return classify("postgres", err)
	}
	ids, err := in.assign()
	if err != nil {
		return err
	}
	in.set(ids)
	if len(in.live) > 0 {
		s.readRecords(ctx, in)
	}
	return nil
}

// keyRecord is what the call that claimed a key created.
type keyRecord struct {
	hash    []byte
	created time.Time
	users   []string
	ids     []int64
}

// readRecords gives each request whose key was live the key's record. It
// reads them in a statement of its own: the one that found the key live
// may have waited for its claimer to commit, whose record its snapshot,
// taken before, does not show.
func (s *Store) readRecords(ctx context.Context, in *insertion) {
	var names []string
	for ri, r := range in.reqs {
		if in.live[in.keyOf[ri]] {
			names = append(names, r.key.Name)
		}
	}
	recs := map[string]*keyRecord{}
	err := s.do(ctx, true, func() error {
		clear(recs)
		rows, err := s.pool.Query(ctx, `SELECT k.name, k.hash, r.created_at, r.users, r.ids
			FROM belfry_idempotency_keys k JOIN belfry_idempotency_records r ON r.name = k.name
			WHERE k.name = ANY($1)`, names)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var name string
			rec := &keyRecord{}
			if err := rows.Scan(&name, &rec.hash, &rec.created, &rec.users, &rec.ids); err != nil {
				return err
			}
			rec.created = rec.created.UTC()
			recs[name] = rec
		}
		return rows.Err()
	})
	for ri, r := range in.reqs {
		if !in.live[in.keyOf[ri]] {
			continue
		}
		switch rec := recs[r.key.Name]; {
		case err != nil:
			r.err = classify("postgres", err)
		case rec == nil:
			// Purged since: it expired in between. The caller may retry.
			r.err = belfry.Unavailable("postgres", errKeyGone)
		default:
			r.rec = rec
		}
	}
}

var errKeyGone = errors.New("the idempotency key expired while it was read")

// actionsJSON encodes a notification's actions as stored: "" (NULL) when
// there are none.
func actionsJSON(as []belfry.Action) string {
	if len(as) == 0 {
		return ""
	}
	b, err := json.Marshal(as)
	if err != nil {
		panic(err) // strings only: cannot fail
	}
	return string(b)
}

// sameBody reports whether a and b differ only in their user, as the
// notifications of one publish to many users do.
func sameBody(a, b *belfry.Notification) bool {
	return a.Message == b.Message && a.Title == b.Title && a.Link == b.Link &&
		a.Category == b.Category && bytes.Equal(a.Data, b.Data) && a.Avatar == b.Avatar &&
		slices.Equal(a.Actions, b.Actions) && sameTime(a.ExpiresAt, b.ExpiresAt)
}

func sameTime(a, b *time.Time) bool {
	if a == nil || b == nil {
		return a == b
	}
	return a.Equal(*b)
}
