package httpapi

import (
	"errors"
	"net"
	"syscall"
	"time"

	"github.com/belfry/belfry"
)

// tcpConn is a hijacked HTTP/1.1 connection (TCP, or a Unix socket) as a
// belfry.Conn: the Hub writes frames to it straight from the publishing
// goroutine. A write that the socket does not take at once returns short
// instead of waiting, so one client that does not read never holds up a
// fan-out.
type tcpConn struct {
	c  rawNetConn
	rc syscall.RawConn
}

// rawNetConn is a connection whose file descriptor can be reached:
// *net.TCPConn and *net.UnixConn, not *tls.Conn.
type rawNetConn interface {
	net.Conn
	SyscallConn() (syscall.RawConn, error)
}

var _ belfry.Conn = (*tcpConn)(nil)

func newTCPConn(c rawNetConn) (*tcpConn, error) {
	rc, err := c.SyscallConn()
	if err != nil {
		return nil, err
	}
	// The server's read and write deadlines must not end a stream.
	if err := c.SetDeadline(time.Time{}); err != nil {
		return nil, err
	}
	return &tcpConn{c: c, rc: rc}, nil
}

var errPeerGone = errors.New("httpapi: stream peer is gone")

// TryWrite writes with non-blocking write(2) calls on the socket until it
// is full. The socket is already in non-blocking mode (Go's poller).
func (t *tcpConn) TryWrite(b []byte) (int, error) {
	n := 0
	var werr error
	err := t.rc.Write(func(fd uintptr) bool {
		for n < len(b) {
			m, e := syscall.Write(int(fd), b[n:])
			switch {
			case e == syscall.EINTR:
				continue
			case e == syscall.EAGAIN:
				return true
			case e != nil:
				werr = e
				return true
			case m == 0:
				werr = errPeerGone
				return true
			}
			n += m
		}
		return true
	})
	if err == nil {
		err = werr
	}
	return n, err
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
	alive := true
	var one [1]byte
	err := t.rc.Read(func(fd uintptr) bool {
		for {
			n, _, e := syscall.Recvfrom(int(fd), one[:], syscall.MSG_PEEK|syscall.MSG_DONTWAIT)
			switch {
			case e == syscall.EINTR:
				continue
			case e == syscall.EAGAIN:
			case e != nil || n == 0:
				alive = false
			}
			return true
		}
	})
	return alive && err == nil
}

// Close closes the connection.
func (t *tcpConn) Close() error { return t.c.Close() }
