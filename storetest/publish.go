package storetest

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/belfry/belfry"
)

func testPublishSkips(t *testing.T, s belfry.Store, u users) {
	alice, bob, carol, dave := u.id("alice"), u.id("bob"), u.id("carol"), u.id("dave")
	tr := true
	setPrefs(t, s, bob, off("billing"))
	p := off("")
	p.Categories = map[string]*belfry.ChannelsPatch{"social": {InApp: &tr}}
	setPrefs(t, s, carol, p) // off by default, on for social

	b := publish(t, s, nil, cat(alice, "m", "billing"), cat(bob, "m", "billing"),
		cat(carol, "m", "billing"), cat(dave, "m", "billing"))
	wantBatch(t, "Publish(billing)", b, []created{{alice, 1}, {dave, 1}}, []string{bob, carol}, false)
	for _, n := range b.Notifications {
		same(t, "Publish(billing) stored", after(t, s, n.UserID, 0, 10)[0], n)
	}
	b = publish(t, s, nil, cat(carol, "m", "social"), cat(bob, "m", "social"))
	wantBatch(t, "Publish(social)", b, []created{{carol, 1}, {bob, 1}}, nil, false)
	b = publish(t, s, nil, note(carol, "m"), note(alice, "m")) // no category: the default
	wantBatch(t, "Publish(no category)", b, []created{{alice, 2}}, []string{carol}, false)
	b = publish(t, s, nil, cat(bob, "m", "billing"))
	wantBatch(t, "Publish(billing) to bob alone", b, nil, []string{bob}, false)

	// Skipped users' ids were not consumed.
	wantStats(t, s, bob, belfry.Stats{Unread: 1, Unseen: 1, LastID: 1, ByCategory: byCat("social", 1, 1)})
	wantStats(t, s, carol, belfry.Stats{Unread: 1, Unseen: 1, LastID: 1, ByCategory: byCat("social", 1, 1)})
	// Create does not apply preferences.
	if n := create(t, s, cat(bob, "m", "billing"))[0]; n.ID != 2 {
		t.Fatalf("Create for bob after skipped publishes: id %d, want 2", n.ID)
	}
	// Turning a category back on takes effect.
	setPrefs(t, s, bob, belfry.PreferencesPatch{Categories: map[string]*belfry.ChannelsPatch{"billing": nil}})
	b = publish(t, s, nil, cat(bob, "m", "billing"))
	wantBatch(t, "Publish(billing) after bob turned it on", b, []created{{bob, 3}}, nil, false)
}

func testPublishIdempotent(t *testing.T, s belfry.Store, u users) {
	alice, bob, carol := u.id("alice"), u.id("bob"), u.id("carol")
	setPrefs(t, s, bob, off("billing"))
	batch := func() []*belfry.Notification {
		return []*belfry.Notification{cat(alice, "m", "billing"), cat(bob, "m", "billing"), cat(carol, "m", "billing")}
	}
	k := key(u.id("k1"), "body", msTime(time.Hour))
	first := publish(t, s, k, batch()...)
	want := []created{{alice, 1}, {carol, 1}}
	wantBatch(t, "first Publish", first, want, []string{bob}, false)

	again := publish(t, s, k, batch()...)
	wantBatch(t, "replay", again, want, []string{bob}, true)
	for i, n := range again.Notifications {
		if !n.CreatedAt.Equal(first.Notifications[i].CreatedAt) {
			t.Fatalf("replay: created_at %v, the first call's %v", n.CreatedAt, first.Notifications[i].CreatedAt)
		}
	}
	// The record decides, not today's preferences.
	setPrefs(t, s, bob, belfry.PreferencesPatch{Categories: map[string]*belfry.ChannelsPatch{"billing": nil}})
	wantBatch(t, "replay after bob turned billing on", publish(t, s, k, batch()...), want, []string{bob}, true)

	other := &belfry.Batch{Notifications: batch(), Key: key(k.Name, "another body", k.Expires)}
	wantCode(t, "Publish with the key and another body", s.Publish(ctx(t), other), belfry.EIDEMCONFLICT)
	if other.Replayed {
		t.Fatalf("a conflicting Publish says it was replayed")
	}
	for _, user := range []string{alice, carol} {
		wantStats(t, s, user, belfry.Stats{Unread: 1, Unseen: 1, LastID: 1, ByCategory: byCat("billing", 1, 1)})
	}
	wantStats(t, s, bob, belfry.Stats{})

	// Names are compared exactly; the same body under another name is
	// another call.
	b := publish(t, s, key(k.Name+" ", "body", k.Expires), batch()...)
	wantBatch(t, "Publish under another key", b, []created{{alice, 2}, {bob, 1}, {carol, 2}}, nil, false)

	// A call whose users were all skipped is recorded too.
	setPrefs(t, s, alice, off(""))
	k2 := key(u.id("k2"), "body", msTime(time.Hour))
	wantBatch(t, "Publish with everyone skipped", publish(t, s, k2, note(alice, "m")), nil, []string{alice}, false)
	setPrefs(t, s, alice, belfry.PreferencesPatch{Default: &belfry.ChannelsPatch{InApp: ptr(true)}})
	wantBatch(t, "its replay", publish(t, s, k2, note(alice, "m")), nil, []string{alice}, true)
	wantStats(t, s, alice, belfry.Stats{Unread: 2, Unseen: 2, LastID: 2, ByCategory: byCat("billing", 2, 2)})
}

func testPublishExpiredKey(t *testing.T, s belfry.Store, u users) {
	alice := u.id("alice")
	name := u.id("key")
	// The window had already ended: the second call is a new one.
	b := publish(t, s, key(name, "body", msTime(-time.Second)), note(alice, "m"))
	wantBatch(t, "first Publish", b, []created{{alice, 1}}, nil, false)
	b = publish(t, s, key(name, "body", msTime(time.Hour)), note(alice, "m"))
	wantBatch(t, "Publish after the key expired", b, []created{{alice, 2}}, nil, false)
	// And the new call's record replaces the expired one, whatever its body.
	b = publish(t, s, key(name, "body", msTime(time.Hour)), note(alice, "m"))
	wantBatch(t, "replay of the new call", b, []created{{alice, 2}}, nil, true)
	err := s.Publish(ctx(t), &belfry.Batch{Notifications: []*belfry.Notification{note(alice, "m")},
		Key: key(name, "other", msTime(time.Hour))})
	wantCode(t, "Publish with the renewed key and another body", err, belfry.EIDEMCONFLICT)
	wantStats(t, s, alice, belfry.Stats{Unread: 2, Unseen: 2, LastID: 2})
}

func testPublishConcurrentKey(t *testing.T, s belfry.Store, u users) {
	ss := make([]belfry.Store, 16)
	for i := range ss {
		ss[i] = s
	}
	concurrentKey(t, ss, u)
}

// concurrentKey runs one identical keyed Publish per entry of ss, all at
// once: exactly one creates the notifications, the others replay it.
func concurrentKey(t *testing.T, ss []belfry.Store, u users) {
	alice, bob, carol := u.id("alice"), u.id("bob"), u.id("carol")
	setPrefs(t, ss[0], bob, off("billing"))
	k := key(u.id("key"), "body", msTime(time.Hour))
	batches := make([]*belfry.Batch, len(ss))
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i, s := range ss {
		batches[i] = &belfry.Batch{Key: k, Notifications: []*belfry.Notification{
			cat(alice, "m", "billing"), cat(bob, "m", "billing"), cat(carol, "m", "billing")}}
		wg.Go(func() {
			<-start
			if err := s.Publish(ctx(t), batches[i]); err != nil {
				t.Errorf("Publish #%d: %v", i, err)
			}
		})
	}
	close(start)
	wg.Wait()
	if t.Failed() {
		return
	}
	fresh := 0
	for i, b := range batches {
		if !b.Replayed {
			fresh++
		}
		wantBatch(t, fmt.Sprintf("Publish #%d", i), b, []created{{alice, 1}, {carol, 1}}, []string{bob}, b.Replayed)
		if !b.Notifications[0].CreatedAt.Equal(batches[0].Notifications[0].CreatedAt) {
			t.Fatalf("Publish #%d: created_at %v, #0 has %v", i, b.Notifications[0].CreatedAt,
				batches[0].Notifications[0].CreatedAt)
		}
	}
	if fresh != 1 {
		t.Fatalf("%d of %d concurrent Publish calls with one key say they created, want 1", fresh, len(ss))
	}
	for _, user := range []string{alice, carol} {
		wantIDs(t, "After(0) of "+user, after(t, ss[len(ss)-1], user, 0, 10), []int64{1})
		wantStats(t, ss[0], user, belfry.Stats{Unread: 1, Unseen: 1, LastID: 1, ByCategory: byCat("billing", 1, 1)})
	}
	wantStats(t, ss[0], bob, belfry.Stats{})
}
