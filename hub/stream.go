package hub

import (
	"context"
	"errors"
	"time"
)

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
// (a LeanStream) writes into a bounded in-memory pipe, and the caller
// takes what it holds with Next, in a loop, and writes it to the client.
// Every rule of the stream (replay, sync, dedup, gaps, outages,
// heartbeats, expiry, slow cut) is the LeanStream's. Next is not safe for
// concurrent use; Close and End may be called from anywhere.
type Stream struct {
	l     *LeanStream
	p     *pipeConn
	timer *time.Timer
}

// Open attaches a stream of the user, as OpenStream does with no options.
func (h *Hub) Open(ctx context.Context, user string, lastEventID int64, resume bool) (*Stream, error) {
	return h.OpenStream(ctx, user, lastEventID, resume, LeanOptions{})
}

// OpenStream attaches a stream of the user written through Next: the
// replay after lastEventID when resume, one sync event, then live events.
// It reads the user's stats first, so a store that is down is answered
// before anything is written. The replay and the sync are written by a
// worker goroutine into the stream's pipe, for Next to take. o.Head and
// o.SetUp are not used (the caller writes its own head, and nothing the
// stream writes waits on the client). Errors: as OpenLean.
func (h *Hub) OpenStream(ctx context.Context, user string, lastEventID int64, resume bool, o LeanOptions) (*Stream, error) {
	o.Head, o.SetUp = nil, nil
	l, err := h.openStream(ctx, user, lastEventID, resume, o, false)
	if err != nil {
		return nil, err
	}
	p := newPipeConn()
	go l.Start(p)
	return &Stream{l: l, p: p}, nil
}

// User returns the stream's user id.
func (s *Stream) User() string { return s.l.user }

// Done is closed when the stream ended (cut, closed or expired).
func (s *Stream) Done() <-chan struct{} { return s.p.done }

// Close ends the stream. Safe to call more than once.
func (s *Stream) Close() { s.l.Close() }

// End ends the stream for reason (ErrClientGone, ErrTokenExpired, a
// write's error…), counted and logged as its end. Only the first of End,
// Close or a cut by the Hub counts.
func (s *Stream) End(reason error) { s.l.End(reason) }

// Next returns the bytes to write to the client next (valid until the
// next call): what the stream wrote since the last call, the replay after
// its Last-Event-ID, the sync event, live events and heartbeats. It
// returns (nil, nil) when idle elapsed with nothing to send, so the caller
// can check its token. Once the stream has ended it returns why (after the
// last bytes, for an expired token): ErrSlowStream, ErrShutdown, ErrStreamClosed,
// ErrTokenExpired, ErrClientGone, or an EUNAVAILABLE *belfry.Error when the
// store stayed down for the Hub's StoreOutage. It returns ctx.Err() when
// ctx ends.
func (s *Stream) Next(ctx context.Context, idle time.Duration) ([]byte, error) {
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
