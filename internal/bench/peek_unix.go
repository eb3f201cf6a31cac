//go:build unix

package bench

import "syscall"

// peekFD reads the socket's next bytes into b without taking them and
// without blocking: syscall.EAGAIN when there are none.
func peekFD(fd uintptr, b []byte) (int, error) {
	n, _, err := syscall.Recvfrom(int(fd), b, syscall.MSG_PEEK|syscall.MSG_DONTWAIT)
	return n, err
}
