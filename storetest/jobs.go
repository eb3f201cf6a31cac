package storetest

import (
	"bytes"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/belfry/belfry"
)

// Helpers that call the Outbox and Subscriptions and fail the test on
// error.

// farFuture is a time after every Due and lease the suite sets: a Claim at
// it takes every job that is not failed.
var farFuture = time.Date(2200, 1, 1, 0, 0, 0, 0, time.UTC)

// jobKinds are the kinds the suite enqueues.
var jobKinds = []belfry.JobKind{belfry.JobPush, belfry.JobPushSend, belfry.JobEscalate, belfry.JobWebhook}

// emptyOutbox removes every job from the outbox through the Outbox
// interface: it revives the failed jobs of every kind, then claims at
// farFuture and settles Done until nothing is left. The outbox is not
// scoped by user, so a subtest that claims needs it to itself; on a fresh
// database this finds nothing.
func emptyOutbox(t *testing.T, s belfry.Store) {
	t.Helper()
	for _, kind := range jobKinds {
		for i := 0; ; i++ {
			js := failedJobs(t, s, kind, "", 100)
			if len(js) == 0 {
				break
			}
			if i == 1000 {
				t.Fatalf("emptyOutbox: FailedJobs(%q) still returns jobs after reviving 100,000", kind)
			}
			for _, j := range js {
				revive(t, s, j.ID, farFuture)
			}
		}
	}
	for range 1000 {
		js := claim(t, s, farFuture, time.Minute, 100)
		if len(js) == 0 {
			return
		}
		for _, j := range js {
			settle(t, s, belfry.Settlement{ID: j.ID, Claim: j.Claim, Done: true})
		}
	}
	t.Fatalf("emptyOutbox: Claim still returns jobs after 100,000 were settled")
}

// webhookJob returns a JobWebhook of user with the id, created and due at
// the given times, with a payload that names it.
func webhookJob(id, user string, created, due time.Time) belfry.Job {
	return belfry.Job{ID: id, Kind: belfry.JobWebhook, UserID: user, Created: created, Due: due,
		Payload: []byte(`{"job":"` + id + `"}`)}
}

func enqueue(t *testing.T, s belfry.Store, jobs ...belfry.Job) {
	t.Helper()
	if err := s.Enqueue(ctx(t), jobs); err != nil {
		t.Fatalf("Enqueue(%v): %v", jobIDs(jobs), err)
	}
}

// claim runs Claim and checks what every Claim answer must be: at most
// limit jobs, each with a Claim token, none failed, none due after now,
// soonest Due first (then ID), no job twice.
func claim(t *testing.T, s belfry.Store, now time.Time, lease time.Duration, limit int) []belfry.Job {
	t.Helper()
	js, err := s.Claim(ctx(t), now, lease, limit)
	if err != nil {
		t.Fatalf("Claim(%v, %v, %d): %v", now, lease, limit, err)
	}
	checkClaimed(t, fmt.Sprintf("Claim(%v, %v, %d)", now, lease, limit), js, now, limit)
	return js
}

func checkClaimed(t *testing.T, what string, js []belfry.Job, now time.Time, limit int) {
	t.Helper()
	if len(js) > limit {
		t.Fatalf("%s returned %d jobs", what, len(js))
	}
	for i, j := range js {
		switch {
		case j.Claim == "":
			t.Fatalf("%s: job %q has no Claim token", what, j.ID)
		case j.Failed:
			t.Fatalf("%s: job %q is failed", what, j.ID)
		case j.Due.After(now):
			t.Fatalf("%s: job %q is due at %v, after now", what, j.ID, j.Due)
		}
		if i > 0 {
			p := js[i-1]
			if p.Due.After(j.Due) || p.Due.Equal(j.Due) && p.ID >= j.ID {
				t.Fatalf("%s: job %q (due %v) before job %q (due %v); want soonest Due first, then ID",
					what, p.ID, p.Due, j.ID, j.Due)
			}
		}
	}
}

func settle(t *testing.T, s belfry.Store, st belfry.Settlement) {
	t.Helper()
	if err := s.Settle(ctx(t), st); err != nil {
		t.Fatalf("Settle(%q, done %v, retry %v, fail %v): %v", st.ID, st.Done, st.Retry, st.Fail, err)
	}
}

func failedJobs(t *testing.T, s belfry.Store, kind belfry.JobKind, before string, limit int) []belfry.Job {
	t.Helper()
	js, err := s.FailedJobs(ctx(t), kind, before, limit)
	if err != nil {
		t.Fatalf("FailedJobs(%q, %q, %d): %v", kind, before, limit, err)
	}
	if len(js) > limit {
		t.Fatalf("FailedJobs(%q, %q, %d) returned %d jobs", kind, before, limit, len(js))
	}
	for _, j := range js {
		if !j.Failed || j.Kind != kind || j.Claim != "" {
			t.Fatalf("FailedJobs(%q) returned job %q of kind %q, failed %v, claim %q; want failed, unclaimed, of the kind",
				kind, j.ID, j.Kind, j.Failed, j.Claim)
		}
	}
	return js
}

func revive(t *testing.T, s belfry.Store, id string, now time.Time) belfry.Job {
	t.Helper()
	j, err := s.Revive(ctx(t), id, now)
	if err != nil {
		t.Fatalf("Revive(%q): %v", id, err)
	}
	return j
}

// fail enqueues jobs, claims them at now and settles each as failed with
// the last error "gave up on <id>". The jobs must be due at now and the
// only ones due then.
func fail(t *testing.T, s belfry.Store, now time.Time, jobs ...belfry.Job) {
	t.Helper()
	enqueue(t, s, jobs...)
	got := claim(t, s, now, time.Minute, len(jobs)+1)
	if len(got) != len(jobs) {
		t.Fatalf("test setup: Claim returned %v, want the %d jobs to fail", jobIDs(got), len(jobs))
	}
	for _, j := range got {
		settle(t, s, belfry.Settlement{ID: j.ID, Claim: j.Claim, Fail: true, LastError: "gave up on " + j.ID})
	}
}

func jobIDs(js []belfry.Job) []string {
	out := make([]string, len(js))
	for i, j := range js {
		out[i] = j.ID
	}
	return out
}

func wantJobIDs(t *testing.T, what string, got []belfry.Job, want ...string) {
	t.Helper()
	if g := jobIDs(got); !slices.Equal(g, want) {
		t.Fatalf("%s: jobs %q, want %q", what, g, want)
	}
}

// sameJob fails the test unless got is want as stored: every field but
// Claim, Index and OnlyIfSubscribed equal, times compared as instants at
// millisecond precision, a nil and an empty payload the same.
func sameJob(t *testing.T, what string, got, want belfry.Job) {
	t.Helper()
	if got.ID != want.ID || got.Kind != want.Kind || got.UserID != want.UserID ||
		got.NotificationID != want.NotificationID || got.Attempts != want.Attempts ||
		got.Failed != want.Failed || got.LastError != want.LastError {
		t.Fatalf("%s: got %s\nwant %s", what, briefJob(got), briefJob(want))
	}
	if !bytes.Equal(got.Payload, want.Payload) {
		t.Fatalf("%s: job %q payload %q, want %q", what, got.ID, clip(got.Payload), clip(want.Payload))
	}
	if !got.Created.Equal(belfry.Now(want.Created)) {
		t.Fatalf("%s: job %q created %v, want %v", what, got.ID, got.Created, belfry.Now(want.Created))
	}
	if !got.Due.Equal(belfry.Now(want.Due)) {
		t.Fatalf("%s: job %q due %v, want %v", what, got.ID, got.Due, belfry.Now(want.Due))
	}
}

func briefJob(j belfry.Job) string {
	return fmt.Sprintf("{id:%q kind:%q user:%q notification:%d attempts:%d failed:%v last_error:%q}",
		j.ID, j.Kind, clip([]byte(j.UserID)), j.NotificationID, j.Attempts, j.Failed, clip([]byte(j.LastError)))
}

// pushSub returns a subscription whose endpoint ends in name, with keys
// that name it too.
func pushSub(name string, created time.Time) belfry.Subscription {
	return belfry.Subscription{Endpoint: "https://push.example/send/" + name,
		P256DH: "BPk-" + name, Auth: "auth-" + name, Created: created}
}

func subscribe(t *testing.T, s belfry.Store, user string, sub belfry.Subscription) {
	t.Helper()
	if err := s.Subscribe(ctx(t), user, sub); err != nil {
		t.Fatalf("Subscribe(%q, %q): %v", user, clip([]byte(sub.Endpoint)), err)
	}
}

func subscriptionsOf(t *testing.T, s belfry.Store, user string) []belfry.Subscription {
	t.Helper()
	subs, err := s.SubscriptionsOf(ctx(t), user)
	if err != nil {
		t.Fatalf("SubscriptionsOf(%q): %v", user, err)
	}
	return subs
}

// wantSubs fails the test unless the user's subscriptions are want, in
// order, every field equal (Created at millisecond precision).
func wantSubs(t *testing.T, s belfry.Store, user string, want ...belfry.Subscription) {
	t.Helper()
	got := subscriptionsOf(t, s, user)
	ok := len(got) == len(want)
	for i := 0; ok && i < len(got); i++ {
		g, w := got[i], want[i]
		ok = g.Endpoint == w.Endpoint && g.P256DH == w.P256DH && g.Auth == w.Auth &&
			g.Created.Equal(belfry.Now(w.Created))
	}
	if !ok {
		t.Fatalf("SubscriptionsOf(%q) = %s\nwant %s", user, briefSubs(got), briefSubs(want))
	}
}

func briefSubs(subs []belfry.Subscription) string {
	var b bytes.Buffer
	b.WriteString("[")
	for i, s := range subs {
		if i > 0 {
			b.WriteString(" ")
		}
		fmt.Fprintf(&b, "{%s %s %s %s}", clip([]byte(s.Endpoint)), s.P256DH, s.Auth, s.Created.Format(belfry.TimeFormat))
	}
	b.WriteString("]")
	return b.String()
}
