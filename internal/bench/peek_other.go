//go:build !unix

package bench

import "errors"

// peekFD cannot peek on this system: an idle connection is never reused.
func peekFD(uintptr, []byte) (int, error) { return 0, errors.ErrUnsupported }
