package storetest

import (
	"testing"

	"github.com/belfry/belfry"
)

func testAfter(t *testing.T, s belfry.Store, u users) {
	alice := u.id("alice")
	wantIDs(t, "After(0) of a new user", after(t, s, alice, 0, 100), nil)

	first := create(t, s, note(alice, "first"))[0]
	wantIDs(t, "After(last): nothing missed", after(t, s, alice, 1, 100), nil)
	got := after(t, s, alice, 0, 100)
	wantIDs(t, "After(0)", got, []int64{1})
	same(t, "After(0)", got[0], first)

	made := createN(t, s, alice, "bulk", 500) // ids 2..501
	got = after(t, s, alice, 1, belfry.MaxReplay)
	wantIDs(t, "After(1): 500 missed", got, seq(2, 500, 1))
	for i, n := range got {
		same(t, "After(1)", n, made[i])
	}
	got = after(t, s, alice, 500, belfry.MaxReplay)
	wantIDs(t, "After(500): 1 missed", got, []int64{501})
	same(t, "After(500)", got[0], made[499])
	wantIDs(t, "After(501): 0 missed", after(t, s, alice, 501, belfry.MaxReplay), nil)
	wantIDs(t, "After beyond the last id", after(t, s, alice, 10_000, belfry.MaxReplay), nil)
}

func testAfterLimit(t *testing.T, s belfry.Store, u users) {
	alice := u.id("alice")
	createN(t, s, alice, "n", 30)
	wantIDs(t, "After(0, 10)", after(t, s, alice, 0, 10), seq(1, 10, 1))
	wantIDs(t, "After(10, 10)", after(t, s, alice, 10, 10), seq(11, 10, 1))
	wantIDs(t, "After(25, 10)", after(t, s, alice, 25, 10), seq(26, 5, 1))
	wantIDs(t, "After(0, 1)", after(t, s, alice, 0, 1), []int64{1})
	wantIDs(t, "After(29, 1)", after(t, s, alice, 29, 1), []int64{30})
}

func testList(t *testing.T, s belfry.Store, u users) {
	alice := u.id("alice")
	wantIDs(t, "List of a new user", list(t, s, alice, belfry.ListQuery{Limit: 10}), nil)
	made := createN(t, s, alice, "n", 25)

	page := list(t, s, alice, belfry.ListQuery{Limit: 10})
	wantIDs(t, "List(limit 10)", page, seq(25, 10, -1))
	for _, n := range page {
		same(t, "List", n, made[n.ID-1])
	}
	wantIDs(t, "List(before 16)", list(t, s, alice, belfry.ListQuery{Limit: 10, Before: 16}), seq(15, 10, -1))
	wantIDs(t, "List(before 6)", list(t, s, alice, belfry.ListQuery{Limit: 10, Before: 6}), seq(5, 5, -1))
	wantIDs(t, "List(before 1)", list(t, s, alice, belfry.ListQuery{Limit: 10, Before: 1}), nil)
	wantIDs(t, "List(limit 1)", list(t, s, alice, belfry.ListQuery{Limit: 1}), []int64{25})
	wantIDs(t, "List(before 1000)", list(t, s, alice, belfry.ListQuery{Limit: 3, Before: 1000}), seq(25, 3, -1))
	wantIDs(t, "List(limit 100)", list(t, s, alice, belfry.ListQuery{Limit: belfry.MaxPageSize}), seq(25, 25, -1))

	// Paging by the last id of each page visits every notification once.
	var all []*belfry.Notification
	q := belfry.ListQuery{Limit: 7}
	for {
		p := list(t, s, alice, q)
		all = append(all, p...)
		if len(p) < q.Limit {
			break
		}
		q.Before = p[len(p)-1].ID
	}
	wantIDs(t, "List paged by 7", all, seq(25, 25, -1))
}

func testListUnreadOnly(t *testing.T, s belfry.Store, u users) {
	alice := u.id("alice")
	createN(t, s, alice, "n", 12)
	at := msTime(0)
	for _, id := range []int64{2, 3, 5, 8, 12} {
		setRead(t, s, alice, id, &at)
	}
	unread := belfry.ListQuery{Limit: 100, UnreadOnly: true}
	got := list(t, s, alice, unread)
	wantIDs(t, "List(unread)", got, []int64{11, 10, 9, 7, 6, 4, 1})
	for _, n := range got {
		if n.ReadAt != nil {
			t.Fatalf("List(unread) returned id %d with read_at %v", n.ID, *n.ReadAt)
		}
	}
	unread.Limit = 3
	wantIDs(t, "List(unread, limit 3)", list(t, s, alice, unread), []int64{11, 10, 9})
	unread.Before = 9
	wantIDs(t, "List(unread, before 9)", list(t, s, alice, unread), []int64{7, 6, 4})
	unread.Before = 4
	wantIDs(t, "List(unread, before 4)", list(t, s, alice, unread), []int64{1})

	every := list(t, s, alice, belfry.ListQuery{Limit: 100})
	wantIDs(t, "List(all)", every, seq(12, 12, -1))
	for _, n := range every {
		read := n.ID == 2 || n.ID == 3 || n.ID == 5 || n.ID == 8 || n.ID == 12
		if read {
			wantTime(t, "List: read_at of a read notification", n.ReadAt, &at)
		} else if n.ReadAt != nil {
			t.Fatalf("List: id %d is unread but has read_at %v", n.ID, *n.ReadAt)
		}
	}
}

func testStats(t *testing.T, s belfry.Store, u users) {
	alice, bob := u.id("alice"), u.id("bob")
	wantStats(t, s, alice, belfry.Stats{})
	createN(t, s, alice, "n", 5)
	create(t, s, note(bob, "b"))
	wantStats(t, s, alice, belfry.Stats{Unread: 5, Unseen: 5, LastID: 5})

	at := msTime(0)
	setRead(t, s, alice, 2, &at)
	wantStats(t, s, alice, belfry.Stats{Unread: 4, Unseen: 4, LastID: 5})
	del(t, s, alice, 5)
	wantStats(t, s, alice, belfry.Stats{Unread: 3, Unseen: 3, LastID: 5})
	del(t, s, alice, 2) // read: the unread count does not move
	wantStats(t, s, alice, belfry.Stats{Unread: 3, Unseen: 3, LastID: 5})
	for _, id := range []int64{1, 3, 4} {
		del(t, s, alice, id)
	}
	wantStats(t, s, alice, belfry.Stats{Unread: 0, Unseen: 0, LastID: 5})
	if n := create(t, s, note(alice, "again"))[0]; n.ID != 6 {
		t.Fatalf("Create after deleting everything: id %d, want 6", n.ID)
	}
	wantStats(t, s, alice, belfry.Stats{Unread: 1, Unseen: 1, LastID: 6})
	wantStats(t, s, bob, belfry.Stats{Unread: 1, Unseen: 1, LastID: 1})
}

func del(t *testing.T, s belfry.Store, user string, id int64) {
	t.Helper()
	if err := s.Delete(ctx(t), user, id); err != nil {
		t.Fatalf("Delete(%q, %d): %v", user, id, err)
	}
}
