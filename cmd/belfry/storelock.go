package main

import (
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"

	"github.com/belfry/belfry/sqlite"
)

// errLocked is lockFile's answer when another process (or another Run in
// this one) holds the lock.
var errLocked = errors.New("locked")

// lockStore keeps a second belfry serve off the SQLite file of a running
// one: each server has its own in-process broker, so two on one file
// would each publish to their own streams only, and silently miss the
// other's. It holds an exclusive lock on FILE.lock beside the database
// until unlock is called. Other stores, and :memory:, need no lock
// (unlock is then a no-op); tools that open the database without serving
// do not take it.
func lockStore(store string) (unlock func(), err error) {
	if schemeOf(store) != "sqlite" {
		return func() {}, nil
	}
	path, err := sqlite.ParseDSN(store)
	if err != nil || path == ":memory:" || strings.HasPrefix(path, "file:") {
		return func() {}, nil // openStore reports a bad DSN; memory needs no lock
	}
	lock := path + ".lock"
	f, err := os.OpenFile(lock, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("store %s: %w", path, err)
	}
	if err := lockFile(f); err != nil {
		owner := ""
		if b, rerr := os.ReadFile(lock); rerr == nil && len(b) > 0 {
			owner = " (process " + strings.TrimSpace(string(b)) + ")"
		}
		f.Close()
		if errors.Is(err, errLocked) {
			return nil, fmt.Errorf("another belfry serve%s is using %s (it holds %s): stop it, or give this one another --store. "+
				"Two servers on one SQLite file would each miss the other's streams", owner, path, lock)
		}
		return nil, fmt.Errorf("locking %s: %w", lock, err)
	}
	// Who holds it, for the message above; the lock is what counts.
	if err := f.Truncate(0); err == nil {
		_, _ = f.WriteAt([]byte(strconv.Itoa(os.Getpid())+"\n"), 0)
	}
	return func() { f.Close() }, nil // closing releases the lock
}
