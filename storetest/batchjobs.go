package storetest

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/belfry/belfry"
)

func testPublishJobs(t *testing.T, s belfry.Store, u users) {
	emptyOutbox(t, s)
	alice, bob, carol := u.id("alice"), u.id("bob"), u.id("carol")
	setPrefs(t, s, bob, off("billing"))
	subscribe(t, s, alice, pushSub(u.id("alice-phone"), msTime(0)))
	t0 := msTime(0)
	explicit := t0.Add(-time.Hour)
	push := func(id, user string, index int) belfry.Job {
		return belfry.Job{ID: u.id(id), Kind: belfry.JobPush, UserID: user, Index: index,
			OnlyIfSubscribed: true, Due: t0, Payload: []byte("offline")}
	}
	escalate := func(id, user string, index int) belfry.Job {
		return belfry.Job{ID: u.id(id), Kind: belfry.JobEscalate, UserID: user, Index: index, Due: t0.Add(time.Minute)}
	}
	notes := func() []*belfry.Notification {
		return []*belfry.Notification{cat(alice, "m", "billing"), cat(bob, "m", "billing"), cat(carol, "m", "billing")}
	}
	k := key(u.id("k"), "body", msTime(time.Hour))
	aliceEsc := escalate("alice-esc", alice, 0)
	aliceEsc.Created = explicit
	b := &belfry.Batch{Notifications: notes(), Key: k, Jobs: []belfry.Job{
		push("alice-push", alice, 0),
		aliceEsc,
		escalate("bob-esc", bob, 1),     // bob's notification is skipped
		push("carol-push", carol, 2),    // carol has no subscription
		escalate("carol-esc", carol, 2), //
	}}
	if err := s.Publish(ctx(t), b); err != nil {
		t.Fatalf("Publish with jobs: %v", err)
	}
	wantBatch(t, "Publish with jobs", b, []created{{alice, 1}, {carol, 1}}, []string{bob}, false)
	na, nc := b.Notifications[0], b.Notifications[1]

	got := claim(t, s, t0.Add(time.Minute), time.Minute, 10)
	wantJobIDs(t, "Claim after Publish", got, u.id("alice-push"), u.id("alice-esc"), u.id("carol-esc"))
	want := []belfry.Job{push("alice-push", alice, 0), aliceEsc, escalate("carol-esc", carol, 2)}
	want[0].NotificationID, want[0].Created = na.ID, na.CreatedAt // Created: the notification's when zero
	want[1].NotificationID = na.ID
	want[2].NotificationID, want[2].Created = nc.ID, nc.CreatedAt
	for i := range got {
		sameJob(t, "job of the publish", got[i], want[i])
		settle(t, s, belfry.Settlement{ID: got[i].ID, Claim: got[i].Claim, Done: true})
	}

	// The replay stores no job; neither does a call with the key and
	// another body.
	again := &belfry.Batch{Notifications: notes(), Key: k, Jobs: []belfry.Job{
		push("replay-push", alice, 0), escalate("replay-esc", carol, 2)}}
	if err := s.Publish(ctx(t), again); err != nil {
		t.Fatalf("replayed Publish with jobs: %v", err)
	}
	wantBatch(t, "replayed Publish", again, []created{{alice, 1}, {carol, 1}}, []string{bob}, true)
	conflict := &belfry.Batch{Notifications: notes(), Key: key(k.Name, "other", k.Expires), Jobs: []belfry.Job{
		push("conflict-push", alice, 0)}}
	wantCode(t, "Publish with the key and another body", s.Publish(ctx(t), conflict), belfry.EIDEMCONFLICT)
	// Nor does a call whose one notification is skipped.
	skipped := &belfry.Batch{Notifications: []*belfry.Notification{cat(bob, "m", "billing")},
		Jobs: []belfry.Job{escalate("skipped-esc", bob, 0)}}
	if err := s.Publish(ctx(t), skipped); err != nil {
		t.Fatalf("Publish to a skipped user with a job: %v", err)
	}
	wantJobIDs(t, "Claim after the replay, the conflict and the skip", claim(t, s, farFuture, time.Minute, 10))

	// Deleting or purging a notification leaves its jobs alone.
	gone := &belfry.Batch{Notifications: []*belfry.Notification{note(alice, "to delete"),
		expiring(note(carol, "to purge"), t0.Add(time.Second))},
		Jobs: []belfry.Job{escalate("deleted-esc", alice, 0), escalate("purged-esc", carol, 1)}}
	if err := s.Publish(ctx(t), gone); err != nil {
		t.Fatalf("Publish: %v", err)
	}
	del(t, s, alice, gone.Notifications[0].ID)
	purge(t, s, u, belfry.PurgeQuery{Now: t0.Add(time.Minute), Limit: 100})
	wantJobIDs(t, "Claim after Delete and Purge", claim(t, s, t0.Add(time.Minute), time.Minute, 10),
		u.id("deleted-esc"), u.id("purged-esc"))
}

// Concurrent publishes with jobs (which a store may commit together):
// each job names its own call's notification.
func testPublishJobsConcurrent(t *testing.T, s belfry.Store, u users) {
	emptyOutbox(t, s)
	alice := u.id("alice")
	t0 := msTime(0)
	const calls = 16
	batches := make([]*belfry.Batch, calls)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range batches {
		user := u.id(fmt.Sprintf("user%02d", i))
		batches[i] = &belfry.Batch{
			Notifications: []*belfry.Notification{note(user, "m"), note(alice, fmt.Sprint(i)), note(user, "m2")},
			Jobs: []belfry.Job{
				{ID: u.id(fmt.Sprintf("j%02d-2", i)), Kind: belfry.JobEscalate, UserID: user, Index: 2, Due: t0},
				{ID: u.id(fmt.Sprintf("j%02d-1", i)), Kind: belfry.JobEscalate, UserID: alice, Index: 1, Due: t0},
			}}
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
	want := map[string]belfry.Job{}
	for i, b := range batches {
		for _, j := range b.Jobs {
			n := b.Notifications[j.Index]
			j.NotificationID, j.Created = n.ID, n.CreatedAt
			want[j.ID] = j
		}
		if b.Notifications[1].Message != fmt.Sprint(i) {
			t.Fatalf("Publish #%d: notifications %v", i, b.Notifications)
		}
	}
	got := claim(t, s, t0, time.Minute, 10*calls)
	if len(got) != len(want) {
		t.Fatalf("Claim after %d concurrent publishes: %d jobs, want %d", calls, len(got), len(want))
	}
	for _, j := range got {
		sameJob(t, "job of a concurrent publish", j, want[j.ID])
	}
}
