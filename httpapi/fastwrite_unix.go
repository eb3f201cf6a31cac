//go:build unix

package httpapi

import (
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
	n, err := writeSome(int(fd), fc.wbuf[fc.wn:])
	fc.wn += n
	fc.werr = err
	return true
}
