package httpapi_test

import (
	"context"
	"crypto/ecdh"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/belfry/belfry"
	"github.com/belfry/belfry/httpapi"
	"github.com/belfry/belfry/web"
)

// TestOpenAPITraffic drives every endpoint through a real server, success
// and error answers alike, and checks each request and answer against the
// description served at GET /openapi.json (specValidator). Requests that
// break a rule the spec states must be refused by the spec too.
func TestOpenAPITraffic(t *testing.T) {
	pushKey := base64.RawURLEncoding.EncodeToString(newP256(t))
	e, v := validatedEnv(t, envOpts{pushKey: pushKey, assets: web.Handler(),
		pusher: &httpapi.PusherConfig{AppID: pusherApp, Key: pusherKey, Secret: pusherSecret},
		admin:  &httpapi.AdminConfig{Key: testAdminKey},
		checkEndpoint: func(u string) error {
			if !strings.HasPrefix(u, "https://push.example.com/") {
				return belfry.Errorf(belfry.EINVALID, "not an allowed push service")
			}
			return nil
		}})
	key := withBearer(testAPIKey)
	alice := withBearer(e.token("alice"))
	invalid, outside := withValidity(reqInvalid), withValidity(reqOutside)
	want := func(status int, method, path string, opts ...reqOpt) reply {
		t.Helper()
		r := e.do(method, path, opts...)
		if r.status != status {
			t.Errorf("%s %s = %d, want %d: %s", method, path, r.status, status, r.body)
		}
		return r
	}
	idOf := func(r reply) int64 {
		t.Helper()
		var n struct{ ID int64 }
		if err := json.Unmarshal(r.body, &n); err != nil || n.ID == 0 {
			t.Fatalf("no notification id in %s (%v)", r.body, err)
		}
		return n.ID
	}

	// A stream open from the start sees every event below.
	st := e.openStream(t, "/notifications/stream", alice)
	events := map[string]string{"sync": "StreamCounts", "new-notification": "NotificationEvent",
		"read-state": "StateEvent", "seen-state": "StateEvent", "archive-state": "StateEvent",
		"action-state": "StateEvent", "notification-deleted": "StateEvent"}

	// Publish.
	full := `{"user_id":"alice","message":"Your export is ready","title":"Export","link":"/exports/9",
		"category":"billing","data":{"export_id":9},"avatar":"https://cdn.example.com/u/7.png","push":"never",
		"actions":[{"id":"approve","label":"Approve","url":"/leave/9/approve"},{"id":"reject","label":"Reject"}]}`
	n1 := idOf(want(201, "POST", "/api/notifications", key, withJSON(full)))
	want(201, "POST", "/api/notifications", withHeader("X-API-Key", testAPIKey),
		withJSON(`{"user_ids":["alice",42,"bob"],"message":"Maintenance tonight","ttl":3600}`))
	once := `{"user_id":"alice","message":"once","expires_at":"` + belfry.FormatTime(time.Now().Add(48*time.Hour)) + `"}`
	want(201, "POST", "/api/notifications", key, withHeader("Idempotency-Key", "job-1"), withJSON(once))
	r := want(200, "POST", "/api/notifications", key, withHeader("Idempotency-Key", "job-1"), withJSON(once))
	if r.header.Get("Idempotent-Replayed") != "true" {
		t.Errorf("replay without Idempotent-Replayed: %v", r.header)
	}
	want(409, "POST", "/api/notifications", key, withHeader("Idempotency-Key", "job-1"),
		withJSON(`{"user_id":"alice","message":"another"}`))
	want(200, "PUT", "/api/users/carol/preferences", key, withJSON(`{"categories":{"marketing":{"in_app":false}}}`))
	want(200, "POST", "/api/notifications", key, withJSON(`{"user_id":"carol","message":"sale","category":"marketing"}`))
	r = want(201, "POST", "/api/notifications", key,
		withJSON(`{"user_ids":["carol","alice"],"message":"sale","category":"marketing"}`))
	if r.header.Get("Belfry-Skipped") != `["carol"]` {
		t.Errorf("Belfry-Skipped = %q", r.header.Get("Belfry-Skipped"))
	}
	want(200, "POST", "/api/notifications", key, withJSON(`{"user_ids":["carol"],"message":"sale","category":"marketing"}`))
	want(401, "POST", "/api/notifications", withJSON(`{"user_id":"alice","message":"x"}`), invalid)
	want(401, "POST", "/api/notifications", withBearer("not-a-key"), withJSON(`{"user_id":"alice","message":"x"}`))
	want(403, "POST", "/api/notifications", alice, withJSON(`{"user_id":"alice","message":"x"}`))
	want(400, "POST", "/api/notifications", key, withJSON(`{"user_id":"alice","message":"x","colour":"red"}`), invalid)
	want(400, "POST", "/api/notifications", key, withJSON(`{"user_id":"alice","user_ids":["bob"],"message":"x"}`), invalid)
	want(400, "POST", "/api/notifications", key, withJSON(`{"user_id":"alice"}`), invalid)
	want(400, "POST", "/api/notifications", key, withJSON(`{"user_id":"alice","message":"x","ttl":0}`), invalid)
	want(400, "POST", "/api/notifications", key, withJSON(`{"user_id":"alice","message":"x","push":"sometimes"}`), invalid)
	want(400, "POST", "/api/notifications", key,
		withJSON(`{"user_id":"alice","message":"x","expires_at":"2001-01-01T00:00:00Z"}`), outside)
	want(400, "POST", "/api/notifications", key, withJSON(`{"user_id":"alice","message":"x","link":"javascript:alert(1)"}`), outside)
	want(400, "POST", "/api/notifications", key, withHeader("Idempotency-Key", strings.Repeat("k", 256)),
		withJSON(`{"user_id":"alice","message":"x"}`), invalid)
	want(413, "POST", "/api/notifications", key,
		withJSON(`{"user_id":"alice","message":"`+strings.Repeat("x", 70<<10)+`"}`), invalid)
	want(415, "POST", "/api/notifications", key, withJSON(`{"user_id":"alice","message":"x"}`),
		withHeader("Content-Type", "text/plain"), invalid)

	// The app's side of a user: preferences, retract.
	want(200, "GET", "/api/users/alice/preferences", key)
	want(200, "PUT", "/api/users/alice/preferences", key, withJSON(`{"default":{"webhook":false}}`))
	want(400, "PUT", "/api/users/alice/preferences", key, withJSON(`{"default":{"in_app":"yes"}}`), invalid)
	want(403, "GET", "/api/users/alice/preferences", alice)
	want(415, "PUT", "/api/users/alice/preferences", key, withJSON(`{}`), withHeader("Content-Type", "text/plain"), invalid)
	gone := idOf(want(201, "POST", "/api/notifications", key, withJSON(`{"user_id":"alice","message":"oops"}`)))
	want(204, "DELETE", fmt.Sprintf("/api/users/alice/notifications/%d", gone), key)
	want(404, "DELETE", fmt.Sprintf("/api/users/alice/notifications/%d", gone), key)
	want(403, "DELETE", fmt.Sprintf("/api/users/alice/notifications/%d", gone), alice)
	want(401, "DELETE", "/api/users/alice/notifications/1", invalid)

	// The user's inbox.
	r = want(200, "GET", "/notifications?limit=1", alice)
	if !strings.Contains(r.header.Get("Link"), `rel="next"`) {
		t.Errorf("no Link to the next page: %v", r.header)
	}
	want(200, "GET", "/notifications?status=all&category=billing&unread=true&seen=false&before=100", alice)
	want(200, "GET", "/notifications?token="+url.QueryEscape(e.token("alice")))
	want(400, "GET", "/notifications?limit=0", alice, invalid)
	want(400, "GET", "/notifications?status=bin", alice, invalid)
	want(401, "GET", "/notifications", invalid)
	want(403, "GET", "/notifications", key)
	want(200, "GET", "/notifications/counts", withHeader("Cookie", "belfry_token="+e.token("alice")))
	want(200, "GET", "/notifications/unread-count", alice)
	want(401, "GET", "/notifications/unread-count", withBearer("expired.or.bad"))
	want(200, "POST", "/notifications/seen", alice)
	want(200, "POST", "/notifications/seen", alice, withJSON(`{"up_to_id":1}`))
	want(400, "POST", "/notifications/seen", alice, withJSON(`{"up_to_id":0}`), invalid)
	want(415, "POST", "/notifications/seen", alice, withJSON(`{}`), withHeader("Content-Type", "text/plain"), invalid)
	for _, op := range []string{"read", "unread", "archive", "unarchive"} {
		want(200, "POST", fmt.Sprintf("/notifications/%d/%s", n1, op), alice)
		want(404, "POST", fmt.Sprintf("/notifications/999/%s", op), alice)
	}
	want(403, "POST", fmt.Sprintf("/notifications/%d/read", n1), key)
	want(404, "POST", fmt.Sprintf("/notifications/%d/read", n1), withBearer(e.token("dave")))
	want(200, "POST", fmt.Sprintf("/notifications/%d/actions/approve", n1), alice)
	want(200, "POST", fmt.Sprintf("/notifications/%d/actions/approve", n1), alice)
	want(409, "POST", fmt.Sprintf("/notifications/%d/actions/reject", n1), alice)
	want(404, "POST", fmt.Sprintf("/notifications/%d/actions/nope", n1), alice)
	want(200, "POST", "/notifications/read-all", alice)
	want(200, "POST", "/notifications/read-all", alice, withJSON(`{"category":"billing","read":false,"up_to_id":1000}`))
	want(200, "POST", "/notifications/archive-all", alice, withJSON(`{"read":true}`))
	want(400, "POST", "/notifications/archive-all", alice, withJSON(`{"category":""}`), invalid)
	want(400, "POST", "/notifications/read-all", alice, withJSON(`{"read":"yes"}`), invalid)
	del := idOf(want(201, "POST", "/api/notifications", key, withJSON(`{"user_id":"alice","message":"bye"}`)))
	want(204, "DELETE", fmt.Sprintf("/notifications/%d", del), alice)
	want(404, "DELETE", fmt.Sprintf("/notifications/%d", del), alice)
	want(200, "GET", "/notifications/preferences", alice)
	want(200, "PUT", "/notifications/preferences", alice,
		withJSON(`{"categories":{"marketing":{"push":false},"old":null}}`))
	want(400, "PUT", "/notifications/preferences", alice, withJSON(`{"categories":{"":{"push":false}}}`), invalid)
	want(400, "PUT", "/notifications/preferences", alice, withJSON(`{"sound":true}`), invalid)

	// Web Push.
	want(200, "GET", "/notifications/push/key")
	sub := func(endpoint string) string {
		return fmt.Sprintf(`{"endpoint":%q,"expirationTime":null,"keys":{"p256dh":%q,"auth":%q}}`, endpoint,
			base64.RawURLEncoding.EncodeToString(newP256(t)), base64.RawURLEncoding.EncodeToString(make([]byte, 16)))
	}
	want(201, "POST", "/notifications/push/subscriptions", alice, withJSON(sub("https://push.example.com/a")))
	want(200, "GET", "/notifications/push/subscriptions", alice)
	want(400, "POST", "/notifications/push/subscriptions", alice, withJSON(sub("http://push.example.com/a")), invalid)
	want(400, "POST", "/notifications/push/subscriptions", alice, withJSON(sub("https://evil.example.com/a")), outside)
	want(400, "POST", "/notifications/push/subscriptions", alice,
		withJSON(`{"endpoint":"https://push.example.com/b","keys":{"p256dh":"AAAA","auth":"AAAA"}}`), outside)
	for i := range belfry.MaxSubscriptions - 1 {
		want(201, "POST", "/notifications/push/subscriptions", alice, withJSON(sub(fmt.Sprintf("https://push.example.com/%d", i))))
	}
	r = want(409, "POST", "/notifications/push/subscriptions", alice, withJSON(sub("https://push.example.com/more")))
	if c := r.errorCode(t); c != belfry.ELIMIT {
		t.Errorf("code %q, want %q", c, belfry.ELIMIT)
	}
	want(204, "DELETE", "/notifications/push/subscriptions?endpoint="+url.QueryEscape("https://push.example.com/a"), alice)
	want(204, "DELETE", "/notifications/push/subscriptions", alice, withJSON(`{"endpoint":"https://push.example.com/0"}`))
	want(404, "DELETE", "/notifications/push/subscriptions", alice, withJSON(`{"endpoint":"https://push.example.com/0"}`))
	want(400, "DELETE", "/notifications/push/subscriptions", alice, withJSON(`{}`), invalid)

	// Presence and failed webhooks.
	r = want(200, "GET", "/api/presence?user_id=alice&user_id=bob", key)
	if !strings.Contains(string(r.body), `"online":true`) {
		t.Errorf("alice has a stream open: %s", r.body)
	}
	want(400, "GET", "/api/presence", key, invalid)
	want(400, "GET", "/api/presence?"+strings.Repeat("user_id=u&", 101), key, invalid)
	want(403, "GET", "/api/presence?user_id=alice", alice)
	failWebhooks(t, e, "msg_1", "msg_2")
	r = want(200, "GET", "/api/webhooks/failed?limit=1", key)
	if !strings.Contains(string(r.body), `"next":`) {
		t.Errorf("no next page: %s", r.body)
	}
	want(200, "GET", "/api/webhooks/failed?before=msg_2", key)
	want(400, "GET", "/api/webhooks/failed?limit=0", key, invalid)
	want(403, "GET", "/api/webhooks/failed", alice)
	want(202, "POST", "/api/webhooks/msg_1/retry", key)
	want(404, "POST", "/api/webhooks/msg_1/retry", key)
	want(401, "POST", "/api/webhooks/msg_2/retry", invalid)

	// The stream, and what it carried meanwhile.
	want(200, "HEAD", "/notifications/stream", alice)
	want(401, "HEAD", "/notifications/stream", invalid)
	want(403, "HEAD", "/notifications/stream", key)
	want(400, "GET", "/notifications/stream", alice, withHeader("Last-Event-ID", "abc"), invalid)
	want(403, "GET", "/notifications/stream", key)
	replay := e.openStream(t, "/notifications/stream?last_event_id=0", alice)
	for seen := map[string]bool{}; !seen["sync"]; {
		ev := replay.event(t)
		seen[ev.name] = true
		v.checkEvent(t, ev, events[ev.name])
	}
	replay.close()
	want(201, "POST", "/api/notifications", key, withJSON(`{"user_id":"alice","message":"last"}`))
	for seen := map[string]bool{}; len(seen) < len(events); {
		ev := st.event(t)
		if events[ev.name] == "" {
			t.Fatalf("unexpected event %q", ev.name)
		}
		seen[ev.name] = true
		v.checkEvent(t, ev, events[ev.name])
	}
	st.close()

	// Operators, the demo and the assets.
	want(200, "GET", "/healthz")
	want(200, "GET", "/readyz")
	want(200, "GET", "/metrics")
	want(200, "GET", "/openapi.json")
	want(200, "GET", "/demo/token?user=dave")
	want(200, "POST", "/demo/token", withJSON(`{"user_id":"erin"}`))
	want(200, "POST", "/demo/token")
	want(201, "POST", "/demo/notifications", alice, withJSON(`{"message":"to myself","category":"demo"}`))
	want(400, "POST", "/demo/notifications", alice, withJSON(`{"message":"x","user_id":"bob"}`), invalid)
	want(403, "POST", "/demo/notifications", key, withJSON(`{"message":"x"}`))
	want(200, "GET", "/")
	want(200, "GET", "/inbox")
	want(200, "GET", "/favicon.ico")
	want(200, "GET", "/assets/notification-bell.js")
	want(200, "GET", "/assets/notification-bell.d.ts")

	// The Pusher-compatible endpoints, signed as the SDKs sign.
	const created = `Illuminate\Notifications\Events\BroadcastNotificationCreated`
	data := laravelData("9f1c6e2a-0000-4000-8000-000000000001", map[string]any{"message": "Paid"})
	notify := pusherBody(created, []string{"private-App.Models.User.42"}, data)
	item, _ := json.Marshal(map[string]string{"name": created, "channel": "private-App.Models.User.43", "data": data})
	for _, c := range []struct {
		status int
		p      pusherSigned
	}{
		{200, pusherSigned{body: notify}},
		{200, pusherSigned{path: "/apps/" + pusherApp + "/batch_events", body: `{"batch":[` + string(item) + `]}`}},
		{401, pusherSigned{body: notify, signature: strings.Repeat("0", 64)}},
		{400, pusherSigned{body: `{"name":"x","channels":[],"data":"{}"}`}},
		{413, pusherSigned{body: pusherBody("big", []string{"c"}, strings.Repeat("x", 11_000))}},
		{404, pusherSigned{path: "/apps/other/events", body: notify}},
	} {
		if r := e.pusherDo(c.p); r.status != c.status {
			t.Errorf("pusher %s: %d, want %d: %s", c.p.path, r.status, c.status, r.body)
		}
	}

	adminTraffic(t, e)

	limitsAndShutdown(t, v)

	if missing := v.uncovered(nil); len(missing) > 0 {
		t.Errorf("operations never answered with a success: %v", missing)
	}
}

// limitsAndShutdown drives the answers of a node at its limits into v's
// records: 429 for rates and streams, 503 for a full node and a shutdown,
// 404 for push turned off.
func limitsAndShutdown(t *testing.T, main *specValidator) {
	e, v := validatedEnv(t, envOpts{publishRate: 0.001, publishBurst: 1, authFailRate: 0.001, authFailBurst: 1,
		maxStreamsPerUser: 1, maxStreams: 2})
	want := func(status int, method, path string, opts ...reqOpt) reply {
		t.Helper()
		r := e.do(method, path, opts...)
		if r.status != status {
			t.Errorf("limits: %s %s = %d, want %d: %s", method, path, r.status, status, r.body)
		}
		if (status == 429 || status == 503) && path != "/readyz" && r.header.Get("Retry-After") == "" {
			t.Errorf("limits: %s %s: %d without Retry-After", method, path, status)
		}
		return r
	}
	key := withBearer(testAPIKey)
	want(201, "POST", "/api/notifications", key, withJSON(`{"user_id":"alice","message":"1"}`))
	want(429, "POST", "/api/notifications", key, withJSON(`{"user_id":"alice","message":"2"}`))
	want(404, "GET", "/notifications/push/key")
	want(404, "POST", "/notifications/push/subscriptions", withBearer(e.token("alice")),
		withJSON(`{"endpoint":"https://push.example.com/a","keys":{"p256dh":"AAAA","auth":"AAAA"}}`))

	a := e.openStream(t, "/notifications/stream", withBearer(e.token("alice")))
	want(429, "GET", "/notifications/stream", withBearer(e.token("alice")))
	want(429, "HEAD", "/notifications/stream", withBearer(e.token("alice")))
	b := e.openStream(t, "/notifications/stream", withBearer(e.token("dave")))
	want(503, "GET", "/notifications/stream", withBearer(e.token("carol")))
	want(503, "HEAD", "/notifications/stream", withBearer(e.token("carol")))

	want(401, "GET", "/notifications/counts", withBearer("bad"))
	want(429, "GET", "/notifications/counts", withBearer("bad"))

	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	if err := e.srv.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	for _, s := range []*sseStream{a, b} {
		for _, open := s.next(t); open; _, open = s.next(t) {
		}
	}
	want(503, "GET", "/readyz")
	want(503, "GET", "/notifications/stream", withBearer(e.token("dave")))

	// Both envs serve the same description: merge what this one saw.
	v.mu.Lock()
	defer v.mu.Unlock()
	main.mu.Lock()
	defer main.mu.Unlock()
	for op, statuses := range v.seen {
		if main.seen[op] == nil {
			main.seen[op] = map[int]bool{}
		}
		for s := range statuses {
			main.seen[op][s] = true
		}
	}
}

// failWebhooks stores failed webhook deliveries with these ids, oldest
// first, as the outbox leaves them after their last retry.
func failWebhooks(t *testing.T, e *env, ids ...string) {
	t.Helper()
	ctx := context.Background()
	now := time.Now().Add(-time.Minute)
	for i, id := range ids {
		body := `{"type":"notification.unseen","timestamp":"` + belfry.FormatTime(now) + `","data":{"id":` + strconv.Itoa(i+1) + `}}`
		if err := e.store.Enqueue(ctx, []belfry.Job{{ID: id, Kind: belfry.JobWebhook, UserID: "alice",
			NotificationID: int64(i + 1), Created: now.Add(time.Duration(i) * time.Second), Due: now,
			Payload: []byte(body)}}); err != nil {
			t.Fatal(err)
		}
	}
	jobs, err := e.store.Claim(ctx, time.Now(), time.Minute, len(ids))
	if err != nil || len(jobs) != len(ids) {
		t.Fatalf("claim: %d jobs, %v", len(jobs), err)
	}
	for _, j := range jobs {
		if err := e.store.Settle(ctx, belfry.Settlement{ID: j.ID, Claim: j.Claim, Fail: true,
			LastError: "the app answered 500"}); err != nil {
			t.Fatal(err)
		}
	}
}

// newP256 returns a fresh uncompressed P-256 public key.
func newP256(t *testing.T) []byte {
	t.Helper()
	k, err := ecdh.P256().GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return k.PublicKey().Bytes()
}
