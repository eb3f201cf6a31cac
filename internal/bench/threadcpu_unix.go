//go:build unix

package bench

import (
	"syscall"
	"time"
)

// rusageThread is RUSAGE_THREAD: getrusage for the calling thread only.
const rusageThread = 1

// threadCPU returns the CPU time of the calling thread (Linux), or 0.
func threadCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(rusageThread, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
