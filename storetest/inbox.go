package storetest

import (
	"fmt"
	"testing"
	"time"

	"github.com/belfry/belfry"
)

func testSetReadSeen(t *testing.T, s belfry.Store, u users) {
	alice := u.id("alice")
	made := createN(t, s, alice, "n", 3)
	seen, at := msTime(-time.Hour), msTime(0)
	if n := seeAll(t, s, alice, 1, seen); n != 1 {
		t.Fatalf("SeeAll(alice, 1) = %d, want 1", n)
	}
	want := *made[0]
	want.ReadAt, want.SeenAt = &at, &seen
	same(t, "SetRead of a seen notification keeps its seen_at", setRead(t, s, alice, 1, &at), &want)

	want = *made[1]
	want.ReadAt, want.SeenAt = &at, &at
	same(t, "SetRead of an unseen notification sees it", setRead(t, s, alice, 2, &at), &want)
	want.ReadAt = nil
	same(t, "SetRead(unread) leaves seen_at", setRead(t, s, alice, 2, nil), &want)
	same(t, "After after SetRead(unread)", after(t, s, alice, 1, 1)[0], &want)
	wantStats(t, s, alice, belfry.Stats{Unread: 2, Unseen: 1, LastID: 3})
}

func testSeeAll(t *testing.T, s belfry.Store, u users) {
	alice, bob := u.id("alice"), u.id("bob")
	made := createN(t, s, alice, "n", 5)
	createN(t, s, bob, "b", 2)
	early, at, later := msTime(-time.Hour), msTime(-time.Minute), msTime(0)
	setRead(t, s, alice, 2, &early)
	setArchived(t, s, alice, 3, &early)
	create(t, s, expired(alice, "gone", ""), note(alice, "seven")) // ids 6, 7

	if n := seeAll(t, s, alice, 4, at); n != 3 {
		t.Fatalf("SeeAll(alice, 4) = %d, want 3 (ids 1, 3 archived, 4)", n)
	}
	got := byID(all(t, s, alice))
	for id, want := range map[int64]belfry.Notification{
		1: *made[0], 2: *made[1], 3: *made[2], 4: *made[3], 5: *made[4],
	} {
		switch id {
		case 1, 4:
			want.SeenAt = &at
		case 2:
			want.ReadAt, want.SeenAt = &early, &early
		case 3:
			want.SeenAt, want.ArchivedAt = &at, &early
		}
		same(t, "after SeeAll(4)", got[id], &want)
	}
	if got[7].SeenAt != nil {
		t.Fatalf("SeeAll(alice, 4) saw id 7")
	}
	if n := seeAll(t, s, alice, 4, later); n != 0 {
		t.Fatalf("SeeAll(alice, 4) again = %d, want 0", n)
	}
	if n := seeAll(t, s, alice, 100, later); n != 2 {
		t.Fatalf("SeeAll(alice, 100) = %d, want 2 (ids 5 and 7; 6 has expired)", n)
	}
	wantTime(t, "seen_at kept by a second SeeAll", byID(all(t, s, alice))[1].SeenAt, &at)
	wantStats(t, s, alice, belfry.Stats{Unread: 4, Unseen: 0, LastID: 7})
	wantStats(t, s, bob, belfry.Stats{Unread: 2, Unseen: 2, LastID: 2})
	if n := seeAll(t, s, u.id("nobody"), 10, at); n != 0 {
		t.Fatalf("SeeAll of a user with no notifications = %d, want 0", n)
	}
}

func testSetArchived(t *testing.T, s belfry.Store, u users) {
	alice, bob, carol := u.id("alice"), u.id("bob"), u.id("carol")
	made := createN(t, s, alice, "n", 3)
	createN(t, s, bob, "b", 1)
	first, later := msTime(-time.Hour), msTime(0)

	want := *made[1]
	want.ArchivedAt = &first
	same(t, "SetArchived", setArchived(t, s, alice, 2, &first), &want)
	same(t, "SetArchived twice keeps the first time", setArchived(t, s, alice, 2, &later), &want)
	wantStats(t, s, alice, belfry.Stats{Unread: 2, Unseen: 2, LastID: 3})
	wantIDs(t, "List(inbox) with id 2 archived", list(t, s, alice, belfry.ListQuery{Limit: 10}), []int64{3, 1})

	same(t, "SetArchived(nil)", setArchived(t, s, alice, 2, nil), made[1])
	same(t, "SetArchived(nil) twice", setArchived(t, s, alice, 2, nil), made[1])
	wantStats(t, s, alice, belfry.Stats{Unread: 3, Unseen: 3, LastID: 3})
	want.ArchivedAt = &later
	same(t, "SetArchived after unarchive takes the new time", setArchived(t, s, alice, 2, &later), &want)

	// Archiving leaves the read state alone, and reading leaves the
	// archive state alone.
	want.ReadAt, want.SeenAt = &later, &later
	same(t, "SetRead of an archived notification", setRead(t, s, alice, 2, &later), &want)

	for _, c := range []struct {
		user string
		id   int64
	}{{bob, 2}, {alice, 99}, {alice, 0}, {carol, 1}} {
		_, err := s.SetArchived(ctx(t), c.user, c.id, &later)
		wantCode(t, fmt.Sprintf("SetArchived(%q, %d)", c.user, c.id), err, belfry.ENOTFOUND)
		_, err = s.SetArchived(ctx(t), c.user, c.id, nil)
		wantCode(t, fmt.Sprintf("SetArchived(%q, %d, nil)", c.user, c.id), err, belfry.ENOTFOUND)
	}
	_, err := s.SetArchived(ctx(t), bob, 2, nil)
	wantCode(t, "SetArchived(nil) of another user's id", err, belfry.ENOTFOUND)
	same(t, "alice's id 2 after bob's calls", byID(all(t, s, alice))[2], &want)
	wantStats(t, s, bob, belfry.Stats{Unread: 1, Unseen: 1, LastID: 1})
}

// fixture is the inbox that the bulk-change tests start from.
//
//	id  category  state
//	1   billing   unread, unseen
//	2   billing   read
//	3   social    unread but seen (read, then unread)
//	4   social    read
//	5   (none)    unread, unseen
//	6   (none)    read
//	7   billing   archived, unread
//	8   billing   expired, unread
//	9   billing   unread (the filters stop at UpTo 8)
type fixtureRow struct {
	category         string
	read, archived   bool
	expired, seenNow bool
}

var fixtureRows = []fixtureRow{
	1: {category: "billing"},
	2: {category: "billing", read: true},
	3: {category: "social", seenNow: true},
	4: {category: "social", read: true},
	5: {},
	6: {read: true},
	7: {category: "billing", archived: true},
	8: {category: "billing", expired: true},
	9: {category: "billing"},
}

// fixtureTime is when the fixture's rows were read, seen or archived.
var fixtureTime = msTime(-time.Hour)

// makeFixture creates the fixture for user and returns its rows by id as
// the store should now hold them.
func makeFixture(t *testing.T, s belfry.Store, user string) map[int64]*belfry.Notification {
	t.Helper()
	var ns []*belfry.Notification
	for id := 1; id < len(fixtureRows); id++ {
		r := fixtureRows[id]
		n := cat(user, fmt.Sprint("row ", id), r.category)
		if r.expired {
			expiring(n, msTime(-time.Hour))
		}
		ns = append(ns, n)
	}
	create(t, s, ns...)
	want := map[int64]*belfry.Notification{}
	at := fixtureTime
	for _, n := range ns {
		r := fixtureRows[n.ID]
		switch {
		case r.read:
			setRead(t, s, user, n.ID, &at)
			n.ReadAt, n.SeenAt = &at, &at
		case r.seenNow:
			setRead(t, s, user, n.ID, &at)
			setRead(t, s, user, n.ID, nil)
			n.SeenAt = &at
		case r.archived:
			setArchived(t, s, user, n.ID, &at)
			n.ArchivedAt = &at
		}
		if !r.expired {
			want[n.ID] = n
		}
	}
	return want
}

// filters returns every combination of the Filter fields, with UpTo 8.
func filters() []belfry.Filter {
	var fs []belfry.Filter
	for _, c := range []*string{nil, ptr("billing"), ptr("social")} {
		for _, r := range []*bool{nil, ptr(true), ptr(false)} {
			fs = append(fs, belfry.Filter{UpTo: 8, Category: c, Read: r})
		}
	}
	return append(fs, belfry.Filter{UpTo: 3}, belfry.Filter{UpTo: 100, Category: ptr("billing")},
		belfry.Filter{UpTo: 0})
}

func filterString(f belfry.Filter) string {
	s := fmt.Sprintf("up_to %d", f.UpTo)
	if f.Category != nil {
		s += " category " + *f.Category
	}
	if f.Read != nil {
		s += fmt.Sprint(" read ", *f.Read)
	}
	return s
}

// selects reports whether f selects fixture row id (expired rows aside).
func selects(f belfry.Filter, id int64) bool {
	r := fixtureRows[id]
	return id <= f.UpTo && (f.Category == nil || *f.Category == r.category) &&
		(f.Read == nil || *f.Read == r.read)
}

func testArchiveAllFilters(t *testing.T, s belfry.Store, u users) {
	at := msTime(0)
	for i, f := range filters() {
		user := u.id(fmt.Sprint("a", i))
		want := makeFixture(t, s, user)
		changed := 0
		for id, n := range want {
			if n.ArchivedAt == nil && selects(f, id) {
				n.ArchivedAt = &at
				changed++
			}
		}
		n, err := s.ArchiveAll(ctx(t), user, f, at)
		if err != nil || n != changed {
			t.Fatalf("ArchiveAll(%s) = %d, %v; want %d changed", filterString(f), n, err, changed)
		}
		wantFixture(t, s, "ArchiveAll("+filterString(f)+")", user, want)
	}
}

func testReadAllFilters(t *testing.T, s belfry.Store, u users) {
	at := msTime(0)
	for i, f := range filters() {
		user := u.id(fmt.Sprint("r", i))
		want := makeFixture(t, s, user)
		changed := 0
		for id, n := range want {
			if n.ReadAt == nil && n.ArchivedAt == nil && selects(f, id) {
				n.ReadAt = &at
				if n.SeenAt == nil {
					n.SeenAt = &at
				}
				changed++
			}
		}
		n, err := s.ReadAll(ctx(t), user, f, at)
		if err != nil || n != changed {
			t.Fatalf("ReadAll(%s) = %d, %v; want %d changed", filterString(f), n, err, changed)
		}
		wantFixture(t, s, "ReadAll("+filterString(f)+")", user, want)
	}
}

// wantFixture checks every row of the user's fixture, and its Stats.
func wantFixture(t *testing.T, s belfry.Store, what, user string, want map[int64]*belfry.Notification) {
	t.Helper()
	got := all(t, s, user)
	if len(got) != len(want) {
		t.Fatalf("%s: %d notifications listed, want %d", what, len(got), len(want))
	}
	st := belfry.Stats{LastID: int64(len(fixtureRows) - 1), ByCategory: map[string]belfry.Counts{}}
	for _, g := range got {
		w := want[g.ID]
		if w == nil {
			t.Fatalf("%s: listed id %d, which should not be", what, g.ID)
		}
		same(t, what, g, w)
		if w.ArchivedAt != nil || (w.ReadAt != nil && w.SeenAt != nil) {
			continue
		}
		var c belfry.Counts
		if w.ReadAt == nil {
			c.Unread++
		}
		if w.SeenAt == nil {
			c.Unseen++
		}
		st.Unread += c.Unread
		st.Unseen += c.Unseen
		if w.Category != "" {
			b := st.ByCategory[w.Category]
			b.Unread += c.Unread
			b.Unseen += c.Unseen
			st.ByCategory[w.Category] = b
		}
	}
	wantStats(t, s, user, st)
}

func testAct(t *testing.T, s belfry.Store, u users) {
	alice, bob := u.id("alice"), u.id("bob")
	actions := []belfry.Action{{ID: "approve", Label: "Approve", URL: "/approve"}, {ID: "deny", Label: "Deny"}}
	withActions := func(user, msg string) *belfry.Notification {
		return &belfry.Notification{UserID: user, Message: msg, Category: "expenses", Actions: actions}
	}
	made := create(t, s, withActions(alice, "one"), note(alice, "no actions"), withActions(alice, "three"),
		withActions(alice, "four"), withActions(bob, "bob's"))
	early, at, later := msTime(-time.Hour), msTime(-time.Minute), msTime(0)

	want := *made[0]
	want.Action, want.ActedAt, want.ReadAt, want.SeenAt = "approve", &at, &at, &at
	same(t, "Act", act(t, s, alice, 1, "approve", at), &want)
	same(t, "Act with the same action again", act(t, s, alice, 1, "approve", later), &want)
	_, err := s.Act(ctx(t), alice, 1, "deny", later)
	wantCode(t, "Act with another action", err, belfry.ECONFLICT)
	_, err = s.Act(ctx(t), alice, 1, "nope", later)
	if code := belfry.ErrorCode(err); code != belfry.ENOTFOUND && code != belfry.ECONFLICT {
		t.Fatalf("Act with an unknown action after one was taken: %v, want not_found or conflict", err)
	}
	same(t, "after the refused Acts", byID(all(t, s, alice))[1], &want)

	for _, c := range []struct {
		user   string
		id     int64
		action string
	}{{alice, 3, "nope"}, {alice, 3, "Approve"}, {alice, 3, ""}, {alice, 2, "approve"},
		{alice, 99, "approve"}, {alice, 0, "approve"}, {bob, 3, "approve"}, {u.id("carol"), 1, "approve"}} {
		_, err := s.Act(ctx(t), c.user, c.id, c.action, at)
		wantCode(t, fmt.Sprintf("Act(%q, %d, %q)", c.user, c.id, c.action), err, belfry.ENOTFOUND)
	}
	same(t, "id 3 after the refused Acts", byID(all(t, s, alice))[3], made[2])

	// Acting keeps earlier read and seen times.
	setRead(t, s, alice, 4, &early)
	want = *made[3]
	want.Action, want.ActedAt, want.ReadAt, want.SeenAt = "deny", &at, &early, &early
	same(t, "Act on a read notification", act(t, s, alice, 4, "deny", at), &want)

	wantStats(t, s, alice, belfry.Stats{Unread: 2, Unseen: 2, LastID: 4,
		ByCategory: byCat("expenses", 1, 1)})
	wantStats(t, s, bob, belfry.Stats{Unread: 1, Unseen: 1, LastID: 1, ByCategory: byCat("expenses", 1, 1)})
	same(t, "bob's notification", after(t, s, bob, 0, 1)[0], made[4])
}
