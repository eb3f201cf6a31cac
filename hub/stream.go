package hub

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"time"

	"github.com/belfry/belfry"
)

// Reasons a stream ends, returned by Stream.Next.
var (
	// ErrSlowStream: the stream's queue overflowed; the client resumes from
	// its last id on reconnect.
	ErrSlowStream = errors.New("belfry: stream could not keep up")
	// ErrShutdown: the node is shutting down.
	ErrShutdown = errors.New("belfry: shutting down")
	// ErrStreamClosed: Close was called.
	ErrStreamClosed = errors.New("belfry: stream closed")
)

// maxBatch bounds the bytes one Next call returns, so a busy stream still
// writes in pieces a write deadline can cover.
const maxBatch = 64 << 10

// Stream is one open SSE stream of one user. The Hub queues events into it;
// the goroutine that writes to the client calls Next in a loop. Next is not
// safe for concurrent use; Close may be called from anywhere.
type Stream struct {
	hub  *Hub
	user string
	id   uint64 // unique on the node, for the logs

	queue    chan *Frame   // live events, bounded
	resync   chan struct{} // capacity 1: catch up from the store
	needSync atomic.Bool   // and send a new sync event after that
	done     chan struct{} // closed by cut
	once     sync.Once
	reason   error // set before done is closed

	// Owned by the goroutine calling Next.
	lastID int64 // the highest id sent (or known to the client)
	// replaying: still reading the backlog from the store, one page per
	// call of Next (the replay, or a gap or resync longer than a page).
	replaying bool
	pages     pager
	// syncAt, while set, is the snapshot the next sync event reports; it is
	// written just before the first notification newer than its LastID.
	syncAt *belfry.Stats
	buf    []byte
	timer  *time.Timer

	// What a failed store read left owed, retried by the next call of
	// Next: the live frame whose gap could not be filled, and a resync's
	// snapshot and catch-up. storeDown is when the reads began to fail.
	held       *Frame
	owesResync bool
	storeDown  time.Time

	// beatAt is when the caller of Next must write again (idle from the
	// call): a store read of that call is given up then, so a read that
	// hangs cannot hold back the heartbeat. The read counts as failed and
	// is retried by a later call.
	beatAt time.Time
}

func newStream(h *Hub, user string, queueSize int) *Stream {
	return &Stream{hub: h, user: user, queue: make(chan *Frame, queueSize),
		resync: make(chan struct{}, 1), done: make(chan struct{})}
}

// User returns the stream's user id.
func (s *Stream) User() string { return s.user }

// LastID returns the highest notification id the stream has sent.
func (s *Stream) LastID() int64 { return s.lastID }

// Done is closed when the stream was cut (slow, shut down or closed).
func (s *Stream) Done() <-chan struct{} { return s.done }

// Close detaches the stream. Safe to call more than once.
func (s *Stream) Close() { s.cut(ErrStreamClosed) }

// End detaches the stream for reason (ErrClientGone, ErrTokenExpired, a
// write's error…), counted and logged as its end. Only the first of End,
// Close or a cut by the Hub counts.
func (s *Stream) End(reason error) { s.cut(reason) }

func (s *Stream) offer(f *Frame) bool {
	select {
	case s.queue <- f:
		return true
	default:
		return false
	}
}

func (s *Stream) wake(withSync bool) {
	if withSync {
		s.needSync.Store(true)
	}
	select {
	case s.resync <- struct{}{}:
	default:
	}
}

// resyncNow only asks: the stream's own goroutine reads the store in Next.
func (s *Stream) resyncNow() { s.wake(true) }

// beat does nothing: the caller of Next writes the heartbeats.
func (s *Stream) beat(time.Time, time.Duration) {}

func (s *Stream) cut(reason error) {
	s.once.Do(func() {
		s.reason = reason
		close(s.done)
		s.hub.detach(s.user, s)
		s.hub.ended(s.user, s.id, reason)
	})
}

// Next returns the bytes to write to the client next: the replay after the
// stream's Last-Event-ID, then the sync event, then live events (deduplicated
// by id, gaps filled from the store). The slice is valid until the next call.
// It returns (nil, nil) when idle elapsed with nothing to send, so the caller
// can write a heartbeat or check its token. It returns ErrSlowStream,
// ErrShutdown or ErrStreamClosed when the stream was cut, ctx.Err() when ctx
// ended, and an EUNAVAILABLE *Error when the store kept failing for the
// Hub's StoreOutage (until then a failed read is retried; see storeFailed).
func (s *Stream) Next(ctx context.Context, idle time.Duration) ([]byte, error) {
	s.buf = s.buf[:0]
	s.beatAt = time.Now().Add(idle)
	select {
	case <-s.done: // a cut stream ends even with frames still queued
		return nil, s.reason
	default:
	}
	if s.replaying {
		b, err := s.replay(ctx)
		if err != nil {
			return s.storeFailed(ctx, err)
		}
		s.storeDown = time.Time{}
		return b, nil
	}
	if s.held != nil || s.owesResync {
		if err := s.retryOwed(ctx); err != nil {
			return s.storeFailed(ctx, err)
		}
		s.storeDown = time.Time{}
		if len(s.buf) > 0 {
			return s.buf, nil
		}
	}
	if s.syncAt != nil { // nothing to replay: the sync comes first
		s.buf = flushSync(s.buf, &s.syncAt)
		return s.buf, nil
	}
	if s.timer == nil {
		s.timer = time.NewTimer(idle)
	} else {
		s.timer.Reset(idle)
	}
	defer s.timer.Stop()
	for {
		select {
		case f := <-s.queue:
			if err := s.add(ctx, f); err != nil {
				return s.storeFailed(ctx, err)
			}
			if err := s.drain(ctx); err != nil {
				return s.storeFailed(ctx, err)
			}
		case <-s.resync:
			s.owesResync = true
			if err := s.retryOwed(ctx); err != nil {
				return s.storeFailed(ctx, err)
			}
		case <-s.done:
			return nil, s.reason
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-s.timer.C:
			return nil, nil
		}
		if len(s.buf) > 0 {
			return s.buf, nil
		}
	}
}

// retryOwed does what a failed store read left owed, in order: a resync's
// snapshot and catch-up and its sync event, then the held frame.
func (s *Stream) retryOwed(ctx context.Context) error {
	if s.owesResync {
		if s.needSync.Swap(false) {
			rctx, cancel := s.readCtx(ctx)
			st, err := s.hub.store.Stats(rctx, s.user)
			cancel()
			if err != nil {
				s.needSync.Store(true)
				return err
			}
			s.syncAt = &st
		}
		more, err := s.catchUp(ctx)
		if err != nil {
			return err
		}
		s.owesResync = false
		if more { // the rest page by page (replay), its sync, then the held frame
			s.replaying = true
			return nil
		}
		s.buf = flushSync(s.buf, &s.syncAt)
	}
	if f := s.held; f != nil {
		s.held = nil
		return s.add(ctx, f)
	}
	return nil
}

// storeFailed answers Next after a failed (or given up) store read. For
// up to the Hub's StoreOutage the stream stays open: what is ready is
// returned now, and otherwise Next waits storeRetry, or until the
// heartbeat is due if that is sooner, and returns nothing (the caller
// then sends a heartbeat if one is due), the next call retrying what is
// owed. After that the error ends the stream; the client resumes from its
// last id.
func (s *Stream) storeFailed(ctx context.Context, err error) ([]byte, error) {
	now := time.Now()
	if s.storeDown.IsZero() {
		s.storeDown = now
	}
	if now.Sub(s.storeDown) >= s.hub.storeOutage {
		return nil, err
	}
	if len(s.buf) > 0 {
		return s.buf, nil
	}
	t := time.NewTimer(min(storeRetry, time.Until(s.beatAt)))
	defer t.Stop()
	select {
	case <-t.C:
		return nil, nil
	case <-s.done:
		return nil, s.reason
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// replay reads one page of the backlog; after the last page it makes sure
// the sync event went out and switches to live (a frame held back by a
// long gap is sent by the next call).
func (s *Stream) replay(ctx context.Context) ([]byte, error) {
	more, err := s.catchUp(ctx)
	if err != nil {
		return nil, err
	}
	if more {
		return s.buf, nil
	}
	s.buf = flushSync(s.buf, &s.syncAt)
	s.replaying = false
	return s.buf, nil
}

// Replaying reports whether the stream is still writing its backlog from
// the store (its replay, or a gap or catch-up longer than one page).
func (s *Stream) Replaying() bool { return s.replaying }

// drain adds whatever else is queued, without waiting, up to maxBatch, and
// stops when a frame is held back behind a gap longer than a page.
func (s *Stream) drain(ctx context.Context) error {
	for len(s.buf) < maxBatch && s.held == nil {
		select {
		case f := <-s.queue:
			if err := s.add(ctx, f); err != nil {
				return err
			}
		default:
			return nil
		}
	}
	return nil
}

// add appends one live frame: state events as they come, notifications only
// if newer than the last sent, after filling any gap from the store.
func (s *Stream) add(ctx context.Context, f *Frame) error {
	if f.ID == 0 {
		s.buf = append(s.buf, f.Bytes...)
		return nil
	}
	if f.ID <= s.lastID {
		return nil // already sent by the replay or a gap fill
	}
	if f.ID > s.lastID+1 {
		// Ids are per-user sequence numbers: a jump means an event was
		// missed (or published out of order). The store has them all.
		more, err := s.catchUp(ctx)
		if err != nil {
			s.held = f // sent after the gap, once the store answers
			return err
		}
		if more { // the rest of the gap page by page (replay), then f
			s.held, s.replaying = f, true
			return nil
		}
		if f.ID <= s.lastID {
			return nil
		}
	}
	s.buf = append(s.buf, f.Bytes...)
	s.lastID = f.ID
	return nil
}

// catchUp appends the next page of stored notifications after lastID;
// more reports that rows may remain.
func (s *Stream) catchUp(ctx context.Context) (more bool, err error) {
	rctx, cancel := s.readCtx(ctx)
	defer cancel()
	s.buf, more, err = s.pages.next(rctx, s.hub.store, s.user, s.buf, &s.lastID, &s.syncAt)
	if !more {
		s.pages = pager{}
	}
	return more, err
}

// readCtx is ctx for one store read of this call of Next: it ends when
// the heartbeat is due (see beatAt).
func (s *Stream) readCtx(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithDeadline(ctx, s.beatAt)
}

// ReplayPageBytes bounds the events one page of a replay or catch-up holds:
// a stream reads the next page from the store only once the previous one
// is written, so a backlog of any size costs a stream about this much
// memory.
const ReplayPageBytes = 64 << 10

// firstPageRows is the row limit of a pager's first read; the next ones
// adapt to the size of the rows seen (see pager).
const firstPageRows = 16

// pager reads a user's stored notifications after an id one page at a
// time, each page bounded in rows (at most MaxReplay) and in bytes (about
// ReplayPageBytes). Its row limit starts at firstPageRows and then follows
// the rows' size, so a backlog of small notifications takes few reads and
// a read of large ones stays near ReplayPageBytes. The zero value is ready.
type pager struct{ rows int }

// next appends the new-notification events of the next page after
// *lastID to buf, with the pending sync at its boundary (see
// appendNotifications), and advances *lastID. more reports that rows may
// remain after it.
func (p *pager) next(ctx context.Context, st belfry.Store, user string, buf []byte, lastID *int64, syncAt **belfry.Stats) (_ []byte, more bool, _ error) {
	if p.rows <= 0 {
		p.rows = firstPageRows
	}
	ns, err := st.After(ctx, user, *lastID, p.rows)
	if err != nil {
		return buf, false, err
	}
	start := len(buf)
	var used int
	buf, *lastID, used = appendNotifications(buf, ns, *lastID, syncAt, ReplayPageBytes)
	// Rows left over by the byte bound are read again next time.
	more = len(ns) == p.rows || used < len(ns)
	if used > 0 {
		p.rows = min(max(ReplayPageBytes/max((len(buf)-start)/used, 1), 1), belfry.MaxReplay)
	}
	return buf, more, nil
}

// appendNotifications appends the new-notification events of ns (oldest
// first) newer than lastID, stopping once it has appended limit bytes or
// more, and returns the buffer, the new lastID and how many of ns it went
// through. While *syncAt is set, the sync event it holds is written just
// before the first notification newer than the snapshot, and *syncAt
// cleared: so everything before the sync is counted in it, and everything
// after it is not. A client that resumes from the sync's last_id then
// never skips an id.
func appendNotifications(buf []byte, ns []*belfry.Notification, lastID int64, syncAt **belfry.Stats, limit int) ([]byte, int64, int) {
	start := len(buf)
	for i, n := range ns {
		if len(buf)-start >= limit {
			return buf, lastID, i
		}
		if n.ID <= lastID {
			continue
		}
		if *syncAt != nil && n.ID > (*syncAt).LastID {
			buf = flushSync(buf, syncAt)
		}
		buf = AppendNew(buf, n)
		lastID = n.ID
	}
	return buf, lastID, len(ns)
}

// flushSync appends the pending sync event, if any, and clears it.
func flushSync(buf []byte, syncAt **belfry.Stats) []byte {
	if *syncAt != nil {
		buf = append(buf, EncodeSync(**syncAt).Bytes...)
		*syncAt = nil
	}
	return buf
}
