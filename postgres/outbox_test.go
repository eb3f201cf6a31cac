package postgres_test

import (
	"bytes"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/belfry/belfry"
)

// t0 is the outbox tests' clock: the jobs' times are explicit.
var t0 = time.Date(2026, 12, 7, 10, 0, 0, 0, time.UTC)

func job(id string, due time.Time) belfry.Job {
	return belfry.Job{ID: id, Kind: belfry.JobWebhook, UserID: "alice", Created: t0, Due: due,
		Payload: []byte(`{"type":"x"}`)}
}

// TestClaimConcurrentStores has goroutines of two Stores on one schema
// claim and settle jobs until none is left: each job is handed out once.
func TestClaimConcurrentStores(t *testing.T) {
	t.Parallel()
	url := freshSchema(t)
	stores := []belfry.Outbox{openStore(t, url), openStore(t, url)}
	ctx := t.Context()
	const total = 400
	jobs := make([]belfry.Job, total)
	for i := range jobs {
		jobs[i] = job(fmt.Sprintf("j%04d", i), t0.Add(time.Duration(i%7)*time.Millisecond))
	}
	if err := stores[0].Enqueue(ctx, jobs); err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	seen := map[string]int{}
	var wg sync.WaitGroup
	for g := range 8 {
		s := stores[g%2]
		wg.Go(func() {
			for {
				got, err := s.Claim(ctx, t0.Add(time.Second), time.Hour, 7)
				if err != nil {
					t.Error(err)
					return
				}
				if len(got) == 0 {
					return
				}
				mu.Lock()
				for _, j := range got {
					seen[j.ID]++
				}
				mu.Unlock()
				// Settle half, so that claims meet both settled and
				// leased jobs.
				for _, j := range got[:len(got)/2] {
					if err := s.Settle(ctx, belfry.Settlement{ID: j.ID, Claim: j.Claim, Done: true}); err != nil {
						t.Error(err)
						return
					}
				}
			}
		})
	}
	wg.Wait()
	if len(seen) != total {
		t.Fatalf("%d jobs claimed, want %d", len(seen), total)
	}
	for id, n := range seen {
		if n != 1 {
			t.Errorf("job %s claimed %d times while its lease held", id, n)
		}
	}
}

// TestClaimOrderAndLease checks the order of a claim and that a job comes
// back only once its lease has expired, to a claim with another token.
func TestClaimOrderAndLease(t *testing.T) {
	t.Parallel()
	s := openStore(t, freshSchema(t))
	ctx := t.Context()
	err := s.Enqueue(ctx, []belfry.Job{job("b", t0), job("c", t0.Add(-time.Second)), job("a", t0),
		job("later", t0.Add(time.Hour))})
	if err != nil {
		t.Fatal(err)
	}
	got, err := s.Claim(ctx, t0, time.Minute, 10)
	if err != nil {
		t.Fatal(err)
	}
	if ids := jobIDs(got); !slices.Equal(ids, []string{"c", "a", "b"}) {
		t.Fatalf("claimed %v, want [c a b]", ids)
	}
	if got[0].Claim == "" || got[0].Claim == got[1].Claim {
		t.Fatalf("claims %q, %q: want distinct tokens", got[0].Claim, got[1].Claim)
	}
	if again, err := s.Claim(ctx, t0.Add(time.Minute-time.Millisecond), time.Minute, 10); err != nil || len(again) != 0 {
		t.Fatalf("claim under the lease: %v, %v; want none", jobIDs(again), err)
	}
	again, err := s.Claim(ctx, t0.Add(time.Minute), time.Minute, 1)
	if err != nil || len(again) != 1 || again[0].ID != "c" || again[0].Claim == got[0].Claim {
		t.Fatalf("claim after the lease: %+v, %v; want c with a new token", again, err)
	}
	err = s.Settle(ctx, belfry.Settlement{ID: "c", Claim: got[0].Claim, Done: true})
	wantCode(t, "Settle with the expired claim", err, belfry.ECONFLICT)
	err = s.Settle(ctx, belfry.Settlement{ID: "c", Claim: again[0].Claim, Done: true})
	if err != nil {
		t.Fatal(err)
	}
	err = s.Settle(ctx, belfry.Settlement{ID: "c", Claim: again[0].Claim, Done: true})
	wantCode(t, "Settle of a deleted job", err, belfry.ECONFLICT)
}

// TestSettleRetryFailRevive walks a job through retry, failure and
// revival, with a Next that must not be enqueued when the claim is stale.
func TestSettleRetryFailRevive(t *testing.T) {
	t.Parallel()
	s := openStore(t, freshSchema(t))
	ctx := t.Context()
	if err := s.Enqueue(ctx, []belfry.Job{job("w1", t0)}); err != nil {
		t.Fatal(err)
	}
	got, err := s.Claim(ctx, t0, time.Minute, 1)
	if err != nil || len(got) != 1 {
		t.Fatal(got, err)
	}
	retry := t0.Add(30*time.Second + 123456*time.Nanosecond)
	err = s.Settle(ctx, belfry.Settlement{ID: "w1", Claim: "stale", Done: true,
		Next: []belfry.Job{job("n1", t0)}})
	wantCode(t, "Settle with a wrong claim", err, belfry.ECONFLICT)
	err = s.Settle(ctx, belfry.Settlement{ID: "w1", Claim: got[0].Claim, Retry: retry,
		LastError: "503 from \x00the hook \xff", Payload: []byte("new"), Next: []belfry.Job{job("n1", t0)}})
	if err != nil {
		t.Fatal(err)
	}
	// n1 is due; w1 is not until retry.
	got, err = s.Claim(ctx, t0.Add(time.Second), time.Minute, 10)
	if err != nil || !slices.Equal(jobIDs(got), []string{"n1"}) {
		t.Fatalf("claimed %v, %v; want [n1] (and n1 once: the stale Settle added nothing)", jobIDs(got), err)
	}
	if err := s.Settle(ctx, belfry.Settlement{ID: "n1", Claim: got[0].Claim, Done: true}); err != nil {
		t.Fatal(err)
	}
	got, err = s.Claim(ctx, retry, time.Minute, 10)
	if err != nil || len(got) != 1 {
		t.Fatal(got, err)
	}
	w := got[0]
	if w.Attempts != 1 || !bytes.Equal(w.Payload, []byte("new")) || w.LastError != "503 from the hook \uFFFD" ||
		!w.Due.Equal(retry.Truncate(time.Millisecond)) || !w.Created.Equal(t0) {
		t.Fatalf("after a retry: %+v", w)
	}
	err = s.Settle(ctx, belfry.Settlement{ID: "w1", Claim: w.Claim, Fail: true, LastError: "gone"})
	if err != nil {
		t.Fatal(err)
	}
	failed, err := s.FailedJobs(ctx, belfry.JobWebhook, "", 10)
	if err != nil || len(failed) != 1 || !failed[0].Failed || failed[0].Attempts != 2 || failed[0].Claim != "" {
		t.Fatalf("FailedJobs: %+v, %v", failed, err)
	}
	if got, err := s.Claim(ctx, t0.Add(time.Hour), time.Minute, 10); err != nil || slices.Contains(jobIDs(got), "w1") {
		t.Fatalf("a failed job was claimed: %v, %v", jobIDs(got), err)
	}
	_, err = s.Revive(ctx, "n1", t0)
	wantCode(t, "Revive of a pending job", err, belfry.ENOTFOUND)
	now := t0.Add(2 * time.Hour)
	r, err := s.Revive(ctx, "w1", now)
	if err != nil || r.Failed || r.Attempts != 0 || !r.Due.Equal(now) || r.LastError != "gone" {
		t.Fatalf("Revive: %+v, %v", r, err)
	}
	got, err = s.Claim(ctx, now, time.Minute, 10)
	if err != nil || !slices.Equal(jobIDs(got), []string{"w1"}) {
		t.Fatalf("claim after Revive: %v, %v", jobIDs(got), err)
	}
}

// TestSubscribeLimitConcurrent subscribes more endpoints than allowed,
// all at once, from two Stores: exactly MaxSubscriptions succeed.
func TestSubscribeLimitConcurrent(t *testing.T) {
	t.Parallel()
	url := freshSchema(t)
	stores := []belfry.Subscriptions{openStore(t, url), openStore(t, url)}
	ctx := t.Context()
	const tries = belfry.MaxSubscriptions + 12
	errs := make([]error, tries)
	var wg sync.WaitGroup
	for i := range tries {
		wg.Go(func() {
			errs[i] = stores[i%2].Subscribe(ctx, "alice", belfry.Subscription{
				Endpoint: fmt.Sprintf("https://push.example/%02d", i), P256DH: "k", Auth: "a", Created: t0})
		})
	}
	wg.Wait()
	ok := 0
	for _, err := range errs {
		switch belfry.ErrorCode(err) {
		case "":
			ok++
		case belfry.ELIMIT:
		default:
			t.Fatal(err)
		}
	}
	subs, err := stores[0].SubscriptionsOf(ctx, "alice")
	if err != nil {
		t.Fatal(err)
	}
	if ok != belfry.MaxSubscriptions || len(subs) != belfry.MaxSubscriptions {
		t.Fatalf("%d subscribed, %d stored; want %d", ok, len(subs), belfry.MaxSubscriptions)
	}
	// Replacing one of the user's own is not a new one.
	err = stores[1].Subscribe(ctx, "alice", belfry.Subscription{Endpoint: subs[3].Endpoint,
		P256DH: "k2", Auth: "a2", Created: t0.Add(time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	// Another user takes an endpoint over, which frees a place.
	err = stores[0].Subscribe(ctx, "bob", belfry.Subscription{Endpoint: subs[0].Endpoint,
		P256DH: "k3", Auth: "a3", Created: t0})
	if err != nil {
		t.Fatal(err)
	}
	wantCode(t, "Unsubscribe of bob's endpoint by alice",
		stores[0].Unsubscribe(ctx, "alice", subs[0].Endpoint), belfry.ENOTFOUND)
	err = stores[0].Subscribe(ctx, "alice", belfry.Subscription{Endpoint: "https://push.example/new",
		P256DH: "k", Auth: "a", Created: t0})
	if err != nil {
		t.Fatal(err)
	}
	after, err := stores[0].SubscriptionsOf(ctx, "alice")
	if err != nil || len(after) != belfry.MaxSubscriptions {
		t.Fatalf("%d subscriptions, %v", len(after), err)
	}
	if last := after[len(after)-1]; last.Endpoint != subs[3].Endpoint || last.P256DH != "k2" ||
		!last.Created.Equal(t0.Add(time.Hour)) {
		t.Fatalf("the replaced subscription: %+v, want it last with its new keys", last)
	}
}

// TestPublishJobs checks Batch.Jobs: ids from the stored notifications,
// dropped for skipped ones, for users without a subscription when asked,
// and for a replayed batch.
func TestPublishJobs(t *testing.T) {
	t.Parallel()
	s := openStore(t, freshSchema(t))
	ctx := t.Context()
	off := false
	if _, err := s.SetPreferences(ctx, "carol", belfry.PreferencesPatch{
		Categories: map[string]*belfry.ChannelsPatch{"billing": {InApp: &off}}}); err != nil {
		t.Fatal(err)
	}
	if err := s.Subscribe(ctx, "alice", belfry.Subscription{Endpoint: "https://push.example/a",
		P256DH: "k", Auth: "a", Created: t0}); err != nil {
		t.Fatal(err)
	}
	if err := s.Create(ctx, []*belfry.Notification{note("bob", "earlier")}); err != nil {
		t.Fatal(err)
	}
	batch := func() *belfry.Batch {
		b := &belfry.Batch{Key: &belfry.IdempotencyKey{Name: "k1", Expires: time.Now().Add(time.Hour)}}
		for _, u := range []string{"alice", "bob", "carol"} {
			b.Notifications = append(b.Notifications, &belfry.Notification{UserID: u, Message: "m", Category: "billing"})
		}
		for i, u := range []string{"alice", "bob", "carol"} {
			b.Jobs = append(b.Jobs,
				belfry.Job{ID: "push-" + u, Kind: belfry.JobPush, Index: i, OnlyIfSubscribed: true},
				belfry.Job{ID: "esc-" + u, Kind: belfry.JobEscalate, Index: i, Due: time.Unix(1e9, 0)})
		}
		return b
	}
	b := batch()
	if err := s.Publish(ctx, b); err != nil {
		t.Fatal(err)
	}
	if len(b.Notifications) != 2 || b.Notifications[1].ID != 2 {
		t.Fatalf("stored %d notifications (bob's id %d)", len(b.Notifications), b.Notifications[1].ID)
	}
	created := b.Notifications[0].CreatedAt
	got, err := s.Claim(ctx, created.Add(time.Hour), time.Minute, 10)
	if err != nil {
		t.Fatal(err)
	}
	if ids := slices.Sorted(slices.Values(jobIDs(got))); !slices.Equal(ids, []string{"esc-alice", "esc-bob", "push-alice"}) {
		t.Fatalf("jobs %v, want esc-alice, esc-bob, push-alice", ids)
	}
	for _, j := range got {
		wantNID := map[string]int64{"alice": 1, "bob": 2}[j.UserID]
		if j.NotificationID != wantNID || !j.Created.Equal(created) {
			t.Errorf("job %s: notification %d, created %v; want %d, %v", j.ID, j.NotificationID, j.Created, wantNID, created)
		}
		if err := s.Settle(ctx, belfry.Settlement{ID: j.ID, Claim: j.Claim, Done: true}); err != nil {
			t.Fatal(err)
		}
	}
	b = batch()
	if err := s.Publish(ctx, b); err != nil || !b.Replayed {
		t.Fatalf("replay: %v, replayed %t", err, b.Replayed)
	}
	if got, err := s.Claim(ctx, created.Add(time.Hour), time.Minute, 10); err != nil || len(got) != 0 {
		t.Fatalf("a replay enqueued %v, %v", jobIDs(got), err)
	}
	b = batch()
	b.Jobs[0].Index = 3
	wantCode(t, "a job of no notification", s.Publish(ctx, b), belfry.EINVALID)
}

// TestPurgeFailedJobs checks PurgeQuery.FailedBefore: old failed jobs go,
// at most Limit of them; pending ones and newer failed ones stay.
func TestPurgeFailedJobs(t *testing.T) {
	t.Parallel()
	s := openStore(t, freshSchema(t))
	ctx := t.Context()
	var jobs []belfry.Job
	for i := range 5 {
		j := job(fmt.Sprintf("f%d", i), t0)
		j.Created = t0.Add(time.Duration(i) * time.Hour)
		jobs = append(jobs, j)
	}
	jobs = append(jobs, job("pending", t0.Add(time.Hour*24)))
	if err := s.Enqueue(ctx, jobs); err != nil {
		t.Fatal(err)
	}
	claimed, err := s.Claim(ctx, t0, time.Minute, 10)
	if err != nil || len(claimed) != 5 {
		t.Fatal(claimed, err)
	}
	for _, j := range claimed {
		if err := s.Settle(ctx, belfry.Settlement{ID: j.ID, Claim: j.Claim, Fail: true}); err != nil {
			t.Fatal(err)
		}
	}
	q := belfry.PurgeQuery{FailedBefore: t0.Add(3 * time.Hour), Limit: 2}
	for _, left := range []int{3, 2} {
		if _, err := s.Purge(ctx, q); err != nil {
			t.Fatal(err)
		}
		failed, err := s.FailedJobs(ctx, belfry.JobWebhook, "", 10)
		if err != nil || len(failed) != left {
			t.Fatalf("%d failed jobs left, %v; want %d", len(failed), err, left)
		}
	}
	failed, err := s.FailedJobs(ctx, belfry.JobWebhook, "f4", 10)
	if err != nil || !slices.Equal(jobIDs(failed), []string{"f3"}) {
		t.Fatalf("failed jobs left: %v, %v; want [f3] (before f4)", jobIDs(failed), err)
	}
	if got, err := s.Claim(ctx, t0.Add(48*time.Hour), time.Minute, 10); err != nil || !slices.Equal(jobIDs(got), []string{"pending"}) {
		t.Fatalf("pending jobs: %v, %v", jobIDs(got), err)
	}
}

func jobIDs(jobs []belfry.Job) []string {
	ids := make([]string, len(jobs))
	for i, j := range jobs {
		ids[i] = j.ID
	}
	return ids
}
