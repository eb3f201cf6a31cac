package storetest

import (
	"fmt"
	"testing"
	"time"

	"github.com/belfry/belfry"
)

func testCreateSequential(t *testing.T, s belfry.Store, u users) {
	alice := u.id("alice")
	before := time.Now()
	for i := int64(1); i <= 3; i++ {
		n := create(t, s, note(alice, fmt.Sprint("hello ", i)))[0]
		if n.ID != i {
			t.Fatalf("Create #%d: id %d, want %d", i, n.ID, i)
		}
		checkCreatedAt(t, n, before)
		if n.ReadAt != nil {
			t.Fatalf("Create: new notification has read_at %v", *n.ReadAt)
		}
	}
	got := after(t, s, alice, 0, 10)
	wantIDs(t, "After(0)", got, seq(1, 3, 1))
	for i, n := range got {
		same(t, "After(0)", n, &belfry.Notification{ID: int64(i + 1), UserID: alice,
			Message: fmt.Sprint("hello ", i+1), CreatedAt: n.CreatedAt})
	}
	// CreatedAt read back is the instant Create reported.
	first := list(t, s, alice, belfry.ListQuery{Limit: 10})
	for _, n := range first {
		if n.CreatedAt.Location() != time.UTC {
			t.Fatalf("List: created_at %v is not in UTC", n.CreatedAt)
		}
	}
	if !got[0].CreatedAt.Equal(first[2].CreatedAt) {
		t.Fatalf("After and List disagree on created_at: %v vs %v", got[0].CreatedAt, first[2].CreatedAt)
	}
}

// checkCreatedAt checks the CreatedAt that Create set: UTC, whole
// milliseconds, and plausibly now (a store may use the database's clock, so
// only a generous window is required).
func checkCreatedAt(t *testing.T, n *belfry.Notification, before time.Time) {
	t.Helper()
	c := n.CreatedAt
	if c.IsZero() {
		t.Fatalf("Create did not set created_at (id %d)", n.ID)
	}
	if c.Location() != time.UTC {
		t.Fatalf("created_at %v is not in UTC", c)
	}
	if !c.Equal(c.Truncate(time.Millisecond)) {
		t.Fatalf("created_at %v has more than millisecond precision", c)
	}
	if c.Before(before.Add(-time.Minute)) || c.After(time.Now().Add(time.Minute)) {
		t.Fatalf("created_at %v is far from now (%v)", c, time.Now())
	}
}

func testCreateMulti(t *testing.T, s belfry.Store, u users) {
	alice, bob, carol := u.id("alice"), u.id("bob"), u.id("carol")
	create(t, s, note(bob, "bob first"))
	before := time.Now()
	ns := create(t, s, note(alice, "to all"), note(bob, "to all"), note(carol, "to all"))
	for i, want := range []int64{1, 2, 1} {
		if ns[i].ID != want {
			t.Fatalf("multi-user Create: %s got id %d, want %d", ns[i].UserID, ns[i].ID, want)
		}
		checkCreatedAt(t, ns[i], before)
	}
	for _, n := range ns {
		got := after(t, s, n.UserID, n.ID-1, 10)
		if len(got) != 1 {
			t.Fatalf("After(%s, %d): %d notifications, want 1", n.UserID, n.ID-1, len(got))
		}
		same(t, "multi-user Create", got[0], n)
	}
	wantStats(t, s, bob, belfry.Stats{Unread: 2, Unseen: 2, LastID: 2})
}

func testCreateSameUserTwice(t *testing.T, s belfry.Store, u users) {
	alice, bob := u.id("alice"), u.id("bob")
	ns := create(t, s, note(alice, "a1"), note(bob, "b1"), note(alice, "a2"), note(alice, "a3"))
	for i, want := range []int64{1, 1, 2, 3} {
		if ns[i].ID != want {
			t.Fatalf("Create: notification %d (%s) got id %d, want %d", i, ns[i].UserID, ns[i].ID, want)
		}
	}
	got := after(t, s, alice, 0, 10)
	wantIDs(t, "After(alice, 0)", got, []int64{1, 2, 3})
	for i, m := range []string{"a1", "a2", "a3"} {
		if got[i].Message != m {
			t.Fatalf("id %d has message %q, want %q", got[i].ID, got[i].Message, m)
		}
	}
}

func testIDsPerUser(t *testing.T, s belfry.Store, u users) {
	alice, bob := u.id("alice"), u.id("bob")
	for i := int64(1); i <= 3; i++ {
		a := create(t, s, note(alice, "a"))[0]
		b := create(t, s, note(bob, "b"))[0]
		if a.ID != i || b.ID != i {
			t.Fatalf("round %d: alice got id %d, bob got id %d; both want %d", i, a.ID, b.ID, i)
		}
	}
	create(t, s, note(alice, "a"))
	wantStats(t, s, alice, belfry.Stats{Unread: 4, Unseen: 4, LastID: 4})
	wantStats(t, s, bob, belfry.Stats{Unread: 3, Unseen: 3, LastID: 3})
	wantIDs(t, "After(bob, 0)", after(t, s, bob, 0, 10), []int64{1, 2, 3})
}

func testConcurrentOneUser(t *testing.T, s belfry.Store, u users) {
	handles := make([]belfry.Store, 8)
	for i := range handles {
		handles[i] = s
	}
	raceOneUser(t, handles, s, u.id("alice"), 40)
}

func testConcurrentSeveralUsers(t *testing.T, s belfry.Store, u users) {
	raceSeveralUsers(t, []belfry.Store{s, s, s, s, s, s}, s, u)
}
