package hub_test

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/belfry/belfry/hub"

	"github.com/belfry/belfry"
)

// bigBacklog stores n notifications of user, each about 20 KiB on the wire
// (a full message and data near their limits).
func bigBacklog(t *testing.T, e *env, user string, n int) {
	t.Helper()
	data := []byte(`{"blob":"` + strings.Repeat("d", belfry.MaxDataBytes-16) + `"}`)
	for range n {
		if _, err := e.inbox.Create(t.Context(), belfry.Draft{UserIDs: []string{user},
			Message: strings.Repeat("m", belfry.MaxMessageBytes), Data: data}); err != nil {
			t.Fatal(err)
		}
	}
}

// pageBound is the most one write of a replay may hold: a page, plus the
// one notification that took it over ReplayPageBytes, plus the sync.
const pageBound = hub.ReplayPageBytes + 24<<10

// sizeConn is a connection that takes everything and records the largest
// single write.
type sizeConn struct {
	memConn
	maxWrite int
}

func (c *sizeConn) TryWrite(b []byte) (int, error) {
	c.mu.Lock()
	c.maxWrite = max(c.maxWrite, len(b))
	c.mu.Unlock()
	return c.memConn.TryWrite(b)
}

func (c *sizeConn) WriteAll(b []byte, _ time.Duration) error {
	_, err := c.TryWrite(b)
	return err
}

// A resume of a backlog many pages long is written page by page on both
// stream kinds: no write (lean) and no Next (goroutine) holds more than
// about ReplayPageBytes, and the client still gets every id once, in
// order, with the sync after them.
func TestReplayIsWrittenInBoundedPages(t *testing.T) {
	e := newEnv(t, 0)
	bigBacklog(t, e, "u", 60) // about 1.2 MB: five pages

	t.Run("conn", func(t *testing.T) {
		l, err := e.hub.Attach(t.Context(), "u", 0, true, hub.Options{})
		if err != nil {
			t.Fatal(err)
		}
		c := &sizeConn{}
		l.Start(c)
		defer l.Close()
		out, _ := c.state()
		wantIDs(t, ids(out), 1, 60)
		if !strings.HasSuffix(out, `"last_id":60,"by_category":{}}`+"\n\n") {
			t.Fatalf("no sync after the replay: ...%s", out[max(len(out)-80, 0):])
		}
		if c.maxWrite > pageBound {
			t.Fatalf("one write of %d bytes, want at most %d", c.maxWrite, pageBound)
		}
	})
	t.Run("pipe", func(t *testing.T) {
		s, err := e.hub.Open(t.Context(), "u", 0, true)
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		wantIDs(t, ids(readPagesUntilSync(t, s)), 1, 60)
	})
}

// A live stream that must catch up a long gap (a broker resync after an
// outage, here) reads it page by page too.
func TestCatchUpIsWrittenInBoundedPages(t *testing.T) {
	e := newEnv(t, 0)
	t.Run("conn", func(t *testing.T) {
		l, err := e.hub.Attach(t.Context(), "l", 0, false, hub.Options{})
		if err != nil {
			t.Fatal(err)
		}
		c := &sizeConn{}
		l.Start(c)
		defer l.Close()
		bigBacklogQuiet(t, e, "l", 60)
		e.hub.ResyncUsers([]string{"l"})
		waitFor(t, func() bool { out, _ := c.state(); return len(ids(out)) == 60 })
		out, _ := c.state()
		wantIDs(t, ids(out), 1, 60)
		if c.maxWrite > pageBound {
			t.Fatalf("one write of %d bytes, want at most %d", c.maxWrite, pageBound)
		}
	})
	t.Run("pipe", func(t *testing.T) {
		s, err := e.hub.Open(t.Context(), "g", 0, false)
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		readUntil(t, s, "event: sync")
		bigBacklogQuiet(t, e, "g", 60)
		e.hub.Resync()
		wantIDs(t, ids(readPagesUntilSync(t, s)), 1, 60)
	})
}

// bigBacklogQuiet stores as bigBacklog does but without telling the Hub
// (straight to the store), as if the broker had lost every message.
func bigBacklogQuiet(t *testing.T, e *env, user string, n int) {
	t.Helper()
	data := []byte(`{"blob":"` + strings.Repeat("d", belfry.MaxDataBytes-16) + `"}`)
	for range n {
		ns := []*belfry.Notification{{UserID: user, Message: strings.Repeat("m", belfry.MaxMessageBytes), Data: data}}
		if err := e.store.Create(t.Context(), ns); err != nil {
			t.Fatal(err)
		}
	}
}

// At most ReplaysPerUser replays of one user run at once; the next waits
// (until a place is given back, or its context ends), and other users do
// not wait at all.
func TestReplayPlacesPerUser(t *testing.T) {
	e := newEnv(t, 0)
	hb := hub.New(hub.Config{Store: e.store, Broker: e.broker, ReplaysPerUser: 2})
	ctx := t.Context()
	r1, err := hb.EnterReplay(ctx, "u")
	if err != nil {
		t.Fatal(err)
	}
	r2, err := hb.EnterReplay(ctx, "u")
	if err != nil {
		t.Fatal(err)
	}
	if r, err := hb.EnterReplay(ctx, "other"); err != nil {
		t.Fatalf("another user waited: %v", err)
	} else {
		r()
	}

	short, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
	defer cancel()
	if _, err := hb.EnterReplay(short, "u"); belfry.ErrorCode(err) != belfry.EUNAVAILABLE {
		t.Fatalf("a third replay of u got a place (err %v)", err)
	}

	var wg sync.WaitGroup
	got := make(chan func(), 1)
	wg.Go(func() {
		r, err := hb.EnterReplay(ctx, "u")
		if err != nil {
			t.Error(err)
			return
		}
		got <- r
	})
	select {
	case <-got:
		t.Fatal("a third replay of u got a place while two ran")
	default:
	}
	r1()
	r3 := <-got
	wg.Wait()
	r2()
	r3()
}

// readPagesUntilSync reads s until a sync event, failing the test if one
// Next returns more than a page, and returns everything read.
func readPagesUntilSync(t *testing.T, s *hub.Pipe) string {
	t.Helper()
	var out strings.Builder
	for !strings.Contains(out.String(), "event: sync") {
		b, err := s.Next(t.Context(), time.Second)
		if err != nil {
			t.Fatal(err)
		}
		if len(b) > pageBound {
			t.Fatalf("Next returned %d bytes, want at most %d", len(b), pageBound)
		}
		out.Write(b)
	}
	return out.String()
}
