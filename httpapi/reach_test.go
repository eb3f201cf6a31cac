package httpapi_test

import (
	"crypto/ecdh"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"testing"
	"time"

	"github.com/belfry/belfry"
	"github.com/belfry/belfry/httpapi"
	"github.com/belfry/belfry/webpush"
)

// browserKeys returns a fresh p256dh and auth, as a browser makes them.
func browserKeys(t *testing.T) (p256dh, auth string) {
	t.Helper()
	k, err := ecdh.P256().GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	secret := make([]byte, 16)
	_, _ = rand.Read(secret)
	return base64.RawURLEncoding.EncodeToString(k.PublicKey().Bytes()), base64.RawURLEncoding.EncodeToString(secret)
}

func subscriptionBody(endpoint, p256dh, auth string) string {
	b, _ := json.Marshal(map[string]any{"endpoint": endpoint, "expirationTime": nil,
		"keys": map[string]string{"p256dh": p256dh, "auth": auth}})
	return string(b)
}

func (e *env) endpoints(t *testing.T, user string) []string {
	t.Helper()
	r := e.user(user, "GET", "/notifications/push/subscriptions")
	var out struct {
		Subscriptions []struct {
			Endpoint string `json:"endpoint"`
		} `json:"subscriptions"`
	}
	if r.status != 200 || json.Unmarshal(r.body, &out) != nil {
		t.Fatalf("list subscriptions: %d %s", r.status, r.body)
	}
	var eps []string
	for _, s := range out.Subscriptions {
		eps = append(eps, s.Endpoint)
	}
	return eps
}

func pushEnv(t *testing.T) *env {
	policy := webpush.Policy{}
	return newEnv(t, envOpts{pushKey: "BPUBLICKEY", checkEndpoint: policy.CheckEndpoint})
}

func TestPushSubscriptions(t *testing.T) {
	e := pushEnv(t)
	if r := e.do("GET", "/notifications/push/key"); r.status != 200 || string(r.body) != `{"public_key":"BPUBLICKEY"}`+"\n" {
		t.Fatalf("push key: %d %s", r.status, r.body)
	}
	p, a := browserKeys(t)
	fcm := "https://fcm.googleapis.com/fcm/send/abc:def"
	r := e.user("alice", "POST", "/notifications/push/subscriptions", withJSON(subscriptionBody(fcm, p, a)))
	if r.status != 201 {
		t.Fatalf("subscribe: %d %s", r.status, r.body)
	}
	// Endpoints belfry must never call, and unusable keys: 400, nothing stored.
	for name, body := range map[string]string{
		"http":            subscriptionBody("http://fcm.googleapis.com/fcm/send/x", p, a),
		"private address": subscriptionBody("https://10.0.0.1/push", p, a),
		"loopback":        subscriptionBody("https://127.0.0.1:8443/push", p, a),
		"metadata":        subscriptionBody("https://169.254.169.254/latest", p, a),
		"not allowed":     subscriptionBody("https://push.attacker.example/x", p, a),
		"no endpoint":     subscriptionBody("", p, a),
		"bad p256dh":      subscriptionBody(fcm+"2", "AAAA", a),
		"bad auth":        subscriptionBody(fcm+"2", p, "AAAA"),
	} {
		r := e.user("alice", "POST", "/notifications/push/subscriptions", withJSON(body))
		if r.status != 400 || r.errorCode(t) != belfry.EINVALID {
			t.Errorf("%s: %d %s, want 400 invalid_request", name, r.status, r.body)
		}
	}
	if got := e.endpoints(t, "alice"); len(got) != 1 || got[0] != fcm {
		t.Fatalf("alice's subscriptions %v, want only %s", got, fcm)
	}
	// Another user cannot remove it; its owner can, once.
	del := func(user, ep string) reply {
		return e.user(user, "DELETE", "/notifications/push/subscriptions?endpoint="+url.QueryEscape(ep))
	}
	if r := del("bob", fcm); r.status != 404 {
		t.Fatalf("bob removing alice's: %d %s", r.status, r.body)
	}
	if r := e.user("alice", "DELETE", "/notifications/push/subscriptions", withJSON(`{"endpoint":"`+fcm+`"}`)); r.status != 204 {
		t.Fatalf("unsubscribe: %d %s", r.status, r.body)
	}
	if r := del("alice", fcm); r.status != 404 {
		t.Fatalf("unsubscribe twice: %d %s", r.status, r.body)
	}
	// 20 per user; the 21st is refused and changes nothing.
	for i := range belfry.MaxSubscriptions {
		r := e.user("alice", "POST", "/notifications/push/subscriptions",
			withJSON(subscriptionBody(fmt.Sprintf("%s/%d", fcm, i), p, a)))
		if r.status != 201 {
			t.Fatalf("subscription %d: %d %s", i, r.status, r.body)
		}
	}
	r = e.user("alice", "POST", "/notifications/push/subscriptions", withJSON(subscriptionBody(fcm+"/21", p, a)))
	if r.status != 409 || r.errorCode(t) != belfry.ELIMIT {
		t.Fatalf("21st subscription: %d %s", r.status, r.body)
	}
	if got := e.endpoints(t, "alice"); len(got) != belfry.MaxSubscriptions {
		t.Fatalf("alice has %d subscriptions after the refused one", len(got))
	}
	// The same browser signing in as bob moves its subscription to bob.
	moved := fmt.Sprintf("%s/%d", fcm, 3)
	if r := e.user("bob", "POST", "/notifications/push/subscriptions", withJSON(subscriptionBody(moved, p, a))); r.status != 201 {
		t.Fatalf("bob subscribing alice's browser: %d %s", r.status, r.body)
	}
	if got := e.endpoints(t, "bob"); len(got) != 1 || got[0] != moved {
		t.Fatalf("bob's subscriptions %v", got)
	}
	if got := e.endpoints(t, "alice"); len(got) != belfry.MaxSubscriptions-1 {
		t.Fatalf("alice kept the moved subscription: %d", len(got))
	}
}

func TestPushOff(t *testing.T) {
	e := newEnv(t, envOpts{})
	if r := e.do("GET", "/notifications/push/key"); r.status != 404 {
		t.Fatalf("push key with push off: %d %s", r.status, r.body)
	}
	p, a := browserKeys(t)
	r := e.user("alice", "POST", "/notifications/push/subscriptions",
		withJSON(subscriptionBody("https://fcm.googleapis.com/fcm/send/x", p, a)))
	if r.status != 404 {
		t.Fatalf("subscribe with push off: %d %s", r.status, r.body)
	}
}

type presenceAnswer map[string]struct {
	Online   bool       `json:"online"`
	Streams  int        `json:"streams"`
	Since    *time.Time `json:"since"`
	LastSeen *time.Time `json:"last_seen"`
}

func (e *env) presenceOf(t *testing.T, users ...string) presenceAnswer {
	t.Helper()
	q := url.Values{"user_id": users}
	r := e.do("GET", "/api/presence?"+q.Encode(), withBearer(testAPIKey))
	var out presenceAnswer
	if r.status != 200 || json.Unmarshal(r.body, &out) != nil {
		t.Fatalf("presence: %d %s", r.status, r.body)
	}
	return out
}

func TestPresence(t *testing.T) {
	e := newEnv(t, envOpts{})
	before := time.Now().Add(-time.Second)
	s1 := e.openStream(t, "", withBearer(e.token("alice")))
	s1.syncStats(t)
	s2 := e.openStream(t, "", withBearer(e.token("alice")))
	s2.syncStats(t)
	got := e.presenceOf(t, "alice", "bob")
	a, b := got["alice"], got["bob"]
	if !a.Online || a.Streams != 2 || a.Since == nil || a.Since.Before(before) || a.LastSeen != nil {
		t.Fatalf("alice: %+v", a)
	}
	if b.Online || b.Streams != 0 || b.Since != nil || b.LastSeen != nil {
		t.Fatalf("bob, never seen: %+v", b)
	}
	s1.close()
	s2.close()
	eventually(t, "alice offline", func() bool { return !e.presenceOf(t, "alice")["alice"].Online })
	if a := e.presenceOf(t, "alice")["alice"]; a.LastSeen == nil || a.Since != nil || a.Streams != 0 {
		t.Fatalf("alice gone: %+v", a)
	}
	// Bad calls.
	for name, c := range map[string]struct {
		path string
		opt  reqOpt
		want int
	}{
		"no user":    {"/api/presence", withBearer(testAPIKey), 400},
		"bad user":   {"/api/presence?user_id=" + url.QueryEscape("a b\x01"), withBearer(testAPIKey), 400},
		"user token": {"/api/presence?user_id=alice", withBearer(e.token("alice")), 403},
		"no key":     {"/api/presence?user_id=alice", func(*http.Request) {}, 401},
	} {
		if r := e.do("GET", c.path, c.opt); r.status != c.want {
			t.Errorf("%s: %d %s, want %d", name, r.status, r.body, c.want)
		}
	}
	q := "/api/presence?"
	for i := range httpapi.MaxPresenceUsers + 1 {
		q += "user_id=u" + strconv.Itoa(i) + "&"
	}
	if r := e.do("GET", q, withBearer(testAPIKey)); r.status != 400 {
		t.Errorf("%d users: %d", httpapi.MaxPresenceUsers+1, r.status)
	}
}

// A notification token (the push payload's) marks its notification read
// or takes one of its actions, and does nothing else.
func TestNotificationToken(t *testing.T) {
	e := newEnv(t, envOpts{})
	n1 := e.publishOne(t, `{"user_id":"alice","message":"one","actions":[{"id":"ok","label":"OK"}]}`)
	n2 := e.publishOne(t, `{"user_id":"alice","message":"two"}`)
	tok, err := httpapi.MintNotificationToken(testSecret, "alice", n1, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		method, path string
		want         int
	}{
		{"POST", fmt.Sprintf("/notifications/%d/read", n2), 403},
		{"POST", fmt.Sprintf("/notifications/%d/unread", n1), 403},
		{"DELETE", fmt.Sprintf("/notifications/%d", n1), 403},
		{"GET", "/notifications", 403},
		{"GET", "/notifications/stream", 403},
		{"POST", "/notifications/read-all", 403},
		{"POST", fmt.Sprintf("/notifications/%d/read", n1), 200},
		{"POST", fmt.Sprintf("/notifications/%d/actions/ok", n1), 200},
	} {
		r := e.do(c.method, c.path, withBearer(tok))
		if r.status != c.want {
			t.Errorf("%s %s: %d %s, want %d", c.method, c.path, r.status, r.body, c.want)
		}
	}
	if r := e.user("alice", "GET", "/notifications?unread=true"); r.status != 200 || !json.Valid(r.body) {
		t.Fatal(r.status)
	} else if n := len(listIDs(t, r.body)); n != 1 {
		t.Fatalf("alice has %d unread, want 1 (the token read only its own)", n)
	}
}

// publishOne publishes body (one user) and returns the new id.
func (e *env) publishOne(t *testing.T, body string) int64 {
	t.Helper()
	r := e.publishJSON(t, body)
	var n belfry.Notification
	if r.status != 201 || json.Unmarshal(r.body, &n) != nil {
		t.Fatalf("publish: %d %s", r.status, r.body)
	}
	return n.ID
}

func listIDs(t *testing.T, body []byte) []int64 {
	t.Helper()
	var ns []belfry.Notification
	if err := json.Unmarshal(body, &ns); err != nil {
		var page struct {
			Notifications []belfry.Notification `json:"notifications"`
		}
		if err := json.Unmarshal(body, &page); err != nil {
			t.Fatalf("list: %v in %s", err, body)
		}
		ns = page.Notifications
	}
	ids := make([]int64, len(ns))
	for i, n := range ns {
		ids[i] = n.ID
	}
	return ids
}
