package storetest

import (
	"testing"
	"time"

	"github.com/belfry/belfry"
)

func testSetRead(t *testing.T, s belfry.Store, u users) {
	alice := u.id("alice")
	made := createN(t, s, alice, "n", 3)
	first, later := msTime(-time.Hour), msTime(0)

	n := setRead(t, s, alice, 2, &first)
	want := *made[1]
	want.ReadAt, want.SeenAt = &first, &first
	same(t, "SetRead(read)", n, &want)
	if n.ReadAt.Location() != time.UTC {
		t.Fatalf("SetRead: read_at %v is not in UTC", *n.ReadAt)
	}
	wantStats(t, s, alice, belfry.Stats{Unread: 2, Unseen: 2, LastID: 3})

	n = setRead(t, s, alice, 2, &later)
	wantTime(t, "SetRead(read) twice keeps the first read_at", n.ReadAt, &first)
	same(t, "After after SetRead", after(t, s, alice, 1, 1)[0], &want)

	n = setRead(t, s, alice, 2, nil)
	if n.ReadAt != nil {
		t.Fatalf("SetRead(unread): read_at %v, want nil", *n.ReadAt)
	}
	unread := *made[1]
	unread.SeenAt = &first // unread does not unsee
	same(t, "SetRead(unread)", n, &unread)
	wantStats(t, s, alice, belfry.Stats{Unread: 3, Unseen: 2, LastID: 3})
	if n = setRead(t, s, alice, 2, nil); n.ReadAt != nil {
		t.Fatalf("SetRead(unread) twice: read_at %v, want nil", *n.ReadAt)
	}
	wantStats(t, s, alice, belfry.Stats{Unread: 3, Unseen: 2, LastID: 3})

	n = setRead(t, s, alice, 2, &later)
	wantTime(t, "SetRead(read) after unread takes the new time", n.ReadAt, &later)
	for _, x := range after(t, s, alice, 0, 10) {
		if x.ID != 2 && x.ReadAt != nil {
			t.Fatalf("SetRead(2) also changed id %d", x.ID)
		}
	}
}

func testSetReadNotFound(t *testing.T, s belfry.Store, u users) {
	alice, bob, carol := u.id("alice"), u.id("bob"), u.id("carol")
	createN(t, s, alice, "a", 2)
	createN(t, s, bob, "b", 3)
	at := msTime(0)
	for _, c := range []struct {
		user string
		id   int64
	}{{alice, 3}, {alice, 99}, {alice, 0}, {carol, 1}} {
		_, err := s.SetRead(ctx(t), c.user, c.id, &at)
		wantCode(t, "SetRead(read) of a missing id", err, belfry.ENOTFOUND)
		_, err = s.SetRead(ctx(t), c.user, c.id, nil)
		wantCode(t, "SetRead(unread) of a missing id", err, belfry.ENOTFOUND)
	}
	wantStats(t, s, bob, belfry.Stats{Unread: 3, Unseen: 3, LastID: 3})
	wantStats(t, s, alice, belfry.Stats{Unread: 2, Unseen: 2, LastID: 2})
	wantStats(t, s, carol, belfry.Stats{})
}

func testReadAll(t *testing.T, s belfry.Store, u users) {
	alice, bob := u.id("alice"), u.id("bob")
	createN(t, s, alice, "a", 10)
	createN(t, s, bob, "b", 3)
	early, at, late := msTime(-time.Hour), msTime(-time.Minute), msTime(0)
	setRead(t, s, alice, 2, &early)

	changed, err := s.ReadAll(ctx(t), alice, belfry.Filter{UpTo: 6}, at)
	if err != nil || changed != 5 {
		t.Fatalf("ReadAll(alice, 6) = %d, %v; want 5 changed", changed, err)
	}
	wantStats(t, s, alice, belfry.Stats{Unread: 4, Unseen: 4, LastID: 10})
	for _, n := range after(t, s, alice, 0, 100) {
		switch {
		case n.ID == 2:
			wantTime(t, "ReadAll keeps an earlier read_at", n.ReadAt, &early)
		case n.ID <= 6:
			wantTime(t, "ReadAll read_at", n.ReadAt, &at)
		case n.ReadAt != nil:
			t.Fatalf("ReadAll(alice, 6) also read id %d", n.ID)
		}
	}
	if changed, err = s.ReadAll(ctx(t), alice, belfry.Filter{UpTo: 6}, late); err != nil || changed != 0 {
		t.Fatalf("ReadAll(alice, 6) again = %d, %v; want 0 changed", changed, err)
	}
	if changed, err = s.ReadAll(ctx(t), alice, belfry.Filter{UpTo: 0}, late); err != nil || changed != 0 {
		t.Fatalf("ReadAll(alice, 0) = %d, %v; want 0 changed", changed, err)
	}
	if changed, err = s.ReadAll(ctx(t), alice, belfry.Filter{UpTo: 1000}, late); err != nil || changed != 4 {
		t.Fatalf("ReadAll(alice, 1000) = %d, %v; want 4 changed", changed, err)
	}
	wantStats(t, s, alice, belfry.Stats{Unread: 0, Unseen: 0, LastID: 10})
	wantStats(t, s, bob, belfry.Stats{Unread: 3, Unseen: 3, LastID: 3})
	if changed, err = s.ReadAll(ctx(t), u.id("nobody"), belfry.Filter{UpTo: 10}, late); err != nil || changed != 0 {
		t.Fatalf("ReadAll of a user with no notifications = %d, %v; want 0", changed, err)
	}
}

func testDelete(t *testing.T, s belfry.Store, u users) {
	alice, bob := u.id("alice"), u.id("bob")
	createN(t, s, alice, "a", 3)
	create(t, s, note(bob, "b"))

	del(t, s, alice, 2)
	wantIDs(t, "After(0) after Delete(2)", after(t, s, alice, 0, 10), []int64{1, 3})
	wantIDs(t, "List after Delete(2)", list(t, s, alice, belfry.ListQuery{Limit: 10}), []int64{3, 1})
	wantCode(t, "Delete of a deleted id", s.Delete(ctx(t), alice, 2), belfry.ENOTFOUND)
	at := msTime(0)
	_, err := s.SetRead(ctx(t), alice, 2, &at)
	wantCode(t, "SetRead of a deleted id", err, belfry.ENOTFOUND)
	wantCode(t, "Delete of a missing id", s.Delete(ctx(t), alice, 99), belfry.ENOTFOUND)
	wantCode(t, "Delete of id 0", s.Delete(ctx(t), alice, 0), belfry.ENOTFOUND)

	del(t, s, alice, 3) // the last id: it must not be handed out again
	if n := create(t, s, note(alice, "new")); n[0].ID != 4 {
		t.Fatalf("Create after deleting the last id: id %d, want 4", n[0].ID)
	}
	wantIDs(t, "After(0) at the end", after(t, s, alice, 0, 10), []int64{1, 4})
	wantStats(t, s, bob, belfry.Stats{Unread: 1, Unseen: 1, LastID: 1})
}

func testIsolation(t *testing.T, s belfry.Store, u users) {
	alice := u.id("alice")
	// Lookalike ids: comparisons must be exact (case, suffixes, LIKE
	// wildcards).
	others := []string{u.id("bob"), u.id("Alice"), u.id("alice_"), u.id("alic%"), u.id("alice ")}
	made := createN(t, s, alice, "alice's", 5)
	for _, o := range others {
		createN(t, s, o, "other", 2)
	}
	at := msTime(0)
	for _, o := range others {
		for _, n := range append(after(t, s, o, 0, 100), list(t, s, o, belfry.ListQuery{Limit: 100})...) {
			if n.UserID != o || n.Message == made[0].Message {
				t.Fatalf("user %q sees a notification of %q", o, n.UserID)
			}
		}
		wantStats(t, s, o, belfry.Stats{Unread: 2, Unseen: 2, LastID: 2})
		_, err := s.SetRead(ctx(t), o, 3, &at)
		wantCode(t, "SetRead of another user's id", err, belfry.ENOTFOUND)
		wantCode(t, "Delete of another user's id", s.Delete(ctx(t), o, 4), belfry.ENOTFOUND)
		setRead(t, s, o, 1, &at)
		if changed, err := s.ReadAll(ctx(t), o, belfry.Filter{UpTo: 5}, at); err != nil || changed != 1 {
			t.Fatalf("ReadAll(%q, 5) = %d, %v; want 1 changed (its own id 2 only)", o, changed, err)
		}
		del(t, s, o, 1)
	}
	wantStats(t, s, alice, belfry.Stats{Unread: 5, Unseen: 5, LastID: 5})
	got := after(t, s, alice, 0, 100)
	wantIDs(t, "alice's notifications after the others' changes", got, seq(1, 5, 1))
	for i, n := range got {
		same(t, "alice's notification after the others' changes", n, made[i])
	}
}
