package postgres_test

import (
	"io"
	"net"
	"net/url"
	"sync"
	"testing"
)

// proxy forwards TCP connections from a local port to the database, so a
// test can cut a Store off from a live PostgreSQL and bring it back. Cut
// closes every connection and refuses new ones, as a network partition or
// a restarting server would; Resume forwards again.
type proxy struct {
	ln     net.Listener
	target string

	mu    sync.Mutex
	conns []net.Conn
	down  bool
	wg    sync.WaitGroup
}

// startProxy forwards to the host:port of dbURL and returns the proxy and
// dbURL rewritten to go through it. The proxy stops when the test ends.
func startProxy(tb testing.TB, dbURL string) (*proxy, string) {
	tb.Helper()
	u, err := url.Parse(dbURL)
	if err != nil {
		tb.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	p := &proxy{ln: ln, target: u.Host}
	p.wg.Go(p.accept)
	tb.Cleanup(p.stop)
	u.Host = ln.Addr().String()
	return p, u.String()
}

func (p *proxy) accept() {
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		p.mu.Lock()
		down := p.down
		p.mu.Unlock()
		if down {
			c.Close()
			continue
		}
		d, err := net.Dial("tcp", p.target)
		if err != nil {
			c.Close()
			continue
		}
		p.mu.Lock()
		p.conns = append(p.conns, c, d)
		p.mu.Unlock()
		p.wg.Go(func() { pipe(c, d) })
		p.wg.Go(func() { pipe(d, c) })
	}
}

// pipe copies until either side fails, then closes both.
func pipe(dst, src net.Conn) {
	_, _ = io.Copy(dst, src)
	dst.Close()
	src.Close()
}

// Cut closes every forwarded connection and refuses new ones until Resume.
func (p *proxy) Cut() {
	p.mu.Lock()
	p.down = true
	conns := p.conns
	p.conns = nil
	p.mu.Unlock()
	for _, c := range conns {
		c.Close()
	}
}

// Resume forwards new connections again.
func (p *proxy) Resume() {
	p.mu.Lock()
	p.down = false
	p.mu.Unlock()
}

func (p *proxy) stop() {
	p.ln.Close()
	p.Cut()
	p.wg.Wait()
}
