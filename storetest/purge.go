package storetest

import (
	"fmt"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/belfry/belfry"
)

// purge runs Purge with q until a batch comes back less than full, checks
// that no batch exceeds q.Limit, and returns what it removed of this
// subtest's users, sorted by user and id. (A database shared between
// subtests may hold other users' notifications that q selects too.)
func purge(t *testing.T, s belfry.Store, u users, q belfry.PurgeQuery) []belfry.Removed {
	t.Helper()
	var out []belfry.Removed
	for range 10_000 {
		rs, err := s.Purge(ctx(t), q)
		if err != nil {
			t.Fatalf("Purge(%+v): %v", q, err)
		}
		if len(rs) > q.Limit {
			t.Fatalf("Purge(limit %d) removed %d notifications in one call", q.Limit, len(rs))
		}
		for _, r := range rs {
			if strings.HasPrefix(r.UserID, u.prefix) {
				out = append(out, r)
			}
		}
		if len(rs) < q.Limit {
			slices.SortFunc(out, func(a, b belfry.Removed) int {
				if c := strings.Compare(a.UserID, b.UserID); c != 0 {
					return c
				}
				return int(a.ID - b.ID)
			})
			return out
		}
	}
	t.Fatalf("Purge(%+v) still returns full batches after 10,000 calls", q)
	return nil
}

func removed(reason belfry.Reason, user string, ids ...int64) []belfry.Removed {
	var out []belfry.Removed
	for _, id := range ids {
		out = append(out, belfry.Removed{UserID: user, ID: id, Reason: reason})
	}
	return out
}

func wantRemoved(t *testing.T, what string, got []belfry.Removed, want ...[]belfry.Removed) {
	t.Helper()
	w := slices.Concat(want...)
	if fmt.Sprint(got) != fmt.Sprint(w) {
		t.Fatalf("%s removed %v, want %v", what, got, w)
	}
}

func testPurgeExpired(t *testing.T, s belfry.Store, u users) {
	alice, bob := u.id("alice"), u.id("bob")
	create(t, s, note(alice, "1"), expired(alice, "2", "billing"), expiring(note(alice, "3"), msTime(time.Hour)),
		expired(alice, "4", ""), expired(bob, "1", ""), cat(bob, "2", "billing"))
	at := msTime(0)
	setArchived(t, s, alice, 3, &at)
	got := purge(t, s, u, belfry.PurgeQuery{Now: msTime(0), Limit: 100})
	wantRemoved(t, "Purge(expired)", got, removed(belfry.ReasonExpired, alice, 2, 4),
		removed(belfry.ReasonExpired, bob, 1))
	wantRemoved(t, "Purge(expired) again", purge(t, s, u, belfry.PurgeQuery{Now: msTime(0), Limit: 100}))

	wantIDs(t, "After(alice) after Purge", after(t, s, alice, 0, 10), []int64{1, 3})
	wantStats(t, s, alice, belfry.Stats{Unread: 1, Unseen: 1, LastID: 4})
	wantStats(t, s, bob, belfry.Stats{Unread: 1, Unseen: 1, LastID: 2, ByCategory: byCat("billing", 1, 1)})
	wantCode(t, "Delete of a purged id", s.Delete(ctx(t), alice, 4), belfry.ENOTFOUND)
	if n := create(t, s, note(alice, "5"))[0]; n.ID != 5 {
		t.Fatalf("Create after the last id was purged: id %d, want 5", n.ID)
	}
	// A Now before the expiry removes nothing of it.
	got = purge(t, s, u, belfry.PurgeQuery{Now: msTime(-2 * time.Hour), Limit: 100})
	wantRemoved(t, "Purge at an earlier Now", got)
}

func testPurgeLimit(t *testing.T, s belfry.Store, u users) {
	alice, bob := u.id("alice"), u.id("bob")
	var ns []*belfry.Notification
	for i := range 7 {
		ns = append(ns, expired(alice, fmt.Sprint(i), ""))
	}
	create(t, s, append(ns, note(bob, "stays"), expired(bob, "goes", ""))...)
	got := purge(t, s, u, belfry.PurgeQuery{Now: msTime(0), Limit: 3})
	wantRemoved(t, "Purge(limit 3) repeated", got, removed(belfry.ReasonExpired, alice, seq(1, 7, 1)...),
		removed(belfry.ReasonExpired, bob, 2))
	wantStats(t, s, alice, belfry.Stats{LastID: 7})
	wantIDs(t, "After(bob)", after(t, s, bob, 0, 10), []int64{1})
}

func testPurgeRetention(t *testing.T, s belfry.Store, u users) {
	alice, bob := u.id("alice"), u.id("bob")
	// Old: alice 1 unread, 2 read, 3 archived, 4 unread but seen;
	// bob 1 read, 2 unread.
	old := create(t, s, note(alice, "1"), note(alice, "2"), note(alice, "3"), note(alice, "4"),
		note(bob, "1"), note(bob, "2"))
	at := msTime(0)
	setRead(t, s, alice, 2, &at)
	setArchived(t, s, alice, 3, &at)
	setRead(t, s, alice, 4, &at)
	setRead(t, s, alice, 4, nil)
	setRead(t, s, bob, 1, &at)

	// New, created after the cut: alice 5 read, 6 unread; bob 3 read.
	cut := old[0].CreatedAt.Add(time.Millisecond)
	waitUntil(cut.Add(time.Millisecond))
	young := create(t, s, note(alice, "5"), note(alice, "6"), note(bob, "3"))
	if young[0].CreatedAt.Before(cut) {
		t.Fatalf("test setup: the store's clock gave created_at %v, before %v", young[0].CreatedAt, cut)
	}
	setRead(t, s, alice, 5, &at)
	setRead(t, s, bob, 3, &at)

	got := purge(t, s, u, belfry.PurgeQuery{Now: msTime(0), RetainBefore: cut, Limit: 1000})
	wantRemoved(t, "Purge(retain, read or archived)", got, removed(belfry.ReasonRetention, alice, 2, 3),
		removed(belfry.ReasonRetention, bob, 1))
	wantStats(t, s, alice, belfry.Stats{Unread: 3, Unseen: 2, LastID: 6})

	got = purge(t, s, u, belfry.PurgeQuery{Now: msTime(0), RetainBefore: cut, RetainUnread: true, Limit: 1000})
	wantRemoved(t, "Purge(retain, unread too)", got, removed(belfry.ReasonRetention, alice, 1, 4),
		removed(belfry.ReasonRetention, bob, 2))
	wantIDs(t, "After(alice)", after(t, s, alice, 0, 10), []int64{5, 6})
	wantIDs(t, "After(bob)", after(t, s, bob, 0, 10), []int64{3})
	wantStats(t, s, alice, belfry.Stats{Unread: 1, Unseen: 1, LastID: 6})
	wantStats(t, s, bob, belfry.Stats{LastID: 3})
}

// waitUntil returns once the clock has passed t (at most a few
// milliseconds here: it spins rather than sleeps).
func waitUntil(t time.Time) {
	for time.Now().Before(t) {
		runtime.Gosched()
	}
}

func testPurgeMaxPerUser(t *testing.T, s belfry.Store, u users) {
	alice, bob, carol := u.id("alice"), u.id("bob"), u.id("carol")
	createN(t, s, alice, "a", 6)
	createN(t, s, bob, "b", 3)
	createN(t, s, carol, "c", 4)
	at := msTime(0)
	setRead(t, s, alice, 5, &at)
	setArchived(t, s, alice, 2, &at)

	got := purge(t, s, u, belfry.PurgeQuery{Now: msTime(0), MaxPerUser: 3, Limit: 1000})
	wantRemoved(t, "Purge(max 3 per user)", got, removed(belfry.ReasonRetention, alice, 1, 2, 3),
		removed(belfry.ReasonRetention, carol, 1))
	wantIDs(t, "After(alice)", after(t, s, alice, 0, 10), []int64{4, 5, 6})
	wantIDs(t, "After(bob)", after(t, s, bob, 0, 10), []int64{1, 2, 3})
	wantStats(t, s, alice, belfry.Stats{Unread: 2, Unseen: 2, LastID: 6})
	if n := create(t, s, note(alice, "7"))[0]; n.ID != 7 {
		t.Fatalf("Create after Purge: id %d, want 7", n.ID)
	}
	got = purge(t, s, u, belfry.PurgeQuery{Now: msTime(0), MaxPerUser: 3, Limit: 1000})
	wantRemoved(t, "Purge(max 3 per user) again", got, removed(belfry.ReasonRetention, alice, 4))
	got = purge(t, s, u, belfry.PurgeQuery{Now: msTime(0), MaxPerUser: 1, Limit: 1000})
	wantRemoved(t, "Purge(max 1 per user)", got, removed(belfry.ReasonRetention, alice, 5, 6),
		removed(belfry.ReasonRetention, bob, 1, 2), removed(belfry.ReasonRetention, carol, 2, 3))
	wantStats(t, s, alice, belfry.Stats{Unread: 1, Unseen: 1, LastID: 7})
}

func testPurgeKeys(t *testing.T, s belfry.Store, u users) {
	alice := u.id("alice")
	gone, kept := u.id("gone"), u.id("kept")
	b := publish(t, s, key(gone, "body", msTime(-time.Second)), note(alice, "m"))
	wantBatch(t, "Publish with an expired key", b, []created{{alice, 1}}, nil, false)
	b = publish(t, s, key(kept, "body", msTime(time.Hour)), note(alice, "m"))
	wantBatch(t, "Publish with a key", b, []created{{alice, 2}}, nil, false)

	purge(t, s, u, belfry.PurgeQuery{Now: msTime(0), Limit: 100})
	b = publish(t, s, key(gone, "body", msTime(time.Hour)), note(alice, "m"))
	wantBatch(t, "Publish with the purged key", b, []created{{alice, 3}}, nil, false)
	b = publish(t, s, key(kept, "body", msTime(time.Hour)), note(alice, "m"))
	wantBatch(t, "Publish with the key Purge kept", b, []created{{alice, 2}}, nil, true)
	// Purge with a Now after a key's window removes that key.
	purge(t, s, u, belfry.PurgeQuery{Now: msTime(2 * time.Hour), Limit: 100})
	b = publish(t, s, key(kept, "other body", msTime(3*time.Hour)), note(alice, "m"))
	wantBatch(t, "Publish with a key purged at a later Now", b, []created{{alice, 4}}, nil, false)
}
