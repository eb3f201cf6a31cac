package postgres

import (
	"bytes"
	"context"
	"encoding/json"
	"slices"
	"time"

	"github.com/belfry/belfry"
	"github.com/jackc/pgx/v5"
)

// querier is what insertSQL runs on: the pool (a group commit, its own
// transaction) or the transaction of a Publish with an idempotency key.
type querier interface {
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
}

// insertSQL applies the preferences, bumps the counter of every user with
// a notification to store and inserts the notifications, in one statement
// (so one round trip, and under the pool an implicit transaction).
//
// Rows ($1 user, $2 index of the body, 1-based, $3 whether preferences
// apply) are numbered o in input order. A row is kept unless preferences
// apply and the user's switch for the category (else the user's default)
// has in_app off; the CASE looks a user's preferences up only then, with
// one probe of their primary key. back is how many kept rows of the same
// user follow the row: the user's last kept row gets the new last id, the
// one before it that id minus 1, and so on.
//
// Counters are locked in user order (COLLATE "C": byte order), by every
// statement on every node, so two batches sharing users wait for each
// other but never deadlock. A publish to 1,000 users sends its body once
// ($5–$12), and the server parses its data once (b is MATERIALIZED so the
// casts are not inlined into the per-row select).
//
// The result lists each user's new last id, then the o of every skipped
// row (user_id NULL).
const insertSQL = `
WITH b AS MATERIALIZED (
	SELECT bi, message, NULLIF(title, '') AS title, NULLIF(link, '') AS link,
		NULLIF(category, '') AS category, NULLIF(data, '')::json AS data,
		NULLIF(avatar, '') AS avatar, NULLIF(actions, '')::jsonb AS actions, expires_at
	FROM unnest($5::text[], $6::text[], $7::text[], $8::text[], $9::text[], $10::text[], $11::text[],
		$12::timestamptz[])
		WITH ORDINALITY AS x(message, title, link, category, data, avatar, actions, expires_at, bi)
), r AS MATERIALIZED (
	SELECT t.u, t.bi, t.o, COALESCE(CASE WHEN t.p THEN (
		SELECT COALESCE((pr.categories -> b.category ->> 'in_app')::boolean, pr.default_in_app)
		FROM belfry_preferences pr WHERE pr.user_id = t.u) END, true) AS keep
	FROM unnest($1::text[], $2::bigint[], $3::boolean[]) WITH ORDINALITY AS t(u, bi, p, o)
	JOIN b ON b.bi = t.bi
), k AS (
	SELECT u, bi, row_number() OVER (PARTITION BY u ORDER BY o DESC) - 1 AS back
	FROM r WHERE keep
), c AS (
	INSERT INTO belfry_counters AS cnt (user_id, last_id)
	SELECT u, count(*) FROM k GROUP BY u ORDER BY u COLLATE "C"
	ON CONFLICT (user_id) DO UPDATE SET last_id = cnt.last_id + excluded.last_id
	RETURNING user_id, last_id
), i AS (
	INSERT INTO belfry_notifications (user_id, id, message, title, link, category, data,
		avatar, actions, expires_at, created_at)
	SELECT k.u, c.last_id - k.back, b.message, b.title, b.link, b.category, b.data,
		b.avatar, b.actions, b.expires_at, $4
	FROM k
	JOIN c ON c.user_id = k.u
	JOIN b ON b.bi = k.bi
)
SELECT user_id, last_id FROM c
UNION ALL
SELECT NULL, o FROM r WHERE NOT keep`

// insertion is one run of insertSQL: its arguments, then its outcome.
type insertion struct {
	reqs  []*createReq
	users []string // per row
	now   time.Time
	args  []any

	last    map[string]int64 // user → new last id
	skipped map[int64]bool   // o of the skipped rows
}

// newInsertion prepares the arguments of insertSQL for the requests.
func newInsertion(reqs []*createReq, now time.Time) *insertion {
	rows := 0
	for _, r := range reqs {
		rows += len(r.ns)
	}
	in := &insertion{reqs: reqs, now: now, users: make([]string, 0, rows)}
	rowBody := make([]int64, 0, rows)
	rowPrefs := make([]bool, 0, rows)
	var msg, title, link, cat, data, avatar, actions []string
	var expires []*time.Time
	var prev *belfry.Notification
	for _, r := range reqs {
		for _, n := range r.ns {
			in.users = append(in.users, n.UserID)
			rowPrefs = append(rowPrefs, r.prefs)
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
	in.args = []any{in.users, rowBody, rowPrefs, now, msg, title, link, cat, data, avatar, actions, expires}
	return in
}

// run executes the statement on q. It may be called again (a retry).
func (in *insertion) run(ctx context.Context, q querier) error {
	in.last = make(map[string]int64)
	in.skipped = nil
	rows, err := q.Query(ctx, insertSQL, in.args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var u *string
		var v int64
		if err := rows.Scan(&u, &v); err != nil {
			return err
		}
		if u == nil {
			if in.skipped == nil {
				in.skipped = map[int64]bool{}
			}
			in.skipped[v] = true
		} else {
			in.last[*u] = v
		}
	}
	return rows.Err()
}

// assign returns the id of each row (in input order), 0 for a skipped
// one, once the statement has succeeded. It changes nothing: the caller
// sets them (set) once they are committed.
func (in *insertion) assign() ([]int64, error) {
	next := make(map[string]int64, len(in.last))
	for u, id := range in.last {
		next[u] = id
	}
	ids := make([]int64, len(in.users))
	for o := len(in.users); o >= 1; o-- {
		if in.skipped[int64(o)] {
			continue
		}
		u := in.users[o-1]
		id := next[u]
		if id <= 0 {
			return nil, belfry.Errorf(belfry.EINTERNAL, "postgres: no id assigned to user %q", u)
		}
		ids[o-1] = id
		next[u] = id - 1
	}
	for o := range in.skipped {
		if o < 1 || o > int64(len(in.users)) || !in.reqOf(o).prefs {
			return nil, belfry.Errorf(belfry.EINTERNAL, "postgres: row %d skipped", o)
		}
	}
	return ids, nil
}

// reqOf returns the request of row o (1-based).
func (in *insertion) reqOf(o int64) *createReq {
	for _, r := range in.reqs {
		if o <= int64(len(r.ns)) {
			return r
		}
		o -= int64(len(r.ns))
	}
	return nil
}

// set gives the notifications their ids (from assign) and CreatedAt, and
// each request its skip list.
func (in *insertion) set(ids []int64) {
	row := 0
	for _, r := range in.reqs {
		r.skip = nil
		if r.prefs {
			r.skip = make([]bool, len(r.ns))
		}
		for i, n := range r.ns {
			if ids[row] == 0 {
				r.skip[i] = true
			} else {
				n.ID, n.CreatedAt = ids[row], in.now
			}
			row++
		}
	}
}

// insert writes the notifications of a batch in one statement and, on
// success only, sets their IDs and CreatedAt.
func (s *Store) insert(batch []*createReq) error {
	in := newInsertion(batch, s.now())
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
	return nil
}

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
