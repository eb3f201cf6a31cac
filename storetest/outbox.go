package storetest

import (
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/belfry/belfry"
)

// The outbox subtests start with emptyOutbox and pass Claim and Revive
// explicit times around t0, the real time at millisecond precision; no
// subtest waits for a lease to expire.

func testOutboxRoundTrip(t *testing.T, s belfry.Store, u users) {
	emptyOutbox(t, s)
	t0 := msTime(0)
	long := belfry.Job{
		ID:             u.id(strings.Repeat("j", 64-len(u.prefix))), // 64 bytes
		Kind:           belfry.JobPushSend,
		UserID:         u.id(strings.Repeat("ü", (128-len(u.prefix))/2)),
		NotificationID: 1<<53 + 1,
		Created:        t0.Add(-time.Hour + 1500*time.Microsecond), // stored at millisecond precision
		Due:            t0.Add(-time.Minute + 999*time.Microsecond),
		Payload:        []byte{0, 1, 0xff, 0xfe, '"', '\\', 0},
	}
	bare := belfry.Job{ID: u.id("bare"), Kind: belfry.JobWebhook, UserID: u.id("bob"), Created: t0, Due: t0}
	enqueue(t, s, long, bare)
	got := claim(t, s, t0, time.Minute, 10)
	wantJobIDs(t, "Claim", got, long.ID, bare.ID)
	sameJob(t, "Claim", got[0], long)
	sameJob(t, "Claim", got[1], bare)
	if got[0].Claim == got[1].Claim {
		t.Fatalf("Claim gave two jobs the same token %q", got[0].Claim)
	}

	// Failing keeps every field, counts the attempt, and keeps the
	// longest last error the contract allows.
	lastErr := strings.Repeat("é", 250) // 500 bytes
	settle(t, s, belfry.Settlement{ID: long.ID, Claim: got[0].Claim, Fail: true, LastError: lastErr})
	long.Attempts, long.Failed, long.LastError = 1, true, lastErr
	f := failedJobs(t, s, belfry.JobPushSend, "", 10)
	wantJobIDs(t, "FailedJobs(push-send)", f, long.ID)
	sameJob(t, "FailedJobs(push-send)", f[0], long)
}

func testOutboxEnqueueIdempotent(t *testing.T, s belfry.Store, u users) {
	emptyOutbox(t, s)
	alice, bob := u.id("alice"), u.id("bob")
	t0 := msTime(0)
	a := webhookJob(u.id("a"), alice, t0, t0)
	enqueue(t, s, a)
	changed := a
	changed.Kind, changed.UserID, changed.NotificationID = belfry.JobPush, bob, 7
	changed.Created, changed.Due, changed.Payload = t0.Add(-time.Hour), t0.Add(-time.Hour), []byte("other")
	b := webhookJob(u.id("b"), alice, t0, t0.Add(time.Second))
	enqueue(t, s, changed, b)
	enqueue(t, s, b)
	enqueue(t, s) // nothing: no error

	got := claim(t, s, t0.Add(time.Second), time.Minute, 10)
	wantJobIDs(t, "Claim after enqueuing a twice and b twice", got, a.ID, b.ID)
	sameJob(t, "job a", got[0], a)
	sameJob(t, "job b", got[1], b)

	// A claimed job is left alone too: its claim stays good.
	enqueue(t, s, changed)
	settle(t, s, belfry.Settlement{ID: a.ID, Claim: got[0].Claim, Done: true})
	// Once done, the id is free again.
	enqueue(t, s, changed)
	got = claim(t, s, t0.Add(time.Second), time.Minute, 10)
	wantJobIDs(t, "Claim after a was done and enqueued again", got, a.ID)
	sameJob(t, "job a enqueued again", got[0], changed)
}

func testOutboxClaimOrder(t *testing.T, s belfry.Store, u users) {
	emptyOutbox(t, s)
	alice := u.id("alice")
	t0 := msTime(0)
	sec := func(n int) time.Time { return t0.Add(time.Duration(n) * time.Second) }
	enqueue(t, s,
		webhookJob(u.id("c"), alice, t0, sec(3)),
		webhookJob(u.id("b"), alice, t0, sec(1)),
		webhookJob(u.id("a"), alice, t0, sec(1)),
		webhookJob(u.id("d"), alice, t0, sec(10)),
		webhookJob(u.id("e"), alice, t0, sec(2)))
	wantJobIDs(t, "Claim before anything is due", claim(t, s, t0, time.Minute, 10))
	wantJobIDs(t, "Claim(limit 2) at +3s", claim(t, s, sec(3), time.Minute, 2), u.id("a"), u.id("b"))
	wantJobIDs(t, "Claim(limit 1) at +3s", claim(t, s, sec(3), time.Minute, 1), u.id("e"))
	// Due exactly now is due.
	wantJobIDs(t, "Claim at +3s", claim(t, s, sec(3), time.Minute, 10), u.id("c"))
	wantJobIDs(t, "Claim at +9s", claim(t, s, sec(9), time.Minute, 10))
	wantJobIDs(t, "Claim at +10s", claim(t, s, sec(10), time.Minute, 10), u.id("d"))
}

func testOutboxLease(t *testing.T, s belfry.Store, u users) {
	emptyOutbox(t, s)
	alice := u.id("alice")
	t0 := msTime(0)
	j := webhookJob(u.id("j"), alice, t0, t0)
	enqueue(t, s, j)
	first := claim(t, s, t0, time.Minute, 10)
	wantJobIDs(t, "first Claim", first, j.ID)
	wantJobIDs(t, "Claim while the lease holds", claim(t, s, t0.Add(59*time.Second), time.Minute, 10))
	// The lease ends at t0+1m: the job is free again then.
	second := claim(t, s, t0.Add(time.Minute), time.Minute, 10)
	wantJobIDs(t, "Claim when the lease has expired", second, j.ID)
	sameJob(t, "the job claimed again", second[0], j) // an expired lease is no attempt
	if second[0].Claim == first[0].Claim {
		t.Fatalf("the second Claim kept the first one's token %q", first[0].Claim)
	}

	// The first claim is stale: settling with it changes nothing, Next
	// included.
	next := webhookJob(u.id("next"), alice, t0, t0)
	for _, st := range []belfry.Settlement{
		{ID: j.ID, Claim: first[0].Claim, Done: true, Next: []belfry.Job{next}},
		{ID: j.ID, Claim: first[0].Claim, Retry: t0, LastError: "stale"},
		{ID: j.ID, Claim: first[0].Claim, Fail: true, LastError: "stale"},
		{ID: j.ID, Claim: "", Done: true},
		{ID: u.id("nobody"), Claim: first[0].Claim, Done: true},
	} {
		wantCode(t, fmt.Sprintf("Settle(%q) with claim %q", st.ID, st.Claim), s.Settle(ctx(t), st), belfry.ECONFLICT)
	}
	wantJobIDs(t, "FailedJobs after stale settlements", failedJobs(t, s, belfry.JobWebhook, "", 10))
	wantJobIDs(t, "Claim after stale settlements, while the second lease holds",
		claim(t, s, t0.Add(time.Minute+59*time.Second), time.Minute, 10))
	// The second claim holds.
	settle(t, s, belfry.Settlement{ID: j.ID, Claim: second[0].Claim, Done: true})
	wantCode(t, "Settle of a job already done", s.Settle(ctx(t),
		belfry.Settlement{ID: j.ID, Claim: second[0].Claim, Done: true}), belfry.ECONFLICT)

	// A job never claimed cannot be settled, not even with the empty claim
	// it has.
	idle := webhookJob(u.id("idle"), alice, t0, t0.Add(time.Hour))
	enqueue(t, s, idle)
	wantCode(t, "Settle of a job never claimed", s.Settle(ctx(t),
		belfry.Settlement{ID: idle.ID, Claim: "", Done: true}), belfry.ECONFLICT)
	wantJobIDs(t, "Claim after Done", claim(t, s, farFuture, time.Minute, 10), idle.ID)
}

func testOutboxSettle(t *testing.T, s belfry.Store, u users) {
	emptyOutbox(t, s)
	alice := u.id("alice")
	t0 := msTime(0)
	done, retry, failing := webhookJob(u.id("1done"), alice, t0, t0), webhookJob(u.id("2retry"), alice, t0, t0),
		webhookJob(u.id("3fail"), alice, t0, t0)
	enqueue(t, s, done, retry, failing)
	got := claim(t, s, t0, 10*time.Minute, 10)
	wantJobIDs(t, "Claim", got, done.ID, retry.ID, failing.ID)

	// Done deletes the job and enqueues Next in its place; a Next whose id
	// is stored is left as it is.
	next := webhookJob(u.id("4next"), alice, t0, t0.Add(time.Second))
	clash := failing
	clash.Payload, clash.Due = []byte("replaced?"), t0.Add(-time.Hour)
	settle(t, s, belfry.Settlement{ID: done.ID, Claim: got[0].Claim, Done: true, Next: []belfry.Job{next, clash}})

	// Retry: due again then, the attempt counted, the error and the new
	// payload kept, the lease gone (due before the old lease's end).
	settle(t, s, belfry.Settlement{ID: retry.ID, Claim: got[1].Claim, Retry: t0.Add(time.Second),
		LastError: "503 from the endpoint", Payload: []byte("small")})
	// Fail: kept for FailedJobs, never claimed again.
	settle(t, s, belfry.Settlement{ID: failing.ID, Claim: got[2].Claim, Fail: true, LastError: "410 gone"})

	wantJobIDs(t, "Claim at +999ms", claim(t, s, t0.Add(999*time.Millisecond), time.Minute, 10))
	got = claim(t, s, t0.Add(time.Second), time.Minute, 10)
	wantJobIDs(t, "Claim at +1s", got, retry.ID, next.ID)
	retry.Due, retry.Attempts, retry.LastError, retry.Payload = t0.Add(time.Second), 1, "503 from the endpoint", []byte("small")
	sameJob(t, "the retried job", got[0], retry)
	sameJob(t, "the Next job", got[1], next)

	// A Retry without a Payload keeps the payload; attempts go on adding up.
	settle(t, s, belfry.Settlement{ID: retry.ID, Claim: got[0].Claim, Retry: t0.Add(time.Hour), LastError: "timeout"})
	settle(t, s, belfry.Settlement{ID: next.ID, Claim: got[1].Claim, Done: true})
	got = claim(t, s, t0.Add(time.Hour), time.Minute, 10)
	wantJobIDs(t, "Claim at +1h", got, retry.ID)
	retry.Due, retry.Attempts, retry.LastError = t0.Add(time.Hour), 2, "timeout"
	sameJob(t, "the job retried twice", got[0], retry)
	settle(t, s, belfry.Settlement{ID: retry.ID, Claim: got[0].Claim, Fail: true, LastError: "gave up",
		Next: []belfry.Job{webhookJob(u.id("5after"), alice, t0, t0)}})

	failing.Attempts, failing.Failed, failing.LastError = 1, true, "410 gone"
	retry.Attempts, retry.Failed, retry.LastError = 3, true, "gave up"
	f := failedJobs(t, s, belfry.JobWebhook, "", 10)
	wantJobIDs(t, "FailedJobs", f, failing.ID, retry.ID) // same Created: ID descending
	sameJob(t, "failed job", f[0], failing)
	sameJob(t, "failed job", f[1], retry)
	wantJobIDs(t, "Claim at the far future", claim(t, s, farFuture, time.Minute, 10), u.id("5after"))
}

func testOutboxFailedJobs(t *testing.T, s belfry.Store, u users) {
	emptyOutbox(t, s)
	alice := u.id("alice")
	t0 := msTime(0)
	// Ids sort by creation, as callers make them; two share a Created.
	var hooks []belfry.Job
	for i := range 7 {
		created := t0.Add(time.Duration(i) * time.Minute)
		if i == 4 {
			created = t0.Add(3 * time.Minute)
		}
		hooks = append(hooks, webhookJob(u.id(fmt.Sprintf("w%d", i)), alice, created, t0))
	}
	push := belfry.Job{ID: u.id("w9-push"), Kind: belfry.JobPush, UserID: alice, NotificationID: 1,
		Created: t0.Add(time.Hour), Due: t0, Payload: []byte("offline")}
	fail(t, s, t0, append(hooks, push)...)
	pending := webhookJob(u.id("w8-pending"), alice, t0.Add(time.Hour), t0.Add(time.Hour))
	enqueue(t, s, pending)

	w := func(is ...int) []string {
		var out []string
		for _, i := range is {
			out = append(out, hooks[i].ID)
		}
		return out
	}
	wantJobIDs(t, "FailedJobs(webhook)", failedJobs(t, s, belfry.JobWebhook, "", 100), w(6, 5, 4, 3, 2, 1, 0)...)
	wantJobIDs(t, "FailedJobs(push)", failedJobs(t, s, belfry.JobPush, "", 100), push.ID)
	wantJobIDs(t, "FailedJobs(escalate)", failedJobs(t, s, belfry.JobEscalate, "", 100))

	// Pages of 3 with the cursor.
	var pages [][]string
	before := ""
	for range 10 {
		page := failedJobs(t, s, belfry.JobWebhook, before, 3)
		if len(page) == 0 {
			break
		}
		pages = append(pages, jobIDs(page))
		before = page[len(page)-1].ID
	}
	if want := [][]string{w(6, 5, 4), w(3, 2, 1), w(0)}; fmt.Sprint(pages) != fmt.Sprint(want) {
		t.Fatalf("FailedJobs(webhook) in pages of 3: %q, want %q", pages, want)
	}
	// A cursor need not be a stored id.
	wantJobIDs(t, "FailedJobs(before w3~)", failedJobs(t, s, belfry.JobWebhook, hooks[3].ID+"~", 2), w(3, 2)...)

	f := failedJobs(t, s, belfry.JobWebhook, "", 1)
	want := hooks[6]
	want.Attempts, want.Failed, want.LastError = 1, true, "gave up on "+want.ID
	sameJob(t, "FailedJobs(webhook, limit 1)", f[0], want)
}

func testOutboxRevive(t *testing.T, s belfry.Store, u users) {
	emptyOutbox(t, s)
	alice := u.id("alice")
	t0 := msTime(0)
	j := webhookJob(u.id("j"), alice, t0, t0)
	fail(t, s, t0, j)
	wantCode(t, "Revive of an unknown id", errOf(s.Revive(ctx(t), u.id("nobody"), t0)), belfry.ENOTFOUND)

	now := t0.Add(time.Hour)
	got := revive(t, s, j.ID, now)
	want := j
	want.Due, want.LastError = now, "gave up on "+j.ID // attempts back to 0, the last error kept
	sameJob(t, "Revive", got, want)
	if got.Claim != "" {
		t.Fatalf("Revive returned a job with claim %q", got.Claim)
	}
	wantJobIDs(t, "FailedJobs after Revive", failedJobs(t, s, belfry.JobWebhook, "", 10))
	wantCode(t, "Revive of a pending job", errOf(s.Revive(ctx(t), j.ID, now)), belfry.ENOTFOUND)

	wantJobIDs(t, "Claim before the revived job is due", claim(t, s, now.Add(-time.Millisecond), time.Minute, 10))
	c := claim(t, s, now, time.Minute, 10)
	wantJobIDs(t, "Claim of the revived job", c, j.ID)
	sameJob(t, "the revived job claimed", c[0], want)
	wantCode(t, "Revive of a claimed job", errOf(s.Revive(ctx(t), j.ID, now)), belfry.ENOTFOUND)

	// A revived job that failed while claimed comes back unclaimed: the
	// old claim is no good, and Claim takes it at once.
	settle(t, s, belfry.Settlement{ID: j.ID, Claim: c[0].Claim, Fail: true, LastError: "again"})
	revive(t, s, j.ID, now)
	wantCode(t, "Settle with the claim from before the failure", s.Settle(ctx(t),
		belfry.Settlement{ID: j.ID, Claim: c[0].Claim, Done: true}), belfry.ECONFLICT)
	wantJobIDs(t, "Claim after the second Revive", claim(t, s, now, time.Minute, 10), j.ID)
}

// errOf drops a result and keeps the error.
func errOf[T any](_ T, err error) error { return err }

func testOutboxOnlyIfSubscribed(t *testing.T, s belfry.Store, u users) {
	emptyOutbox(t, s)
	alice, bob := u.id("alice"), u.id("bob")
	t0 := msTime(0)
	subscribe(t, s, alice, pushSub(u.id("alice-phone"), t0))
	gated := func(id, user string) belfry.Job {
		return belfry.Job{ID: u.id(id), Kind: belfry.JobPush, UserID: user, NotificationID: 1,
			OnlyIfSubscribed: true, Created: t0, Due: t0, Payload: []byte("offline")}
	}
	enqueue(t, s, gated("a", alice), gated("b", bob), webhookJob(u.id("c"), bob, t0, t0))
	got := claim(t, s, t0, time.Minute, 10)
	wantJobIDs(t, "Claim", got, u.id("a"), u.id("c"))

	// Settle's Next follows the same rule.
	settle(t, s, belfry.Settlement{ID: got[0].ID, Claim: got[0].Claim, Done: true,
		Next: []belfry.Job{gated("d", bob), gated("e", alice)}})
	wantJobIDs(t, "Claim after Next", claim(t, s, t0, time.Minute, 10), u.id("e"))

	subscribe(t, s, bob, pushSub(u.id("bob-laptop"), t0))
	enqueue(t, s, gated("f", bob))
	// Unsubscribing leaves the stored jobs alone.
	if err := s.Unsubscribe(ctx(t), bob, pushSub(u.id("bob-laptop"), t0).Endpoint); err != nil {
		t.Fatalf("Unsubscribe: %v", err)
	}
	enqueue(t, s, gated("g", bob))
	wantJobIDs(t, "Claim after bob subscribed, enqueued, unsubscribed", claim(t, s, t0, time.Minute, 10), u.id("f"))
}

func testOutboxConcurrentClaims(t *testing.T, s belfry.Store, u users) {
	handles := make([]belfry.Store, 8)
	for i := range handles {
		handles[i] = s
	}
	concurrentClaims(t, handles, u)
}

// concurrentClaims enqueues jobs, then claims them from one goroutine per
// entry of ss, all at once, in small batches until none is left: every job
// is claimed exactly once, and each claim settles, on another handle than
// the one that claimed it.
func concurrentClaims(t *testing.T, ss []belfry.Store, u users) {
	emptyOutbox(t, ss[0])
	alice := u.id("alice")
	t0 := msTime(0)
	const n = 150
	var jobs []belfry.Job
	for i := range n {
		jobs = append(jobs, webhookJob(u.id(fmt.Sprintf("j%03d", i)), alice, t0, t0.Add(-time.Duration(i%7)*time.Second)))
	}
	enqueue(t, ss[0], jobs...)

	var (
		mu      sync.Mutex
		claimed = map[string]int{} // job → goroutine
		wg      sync.WaitGroup
	)
	start := make(chan struct{})
	for g, s := range ss {
		other := ss[(g+1)%len(ss)]
		wg.Go(func() {
			<-start
			for range n {
				js, err := s.Claim(ctx(t), t0, time.Hour, 4)
				if err != nil {
					t.Errorf("goroutine %d: Claim: %v", g, err)
					return
				}
				if len(js) == 0 {
					return
				}
				mu.Lock()
				for _, j := range js {
					if prev, dup := claimed[j.ID]; dup {
						t.Errorf("job %q claimed by goroutines %d and %d while its lease held", j.ID, prev, g)
					}
					claimed[j.ID] = g
				}
				mu.Unlock()
				if g%2 == 0 {
					continue // settled below, after every claim
				}
				for _, j := range js {
					if err := other.Settle(ctx(t), belfry.Settlement{ID: j.ID, Claim: j.Claim, Done: true}); err != nil {
						t.Errorf("goroutine %d: Settle(%q) on another handle: %v", g, j.ID, err)
					}
				}
			}
			t.Errorf("goroutine %d: Claim still returns jobs after %d calls", g, n)
		})
	}
	close(start)
	wg.Wait()
	if t.Failed() {
		return
	}
	if len(claimed) != n {
		t.Fatalf("%d of %d jobs were claimed", len(claimed), n)
	}
	// The jobs the even goroutines kept are still leased, the others gone.
	wantJobIDs(t, "Claim while the leases hold", claim(t, ss[len(ss)-1], t0.Add(59*time.Minute), time.Hour, n))
	left := claim(t, ss[len(ss)-1], t0.Add(time.Hour), time.Hour, n)
	want := 0
	for _, g := range claimed {
		if g%2 == 0 {
			want++
		}
	}
	if len(left) != want {
		t.Fatalf("after the leases expired Claim returned %d jobs, want the %d never settled", len(left), want)
	}
	for _, j := range left {
		if claimed[j.ID]%2 != 0 {
			t.Fatalf("job %q was settled Done but is claimed again", j.ID)
		}
	}
}

func testPurgeFailedJobs(t *testing.T, s belfry.Store, u users) {
	emptyOutbox(t, s)
	alice := u.id("alice")
	t0 := msTime(0)
	old := []belfry.Job{webhookJob(u.id("o1"), alice, t0.Add(-3*time.Hour), t0),
		webhookJob(u.id("o2"), alice, t0.Add(-150*time.Minute), t0),
		webhookJob(u.id("o3"), alice, t0.Add(-2*time.Hour), t0)}
	young := webhookJob(u.id("y"), alice, t0.Add(-time.Minute), t0)
	fail(t, s, t0, append(old, young)...)
	pending := webhookJob(u.id("p"), alice, t0.Add(-5*time.Hour), t0.Add(time.Hour))
	enqueue(t, s, pending)

	q := belfry.PurgeQuery{Now: t0, Limit: 2, FailedBefore: t0.Add(-time.Hour)}
	// Without FailedBefore, failed jobs stay.
	if _, err := s.Purge(ctx(t), belfry.PurgeQuery{Now: t0, Limit: 100}); err != nil {
		t.Fatalf("Purge: %v", err)
	}
	if got := failedJobs(t, s, belfry.JobWebhook, "", 10); len(got) != 4 {
		t.Fatalf("after a Purge without FailedBefore: failed jobs %q, want all 4", jobIDs(got))
	}
	if _, err := s.Purge(ctx(t), q); err != nil {
		t.Fatalf("Purge(%+v): %v", q, err)
	}
	got := failedJobs(t, s, belfry.JobWebhook, "", 10)
	if len(got) != 2 || got[0].ID != young.ID {
		t.Fatalf("after Purge(FailedBefore -1h, limit 2): failed jobs %q, want %q and one of the old ones",
			jobIDs(got), young.ID)
	}
	if _, err := s.Purge(ctx(t), q); err != nil {
		t.Fatalf("Purge(%+v): %v", q, err)
	}
	wantJobIDs(t, "FailedJobs after a second Purge", failedJobs(t, s, belfry.JobWebhook, "", 10), young.ID)
	// Only failed jobs go: the old pending one stays.
	wantJobIDs(t, "Claim after Purge", claim(t, s, t0.Add(time.Hour), time.Minute, 10), pending.ID)
}
