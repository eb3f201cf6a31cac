//go:build !unix

package bench

import "time"

// threadCPU returns 0: this system has no getrusage.
func threadCPU() time.Duration { return 0 }
