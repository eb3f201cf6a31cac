//go:build !unix

package main

// openFilesLimit reports false: this system has no RLIMIT_NOFILE, and
// --max-streams defaults to maxStreamsUnknownLimit.
func openFilesLimit() (uint64, bool) { return 0, false }
