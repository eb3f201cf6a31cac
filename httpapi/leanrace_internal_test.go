package httpapi

import (
	"bufio"
	"context"
	"net"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/belfry/belfry/hub"

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
	h := hub.New(hub.Config{Store: st, Broker: memory.New(), Heartbeat: time.Hour})
	t.Cleanup(h.CloseAll)
	sockets := newSocketPairs(t)
	for range 50 {
		c, tc := sockets.pair()
		ls, err := h.Attach(ctx, "alice", 0, false, hub.Options{})
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
	if s := h.Stats(); s.Streams != 0 || s.Lean != 0 {
		t.Fatalf("stats after every stream closed: %+v", s)
	}
}

// A broker resync (Hub.Resync: messages, state changes included, may have
// been lost) that comes while a lean stream is being opened, after its
// snapshot, must still end in a sync event read after the resync: the
// stream's first snapshot does not count a state change that was lost.
func TestLeanResyncDuringOpenTakesNewSnapshot(t *testing.T) {
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "b.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	h := hub.New(hub.Config{Store: st, Broker: memory.New(), Heartbeat: time.Hour})
	t.Cleanup(h.CloseAll)
	inbox := &belfry.Inbox{Store: st, Broker: memory.New()}
	for range 3 {
		if _, err := inbox.Create(ctx, belfry.Draft{UserIDs: []string{"alice"}, Message: "m"}); err != nil {
			t.Fatal(err)
		}
	}
	c, tc := newSocketPairs(t).pair()
	ls, err := h.Attach(ctx, "alice", 0, false, hub.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(ls.Close)
	// A read whose broker message was lost (this hub's broker never sees
	// it), then the broker's resync.
	now := time.Now()
	if _, err := st.SetRead(ctx, "alice", 1, &now); err != nil {
		t.Fatal(err)
	}
	h.Resync()
	ls.Start(tc)

	r := bufio.NewReader(c)
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	var syncs []string
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			t.Fatalf("no sync counting the lost read; syncs seen: %v (%v)", syncs, err)
		}
		if data, ok := strings.CutPrefix(line, "data: {\"unread_count\""); ok {
			syncs = append(syncs, data)
			if strings.HasPrefix(data, ":2,") {
				return
			}
		}
	}
}
