package hub_test

import (
	"context"
	"fmt"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/belfry/belfry/hub"

	"github.com/belfry/belfry"
	"github.com/belfry/belfry/sqlite"
)

// gatedStore is the real SQLite store whose Stats and After wait at a gate
// while it is shut, counting the calls waiting there, and the reads of
// each user.
type gatedStore struct {
	*sqlite.Store
	shut    atomic.Bool
	gate    chan struct{}
	waiting atomic.Int64
	most    atomic.Int64

	mu    sync.Mutex
	reads map[string]int
}

func (s *gatedStore) readsOf(user string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.reads[user]
}

func (s *gatedStore) pass(ctx context.Context, user string) {
	s.mu.Lock()
	s.reads[user]++
	s.mu.Unlock()
	if !s.shut.Load() {
		return
	}
	n := s.waiting.Add(1)
	for m := s.most.Load(); n > m && !s.most.CompareAndSwap(m, n); m = s.most.Load() {
	}
	select {
	case <-s.gate:
	case <-ctx.Done():
	}
	s.waiting.Add(-1)
}

func (s *gatedStore) Stats(ctx context.Context, user string) (belfry.Stats, error) {
	s.pass(ctx, user)
	return s.Store.Stats(ctx, user)
}

func (s *gatedStore) After(ctx context.Context, user string, after int64, limit int) ([]*belfry.Notification, error) {
	s.pass(ctx, user)
	return s.Store.After(ctx, user, after, limit)
}

// gatedNode is a Hub over a gatedStore with n lean streams of users
// u0…u(n-1), each on a memConn.
type gatedNode struct {
	e       *env
	st      *gatedStore
	hub     *hub.Hub
	conns   []*memConn
	streams []*hub.Stream
}

// gatedStreams opens the node and checks each stream's first sync.
func gatedStreams(t *testing.T, n, reads int) gatedNode {
	t.Helper()
	e := newEnv(t, 0)
	st := &gatedStore{Store: e.store, gate: make(chan struct{}), reads: map[string]int{}}
	g := gatedNode{e: e, st: st, hub: hub.New(hub.Config{Store: st, Broker: e.broker, StoreReads: reads, Heartbeat: time.Hour})}
	t.Cleanup(g.hub.CloseAll)
	for i := range n {
		l, err := g.hub.Attach(t.Context(), fmt.Sprint("u", i), 0, false, hub.Options{})
		if err != nil {
			t.Fatal(err)
		}
		c := &memConn{}
		l.Start(c)
		if out, _ := c.state(); strings.Count(out, "event: sync\n") != 1 {
			t.Fatalf("stream %d: %q before the test", i, out)
		}
		g.conns, g.streams = append(g.conns, c), append(g.streams, l)
	}
	return g
}

// A broker resync of many lean streams reads the store StoreReads at a
// time, on as many goroutines: not a goroutine per stream waiting for a
// turn. Every stream still gets its fresh sync event.
func TestLeanResyncOnFewGoroutines(t *testing.T) {
	const streams, reads = 20, 2
	g := gatedStreams(t, streams, reads)
	st, hb, conns := g.st, g.hub, g.conns
	syncs := func(c *memConn) int { out, _ := c.state(); return strings.Count(out, "event: sync\n") }

	before := runtime.NumGoroutine()
	st.shut.Store(true)
	hb.Resync()
	waitFor(t, func() bool { return st.waiting.Load() == reads })
	if grown := runtime.NumGoroutine() - before; grown > reads+2 {
		t.Errorf("%d more goroutines during the resync, want at most %d", grown, reads+2)
	}
	st.shut.Store(false)
	close(st.gate)
	for i, c := range conns {
		waitFor(t, func() bool { return syncs(c) == 2 })
		if _, closed := c.state(); closed {
			t.Fatalf("stream %d was cut", i)
		}
	}
	if most := st.most.Load(); most > reads {
		t.Fatalf("%d store reads at once, want at most %d", most, reads)
	}
}

// Streams told to catch up by ResyncUsers (after a SUBSCRIBE took effect)
// each start a worker, but read the store StoreReads at a time; each then
// sends what it missed.
func TestLeanCatchUpsTakeTurns(t *testing.T) {
	const streams, reads = 20, 3
	g := gatedStreams(t, streams, reads)
	e, st, hb, conns := g.e, g.st, g.hub, g.conns
	users := make([]string, streams)
	for i := range users {
		users[i] = fmt.Sprint("u", i)
		// Stored without telling the Hub: only a read finds it.
		if err := e.store.Create(t.Context(), []*belfry.Notification{{UserID: users[i], Message: "m"}}); err != nil {
			t.Fatal(err)
		}
	}
	st.shut.Store(true)
	hb.ResyncUsers(users)
	waitFor(t, func() bool { return st.waiting.Load() == reads })
	st.shut.Store(false)
	close(st.gate)
	for i, c := range conns {
		waitFor(t, func() bool { out, _ := c.state(); return strings.Contains(out, "id: 1\n") })
		if _, closed := c.state(); closed {
			t.Fatalf("stream %d was cut", i)
		}
	}
	if most := st.most.Load(); most > reads {
		t.Fatalf("%d store reads at once, want at most %d", most, reads)
	}
}

// goroutinesIn counts the goroutines whose stack holds every one of the
// strings (a state like "[chan send" or a function name), from a dump of
// every goroutine's stack.
func goroutinesIn(parts ...string) int {
	buf := make([]byte, 1<<20)
	buf = buf[:runtime.Stack(buf, true)]
	n := 0
	for _, g := range strings.Split(string(buf), "\n\n") {
		all := true
		for _, p := range parts {
			all = all && strings.Contains(g, p)
		}
		if all {
			n++
		}
	}
	return n
}

// A stream cut while it waited for its read turn reads nothing once it
// gets one: the read would be for nobody.
func TestLeanCutWhileWaitingReadsNothing(t *testing.T) {
	g := gatedStreams(t, 2, 1)
	for _, u := range []string{"u0", "u1"} {
		if err := g.e.store.Create(t.Context(), []*belfry.Notification{{UserID: u, Message: "m"}}); err != nil {
			t.Fatal(err)
		}
	}
	before := g.st.readsOf("u1")
	g.st.shut.Store(true)
	g.hub.ResyncUsers([]string{"u0"})
	waitFor(t, func() bool { return g.st.waiting.Load() == 1 }) // u0 holds the only turn
	g.hub.ResyncUsers([]string{"u1"})
	waitFor(t, func() bool { return goroutinesIn("[chan send", "(*Stream).storeCall") == 1 })
	g.streams[1].Close()
	g.st.shut.Store(false)
	close(g.st.gate)
	waitFor(t, func() bool { out, _ := g.conns[0].state(); return strings.Contains(out, "id: 1\n") })
	// Both workers have had their turn and are gone.
	waitFor(t, func() bool { return goroutinesIn("(*Stream).work") == 0 })
	if n := g.st.readsOf("u1") - before; n != 0 {
		t.Fatalf("u1 was read %d times after its stream was cut", n)
	}
}
