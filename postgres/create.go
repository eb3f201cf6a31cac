package postgres

import (
	"cmp"
	"context"
	"strings"
	"sync/atomic"

	"github.com/belfry/belfry"
)

// createReq is one Create or Publish call waiting for a writer.
type createReq struct {
	ns    []*belfry.Notification
	prefs bool                   // apply the users' preferences (Publish)
	key   *belfry.IdempotencyKey // Publish with an idempotency key
	jobs  []belfry.Job           // Publish: Batch.Jobs, checked (see checkBatchJobs)

	// Out, on success: skip[i] when ns[i] was not stored because its user
	// turned it off (prefs only); or, when the key was live, nothing was
	// stored and rec is the record of the call that claimed it.
	skip []bool
	rec  *keyRecord
	err  error // this call's own failure, when the batch succeeded

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
	if err := checkNUL(ns); err != nil {
		return err
	}
	_, err := s.enqueue(ctx, &createReq{ns: ns})
	return err
}

// enqueue hands the call to a writer and waits for the outcome. It
// returns r, answered, on success.
func (s *Store) enqueue(ctx context.Context, r *createReq) (*createReq, error) {
	if err := ctx.Err(); err != nil {
		return nil, belfry.Unavailable("postgres", err)
	}
	release, err := s.hold()
	if err != nil {
		return nil, err
	}
	defer release()

	r.done = make(chan error, 1)
	select {
	case s.reqs <- r:
	case <-ctx.Done():
		return nil, belfry.Unavailable("postgres", ctx.Err())
	}
	select {
	case err = <-r.done:
	case <-ctx.Done():
		if r.state.CompareAndSwap(reqQueued, reqAbandoned) {
			return nil, belfry.Unavailable("postgres", ctx.Err())
		}
		err = <-r.done
	}
	if err != nil {
		return nil, err
	}
	return r, nil
}

// checkNUL refuses text PostgreSQL cannot store. Errors: EINVALID.
func checkNUL(ns []*belfry.Notification) error {
	for _, n := range ns {
		if hasNUL(n) {
			return belfry.Errorf(belfry.EINVALID, "text must not contain NUL characters")
		}
	}
	return nil
}

func hasNULString(s string) bool { return strings.IndexByte(s, 0) >= 0 }

func hasNUL(n *belfry.Notification) bool {
	nul := hasNULString
	if nul(n.UserID) || nul(n.Message) || nul(n.Title) || nul(n.Link) || nul(n.Category) || nul(n.Avatar) {
		return true
	}
	for _, a := range n.Actions {
		if nul(a.ID) || nul(a.Label) || nul(a.URL) {
			return true
		}
	}
	return false
}

// writer forms batches from the Create and Publish calls waiting and
// commits them, one at a time, until Close. It does not wait for more calls
// to arrive: calls that come while a batch commits make the next batch, so
// batches grow with the load and a lone call is committed at once.
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
// alone, so that one call's bad data does not fail the others. Calls with
// an idempotency key that an earlier call of the batch has are committed
// after it, as a batch of their own: they replay its record (or, if it
// failed, claim the key themselves).
func (s *Store) commit(batch []*createReq) {
	batch, later := splitKeys(batch)
	err := s.insert(batch)
	if err != nil && len(batch) > 1 && belfry.ErrorCode(err) != belfry.EUNAVAILABLE {
		for _, r := range batch {
			err := s.insert([]*createReq{r})
			r.done <- cmp.Or(err, r.err)
		}
	} else {
		for _, r := range batch {
			r.done <- cmp.Or(err, r.err)
		}
	}
	if len(later) > 0 {
		s.commit(later)
	}
}

// splitKeys returns the calls of batch whose idempotency key no earlier
// call of it has, and the others.
func splitKeys(batch []*createReq) (now, later []*createReq) {
	var seen map[string]bool
	for i, r := range batch {
		if r.key == nil {
			continue
		}
		if seen == nil {
			seen = map[string]bool{}
		}
		if !seen[r.key.Name] {
			seen[r.key.Name] = true
			continue
		}
		// A duplicate: copy the batch without it and the like.
		now = append(now, batch[:i]...)
		for _, r := range batch[i:] {
			if r.key != nil && seen[r.key.Name] {
				later = append(later, r)
			} else {
				if r.key != nil {
					seen[r.key.Name] = true
				}
				now = append(now, r)
			}
		}
		return now, later
	}
	return batch, nil
}
