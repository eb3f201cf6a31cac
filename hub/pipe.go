package hub

import (
	"context"
	"errors"
	"os"
	"sync"
	"time"
)

// pipeBytes bounds what a Stream's pipe holds before the engine's writes
// wait for the caller of Next (a replay page fits).
const pipeBytes = ReplayPageBytes

// pipeConn is the Conn of a Stream: the engine writes into a bounded
// buffer and Next takes it out, swapping two buffers so that what Next
// returned stays valid until its next call.
type pipeConn struct {
	mu     sync.Mutex
	buf    []byte // written, not taken yet
	spare  []byte // the buffer Next returned last time
	closed bool

	ready chan struct{} // capacity 1: buf has bytes
	space chan struct{} // capacity 1: Next took bytes
	done  chan struct{} // closed by Close
}

func newPipeConn() *pipeConn {
	return &pipeConn{ready: make(chan struct{}, 1), space: make(chan struct{}, 1), done: make(chan struct{})}
}

var _ Conn = (*pipeConn)(nil)

func signal(c chan struct{}) {
	select {
	case c <- struct{}{}:
	default:
	}
}

// TryWrite takes as much of b as the pipe has room for.
func (p *pipeConn) TryWrite(b []byte) (int, error) {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return 0, errPipeClosed
	}
	n := min(len(b), pipeBytes-len(p.buf))
	if n > 0 {
		p.buf = append(p.buf, b[:n]...)
	}
	p.mu.Unlock()
	if n > 0 {
		signal(p.ready)
	}
	return n, nil
}

// WriteAll writes all of b, waiting at most timeout for the caller of
// Next to make room.
func (p *pipeConn) WriteAll(b []byte, timeout time.Duration) error {
	var deadline <-chan time.Time
	for {
		n, err := p.TryWrite(b)
		if err != nil {
			return err
		}
		if b = b[n:]; len(b) == 0 {
			return nil
		}
		if deadline == nil {
			t := time.NewTimer(timeout)
			defer t.Stop()
			deadline = t.C
		}
		select {
		case <-p.space:
		case <-p.done:
			return errPipeClosed
		case <-deadline:
			return os.ErrDeadlineExceeded
		}
	}
}

// take returns what was written since the last call, valid until the
// next one.
func (p *pipeConn) take() []byte {
	p.mu.Lock()
	b := p.buf
	p.buf, p.spare = p.spare[:0], b
	p.mu.Unlock()
	if len(b) > 0 {
		signal(p.space)
	}
	return b
}

// Alive reports whether the pipe is still open: the caller of Next finds
// its client gone itself and ends the stream.
func (p *pipeConn) Alive() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return !p.closed
}

// Close ends the pipe; what was written stays for Next to take.
func (p *pipeConn) Close() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if !p.closed {
		p.closed = true
		close(p.done)
	}
	return nil
}

// Reasons a stream ends (see EndReason for how each is counted).
var (
	// ErrSlowStream: the stream's queue overflowed; the client resumes from
	// its last id on reconnect.
	ErrSlowStream = errors.New("belfry: stream could not keep up")
	// ErrShutdown: the node is shutting down.
	ErrShutdown = errors.New("belfry: shutting down")
	// ErrStreamClosed: Close was called.
	ErrStreamClosed = errors.New("belfry: stream closed")
)

// Stream is a stream whose client is written by a goroutine of the
// caller's (an HTTP/2 or TLS handler, or any ResponseWriter): the engine
// (a Stream) writes into a bounded in-memory pipe, and the caller
// takes what it holds with Next, in a loop, and writes it to the client.
// Every rule of the stream (replay, sync, dedup, gaps, outages,
// heartbeats, expiry, slow cut) is the Stream's. Next is not safe for
// concurrent use; Close and End may be called from anywhere.
type Pipe struct {
	l     *Stream
	p     *pipeConn
	timer *time.Timer
}

// Open attaches a stream of the user, as OpenPipe does with no options.
func (h *Hub) Open(ctx context.Context, user string, lastEventID int64, resume bool) (*Pipe, error) {
	return h.OpenPipe(ctx, user, lastEventID, resume, Options{})
}

// OpenPipe attaches a stream of the user written through Next: the
// replay after lastEventID when resume, one sync event, then live events.
// It reads the user's stats first, so a store that is down is answered
// before anything is written. The replay and the sync are written by a
// worker goroutine into the stream's pipe, for Next to take. o.Head and
// o.SetUp are not used (the caller writes its own head, and nothing the
// stream writes waits on the client). Errors: as Attach.
func (h *Hub) OpenPipe(ctx context.Context, user string, lastEventID int64, resume bool, o Options) (*Pipe, error) {
	o.Head, o.SetUp = nil, nil
	l, err := h.openStream(ctx, user, lastEventID, resume, o, false)
	if err != nil {
		return nil, err
	}
	p := newPipeConn()
	go l.Start(p)
	return &Pipe{l: l, p: p}, nil
}

// User returns the stream's user id.
func (s *Pipe) User() string { return s.l.user }

// Done is closed when the stream ended (cut, closed or expired).
func (s *Pipe) Done() <-chan struct{} { return s.p.done }

// Close ends the stream. Safe to call more than once.
func (s *Pipe) Close() { s.l.Close() }

// End ends the stream for reason (ErrClientGone, ErrTokenExpired, a
// write's error…), counted and logged as its end. Only the first of End,
// Close or a cut by the Hub counts.
func (s *Pipe) End(reason error) { s.l.End(reason) }

// Next returns the bytes to write to the client next (valid until the
// next call): what the stream wrote since the last call, the replay after
// its Last-Event-ID, the sync event, live events and heartbeats. It
// returns (nil, nil) when idle elapsed with nothing to send, so the caller
// can check its token. Once the stream has ended it returns why (after the
// last bytes, for an expired token): ErrSlowStream, ErrShutdown, ErrStreamClosed,
// ErrTokenExpired, ErrClientGone, or an EUNAVAILABLE *belfry.Error when the
// store stayed down for the Hub's StoreOutage. It returns ctx.Err() when
// ctx ends.
func (s *Pipe) Next(ctx context.Context, idle time.Duration) ([]byte, error) {
	if s.timer == nil {
		s.timer = time.NewTimer(idle)
	} else {
		s.timer.Reset(idle)
	}
	defer s.timer.Stop()
	for {
		select {
		case <-s.p.done:
			// A cut stream ends even with bytes not taken, but for the
			// last event of an expired token.
			err := s.l.err()
			if errors.Is(err, ErrTokenExpired) {
				if b := s.p.take(); len(b) > 0 {
					return b, nil
				}
			}
			return nil, err
		default:
		}
		if b := s.p.take(); len(b) > 0 {
			return b, nil
		}
		select {
		case <-s.p.ready:
		case <-s.p.done:
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-s.timer.C:
			return nil, nil
		}
	}
}

var errPipeClosed = errors.New("hub: stream closed")
