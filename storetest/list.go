package storetest

import (
	"fmt"
	"testing"
	"time"

	"github.com/belfry/belfry"
)

func testListFilters(t *testing.T, s belfry.Store, u users) {
	alice := u.id("alice")
	// 1 billing; 2 billing archived; 3 social read; 4 none;
	// 5 social read and archived; 6 billing expired; 7 billing unread
	// but seen; 8 none.
	create(t, s, cat(alice, "1", "billing"), cat(alice, "2", "billing"), cat(alice, "3", "social"),
		note(alice, "4"), cat(alice, "5", "social"), expired(alice, "6", "billing"),
		cat(alice, "7", "billing"), note(alice, "8"))
	at := msTime(0)
	setArchived(t, s, alice, 2, &at)
	setRead(t, s, alice, 3, &at)
	setRead(t, s, alice, 5, &at)
	setArchived(t, s, alice, 5, &at)
	setRead(t, s, alice, 7, &at)
	setRead(t, s, alice, 7, nil)

	billing := "billing"
	for _, c := range []struct {
		q    belfry.ListQuery
		want []int64
	}{
		{belfry.ListQuery{}, []int64{8, 7, 4, 3, 1}},
		{belfry.ListQuery{Status: belfry.StatusInbox}, []int64{8, 7, 4, 3, 1}},
		{belfry.ListQuery{Status: belfry.StatusArchived}, []int64{5, 2}},
		{belfry.ListQuery{Status: belfry.StatusAll}, []int64{8, 7, 5, 4, 3, 2, 1}},
		{belfry.ListQuery{Category: billing}, []int64{7, 1}},
		{belfry.ListQuery{Category: billing, Status: belfry.StatusAll}, []int64{7, 2, 1}},
		{belfry.ListQuery{Category: billing, Status: belfry.StatusArchived}, []int64{2}},
		{belfry.ListQuery{Category: "social", Status: belfry.StatusAll}, []int64{5, 3}},
		{belfry.ListQuery{Category: "nothing", Status: belfry.StatusAll}, nil},
		{belfry.ListQuery{UnreadOnly: true}, []int64{8, 7, 4, 1}},
		{belfry.ListQuery{UnreadOnly: true, Status: belfry.StatusAll}, []int64{8, 7, 4, 2, 1}},
		{belfry.ListQuery{UnreadOnly: true, Status: belfry.StatusArchived}, []int64{2}},
		{belfry.ListQuery{UnseenOnly: true}, []int64{8, 4, 1}},
		{belfry.ListQuery{UnseenOnly: true, Status: belfry.StatusAll}, []int64{8, 4, 2, 1}},
		{belfry.ListQuery{UnseenOnly: true, Status: belfry.StatusAll, Category: billing}, []int64{2, 1}},
		{belfry.ListQuery{UnseenOnly: true, UnreadOnly: true, Category: billing}, []int64{1}},
		{belfry.ListQuery{UnreadOnly: true, Before: 7}, []int64{4, 1}},
		{belfry.ListQuery{UnreadOnly: true, Before: 7, Limit: 1}, []int64{4}},
		{belfry.ListQuery{UnreadOnly: true, Category: billing, Before: 7}, []int64{1}},
		{belfry.ListQuery{UnseenOnly: true, Status: belfry.StatusAll, Before: 4}, []int64{2, 1}},
		{belfry.ListQuery{UnseenOnly: true, Status: belfry.StatusAll, Before: 4, Limit: 1}, []int64{2}},
		{belfry.ListQuery{Status: belfry.StatusArchived, Before: 5}, []int64{2}},
		{belfry.ListQuery{Before: 8, Limit: 2}, []int64{7, 4}},
		{belfry.ListQuery{Before: 7, Limit: 1}, []int64{4}}, // not 6: it has expired
		{belfry.ListQuery{Status: belfry.StatusAll, Before: 7, Limit: 1}, []int64{5}},
	} {
		if c.q.Limit == 0 {
			c.q.Limit = 10
		}
		got := list(t, s, alice, c.q)
		wantIDs(t, fmt.Sprintf("List(%+v)", c.q), got, c.want)
		for _, n := range got {
			if (c.q.UnreadOnly && n.ReadAt != nil) || (c.q.UnseenOnly && n.SeenAt != nil) ||
				(c.q.Category != "" && n.Category != c.q.Category) {
				t.Fatalf("List(%+v) returned id %d: %+v", c.q, n.ID, n)
			}
		}
	}

	// Paging through the inbox visits exactly its notifications.
	var paged []*belfry.Notification
	q := belfry.ListQuery{Limit: 2}
	for {
		p := list(t, s, alice, q)
		paged = append(paged, p...)
		if len(p) < q.Limit {
			break
		}
		q.Before = p[len(p)-1].ID
	}
	wantIDs(t, "List(inbox) paged by 2", paged, []int64{8, 7, 4, 3, 1})

	// After replays archived ones and leaves expired ones out.
	wantIDs(t, "After(0)", after(t, s, alice, 0, 100), []int64{1, 2, 3, 4, 5, 7, 8})
	wantIDs(t, "After(5, 1)", after(t, s, alice, 5, 1), []int64{7})
	wantIDs(t, "After(4, 2)", after(t, s, alice, 4, 2), []int64{5, 7})
	wantIDs(t, "After(8)", after(t, s, alice, 8, 100), nil)
}

// testExpiryTakesEffect checks that a notification stops being listed,
// counted and replayed when its time comes, with no write in between.
func testExpiryTakesEffect(t *testing.T, s belfry.Store, u users) {
	alice := u.id("alice")
	const life = time.Second
	exp := msTime(life)
	create(t, s, note(alice, "stays"), expiring(cat(alice, "goes", "news"), exp))
	st := stats(t, s, alice)
	ls := list(t, s, alice, belfry.ListQuery{Limit: 10})
	as := after(t, s, alice, 0, 10)
	// Under a heavy load the reads may come too late to see it.
	if time.Now().Before(exp.Add(-life / 4)) {
		if !SameStats(st, belfry.Stats{Unread: 2, Unseen: 2, LastID: 2, ByCategory: byCat("news", 1, 1)}) {
			t.Fatalf("Stats before the expiry = %+v", st)
		}
		wantIDs(t, "List before the expiry", ls, []int64{2, 1})
		wantIDs(t, "After before the expiry", as, []int64{1, 2})
	}
	deadline := time.Now().Add(life + 15*time.Second)
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for ; ; <-tick.C {
		st = stats(t, s, alice)
		ls = list(t, s, alice, belfry.ListQuery{Limit: 10, Status: belfry.StatusAll})
		as = after(t, s, alice, 0, 10)
		if SameStats(st, belfry.Stats{Unread: 1, Unseen: 1, LastID: 2}) && len(ls) == 1 && len(as) == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%v after expires_at: Stats %+v, List %v, After %v; want only id 1",
				time.Since(exp), st, ids(ls), ids(as))
		}
	}
	wantIDs(t, "List after the expiry", ls, []int64{1})
	wantIDs(t, "After after the expiry", as, []int64{1})
}
