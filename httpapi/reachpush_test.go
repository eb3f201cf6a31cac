package httpapi_test

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/belfry/belfry"
	"github.com/belfry/belfry/httpapi"
	"github.com/belfry/belfry/internal/peers"
	"github.com/belfry/belfry/webpush"
)

const vapidSub = "mailto:ops@belfry.test"

// pushFlowEnv is a node that pushes to a Web Push service from another
// author (internal/peers: http_ece decrypts, Node's crypto verifies the
// VAPID JWT). Reach runs on the env's clock.
func pushFlowEnv(t *testing.T, o envOpts) (*env, *peers.Pushes) {
	t.Helper()
	peer := peers.StartPushes(t, vapidSub)
	key, err := webpush.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	policy := webpush.Policy{AllowLoopback: true}
	client, err := webpush.New(webpush.Options{Key: key, Subject: vapidSub, Policy: policy})
	if err != nil {
		t.Fatal(err)
	}
	o.pushKey, o.checkEndpoint = key.PublicKey(), policy.CheckEndpoint
	o.reach = func(e *env) *belfry.Reach {
		return &belfry.Reach{Store: e.store, Presence: e.presence, Push: client, Now: e.now,
			PushDelay: 30 * time.Second, PushTTL: time.Hour, Poll: 20 * time.Millisecond,
			API: "https://belfry.test", Token: httpapi.PushTokenMinter(testSecret)}
	}
	e := newEnv(t, o)
	e.runReach(t)
	return e, peer
}

// pushesTo returns the requests to endpoints labelled label.
func pushesTo(got []peers.Push, label string) []peers.Push {
	var out []peers.Push
	for _, p := range got {
		if strings.HasSuffix(p.Path, "/"+label) {
			out = append(out, p)
		}
	}
	return out
}

// drivePush moves the env's clock 5 s at a time, each time the receiver
// had nothing new for a moment, until cond holds.
func (e *env) drivePush(t *testing.T, peer *peers.Pushes, what string, cond func([]peers.Push) bool) []peers.Push {
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
			e.advance(5 * time.Second)
		}
	}
}

func (e *env) subscribe(t *testing.T, user, endpoint string, peer *peers.Pushes) {
	t.Helper()
	if r := e.user(user, "POST", "/notifications/push/subscriptions",
		withJSON(subscriptionBody(endpoint, peer.P256DH, peer.Auth))); r.status != 201 {
		t.Fatalf("subscribe %s: %d %s", endpoint, r.status, r.body)
	}
}

func payloadOf(t *testing.T, p peers.Push) belfry.PushPayload {
	t.Helper()
	if len(p.Errors) > 0 {
		t.Fatalf("the push service found faults in %s: %v", p.URL, p.Errors)
	}
	var pl belfry.PushPayload
	if err := json.Unmarshal(p.Plaintext, &pl); err != nil {
		t.Fatalf("payload: %v in %q", err, p.Plaintext)
	}
	return pl
}

// The delivery rules: always at once; offline only after the delay, when
// still unseen and the user has no open stream; never; the preference.
func TestPushRules(t *testing.T) { onEveryStore(t, testPushRules) }

func testPushRules(t *testing.T, o envOpts) {
	e, peer := pushFlowEnv(t, o)
	e.subscribe(t, "alice", peer.Endpoint(201, "alice"), peer)
	if r := e.user("alice", "PUT", "/notifications/preferences",
		withJSON(`{"categories":{"muted":{"push":false}}}`)); r.status != 200 {
		t.Fatalf("preferences: %d %s", r.status, r.body)
	}
	pushed := func(got []peers.Push) map[int64]belfry.PushPayload {
		m := map[int64]belfry.PushPayload{}
		for _, p := range pushesTo(got, "alice") {
			pl := payloadOf(t, p)
			m[pl.ID] = pl
		}
		return m
	}

	always := e.publishOne(t, `{"user_id":"alice","title":"Invoice paid","message":"#7 was paid","link":"https://app.test/i/7","push":"always","actions":[{"id":"open","label":"Open"}]}`)
	got := e.drivePush(t, peer, "the always push", func(g []peers.Push) bool { return len(pushesTo(g, "alice")) == 1 })
	pl := payloadOf(t, got[0])
	if pl.ID != always || pl.Title != "Invoice paid" || pl.Body != "#7 was paid" || pl.Link != "https://app.test/i/7" ||
		len(pl.Actions) != 1 || pl.Actions[0] != (belfry.PushAction{Action: "open", Title: "Open"}) ||
		pl.API != "https://belfry.test" || pl.Token == "" || pl.UserID != "alice" {
		t.Fatalf("payload %+v", pl)
	}
	if got[0].Topic != belfry.PushTopic("alice", always) || got[0].Urgency != "normal" || got[0].TTL == "" {
		t.Fatalf("headers: topic %q urgency %q ttl %q", got[0].Topic, got[0].Urgency, got[0].TTL)
	}
	if aud := got[0].Claims["aud"]; aud != peer.Base {
		t.Fatalf("aud %v, want %s", aud, peer.Base)
	}
	// The token marks that notification read, and nothing else.
	if r := e.do("POST", fmt.Sprintf("/notifications/%d/read", always), withBearer(pl.Token)); r.status != 200 {
		t.Fatalf("read with the push token: %d %s", r.status, r.body)
	}

	// With a stream open, offline does not push; nor does "never", the
	// muted category, or a notification seen before the delay.
	s := e.openStream(t, "", withBearer(e.token("alice")))
	s.syncStats(t)
	e.publishOne(t, `{"user_id":"alice","message":"online"}`)
	s.close()
	eventually(t, "alice offline", func() bool { return !e.presenceOf(t, "alice")["alice"].Online })
	never := e.publishOne(t, `{"user_id":"alice","message":"never","push":"never"}`)
	muted := e.publishOne(t, `{"user_id":"alice","message":"muted","category":"muted"}`)
	seen := e.publishOne(t, `{"user_id":"alice","message":"seen"}`)
	if r := e.user("alice", "POST", "/notifications/seen", withJSON(fmt.Sprintf(`{"up_to_id":%d}`, seen))); r.status != 200 {
		t.Fatalf("seen: %d", r.status)
	}
	offline := e.publishOne(t, `{"user_id":"alice","message":"offline"}`)
	if n := len(pushesTo(peer.Got(), "alice")); n != 1 {
		t.Fatalf("%d pushes before the delay, want 1", n)
	}
	got = e.drivePush(t, peer, "the offline push", func(g []peers.Push) bool { _, ok := pushed(g)[offline]; return ok })
	if p := pushed(got); len(p) != 2 {
		t.Fatalf("pushed %v; want only %d and %d (never %d, muted %d, seen %d)", keys(p), always, offline, never, muted, seen)
	}
	if e.reach.Stats().PushSkipped < 3 {
		t.Fatalf("skipped %d, want the online one, the muted one and the seen one", e.reach.Stats().PushSkipped)
	}
}

func keys[K comparable, V any](m map[K]V) []K {
	var ks []K
	for k := range m {
		ks = append(ks, k)
	}
	return ks
}

// The push service's answers: 410 deletes the subscription, 413 is sent
// again small, 429 waits at least its Retry-After, 500 is retried.
func TestPushServiceAnswers(t *testing.T) {
	e, peer := pushFlowEnv(t, envOpts{})
	gone := peer.Endpoint(410, "gone")
	e.subscribe(t, "alice", gone, peer)
	e.subscribe(t, "alice", peer.Endpoint(201, "big")+"?fail=413&times=1", peer)
	e.subscribe(t, "alice", peer.Endpoint(201, "busy")+"?fail=429&times=1&retry_after=120", peer)
	e.subscribe(t, "alice", peer.Endpoint(201, "flaky")+"?fail=500&times=2", peer)
	id := e.publishOne(t, `{"user_id":"alice","title":"T","message":"a body","link":"https://app.test/x","push":"always"}`)
	var busyAt []time.Duration
	got := e.drivePush(t, peer, "every endpoint settled", func(g []peers.Push) bool {
		if n := len(pushesTo(g, "busy")); n > len(busyAt) {
			busyAt = append(busyAt, time.Duration(e.clockSkew.Load()))
		}
		return len(pushesTo(g, "gone")) == 1 && len(pushesTo(g, "big")) == 2 &&
			len(pushesTo(g, "busy")) == 2 && len(pushesTo(g, "flaky")) == 3
	})
	if eps := e.endpoints(t, "alice"); len(eps) != 3 || contains(eps, gone) {
		t.Fatalf("subscriptions after a 410: %v", eps)
	}
	big := pushesTo(got, "big")
	full, small := payloadOf(t, big[0]), payloadOf(t, big[1])
	if full.Body != "a body" || full.Token == "" ||
		string(big[1].Plaintext) != fmt.Sprintf(`{"id":%d,"title":"T","link":"https://app.test/x"}`, id) {
		t.Fatalf("after 413: first %+v, then %+v", full, small)
	}
	// busyAt is read when the receiver's report arrives, up to one step
	// of drivePush (5 s) after the request; the backoff alone is 5 s.
	if len(busyAt) != 2 || busyAt[1]-busyAt[0] < 115*time.Second {
		t.Fatalf("429 with Retry-After 120 retried after %v", busyAt)
	}
	for _, p := range got {
		payloadOf(t, p) // every request decrypts and verifies
	}
	// The receiver reports before belfry has read its answer.
	eventually(t, "3 sent and 1 gone counted", func() bool {
		s := e.reach.Stats()
		return s.PushSent == 3 && s.PushGone == 1
	})
	// Nothing more comes: every job is settled.
	e.advance(2 * time.Hour)
	if peer.Wait(200 * time.Millisecond) {
		t.Fatalf("a push after all settled: %+v", peer.Got()[len(got):])
	}
}

func contains(xs []string, x string) bool {
	for _, y := range xs {
		if y == x {
			return true
		}
	}
	return false
}
