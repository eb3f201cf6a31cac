//go:build unix

package httpapi

import (
	"net"
	"syscall"
	"time"
)

// peekFast reports whether the first request on c is one FastListener
// serves, looking at its first bytes with MSG_PEEK so that nothing is
// consumed. It waits at most timeout for enough of them; an error means
// the client sent no request line in time or left.
func peekFast(c net.Conn, timeout time.Duration) (bool, error) {
	sc, ok := c.(syscall.Conn)
	if !ok {
		return false, nil
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return false, nil
	}
	if err := c.SetReadDeadline(time.Now().Add(timeout)); err != nil {
		return false, err
	}
	defer c.SetReadDeadline(time.Time{})
	var (
		buf        [fastPeekBytes]byte
		fast, done bool
		perr       error
	)
	err = rc.Read(func(fd uintptr) bool {
		n, _, e := syscall.Recvfrom(int(fd), buf[:], syscall.MSG_PEEK)
		for e == syscall.EINTR {
			n, _, e = syscall.Recvfrom(int(fd), buf[:], syscall.MSG_PEEK)
		}
		switch {
		case e == syscall.EAGAIN:
			return false
		case e != nil:
			perr = e
			return true
		case n == 0:
			perr = net.ErrClosed // the client left without a request
			return true
		}
		fast, done = fastStart(buf[:n])
		// Undecided: the request line is still arriving, so wait for
		// more (the poller reports the next bytes).
		return done
	})
	if err == nil {
		err = perr
	}
	return fast, err
}
