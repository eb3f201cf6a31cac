package hub_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/belfry/belfry/hub"

	"github.com/belfry/belfry"
	"github.com/belfry/belfry/redisbus"
	"github.com/belfry/belfry/sqlite"
)

// leavingStore is a real store whose caller goes away (its request's
// context is canceled) just as the commit returns, as when a publisher's
// HTTP client times out at that moment.
type leavingStore struct {
	belfry.Store
	cancel context.CancelFunc
}

func (s leavingStore) Create(ctx context.Context, ns []*belfry.Notification) error {
	err := s.Store.Create(ctx, ns)
	s.cancel()
	return err
}

// A notification that was committed is published to the streams even when
// the publisher's context ends right after the commit: otherwise the
// streams of other nodes (Redis) would only see it at the next gap or
// reconnect.
func TestCreatePublishesAfterTheCallerLeft(t *testing.T) {
	url := os.Getenv("BELFRY_TEST_REDIS")
	if url == "" {
		t.Skip("BELFRY_TEST_REDIS is not set (e.g. redis://127.0.0.1:6379/0)")
	}
	ctx := t.Context()
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "b.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	var rnd [6]byte
	rand.Read(rnd[:])
	br, err := redisbus.Open(ctx, url, redisbus.Options{Prefix: "belfry-test:" + hex.EncodeToString(rnd[:]) + ":u:"})
	if err != nil {
		t.Fatal(err)
	}
	hb := hub.New(hub.Config{Store: st, Broker: br})
	runCtx, cancelRun := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); br.Run(runCtx, hb) }()
	t.Cleanup(func() { cancelRun(); <-done; br.Close() })

	s, err := hb.Open(ctx, "alice", 0, false)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	readUntil(t, s, "event: sync")
	inbox := &belfry.Inbox{Store: st, Broker: br}
	// Wait until the Redis subscription has taken effect.
	waitFor(t, func() bool {
		if _, err := inbox.Create(ctx, belfry.Draft{UserIDs: []string{"alice"}, Message: "probe"}); err != nil {
			t.Fatal(err)
		}
		b, _ := s.Next(ctx, 100*time.Millisecond)
		return strings.Contains(string(b), "new-notification")
	})
	for { // drain the other probes
		b, err := s.Next(ctx, 200*time.Millisecond)
		if err != nil {
			t.Fatal(err)
		}
		if b == nil {
			break
		}
	}

	reqCtx, cancel := context.WithCancel(ctx)
	leaving := &belfry.Inbox{Store: leavingStore{Store: st, cancel: cancel}, Broker: br}
	ns, err := leaving.Create(reqCtx, belfry.Draft{UserIDs: []string{"alice"}, Message: "committed"})
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		b, err := s.Next(ctx, 100*time.Millisecond)
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(string(b), `"message":"committed"`) {
			return
		}
	}
	t.Fatalf("notification %d was committed but never reached the stream", ns[0].ID)
}

// leavingStateStore cancels its caller's context as a state change
// commits, as when a tab marks a notification read and navigates away.
type leavingStateStore struct {
	belfry.Store
	cancel context.CancelFunc
}

func (s leavingStateStore) SetRead(ctx context.Context, user string, id int64, at *time.Time) (*belfry.Notification, error) {
	n, err := s.Store.SetRead(ctx, user, id, at)
	s.cancel()
	return n, err
}

func (s leavingStateStore) Delete(ctx context.Context, user string, id int64) error {
	err := s.Store.Delete(ctx, user, id)
	s.cancel()
	return err
}

func (s leavingStateStore) ReadAll(ctx context.Context, user string, f belfry.Filter, at time.Time) (int, error) {
	n, err := s.Store.ReadAll(ctx, user, f, at)
	s.cancel()
	return n, err
}

func (s leavingStateStore) SeeAll(ctx context.Context, user string, upTo int64, at time.Time) (int, error) {
	n, err := s.Store.SeeAll(ctx, user, upTo, at)
	s.cancel()
	return n, err
}

func (s leavingStateStore) SetArchived(ctx context.Context, user string, id int64, at *time.Time) (*belfry.Notification, error) {
	n, err := s.Store.SetArchived(ctx, user, id, at)
	s.cancel()
	return n, err
}

// A state change that was committed answers success and reaches the
// user's other tabs even when the caller's context ends right after the
// commit (a half-done change must not answer an error and stay silent).
func TestStateChangePublishesAfterTheCallerLeft(t *testing.T) {
	e := newEnv(t, 16)
	ctx := t.Context()
	create(t, e, "alice", 3)
	s, err := e.hub.Open(ctx, "alice", 0, false)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	readUntil(t, s, "event: sync")
	changes := []struct {
		name string
		do   func(ib *belfry.Inbox, ctx context.Context) error
		want string
	}{
		{"read", func(ib *belfry.Inbox, ctx context.Context) error { _, err := ib.MarkRead(ctx, "alice", 1); return err },
			`event: read-state` + "\n" + `data: {"id":1,"read":true`},
		{"delete", func(ib *belfry.Inbox, ctx context.Context) error { return ib.Delete(ctx, "alice", 2) },
			`event: notification-deleted` + "\n" + `data: {"id":2,`},
		{"seen", func(ib *belfry.Inbox, ctx context.Context) error { _, err := ib.MarkSeen(ctx, "alice", 3); return err },
			`event: seen-state` + "\n" + `data: {"all":true,"up_to_id":3`},
		{"read-all", func(ib *belfry.Inbox, ctx context.Context) error {
			_, err := ib.MarkAllRead(ctx, "alice", belfry.Filter{})
			return err
		},
			`event: read-state` + "\n" + `data: {"all":true`},
		{"archive", func(ib *belfry.Inbox, ctx context.Context) error { _, err := ib.Archive(ctx, "alice", 3); return err },
			`event: archive-state` + "\n" + `data: {"id":3,"archived":true`},
	}
	for _, c := range changes {
		reqCtx, cancel := context.WithCancel(ctx)
		ib := &belfry.Inbox{Store: leavingStateStore{Store: e.store, cancel: cancel}, Broker: e.broker}
		if err := c.do(ib, reqCtx); err != nil {
			t.Fatalf("%s: committed, but answered %v", c.name, err)
		}
		readUntil(t, s, c.want)
	}
}
