//go:build !unix

package main

import "os"

// lockFile does not lock where flock is missing (Windows): a second serve
// on one SQLite file is not detected there.
func lockFile(*os.File) error { return nil }
