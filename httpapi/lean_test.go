package httpapi_test

import (
	"bufio"
	"fmt"
	"net"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"
)

// rawStream is a stream read over a plain TCP connection, so the test
// controls when (and whether) the client reads.
type rawStream struct {
	conn net.Conn
	r    *bufio.Reader
}

func (e *env) rawStream(t *testing.T, user string, rcvbuf int) *rawStream {
	t.Helper()
	u, _ := url.Parse(e.url)
	var d net.Dialer
	c, err := d.Dial("tcp", u.Host)
	if err != nil {
		t.Fatal(err)
	}
	if rcvbuf > 0 {
		if err := c.(*net.TCPConn).SetReadBuffer(rcvbuf); err != nil {
			t.Fatal(err)
		}
	}
	t.Cleanup(func() { c.Close() })
	fmt.Fprintf(c, "GET /notifications/stream?token=%s HTTP/1.1\r\nHost: %s\r\n\r\n", e.token(user), u.Host)
	return &rawStream{conn: c, r: bufio.NewReaderSize(c, 64<<10)}
}

// until reads lines until one has the prefix, returning the ids seen.
func (s *rawStream) until(t *testing.T, prefix string) []int64 {
	t.Helper()
	var ids []int64
	s.conn.SetReadDeadline(time.Now().Add(wait))
	for {
		line, err := s.r.ReadString('\n')
		if err != nil {
			t.Fatalf("reading the stream: %v (ids so far %v)", err, ids)
		}
		if v, ok := strings.CutPrefix(line, "id: "); ok {
			id, _ := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
			ids = append(ids, id)
		}
		if strings.HasPrefix(line, prefix) {
			return ids
		}
	}
}

// A client that goes away without a word is found by the heartbeat wheel
// (a peek, then the write) and detached, with no publish needed.
func TestLeanDeadPeerDetected(t *testing.T) {
	e := newEnv(t, envOpts{heartbeat: 30 * time.Millisecond})
	s := e.rawStream(t, "gone", 0)
	s.until(t, "event: sync")
	if st := e.hub.Stats(); st.Lean != 1 || st.Streams != 1 {
		t.Fatalf("stats %+v, want one lean stream", st)
	}
	s.until(t, ": ping") // heartbeats flow
	s.conn.Close()
	eventually(t, "the dead stream detached", func() bool { st := e.hub.Stats(); return st.Streams == 0 && st.Lean == 0 })
}

// A client that stops reading makes the socket refuse writes: the publisher
// does not wait, the stream's backlog goes to a short-lived worker, and
// when the client reads again it gets everything, in order, exactly once.
func TestLeanBlockedWriteCatchesUp(t *testing.T) {
	e := newEnv(t, envOpts{queue: 1000, sndbuf: 8192})
	s := e.rawStream(t, "slowpoke", 0)
	s.until(t, "event: sync")
	big := strings.Repeat("x", 4000)
	const n = 150 // ~600 KiB: more than the two sockets hold
	for range n {
		e.publish("slowpoke", big) // returns although the client reads nothing
	}
	if st := e.hub.Stats(); st.Slow != 0 || st.Streams != 1 || st.Blocked == 0 {
		t.Fatalf("stats %+v: the stream should be backed up, not cut", st)
	}
	ids := s.until(t, "id: "+strconv.Itoa(n))
	ids = append(ids, s.until(t, "data: ")...)
	if len(ids) != n {
		t.Fatalf("got %d ids, want %d", len(ids), n)
	}
	for i, id := range ids {
		if id != int64(i+1) {
			t.Fatalf("ids out of order at %d: %v", i, ids[max(0, i-3):i+1])
		}
	}
	e.publish("slowpoke", "live again")
	if got := s.until(t, "id: "); len(got) != 1 || got[0] != n+1 {
		t.Fatalf("after catching up: %v", got)
	}
}

// Shutdown closes lean connections, which net/http's own Shutdown never
// sees once hijacked.
func TestLeanShutdownClosesConnections(t *testing.T) {
	e := newEnv(t, envOpts{})
	s := e.rawStream(t, "bye", 0)
	s.until(t, "event: sync")
	e.hub.CloseAll()
	s.conn.SetReadDeadline(time.Now().Add(wait))
	for {
		if _, err := s.r.ReadString('\n'); err != nil {
			if ne, ok := err.(net.Error); ok && ne.Timeout() {
				t.Fatal("connection still open after CloseAll")
			}
			return
		}
	}
}
