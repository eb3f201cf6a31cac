package mongodb

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/belfry/belfry"
	"go.mongodb.org/mongo-driver/v2/bson"
)

var t0 = time.Date(2026, 12, 7, 10, 0, 0, 0, time.UTC)

func job(id string, due time.Time) belfry.Job {
	return belfry.Job{ID: id, Kind: belfry.JobWebhook, UserID: "u", Created: due, Due: due, Payload: []byte(id)}
}

func enqueue(t *testing.T, s *Store, jobs ...belfry.Job) {
	t.Helper()
	if err := s.Enqueue(t.Context(), jobs); err != nil {
		t.Fatalf("Enqueue: %v", err)
	}
}

func claim(t *testing.T, s *Store, now time.Time, lease time.Duration, limit int) []belfry.Job {
	t.Helper()
	js, err := s.Claim(t.Context(), now, lease, limit)
	if err != nil {
		t.Fatalf("Claim: %v", err)
	}
	return js
}

func jobIDs(js []belfry.Job) string {
	out := ""
	for _, j := range js {
		out += j.ID + " "
	}
	return out
}

// TestClaimOrderAndSettle walks one job through every settlement.
func TestClaimOrderAndSettle(t *testing.T) {
	s := openOne(t)
	ctx := t.Context()
	enqueue(t, s, job("b", t0), job("a", t0), job("c", t0.Add(-time.Second)), job("later", t0.Add(time.Hour)))
	// An existing id is left as it is.
	enqueue(t, s, belfry.Job{ID: "a", Kind: belfry.JobPush, Due: t0.Add(-time.Hour), Payload: []byte("other")})

	got := claim(t, s, t0, time.Minute, 10)
	if jobIDs(got) != "c a b " {
		t.Fatalf("claimed %q, want due order then id: c a b", jobIDs(got))
	}
	if string(got[1].Payload) != "a" || got[1].Kind != belfry.JobWebhook || got[1].Claim == "" {
		t.Fatalf("job a = %+v, want the first enqueue with a claim", got[1])
	}
	if again := claim(t, s, t0.Add(30*time.Second), time.Minute, 10); len(again) != 0 {
		t.Fatalf("claimed %q while the leases hold", jobIDs(again))
	}

	c, a, b := got[0], got[1], got[2]
	if err := s.Settle(ctx, belfry.Settlement{ID: a.ID, Claim: "nope", Done: true,
		Next: []belfry.Job{job("next-of-nope", t0)}}); belfry.ErrorCode(err) != belfry.ECONFLICT {
		t.Fatalf("Settle with a wrong claim: %v, want ECONFLICT", err)
	}
	if n, _ := s.outbox.CountDocuments(ctx, bson.D{{Key: "_id", Value: "next-of-nope"}}); n != 0 {
		t.Fatal("a refused Settle enqueued its Next")
	}
	// Done with Next.
	if err := s.Settle(ctx, belfry.Settlement{ID: c.ID, Claim: c.Claim, Done: true,
		Next: []belfry.Job{job("c2", t0)}}); err != nil {
		t.Fatal(err)
	}
	if err := s.Settle(ctx, belfry.Settlement{ID: c.ID, Claim: c.Claim, Done: true}); belfry.ErrorCode(err) != belfry.ECONFLICT {
		t.Fatalf("Settle of a deleted job: %v, want ECONFLICT", err)
	}
	// Retry with a new payload.
	retry := t0.Add(time.Minute + 1500*time.Microsecond)
	if err := s.Settle(ctx, belfry.Settlement{ID: a.ID, Claim: a.Claim, Retry: retry, LastError: "503",
		Payload: []byte("new")}); err != nil {
		t.Fatal(err)
	}
	// Fail.
	if err := s.Settle(ctx, belfry.Settlement{ID: b.ID, Claim: b.Claim, Fail: true, LastError: "gone"}); err != nil {
		t.Fatal(err)
	}
	got = claim(t, s, t0.Add(2*time.Minute), time.Minute, 10)
	if jobIDs(got) != "c2 a " {
		t.Fatalf("claimed %q, want c2 a", jobIDs(got))
	}
	if a := got[1]; a.Attempts != 1 || a.LastError != "503" || string(a.Payload) != "new" ||
		!a.Due.Equal(retry.Truncate(time.Millisecond)) || a.Claim == "" {
		t.Fatalf("retried job = %+v", a)
	}
	if n, _ := s.claims.CountDocuments(ctx, bson.D{{Key: "job", Value: "b"}}); n != 0 {
		t.Fatalf("%d claims of a settled job left", n)
	}
	for _, j := range got {
		if err := s.Settle(ctx, belfry.Settlement{ID: j.ID, Claim: j.Claim, Done: true}); err != nil {
			t.Fatal(err)
		}
	}

	failed, err := s.FailedJobs(ctx, belfry.JobWebhook, "", 10)
	if err != nil || jobIDs(failed) != "b " || failed[0].Attempts != 1 || failed[0].LastError != "gone" || !failed[0].Failed {
		t.Fatalf("FailedJobs: %+v, %v", failed, err)
	}
	if _, err := s.Revive(ctx, "a", t0); belfry.ErrorCode(err) != belfry.ENOTFOUND {
		t.Fatalf("Revive of a pending job: %v, want ENOTFOUND", err)
	}
	r, err := s.Revive(ctx, "b", t0.Add(3*time.Minute))
	if err != nil || r.Failed || r.Attempts != 0 || r.LastError != "gone" || !r.Due.Equal(t0.Add(3*time.Minute)) {
		t.Fatalf("Revive: %+v, %v", r, err)
	}
	if got := claim(t, s, t0.Add(3*time.Minute), time.Minute, 10); jobIDs(got) != "b " {
		t.Fatalf("claimed %q after Revive, want b", jobIDs(got))
	}
}

// TestClaimExpiredLease: a job whose lease expired is claimed again, and
// the first claimer's Settle is then refused.
func TestClaimExpiredLease(t *testing.T) {
	s := openOne(t)
	enqueue(t, s, job("j", t0))
	first := claim(t, s, t0, time.Second, 1)
	if len(first) != 1 {
		t.Fatalf("claimed %q", jobIDs(first))
	}
	if got := claim(t, s, t0.Add(999*time.Millisecond), time.Second, 1); len(got) != 0 {
		t.Fatalf("claimed %q before the lease expired", jobIDs(got))
	}
	second := claim(t, s, t0.Add(time.Second), time.Second, 1)
	if len(second) != 1 || second[0].Claim == first[0].Claim {
		t.Fatalf("second claim %+v, want j with a new token", second)
	}
	err := s.Settle(t.Context(), belfry.Settlement{ID: "j", Claim: first[0].Claim, Done: true})
	if belfry.ErrorCode(err) != belfry.ECONFLICT {
		t.Fatalf("Settle with the expired claim: %v, want ECONFLICT", err)
	}
	if err := s.Settle(t.Context(), belfry.Settlement{ID: "j", Claim: second[0].Claim, Done: true}); err != nil {
		t.Fatal(err)
	}
}

// TestClaimPassesDeadClaimer: a claimer that won a claim number and died
// before updating the job blocks it only until that claim's lease ends.
func TestClaimPassesDeadClaimer(t *testing.T) {
	s := openOne(t)
	ctx := t.Context()
	enqueue(t, s, job("j", t0))
	if _, err := s.claims.InsertOne(ctx, claimDoc{ID: "j/1", Job: "j", Gen: 1, Claim: "dead", Until: t0.Add(time.Minute)}); err != nil {
		t.Fatal(err)
	}
	if got := claim(t, s, t0, time.Minute, 1); len(got) != 0 {
		t.Fatalf("claimed %q while a claim number is held", jobIDs(got))
	}
	got := claim(t, s, t0.Add(time.Minute), time.Minute, 1)
	if len(got) != 1 {
		t.Fatal("the job stays blocked after the dead claim expired")
	}
	var d jobDoc
	if err := s.outbox.FindOne(ctx, bson.D{{Key: "_id", Value: "j"}}).Decode(&d); err != nil || d.Gen != 2 || d.Claim != got[0].Claim {
		t.Fatalf("stored job %+v, %v; want gen 2 and the claim", d, err)
	}
}

// TestClaimConcurrentNodes: goroutines on three Stores (three nodes)
// claim until nothing is left; every job is claimed exactly once.
func TestClaimConcurrentNodes(t *testing.T) {
	ss := openN(t, 3, testConfig())
	const jobs = 60
	var js []belfry.Job
	for i := range jobs {
		js = append(js, job(fmt.Sprintf("j%03d", i), t0))
	}
	enqueue(t, ss[0], js...)
	var mu sync.Mutex
	count := map[string]int{}
	var wg sync.WaitGroup
	for g := range 9 {
		s := ss[g%3]
		wg.Go(func() {
			for empty := 0; empty < 3; {
				got, err := s.Claim(t.Context(), t0, time.Hour, 4)
				if err != nil {
					t.Error(err)
					return
				}
				if len(got) == 0 {
					empty++
				}
				mu.Lock()
				for _, j := range got {
					count[j.ID]++
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if len(count) != jobs {
		t.Errorf("%d jobs claimed, want %d", len(count), jobs)
	}
	for id, n := range count {
		if n != 1 {
			t.Errorf("job %s claimed %d times", id, n)
		}
	}
}

func TestEnqueueOnlyIfSubscribed(t *testing.T) {
	s := openOne(t)
	ctx := t.Context()
	if err := s.Subscribe(ctx, "sub", belfry.Subscription{Endpoint: "https://push.example/1", Created: t0}); err != nil {
		t.Fatal(err)
	}
	a, b := job("a", t0), job("b", t0)
	a.UserID, b.UserID = "sub", "nosub"
	a.OnlyIfSubscribed, b.OnlyIfSubscribed = true, true
	enqueue(t, s, a, b)
	if got := claim(t, s, t0, time.Minute, 10); jobIDs(got) != "a " {
		t.Fatalf("claimed %q, want only the subscribed user's job", jobIDs(got))
	}
	var raw bson.M
	if err := s.outbox.FindOne(ctx, bson.D{{Key: "_id", Value: "a"}}).Decode(&raw); err != nil {
		t.Fatal(err)
	}
	if _, ok := raw["only_if_subscribed"]; ok {
		t.Errorf("only_if_subscribed stored in the outbox: %v", raw)
	}
}

func TestPurgeFailedJobs(t *testing.T) {
	s := openOne(t)
	ctx := t.Context()
	for i := range 5 {
		enqueue(t, s, job(fmt.Sprintf("f%d", i), t0.Add(time.Duration(i)*time.Hour)))
	}
	enqueue(t, s, job("pending", t0))
	for _, j := range claim(t, s, t0.Add(10*time.Hour), time.Minute, 10) {
		if j.ID == "pending" {
			continue
		}
		if err := s.Settle(ctx, belfry.Settlement{ID: j.ID, Claim: j.Claim, Fail: true}); err != nil {
			t.Fatal(err)
		}
	}
	// f0..f2 are older than t0+2h30; Limit 2 takes two of them.
	q := belfry.PurgeQuery{Now: t0, Limit: 2, FailedBefore: t0.Add(150 * time.Minute)}
	if _, err := s.Purge(ctx, q); err != nil {
		t.Fatal(err)
	}
	left, _ := s.FailedJobs(ctx, belfry.JobWebhook, "", 10)
	if len(left) != 3 {
		t.Fatalf("failed jobs left %q, want 3", jobIDs(left))
	}
	if _, err := s.Purge(ctx, q); err != nil {
		t.Fatal(err)
	}
	left, _ = s.FailedJobs(ctx, belfry.JobWebhook, "", 10)
	if jobIDs(left) != "f4 f3 " {
		t.Fatalf("failed jobs left %q, want f4 f3", jobIDs(left))
	}
	if page, _ := s.FailedJobs(ctx, belfry.JobWebhook, "f4", 10); jobIDs(page) != "f3 " {
		t.Fatalf("FailedJobs before f4: %q", jobIDs(page))
	}
	if n, _ := s.outbox.CountDocuments(ctx, bson.D{{Key: "_id", Value: "pending"}}); n != 1 {
		t.Fatal("Purge deleted a pending job")
	}
}

// TestPublishTakeoverJobs: a writer died after claiming a key (with its
// jobs in the plan) and storing part of the call, before any job went in.
// Duplicates, which carry jobs of other ids, take it over: the plan's jobs
// are enqueued once, for the notifications of the plan, and the
// duplicates' own jobs never.
func TestPublishTakeoverJobs(t *testing.T) {
	ss := openN(t, 2, testConfig())
	s := ss[0]
	ctx := t.Context()
	jobsOf := func(prefix string) []belfry.Job {
		var js []belfry.Job
		for i, u := range []string{"alice", "bob", "carol"} {
			js = append(js, belfry.Job{ID: prefix + u, Kind: belfry.JobPush, UserID: u, Index: i, Due: t0})
		}
		return js
	}
	b := batch("k", "m", "alice", "bob", "carol")
	claimID := bson.NewObjectID()
	dead := &keyDoc{Name: "k", Claim: claimID, Hash: fmt.Sprintf("%x", b.Key.Hash), State: keyPending,
		Owner: "dead", ClaimedAt: released, ExpiresAt: b.Key.Expires,
		Users: []string{"alice", "bob", "carol"}, Skip: []int{2}, Jobs: planJobs(jobsOf("plan-"))}
	if _, err := s.keys.InsertOne(ctx, dead); err != nil {
		t.Fatal(err)
	}
	stored := &belfry.Notification{UserID: "alice", Message: "m", Category: "billing"}
	if err := s.create(ctx, []*belfry.Notification{stored},
		map[*belfry.Notification]slot{stored: {key: "k", slot: slotOf(claimID, 0)}}, false); err != nil {
		t.Fatal(err)
	}

	var wg sync.WaitGroup
	for i := range 4 {
		wg.Go(func() {
			b := batch("k", "m", "alice", "bob", "carol")
			b.Jobs = jobsOf(fmt.Sprintf("dup%d-", i))
			if err := ss[i%2].Publish(ctx, b); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	got := claim(t, s, t0, time.Minute, 10)
	if jobIDs(got) != "plan-alice plan-bob " {
		t.Fatalf("jobs %q, want the plan's, for alice and bob only", jobIDs(got))
	}
	bob, err := s.After(ctx, "bob", 0, 10)
	if err != nil || len(bob) != 1 {
		t.Fatalf("bob's notifications: %v, %v", bob, err)
	}
	if got[0].NotificationID != stored.ID || got[1].NotificationID != bob[0].ID || !got[1].Created.Equal(bob[0].CreatedAt) {
		t.Fatalf("jobs %+v, want notification ids %d and %d", got, stored.ID, bob[0].ID)
	}
}
