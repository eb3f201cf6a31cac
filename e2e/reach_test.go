package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/belfry/belfry/internal/peers"
	"github.com/belfry/belfry/webhook"
)

const vapidSub = "mailto:ops@belfry.test"

// call makes one request and returns its status and body.
func call(t testing.TB, method, url, bearer, body string) (int, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, method, url, strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+bearer)
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// A node killed with -9 while pushes and escalations are pending loses
// none of them: another node, or the same one restarted, sends each, and
// a webhook whose delivery was refused before the kill is sent again with
// its webhook-id. The push service and the webhook receiver are other
// authors' code (internal/peers).
func TestReachSurvivesKill(t *testing.T) {
	run := func(t *testing.T, store string, broker []string) {
		secret := webhook.NewSecret()
		hooks := peers.StartWebhooks(t, secret, 1) // each first attempt gets 500
		pushes := peers.StartPushes(t, vapidSub)
		flags := append([]string{"--store", store,
			"--vapid-key-file", filepath.Join(t.TempDir(), "vapid.pem"), "--vapid-subject", vapidSub,
			"--push-allow-loopback", "--push-delay", "2s",
			"--webhook-url", hooks.URL, "--webhook-secret", secret,
			"--escalate-after", "3s", "--presence-debounce", "1s"}, broker...)
		start := func(name string) *node { return startNode(t, name, flags...) }

		a := start("a")
		var b *node
		if len(broker) > 0 { // several nodes: the other one takes over
			b = start("b")
		}
		users := []string{"r0", "r1", "r2", "r3", "r4", "r5"}
		for _, u := range users {
			body := fmt.Sprintf(`{"endpoint":%q,"keys":{"p256dh":%q,"auth":%q}}`,
				pushes.Endpoint(201, u), pushes.P256DH, pushes.Auth)
			if st, out := call(t, "POST", a.url+"/notifications/push/subscriptions", token(t, u), body); st != 201 {
				t.Fatalf("subscribe %s: %d %s", u, st, out)
			}
		}
		usersJSON, _ := json.Marshal(users)
		st, out := call(t, "POST", a.url+"/api/notifications", testAPIKey,
			fmt.Sprintf(`{"user_ids":%s,"title":"Pending","message":"across a kill"}`, usersJSON))
		if st != 201 {
			t.Fatalf("publish: %d %s", st, out)
		}
		a.kill(t) // every push and escalation is still pending
		if b == nil {
			b = start("b") // the same store, restarted
		}

		// b pushes (the users are offline) and makes each escalation's
		// first attempt, which the receiver refuses.
		waitFor(t, 60*time.Second, "a push per user", func() bool { return len(pushes.Got()) >= len(users) })
		waitFor(t, 60*time.Second, "a refused first attempt per user", func() bool {
			n := 0
			for _, h := range hooks.Got() {
				if h.Status == 500 {
					n++
				}
			}
			return n >= len(users)
		})
		// Killed once it settled them (a job killed in the middle of its
		// attempt waits for its lease, two minutes, before another node
		// takes it).
		waitFor(t, 30*time.Second, "b settled the refused attempts", func() bool {
			return metric(t, b.url, `belfry_webhook_deliveries_total{result="retried"}`) >= float64(len(users))
		})
		b.kill(t)
		c := start("c")
		defer func() {
			if t.Failed() {
				t.Logf("node c:\n%s\nwebhooks: %+v", c.tail(), hooks.Got())
			}
		}()

		waitFor(t, 60*time.Second, "every webhook delivered after the kill", func() bool {
			done := map[string]bool{}
			for _, h := range hooks.Got() {
				if h.OK && h.Status == 204 {
					done[h.ID] = true
				}
			}
			for _, h := range hooks.Got() {
				if h.Status == 500 && !done[h.ID] {
					return false
				}
			}
			return true
		})
		// Exactly one push and one notification.unseen per user; every
		// push decrypts and verifies; every webhook verifies.
		perUser := map[string]int{}
		for _, p := range pushes.Got() {
			if len(p.Errors) > 0 {
				t.Errorf("push %s: %v", p.URL, p.Errors)
			}
			var pl struct {
				UserID string `json:"user_id"`
				Title  string `json:"title"`
			}
			if err := json.Unmarshal(p.Plaintext, &pl); err != nil || pl.Title != "Pending" {
				t.Errorf("push payload %q: %v", p.Plaintext, err)
			}
			perUser[pl.UserID]++
		}
		ids := map[string]string{} // user → webhook-id
		for _, h := range hooks.Got() {
			if !h.OK {
				t.Errorf("webhook did not verify: %+v", h)
				continue
			}
			var n struct {
				UserID string `json:"user_id"`
			}
			_ = json.Unmarshal(h.Event.Data, &n)
			if h.Event.Type != "notification.unseen" {
				t.Errorf("unexpected %s", h.Event.Type)
			}
			if prev, ok := ids[n.UserID]; ok && prev != h.ID {
				t.Errorf("user %s escalated twice, as %s and %s", n.UserID, prev, h.ID)
			}
			ids[n.UserID] = h.ID
		}
		for _, u := range users {
			if perUser[u] != 1 {
				t.Errorf("user %s got %d pushes, want 1", u, perUser[u])
			}
			if ids[u] == "" {
				t.Errorf("user %s was never escalated", u)
			}
		}
	}
	t.Run("sqlite", func(t *testing.T) {
		run(t, "sqlite:"+filepath.Join(t.TempDir(), "belfry.db"), nil)
	})
	t.Run("postgres", func(t *testing.T) {
		redis := startRedis(t)
		run(t, needPostgres(t).newDatabase(t), []string{"--broker", redis.url()})
	})
	t.Run("mongodb", func(t *testing.T) {
		redis := startRedis(t)
		f := startFerret(t, needFerretDB(t))
		run(t, f.url("reach"), []string{"--broker", redis.url()})
	})
}

// Presence is cluster-wide: an open stream on one node keeps an offline
// push on another from being sent, and a node killed with -9 stops
// counting its users within the documented bound.
func TestPresenceAcrossNodes(t *testing.T) {
	redis := startRedis(t)
	store := needPostgres(t).newDatabase(t)
	pushes := peers.StartPushes(t, vapidSub)
	flags := []string{"--store", store, "--broker", redis.url(),
		"--vapid-key-file", filepath.Join(t.TempDir(), "vapid.pem"), "--vapid-subject", vapidSub,
		"--push-allow-loopback", "--push-delay", "1s"}
	a, b := startNode(t, "a", flags...), startNode(t, "b", flags...)
	presence := func(n *node) (online bool, streams int) {
		st, out := call(t, "GET", n.url+"/api/presence?user_id=pat", testAPIKey, "")
		var p map[string]struct {
			Online  bool `json:"online"`
			Streams int  `json:"streams"`
		}
		if st != 200 || json.Unmarshal([]byte(out), &p) != nil {
			t.Fatalf("presence: %d %s", st, out)
		}
		return p["pat"].Online, p["pat"].Streams
	}
	body := fmt.Sprintf(`{"endpoint":%q,"keys":{"p256dh":%q,"auth":%q}}`, pushes.Endpoint(201, "pat"), pushes.P256DH, pushes.Auth)
	if st, out := call(t, "POST", a.url+"/notifications/push/subscriptions", token(t, "pat"), body); st != 201 {
		t.Fatalf("subscribe: %d %s", st, out)
	}

	// A stream on b: a sees pat online, and an offline push published on a
	// is not sent.
	ctx, closeStream := context.WithCancel(context.Background())
	defer closeStream()
	req, _ := http.NewRequestWithContext(ctx, "GET", b.url+"/notifications/stream", nil)
	req.Header.Set("Authorization", "Bearer "+token(t, "pat"))
	resp, err := http.DefaultClient.Do(req)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("stream on b: %v %v", err, resp)
	}
	defer resp.Body.Close()
	waitFor(t, 10*time.Second, "pat online on a", func() bool { on, n := presence(a); return on && n == 1 })
	skipped := func() float64 {
		return metric(t, a.url, `belfry_push_deliveries_total{result="skipped"}`) +
			metric(t, b.url, `belfry_push_deliveries_total{result="skipped"}`)
	}
	if st, out := call(t, "POST", a.url+"/api/notifications", testAPIKey, `{"user_id":"pat","message":"while online"}`); st != 201 {
		t.Fatalf("publish: %d %s", st, out)
	}
	waitFor(t, 30*time.Second, "the offline push skipped", func() bool { return skipped() >= 1 })
	if n := len(pushes.Got()); n != 0 {
		t.Fatalf("%d pushes while pat had a stream on b", n)
	}

	// b dies with the stream open: within 30 s pat is offline on a, and an
	// offline push is sent.
	killed := time.Now()
	b.kill(t)
	waitFor(t, 30*time.Second, "pat offline on a after b was killed", func() bool { on, _ := presence(a); return !on })
	t.Logf("pat read offline %v after the kill", time.Since(killed).Round(100*time.Millisecond))
	if st, out := call(t, "POST", a.url+"/api/notifications", testAPIKey, `{"user_id":"pat","title":"Now offline","message":"m"}`); st != 201 {
		t.Fatalf("publish: %d %s", st, out)
	}
	waitFor(t, 30*time.Second, "the offline push", func() bool { return len(pushes.Got()) == 1 })
	if p := pushes.Got()[0]; len(p.Errors) > 0 || !strings.Contains(string(p.Plaintext), `"title":"Now offline"`) {
		t.Fatalf("push %+v", p)
	}
}
