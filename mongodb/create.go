package mongodb

import (
	"context"
	"hash/maphash"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/belfry/belfry"
)

// createReq is one Create call. Its notifications are split into parts,
// one per writer that owns some of its users; the call is answered when
// every part is.
type createReq struct {
	ctx  context.Context
	done chan struct{} // closed when left reaches 0
	// at is the call's created_at: the time it was accepted, the same for
	// all its notifications, whichever writer or batch inserts them.
	at time.Time
	// tags holds the idempotency tag of each notification of an
	// idempotent Publish (nil for Create). A tagged notification whose
	// tag is already stored is dropped by the writer, not inserted again,
	// and keeps ID 0.
	tags map[*belfry.Notification]slot
	// recheck: the call takes over an idempotent publish, so some of its
	// tags may be stored already; the writer looks them up before every
	// insert (otherwise only after a collision).
	recheck bool

	mu    sync.Mutex
	parts []*part
	left  int   // parts not yet answered
	err   error // the first part's error
}

// part is the notifications of one Create call that belong to one writer.
type part struct {
	req      *createReq
	ns       []*belfry.Notification
	state    atomic.Int32 // partQueued, then partTaken (by a writer) or partAbandoned (by the caller)
	deadline time.Time    // give up retrying after this
	retryAt  time.Time    // while deferred: not before this
	tries    int
	lastErr  error // why it was last deferred
}

const (
	partQueued = iota
	partTaken
	partAbandoned
)

// answer records the outcome of p and wakes the caller after the last part.
func (r *createReq) answer(err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if err != nil && r.err == nil {
		r.err = err
	}
	r.left--
	if r.left == 0 {
		close(r.done)
	}
}

// split moves ns out of p into a new part of the same call, taken by the
// writer that calls it.
func (r *createReq) split(p *part, ns []*belfry.Notification) *part {
	np := &part{req: r, ns: ns, deadline: p.deadline, tries: p.tries}
	np.state.Store(partTaken)
	r.mu.Lock()
	r.parts = append(r.parts, np)
	r.left++
	r.mu.Unlock()
	return np
}

// Create stores the notifications and assigns their ids and CreatedAt (see
// the package doc for how the ids stay in commit order without
// transactions). CreatedAt is the time the call was accepted, the same for
// every notification of the call (so a user's created_at may be a few
// milliseconds out of id order when calls wait for a busy user). Concurrent calls are inserted together by writer
// goroutines, each owning a share of the users: the caller waits for its
// notifications to be inserted.
//
// What is guaranteed: each notification is stored at most once, durably
// once Create returns nil; the notifications of one user in one call get
// consecutive ids and are inserted by one ordered insertMany (unless a
// writer stalled past Config.LeaseTimeout and lost its lease; see the
// package doc). If ctx ends
// before a writer took the call, nothing is written. Without transactions
// a call for several users, or an insert the server fails midway, can
// leave only some stored: Create then returns EUNAVAILABLE, and exactly the
// notifications that are stored have their ID and CreatedAt set (ID 0 means
// not stored, except after the server failed while acknowledging an
// insert; then the error says so). A publisher that retries should resend
// only those with ID 0.
//
// Errors: EUNAVAILABLE; EINVALID for a document the server refuses (too
// large, a bad value), which is not retried.
func (s *Store) Create(ctx context.Context, ns []*belfry.Notification) error {
	return s.create(ctx, ns, nil, false)
}

// create is Create with idempotency tags (see createReq).
func (s *Store) create(ctx context.Context, ns []*belfry.Notification, tags map[*belfry.Notification]slot, recheck bool) error {
	if len(ns) == 0 {
		return nil
	}
	if err := ctx.Err(); err != nil {
		return belfry.Unavailable("mongodb", err)
	}
	s.mu.RLock()
	if s.closed {
		s.mu.RUnlock()
		return belfry.Unavailable("mongodb", errClosed)
	}
	s.pending.Add(1)
	s.mu.RUnlock()
	defer s.pending.Done()

	r := &createReq{ctx: ctx, done: make(chan struct{}), tags: tags, recheck: recheck, at: belfry.Now(s.now())}
	deadline := time.Now().Add(s.writeTimeout)
	byShard := make([][]*belfry.Notification, len(s.shards))
	for _, n := range ns {
		i := s.shard(n.UserID)
		byShard[i] = append(byShard[i], n)
	}
	shardOf := map[*part]int{}
	for i, sns := range byShard {
		if len(sns) > 0 {
			p := &part{req: r, ns: sns, deadline: deadline}
			r.parts = append(r.parts, p)
			shardOf[p] = i
		}
	}
	r.left = len(r.parts)
	parts := slices.Clone(r.parts)
	for k, p := range parts {
		select {
		case s.shards[shardOf[p]] <- p:
			continue
		case <-ctx.Done():
		}
		for _, q := range parts[k:] {
			q.state.Store(partAbandoned)
			r.answer(belfry.Unavailable("mongodb", ctx.Err()))
		}
		break
	}
	select {
	case <-r.done:
	case <-ctx.Done():
		r.mu.Lock()
		parts := slices.Clone(r.parts)
		r.mu.Unlock()
		for _, p := range parts {
			if p.state.CompareAndSwap(partQueued, partAbandoned) {
				r.answer(belfry.Unavailable("mongodb", ctx.Err()))
			}
		}
		// Parts a writer took end within the write timeout.
		<-r.done
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.err
}

func (s *Store) shard(user string) int {
	if len(s.shards) == 1 {
		return 0
	}
	return int(maphash.String(s.seed, user) % uint64(len(s.shards)))
}

// writer forms batches from the parts sent to ch and from its own deferred
// parts (users another node was writing, transient errors) and inserts
// them, one batch at a time, until Close. It does not wait for company: a
// lone call is inserted at once, and calls arriving meanwhile form the next
// batch, so batches grow with the load.
func (s *Store) writer(ch chan *part) {
	var deferred []*part
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	for {
		var batch []*part
		rows := 0
		add := func(p *part) {
			if rows > 0 && rows+len(p.ns) > s.maxBatch {
				p.retryAt = time.Time{} // next batch, first in line
				p.state.Store(partQueued)
				deferred = append(deferred, p)
				return
			}
			batch = append(batch, p)
			rows += len(p.ns)
		}
		take := func(p *part) {
			if p.state.CompareAndSwap(partQueued, partTaken) {
				add(p)
			}
		}

		if len(deferred) == 0 {
			select {
			case p := <-ch:
				take(p)
			case <-s.quit:
				return
			}
		} else {
			next := deferred[0].retryAt
			for _, p := range deferred[1:] {
				if p.retryAt.Before(next) {
					next = p.retryAt
				}
			}
			timer.Reset(time.Until(next))
			select {
			case p := <-ch:
				take(p)
			case <-timer.C:
			case <-s.quit:
				return
			}
			timer.Stop()
		}

		now := time.Now()
		waiting := deferred
		deferred = nil
		for _, p := range waiting {
			switch {
			case p.retryAt.After(now):
				deferred = append(deferred, p)
			case !p.state.CompareAndSwap(partQueued, partTaken):
				// abandoned by its caller
			case p.req.ctx.Err() != nil:
				p.req.answer(belfry.Unavailable("mongodb", p.req.ctx.Err()))
			case now.After(p.deadline):
				err := p.lastErr
				if err == nil {
					err = errLeaseBusy
				}
				p.req.answer(belfry.Unavailable("mongodb", err))
			default:
				add(p)
			}
		}
	fill:
		for rows < s.maxBatch {
			select {
			case p := <-ch:
				take(p)
			default:
				break fill
			}
		}
		if len(batch) > 0 {
			for _, p := range s.commit(batch) {
				p.tries++
				backoff := min(time.Millisecond<<min(p.tries, 6), 50*time.Millisecond)
				p.retryAt = time.Now().Add(backoff)
				p.state.Store(partQueued)
				deferred = append(deferred, p)
			}
		}
	}
}
