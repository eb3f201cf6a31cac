package hub

import (
	"context"
	"errors"
	"os"
	"sync"
	"time"

	"github.com/belfry/belfry"
)

// storeTimeout bounds each store read of a stream's worker.
const storeTimeout = 10 * time.Second

// storeRetry is the pause between a stream's failed store read and the
// next try.
const storeRetry = 500 * time.Millisecond

var heartbeatFrame = &Frame{Bytes: []byte(HeartbeatComment)}

// streamState is where a stream's writing stands; its mu guards it.
type streamState uint8

const (
	live    streamState = iota // no worker: a publisher writes to the socket at once
	working                    // a worker owns writing; offers only queue
	waiting                    // the worker waits on the store (or to retry it) with everything before written: the wheel may beat
	ended                      // cut: nothing is written any more
)

// owed is the work a stream's worker owes besides its queue.
type owed uint8

const (
	owesCatchUp owed = 1 << iota // read the store after lastID first
	owesSync                     // send the first sync event (Start)
	owesResync                   // take a new snapshot, catch up and send its sync
	owesFinish                   // end the stream once the queue is written (token expired)
)

// Stream is a stream written from whichever goroutine publishes to it.
// While the socket takes every write at once it has no goroutine and no
// buffer: a frame is written straight from the shared encoded bytes. When a
// write would block, or the stream must read the store (the replay, a gap
// in ids, a broker resync), a worker goroutine takes over until the backlog
// is written, then exits.
//
// An idle stream is this struct (216 bytes, the allocator's 224-byte
// class; keep it there), its connection and a map entry: what only the
// setup needs is in streamSetup, and the expiry timer is armed only
// shortly before the token expires.
type Stream struct {
	hub     *Hub
	user    string
	id      uint64 // unique on the node, for the logs
	expires int64  // Options.Expires in Unix nanoseconds; 0: never

	conn   Conn        // set by Start; nil before
	expiry *time.Timer // armed once the expiry is near (armExpiry)

	mu        sync.Mutex
	lastID    int64         // highest notification id sent (or known to the client)
	state     streamState   // where writing stands
	owes      owed          // work the worker owes besides its queue
	lean      bool          // writes its socket itself (Stats.Lean), not a Stream's pipe
	queue     []*Frame      // frames waiting for the worker
	pending   []byte        // the unwritten rest of a partial write
	syncAt    *belfry.Stats // the snapshot of the next sync event (worker-owned)
	storeDown time.Time     // when the store reads began to fail; zero while they work (worker-owned)
	reason    error         // why it was cut, once closed
	nextBeat  time.Time
	setup     *streamSetup // nil once each of its parts is used
}

// streamSetup is what a stream needs only while it is set up: Options'
// head, until Start writes it, and callbacks, cleared once called (see
// leaveSetup and replayDone). The stream's mu guards it.
type streamSetup struct {
	head            []byte
	setUp, replayed func()
}

// dropSetup forgets the setup once each of its parts is used. l.mu is
// held.
func (l *Stream) dropSetup() {
	if s := l.setup; s != nil && s.head == nil && s.setUp == nil && s.replayed == nil {
		l.setup = nil
	}
}

// Attach attaches a stream of the user and reads the user's stats,
// before anything is written to the client, so a store that is down can
// still be answered with a 503. Events that arrive from now on are queued.
// Then either Start the stream on its connection, or Close it.
// Errors: ErrTooManyStreams and ErrServerFull (the limits of Config;
// nothing was read), EUNAVAILABLE, ErrShutdown.
func (h *Hub) Attach(ctx context.Context, user string, lastEventID int64, resume bool, o Options) (*Stream, error) {
	return h.openStream(ctx, user, lastEventID, resume, o, true)
}

// openStream attaches a stream; lean says it writes to its client's socket
// itself (counted in Stats.Lean), not to a Stream's pipe.
func (h *Hub) openStream(ctx context.Context, user string, lastEventID int64, resume bool, o Options, lean bool) (*Stream, error) {
	l := &Stream{hub: h, user: user, state: working, owes: owesSync, nextBeat: time.Now().Add(h.heartbeat),
		id: h.lastStreamID.Add(1), lean: lean}
	if o.Head != nil || o.SetUp != nil || o.Replayed != nil {
		l.setup = &streamSetup{head: o.Head, setUp: o.SetUp, replayed: o.Replayed}
	}
	if !o.Expires.IsZero() {
		l.expires = max(o.Expires.UnixNano(), 1)
	}
	h.wheel.start(h, h.heartbeat)
	if err := h.attach(user, l); err != nil {
		return nil, err
	}
	if lean {
		h.lean.Add(1)
	}
	if h.closed.Load() {
		l.cut(ErrShutdown)
		return nil, ErrShutdown
	}
	st, err := h.store.Stats(ctx, user)
	if err != nil {
		l.cut(err)
		return nil, err
	}
	// Locked: the stream is attached, so a broker's ResyncUsers may wake
	// it (setting catchUp) while we fill it in.
	l.mu.Lock()
	l.lastID, l.syncAt = st.LastID, &st
	if resume && lastEventID < st.LastID {
		// A client claiming an id beyond the user's last one (a store that
		// was reset) starts from now, like a fresh one.
		l.lastID = max(lastEventID, 0)
		l.owes |= owesCatchUp
	}
	l.mu.Unlock()
	return l, nil
}

// Start writes the replay (when resuming) and the sync event to conn, which
// has already received the response head and the retry line, on the
// calling goroutine, and returns. From then on the stream is written by the
// publishing goroutines, the Hub's heartbeat wheel, and a short-lived
// worker only while it is backed up. The Hub owns conn and closes it when
// the stream ends, for whatever reason. A store read that fails (the
// replay, a gap, a resync) is retried for up to the Hub's StoreOutage
// before the stream is cut and the client reconnects.
func (l *Stream) Start(conn Conn) {
	defer l.leaveSetup()
	l.mu.Lock()
	l.conn = conn
	closed := l.state == ended
	if !closed {
		l.armExpiry(time.Now())
	}
	var head []byte
	if s := l.setup; s != nil {
		head, s.head = s.head, nil
		l.dropSetup()
	}
	l.mu.Unlock()
	if closed { // cut (shutdown) between Attach and Start
		conn.Close()
		return
	}
	if len(head) > 0 {
		n, err := conn.TryWrite(head)
		if err != nil {
			l.cut(err)
			return
		}
		// Locked: a hangup reported now (the client left) cuts the stream
		// from another goroutine, and the cut clears pending.
		l.mu.Lock()
		if l.state != ended {
			l.pending = append(l.pending, head[n:]...)
		}
		l.mu.Unlock()
	}
	l.work()
}

// Close ends the stream; its connection, if started, is closed.
func (l *Stream) Close() { l.cut(ErrStreamClosed) }

// err returns why the stream was cut, nil while it is open.
func (l *Stream) err() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.reason
}

// End ends the stream for reason (ErrClientGone, say), counted and logged
// as its end. Only the first of End, Close or a cut counts.
func (l *Stream) End(reason error) { l.cut(reason) }

// offer writes f at once if the socket takes it, else queues it for the
// worker. It never blocks on the client.
func (l *Stream) offer(f *Frame) bool {
	l.mu.Lock()
	if l.state == ended || l.owes&owesFinish != 0 {
		l.mu.Unlock()
		return true
	}
	if l.state != live {
		// pending holds at most the rest of one frame (written before
		// the worker took over), so the queue alone bounds the backlog.
		if len(l.queue) >= l.hub.queueSize {
			l.mu.Unlock()
			return false
		}
		l.queue = append(l.queue, f)
		l.mu.Unlock()
		return true
	}
	if f.ID != 0 {
		if f.ID <= l.lastID {
			l.mu.Unlock()
			return true // a duplicate of what the replay or a gap fill sent
		}
		if f.ID > l.lastID+1 {
			// A missed id: the worker reads the store, then sends f.
			l.queue = append(l.queue, f)
			l.owes |= owesCatchUp
			l.startWorker()
			l.mu.Unlock()
			return true
		}
		l.lastID = f.ID
	}
	err := l.write(f.Bytes)
	l.mu.Unlock()
	if err != nil {
		l.cut(err)
	}
	return true
}

// write tries a non-blocking write; what the socket did not take becomes
// pending and a worker is started. l.mu is held.
func (l *Stream) write(b []byte) error {
	n, err := l.conn.TryWrite(b)
	if err != nil {
		return err
	}
	if n < len(b) {
		l.hub.blocked.Add(1)
		l.pending = append(l.pending, b[n:]...)
		l.startWorker()
	}
	return nil
}

// startWorker hands writing to a new worker goroutine. l.mu is held.
func (l *Stream) startWorker() {
	if l.state == live {
		l.state = working
		go l.work()
	}
}

func (l *Stream) wake(withSync bool) {
	l.mu.Lock()
	if l.state != ended {
		l.owes |= owesCatchUp
		if withSync {
			l.owes |= owesResync
		}
		l.startWorker()
	}
	l.mu.Unlock()
}

// resyncNow asks the stream for a new snapshot and a catch-up, as wake does,
// and unless its worker is already running (it will see the request), does
// the work on the calling goroutine (Hub.resyncAll).
func (l *Stream) resyncNow() {
	l.mu.Lock()
	if l.state == ended {
		l.mu.Unlock()
		return
	}
	l.owes |= owesCatchUp | owesResync
	if l.state != live {
		l.mu.Unlock()
		return
	}
	l.state = working
	l.mu.Unlock()
	l.work()
}

// armExpiry sets the expiry timer once the expiry is at most two of the
// wheel's visits away; until then the wheel looks at it on each visit, so
// an idle stream holds no timer for most of its token's life. l.mu is held
// and the stream is started and not ended.
func (l *Stream) armExpiry(now time.Time) {
	if l.expires == 0 || l.expiry != nil {
		return
	}
	left := time.Unix(0, l.expires).Sub(now)
	if left <= 2*wheelTick(l.hub.heartbeat) {
		l.expiry = time.AfterFunc(left, l.expire)
	}
}

func (l *Stream) expire() {
	l.mu.Lock()
	if l.state == ended {
		l.mu.Unlock()
		return
	}
	l.owes |= owesFinish
	l.queue = append(l.queue, EncodeTokenExpired())
	l.startWorker()
	l.mu.Unlock()
}

func (l *Stream) cut(reason error) {
	l.mu.Lock()
	if l.state == ended {
		l.mu.Unlock()
		return
	}
	l.state, l.reason = ended, reason
	l.queue, l.pending = nil, nil
	if l.expiry != nil {
		l.expiry.Stop()
	}
	conn := l.conn // read locked: Start sets it under the lock, maybe concurrently
	var setUp, replayed func()
	if s := l.setup; s != nil {
		setUp, replayed = s.setUp, s.replayed
		l.setup = nil
	}
	l.mu.Unlock()
	if setUp != nil {
		setUp()
	}
	if replayed != nil {
		replayed()
	}
	if conn != nil {
		conn.Close()
	}
	l.hub.detach(l.user, l)
	if l.lean {
		l.hub.lean.Add(-1)
	}
	l.hub.ended(l.user, l.id, reason)
}

// beat writes a heartbeat when one is due, after checking that the peer is
// still there. Called by the wheel.
func (l *Stream) beat(now time.Time, every time.Duration) {
	l.mu.Lock()
	if l.state != ended && l.conn != nil {
		l.armExpiry(now)
	}
	if l.state == ended || l.state == working || now.Before(l.nextBeat) {
		l.mu.Unlock()
		return
	}
	l.nextBeat = now.Add(every)
	var err error
	if !l.conn.Alive() {
		err = ErrClientGone
	} else {
		err = l.write(heartbeatFrame.Bytes)
	}
	l.mu.Unlock()
	if err != nil {
		l.cut(err)
	}
}

// work writes the backlog: the store reads it owes (replay, gap, resync),
// pending bytes, queued frames; and exits when nothing is left.
func (l *Stream) work() {
	var buf []byte
	for {
		l.mu.Lock()
		if l.state == ended {
			l.mu.Unlock()
			return
		}
		l.state = working
		buf = append(buf[:0], l.pending...)
		l.pending = nil
		queue := l.queue
		l.queue = nil
		owes := l.owes &^ owesFinish
		l.owes &= owesFinish
		catchUp, resync := owes&owesCatchUp != 0, owes&owesResync != 0
		if len(buf) == 0 && len(queue) == 0 && owes == 0 {
			l.state = live
			finishing := l.owes&owesFinish != 0
			l.mu.Unlock()
			if finishing {
				l.cut(ErrTokenExpired)
			}
			return
		}
		l.mu.Unlock()

		buf, rest, storeErr := l.fill(buf, queue, catchUp, resync)
		var ce connError
		if errors.As(storeErr, &ce) {
			l.cut(ce.err)
			return
		}
		if len(buf) > 0 {
			// Written even when the store failed: what fill appended is
			// complete and in order.
			if err := l.writeAll(buf); err != nil {
				l.cut(err)
				return
			}
		}
		if l.syncAt == nil {
			l.replayDone() // the replay and its sync are in the socket
		}
		if storeErr != nil {
			l.retryStore(storeErr, rest, catchUp || resync, resync)
			return
		}
		l.storeDown = time.Time{}
	}
}

// retryStore puts back what fill could not do because a store read failed
// (the frames from the failed one on, and the catch-up or resync it owed)
// and tries again after storeRetry. The stream stays busy meanwhile, so new
// events queue behind those, in order, and the queue's bound still cuts a
// stream that falls too far behind. A store that stays down longer than the
// Hub's StoreOutage cuts the stream; its client resumes from its last id.
func (l *Stream) retryStore(err error, rest []*Frame, catchUp, resync bool) {
	now := time.Now()
	if l.storeDown.IsZero() {
		l.storeDown = now
	}
	if now.Sub(l.storeDown) >= l.hub.storeOutage {
		l.cut(err)
		return
	}
	l.mu.Lock()
	if l.state == ended {
		l.mu.Unlock()
		return
	}
	l.queue = append(rest, l.queue...)
	if catchUp {
		l.owes |= owesCatchUp
	}
	if resync {
		l.owes |= owesResync
	}
	// Everything fill made is written: the wheel beats the stream until
	// the next try, which writes the rest of a beat first (work's top).
	l.state = waiting
	l.mu.Unlock()
	time.AfterFunc(storeRetry, l.work)
}

// fill appends to buf what the worker owes: a new snapshot first when
// resync, the store after lastID when catchUp (or resync), then the pending
// sync event if any (the first one, or the resync's), then the queued frames
// (deduplicated by id, gaps filled from the store). Only the worker calls
// it, and only the worker changes lastID while busy. When a store read
// fails it returns what it appended so far (complete frames, in order), the
// frames it did not reach, and the store's error.
func (l *Stream) fill(buf []byte, queue []*Frame, catchUp, resync bool) ([]byte, []*Frame, error) {
	var err error
	if resync { // a new snapshot first, replacing one not sent yet (it predates the resync)
		var st belfry.Stats
		buf, err = l.storeCall(buf, func(b []byte) ([]byte, error) {
			var err error
			st, err = l.stats()
			return b, err
		})
		if err != nil {
			return buf, queue, err
		}
		l.syncAt, catchUp = &st, true
	}
	if catchUp {
		if buf, err = l.readPages(buf); err != nil {
			return buf, queue, err
		}
	}
	buf = flushSync(buf, &l.syncAt)
	for i, f := range queue {
		if len(buf) >= ReplayPageBytes {
			// Queued frames are bounded in number, not size: write them
			// out a page at a time too.
			if err := l.writeAll(buf); err != nil {
				return buf[:0], nil, connError{err}
			}
			buf = buf[:0]
		}
		if f.ID != 0 {
			if f.ID <= l.lastID {
				continue
			}
			if f.ID > l.lastID+1 {
				if buf, err = l.readPages(buf); err != nil {
					return buf, queue[i:], err
				}
				if f.ID <= l.lastID {
					continue
				}
			}
			l.setLastID(f.ID)
		}
		buf = append(buf, f.Bytes...)
	}
	return buf, nil, nil
}

// readPages appends every stored notification after lastID, a page at a
// time: each storeCall first writes the page before, so the next page is
// read only once the previous one is in the socket, and the stream holds
// one page at most whatever the backlog. A client that does not read makes
// the write time out, and the stream is cut like any slow one.
func (l *Stream) readPages(buf []byte) ([]byte, error) {
	var p pager
	for {
		var more bool
		var err error
		buf, err = l.storeCall(buf, func(b []byte) ([]byte, error) {
			ctx, cancel := context.WithTimeout(context.Background(), storeTimeout)
			defer cancel()
			last := l.lastID
			b, more, err = p.next(ctx, l.hub.store, l.user, b, &last, &l.syncAt)
			l.setLastID(last)
			return b, err
		})
		if err != nil || !more {
			return buf, err
		}
	}
}

// writeAll writes b to the client, waiting at most the write timeout. It
// is the only write of the stream that can wait on the client, so it gives
// the stream's setup place back first.
func (l *Stream) writeAll(b []byte) error {
	l.leaveSetup()
	err := l.conn.WriteAll(b, l.hub.writeTimeout)
	if errors.Is(err, os.ErrDeadlineExceeded) {
		// A client that does not read within the write timeout is a slow
		// one, whether it stalled on a replay or on live events.
		l.hub.slow.Add(1)
		return ErrSlowStream
	}
	return err
}

// leaveSetup calls Options.SetUp once: the stream no longer needs its
// setup place.
func (l *Stream) leaveSetup() {
	l.mu.Lock()
	var f func()
	if s := l.setup; s != nil {
		f, s.setUp = s.setUp, nil
		l.dropSetup()
	}
	l.mu.Unlock()
	if f != nil {
		f()
	}
}

// replayDone calls Options.Replayed once: the replay is written.
func (l *Stream) replayDone() {
	l.mu.Lock()
	var f func()
	if s := l.setup; s != nil {
		f, s.replayed = s.replayed, nil
		l.dropSetup()
	}
	l.mu.Unlock()
	if f != nil {
		f()
	}
}

func (l *Stream) setLastID(id int64) {
	l.mu.Lock()
	l.lastID = id
	l.mu.Unlock()
}

func (l *Stream) stats() (belfry.Stats, error) {
	ctx, cancel := context.WithTimeout(context.Background(), storeTimeout)
	defer cancel()
	return l.hub.store.Stats(ctx, l.user)
}

// connError is a failed write to the client inside fill: it cuts the
// stream, where a store error is retried.
type connError struct{ err error }

func (e connError) Error() string { return e.err.Error() }

// storeCall runs read, a store read of the worker, with the connection kept
// warm: it first writes what buf holds, so the client has everything up to
// an event boundary, then lets the heartbeat wheel write to the stream
// while it waits for one of the Hub's read turns (Config.StoreReads)
// and until read returns (a database that went away can hold a read for
// the whole storeTimeout, longer than a client waits for a heartbeat). A
// stream cut while it waited for its turn reads nothing. The rest of a
// heartbeat the socket did not take is written before what read appended.
func (l *Stream) storeCall(buf []byte, read func([]byte) ([]byte, error)) ([]byte, error) {
	if len(buf) > 0 {
		if err := l.writeAll(buf); err != nil {
			return buf[:0], connError{err}
		}
		buf = buf[:0]
	}
	l.mu.Lock()
	if l.state == working {
		l.state = waiting
	}
	l.mu.Unlock()
	l.hub.reads <- struct{}{} // wait for a turn (Config.StoreReads)
	l.mu.Lock()
	closed := l.state == ended
	l.mu.Unlock()
	var err error
	if closed { // cut while it waited: the read would be for nobody
		err = connError{ErrStreamClosed}
	} else {
		buf, err = read(buf)
	}
	<-l.hub.reads
	l.mu.Lock()
	if l.state == waiting {
		l.state = working
	}
	beatRest := l.pending
	l.pending = nil
	l.mu.Unlock()
	if len(beatRest) > 0 {
		buf = append(beatRest, buf...)
	}
	return buf, err
}
