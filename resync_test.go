package belfry_test

import (
	"context"
	"fmt"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/belfry/belfry"
	"github.com/belfry/belfry/sqlite"
)

// gatedStore is the real SQLite store whose Stats and After wait at a gate
// while it is shut, counting the calls waiting there.
type gatedStore struct {
	*sqlite.Store
	shut    atomic.Bool
	gate    chan struct{}
	waiting atomic.Int64
	most    atomic.Int64
}

func (s *gatedStore) pass(ctx context.Context) {
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
	s.pass(ctx)
	return s.Store.Stats(ctx, user)
}

func (s *gatedStore) After(ctx context.Context, user string, after int64, limit int) ([]*belfry.Notification, error) {
	s.pass(ctx)
	return s.Store.After(ctx, user, after, limit)
}

// gatedLeanStreams opens n lean streams of users u0…u(n-1) on a Hub over a
// gatedStore, each on a memConn, and checks their first sync event.
func gatedLeanStreams(t *testing.T, n, reads int) (*env, *gatedStore, *belfry.Hub, []*memConn) {
	t.Helper()
	e := newEnv(t, 0)
	st := &gatedStore{Store: e.store, gate: make(chan struct{})}
	hub := belfry.NewHub(belfry.HubConfig{Store: st, Broker: e.broker, StoreReads: reads})
	t.Cleanup(hub.CloseAll)
	conns := make([]*memConn, n)
	for i := range conns {
		l, err := hub.OpenLean(t.Context(), fmt.Sprint("u", i), 0, false, belfry.LeanOptions{Heartbeat: time.Hour})
		if err != nil {
			t.Fatal(err)
		}
		conns[i] = &memConn{}
		l.Start(conns[i])
		if out, _ := conns[i].state(); strings.Count(out, "event: sync\n") != 1 {
			t.Fatalf("stream %d: %q before the test", i, out)
		}
	}
	return e, st, hub, conns
}

// A broker resync of many lean streams reads the store StoreReads at a
// time, on as many goroutines: not a goroutine per stream waiting for a
// turn. Every stream still gets its fresh sync event.
func TestLeanResyncOnFewGoroutines(t *testing.T) {
	const streams, reads = 20, 2
	_, st, hub, conns := gatedLeanStreams(t, streams, reads)
	syncs := func(c *memConn) int { out, _ := c.state(); return strings.Count(out, "event: sync\n") }

	before := runtime.NumGoroutine()
	st.shut.Store(true)
	hub.Resync()
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
	e, st, hub, conns := gatedLeanStreams(t, streams, reads)
	users := make([]string, streams)
	for i := range users {
		users[i] = fmt.Sprint("u", i)
		// Stored without telling the Hub: only a read finds it.
		if err := e.store.Create(t.Context(), []*belfry.Notification{{UserID: users[i], Message: "m"}}); err != nil {
			t.Fatal(err)
		}
	}
	st.shut.Store(true)
	hub.ResyncUsers(users)
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
