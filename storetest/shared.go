package storetest

import (
	"testing"
	"time"

	"github.com/belfry/belfry"
)

// RunShared runs the tests that need several Store handles on one database,
// as several belfry nodes (or processes sharing one SQLite file) have. open
// must return n distinct Stores on the same fresh, empty database and
// register their Close with t.Cleanup. It is called once per subtest.
func RunShared(t *testing.T, open func(t *testing.T, n int) []belfry.Store) {
	tests := []struct {
		name string
		n    int
		fn   func(t *testing.T, ss []belfry.Store, u users)
	}{
		{"WritersOnEveryHandleReaderNeverSkips", 3, sharedOneUser},
		{"WritersOnEveryHandleSeveralUsers", 3, sharedSeveralUsers},
		{"ChangesVisibleOnEveryHandle", 2, sharedVisible},
		{"PublishOneKeyOnEveryHandle", 3, sharedPublishOneKey},
		{"PreferencesPatchedOnEveryHandle", 3, sharedPreferences},
		{"ClaimOnEveryHandle", 3, sharedClaims},
		{"SubscriptionsOnEveryHandle", 2, sharedSubscriptions},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ss := open(t, tc.n)
			if len(ss) != tc.n {
				t.Fatalf("open(%d) returned %d stores", tc.n, len(ss))
			}
			tc.fn(t, ss, newUsers(t))
		})
	}
}

func sharedOneUser(t *testing.T, ss []belfry.Store, u users) {
	// Two writers per handle; the reader uses yet another handle than most
	// writers, so it sees their commits only through the database.
	var writers []belfry.Store
	for range 2 {
		writers = append(writers, ss...)
	}
	raceOneUser(t, writers, ss[len(ss)-1], u.id("alice"), 30)
}

func sharedSeveralUsers(t *testing.T, ss []belfry.Store, u users) {
	raceSeveralUsers(t, append(ss, ss...), ss[0], u)
}

func sharedVisible(t *testing.T, ss []belfry.Store, u users) {
	a, b := ss[0], ss[1]
	alice := u.id("alice")
	n := create(t, a, note(alice, "from a"))[0]
	got := after(t, b, alice, 0, 10)
	wantIDs(t, "handle b: After(0) after a Create on handle a", got, []int64{1})
	same(t, "handle b", got[0], n)
	if m := create(t, b, note(alice, "from b"))[0]; m.ID != 2 {
		t.Fatalf("handle b: Create after handle a's: id %d, want 2", m.ID)
	}
	at := msTime(-time.Minute)
	setRead(t, a, alice, 2, &at)
	wantStats(t, b, alice, belfry.Stats{Unread: 1, Unseen: 1, LastID: 2})
	del(t, b, alice, 1)
	wantCode(t, "handle a: Delete of an id handle b deleted", a.Delete(ctx(t), alice, 1), belfry.ENOTFOUND)
	del(t, a, alice, 2)
	if m := create(t, b, note(alice, "after deletes"))[0]; m.ID != 3 {
		t.Fatalf("handle b: Create after handle a deleted the last id: id %d, want 3", m.ID)
	}
	wantStats(t, a, alice, belfry.Stats{Unread: 1, Unseen: 1, LastID: 3})
}

// Identical keyed publishes on several handles (several nodes) create one
// set between them.
func sharedPublishOneKey(t *testing.T, ss []belfry.Store, u users) {
	var handles []belfry.Store
	for range 4 {
		handles = append(handles, ss...)
	}
	concurrentKey(t, handles, u)
}

func sharedPreferences(t *testing.T, ss []belfry.Store, u users) {
	concurrentPrefs(t, ss, u.id("alice"))
}

// Claims from several handles (several nodes) never overlap while their
// leases hold, and a job claimed on one handle settles on another.
func sharedClaims(t *testing.T, ss []belfry.Store, u users) {
	var handles []belfry.Store
	for range 2 {
		handles = append(handles, ss...)
	}
	concurrentClaims(t, handles, u)
}

// A subscription made on one handle gates jobs enqueued on another, and
// moves between users whatever handle they use.
func sharedSubscriptions(t *testing.T, ss []belfry.Store, u users) {
	a, b := ss[0], ss[1]
	alice, bob := u.id("alice"), u.id("bob")
	emptyOutbox(t, a)
	t0 := msTime(0)
	phone := pushSub(u.id("phone"), t0)
	subscribe(t, a, alice, phone)
	enqueue(t, b, belfry.Job{ID: u.id("push"), Kind: belfry.JobPush, UserID: alice, NotificationID: 1,
		OnlyIfSubscribed: true, Created: t0, Due: t0})
	wantJobIDs(t, "handle a: Claim of a job enqueued on handle b", claim(t, a, t0, time.Minute, 10), u.id("push"))
	subscribe(t, b, bob, phone)
	wantSubs(t, a, alice)
	wantSubs(t, a, bob, phone)
	wantCode(t, "handle a: alice's Unsubscribe of the endpoint bob took on handle b",
		a.Unsubscribe(ctx(t), alice, phone.Endpoint), belfry.ENOTFOUND)
}
