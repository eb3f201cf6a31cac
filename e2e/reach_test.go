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
