package hub_test

import (
	"errors"
	"path/filepath"
	"testing"
	"time"

	"github.com/belfry/belfry/hub"
	"github.com/belfry/belfry/memory"
	"github.com/belfry/belfry/presencetest"
	"github.com/belfry/belfry/sqlite"
)

// The Hub tells its Presence of every stream that opens and ends: counts
// follow, the first and last streams are sent on Changes, and a stream
// refused for a limit is not counted.
func TestHubTracksPresence(t *testing.T) {
	ctx := t.Context()
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "b.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	br := memory.New()
	t.Cleanup(func() { br.Close() })
	clock := presencetest.NewClock()
	pr := memory.NewPresence(memory.PresenceOptions{Now: clock.Now})
	hb := hub.New(hub.Config{Store: st, Broker: br, Presence: pr, MaxStreamsPerUser: 2})
	t0 := clock.Now()

	open := func() *hub.Pipe {
		t.Helper()
		s, err := hb.Open(ctx, "alice", 0, false)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(s.Close)
		return s
	}
	s1 := open()
	presencetest.AwaitChange(t, pr.Changes(), "alice")
	presencetest.Await(t, pr, presencetest.Online("alice", 1, t0))
	s2 := open()
	if _, err := hb.Open(ctx, "alice", 0, false); !errors.Is(err, hub.ErrTooManyStreams) {
		t.Fatalf("third stream: %v, want ErrTooManyStreams", err)
	}
	presencetest.Await(t, pr, presencetest.Online("alice", 2, t0))

	s1.Close()
	presencetest.Await(t, pr, presencetest.Online("alice", 1, t0))
	t1 := clock.Advance(time.Second)
	s2.Close()
	presencetest.AwaitChange(t, pr.Changes(), "alice")
	presencetest.Await(t, pr, presencetest.Offline("alice", t1))
}
