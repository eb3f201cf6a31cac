package httpapi

import (
	"net"
	"testing"
)

// socketPairs hands out connected loopback TCP pairs: the client end, and
// the server end as the tcpConn a lean stream writes to. Both ends are
// closed when the test ends.
type socketPairs struct {
	tb testing.TB
	ln net.Listener
}

func newSocketPairs(tb testing.TB) *socketPairs {
	tb.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { ln.Close() })
	return &socketPairs{tb: tb, ln: ln}
}

func (p *socketPairs) pair() (net.Conn, *tcpConn) {
	p.tb.Helper()
	c, err := net.Dial("tcp", p.ln.Addr().String())
	if err != nil {
		p.tb.Fatal(err)
	}
	p.tb.Cleanup(func() { c.Close() })
	sc, err := p.ln.Accept()
	if err != nil {
		p.tb.Fatal(err)
	}
	p.tb.Cleanup(func() { sc.Close() })
	tc, err := newTCPConn(sc.(*net.TCPConn))
	if err != nil {
		p.tb.Fatal(err)
	}
	return c, tc
}
