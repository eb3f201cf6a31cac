//go:build unix

package redisbus_test

import (
	"os"
	"syscall"
)

// freeze stops p (SIGSTOP): its sockets stay open, but it answers nothing.
func freeze(p *os.Process) error { return p.Signal(syscall.SIGSTOP) }

// thaw resumes a process that freeze stopped (SIGCONT).
func thaw(p *os.Process) error { return p.Signal(syscall.SIGCONT) }
