//go:build !unix

package redisbus_test

import (
	"errors"
	"os"
)

// Without SIGSTOP and SIGCONT a process cannot be frozen and thawed, so
// TestFrozenRedis skips; the rest of the file still builds.
var errNoFreeze = errors.New("no SIGSTOP on this system")

func freeze(*os.Process) error { return errNoFreeze }

func thaw(*os.Process) error { return errNoFreeze }
