package bench

import (
	"fmt"
	"os"
	"runtime/pprof"
)

// startCPUProfile profiles this process into file until the returned stop
// is called, so the load generator's own cost can be looked at with
// `go tool pprof`. Worker processes are not profiled: use --procs 1.
func startCPUProfile(file string) (stop func(), err error) {
	f, err := os.Create(file)
	if err != nil {
		return nil, fmt.Errorf("cpu profile: %w", err)
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return nil, fmt.Errorf("cpu profile: %w", err)
	}
	return func() { pprof.StopCPUProfile(); f.Close() }, nil
}
