package client_test

import (
	"bufio"
	"context"
	"encoding/json"
	"net/http"
	"testing"
	"time"

	"github.com/belfry/belfry"
	"github.com/belfry/belfry/client"
)

// Presence sees a user's open stream.
func TestPresence(t *testing.T) {
	e := newEnv(t, envOpts{})
	c := e.client("")
	ps, err := c.Presence(ctxT(t), "alice", "bob")
	if err != nil {
		t.Fatal(err)
	}
	if len(ps) != 2 || ps["alice"].Online || ps["bob"].Online || ps["alice"].UserID != "alice" {
		t.Fatalf("before any stream: %+v", ps)
	}

	ctx, cancel := context.WithCancel(ctxT(t))
	defer cancel()
	tok, err := client.MintToken(testSecret, "alice", time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, e.url+"/notifications/stream", nil)
	req.Header.Set("Authorization", "Bearer "+tok)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("stream: %d", resp.StatusCode)
	}
	if _, err := bufio.NewReader(resp.Body).ReadString('\n'); err != nil { // the retry: line
		t.Fatal(err)
	}
	deadline := time.Now().Add(wait)
	for {
		ps, err = c.Presence(ctxT(t), "alice", "bob")
		if err != nil {
			t.Fatal(err)
		}
		if ps["alice"].Online {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("alice never online: %+v", ps)
		}
		time.Sleep(time.Millisecond) // a poll interval, not a wait for an outcome
	}
	if a := ps["alice"]; a.Streams != 1 || a.Since.IsZero() || ps["bob"].Online {
		t.Fatalf("with alice's stream: %+v", ps)
	}
}

// A failed delivery is listed, and its retry makes it due again (and no
// longer failed).
func TestFailedWebhooks(t *testing.T) {
	e := newEnv(t, envOpts{})
	c := e.client("")
	page, err := c.FailedWebhooks(ctxT(t), 0, "")
	if err != nil || len(page.Webhooks) != 0 || page.Next != "" {
		t.Fatalf("empty list: %+v, %v", page, err)
	}
	// Two deliveries that gave up, as the outbox records them.
	ctx := ctxT(t)
	now := belfry.Now(time.Now())
	jobs := []belfry.Job{
		{ID: "msg_01", Kind: belfry.JobWebhook, UserID: "alice", NotificationID: 3, Created: now, Due: now,
			Payload: []byte(`{"type":"notification.unseen","timestamp":"2026-01-01T00:00:00Z","data":{}}`)},
		{ID: "msg_02", Kind: belfry.JobWebhook, UserID: "bob", Created: now.Add(time.Millisecond), Due: now,
			Payload: []byte(`{"type":"user.online","timestamp":"2026-01-01T00:00:00Z","data":{}}`)},
	}
	if err := e.store.Enqueue(ctx, jobs); err != nil {
		t.Fatal(err)
	}
	claimed, err := e.store.Claim(ctx, now.Add(time.Second), time.Minute, 10)
	if err != nil || len(claimed) != 2 {
		t.Fatalf("claim: %v, %v", claimed, err)
	}
	for _, j := range claimed {
		if err := e.store.Settle(ctx, belfry.Settlement{ID: j.ID, Claim: j.Claim, Fail: true, LastError: "the app answered 500"}); err != nil {
			t.Fatal(err)
		}
	}

	page, err = c.FailedWebhooks(ctxT(t), 1, "")
	if err != nil {
		t.Fatal(err)
	}
	if len(page.Webhooks) != 1 || page.Next != "msg_02" {
		t.Fatalf("first page: %+v", page)
	}
	w := page.Webhooks[0]
	if w.ID != "msg_02" || w.Type != "user.online" || w.UserID != "bob" || w.Attempts != 1 ||
		w.LastError != "the app answered 500" || w.CreatedAt.IsZero() || !json.Valid(w.Body) {
		t.Fatalf("newest: %+v", w)
	}
	page, err = c.FailedWebhooks(ctxT(t), 10, page.Next)
	if err != nil {
		t.Fatal(err)
	}
	if len(page.Webhooks) != 1 || page.Next != "" || page.Webhooks[0].ID != "msg_01" || page.Webhooks[0].NotificationID != 3 {
		t.Fatalf("second page: %+v", page)
	}

	r, err := c.RetryWebhook(ctxT(t), "msg_01")
	if err != nil {
		t.Fatal(err)
	}
	if r.ID != "msg_01" || r.Type != "notification.unseen" {
		t.Fatalf("retried: %+v", r)
	}
	page, err = c.FailedWebhooks(ctxT(t), 0, "")
	if err != nil || len(page.Webhooks) != 1 || page.Webhooks[0].ID != "msg_02" {
		t.Fatalf("after the retry: %+v, %v", page, err)
	}
	if _, err := c.RetryWebhook(ctxT(t), "msg_01"); !client.IsNotFound(err) {
		t.Fatalf("retry of a webhook no longer failed: %v", err)
	}
	_, err = c.FailedWebhooks(ctxT(t), 500, "")
	if ce := asError(t, err); ce.Code != belfry.EINVALID {
		t.Fatalf("limit 500: %+v", ce)
	}
}
