package storetest

import (
	"testing"
	"time"

	"github.com/belfry/belfry"
)

func testStatsUnseenByCategory(t *testing.T, s belfry.Store, u users) {
	alice, bob := u.id("alice"), u.id("bob")
	create(t, s,
		cat(alice, "b1", "billing"), cat(alice, "b2", "billing"), cat(alice, "s1", "social"),
		note(alice, "no category"),                            // 4: only in the totals
		expired(alice, "gone", "billing"),                     // 5: never counted
		expiring(cat(alice, "n1", "news"), msTime(time.Hour)), // 6: counted until it expires
		cat(bob, "b", "billing"))
	wantStats(t, s, alice, belfry.Stats{Unread: 5, Unseen: 5, LastID: 6,
		ByCategory: byCat("billing", 2, 2, "social", 1, 1, "news", 1, 1)})

	at := msTime(0)
	if n := seeAll(t, s, alice, 2, at); n != 2 {
		t.Fatalf("SeeAll(alice, 2) = %d, want 2", n)
	}
	wantStats(t, s, alice, belfry.Stats{Unread: 5, Unseen: 3, LastID: 6,
		ByCategory: byCat("billing", 2, 0, "social", 1, 1, "news", 1, 1)})
	setRead(t, s, alice, 3, &at) // social has nothing left: it leaves the map
	wantStats(t, s, alice, belfry.Stats{Unread: 4, Unseen: 2, LastID: 6,
		ByCategory: byCat("billing", 2, 0, "news", 1, 1)})
	setRead(t, s, alice, 1, &at)
	wantStats(t, s, alice, belfry.Stats{Unread: 3, Unseen: 2, LastID: 6,
		ByCategory: byCat("billing", 1, 0, "news", 1, 1)})
	setRead(t, s, alice, 1, nil) // unread again, still seen
	wantStats(t, s, alice, belfry.Stats{Unread: 4, Unseen: 2, LastID: 6,
		ByCategory: byCat("billing", 2, 0, "news", 1, 1)})
	setRead(t, s, alice, 1, &at)
	setRead(t, s, alice, 2, &at)
	wantStats(t, s, alice, belfry.Stats{Unread: 2, Unseen: 2, LastID: 6, ByCategory: byCat("news", 1, 1)})
	del(t, s, alice, 6)
	wantStats(t, s, alice, belfry.Stats{Unread: 1, Unseen: 1, LastID: 6})
	if n := seeAll(t, s, alice, 6, at); n != 1 {
		t.Fatalf("SeeAll(alice, 6) = %d, want 1 (id 4; id 5 has expired)", n)
	}
	wantStats(t, s, alice, belfry.Stats{Unread: 1, Unseen: 0, LastID: 6})
	wantStats(t, s, bob, belfry.Stats{Unread: 1, Unseen: 1, LastID: 1, ByCategory: byCat("billing", 1, 1)})
}

func testStatsArchivedExpired(t *testing.T, s belfry.Store, u users) {
	alice, carol := u.id("alice"), u.id("carol")
	create(t, s, cat(alice, "b1", "billing"), cat(alice, "b2", "billing"), cat(alice, "s1", "social"),
		note(alice, "plain"), expired(alice, "gone", "social"), expired(carol, "gone", "billing"))
	wantStats(t, s, alice, belfry.Stats{Unread: 4, Unseen: 4, LastID: 5,
		ByCategory: byCat("billing", 2, 2, "social", 1, 1)})
	// A user whose only notification has expired still has its last id.
	wantStats(t, s, carol, belfry.Stats{LastID: 1})

	at := msTime(0)
	setArchived(t, s, alice, 1, &at)
	wantStats(t, s, alice, belfry.Stats{Unread: 3, Unseen: 3, LastID: 5,
		ByCategory: byCat("billing", 1, 1, "social", 1, 1)})
	setArchived(t, s, alice, 3, &at)
	wantStats(t, s, alice, belfry.Stats{Unread: 2, Unseen: 2, LastID: 5, ByCategory: byCat("billing", 1, 1)})
	setRead(t, s, alice, 3, &at) // read while archived
	setArchived(t, s, alice, 3, nil)
	wantStats(t, s, alice, belfry.Stats{Unread: 2, Unseen: 2, LastID: 5, ByCategory: byCat("billing", 1, 1)})
	setArchived(t, s, alice, 1, nil)
	wantStats(t, s, alice, belfry.Stats{Unread: 3, Unseen: 3, LastID: 5, ByCategory: byCat("billing", 2, 2)})
	if n, err := s.ArchiveAll(ctx(t), alice, belfry.Filter{UpTo: 5}, at); err != nil || n != 4 {
		t.Fatalf("ArchiveAll(alice, 5) = %d, %v; want 4", n, err)
	}
	wantStats(t, s, alice, belfry.Stats{LastID: 5})
}
