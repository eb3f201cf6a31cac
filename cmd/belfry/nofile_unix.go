//go:build unix

package main

import "syscall"

// openFilesLimit returns the process's open-files limit (the soft
// RLIMIT_NOFILE), and false when it cannot be read.
func openFilesLimit() (uint64, bool) {
	var rl syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &rl); err != nil {
		return 0, false
	}
	return uint64(rl.Cur), true
}
