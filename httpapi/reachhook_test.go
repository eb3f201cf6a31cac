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
	e.runReach(t)
	return e, peer
}

// runReach runs the env's Reach until the test ends.
func (e *env) runReach(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); _ = e.reach.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
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
	seen := e.publishOne(t, `{"user_id":"alice","message":"seen in a tab"}`)
	quiet := e.publishOne(t, `{"user_id":"alice","message":"webhook off","category":"quiet"}`)
	archived := e.publishOne(t, `{"user_id":"alice","message":"archived"}`)
	expires := e.publishOne(t, `{"user_id":"alice","message":"expires","ttl":600}`)
	bobs := e.publishOne(t, `{"user_id":"bob","message":"bob's, unseen"}`)
	if r := e.user("alice", "POST", "/notifications/seen", withJSON(fmt.Sprintf(`{"up_to_id":%d}`, seen))); r.status != 200 {
		t.Fatalf("seen: %d %s", r.status, r.body)
	}
	unseen := e.publishOne(t, `{"user_id":"alice","message":"still unseen"}`)
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

// notification.action and notification.read come once per change, and
// user.online and user.offline only for a change that held for the
// debounce: a page reload sends neither.
func TestEventWebhooks(t *testing.T) {
	e, peer := hookEnv(t, envOpts{}, 0)
	id := e.publishOne(t, `{"user_id":"alice","message":"approve?","actions":[{"id":"yes","label":"Yes"},{"id":"no","label":"No"}]}`)
	other := e.publishOne(t, `{"user_id":"alice","message":"read me"}`)
	for range 2 { // the second of each changes nothing: no event
		if r := e.user("alice", "POST", fmt.Sprintf("/notifications/%d/actions/yes", id)); r.status != 200 {
			t.Fatalf("act: %d %s", r.status, r.body)
		}
		if r := e.user("alice", "POST", fmt.Sprintf("/notifications/%d/read", other)); r.status != 200 {
			t.Fatalf("read: %d %s", r.status, r.body)
		}
	}
	e.publishOne(t, `{"user_id":"alice","message":"bulk","category":"billing"}`)
	if r := e.user("alice", "POST", "/notifications/read-all", withJSON(`{"category":"billing"}`)); r.status != 200 {
		t.Fatalf("read-all: %d %s", r.status, r.body)
	}
	got := peer.WaitFor(t, wait, "an action and two reads", func(g []peers.Webhook) bool {
		return len(delivered(g, belfry.EventAction)) >= 1 && len(delivered(g, belfry.EventRead)) >= 2
	})
	if a := delivered(got, belfry.EventAction); len(a) != 1 || notificationOf(t, a[0]).Action != "yes" || notificationOf(t, a[0]).ID != id {
		t.Fatalf("notification.action: %+v", a)
	}
	reads := delivered(got, belfry.EventRead)
	if len(reads) == 2 && notificationOf(t, reads[0]).ID != other { // deliveries run concurrently
		reads[0], reads[1] = reads[1], reads[0]
	}
	var bulk struct {
		UserID  string `json:"user_id"`
		All     bool   `json:"all"`
		Updated int    `json:"updated"`
		Filter  struct {
			Category string `json:"category"`
		} `json:"filter"`
	}
	if len(reads) != 2 || notificationOf(t, reads[0]).ID != other ||
		json.Unmarshal(reads[1].Event.Data, &bulk) != nil || !bulk.All || bulk.Updated != 1 || bulk.Filter.Category != "billing" || bulk.UserID != "alice" {
		t.Fatalf("notification.read: %+v", reads)
	}

	// Presence: online once the stream held for the debounce; a reload
	// (close, open again at once) sends nothing; offline after it held.
	presenceEvents := func(g []peers.Webhook) []string {
		var out []string
		for _, h := range g {
			if h.OK && (h.Event.Type == belfry.EventOnline || h.Event.Type == belfry.EventOffline) {
				out = append(out, h.Event.Type)
			}
		}
		return out
	}
	s := e.openStream(t, "", withBearer(e.token("alice")))
	s.syncStats(t)
	e.advance(5 * time.Second)
	if ev := presenceEvents(peer.Got()); len(ev) != 0 {
		t.Fatalf("presence events before the debounce: %v", ev)
	}
	e.drive(t, peer, "user.online", func(g []peers.Webhook) bool { return len(presenceEvents(g)) == 1 })
	s.close()
	eventually(t, "alice offline", func() bool { return !e.presenceOf(t, "alice")["alice"].Online })
	s = e.openStream(t, "", withBearer(e.token("alice")))
	s.syncStats(t)
	e.advance(30 * time.Second)
	s.close()
	e.drive(t, peer, "user.offline", func(g []peers.Webhook) bool { return len(presenceEvents(g)) == 2 })
	got = peer.Got()
	if ev := presenceEvents(got); fmt.Sprint(ev) != "[user.online user.offline]" {
		t.Fatalf("presence events %v, want one online then one offline (the reload sent none)", ev)
	}
	for _, h := range got {
		if h.Event.Type == belfry.EventOffline {
			var p struct {
				UserID   string `json:"user_id"`
				Online   bool   `json:"online"`
				LastSeen string `json:"last_seen"`
			}
			if json.Unmarshal(h.Event.Data, &p) != nil || p.UserID != "alice" || p.Online || p.LastSeen == "" {
				t.Fatalf("user.offline data %s", h.Event.Data)
			}
		}
	}
}

// A delivery that gives up is listed, and a retry sends it again with the
// same webhook-id, once.
func TestFailedWebhooks(t *testing.T) {
	e, peer := hookEnv(t, envOpts{}, 1_000_000) // the receiver answers 500 until told otherwise
	id := e.publishOne(t, `{"user_id":"alice","message":"m","actions":[{"id":"ok","label":"OK"}]}`)
	if r := e.user("alice", "POST", fmt.Sprintf("/notifications/%d/actions/ok", id)); r.status != 200 {
		t.Fatalf("act: %d", r.status)
	}
	first := peer.WaitFor(t, wait, "the first attempt", func(g []peers.Webhook) bool { return len(g) > 0 })[0]
	if r := e.user("alice", "GET", "/api/webhooks/failed"); r.status != 403 {
		t.Fatalf("a user listing failed webhooks: %d", r.status)
	}
	list := func() (out struct {
		Webhooks []struct {
			ID        string          `json:"id"`
			Type      string          `json:"type"`
			UserID    string          `json:"user_id"`
			Attempts  int             `json:"attempts"`
			LastError string          `json:"last_error"`
			Body      json.RawMessage `json:"body"`
		} `json:"webhooks"`
	}) {
		r := e.do("GET", "/api/webhooks/failed", withBearer(testAPIKey))
		if r.status != 200 || json.Unmarshal(r.body, &out) != nil {
			t.Fatalf("failed: %d %s", r.status, r.body)
		}
		return out
	}
	// A day of retries on the env's clock.
	e.advance(time.Hour)
	deadline := time.Now().Add(wait)
	for len(list().Webhooks) == 0 {
		if time.Now().After(deadline) {
			t.Fatalf("never gave up; %d attempts", len(peer.Got()))
		}
		peer.Wait(20 * time.Millisecond)
		e.advance(30 * time.Minute)
	}
	f := list().Webhooks
	if len(f) != 1 || f[0].ID != first.ID || f[0].Type != belfry.EventAction || f[0].UserID != "alice" ||
		f[0].Attempts < 5 || f[0].LastError == "" || !json.Valid(f[0].Body) {
		t.Fatalf("failed list %+v", f)
	}
	if r := e.do("POST", "/api/webhooks/msg_nope/retry", withBearer(testAPIKey)); r.status != 404 {
		t.Fatalf("retry of an unknown id: %d", r.status)
	}
	n := len(peer.Got())
	if r := e.do("POST", "/api/webhooks/"+first.ID+"/retry", withBearer(testAPIKey)); r.status != 202 {
		t.Fatalf("retry: %d %s", r.status, r.body)
	}
	got := peer.WaitFor(t, wait, "the retried delivery", func(g []peers.Webhook) bool { return len(g) > n })
	if h := got[n]; h.ID != first.ID || !h.OK {
		t.Fatalf("the retry came as %+v, want webhook-id %s", h, first.ID)
	}
	// Refused again, it is retried until the window ends and listed again.
	deadline = time.Now().Add(wait)
	for len(list().Webhooks) != 1 {
		if time.Now().After(deadline) {
			t.Fatalf("not listed again: %+v; stats %+v; attempts %d", list(), e.reach.Stats(), len(peer.Got()))
		}
		peer.Wait(20 * time.Millisecond)
		e.advance(30 * time.Minute)
	}
}
