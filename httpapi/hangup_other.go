//go:build unix && !linux

package httpapi

import "errors"

// Without epoll there is no hangup watcher: the heartbeat wheel finds a
// client that hung up at its next visit (see hangup_linux.go). Only the
// lean connections (leanconn.go, unix only) use it, so systems without
// them, such as Windows, have neither file.
type hangupWatcher struct{}

var hangups hangupWatcher

func (*hangupWatcher) watch(int, func()) (uint64, error) {
	return 0, errors.New("httpapi: no hangup watcher on this system")
}

func (*hangupWatcher) forget(uint64) {}
