package httpapi_test

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/belfry/belfry"
	"github.com/belfry/belfry/internal/peers"
	"github.com/belfry/belfry/webhook"
)

// hookEnv is a node whose Reach posts webhooks to a Standard Webhooks
// receiver from another author (internal/peers) that answers 500 to the
// first failFirst attempts of each delivery. Reach runs on the env's
// clock, which the test moves (env.advance).
func hookEnv(t *testing.T, o envOpts, failFirst int) (*env, *peers.Webhooks) {
	t.Helper()
	secret := webhook.NewSecret()
	peer := peers.StartWebhooks(t, secret, failFirst)
	client, err := webhook.New(peer.URL, secret)
	if err != nil {
		t.Fatal(err)
	}
	o.reach = func(e *env) *belfry.Reach {
		return &belfry.Reach{Store: e.store, Presence: e.presence, Webhook: client, Now: e.now,
			EscalateAfter: 15 * time.Minute, PresenceDebounce: 10 * time.Second, Poll: 20 * time.Millisecond}
	}
	e := newEnv(t, o)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); _ = e.reach.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
	return e, peer
}

// advance moves the env's clock (the API's, Reach's and presence's).
func (e *env) advance(d time.Duration) { e.clockSkew.Add(int64(d)) }

// drive moves the env's clock 10 s at a time, each time the receiver had
// nothing new for a moment, until cond holds for what it received.
func (e *env) drive(t *testing.T, peer *peers.Webhooks, what string, cond func([]peers.Webhook) bool) []peers.Webhook {
	t.Helper()
	deadline := time.Now().Add(wait)
	for {
		if got := peer.Got(); cond(got) {
			return got
		}
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s; received %+v", what, peer.Got())
		}
		if !peer.Wait(50 * time.Millisecond) {
			e.advance(10 * time.Second)
		}
	}
}

// delivered returns the verified, accepted deliveries of the type.
func delivered(got []peers.Webhook, typ string) []peers.Webhook {
	var out []peers.Webhook
	for _, h := range got {
		if h.OK && h.Status == 204 && h.Event.Type == typ {
			out = append(out, h)
		}
	}
	return out
}

type hookNotification struct {
	ID     int64  `json:"id"`
	UserID string `json:"user_id"`
	Action string `json:"action"`
	ReadAt string `json:"read_at"`
}

func notificationOf(t *testing.T, h peers.Webhook) hookNotification {
	t.Helper()
	var n hookNotification
	if err := json.Unmarshal(h.Event.Data, &n); err != nil {
		t.Fatalf("%s data: %v in %s", h.Event.Type, err, h.Event.Data)
	}
	return n
}

// notification.unseen fires for what is still unseen, unread, unarchived
// and unexpired when its time comes, with the category's webhook switch
// on; everything else is cancelled by the state it is in then.
func TestEscalationWebhooks(t *testing.T) { onEveryStore(t, testEscalationWebhooks) }

func testEscalationWebhooks(t *testing.T, o envOpts) {
	e, peer := hookEnv(t, o, 1)
	if r := e.user("alice", "PUT", "/notifications/preferences",
		withJSON(`{"categories":{"quiet":{"webhook":false}}}`)); r.status != 200 {
		t.Fatalf("preferences: %d %s", r.status, r.body)
	}
	unseen := e.publishOne(t, `{"user_id":"alice","message":"still unseen"}`)
	seen := e.publishOne(t, `{"user_id":"alice","message":"seen in a tab"}`)
	quiet := e.publishOne(t, `{"user_id":"alice","message":"webhook off","category":"quiet"}`)
	archived := e.publishOne(t, `{"user_id":"alice","message":"archived"}`)
	expires := e.publishOne(t, `{"user_id":"alice","message":"expires","ttl":600}`)
	bobs := e.publishOne(t, `{"user_id":"bob","message":"bob's, unseen"}`)
	if r := e.user("alice", "POST", "/notifications/seen", withJSON(fmt.Sprintf(`{"up_to_id":%d}`, seen))); r.status != 200 {
		t.Fatalf("seen: %d %s", r.status, r.body)
	}
	// Seen up to "seen" covers "unseen" too: publish the one that stays
	// unseen again, after it.
	unseen = e.publishOne(t, `{"user_id":"alice","message":"still unseen"}`)
	if r := e.user("alice", "POST", fmt.Sprintf("/notifications/%d/archive", archived)); r.status != 200 {
		t.Fatalf("archive: %d %s", r.status, r.body)
	}
	e.advance(14 * time.Minute)
	last := e.publishOne(t, `{"user_id":"alice","message":"too recent"}`)
	e.advance(time.Minute + time.Second)
	// The first attempt of each gets 500; the retry comes after the
	// backoff, on the env's clock.
	got := e.drive(t, peer, "two notification.unseen", func(g []peers.Webhook) bool {
		return len(delivered(g, belfry.EventUnseen)) >= 2
	})
	ids := map[string]int64{}
	for _, h := range delivered(got, belfry.EventUnseen) {
		n := notificationOf(t, h)
		ids[n.UserID+"/"+fmt.Sprint(n.ID)] = n.ID
		if h.Attempt != 2 {
			t.Errorf("delivery %s accepted on attempt %d, want 2 (the first got 500)", h.ID, h.Attempt)
		}
	}
	want := map[string]int64{fmt.Sprintf("alice/%d", unseen): unseen, fmt.Sprintf("bob/%d", bobs): bobs}
	if fmt.Sprint(ids) != fmt.Sprint(want) {
		t.Fatalf("notification.unseen for %v, want %v (seen %d, quiet %d, archived %d, expired %d, too recent %d)",
			ids, want, seen, quiet, archived, expires, last)
	}
	for _, h := range got {
		if !h.OK {
			t.Errorf("a delivery did not verify: %+v", h)
		}
	}
}
