//go:build unix

// Package cputime reads the CPU time the process has used, the figure the
// benchmarks report per operation: on a shared machine other jobs move it
// far less than they move throughput.
package cputime

import (
	"syscall"
	"time"
)

// Process returns the user and system CPU time of the whole process so
// far, or 0 when the system will not tell.
func Process() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
