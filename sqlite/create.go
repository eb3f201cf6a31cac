package sqlite

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/belfry/belfry"
)

// Creates are applied a run of queued Create calls at a time: the last
// ids of the run's users not remembered (one statement per chunk of
// users), then the notifications as multi-row INSERTs, instead of two
// statements per notification. Each statement costs a trip through
// database/sql, the driver and the VDBE; batching the rows is what keeps
// the writer's CPU per create low.

// maxChunk bounds the rows of one multi-row statement. 256 rows of 11
// parameters are 2,816 bound parameters, far below SQLite's limit (32,766
// in modernc.org/sqlite, which is SQLite 3.54 with the default
// SQLITE_MAX_VARIABLE_NUMBER). A run of n rows is cut into powers of two
// (50 = 32 + 16 + 2), so at most log2(maxChunk)+1 statements of each kind
// are ever prepared, and each is prepared once and reused.
const maxChunk = 256

// chunk is the size of the next statement for n rows still to write: the
// largest power of two not above n, at most max.
func chunk(n, max int) int {
	k := 1
	for k*2 <= n && k*2 <= max {
		k *= 2
	}
	return k
}

// Rows that share their content (the rows of one call naming several
// users: same message, title, link, category and data) are written by a
// statement that binds the content once and two parameters per row, the
// user and the id, instead of eleven per row. Each bound string costs the
// driver a C allocation and a copy, and database/sql a conversion, so for
// 100 users per call this takes about a fifth off the writer's CPU per
// notification (docs/PERFORMANCE.md). Shorter runs go with the other rows.
const (
	minShared      = 8
	maxSharedChunk = 1024 // 9 + 2,048 parameters
)

const (
	// Most notifications have no avatar, actions or expiry: their rows
	// leave those columns to their defaults and bind 8 parameters, not 11.
	insertHead = `INSERT OR FAIL INTO notifications
		(user_id, id, message, title, link, category, data, created_at) VALUES `
	insertRow      = `(?, ?, ?, ?, ?, ?, ?, ?)`
	insertFullHead = `INSERT OR FAIL INTO notifications
		(user_id, id, message, title, link, category, data, created_at, avatar, actions, expires_at) VALUES `
	insertFullRow = `(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`
	// The content is ?1..?9; each "?" after it takes the next number.
	sharedHead = `INSERT OR FAIL INTO notifications
		(user_id, id, message, title, link, category, data, created_at, avatar, actions, expires_at)
		SELECT column1, column2, ?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9 FROM (VALUES `
	sharedRow  = `(?, ?)`
	sharedTail = `)`
	// The last id handed out to each of a run of users: the newest row's,
	// or the floor a deletion left (see the 0005 migration). VALUES names
	// its column column1; each lookup is one seek in an index.
	lastHead = `SELECT column1, max(
		coalesce((SELECT id FROM notifications WHERE user_id = column1 ORDER BY id DESC LIMIT 1), 0),
		coalesce((SELECT last_id FROM id_floors WHERE user_id = column1), 0)) FROM (VALUES `
	lastRow  = `(?)`
	lastTail = `)`
)

// chunkStmts holds the statements of one kind by row count, prepared on
// first use.
type chunkStmts struct {
	head, row, tail string
	bySize          map[int]*sql.Stmt
}

func (c *chunkStmts) get(ctx context.Context, conn *sql.Conn, rows int) (*sql.Stmt, error) {
	if st := c.bySize[rows]; st != nil {
		return st, nil
	}
	var b strings.Builder
	b.WriteString(c.head)
	for i := range rows {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(c.row)
	}
	b.WriteString(c.tail)
	st, err := conn.PrepareContext(ctx, b.String())
	if err != nil {
		return nil, err
	}
	if c.bySize == nil {
		c.bySize = map[int]*sql.Stmt{}
	}
	c.bySize[rows] = st
	return st, nil
}

func (c *chunkStmts) close() []error {
	var errs []error
	for _, st := range c.bySize {
		errs = append(errs, st.Close())
	}
	return errs
}

// userRun is one distinct user of a run of creates: how many
// notifications the run has for it, and the next id to hand out.
type userRun struct {
	id          string
	count, next int64
}

// create applies a run of Create calls inside the open transaction. Each
// user's last id is looked up once; the ids are then handed out walking
// the calls in queue order and each call's notifications in slice order,
// so a call's notifications for one user get consecutive ids, and ids
// stay contiguous per user and in commit order.
func (w *writer) create(ctx context.Context, rs []*request, now time.Time) error {
	if err := w.prepareRun(ctx, rs, now); err != nil {
		return err
	}
	clear(w.userIndex)
	w.users = w.users[:0]
	total := 0
	for _, r := range rs {
		if r.replayed || r.err != nil {
			continue
		}
		r.created = now
		total += len(r.live)
		for _, n := range r.live {
			i, ok := w.userIndex[n.UserID]
			if !ok {
				i = len(w.users)
				w.userIndex[n.UserID] = i
				w.users = append(w.users, userRun{id: n.UserID})
			}
			w.users[i].count++
		}
	}

	// The users whose last id is remembered need nothing from the
	// database; the others' last ids are read, a chunk of users per
	// statement. Nothing is written but the rows: the ids live in the
	// (user_id, id) index.
	if err := w.lastIDs.check(ctx); err != nil {
		return err
	}
	w.fresh = w.fresh[:0]
	for i := range w.users {
		u := &w.users[i]
		if last, ok := w.lastIDs.lookup(u.id); ok {
			u.next = last + 1
		} else {
			w.fresh = append(w.fresh, *u)
		}
	}
	for rest := w.fresh; len(rest) > 0; {
		k := chunk(len(rest), maxChunk)
		if err := w.readLastIDs(ctx, rest[:k]); err != nil {
			return err
		}
		rest = rest[k:]
	}
	for _, u := range w.users {
		w.lastIDs.set(u.id, u.next+u.count-1)
	}

	// One allocation for the ids of the whole run: the callers read their
	// share after the commit, so it is never reused.
	ids := make([]int64, total)
	created := now.UnixMilli()
	w.rows, w.fullRows = w.rows[:0], w.fullRows[:0]
	defer func() { clear(w.rows); clear(w.fullRows) }() // drop the references to the callers' notifications
	for _, r := range rs {
		if r.replayed || r.err != nil {
			continue
		}
		ns := r.live
		r.ids, ids = ids[:len(ns):len(ns)], ids[len(ns):]
		for j, n := range ns {
			u := &w.users[w.userIndex[n.UserID]]
			r.ids[j] = u.next
			u.next++
		}
		// Runs of shared content are written now, the rest together below.
		for j := 0; j < len(ns); {
			e := j + 1
			for e < len(ns) && sameContent(ns[j], ns[e]) {
				e++
			}
			if e-j >= minShared {
				if err := w.insertShared(ctx, ns[j:e], r.ids[j:e], created); err != nil {
					return err
				}
			} else {
				for i := j; i < e; i++ {
					if n := ns[i]; n.Avatar == "" && len(n.Actions) == 0 && n.ExpiresAt == nil {
						w.rows = append(w.rows, row{n, r.ids[i]})
					} else {
						w.fullRows = append(w.fullRows, row{n, r.ids[i]})
					}
				}
			}
			j = e
		}
	}

	if err := w.insertRows(ctx, w.rows, &w.inserts, created, false); err != nil {
		return err
	}
	if err := w.insertRows(ctx, w.fullRows, &w.fullInserts, created, true); err != nil {
		return err
	}
	if err := w.insertBatchJobs(ctx, rs, now); err != nil {
		return err
	}
	return w.recordKeys(ctx, rs, now)
}

// insertRows writes rows with multi-row INSERTs of stmts; full binds the
// avatar, actions and expiry too.
func (w *writer) insertRows(ctx context.Context, rows []row, stmts *chunkStmts, created int64, full bool) error {
	for rest := rows; len(rest) > 0; {
		k := chunk(len(rest), maxChunk)
		st, err := stmts.get(ctx, w.conn, k)
		if err != nil {
			return err
		}
		args := w.args[:0]
		for _, x := range rest[:k] {
			n := x.n
			args = append(args, n.UserID, x.id, n.Message, n.Title, n.Link, n.Category, dataArg(n), created)
			if full {
				args = append(args, n.Avatar, actionsArg(n), msArg(n.ExpiresAt))
			}
		}
		if err := w.exec(ctx, st, args); err != nil {
			return err
		}
		rest = rest[k:]
	}
	return nil
}

// insertShared writes notifications that share their content (see
// minShared), whose ids are ids.
func (w *writer) insertShared(ctx context.Context, ns []*belfry.Notification, ids []int64, created int64) error {
	n0 := ns[0]
	data, actions := dataArg(n0), actionsArg(n0)
	for len(ns) > 0 {
		k := chunk(len(ns), maxSharedChunk)
		st, err := w.shared.get(ctx, w.conn, k)
		if err != nil {
			return err
		}
		args := append(w.args[:0], n0.Message, n0.Title, n0.Link, n0.Category, data, created,
			n0.Avatar, actions, msArg(n0.ExpiresAt))
		for i, n := range ns[:k] {
			args = append(args, n.UserID, ids[i])
		}
		if err := w.exec(ctx, st, args); err != nil {
			return err
		}
		ns, ids = ns[k:], ids[k:]
	}
	return nil
}

// exec runs st with args, then clears args (they hold the callers'
// strings) and keeps the slice for the next statement.
func (w *writer) exec(ctx context.Context, st *sql.Stmt, args []any) error {
	_, err := st.ExecContext(ctx, args...)
	clear(args)
	w.args = args[:0]
	return err
}

// sameContent reports whether a and b differ at most in the user.
func sameContent(a, b *belfry.Notification) bool {
	return a.Message == b.Message && a.Title == b.Title && a.Link == b.Link &&
		a.Category == b.Category && bytes.Equal(a.Data, b.Data) && a.Avatar == b.Avatar &&
		slices.Equal(a.Actions, b.Actions) && sameMillis(a.ExpiresAt, b.ExpiresAt)
}

// sameMillis reports whether a and b are both nil or the same millisecond.
func sameMillis(a, b *time.Time) bool {
	if a == nil || b == nil {
		return a == nil && b == nil
	}
	return a.UnixMilli() == b.UnixMilli()
}

// actionsArg is n's actions as bound: a compact JSON array, or NULL when
// there are none.
func actionsArg(n *belfry.Notification) any {
	if len(n.Actions) == 0 {
		return nil
	}
	b, err := json.Marshal(n.Actions)
	if err != nil { // cannot happen: strings only
		panic(err)
	}
	return string(b)
}

// dataArg is n's data as bound: NULL when unset.
func dataArg(n *belfry.Notification) any {
	if len(n.Data) == 0 {
		return nil
	}
	return string(n.Data)
}

// row is one notification of a run with its assigned id.
type row struct {
	n  *belfry.Notification
	id int64
}

// readLastIDs reads the last id handed out to each of us and sets each
// user's next (in w.users) to the one after it.
func (w *writer) readLastIDs(ctx context.Context, us []userRun) error {
	st, err := w.lastOf.get(ctx, w.conn, len(us))
	if err != nil {
		return err
	}
	args := w.args[:0]
	for _, u := range us {
		args = append(args, u.id)
	}
	rows, err := st.QueryContext(ctx, args...)
	clear(args)
	w.args = args[:0]
	if err != nil {
		return err
	}
	defer rows.Close()
	got := 0
	for rows.Next() {
		var (
			user sql.RawBytes
			last int64
		)
		if err := rows.Scan(&user, &last); err != nil {
			return err
		}
		i, ok := w.userIndex[string(user)]
		if !ok {
			return fmt.Errorf("last id read for unknown user %q", user)
		}
		w.users[i].next = last + 1
		got++
	}
	if err := rows.Err(); err != nil {
		return err
	}
	if err := rows.Close(); err != nil {
		return err
	}
	if got != len(us) {
		return fmt.Errorf("read %d last ids for %d users", got, len(us))
	}
	return nil
}
