package mongodb

import (
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/belfry/belfry"
	"go.mongodb.org/mongo-driver/v2/bson"
)

func one(user, msg string) []*belfry.Notification {
	return []*belfry.Notification{{UserID: user, Message: msg}}
}

func mustCreate(t *testing.T, s *Store, ns []*belfry.Notification) {
	t.Helper()
	if err := s.Create(t.Context(), ns); err != nil {
		t.Fatalf("Create: %v", err)
	}
}

func wantLastID(t *testing.T, s *Store, user string, want int64) {
	t.Helper()
	st, err := s.Stats(t.Context(), user)
	if err != nil {
		t.Fatal(err)
	}
	if st.LastID != want {
		t.Fatalf("Stats(%s).LastID = %d, want %d", user, st.LastID, want)
	}
}

// TestTwoNodes runs writers on two Stores (two clients, as two belfry
// nodes) that publish to one hot user, alone and together with other
// users, while a reader on one of them resumes with After: it must see
// 1, 2, 3… with no hole, and each call's ids for a user must be
// consecutive.
func TestTwoNodes(t *testing.T) {
	ss := openN(t, 2, testConfig())
	ctx := t.Context()
	const hot = "hot"
	const perWriter = 12
	var (
		wg      sync.WaitGroup
		total   atomic.Int64 // notifications created for hot
		stopped atomic.Bool
	)
	for node, s := range ss {
		for w := range 4 {
			wg.Go(func() {
				for i := range perWriter {
					var ns []*belfry.Notification
					switch i % 3 {
					case 0:
						ns = one(hot, "alone")
					case 1: // two for hot in one call: consecutive ids
						ns = []*belfry.Notification{{UserID: hot, Message: "a"}, {UserID: hot, Message: "b"}}
					case 2: // hot among other users, some shared between nodes
						for k := range 5 {
							ns = append(ns, &belfry.Notification{UserID: fmt.Sprint("other-", (w+k)%6), Message: "fan"})
						}
						ns = append(ns, &belfry.Notification{UserID: hot, Message: "fan"})
					}
					if err := s.Create(ctx, ns); err != nil {
						t.Errorf("node %d writer %d: Create: %v", node, w, err)
						return
					}
					var prev int64
					for _, n := range ns {
						if n.UserID != hot {
							continue
						}
						total.Add(1)
						if prev != 0 && n.ID != prev+1 {
							t.Errorf("one call got ids %d and %d for %s", prev, n.ID, hot)
						}
						prev = n.ID
					}
				}
			})
		}
	}
	go func() { wg.Wait(); stopped.Store(true) }()

	reader := ss[1]
	var seen int64
	for {
		finished := stopped.Load()
		ns, err := reader.After(ctx, hot, seen, 100)
		if err != nil {
			t.Fatalf("After(%d): %v", seen, err)
		}
		for _, n := range ns {
			if n.ID != seen+1 {
				t.Fatalf("reader resumed after %d and got %d: an id was skipped", seen, n.ID)
			}
			seen = n.ID
		}
		if len(ns) == 0 && finished {
			break
		}
	}
	wg.Wait()
	if seen != total.Load() {
		t.Fatalf("reader saw %d ids, writers created %d", seen, total.Load())
	}
	wantLastID(t, ss[0], hot, seen)
	for k := range 6 {
		u := fmt.Sprint("other-", k)
		all, err := ss[0].After(ctx, u, 0, 1000)
		if err != nil {
			t.Fatal(err)
		}
		for i, n := range all {
			if n.ID != int64(i+1) {
				t.Fatalf("%s: ids %v are not 1..n", u, ids(all))
			}
		}
	}
}

func ids(ns []*belfry.Notification) []int64 {
	out := make([]int64, len(ns))
	for i, n := range ns {
		out[i] = n.ID
	}
	return out
}

// TestExpiredLeaseTakeover simulates a node that died after inserting ids
// 2 and 3 and before recording them: its lease is past its until and the
// checkpoint says 1. The next Create takes the lease over, collides on the
// unique index, repairs, and continues at 4.
func TestExpiredLeaseTakeover(t *testing.T) {
	s := openOne(t)
	ctx := t.Context()
	mustCreate(t, s, one("carol", "1"))
	// The writer answers before it releases: the lease planted below must
	// not collide with the one that first Create still holds.
	eventually(t, "carol's first lease to be released", func() bool {
		n, err := s.leases.CountDocuments(ctx, bson.D{{Key: "_id", Value: "carol"}})
		return err == nil && n == 0
	})
	now := belfry.Now(time.Now())
	for seq := int64(2); seq <= 3; seq++ {
		if _, err := s.notes.InsertOne(ctx, toDoc(&belfry.Notification{UserID: "carol", Message: "dead node"}, seq, now, slot{})); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := s.leases.InsertOne(ctx, lease{User: "carol", Owner: "dead", Until: now.Add(-time.Minute)}); err != nil {
		t.Fatal(err)
	}
	wantLastID(t, s, "carol", 3)
	ns := one("carol", "after the takeover")
	mustCreate(t, s, ns)
	if ns[0].ID != 4 {
		t.Fatalf("Create after a takeover: id %d, want 4", ns[0].ID)
	}
	// The writer answers before it releases: poll for the release.
	eventually(t, "carol's lease to be released", func() bool {
		n, err := s.leases.CountDocuments(ctx, bson.D{{Key: "_id", Value: "carol"}})
		return err == nil && n == 0
	})
	wantLastID(t, s, "carol", 4)
}

// TestBusyLease: while another node holds a user's lease, Create for that
// user waits, and gives up with EUNAVAILABLE after the write timeout having
// stored nothing; other users are not held up; once the lease is gone the
// user's Create goes through.
func TestBusyLease(t *testing.T) {
	c := testConfig()
	c.WriteTimeout = 300 * time.Millisecond
	s := openN(t, 1, c)[0]
	ctx := t.Context()
	if _, err := s.leases.InsertOne(ctx, lease{User: "dave", Owner: "other-node", Until: time.Now().Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	ns := []*belfry.Notification{{UserID: "erin", Message: "free"}, {UserID: "dave", Message: "held"}}
	err := s.Create(ctx, ns)
	if belfry.ErrorCode(err) != belfry.EUNAVAILABLE {
		t.Fatalf("Create for a held user: %v, want %s", err, belfry.EUNAVAILABLE)
	}
	if ns[0].ID != 1 || ns[1].ID != 0 {
		t.Fatalf("ids after a partly held publish: erin %d, dave %d; want 1 (stored) and 0 (not)", ns[0].ID, ns[1].ID)
	}
	if got, _ := s.After(ctx, "dave", 0, 10); len(got) != 0 {
		t.Fatalf("dave has %d notifications, want none", len(got))
	}
	if _, err := s.leases.DeleteOne(ctx, bson.D{{Key: "_id", Value: "dave"}}); err != nil {
		t.Fatal(err)
	}
	d := one("dave", "free now")
	mustCreate(t, s, d)
	if d[0].ID != 1 {
		t.Fatalf("dave's first id %d, want 1", d[0].ID)
	}
}

// TestDeleteWithLaggingCheckpoint: the checkpoint lags (a writer died
// before recording ids 2 and 3); deleting 3 and then 2 must still not let
// 3 be handed out again.
func TestDeleteWithLaggingCheckpoint(t *testing.T) {
	s := openOne(t)
	ctx := t.Context()
	mustCreate(t, s, one("frank", "1"))
	now := belfry.Now(time.Now())
	for seq := int64(2); seq <= 3; seq++ {
		if _, err := s.notes.InsertOne(ctx, toDoc(&belfry.Notification{UserID: "frank", Message: "unrecorded"}, seq, now, slot{})); err != nil {
			t.Fatal(err)
		}
	}
	for _, id := range []int64{3, 2} {
		if err := s.Delete(ctx, "frank", id); err != nil {
			t.Fatalf("Delete(%d): %v", id, err)
		}
	}
	wantLastID(t, s, "frank", 3)
	ns := one("frank", "next")
	mustCreate(t, s, ns)
	if ns[0].ID != 4 {
		t.Fatalf("Create after deleting the unrecorded ids: id %d, want 4", ns[0].ID)
	}
}

// eventually polls cond until it holds, failing the test after 10s.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}
