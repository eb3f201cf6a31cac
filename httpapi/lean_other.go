//go:build !unix

package httpapi

import (
	"errors"
	"net"
	"syscall"
	"time"
)

// leanSupported is false: without write(2) and a non-blocking peek on the
// descriptor there are no lean streams, and New sets Config.DisableLean.
// What follows only lets the package build; it is never reached.
const leanSupported = false

type rawNetConn interface {
	net.Conn
	SyscallConn() (syscall.RawConn, error)
}

type tcpConn struct{}

var errNoLean = errors.New("httpapi: no lean streams on this system")

func newTCPConn(rawNetConn) (*tcpConn, error)         { return nil, errNoLean }
func (*tcpConn) TryWrite([]byte) (int, error)         { return 0, errNoLean }
func (*tcpConn) WriteAll([]byte, time.Duration) error { return errNoLean }
func (*tcpConn) Alive() bool                          { return false }
func (*tcpConn) Close() error                         { return nil }
func (*tcpConn) watchHangup(func())                   {}
