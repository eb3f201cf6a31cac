package httpapi

import (
	"errors"
	"sync"
	"syscall"
)

// A lean stream reads nothing from its client, so a client that hangs up
// used to be found only by the heartbeat wheel (a peek at each visit, four
// per heartbeat interval: up to 5 s by default) or by the next write. Its
// descriptor was held that long: after a mass reconnect, one process
// briefly needed twice its streams' descriptors, against an open-files cap
// that leaves room for only one set. The hangup watcher is one epoll
// instance of its own, separate from Go's poller, in which each lean
// connection is registered for EPOLLRDHUP once: one goroutine blocked in
// epoll_wait learns of a hangup at once and closes the stream. The wheel
// stays, for peers that vanish without a FIN.
//
// A registration carries a token, not the descriptor: a descriptor number
// is reused as soon as it is closed, a token never. The kernel drops a
// registration when its socket is closed, and forget drops the token, so a
// late event for a closed stream finds nothing to call.

type hangupWatcher struct {
	once sync.Once
	epfd int
	err  error

	mu     sync.Mutex
	next   uint64
	onHang map[uint64]func()
}

// hangups serves every Server of the process; its goroutine lives as long
// as the process, like Go's own poller.
var hangups hangupWatcher

var errNoWatcher = errors.New("httpapi: no hangup watcher")

func (h *hangupWatcher) start() {
	h.epfd, h.err = syscall.EpollCreate1(syscall.EPOLL_CLOEXEC)
	if h.err != nil {
		return
	}
	h.onHang = map[uint64]func(){}
	go h.run()
}

// watch calls f once when the peer of the socket fd hangs up (or the
// socket fails), unless forget(token) came first. f must not block for
// long: it runs on the watcher's goroutine.
func (h *hangupWatcher) watch(fd int, f func()) (uint64, error) {
	h.once.Do(h.start)
	if h.err != nil {
		return 0, errors.Join(errNoWatcher, h.err)
	}
	h.mu.Lock()
	h.next++
	tok := h.next
	h.onHang[tok] = f
	h.mu.Unlock()
	// One report, then the registration stays quiet (a hangup does not go
	// away). EPOLLHUP and EPOLLERR are reported without asking.
	ev := syscall.EpollEvent{Events: syscall.EPOLLRDHUP | syscall.EPOLLONESHOT,
		Fd: int32(uint32(tok)), Pad: int32(uint32(tok >> 32))}
	if err := syscall.EpollCtl(h.epfd, syscall.EPOLL_CTL_ADD, fd, &ev); err != nil {
		h.forget(tok)
		return 0, err
	}
	return tok, nil
}

// forget drops token's callback; called before its socket is closed.
func (h *hangupWatcher) forget(tok uint64) {
	h.mu.Lock()
	delete(h.onHang, tok)
	h.mu.Unlock()
}

func (h *hangupWatcher) run() {
	evs := make([]syscall.EpollEvent, 128)
	for {
		n, err := syscall.EpollWait(h.epfd, evs, -1)
		if err != nil {
			if err == syscall.EINTR {
				continue
			}
			return // the epoll descriptor is broken; the wheel still works
		}
		for _, ev := range evs[:n] {
			tok := uint64(uint32(ev.Fd)) | uint64(uint32(ev.Pad))<<32
			h.mu.Lock()
			f := h.onHang[tok]
			delete(h.onHang, tok)
			h.mu.Unlock()
			if f != nil {
				f()
			}
		}
	}
}
