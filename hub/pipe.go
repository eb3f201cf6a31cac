package hub

import (
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
