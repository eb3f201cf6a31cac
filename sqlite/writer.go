package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"runtime"
	"time"

	"github.com/belfry/belfry"
)

// The writer is the only goroutine that writes. SQLite allows one writer
// at a time; funnelling every write of this process through one connection
// means no SQLITE_BUSY between our own connections, and lets a burst of
// concurrent calls share one transaction and one fsync (group commit).
//
// Other processes on the same file are serialized by BEGIN IMMEDIATE and
// busy_timeout; ids stay correct because they come from user_counters
// inside the transaction, never from memory.

type op int

const (
	opCreate op = iota
	opSetRead
	opReadAll
	opDelete
)

// request is one write call waiting for the writer. The caller fills the
// inputs, the writer the results, then closes done.
type request struct {
	ctx  context.Context // only checked before the work starts
	op   op
	ns   []*belfry.Notification // opCreate
	user string
	id   int64      // opSetRead, opDelete; upTo for opReadAll
	at   *time.Time // opSetRead (nil: unread), opReadAll

	ids     []int64              // opCreate: the assigned ids, in ns order
	created time.Time            // opCreate
	n       *belfry.Notification // opSetRead
	count   int                  // opReadAll
	err     error
	done    chan struct{}
}

// weight is what the request counts against Config.MaxBatch.
func (r *request) weight() int {
	if r.op == opCreate {
		return len(r.ns)
	}
	return 1
}

// writer holds the write connection and its prepared statements.
type writer struct {
	conn *sql.Conn
	now  func() time.Time

	get, read, unread, readAll, del, adjust *sql.Stmt
	inserts, shared, upserts, bumps         chunkStmts // by row count
	lastIDs                                 *lastIDs

	written int // notifications and state changes since the last idle checkpoint

	// Scratch space of create, reused from run to run.
	users     []userRun
	userIndex map[string]int // user id → index in users
	known     []userRun      // users whose last id is remembered
	fresh     []userRun      // the others
	rows      []row
	args      []any
}

func newWriter(ctx context.Context, conn *sql.Conn, now func() time.Time) (*writer, error) {
	w := &writer{conn: conn, now: now, userIndex: map[string]int{},
		inserts: chunkStmts{head: insertHead, row: insertRow},
		shared:  chunkStmts{head: sharedHead, row: sharedRow, tail: sharedTail},
		upserts: chunkStmts{head: upsertHead, row: upsertRow, tail: upsertTail + returning},
		bumps:   chunkStmts{head: upsertHead, row: upsertRow, tail: upsertTail}}
	var err error
	if w.lastIDs, err = newLastIDs(ctx, conn); err != nil {
		return nil, err
	}
	for _, p := range []struct {
		dst **sql.Stmt
		sql string
	}{
		{&w.get, `SELECT ` + columns + ` FROM notifications WHERE user_id = ? AND id = ?`},
		{&w.read, `UPDATE notifications SET read_at = ?3
			WHERE user_id = ?1 AND id = ?2 AND read_at IS NULL`},
		{&w.unread, `UPDATE notifications SET read_at = NULL
			WHERE user_id = ?1 AND id = ?2 AND read_at IS NOT NULL`},
		// Through the unread index: the work is the unread rows, not
		// every row the user ever had.
		{&w.readAll, `UPDATE notifications INDEXED BY notifications_unread SET read_at = ?3
			WHERE user_id = ?1 AND id <= ?2 AND read_at IS NULL`},
		{&w.del, `DELETE FROM notifications WHERE user_id = ? AND id = ? RETURNING read_at IS NULL`},
		{&w.adjust, `UPDATE user_counters SET unread = unread + ?2 WHERE user_id = ?1`},
	} {
		st, err := conn.PrepareContext(ctx, p.sql)
		if err != nil {
			w.close()
			return nil, err
		}
		*p.dst = st
	}
	return w, nil
}

// close releases the statements and the connection.
func (w *writer) close() error {
	var errs []error
	for _, st := range []*sql.Stmt{w.get, w.read, w.unread, w.readAll, w.del, w.adjust} {
		if st != nil {
			errs = append(errs, st.Close())
		}
	}
	errs = append(errs, w.inserts.close()...)
	errs = append(errs, w.shared.close()...)
	errs = append(errs, w.upserts.close()...)
	errs = append(errs, w.bumps.close()...)
	if w.lastIDs != nil {
		errs = append(errs, w.lastIDs.close())
	}
	return errors.Join(append(errs, w.conn.Close())...)
}

// submit queues r for the writer and waits for its answer. If ctx ends
// first the call returns EUNAVAILABLE, and the write may or may not have
// been committed (as with any database whose answer is lost).
func (s *Store) submit(ctx context.Context, r *request) error {
	r.ctx = ctx
	r.done = make(chan struct{})
	s.mu.RLock()
	if s.closed {
		s.mu.RUnlock()
		return belfry.Unavailable("sqlite store", errClosed)
	}
	select {
	case s.queue <- r:
		s.mu.RUnlock()
	case <-ctx.Done():
		s.mu.RUnlock()
		return belfry.Unavailable("sqlite store", ctx.Err())
	}
	select {
	case <-r.done:
		// The caller's notifications are written here, in its own
		// goroutine, never by the writer: a caller that gave up waiting
		// does not have them changed behind its back.
		if r.err == nil && r.op == opCreate {
			for i, n := range r.ns {
				n.ID, n.CreatedAt, n.ReadAt = r.ids[i], r.created, nil
			}
		}
		return r.err
	case <-ctx.Done():
		return belfry.Unavailable("sqlite store", ctx.Err())
	}
}

// run is the writer goroutine: it takes the first waiting request, then
// everything else already queued up to MaxBatch, and commits them together.
// It returns once Close has closed the queue and the queue is drained.
func (s *Store) run() {
	defer close(s.done)
	batch := make([]*request, 0, 64)
	hold := newCommitHold(s.cfg.CommitInterval)
	for r := range s.queue {
		batch = append(batch[:0], r)
		size := r.weight()
		// When the queue looks empty, yield twice before committing: the
		// callers answered by the last commit are runnable and about to
		// send again, and letting them run first doubles the batch size
		// under load. An idle store loses only a trip through the
		// scheduler.
		yields := 0
	fill:
		for size < s.cfg.MaxBatch {
			select {
			case r, ok := <-s.queue:
				if !ok {
					break fill
				}
				batch = append(batch, r)
				size += r.weight()
				yields = 0
				continue
			default:
			}
			if yields < 2 {
				yields++
				runtime.Gosched()
				continue
			}
			// The queue is empty. Commit now, unless callers are
			// concurrent and the last commit began less than the
			// interval ago: then wait for more until it has passed.
			r, ok := hold.wait(s.queue, len(batch))
			if !ok {
				break fill
			}
			batch = append(batch, r)
			size += r.weight()
		}
		hold.started(len(batch))
		s.writer.commit(batch)
		for i := range batch {
			batch[i] = nil
		}
		// The callers are answered; if nobody is waiting, copy the WAL
		// back into the database now rather than in a later COMMIT.
		if len(s.queue) == 0 {
			s.writer.idleCheckpoint()
		}
	}
}

// commit applies the batch in one transaction and answers every request.
// A request that fails with a database error is answered with it and the
// transaction is redone without it, so one bad call cannot fail others.
// Consecutive Creates are applied together (see create); when such a group
// fails, the transaction is redone one request at a time to find the
// request to blame.
func (w *writer) commit(batch []*request) {
	live := batch[:0:0]
	for _, r := range batch {
		if err := r.ctx.Err(); err != nil {
			r.err = belfry.Unavailable("sqlite store", err)
			close(r.done)
			continue
		}
		live = append(live, r)
	}
	bg := context.Background()
	grouped := true
	for len(live) > 0 {
		now := belfry.Now(w.now())
		if _, err := w.conn.ExecContext(bg, "BEGIN IMMEDIATE"); err != nil {
			w.fail(live, err)
			return
		}
		w.lastIDs.begin()
		if failed, err := w.applyAll(bg, live, now, grouped); err != nil {
			w.rollback()
			w.lastIDs.rolledBack()
			if failed < 0 {
				grouped = false // redo one by one to find the culprit
				continue
			}
			live[failed].err = belfry.Unavailable("sqlite store", err)
			close(live[failed].done)
			live = append(live[:failed:failed], live[failed+1:]...)
			grouped = true
			continue
		}
		if _, err := w.conn.ExecContext(bg, "COMMIT"); err != nil {
			w.rollback()
			w.lastIDs.rolledBack()
			w.fail(live, err)
			return
		}
		for _, r := range live {
			w.written += r.weight()
			close(r.done)
		}
		return
	}
}

// applyAll applies rs in queue order inside the open transaction; with
// grouped, each run of consecutive Creates as one group. On a database
// error it returns the index of the request that failed, or -1 when it
// was a group of several.
func (w *writer) applyAll(ctx context.Context, rs []*request, now time.Time, grouped bool) (int, error) {
	for i := 0; i < len(rs); {
		j := i + 1
		var err error
		if rs[i].op == opCreate {
			for grouped && j < len(rs) && rs[j].op == opCreate {
				j++
			}
			err = w.create(ctx, rs[i:j], now)
		} else {
			err = w.apply(ctx, rs[i])
		}
		if err != nil {
			if j-i > 1 {
				return -1, err
			}
			return i, err
		}
		i = j
	}
	return 0, nil
}

// idleCheckpoint runs a PASSIVE checkpoint once enough has been written
// since the last one. It is called when no caller is waiting, so the copy
// and its fsync are not paid inside a caller's commit; the connection's
// wal_autocheckpoint stays as the backstop under sustained load. A failure
// (another process holding the checkpoint lock) is left to the next one.
func (w *writer) idleCheckpoint() {
	if w.written < idleCheckpointWrites {
		return
	}
	w.written = 0
	w.conn.ExecContext(context.Background(), "PRAGMA wal_checkpoint(PASSIVE)")
}

func (w *writer) rollback() {
	// Fails harmlessly when SQLite already rolled back on its own.
	w.conn.ExecContext(context.Background(), "ROLLBACK")
}

func (w *writer) fail(rs []*request, err error) {
	for _, r := range rs {
		r.err = belfry.Unavailable("sqlite store", err)
		close(r.done)
	}
}

// apply runs one state change (SetRead, ReadAll or Delete) inside the open
// transaction. A not-found result
// is an answer (r.err), not a failure; the returned error is a database
// error that aborts the transaction.
func (w *writer) apply(ctx context.Context, r *request) error {
	r.err, r.n, r.count, r.ids = nil, nil, 0, r.ids[:0]
	switch r.op {
	case opSetRead:
		st, delta, args := w.unread, int64(1), []any{r.user, r.id}
		if r.at != nil {
			st, delta, args = w.read, -1, append(args, r.at.UnixMilli())
		}
		res, err := st.ExecContext(ctx, args...)
		if err != nil {
			return err
		}
		if changed, err := res.RowsAffected(); err != nil {
			return err
		} else if changed > 0 {
			if err := w.addUnread(ctx, r.user, delta); err != nil {
				return err
			}
		}
		rows, err := w.get.QueryContext(ctx, r.user, r.id)
		if err != nil {
			return err
		}
		defer rows.Close()
		if rows.Next() {
			if r.n, err = scan(rows); err != nil {
				return err
			}
		}
		if err := rows.Close(); err != nil {
			return err
		}
		if r.n == nil {
			r.err = belfry.Errorf(belfry.ENOTFOUND, "notification not found")
		}
		return nil
	case opReadAll:
		res, err := w.readAll.ExecContext(ctx, r.user, r.id, r.at.UnixMilli())
		if err != nil {
			return err
		}
		changed, err := res.RowsAffected()
		if err != nil {
			return err
		}
		r.count = int(changed)
		if changed > 0 {
			return w.addUnread(ctx, r.user, -changed)
		}
		return nil
	case opDelete:
		var wasUnread bool
		err := w.del.QueryRowContext(ctx, r.user, r.id).Scan(&wasUnread)
		if errors.Is(err, sql.ErrNoRows) {
			r.err = belfry.Errorf(belfry.ENOTFOUND, "notification not found")
			return nil
		}
		if err != nil || !wasUnread {
			return err
		}
		return w.addUnread(ctx, r.user, -1)
	}
	return errors.New("sqlite store: unknown write")
}

// addUnread changes the user's unread count by delta.
func (w *writer) addUnread(ctx context.Context, user string, delta int64) error {
	_, err := w.adjust.ExecContext(ctx, user, delta)
	return err
}

// idleCheckpointWrites is how many writes (notifications and state
// changes) must have been committed before an idle writer checkpoints.
const idleCheckpointWrites = 1000
