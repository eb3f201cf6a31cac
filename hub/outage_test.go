package hub_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/belfry/belfry/hub"

	"github.com/belfry/belfry"
	"github.com/belfry/belfry/sqlite"
)

// outageStore is the real SQLite store whose reads fail while down is set,
// as they would with the database unreachable. While hold is set, After
// first waits for release, as a read does while a driver looks for a
// database that went away.
type outageStore struct {
	*sqlite.Store
	down     atomic.Bool
	failures atomic.Int64
	hold     atomic.Bool
	release  chan struct{}
}

var errDown = belfry.Unavailable("test store", errors.New("down"))

func (s *outageStore) After(ctx context.Context, user string, after int64, limit int) ([]*belfry.Notification, error) {
	if s.hold.Load() {
		select {
		case <-s.release:
		case <-ctx.Done():
			return nil, belfry.Unavailable("test store", ctx.Err())
		}
	}
	if s.down.Load() {
		s.failures.Add(1)
		return nil, errDown
	}
	return s.Store.After(ctx, user, after, limit)
}

func (s *outageStore) Stats(ctx context.Context, user string) (belfry.Stats, error) {
	if s.down.Load() {
		s.failures.Add(1)
		return belfry.Stats{}, errDown
	}
	return s.Store.Stats(ctx, user)
}

// memConn is a client connection that takes every write.
type memConn struct {
	mu     sync.Mutex
	out    strings.Builder
	closed bool
}

func (c *memConn) TryWrite(b []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return 0, hub.ErrStreamClosed
	}
	c.out.Write(b)
	return len(b), nil
}

func (c *memConn) WriteAll(b []byte, _ time.Duration) error {
	_, err := c.TryWrite(b)
	return err
}

func (c *memConn) Alive() bool { c.mu.Lock(); defer c.mu.Unlock(); return !c.closed }

func (c *memConn) Close() error { c.mu.Lock(); defer c.mu.Unlock(); c.closed = true; return nil }

func (c *memConn) state() (string, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.out.String(), c.closed
}

// newOutageHub is a Hub over an outageStore (the real SQLite store).
func newOutageHub(t *testing.T, cfg hub.Config) (*env, *outageStore, *hub.Hub) {
	t.Helper()
	e := newEnv(t, 0)
	st := &outageStore{Store: e.store, release: make(chan struct{})}
	cfg.Store, cfg.Broker = st, e.broker
	hb := hub.New(cfg)
	t.Cleanup(hb.CloseAll)
	return e, st, hb
}

// strike stores three notifications of u without telling the Hub, takes
// the store down (or, with hang, makes its reads hang), and delivers the
// third: u's streams must read the store for ids 1 and 2.
func strike(t *testing.T, e *env, st *outageStore, hb *hub.Hub, hang bool) {
	t.Helper()
	ctx := t.Context()
	for range 3 {
		if err := e.store.Create(ctx, []*belfry.Notification{{UserID: "u", Message: "m"}}); err != nil {
			t.Fatal(err)
		}
	}
	ns, err := e.store.After(ctx, "u", 2, 10)
	if err != nil || len(ns) != 1 {
		t.Fatalf("After: %v %v", ns, err)
	}
	if hang {
		st.hold.Store(true)
	} else {
		st.down.Store(true)
	}
	hb.Receive(belfry.Message{Kind: belfry.KindNew, UserID: "u", New: ns[0]})
}

// startOutage opens a lean stream of u and strikes.
func startOutage(t *testing.T, cfg hub.Config, hang bool) (*outageStore, *hub.Hub, *memConn) {
	t.Helper()
	cfg.Heartbeat = 100 * time.Millisecond
	e, st, hb := newOutageHub(t, cfg)
	l, err := hb.Attach(t.Context(), "u", 0, false, hub.Options{})
	if err != nil {
		t.Fatal(err)
	}
	conn := &memConn{}
	l.Start(conn)
	if out, _ := conn.state(); !strings.Contains(out, "event: sync") {
		t.Fatalf("no sync: %q", out)
	}
	strike(t, e, st, hb, hang)
	return st, hb, conn
}

// A lean stream that must fill a gap while the store is down keeps its
// connection and the event, and sends the gap and the event, in order, once
// the store answers again: an outage does not make every client reconnect.
func TestStreamWaitsOutAStoreOutage(t *testing.T) {
	st, hb, conn := startOutage(t, hub.Config{}, false)
	waitFor(t, func() bool { return st.failures.Load() >= 2 }) // read, failed, retried, failed
	// Between the tries the wheel keeps beating the stream.
	waitFor(t, func() bool {
		out, _ := conn.state()
		return strings.Count(out, hub.HeartbeatComment) >= 3
	})
	if _, closed := conn.state(); closed || hb.Stats().Streams != 1 {
		t.Fatalf("the stream was cut during the outage (closed %v, %+v)", closed, hb.Stats())
	}
	st.down.Store(false)
	waitFor(t, func() bool { out, _ := conn.state(); return strings.Contains(out, "id: 3\n") })
	out, closed := conn.state()
	wantIDs(t, ids(out), 1, 3)
	if closed {
		t.Fatal("the stream was cut after the outage")
	}
}

// A store read that hangs (a database that went away, before the driver
// gives up) does not silence the stream: the wheel keeps sending
// heartbeats, between whole events, and the read's result follows.
func TestStreamBeatsDuringAHangingStoreRead(t *testing.T) {
	st, _, conn := startOutage(t, hub.Config{}, true)
	waitFor(t, func() bool {
		out, _ := conn.state()
		return strings.Count(out, hub.HeartbeatComment) >= 3
	})
	if out, closed := conn.state(); closed || len(ids(out)) != 0 {
		t.Fatalf("during the read: closed %v, ids %v", closed, ids(out))
	}
	close(st.release)
	waitFor(t, func() bool { out, _ := conn.state(); return strings.Contains(out, "id: 3\n") })
	out, _ := conn.state()
	wantIDs(t, ids(out), 1, 3)
	// Every block is a whole event or a heartbeat: nothing was written
	// into the middle of an event.
	for _, b := range strings.SplitAfter(out, "\n\n") {
		if b != "" && b != hub.HeartbeatComment && !strings.HasPrefix(b, "event: ") && !strings.HasPrefix(b, "id: ") && !strings.HasPrefix(b, "retry: ") {
			t.Fatalf("a broken block %q in %q", b, out)
		}
	}
}

// A store that stays down longer than StoreOutage cuts the stream; its
// client resumes from the last id it has.
func TestStreamCutAfterStoreOutage(t *testing.T) {
	_, hb, conn := startOutage(t, hub.Config{StoreOutage: 300 * time.Millisecond}, false)
	waitFor(t, func() bool { _, closed := conn.state(); return closed })
	if n := hb.Stats().Streams; n != 0 {
		t.Fatalf("%d streams attached after the cut", n)
	}
	if out, _ := conn.state(); len(ids(out)) != 0 {
		t.Fatalf("sent ids %v with a gap before them", ids(out))
	}
}

// openOutage is startOutage for a goroutine-path stream (HTTP/2): Open,
// the sync read, then the strike.
func openOutage(t *testing.T, cfg hub.Config, hang bool) (*outageStore, *hub.Hub, *hub.Pipe) {
	t.Helper()
	e, st, hb := newOutageHub(t, cfg)
	s, err := hb.Open(t.Context(), "u", 0, false)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	readUntil(t, s, "event: sync")
	strike(t, e, st, hb, hang)
	return st, hb, s
}

// A Pipe waits out an outage too: Next keeps answering
// (nothing, so the handler can send heartbeats) while the store fails, then
// sends the gap and the held event in order.
func TestPipeWaitsOutAStoreOutage(t *testing.T) {
	st, _, s := openOutage(t, hub.Config{}, false)
	for st.failures.Load() < 2 { // read, failed, retried, failed
		b, err := s.Next(t.Context(), time.Second)
		if err != nil || len(b) != 0 {
			t.Fatalf("Next during the outage: %q, %v", b, err)
		}
	}
	st.down.Store(false)
	wantIDs(t, ids(readUntil(t, s, "id: 3\n")), 1, 3)
}

// Past StoreOutage, Next ends the stream with the store's error.
func TestPipeEndsAfterStoreOutage(t *testing.T) {
	_, _, s := openOutage(t, hub.Config{StoreOutage: 300 * time.Millisecond}, false)
	deadline := time.Now().Add(10 * time.Second)
	for {
		b, err := s.Next(t.Context(), time.Second)
		if err != nil {
			if belfry.ErrorCode(err) != belfry.EUNAVAILABLE {
				t.Fatalf("Next: %v, want EUNAVAILABLE", err)
			}
			return
		}
		if len(b) != 0 {
			t.Fatalf("sent %q with a gap before it", b)
		}
		if time.Now().After(deadline) {
			t.Fatal("the stream was not ended")
		}
	}
}

// A store read that hangs does not hold Next past its idle time: the read
// is given up when the heartbeat is due and Next answers nothing, so the
// handler sends one; a later call reads again, and once the store answers
// the gap and the held event follow in order.
func TestPipeBeatsDuringAHangingStoreRead(t *testing.T) {
	st, _, s := openOutage(t, hub.Config{}, true)
	// Far longer than idle: a Next that waits for the read fails here.
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	for range 3 {
		b, err := s.Next(ctx, 100*time.Millisecond)
		if err != nil || len(b) != 0 {
			t.Fatalf("Next during the hanging read: %q, %v", b, err)
		}
	}
	st.hold.Store(false)
	close(st.release)
	wantIDs(t, ids(readUntil(t, s, "id: 3\n")), 1, 3)
}
