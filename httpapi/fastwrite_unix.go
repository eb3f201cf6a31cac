//go:build unix

package httpapi

import (
	"io"
	"net"
	"syscall"
)

// initRawWrite lets write try each answer with one non-blocking write(2)
// on c's descriptor, when c has one.
func (fc *fastConn) initRawWrite(c net.Conn) {
	sc, ok := c.(syscall.Conn)
	if !ok {
		return
	}
	if rc, err := sc.SyscallConn(); err == nil {
		fc.rc = rc
		fc.writeFn = fc.rawWrite
	}
}

// rawWrite is write's non-blocking attempt, called by the RawConn.
func (fc *fastConn) rawWrite(fd uintptr) bool {
	for fc.wn < len(fc.wbuf) {
		m, e := syscall.Write(int(fd), fc.wbuf[fc.wn:])
		switch {
		case e == syscall.EINTR:
			continue
		case e == syscall.EAGAIN:
			return true
		case e != nil:
			fc.werr = e
			return true
		case m == 0:
			fc.werr = io.ErrUnexpectedEOF
			return true
		}
		fc.wn += m
	}
	return true
}
