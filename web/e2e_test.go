package web_test

import (
	"context"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/belfry/belfry/httpapi"
	cdppage "github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
)

// bellState is what a test reads from a <notification-bell>.
type bellState struct {
	Status      string   `json:"status"`
	Unread      int      `json:"unread"`
	Badge       string   `json:"badge"`
	Messages    []string `json:"messages"`
	UnreadItems int      `json:"unreadItems"`
	Expanded    string   `json:"expanded"`
	Label       string   `json:"label"`
	Live        string   `json:"live"`
	Role        string   `json:"role"`
	Empty       bool     `json:"empty"`
	Focus       string   `json:"focus"`
}

const bellStateJS = `(() => {
  const b = document.querySelector("notification-bell");
  if (!b || !b.shadowRoot) return null;
  const r = b.shadowRoot, badge = r.querySelector(".belfry-badge"), button = r.querySelector(".belfry-button");
  const f = document.activeElement === b && r.activeElement ? r.activeElement : null;
  return { status: b.dataset.status || "", unread: Number(b.dataset.unread || 0),
    badge: badge.hidden ? "" : badge.textContent,
    messages: [...r.querySelectorAll(".belfry-item .belfry-message")].map((e) => e.textContent),
    unreadItems: r.querySelectorAll(".belfry-item.belfry-unread").length,
    expanded: button.getAttribute("aria-expanded"), label: button.getAttribute("aria-label"),
    live: r.querySelector("[aria-live]").textContent, role: b.client ? b.client.role : "",
    empty: !r.querySelector(".belfry-empty").hidden,
    focus: f ? (f.classList.contains("belfry-button") ? "bell" : f.classList.contains("belfry-item") ? "item:" + f.dataset.id : f.className) : "" };
})()`

func bell(t *testing.T, tab context.Context) bellState {
	t.Helper()
	return eval[bellState](t, tab, bellStateJS)
}

// bellJS is the expression of a bell's state property, for waitJS.
func bellJS(expr string) string {
	return `(() => { const b = document.querySelector("notification-bell"); if (!b || !b.shadowRoot) return false;
  const r = b.shadowRoot; return ` + expr + `; })()`
}

func openBellPage(t *testing.T, tab context.Context, n *node, user string) {
	t.Helper()
	navigate(t, tab, n.url("/assets/test/bell.html?token="+n.token(user)))
	waitJS(t, tab, "the bell to be live", bellJS(`b.dataset.status === "live"`))
}

func TestBellLiveReadSyncKeyboard(t *testing.T) {
	n := startNode(t, nil)
	ctx := newBrowserContext(t, 90*time.Second)
	a, b := ctx, newTab(t, ctx)
	openBellPage(t, a, n, "alice")
	openBellPage(t, b, n, "alice")

	// Tab reaches the bell (after the page's own button), Enter opens it.
	if err := chromedp.Do(a, chromedp.KeyEvent(kb.Tab), chromedp.KeyEvent(kb.Tab)); err != nil {
		t.Fatal(err)
	}
	if s := bell(t, a); s.Focus != "bell" {
		t.Fatalf("after two Tabs the focus is %q, want the bell", s.Focus)
	}
	if err := chromedp.Do(a, chromedp.KeyEvent(kb.Enter)); err != nil {
		t.Fatal(err)
	}
	s := bell(t, a)
	if s.Expanded != "true" || !s.Empty || s.Badge != "" || !strings.Contains(s.Label, "no unread") {
		t.Fatalf("opened empty bell: %+v", s)
	}

	// Published through the API: it appears, the badge goes up in both tabs,
	// and the live region reads it out.
	id := n.publish("alice", "Your export is ready")
	waitJS(t, a, "the notification in tab A", bellJS(`[...r.querySelectorAll(".belfry-item .belfry-message")].some((e) => e.textContent === "Your export is ready")`))
	waitJS(t, b, "the badge in tab B", bellJS(`r.querySelector(".belfry-badge").textContent === "1" && !r.querySelector(".belfry-badge").hidden`))
	waitJS(t, a, "the live region", bellJS(`r.querySelector("[aria-live]").textContent.includes("Your export is ready")`))
	s = bell(t, a)
	if s.Badge != "1" || s.UnreadItems != 1 || !strings.Contains(s.Label, "1 unread") || s.Empty {
		t.Fatalf("after publish: %+v", s)
	}
	if s.Live != "New notification: Test. Your export is ready" {
		t.Fatalf("live region says %q", s.Live)
	}

	shot, err := chromedp.Run(a, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatal(err)
	}
	writeScreenshot(t, "bell-open.png", shot)

	// Escape closes and returns the focus to the bell.
	if err := chromedp.Do(a, chromedp.KeyEvent(kb.Escape)); err != nil {
		t.Fatal(err)
	}
	if s := bell(t, a); s.Expanded != "false" || s.Focus != "bell" {
		t.Fatalf("after Escape: expanded %q, focus %q", s.Expanded, s.Focus)
	}

	// Enter opens again, ArrowDown moves into the list, Enter on the item
	// marks it read: the other tab's badge drops without a reload.
	if err := chromedp.Do(a, chromedp.KeyEvent(kb.Enter), chromedp.KeyEvent(kb.ArrowDown)); err != nil {
		t.Fatal(err)
	}
	if s := bell(t, a); s.Focus != fmt.Sprintf("item:%d", id) {
		t.Fatalf("ArrowDown focused %q, want the item %d", s.Focus, id)
	}
	if err := chromedp.Do(a, chromedp.KeyEvent(kb.Enter)); err != nil {
		t.Fatal(err)
	}
	waitJS(t, b, "tab B's badge to drop", bellJS(`r.querySelector(".belfry-badge").hidden && b.dataset.unread === "0"`))
	waitJS(t, a, "tab A's item to be read", bellJS(`r.querySelectorAll(".belfry-item.belfry-unread").length === 0`))

	// Refresh reloads the list: a notification the stream never announced
	// (stored with no broker event) shows up only after it.
	createSilently(t, n.store, "alice", "Stored without an event")
	if slices.Contains(bell(t, a).Messages, "Stored without an event") {
		t.Fatal("the silent notification appeared before Refresh")
	}
	eval[bool](t, a, bellJS(`(r.querySelector(".belfry-refresh").click(), true)`))
	waitJS(t, a, "Refresh to show the stored notification",
		bellJS(`[...r.querySelectorAll(".belfry-item .belfry-message")].some((e) => e.textContent === "Stored without an event")`))
	waitJS(t, a, "the refreshed unread count", bellJS(`b.dataset.unread === "1"`))
}

func TestBellOneStreamForThreeTabs(t *testing.T) {
	n := startNode(t, nil)
	ctx := newBrowserContext(t, 90*time.Second)
	// Three tabs of their own (closing the first context would dispose of
	// the whole browser context).
	tabs := []context.Context{newTab(t, ctx), newTab(t, ctx), newTab(t, ctx)}
	for _, tab := range tabs {
		openBellPage(t, tab, n, "bob")
	}
	waitGo(t, "one stream on the server", func() bool { return n.hub.Stats().Streams == 1 })

	n.publish("bob", "Shared by three tabs")
	for i, tab := range tabs {
		waitJS(t, tab, fmt.Sprintf("the notification in tab %d", i),
			bellJS(`b.client.items.some((n) => n.message === "Shared by three tabs") && r.querySelector(".belfry-badge").textContent === "1"`))
	}
	if got := n.hub.Stats().Streams; got != 1 {
		t.Fatalf("the server holds %d streams for three tabs, want 1", got)
	}

	// Close the leader tab: another tab takes the lock and resumes.
	leader := -1
	for i, tab := range tabs {
		if bell(t, tab).Role == "leader" {
			leader = i
		}
	}
	if leader < 0 {
		t.Fatal("no tab is the leader")
	}
	if err := chromedp.Cancel(tabs[leader]); err != nil {
		t.Fatal(err)
	}
	rest := slices.Delete(slices.Clone(tabs), leader, leader+1)
	waitGo(t, "a new leader", func() bool {
		return bell(t, rest[0]).Role == "leader" || bell(t, rest[1]).Role == "leader"
	})
	n.publish("bob", "After the handover")
	for i, tab := range rest {
		waitJS(t, tab, fmt.Sprintf("the second notification in remaining tab %d", i),
			bellJS(`b.client.items.some((n) => n.message === "After the handover") && r.querySelector(".belfry-badge").textContent === "2"`))
	}
	// The server notices the closed tab's connection at its next heartbeat
	// at the latest; then one stream remains for the two tabs.
	waitGo(t, "one stream for the two remaining tabs", func() bool { return n.hub.Stats().Streams == 1 })
	leaders := 0
	for _, tab := range rest {
		if bell(t, tab).Role == "leader" {
			leaders++
		}
	}
	if leaders != 1 {
		t.Fatalf("%d leaders among the two remaining tabs, want 1", leaders)
	}
}

func TestBellResumesAfterServerRestart(t *testing.T) {
	n := startNode(t, nil)
	ctx := newBrowserContext(t, 90*time.Second)
	openBellPage(t, ctx, n, "carol")
	n.publish("carol", "Before the restart")
	waitJS(t, ctx, "the first notification", bellJS(`b.client.items.length === 1`))

	n.stop()
	waitJS(t, ctx, "the bell to notice the outage", bellJS(`b.dataset.status !== "live"`))
	// Published while belfry is down: straight into the same SQLite file.
	downtime := startStoreOnly(t, n.dbPath)
	createSilently(t, downtime, "carol", "During the downtime")
	downtime.Close()
	n.start() // same address, same file

	waitJS(t, ctx, "the downtime notification", bellJS(`b.client.items.some((n) => n.message === "During the downtime")`))
	waitJS(t, ctx, "the bell to be live again", bellJS(`b.dataset.status === "live"`))
	n.publish("carol", "After the restart")
	waitJS(t, ctx, "the live notification after the restart", bellJS(`b.client.items.some((n) => n.message === "After the restart")`))

	eval[bool](t, ctx, bellJS(`(r.querySelector(".belfry-button").click(), true)`))
	waitJS(t, ctx, "the list to render", bellJS(`r.querySelectorAll(".belfry-item").length >= 3`))
	s := bell(t, ctx)
	want := []string{"After the restart", "During the downtime", "Before the restart"}
	if !slices.Equal(s.Messages, want) {
		t.Fatalf("the bell shows %q, want each exactly once, newest first: %q", s.Messages, want)
	}
	if s.Unread != 3 {
		t.Fatalf("unread %d, want 3", s.Unread)
	}
}

func writeScreenshot(t *testing.T, name string, b []byte) {
	t.Helper()
	dir := filepath.Join("testdata", "screenshots")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, b, 0o644); err != nil {
		t.Fatal(err)
	}
	abs, _ := filepath.Abs(p)
	t.Logf("screenshot written to %s", abs)
}

// TestDemoPage is what a newcomer does after `belfry serve`: open the demo
// page in two tabs, publish from the form, see it arrive in both.
func TestDemoPage(t *testing.T) {
	n := startNode(t, nil)
	ctx := newBrowserContext(t, 90*time.Second)
	a, b, bob := newTab(t, ctx), newTab(t, ctx), newTab(t, ctx)
	// Publishing is not a request for desktop notifications.
	if _, err := chromedp.Call(a, cdppage.AddScriptToEvaluateOnNewDocument,
		cdppage.AddScriptToEvaluateOnNewDocumentParams{Source: permissionJS}); err != nil {
		t.Fatal(err)
	}
	for _, tab := range []context.Context{a, b} {
		navigate(t, tab, n.url("/?user=alice"))
		waitJS(t, tab, "the demo bell to be live", bellJS(`b.dataset.status === "live"`))
	}
	navigate(t, bob, n.url("/?user=bob"))
	waitJS(t, bob, "bob's bell to be live", bellJS(`b.dataset.status === "live"`))
	// Bob's shell example publishes to bob.
	if got := eval[string](t, bob, `document.getElementById("shell-curl").textContent`); !strings.Contains(got, `"user_id":"bob"`) {
		t.Errorf("bob's page shows the curl %q, want one for bob", got)
	}

	eval[bool](t, a, `(() => { const f = document.getElementById("publish");
  f.title.value = "Hello"; f.message.value = "Sent from the demo form"; f.link.value = "/orders/1"; f.category.value = "billing";
  f.querySelector("button[type=submit]").click(); return true; })()`)
	waitJS(t, a, "the form's confirmation", `document.getElementById("result").textContent.startsWith("Published notification #")`)
	for i, tab := range []context.Context{a, b} {
		waitJS(t, tab, fmt.Sprintf("the notification in alice's tab %d", i),
			bellJS(`b.client.items.some((n) => n.message === "Sent from the demo form" && n.link === "/orders/1") && r.querySelector(".belfry-badge").textContent === "1"`))
	}
	if got := eval[string](t, a, `document.title`); got != "(1) belfry demo — alice" {
		t.Errorf("title %q, want the unread count in it", got)
	}
	if got := eval[int](t, a, `__perm`); got != 0 {
		t.Errorf("the demo asked for desktop notifications %d times", got)
	}
	// Bob's inbox is his own.
	if s := bell(t, bob); s.Unread != 0 || s.Badge != "" {
		t.Fatalf("bob sees alice's notification: %+v", s)
	}
	// The link is a real link.
	eval[bool](t, a, bellJS(`(r.querySelector(".belfry-button").click(), true)`))
	waitJS(t, a, "a link item", bellJS(`!!r.querySelector("a.belfry-item[href='/orders/1']")`))
	waitJS(t, a, "its category's tab", bellJS(`r.querySelector('.belfry-tab[data-view="category:billing"]').textContent === "Billing1"`))
	waitJS(t, a, "the panel's animation to end", bellJS(`r.getAnimations().length === 0`))
	shot, err := chromedp.Run(a, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatal(err)
	}
	writeScreenshot(t, "demo-page.png", shot)
}

// TestBellRenewsAnExpiredToken: the stream ends with token-expired; the
// bell fetches a new token from its token-url and resumes.
func TestBellRenewsAnExpiredToken(t *testing.T) {
	n := startNode(t, nil)
	ctx := newBrowserContext(t, 90*time.Second)
	short, err := httpapi.MintToken(testSecret, "erin", 2*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	navigate(t, ctx, n.url("/assets/test/bell.html?token="+short+"&token-url="+url.QueryEscape("/demo/token?user=erin")))
	waitJS(t, ctx, "the bell to be live", bellJS(`b.dataset.status === "live"`))
	n.publish("erin", "Before expiry")
	waitJS(t, ctx, "the first notification", bellJS(`b.client.items.length === 1`))
	waitJS(t, ctx, "a renewed token", bellJS(`b.client.token !== "`+short+`" && b.client.token.length > 0`))
	waitJS(t, ctx, "the bell to be live again", bellJS(`b.dataset.status === "live"`))
	waitGo(t, "the renewed stream", func() bool { return n.hub.Stats().Streams == 1 })
	n.publish("erin", "After renewal")
	waitJS(t, ctx, "the notification after renewal", bellJS(`b.client.items.some((n) => n.message === "After renewal")`))
	if got := eval[[]string](t, ctx, `document.querySelector("notification-bell").client.items.map((n) => n.message)`); !slices.Equal(got, []string{"After renewal", "Before expiry"}) {
		t.Fatalf("items %q", got)
	}
}

// TestBellLoadsOlderOnScroll: the list holds one page (limit 5) in a panel
// too short for it; scrolling to its end loads the older ones with
// before=<oldest id>.
func TestBellLoadsOlderOnScroll(t *testing.T) {
	n := startNode(t, nil)
	for i := 1; i <= 8; i++ {
		n.publish("frank", fmt.Sprintf("Message %d", i))
	}
	ctx := newBrowserContext(t, 60*time.Second)
	navigate(t, ctx, n.url("/assets/test/bell.html?token="+n.token("frank")+"&css="+
		url.QueryEscape("notification-bell{--belfry-panel-max-height:320px}")))
	waitJS(t, ctx, "the bell to be live", bellJS(`b.dataset.status === "live"`))
	eval[bool](t, ctx, bellJS(`(r.querySelector(".belfry-button").click(), true)`))
	waitJS(t, ctx, "the first page", bellJS(`r.querySelectorAll(".belfry-item").length === 5 && b.client.hasMore`))
	if s := bell(t, ctx); s.Unread != 8 || s.Messages[0] != "Message 8" {
		t.Fatalf("first page: %+v", s)
	}
	eval[bool](t, ctx, bellJS(`(() => { const l = r.querySelector(".belfry-body"); l.scrollTop = l.scrollHeight;
  l.dispatchEvent(new Event("scroll")); return true; })()`))
	waitJS(t, ctx, "the older page", bellJS(`r.querySelectorAll(".belfry-item").length === 8 && !b.client.hasMore`))
	want := []string{"Message 8", "Message 7", "Message 6", "Message 5", "Message 4", "Message 3", "Message 2", "Message 1"}
	if got := bell(t, ctx).Messages; !slices.Equal(got, want) {
		t.Fatalf("after scrolling: %q", got)
	}
}
