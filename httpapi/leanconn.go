//go:build unix

package httpapi

import (
	"errors"
	"math"
	"net"
	"syscall"
	"time"

	"github.com/belfry/belfry/hub"
)

// tcpConn is a hijacked HTTP/1.1 connection (TCP, or a Unix socket) as a
// hub.Conn: the Hub writes frames to it straight from the publishing
// goroutine. A write that the socket does not take at once returns short
// instead of waiting, so one client that does not read never holds up a
// fan-out.
type tcpConn struct {
	c  rawNetConn
	rc syscall.RawConn

	// The raw callback and its state are bound once, so a write or a
	// peek allocates nothing: with wbuf nil it peeks, else it writes. The
	// stream's lock serialises TryWrite and Alive, so one set of fields
	// serves both, and one callback keeps an idle stream's memory small.
	rawFn func(fd uintptr) bool
	wbuf  []byte
	werr  error
	wn    int32 // a TryWrite takes at most 2 GiB; the caller writes the rest later
	alive bool
	one   [1]byte

	hangupTok uint64 // the hangup watcher's registration, 0 if none
}

// rawNetConn is a connection whose file descriptor can be reached:
// *net.TCPConn and *net.UnixConn, not *tls.Conn.
type rawNetConn interface {
	net.Conn
	SyscallConn() (syscall.RawConn, error)
}

var _ hub.Conn = (*tcpConn)(nil)

func newTCPConn(c rawNetConn) (*tcpConn, error) {
	rc, err := c.SyscallConn()
	if err != nil {
		return nil, err
	}
	// The server's read and write deadlines must not end a stream.
	if err := c.SetDeadline(time.Time{}); err != nil {
		return nil, err
	}
	t := &tcpConn{c: c, rc: rc}
	t.rawFn = t.raw
	return t, nil
}

var errPeerGone = errors.New("httpapi: stream peer is gone")

// TryWrite writes with non-blocking write(2) calls on the socket until it
// is full. The socket is already in non-blocking mode (Go's poller).
func (t *tcpConn) TryWrite(b []byte) (int, error) {
	if b == nil {
		b = []byte{} // non-nil: raw writes
	}
	t.wbuf, t.wn, t.werr = b[:min(len(b), math.MaxInt32)], 0, nil
	err := t.rc.Write(t.rawFn)
	n, werr := int(t.wn), t.werr
	t.wbuf = nil
	if err == nil {
		err = werr
	}
	return n, err
}

// raw is the callback of TryWrite (wbuf set) and Alive (wbuf nil).
func (t *tcpConn) raw(fd uintptr) bool {
	if t.wbuf == nil {
		return t.peek(fd)
	}
	return t.write(fd)
}

func (t *tcpConn) write(fd uintptr) bool {
	for int(t.wn) < len(t.wbuf) {
		m, e := syscall.Write(int(fd), t.wbuf[t.wn:])
		switch {
		case e == syscall.EINTR:
			continue
		case e == syscall.EAGAIN:
			return true
		case e != nil:
			t.werr = e
			return true
		case m == 0:
			t.werr = errPeerGone
			return true
		}
		t.wn += int32(m)
	}
	return true
}

// WriteAll writes all of b through the poller, waiting at most timeout.
func (t *tcpConn) WriteAll(b []byte, timeout time.Duration) error {
	if err := t.c.SetWriteDeadline(time.Now().Add(timeout)); err != nil {
		return err
	}
	_, err := t.c.Write(b)
	if err != nil {
		return err
	}
	return t.c.SetWriteDeadline(time.Time{})
}

// Alive peeks at the socket without blocking: a peer that closed its side
// reads as end of file. Bytes the client sent (it should send none after
// its request) leave it alive.
func (t *tcpConn) Alive() bool {
	t.alive = true
	err := t.rc.Read(t.rawFn)
	return t.alive && err == nil
}

func (t *tcpConn) peek(fd uintptr) bool {
	for {
		n, _, e := syscall.Recvfrom(int(fd), t.one[:], syscall.MSG_PEEK|syscall.MSG_DONTWAIT)
		switch {
		case e == syscall.EINTR:
			continue
		case e == syscall.EAGAIN:
		case e != nil || n == 0:
			t.alive = false
		}
		return true
	}
}

// watchHangup has f called as soon as the peer hangs up (see hangups).
// It is called once, before the connection is shared with the stream;
// without a watcher the heartbeat wheel finds the hangup later.
func (t *tcpConn) watchHangup(f func()) {
	var tok uint64
	err := t.rc.Control(func(fd uintptr) { tok, _ = hangups.watch(int(fd), f) })
	if err == nil {
		t.hangupTok = tok
	}
}

// Close closes the connection.
func (t *tcpConn) Close() error {
	if t.hangupTok != 0 {
		hangups.forget(t.hangupTok)
	}
	return t.c.Close()
}
