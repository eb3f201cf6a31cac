package httpapi

import (
	"context"
	"net"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/belfry/belfry"
	"github.com/belfry/belfry/memory"
	"github.com/belfry/belfry/sqlite"
)

// Shutdown may cut a lean stream while its handler is starting it on the
// hijacked connection: Close (the cut) and Start must not race on the
// stream's connection, and the connection must end up closed. Run with
// -race.
func TestLeanCloseConcurrentWithStart(t *testing.T) {
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "b.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	hub := belfry.NewHub(belfry.HubConfig{Store: st, Broker: memory.New()})
	t.Cleanup(hub.CloseAll)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	for range 50 {
		c, err := net.Dial("tcp", ln.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		sc, err := ln.Accept()
		if err != nil {
			t.Fatal(err)
		}
		tc, err := newTCPConn(sc.(*net.TCPConn))
		if err != nil {
			t.Fatal(err)
		}
		ls, err := hub.OpenLean(ctx, "alice", 0, false, belfry.LeanOptions{Heartbeat: time.Hour})
		if err != nil {
			t.Fatal(err)
		}
		var wg sync.WaitGroup
		wg.Go(ls.Close)
		ls.Start(tc)
		wg.Wait()
		// Whichever came first, the server side is closed: the client
		// reads to the end of the stream.
		c.SetReadDeadline(time.Now().Add(10 * time.Second))
		buf := make([]byte, 4096)
		for {
			if _, err := c.Read(buf); err != nil {
				if ne, ok := err.(net.Error); ok && ne.Timeout() {
					t.Fatal("the stream's connection was left open")
				}
				break
			}
		}
		c.Close()
	}
	if s := hub.Stats(); s.Streams != 0 || s.Lean != 0 {
		t.Fatalf("stats after every stream closed: %+v", s)
	}
}
