package web_test

import (
	"bufio"
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// holdStream opens a stream of user from Go, as another device would, and
// returns once it is live; the returned func closes it.
func holdStream(t *testing.T, n *node, user string) func() {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	req, _ := http.NewRequestWithContext(ctx, "GET", n.url("/notifications/stream"), nil)
	req.Header.Set("Authorization", "Bearer "+n.token(user))
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	closeIt := func() { cancel(); res.Body.Close() }
	t.Cleanup(closeIt)
	if res.StatusCode != http.StatusOK {
		t.Fatalf("stream of %s: %d", user, res.StatusCode)
	}
	timer := time.AfterFunc(15*time.Second, cancel)
	defer timer.Stop()
	r := bufio.NewReader(res.Body)
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			t.Fatalf("stream of %s ended before its sync: %v", user, err)
		}
		if line == "event: sync\n" {
			return closeIt
		}
	}
}

// TestBellShowsRefusalThenConnects: the server refuses the bell's stream,
// with 429 when the user already holds as many streams as a node allows
// one user, with 503 when the node is full. EventSource cannot see the
// status; the bell shows why from its HEAD probe ("Too many open tabs —
// retrying", "Server busy — retrying"), backs off, and once a place frees
// it connects, clears the hint and gets live notifications.
func TestBellShowsRefusalThenConnects(t *testing.T) {
	n := startNodeLimited(t, nil, limits{perUser: 1, node: 2, retryAfter: time.Second})
	ctx := newBrowserContext(t, 90*time.Second)

	// alice's one place is taken by another device.
	other := holdStream(t, n, "alice")
	navigate(t, ctx, n.url("/assets/test/bell.html?token="+n.token("alice")))
	waitJS(t, ctx, "the bell to show the user's limit", bellJS(`b.dataset.refusal === "too-many-streams" &&
  b.dataset.status === "reconnecting" && r.querySelector(".belfry-status").textContent === "Too many open tabs — retrying" &&
  r.querySelector(".belfry-button").title === "Too many open tabs — retrying"`))
	if n.hub.Stats().RefusedUser == 0 {
		t.Fatal("the bell shows a refusal the server did not count")
	}
	eval[bool](t, ctx, bellJS(`(r.querySelector(".belfry-button").click(), true)`))
	shot, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatal(err)
	}
	writeScreenshot(t, "bell-refused.png", shot)

	other()
	waitJS(t, ctx, "the bell to connect once the place is free", bellJS(`b.dataset.status === "live" &&
  !b.hasAttribute("data-refusal") && r.querySelector(".belfry-status").textContent === "" && !r.querySelector(".belfry-button").title`))
	n.publish("alice", "Through at last")
	waitJS(t, ctx, "the live notification", bellJS(`b.client.items.some((n) => n.message === "Through at last")`))

	// The node holds 2 streams: alice's bell and bob's device. carol's bell
	// finds the server full.
	bob := holdStream(t, n, "bob")
	carol := newBrowserContext(t, 90*time.Second)
	navigate(t, carol, n.url("/assets/test/bell.html?token="+n.token("carol")))
	waitJS(t, carol, "the bell to show a full server", bellJS(`b.dataset.refusal === "busy" &&
  r.querySelector(".belfry-status").textContent === "Server busy — retrying"`))
	bob()
	waitJS(t, carol, "carol's bell to connect", bellJS(`b.dataset.status === "live" && !b.hasAttribute("data-refusal")`))

	// Retry-After as seconds or an HTTP date, capped at 5 minutes.
	got := eval[[]float64](t, ctx, `import("/assets/belfry-client.js").then((m) => [m.retryAfterMs("3"), m.retryAfterMs(""),
  m.retryAfterMs("soon"), m.retryAfterMs("86400"), m.retryAfterMs(new Date(Date.now() + 60000).toUTCString()) > 50000 ? 1 : 0])`)
	if want := []float64{3000, 0, 0, 300000, 1}; !equalFloats(got, want) {
		t.Fatalf("retryAfterMs: %v, want %v", got, want)
	}
}

// TestVue2BellShowsRefusal: the Vue 2 component, on the same client, shows
// the same hint and clears it once connected.
func TestVue2BellShowsRefusal(t *testing.T) {
	needVue(t)
	n := startNodeLimited(t, nil, limits{perUser: 1, retryAfter: time.Second})
	ctx := newBrowserContext(t, 90*time.Second)
	other := holdStream(t, n, "dave")
	navigate(t, ctx, n.url("/assets/test/vue2.html?token="+n.token("dave")))
	waitJS(t, ctx, "the Vue bell to show the user's limit", vueJS(`b.dataset.refusal === "too-many-streams" &&
  b.querySelector(".belfry-status").textContent === "Too many open tabs — retrying"`))
	other()
	waitJS(t, ctx, "the Vue bell to connect", vueJS(`b.dataset.status === "live" && !b.hasAttribute("data-refusal") &&
  b.querySelector(".belfry-status").textContent === ""`))
	if s := strings.TrimSpace(eval[string](t, ctx, vueJS(`b.querySelector(".belfry-button").title`))); s != "" {
		t.Fatalf("a live Vue bell's title is %q", s)
	}
}

func equalFloats(a, b []float64) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
