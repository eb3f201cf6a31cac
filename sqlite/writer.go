package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
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
// busy_timeout; ids stay correct because they are read inside the
// transaction (the newest row's id, or id_floors), or remembered only
// while no other connection has committed (lastids.go).

type op int

const (
	opCreate op = iota // Create and Publish
	opSetRead
	opReadAll
	opSeeAll
	opSetArchived
	opArchiveAll
	opAct
	opDelete
	opSetPrefs
	opPurge
	opEnqueue // the outbox and the subscriptions (outbox.go, subscriptions.go)
	opClaim
	opSettle
	opRevive
	opSubscribe
	opUnsubscribe
)

// request is one write call waiting for the writer. The caller fills the
// inputs, the writer the results, then closes done.
type request struct {
	ctx context.Context // only checked before the work starts
	op  op
	ns  []*belfry.Notification // opCreate
	// opCreate from Publish: apply preferences, and key (a copy of the
	// batch's, read by the writer) if set. batch itself is only touched
	// in the caller's goroutine.
	publish bool
	key     *belfry.IdempotencyKey
	batch   *belfry.Batch
	user    string
	id      int64                    // the notification; upTo for opReadAll, opSeeAll, opArchiveAll
	at      *time.Time               // the time of the change (nil: undo, for opSetRead and opSetArchived)
	filter  belfry.Filter            // opReadAll, opArchiveAll
	action  string                   // opAct
	patch   *belfry.PreferencesPatch // opSetPrefs
	purge   *purgeJob                // opPurge
	// The outbox and subscription ops; on an opCreate from a Publish
	// with Batch.Jobs, the jobs (nil otherwise: a batch without jobs
	// costs nothing more).
	ob *outboxReq

	// opCreate: live are the notifications to store (ns less those
	// skipped), ids their ids; skipped the users left out, replayed
	// whether live and ids come from an idempotency record.
	live     []*belfry.Notification
	ids      []int64
	skipped  []string
	replayed bool
	created  time.Time // opCreate

	n       *belfry.Notification // single-notification changes
	count   int                  // bulk changes
	prefs   belfry.Preferences   // opSetPrefs
	removed []belfry.Removed     // opPurge
	err     error
	done    chan struct{}
}

// weight is what the request counts against Config.MaxBatch.
func (r *request) weight() int {
	switch r.op {
	case opCreate:
		if r.ob != nil {
			return len(r.ns) + len(r.ob.jobs)
		}
		return len(r.ns)
	case opPurge:
		return r.purge.q.Limit
	case opEnqueue:
		return len(r.ob.jobs)
	case opClaim:
		return r.ob.limit
	}
	return 1
}

// writer holds the write connection and its prepared statements.
type writer struct {
	conn *sql.Conn
	now  func() time.Time

	begin, commitStmt                                                                   *sql.Stmt
	get, read, unread, readAll, seeAll, archive, unarchive, archiveAll, act, del, floor *sql.Stmt
	getKey, putKey, anyOff, getPrefs, putPrefs, delPrefs                                *sql.Stmt
	purgeExpired, purgeDone, purgeOne, purgeOldest, count, purgeKeys                    *sql.Stmt
	insertJobStmt, claimJobs, jobDone, jobRetry, jobFail, revive, purgeJobs             *sql.Stmt
	countSubs, putSub, delSub, subscribed                                               *sql.Stmt
	inserts, fullInserts, shared, lastOf, offPrefs                                      chunkStmts // by row count
	lastIDs                                                                             *lastIDs

	written     int   // notifications and state changes since the last idle checkpoint
	countBudget int64 // purgeCountBudget; lowered by a test

	// Scratch space of create, reused from run to run.
	users     []userRun
	userIndex map[string]int // user id → index in users
	fresh     []userRun      // users whose last id is not remembered
	rows      []row          // without avatar, actions or expiry
	fullRows  []row
	args      []any
}

func newWriter(ctx context.Context, conn *sql.Conn, now func() time.Time) (*writer, error) {
	w := &writer{conn: conn, now: now, userIndex: map[string]int{}, countBudget: purgeCountBudget,
		inserts:     chunkStmts{head: insertHead, row: insertRow},
		fullInserts: chunkStmts{head: insertFullHead, row: insertFullRow},
		shared:      chunkStmts{head: sharedHead, row: sharedRow, tail: sharedTail},
		lastOf:      chunkStmts{head: lastHead, row: lastRow, tail: lastTail},
		offPrefs:    chunkStmts{head: offPrefsHead, row: "?", tail: ")"}}
	var err error
	if w.lastIDs, err = newLastIDs(ctx, conn); err != nil {
		return nil, err
	}
	for _, p := range w.statements() {
		st, err := conn.PrepareContext(ctx, p.sql)
		if err != nil {
			w.close()
			return nil, fmt.Errorf("%w in %s", err, p.sql)
		}
		*p.dst = st
	}
	return w, nil
}

// close releases the statements and the connection.
func (w *writer) close() error {
	var errs []error
	for _, p := range w.statements() {
		if *p.dst != nil {
			errs = append(errs, (*p.dst).Close())
		}
	}
	for _, c := range []*chunkStmts{&w.inserts, &w.fullInserts, &w.shared, &w.lastOf, &w.offPrefs} {
		errs = append(errs, c.close()...)
	}
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
			r.answerCreate()
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
		if _, err := w.begin.ExecContext(bg); err != nil {
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
		if _, err := w.commitStmt.ExecContext(bg); err != nil {
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
			for grouped && j < len(rs) && rs[j].op == opCreate && !sameKeyIn(rs[i:j], rs[j]) {
				j++
			}
			err = w.create(ctx, rs[i:j], now)
		} else {
			err = w.apply(ctx, rs[i], now)
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

// idleCheckpointWrites is how many writes (notifications and state
// changes) must have been committed before an idle writer checkpoints.
const idleCheckpointWrites = 1000

// sameKeyIn reports whether r has the idempotency key of one of rs. A run
// of creates never holds two calls with one key: the second must see the
// first's record, which is written once the run's ids are handed out.
func sameKeyIn(rs []*request, r *request) bool {
	name := keyName(r)
	if name == "" {
		return false
	}
	for _, x := range rs {
		if keyName(x) == name {
			return true
		}
	}
	return false
}
