package hub_test

import (
	"sync"
	"testing"

	"github.com/belfry/belfry/hub"

	"github.com/belfry/belfry"
)

// A broker may call ResyncUsers for a user whose lean stream is still
// being opened (Redis confirmed the SUBSCRIBE that the attach caused):
// Attach must not race with it. Run with -race.
func TestAttachConcurrentResyncUsers(t *testing.T) {
	e := newEnv(t, 16)
	ctx := t.Context()
	for i := range 3 {
		if _, err := e.inbox.Create(ctx, belfry.Draft{UserIDs: []string{"alice"}, Message: "m"}); err != nil {
			t.Fatal(i, err)
		}
	}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		for {
			select {
			case <-stop:
				return
			default:
				e.hub.ResyncUsers([]string{"alice"})
			}
		}
	})
	for range 50 {
		l, err := e.hub.Attach(ctx, "alice", 1, true, hub.Options{})
		if err != nil {
			t.Fatal(err)
		}
		l.Close()
	}
	close(stop)
	wg.Wait()
}

// hangupConn takes the first n bytes of each write and, on the first
// write, reports a hangup from another goroutine as a server's hangup
// watcher does: the stream is ended while Start is still in it.
type hangupConn struct {
	memConn
	n      int
	stream *hub.Stream
	ended  chan struct{}
	once   sync.Once
}

func (c *hangupConn) TryWrite(b []byte) (int, error) {
	c.once.Do(func() {
		go func() {
			c.stream.End(hub.ErrClientGone)
			close(c.ended)
		}()
	})
	return c.memConn.TryWrite(b[:min(c.n, len(b))])
}

// A client that hangs up while Start writes the response head (the
// head's rest still unwritten) ends the stream cleanly: Start must not
// race with the cut, and the connection ends closed. Run with -race.
func TestHangupDuringStart(t *testing.T) {
	e := newEnv(t, 16)
	for range 20 {
		l, err := e.hub.Attach(t.Context(), "alice", 0, false, hub.Options{Head: []byte("HTTP/1.1 200 OK\r\n\r\nretry: 1000\n\n")})
		if err != nil {
			t.Fatal(err)
		}
		c := &hangupConn{n: 4, stream: l, ended: make(chan struct{})}
		l.Start(c)
		<-c.ended
		if _, closed := c.state(); !closed {
			t.Fatal("the connection of a stream ended by a hangup is open")
		}
	}
}
