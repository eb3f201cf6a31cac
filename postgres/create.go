package postgres

import (
	"bytes"
	"context"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	"github.com/belfry/belfry"
)

// createReq is one Create call waiting for a writer.
type createReq struct {
	ns    []*belfry.Notification
	state atomic.Int32 // reqQueued, then reqTaken (by a writer) or reqAbandoned (by the caller)
	done  chan error   // buffered: the writer never blocks on an answer
}

const (
	reqQueued = iota
	reqTaken
	reqAbandoned
)

// take claims r for a batch; it fails if the caller gave up first.
func (r *createReq) take() bool { return r.state.CompareAndSwap(reqQueued, reqTaken) }

// Create stores the notifications and assigns their ids and CreatedAt (see
// the package doc for why the ids are in commit order). Concurrent calls are
// committed together, in one statement, by a writer goroutine: the caller
// waits for the commit. If ctx ends before a writer took the call, nothing
// is written and Create returns EUNAVAILABLE; once taken, Create waits for
// the outcome, so an error always means nothing was written (except when
// the connection is lost during the commit itself, where PostgreSQL cannot
// tell the client the outcome either).
//
// Errors: EUNAVAILABLE; EINVALID for text with a NUL character, which
// PostgreSQL cannot store.
func (s *Store) Create(ctx context.Context, ns []*belfry.Notification) error {
	if len(ns) == 0 {
		return nil
	}
	for _, n := range ns {
		if hasNUL(n) {
			return belfry.Errorf(belfry.EINVALID, "text must not contain NUL characters")
		}
	}
	if err := ctx.Err(); err != nil {
		return belfry.Unavailable("postgres", err)
	}
	s.mu.RLock()
	if s.closed {
		s.mu.RUnlock()
		return belfry.Unavailable("postgres", errClosed)
	}
	s.pending.Add(1)
	s.mu.RUnlock()
	defer s.pending.Done()

	r := &createReq{ns: ns, done: make(chan error, 1)}
	select {
	case s.reqs <- r:
	case <-ctx.Done():
		return belfry.Unavailable("postgres", ctx.Err())
	}
	select {
	case err := <-r.done:
		return err
	case <-ctx.Done():
		if r.state.CompareAndSwap(reqQueued, reqAbandoned) {
			return belfry.Unavailable("postgres", ctx.Err())
		}
		return <-r.done
	}
}

func hasNUL(n *belfry.Notification) bool {
	return strings.IndexByte(n.UserID, 0) >= 0 || strings.IndexByte(n.Message, 0) >= 0 ||
		strings.IndexByte(n.Title, 0) >= 0 || strings.IndexByte(n.Link, 0) >= 0 ||
		strings.IndexByte(n.Category, 0) >= 0
}

// writer forms batches from the Create calls waiting and commits them, one
// at a time, until Close. It does not wait for more calls to arrive: calls
// that come while a batch commits make the next batch, so batches grow with
// the load and a lone call is committed at once.
func (s *Store) writer() {
	var carry *createReq // taken, but did not fit in the previous batch
	for {
		var first *createReq
		if carry != nil {
			first, carry = carry, nil
		} else {
			select {
			case first = <-s.reqs:
			case <-s.quit:
				return
			}
			if !first.take() {
				continue
			}
		}
		batch, rows := []*createReq{first}, len(first.ns)
	fill:
		for rows < s.maxBatch {
			select {
			case r := <-s.reqs:
				if !r.take() {
					continue
				}
				if rows+len(r.ns) > s.maxBatch {
					carry = r
					break fill
				}
				batch, rows = append(batch, r), rows+len(r.ns)
			default:
				break fill
			}
		}
		s.commit(batch)
	}
}

// commit writes a batch and answers its callers. If the database refuses
// the batch for a reason other than being unavailable, each call is tried
// alone, so that one call's bad data does not fail the others.
func (s *Store) commit(batch []*createReq) {
	err := s.insert(batch)
	if err != nil && len(batch) > 1 && belfry.ErrorCode(err) != belfry.EUNAVAILABLE {
		for _, r := range batch {
			r.done <- s.insert([]*createReq{r})
		}
		return
	}
	for _, r := range batch {
		r.done <- err
	}
}

// createSQL bumps the counter of every user in the batch and inserts the
// notifications, in one statement (so one round trip and an implicit
// transaction). Counters are locked in the order of $1, which the caller
// sorts: every writer on every node locks in the same order, so two batches
// sharing users wait for each other but never deadlock. Each notification
// row carries its user, its distance from the user's new last id ($4: the
// user's last notification in the batch is 0) and the index of its body
// ($5, 1-based): a publish to 1,000 users sends the message once, and the
// server parses its data once (b is MATERIALIZED so that the cast to json
// is not inlined into the per-row select).
const createSQL = `
WITH c AS (
	INSERT INTO belfry_counters AS k (user_id, last_id)
	SELECT u, n FROM unnest($1::text[], $2::bigint[]) WITH ORDINALITY AS t(u, n, o)
	ORDER BY o
	ON CONFLICT (user_id) DO UPDATE SET last_id = k.last_id + excluded.last_id
	RETURNING user_id, last_id
), b AS MATERIALIZED (
	SELECT bi, message, NULLIF(title, '') AS title, NULLIF(link, '') AS link,
		NULLIF(category, '') AS category, NULLIF(data, '')::json AS data
	FROM unnest($6::text[], $7::text[], $8::text[], $9::text[], $10::text[])
		WITH ORDINALITY AS x(message, title, link, category, data, bi)
), i AS (
	INSERT INTO belfry_notifications (user_id, id, message, title, link, category, data, created_at)
	SELECT r.u, c.last_id - r.back, b.message, b.title, b.link, b.category, b.data, $11
	FROM unnest($3::text[], $4::bigint[], $5::bigint[]) AS r(u, back, bi)
	JOIN c ON c.user_id = r.u
	JOIN b ON b.bi = r.bi
)
SELECT user_id, last_id FROM c`

// insert writes the notifications of the batch in one statement and, on
// success only, sets their IDs and CreatedAt.
func (s *Store) insert(batch []*createReq) error {
	count := map[string]int64{}
	rows := 0
	for _, r := range batch {
		for _, n := range r.ns {
			count[n.UserID]++
			rows++
		}
	}
	users := make([]string, 0, len(count))
	for u := range count {
		users = append(users, u)
	}
	slices.Sort(users)
	counts := make([]int64, len(users))
	for i, u := range users {
		counts[i] = count[u]
	}

	rowUser := make([]string, 0, rows)
	rowBack := make([]int64, 0, rows)
	rowBody := make([]int64, 0, rows)
	var msg, title, link, cat, data []string
	var prev *belfry.Notification
	for _, r := range batch {
		for _, n := range r.ns {
			count[n.UserID]--
			rowUser = append(rowUser, n.UserID)
			rowBack = append(rowBack, count[n.UserID])
			if prev == nil || !sameBody(prev, n) {
				msg = append(msg, n.Message)
				title = append(title, n.Title)
				link = append(link, n.Link)
				cat = append(cat, n.Category)
				data = append(data, string(n.Data))
				prev = n
			}
			rowBody = append(rowBody, int64(len(msg)))
		}
	}
	now := belfry.Now(time.Now())

	ctx, cancel := context.WithTimeout(context.Background(), s.writeTimeout)
	defer cancel()
	last := make(map[string]int64, len(users))
	err := s.do(ctx, false, func() error {
		clear(last)
		res, err := s.pool.Query(ctx, createSQL, users, counts, rowUser, rowBack, rowBody,
			msg, title, link, cat, data, now)
		if err != nil {
			return err
		}
		defer res.Close()
		for res.Next() {
			var u string
			var id int64
			if err := res.Scan(&u, &id); err != nil {
				return err
			}
			last[u] = id
		}
		return res.Err()
	})
	if err != nil {
		return classify("postgres", err)
	}
	if len(last) != len(users) {
		return belfry.Errorf(belfry.EINTERNAL, "postgres: %d counters updated for %d users", len(last), len(users))
	}
	i := 0
	for _, r := range batch {
		for _, n := range r.ns {
			n.ID = last[n.UserID] - rowBack[i]
			n.CreatedAt = now
			i++
		}
	}
	return nil
}

// sameBody reports whether a and b differ only in their user, as the
// notifications of one publish to many users do.
func sameBody(a, b *belfry.Notification) bool {
	return a.Message == b.Message && a.Title == b.Title && a.Link == b.Link &&
		a.Category == b.Category && bytes.Equal(a.Data, b.Data)
}
