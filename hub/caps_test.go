package hub_test

import (
	"context"
	"errors"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/belfry/belfry/hub"

	"github.com/belfry/belfry"
	"github.com/belfry/belfry/memory"
	"github.com/belfry/belfry/sqlite"
)

// cappedHub is a Hub on a real SQLite store (counting its reads per user)
// and the memory broker, with the stream limits of cfg.
func cappedHub(t *testing.T, cfg hub.Config) (*hub.Hub, *gatedStore) {
	t.Helper()
	st, err := sqlite.Open(t.Context(), filepath.Join(t.TempDir(), "b.db"))
	if err != nil {
		t.Fatal(err)
	}
	gs := &gatedStore{Store: st, gate: make(chan struct{}), reads: map[string]int{}}
	br := memory.New()
	cfg.Store, cfg.Broker, cfg.Heartbeat = gs, br, time.Hour
	hb := hub.New(cfg)
	t.Cleanup(func() { hb.CloseAll(); br.Close(); st.Close() })
	return hb, gs
}

// opener opens one stream of a user, the goroutine way or the lean way,
// and returns its Close.
type opener func(h *hub.Hub, user string) (func(), error)

var openers = map[string]opener{
	"Open": func(h *hub.Hub, user string) (func(), error) {
		s, err := h.Open(context.Background(), user, 0, false)
		if err != nil {
			return nil, err
		}
		return s.Close, nil
	},
	"Attach": func(h *hub.Hub, user string) (func(), error) {
		l, err := h.Attach(context.Background(), user, 0, false, hub.Options{})
		if err != nil {
			return nil, err
		}
		return l.Close, nil
	},
}

// TestStreamLimitsUnderConcurrency: many opens at once never hold more
// streams than the limits allow, whichever shards the users fall in; each
// refusal is the limit's error, counted; a closed stream frees its place.
func TestStreamLimitsUnderConcurrency(t *testing.T) {
	for name, open := range openers {
		t.Run(name+"/one user", func(t *testing.T) {
			const limit, tries = 5, 64
			hb, store := cappedHub(t, hub.Config{MaxStreamsPerUser: limit})
			closers := openAtOnce(t, hb, open, tries, func(int) string { return "alice" })
			if len(closers) != limit {
				t.Fatalf("%d of %d concurrent opens of one user succeeded, want the limit %d", len(closers), tries, limit)
			}
			if s := hb.Stats(); s.Streams != limit || s.RefusedUser != tries-limit || s.RefusedNode != 0 {
				t.Fatalf("stats %+v, want %d streams and %d refused for the user's limit", s, limit, tries-limit)
			}
			if n := store.readsOf("alice"); n != limit {
				t.Fatalf("the store was read %d times, want %d: a refused open must read nothing", n, limit)
			}
			// Another user is not held back by alice's limit.
			bob, err := open(hb, "bob")
			if err != nil {
				t.Fatalf("bob: %v", err)
			}
			bob()
			closers[0]()
			again, err := open(hb, "alice")
			if err != nil {
				t.Fatalf("after one of alice's streams closed: %v", err)
			}
			again()
		})
		t.Run(name+"/node", func(t *testing.T) {
			const limit, tries = 7, 64
			hb, _ := cappedHub(t, hub.Config{MaxStreams: limit, Shards: 16})
			closers := openAtOnce(t, hb, open, tries, func(i int) string { return "u" + strconv.Itoa(i) })
			if len(closers) != limit {
				t.Fatalf("%d of %d concurrent opens succeeded, want the node's limit %d", len(closers), tries, limit)
			}
			if s := hb.Stats(); s.Streams != limit || s.RefusedNode != tries-limit || s.RefusedUser != 0 {
				t.Fatalf("stats %+v, want %d streams and %d refused for the node's limit", s, limit, tries-limit)
			}
			if err := hb.CheckRoom(); !errors.Is(err, hub.ErrServerFull) {
				t.Fatalf("CheckRoom on a full node: %v", err)
			}
			closers[0]()
			if err := hb.CheckRoom(); err != nil {
				t.Fatalf("CheckRoom with a place free: %v", err)
			}
			again, err := open(hb, "late")
			if err != nil {
				t.Fatalf("after one stream closed: %v", err)
			}
			again()
		})
	}
}

// openAtOnce opens n streams from n goroutines released together, user(i)
// for the i-th, and returns the Close of those that opened. Every refusal
// must be ErrTooManyStreams or ErrServerFull, with its code.
func openAtOnce(t *testing.T, hb *hub.Hub, open opener, n int, user func(int) string) []func() {
	t.Helper()
	var (
		wg      sync.WaitGroup
		mu      sync.Mutex
		closers []func()
		start   = make(chan struct{})
	)
	for i := range n {
		wg.Go(func() {
			<-start
			c, err := open(hb, user(i))
			if err != nil {
				if !errors.Is(err, hub.ErrTooManyStreams) && !errors.Is(err, hub.ErrServerFull) {
					t.Errorf("open %d: %v, want a limit's refusal", i, err)
				}
				if code := belfry.ErrorCode(err); code != belfry.ETOOMANYSTREAMS && code != belfry.ESERVERFULL {
					t.Errorf("open %d: code %q", i, code)
				}
				return
			}
			mu.Lock()
			closers = append(closers, c)
			mu.Unlock()
		})
	}
	close(start)
	wg.Wait()
	t.Cleanup(func() {
		for _, c := range closers {
			c()
		}
	})
	return closers
}

// TestStreamLimitDefaults: a zero hub.Config allows one user 32 streams and
// the node any number; a negative MaxStreamsPerUser lifts the user's limit.
func TestStreamLimitDefaults(t *testing.T) {
	for _, c := range []struct {
		perUser, want int
	}{{0, hub.DefaultMaxStreamsPerUser}, {-1, 100}} {
		hb, _ := cappedHub(t, hub.Config{MaxStreamsPerUser: c.perUser})
		got := 0
		for got < 100 {
			s, err := hb.Open(context.Background(), "carol", 0, false)
			if err != nil {
				if !errors.Is(err, hub.ErrTooManyStreams) {
					t.Fatalf("MaxStreamsPerUser %d: open %d: %v", c.perUser, got+1, err)
				}
				break
			}
			t.Cleanup(s.Close)
			got++
		}
		if got != c.want {
			t.Fatalf("MaxStreamsPerUser %d: %d streams opened, want %d", c.perUser, got, c.want)
		}
	}
}
