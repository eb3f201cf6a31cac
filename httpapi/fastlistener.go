package httpapi

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"
)

// FastListener serves publish connections itself and hands every other
// connection to net/http, which Serves the listener as usual.
//
// A publisher keeps one HTTP/1.1 connection and sends request after
// request; net/http spends about a quarter of a publish's CPU on it (a
// background read and two dozen allocations per request). A connection
// whose first request is a publish (POST /api/notifications, or Pusher's
// POST /apps/…) is served here instead: the request is parsed in place,
// the same handler runs, and the answer goes out in one write. Only plain
// requests take this path: anything else (chunked bodies, Expect, Upgrade,
// HTTP/1.0, odd headers, another endpoint) is handed to net/http together
// with the bytes already read, and the connection stays there.
//
// The first request is looked at without reading it (MSG_PEEK), so a
// connection handed over at once is the accepted connection itself: lean
// streams keep their descriptor and pay nothing. Systems without the peek
// hand every connection over.
//
// Not for TLS: give net/http the plain listener there.
type FastListener struct {
	ln      net.Listener
	handler http.Handler
	o       HTTPOptions
	log     *slog.Logger

	handoff chan net.Conn
	done    chan struct{} // closed by Close
	errc    chan error    // the accept loop's final error

	// closed is set by Close, under mu, before it looks at the
	// connections; setBusy reads it without the lock.
	closed atomic.Bool

	mu       sync.Mutex
	conns    map[*fastConn]struct{}
	triaging map[net.Conn]struct{}
	loopDone chan struct{}
}

// NewFastListener starts accepting on ln. handler serves the fast
// requests: give it the *http.Server's Handler. o gives the timeouts, as
// for NewHTTPServer.
func NewFastListener(ln net.Listener, handler http.Handler, o HTTPOptions) *FastListener {
	o = o.withDefaults()
	l := &FastListener{ln: ln, handler: handler, o: o, log: o.Logger,
		handoff: make(chan net.Conn), done: make(chan struct{}), errc: make(chan error, 1),
		conns: map[*fastConn]struct{}{}, triaging: map[net.Conn]struct{}{}, loopDone: make(chan struct{})}
	go l.acceptLoop()
	return l
}

// Accept returns the next connection for net/http.
func (l *FastListener) Accept() (net.Conn, error) {
	select {
	case c := <-l.handoff:
		return c, nil
	case <-l.done:
		return nil, net.ErrClosed
	case err := <-l.errc:
		l.errc <- err // every later Accept returns it too
		return nil, err
	}
}

// Addr is the address listened on.
func (l *FastListener) Addr() net.Addr { return l.ln.Addr() }

// Close stops accepting and closes the fast connections that are between
// requests; one serving a request closes once it has answered. net/http's
// Shutdown and Close call it.
func (l *FastListener) Close() error {
	l.mu.Lock()
	if !l.closed.CompareAndSwap(false, true) {
		l.mu.Unlock()
		return nil
	}
	for c := range l.conns {
		if !c.busy.Load() {
			c.nc.Close()
		}
	}
	for c := range l.triaging {
		c.Close()
	}
	l.mu.Unlock()
	close(l.done)
	err := l.ln.Close()
	<-l.loopDone
	return err
}

// Shutdown closes the listener, then waits until the fast requests being
// served have been answered, or ctx ends (it then closes them and returns
// ctx's error). Call it beside the *http.Server's Shutdown.
func (l *FastListener) Shutdown(ctx context.Context) error {
	l.Close()
	wait := time.Millisecond
	for {
		l.mu.Lock()
		n := len(l.conns)
		if n > 0 && ctx.Err() != nil {
			for c := range l.conns {
				c.nc.Close()
			}
		}
		l.mu.Unlock()
		if n == 0 {
			return nil
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		t := time.NewTimer(wait)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
		}
		wait = min(2*wait, 100*time.Millisecond)
	}
}

func (l *FastListener) acceptLoop() {
	defer close(l.loopDone)
	var backoff time.Duration
	for {
		c, err := l.ln.Accept()
		if err != nil {
			select {
			case <-l.done:
				return
			default:
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() || isTemporary(err) {
				// Out of descriptors, say: wait as net/http does.
				backoff = min(max(2*backoff, 5*time.Millisecond), time.Second)
				l.log.Warn("accept", "err", err, "retry_in", backoff)
				t := time.NewTimer(backoff)
				select {
				case <-t.C:
				case <-l.done:
					t.Stop()
					return
				}
				continue
			}
			l.errc <- err
			return
		}
		backoff = 0
		go l.triage(c)
	}
}

// isTemporary reports a transient accept error (EMFILE, ECONNABORTED…),
// as net/http judges it.
func isTemporary(err error) bool {
	var t interface{ Temporary() bool }
	return errors.As(err, &t) && t.Temporary()
}

// triage peeks at the first request of c and serves it here or hands it
// over.
func (l *FastListener) triage(c net.Conn) {
	if !l.hold(c, true) {
		return
	}
	fast, err := peekFast(c, l.o.ReadHeaderTimeout)
	l.hold(c, false)
	switch {
	case err != nil: // silent, or gone before a request line
		c.Close()
	case !fast:
		l.give(c)
	default:
		fc := newFastConn(l, c)
		if l.add(fc) {
			fc.serve()
		} else {
			c.Close()
		}
	}
}

// give hands c to net/http.
func (l *FastListener) give(c net.Conn) {
	select {
	case l.handoff <- c:
	case <-l.done:
		c.Close()
	}
}

// hold registers c as being triaged (Close closes it), or forgets it. It
// reports false, having closed c, once the listener is closed.
func (l *FastListener) hold(c net.Conn, on bool) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if !on {
		delete(l.triaging, c)
		return true
	}
	if l.closed.Load() {
		c.Close()
		return false
	}
	l.triaging[c] = struct{}{}
	return true
}

// setBusy marks fc as serving a request (busy) or as waiting for one.
// Once the listener is closed it reports false instead of marking it
// waiting: the caller closes the connection. (Close sets closed before it
// looks at busy, and setBusy sets busy before it looks at closed, so one
// of the two always sees the other.)
func (l *FastListener) setBusy(fc *fastConn, busy bool) bool {
	fc.busy.Store(busy)
	return busy || !l.closed.Load()
}

// add registers fc; false once the listener is closed.
func (l *FastListener) add(fc *fastConn) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed.Load() {
		return false
	}
	l.conns[fc] = struct{}{}
	return true
}

// forget drops fc, whose connection is closed or handed over.
func (l *FastListener) forget(fc *fastConn) {
	l.mu.Lock()
	delete(l.conns, fc)
	l.mu.Unlock()
}
