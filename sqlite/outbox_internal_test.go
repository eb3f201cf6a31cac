package sqlite

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/belfry/belfry"
)

// The outbox and subscription statements walk the indexes migration 4
// made for them, in their order (no temporary B-tree to sort, but for
// ties among a user's subscriptions), so their cost follows the rows they
// return, not the size of the outbox.
func TestOutboxQueryPlans(t *testing.T) {
	_, conn := planned(t)
	want := map[string][]string{ // statement → indexes its plan must name
		`SELECT rowid FROM outbox INDEXED BY outbox_due
			WHERE NOT failed AND due_at <= 1 AND lease_until <= 1 ORDER BY due_at, id LIMIT 10`: {"outbox_due"},
		`SELECT ` + jobColumns + ` FROM outbox INDEXED BY outbox_failed
			WHERE failed AND kind = 'webhook' AND ('x' = '' OR id < 'x') ORDER BY created_at DESC, id DESC LIMIT 10`: {"outbox_failed"},
		`SELECT rowid FROM outbox INDEXED BY outbox_failed_created
			WHERE failed AND created_at < 1 ORDER BY created_at LIMIT 10`: {"outbox_failed_created"},
		`SELECT 1 WHERE NOT 1 OR EXISTS (SELECT 1 FROM push_subscriptions WHERE user_id = 'a')`: {"push_subscriptions_user"},
		`SELECT count(*) FROM push_subscriptions WHERE user_id = 'a' AND endpoint <> 'e'`:       {"push_subscriptions_user"},
		`SELECT endpoint, p256dh, auth, created_at FROM push_subscriptions
			WHERE user_id = 'a' ORDER BY created_at, endpoint`: {"push_subscriptions_user"},
		`SELECT 1 FROM outbox WHERE id = 'x'`: {"sqlite_autoindex_outbox_1"},
	}
	for q, indexes := range want {
		all := queryPlan(t, conn, q)
		for _, ix := range indexes {
			if !strings.Contains(all, ix) {
				t.Errorf("plan of %s\n= %s\nwant it to use %s", q, all, ix)
			}
		}
		// A user's subscriptions (at most 20) are sorted by endpoint
		// within one created_at.
		if strings.Contains(all, "TEMP B-TREE") && !strings.Contains(all, "LAST TERM OF ORDER BY") {
			t.Errorf("plan of %s\n= %s\nsorts in a temporary B-tree", q, all)
		}
	}
}

// Jobs, claims and subscriptions are in the file: after Close and a new
// Open a claim still settles, and the subscription still gates jobs.
func TestOutboxDurableAcrossReopen(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "belfry.db")
	s, err := Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	t0 := belfry.Now(time.Now())
	sub := belfry.Subscription{Endpoint: "https://push.example/a", P256DH: "k", Auth: "a", Created: t0}
	if err := s.Subscribe(ctx, "alice", sub); err != nil {
		t.Fatal(err)
	}
	job := belfry.Job{ID: "j1", Kind: belfry.JobWebhook, UserID: "alice", Created: t0, Due: t0, Payload: []byte("body")}
	if err := s.Enqueue(ctx, []belfry.Job{job}); err != nil {
		t.Fatal(err)
	}
	claimed, err := s.Claim(ctx, t0, time.Minute, 10)
	if err != nil || len(claimed) != 1 {
		t.Fatalf("Claim = %v, %v", claimed, err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	s, err = Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if js, err := s.Claim(ctx, t0.Add(time.Second), time.Minute, 10); err != nil || len(js) != 0 {
		t.Fatalf("Claim while the lease from before the reopen holds = %v, %v", js, err)
	}
	next := belfry.Job{ID: "j2", Kind: belfry.JobPush, UserID: "alice", NotificationID: 1, OnlyIfSubscribed: true,
		Created: t0, Due: t0}
	if err := s.Settle(ctx, belfry.Settlement{ID: "j1", Claim: claimed[0].Claim, Done: true,
		Next: []belfry.Job{next}}); err != nil {
		t.Fatalf("Settle with the claim from before the reopen: %v", err)
	}
	js, err := s.Claim(ctx, t0.Add(time.Second), time.Minute, 10)
	if err != nil || len(js) != 1 || js[0].ID != "j2" {
		t.Fatalf("Claim after the reopen = %v, %v; want j2", js, err)
	}
}

// The store refuses what it cannot store or settle rather than guess.
func TestOutboxInvalid(t *testing.T) {
	ctx := t.Context()
	s, err := Open(ctx, filepath.Join(t.TempDir(), "belfry.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	now := belfry.Now(time.Now())
	long := strings.Repeat("x", maxJobID+1)
	for name, err := range map[string]error{
		"Enqueue of an empty id":    s.Enqueue(ctx, []belfry.Job{{Kind: belfry.JobPush}}),
		"Enqueue of a 65-byte id":   s.Enqueue(ctx, []belfry.Job{{ID: long, Kind: belfry.JobPush}}),
		"Enqueue without a kind":    s.Enqueue(ctx, []belfry.Job{{ID: "j"}}),
		"Settle with nothing to do": s.Settle(ctx, belfry.Settlement{ID: "j", Claim: "c"}),
		"Settle done and failed":    s.Settle(ctx, belfry.Settlement{ID: "j", Claim: "c", Done: true, Fail: true}),
		"Publish with a job index out of range": s.Publish(ctx, &belfry.Batch{
			Notifications: []*belfry.Notification{{UserID: "a", Message: "m"}},
			Jobs:          []belfry.Job{{ID: "j", Kind: belfry.JobPush, Index: 1}}}),
		"Subscribe without an endpoint": s.Subscribe(ctx, "a", belfry.Subscription{}),
	} {
		if code := belfry.ErrorCode(err); code != belfry.EINVALID {
			t.Errorf("%s: %v, want %s", name, err, belfry.EINVALID)
		}
	}
	if _, err := s.Claim(ctx, now, 0, 10); belfry.ErrorCode(err) != belfry.EINVALID {
		t.Errorf("Claim with no lease: %v, want %s", err, belfry.EINVALID)
	}
	// Nothing was stored by the calls refused.
	if ns, err := s.After(ctx, "a", 0, 10); err != nil || len(ns) != 0 {
		t.Errorf("After(a) = %v, %v; want nothing", ns, err)
	}
}
