package web_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/emulation"
	cdppage "github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
)

// The inbox's browser tests run the same body against the <notification-bell>
// element and the Vue 2 component: both render the same DOM, which the test
// pages reach through window.B (harness_test.go).

type impl struct{ name, page string }

var impls = []impl{{"element", "/assets/test/bell.html"}, {"vue2", "/assets/test/vue2.html"}}

func forEachImpl(t *testing.T, f func(t *testing.T, im impl)) {
	for _, im := range impls {
		t.Run(im.name, func(t *testing.T) {
			if im.name == "vue2" {
				needVue(t)
			}
			f(t, im)
		})
	}
}

const inboxTabs = "billing:Billing,comments:Comments"

// openInbox opens a test page of the implementation for user, with the
// extra query (attributes, pos, page, doclang, css), and waits until the
// bell is live.
func openInbox(t *testing.T, tab context.Context, n *node, im impl, user, query string) {
	t.Helper()
	u := n.url(im.page + "?token=" + n.token(user))
	if query != "" {
		u += "&" + query
	}
	navigate(t, tab, u)
	waitJS(t, tab, "the bell to be live", `!!B.root() && B.root().dataset.status === "live"`)
}

// shot writes a screenshot of the tab, named after the implementation.
func shot(t *testing.T, tab context.Context, im impl, name string) {
	t.Helper()
	waitJS(t, tab, "the panel's animation to end", `B.root().getRootNode().getAnimations().length === 0`)
	b, err := chromedp.Run(tab, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatal(err)
	}
	writeScreenshot(t, im.name+"-"+name+".png", b)
}

// retina renders the tab at twice the pixels, for screenshots worth looking at.
func retina(t *testing.T, tab context.Context, w, h int64, mobile bool) {
	t.Helper()
	opts := []chromedp.EmulateViewportOption{chromedp.EmulateScale(2)}
	if mobile {
		opts = append(opts, chromedp.EmulateMobile)
	}
	if err := chromedp.Do(tab, chromedp.EmulateViewport(w, h, opts...)); err != nil {
		t.Fatal(err)
	}
}

// colorScheme emulates prefers-color-scheme.
func colorScheme(t *testing.T, tab context.Context, scheme string) {
	t.Helper()
	if _, err := chromedp.Call(tab, emulation.SetEmulatedMedia, emulation.SetEmulatedMediaParams{
		Features: []*emulation.MediaFeature{{Name: "prefers-color-scheme", Value: scheme}}}); err != nil {
		t.Fatal(err)
	}
}

// send publishes one notification with the fields given (user_id, message,
// title, category, link, avatar, actions…) and returns its id, or 0 if
// the user's preferences skipped it.
func (n *node) send(fields map[string]any) int64 {
	n.t.Helper()
	body, _ := json.Marshal(fields)
	req, _ := http.NewRequest("POST", n.url("/api/notifications"), bytes.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+testAPIKey)
	req.Header.Set("Content-Type", "application/json")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		n.t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	if res.StatusCode == http.StatusOK && bytes.Contains(b, []byte(`"skipped"`)) {
		return 0
	}
	if res.StatusCode != http.StatusCreated {
		n.t.Fatalf("publish %s: %d %s", body, res.StatusCode, b)
	}
	var out struct{ ID int64 }
	if err := json.Unmarshal(b, &out); err != nil {
		n.t.Fatal(err)
	}
	return out.ID
}

// userGet answers GET path as user, decoded into out.
func (n *node) userGet(user, path string, out any) {
	n.t.Helper()
	req, _ := http.NewRequest("GET", n.url(path), nil)
	req.Header.Set("Authorization", "Bearer "+n.token(user))
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		n.t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	if res.StatusCode != http.StatusOK {
		n.t.Fatalf("GET %s: %d %s", path, res.StatusCode, b)
	}
	if err := json.Unmarshal(b, out); err != nil {
		n.t.Fatal(err)
	}
}

type action = map[string]string

// seedInbox gives user an inbox that shows every kind of row, and returns
// the ids by name: comment, invoice, signin, upgrade, mention (oldest first).
func seedInbox(n *node, user string) map[string]int64 {
	return map[string]int64{
		"comment": n.send(map[string]any{"user_id": user, "category": "comments", "title": "Maya commented on Q3 roadmap",
			"message": "“Love the direction — can we pull the billing migration into October?”", "link": "/docs/q3"}),
		"invoice": n.send(map[string]any{"user_id": user, "category": "billing", "title": "Invoice #1042 is ready",
			"message": "€1,240.00 for November, due on 15 December.", "link": "/billing/1042"}),
		"signin": n.send(map[string]any{"user_id": user, "category": "security", "title": "New sign-in from Firefox on Linux",
			"message": "Jakarta, Indonesia. If this wasn't you, secure your account."}),
		"upgrade": n.send(map[string]any{"user_id": user, "category": "billing", "title": "Approve the upgrade to Team?",
			"message": "Sam asked to move the workspace to the Team plan (12 seats).",
			"actions": []action{{"id": "approve", "label": "Approve", "url": "/assets/test/bell.html?approved=1"}, {"id": "decline", "label": "Decline"}}}),
		"mention": n.send(map[string]any{"user_id": user, "category": "comments", "title": "Ade mentioned you",
			"message": "@you the copy for the launch email is ready for review.", "avatar": "/assets/test/avatar/AK.svg"}),
	}
}

// tabsJS is every tab's label and count, e.g. ["All 5", "Unread 5", "Archived"].
const tabsJS = `B.qa(".belfry-tab").map((b) => [...b.children].map((c) => c.textContent.trim()).join(" "))`

func waitTabs(t *testing.T, tab context.Context, want ...string) {
	t.Helper()
	js, _ := json.Marshal(want)
	waitJS(t, tab, fmt.Sprintf("the tabs %s", js), `JSON.stringify(`+tabsJS+`) === `+"`"+string(js)+"`")
}

// selectTab clicks the tab of a view and waits for its list.
func selectTab(t *testing.T, tab context.Context, view string) {
	t.Helper()
	eval[bool](t, tab, fmt.Sprintf(`B.click('.belfry-tab[data-view="%s"]')`, view))
	waitJS(t, tab, "the "+view+" list", fmt.Sprintf(`B.q('.belfry-tab[data-view="%s"]').getAttribute("aria-selected") === "true" &&
  !B.shown(".belfry-more")`, view))
}

// TestInboxCountsTabsAndSeen: the badge counts unseen notifications and
// opening the panel marks them seen (unread stays); each tab has its
// count, its list and its empty state; "View all" links to all-url.
func TestInboxCountsTabsAndSeen(t *testing.T) {
	forEachImpl(t, func(t *testing.T, im impl) {
		n := startNode(t, nil)
		seedInbox(n, "ana")
		ctx := newBrowserContext(t, 90*time.Second)
		retina(t, ctx, 1000, 760, false)
		openInbox(t, ctx, n, im, "ana", "pos=right&all-url=/inbox&tabs="+url.QueryEscape(inboxTabs))
		waitJS(t, ctx, "the unseen badge", `B.text(".belfry-badge") === "5"`)
		if got := eval[string](t, ctx, `B.q(".belfry-button").getAttribute("aria-label")`); got != "Notifications, 5 unread, 5 new" {
			t.Fatalf("label %q", got)
		}
		if eval[bool](t, ctx, `B.shown(".belfry-panel")`) {
			t.Fatal("the panel is open before a click")
		}

		eval[bool](t, ctx, `B.click(".belfry-button")`)
		waitJS(t, ctx, "the list", `B.qa(".belfry-item").length === 5`)
		// Opening marked them seen: the badge is gone, the unread count stays.
		waitJS(t, ctx, "the badge to go", `!B.shown(".belfry-badge") && B.root().dataset.unseen === "0" && B.root().dataset.unread === "5"`)
		var counts struct{ Unread, Unseen int }
		waitGo(t, "the server's unseen count", func() bool {
			n.userGet("ana", "/notifications/counts", &counts)
			return counts.Unseen == 0
		})
		if counts.Unread != 5 {
			t.Fatalf("server counts %+v", counts)
		}
		waitTabs(t, ctx, "All 5", "Unread 5", "Billing 2", "Comments 2", "Archived")
		if got := eval[string](t, ctx, `B.q(".belfry-view-all").getAttribute("href") + " " + B.text(".belfry-view-all")`); got != "/inbox View all" {
			t.Fatalf("view all: %q", got)
		}
		// Newest first; unread ones look unread; the actions and the avatar are there.
		want := []string{"@you the copy for the launch email is ready for review.",
			"Sam asked to move the workspace to the Team plan (12 seats).",
			"Jakarta, Indonesia. If this wasn't you, secure your account.",
			"€1,240.00 for November, due on 15 December.",
			"“Love the direction — can we pull the billing migration into October?”"}
		if got := eval[[]string](t, ctx, `B.messages()`); !slices.Equal(got, want) {
			t.Fatalf("rows %q", got)
		}
		if got := eval[[]string](t, ctx, `B.qa(".belfry-item-action").map((b) => b.textContent.trim())`); !slices.Equal(got, []string{"Approve", "Decline"}) {
			t.Fatalf("action buttons %q", got)
		}
		if !eval[bool](t, ctx, `B.q(".belfry-avatar img").getAttribute("src") === "/assets/test/avatar/AK.svg"`) {
			t.Fatal("no avatar image")
		}
		if got := eval[int](t, ctx, `B.qa(".belfry-item.belfry-unread .belfry-unread-dot").length`); got != 5 {
			t.Fatalf("%d unread dots", got)
		}
		waitJS(t, ctx, "the avatar to load", `B.q(".belfry-avatar img").complete`)
		shot(t, ctx, im, "tab-all")

		selectTab(t, ctx, "category:billing")
		if got := eval[[]string](t, ctx, `B.qa(".belfry-title").map((e) => e.textContent)`); !slices.Equal(got, []string{"Approve the upgrade to Team?", "Invoice #1042 is ready"}) {
			t.Fatalf("billing tab %q", got)
		}
		shot(t, ctx, im, "tab-billing")
		selectTab(t, ctx, "category:comments")
		if got := eval[int](t, ctx, `B.qa(".belfry-item").length`); got != 2 {
			t.Fatalf("comments tab has %d rows", got)
		}
		shot(t, ctx, im, "tab-comments")
		selectTab(t, ctx, "unread")
		if got := eval[int](t, ctx, `B.qa(".belfry-item").length`); got != 5 {
			t.Fatalf("unread tab has %d rows", got)
		}
		shot(t, ctx, im, "tab-unread")
		selectTab(t, ctx, "archived")
		if got := eval[string](t, ctx, `B.text(".belfry-empty-title") + " / " + B.text(".belfry-empty-hint")`); got != "Nothing archived / Archived notifications are kept here." {
			t.Fatalf("archived empty state %q", got)
		}
		shot(t, ctx, im, "tab-archived")

		// Mark all as read on the Unread tab empties it.
		selectTab(t, ctx, "unread")
		eval[bool](t, ctx, `B.click(".belfry-mark-all")`)
		waitJS(t, ctx, "the unread tab's empty state", `B.text(".belfry-empty-title") === "No unread notifications"`)
		waitTabs(t, ctx, "All", "Unread", "Billing", "Comments", "Archived")
		waitGo(t, "the server's unread count", func() bool {
			n.userGet("ana", "/notifications/counts", &counts)
			return counts.Unread == 0
		})
		selectTab(t, ctx, "all")
		if got := eval[int](t, ctx, `B.qa(".belfry-item.belfry-unread").length`); got != 0 {
			t.Fatalf("%d rows still unread", got)
		}
		shot(t, ctx, im, "all-read")
	})
}

// TestInboxBadgeCountsUnread: badge="unread" counts unread; opening the
// panel does not change it.
func TestInboxBadgeCountsUnread(t *testing.T) {
	forEachImpl(t, func(t *testing.T, im impl) {
		n := startNode(t, nil)
		n.send(map[string]any{"user_id": "bo", "message": "one"})
		n.send(map[string]any{"user_id": "bo", "message": "two"})
		ctx := newBrowserContext(t, 60*time.Second)
		openInbox(t, ctx, n, im, "bo", "badge=unread")
		waitJS(t, ctx, "the unread badge", `B.text(".belfry-badge") === "2"`)
		eval[bool](t, ctx, `B.click(".belfry-button")`)
		waitJS(t, ctx, "seen", `B.root().dataset.unseen === "0"`)
		if got := eval[string](t, ctx, `B.text(".belfry-badge")`); got != "2" {
			t.Fatalf("badge %q after opening, want 2", got)
		}
		eval[bool](t, ctx, `B.click(".belfry-item")`)
		waitJS(t, ctx, "the badge to drop", `B.text(".belfry-badge") === "1"`)
	})
}

// menuOp opens the menu of a row with the keyboard and picks an item.
func menuOp(t *testing.T, tab context.Context, id int64, op string) {
	t.Helper()
	eval[bool](t, tab, fmt.Sprintf(`(B.q('.belfry-menu-button[data-id="%d"]').focus(), true)`, id))
	if err := chromedp.Do(tab, chromedp.KeyEvent(kb.Enter)); err != nil {
		t.Fatal(err)
	}
	waitJS(t, tab, "the menu", `B.shown(".belfry-menu") && B.focused() && B.focused().classList.contains("belfry-menu-item")`)
	for i := 0; i < 4; i++ {
		if eval[string](t, tab, `B.focused().dataset.op`) == op {
			break
		}
		if err := chromedp.Do(tab, chromedp.KeyEvent(kb.ArrowDown)); err != nil {
			t.Fatal(err)
		}
	}
	if got := eval[string](t, tab, `B.focused().dataset.op`); got != op {
		t.Fatalf("the menu has no %s (focus on %s)", op, got)
	}
	if err := chromedp.Do(tab, chromedp.KeyEvent(kb.Enter)); err != nil {
		t.Fatal(err)
	}
	waitJS(t, tab, "the menu to close", `!B.shown(".belfry-menu")`)
}

// TestInboxLiveAcrossTabs: what one tab does shows in the other at once —
// counts per tab and category, archive moving rows between tabs, an action
// taken — through the keyboard menu and the action buttons.
func TestInboxLiveAcrossTabs(t *testing.T) {
	forEachImpl(t, func(t *testing.T, im impl) {
		n := startNode(t, nil)
		ids := seedInbox(n, "cy")
		ctx := newBrowserContext(t, 120*time.Second)
		a, b := newTab(t, ctx), newTab(t, ctx)
		q := "prevent-action=1&tabs=" + url.QueryEscape(inboxTabs)
		openInbox(t, a, n, im, "cy", q)
		openInbox(t, b, n, im, "cy", q)
		for _, tab := range []context.Context{a, b} {
			eval[bool](t, tab, `B.click(".belfry-button")`)
			waitJS(t, tab, "the list", `B.qa(".belfry-item").length === 5`)
		}

		// Archive the invoice from tab A's menu, with the keyboard.
		menuOp(t, a, ids["invoice"], "archive")
		for i, tab := range []context.Context{a, b} {
			waitJS(t, tab, fmt.Sprintf("tab %d: the invoice to leave All", i),
				fmt.Sprintf(`B.qa(".belfry-item").length === 4 && !B.q('.belfry-item[data-id="%d"]')`, ids["invoice"]))
			waitTabs(t, tab, "All 4", "Unread 4", "Billing 1", "Comments 2", "Archived")
		}
		// The focus stays in the list.
		if !eval[bool](t, a, `B.focused().classList.contains("belfry-item")`) {
			t.Fatalf("after archiving, the focus is on %q", eval[string](t, a, `B.focused() ? B.focused().className : ""`))
		}
		selectTab(t, b, "archived")
		waitJS(t, b, "the invoice in B's Archived tab", fmt.Sprintf(`!!B.q('.belfry-item[data-id="%d"]')`, ids["invoice"]))

		// Mark the comment read from B's menu (mouse): A's counts follow.
		selectTab(t, b, "all")
		eval[bool](t, b, fmt.Sprintf(`B.click('.belfry-menu-button[data-id="%d"]')`, ids["comment"]))
		waitJS(t, b, "the menu", `B.shown(".belfry-menu")`)
		eval[bool](t, b, `B.click('.belfry-menu-item[data-op="read"]')`)
		waitJS(t, a, "the comment read in A", fmt.Sprintf(`!B.q('.belfry-item[data-id="%d"]').classList.contains("belfry-unread")`, ids["comment"]))
		waitTabs(t, a, "All 3", "Unread 3", "Billing 1", "Comments 1", "Archived")
		// And unread again.
		menuOp(t, a, ids["comment"], "unread")
		waitTabs(t, b, "All 4", "Unread 4", "Billing 1", "Comments 2", "Archived")

		// Unarchive from B's Archived tab: back in A's All.
		selectTab(t, b, "archived")
		menuOp(t, b, ids["invoice"], "unarchive")
		waitJS(t, b, "B's Archived tab to empty", `B.text(".belfry-empty-title") === "Nothing archived"`)
		waitJS(t, a, "the invoice back in A", fmt.Sprintf(`!!B.q('.belfry-item[data-id="%d"]')`, ids["invoice"]))
		waitTabs(t, a, "All 5", "Unread 5", "Billing 2", "Comments 2", "Archived")

		// An action in A: recorded, shown in both, its event fired (and, the
		// page preventing it, no navigation).
		selectTab(t, b, "all")
		eval[bool](t, a, `B.click('.belfry-item-action[data-action="approve"]')`)
		for i, tab := range []context.Context{a, b} {
			waitJS(t, tab, fmt.Sprintf("tab %d: the action taken", i), fmt.Sprintf(`(() => {
  const row = B.q('.belfry-row[data-id="%d"]');
  return row && row.querySelector(".belfry-taken") && row.querySelector(".belfry-taken").textContent.trim() === "Done: Approve" &&
    row.querySelectorAll(".belfry-item-action").length === 0 && !row.classList.contains("belfry-unread"); })()`, ids["upgrade"]))
		}
		waitTabs(t, b, "All 4", "Unread 4", "Billing 1", "Comments 2", "Archived")
		got := eval[[]string](t, a, `__events.filter((e) => e.name === "action").map((e) => e.id + ":" + e.action)`)
		if want := []string{fmt.Sprintf("%d:approve", ids["upgrade"])}; !slices.Equal(got, want) {
			t.Fatalf("action events %q, want %q", got, want)
		}
		if strings.Contains(eval[string](t, a, `location.href`), "approved") {
			t.Fatal("the page prevented the action's navigation, yet it navigated")
		}
		var ns []struct {
			ID     int64
			Action *string
		}
		n.userGet("cy", "/notifications?limit=10", &ns)
		for _, x := range ns {
			if x.ID == ids["upgrade"] && (x.Action == nil || *x.Action != "approve") {
				t.Fatalf("the server has action %v", x.Action)
			}
		}
		shot(t, b, im, "action-taken")

		// Delete from A's menu: gone from B.
		menuOp(t, a, ids["signin"], "delete")
		waitJS(t, b, "the sign-in to go from B", fmt.Sprintf(`!B.q('.belfry-item[data-id="%d"]') && B.qa(".belfry-item").length === 4`, ids["signin"]))
		waitTabs(t, b, "All 3", "Unread 3", "Billing 1", "Comments 2", "Archived")
		// Escape closes the menu first, then the panel.
		eval[bool](t, a, fmt.Sprintf(`B.click('.belfry-menu-button[data-id="%d"]')`, ids["mention"]))
		waitJS(t, a, "the menu", `B.shown(".belfry-menu")`)
		if err := chromedp.Do(a, chromedp.KeyEvent(kb.Escape)); err != nil {
			t.Fatal(err)
		}
		waitJS(t, a, "the menu to close, focus on its button", `!B.shown(".belfry-menu") && B.shown(".belfry-panel") &&
  B.focused().classList.contains("belfry-menu-button")`)
		if err := chromedp.Do(a, chromedp.KeyEvent(kb.Escape)); err != nil {
			t.Fatal(err)
		}
		waitJS(t, a, "the panel to close", `!B.shown(".belfry-panel") && B.focused() === B.q(".belfry-button")`)
	})
}

// TestInboxActionOpensItsURL: an action with a url navigates there once
// the server recorded it.
func TestInboxActionOpensItsURL(t *testing.T) {
	forEachImpl(t, func(t *testing.T, im impl) {
		n := startNode(t, nil)
		id := n.send(map[string]any{"user_id": "di", "message": "Deploy to production?",
			"actions": []action{{"id": "go", "label": "Deploy", "url": im.page + "?deployed=1"}}})
		ctx := newBrowserContext(t, 60*time.Second)
		openInbox(t, ctx, n, im, "di", "")
		eval[bool](t, ctx, `B.click(".belfry-button")`)
		waitJS(t, ctx, "the action button", `!!B.q(".belfry-item-action")`)
		eval[bool](t, ctx, `B.click(".belfry-item-action")`)
		waitURL(t, ctx, "deployed=1")
		var ns []struct {
			ID     int64
			Action *string
			ReadAt *string `json:"read_at"`
		}
		n.userGet("di", "/notifications", &ns)
		if len(ns) != 1 || ns[0].ID != id || ns[0].Action == nil || *ns[0].Action != "go" || ns[0].ReadAt == nil {
			t.Fatalf("after the action the server has %+v", ns)
		}
	})
}

// waitURL waits until the tab's location contains part (the tab navigates
// meanwhile, so an evaluation may fail).
func waitURL(t *testing.T, tab context.Context, part string) {
	t.Helper()
	waitGo(t, "the location "+part, func() bool {
		v, err := chromedp.Run(tab, chromedp.Evaluate[string](`location.href`))
		return err == nil && strings.Contains(v, part)
	})
}

// TestInboxPreferences: the gear opens a switch per category; a switch
// changes the user's in-app preference on the server, and notifications of
// a category turned off are no longer delivered.
func TestInboxPreferences(t *testing.T) {
	forEachImpl(t, func(t *testing.T, im impl) {
		n := startNode(t, nil)
		n.send(map[string]any{"user_id": "ed", "category": "billing", "message": "before"})
		ctx := newBrowserContext(t, 60*time.Second)
		retina(t, ctx, 1000, 700, false)
		openInbox(t, ctx, n, im, "ed", "pos=right&tabs="+url.QueryEscape(inboxTabs))
		eval[bool](t, ctx, `B.click(".belfry-button")`)
		eval[bool](t, ctx, `B.click(".belfry-gear")`)
		waitJS(t, ctx, "the switches", `B.qa(".belfry-switch").length === 3`)
		if got := eval[string](t, ctx, `B.text(".belfry-heading")`); got != "Notification preferences" {
			t.Fatalf("heading %q", got)
		}
		if !eval[bool](t, ctx, `B.focused() === B.q(".belfry-back")`) {
			t.Fatal("the focus is not on the back button")
		}
		rows := `B.qa(".belfry-pref").map((li) => li.querySelector(".belfry-pref-label").textContent + "=" + li.querySelector(".belfry-switch").getAttribute("aria-checked"))`
		if got := eval[[]string](t, ctx, rows); !slices.Equal(got, []string{"Billing=true", "Comments=true", "Everything else=true"}) {
			t.Fatalf("switches %q", got)
		}
		eval[bool](t, ctx, `B.click('.belfry-switch[data-category="billing"]')`)
		waitJS(t, ctx, "billing off", `B.q('.belfry-switch[data-category="billing"]').getAttribute("aria-checked") === "false"`)
		var prefs struct {
			Categories map[string]struct {
				InApp bool `json:"in_app"`
			}
		}
		waitGo(t, "the server's preference", func() bool {
			n.userGet("ed", "/notifications/preferences", &prefs)
			c, ok := prefs.Categories["billing"]
			return ok && !c.InApp
		})
		shot(t, ctx, im, "preferences")
		if id := n.send(map[string]any{"user_id": "ed", "category": "billing", "message": "after"}); id != 0 {
			t.Fatalf("a billing notification was stored (%d) with billing off", id)
		}
		n.send(map[string]any{"user_id": "ed", "category": "comments", "message": "a comment"})
		// Escape goes back to the list, which got the comment only.
		if err := chromedp.Do(ctx, chromedp.KeyEvent(kb.Escape)); err != nil {
			t.Fatal(err)
		}
		waitJS(t, ctx, "the list again", `B.shown(".belfry-tabs") && B.focused() === B.q(".belfry-gear")`)
		waitJS(t, ctx, "the comment", `JSON.stringify(B.messages()) === '["a comment","before"]'`)
		// Turned on again.
		eval[bool](t, ctx, `B.click(".belfry-gear")`)
		waitJS(t, ctx, "the switches", `B.qa(".belfry-switch").length === 3 && B.q('.belfry-switch[data-category="billing"]').getAttribute("aria-checked") === "false"`)
		eval[bool](t, ctx, `B.click('.belfry-switch[data-category="billing"]')`)
		waitGo(t, "billing on again", func() bool {
			n.userGet("ed", "/notifications/preferences", &prefs)
			return prefs.Categories["billing"].InApp
		})
	})
}

// permissionJS runs before the page: it counts the calls of
// Notification.requestPermission, which grants.
const permissionJS = `(() => {
  window.__perm = 0;
  let state = "default";
  Object.defineProperty(Notification, "permission", { get: () => state, configurable: true });
  Notification.requestPermission = () => { window.__perm++; state = "granted"; return Promise.resolve(state); };
})()`

// TestInboxDesktopPermissionOnlyOnRequest: nothing asks for desktop
// notifications but the user's click on the preferences' switch.
func TestInboxDesktopPermissionOnlyOnRequest(t *testing.T) {
	forEachImpl(t, func(t *testing.T, im impl) {
		n := startNode(t, nil)
		ctx := newBrowserContext(t, 60*time.Second)
		if _, err := chromedp.Call(ctx, cdppage.AddScriptToEvaluateOnNewDocument,
			cdppage.AddScriptToEvaluateOnNewDocumentParams{Source: permissionJS}); err != nil {
			t.Fatal(err)
		}
		openInbox(t, ctx, n, im, "flo", "desktop-notifications=")
		n.send(map[string]any{"user_id": "flo", "message": "hello"})
		waitJS(t, ctx, "the badge", `B.text(".belfry-badge") === "1"`)
		eval[bool](t, ctx, `B.click(".belfry-button")`)
		waitJS(t, ctx, "the row", `!!B.q(".belfry-item")`)
		eval[bool](t, ctx, `B.click(".belfry-item")`)
		eval[bool](t, ctx, `B.click(".belfry-gear")`)
		// This server has push off: the switch is the page's own
		// notifications, off before permission.
		waitDesktopRow(t, ctx, "off enabled: Get notified on this device while the app is open in a tab.")
		if got := eval[int](t, ctx, `__perm`); got != 0 {
			t.Fatalf("asked for permission %d times without the user asking", got)
		}
		// Asked on the click, and on (TestPushSwitch checks the other outcomes).
		eval[bool](t, ctx, `B.click('.belfry-switch[data-kind="desktop"]')`)
		waitDesktopRow(t, ctx, "on enabled: On in this browser, while the app is open in a tab.")
		if got := eval[int](t, ctx, `__perm`); got != 1 {
			t.Fatalf("asked %d times after one click", got)
		}
		// Granted once, never asked again: off and on.
		eval[bool](t, ctx, `B.click('.belfry-switch[data-kind="desktop"]')`)
		waitDesktopRow(t, ctx, "off enabled: Get notified on this device while the app is open in a tab.")
		eval[bool](t, ctx, `B.click('.belfry-switch[data-kind="desktop"]')`)
		waitDesktopRow(t, ctx, "on enabled: On in this browser, while the app is open in a tab.")
		if got := eval[int](t, ctx, `__perm`); got != 1 {
			t.Fatalf("asked %d times", got)
		}
	})
}

// TestInboxThemes: light by default, theme="dark", theme="auto" following
// prefers-color-scheme; the bell follows the page's color; the custom
// properties and (for the element) ::part() apply.
func TestInboxThemes(t *testing.T) {
	forEachImpl(t, func(t *testing.T, im impl) {
		n := startNode(t, nil)
		seedInbox(n, "gus")
		ctx := newBrowserContext(t, 90*time.Second)
		retina(t, ctx, 1000, 760, false)
		panelBG := `getComputedStyle(B.q(".belfry-panel")).backgroundColor`
		iconColor := `getComputedStyle(B.q(".belfry-button svg")).color`
		open := func(query string) {
			openInbox(t, ctx, n, im, "gus", "pos=right&tabs="+url.QueryEscape(inboxTabs)+"&"+query)
			eval[bool](t, ctx, `B.click(".belfry-button")`)
			waitJS(t, ctx, "the list", `B.qa(".belfry-item").length === 5 && B.q(".belfry-avatar img").complete`)
		}

		open("")
		if got := eval[string](t, ctx, panelBG); got != "rgb(255, 255, 255)" {
			t.Fatalf("light panel %s", got)
		}
		if got := eval[string](t, ctx, iconColor); got != "rgb(29, 29, 34)" {
			t.Fatalf("the bell's color %s, want the page's", got)
		}

		open("page=dark&theme=dark")
		if got := eval[string](t, ctx, panelBG); got != "rgb(23, 23, 28)" {
			t.Fatalf("dark panel %s", got)
		}
		if got := eval[string](t, ctx, iconColor); got != "rgb(232, 232, 236)" {
			t.Fatalf("the bell's color on a dark page %s", got)
		}
		shot(t, ctx, im, "dark")

		colorScheme(t, ctx, "dark")
		open("page=dark&theme=auto")
		if got := eval[string](t, ctx, panelBG); got != "rgb(23, 23, 28)" {
			t.Fatalf("auto panel in a dark scheme %s", got)
		}
		shot(t, ctx, im, "auto-dark")
		colorScheme(t, ctx, "light")
		waitJS(t, ctx, "auto to turn light", panelBG+` === "rgb(255, 255, 255)"`)

		css := `notification-bell,.belfry-bell{--belfry-accent-color:rgb(200, 0, 100);--belfry-panel-width:360px}`
		if im.name == "element" {
			css += `notification-bell::part(badge){background:rgb(0, 128, 0)}`
		}
		n.send(map[string]any{"user_id": "gus", "message": "unseen"})
		openInbox(t, ctx, n, im, "gus", "css="+url.QueryEscape(css))
		waitJS(t, ctx, "the badge", `B.shown(".belfry-badge")`)
		if im.name == "element" {
			if got := eval[string](t, ctx, `getComputedStyle(B.q(".belfry-badge")).backgroundColor`); got != "rgb(0, 128, 0)" {
				t.Fatalf("::part(badge) background %s", got)
			}
		}
		eval[bool](t, ctx, `B.click(".belfry-button")`)
		waitJS(t, ctx, "the list", `B.qa(".belfry-item").length >= 5`)
		if got := eval[string](t, ctx, `getComputedStyle(B.q(".belfry-item-action.belfry-primary")).backgroundColor`); got != "rgb(200, 0, 100)" {
			t.Fatalf("--belfry-accent-color: the primary action is %s", got)
		}
		if got := eval[float64](t, ctx, `B.q(".belfry-panel").getBoundingClientRect().width`); got != 360 {
			t.Fatalf("--belfry-panel-width: %v", got)
		}
	})
}

// TestInboxPanelInsideViewport: wherever the bell is — left edge, right
// edge, middle, on a 375px phone — the panel is inside the viewport.
func TestInboxPanelInsideViewport(t *testing.T) {
	forEachImpl(t, func(t *testing.T, im impl) {
		n := startNode(t, nil)
		seedInbox(n, "hal")
		ctx := newBrowserContext(t, 90*time.Second)
		for _, c := range []struct {
			w, h int64
			pos  string
		}{{1000, 700, "left"}, {1000, 700, "right"}, {1000, 700, "center"}, {375, 740, "right"}, {375, 740, "left"}, {375, 740, "center"}} {
			retina(t, ctx, c.w, c.h, c.w < 500)
			openInbox(t, ctx, n, im, "hal", "pos="+c.pos+"&tabs="+url.QueryEscape(inboxTabs))
			eval[bool](t, ctx, `B.click(".belfry-button")`)
			waitJS(t, ctx, "the list", `B.qa(".belfry-item").length === 5`)
			box := eval[[]float64](t, ctx, `(() => { const r = B.q(".belfry-panel").getBoundingClientRect();
  return [r.left, r.right, r.top, r.bottom, document.documentElement.clientWidth, innerHeight]; })()`)
			if box[0] < 0 || box[1] > box[4] || box[3] > box[5] {
				t.Fatalf("%dpx, bell %s: panel %v outside the viewport", c.w, c.pos, box)
			}
			// It uses the room there is: 8px from the edges on a phone.
			if c.w < 500 && (box[0] != 8 || box[1] != float64(c.w-8)) {
				t.Fatalf("%dpx, bell %s: panel from %v to %v", c.w, c.pos, box[0], box[1])
			}
			// A row's menu stays inside too.
			eval[bool](t, ctx, `B.click(".belfry-menu-button")`)
			waitJS(t, ctx, "the menu", `B.shown(".belfry-menu")`)
			mb := eval[[]float64](t, ctx, `(() => { const r = B.q(".belfry-menu").getBoundingClientRect(); return [r.left, r.right]; })()`)
			if mb[0] < 0 || mb[1] > box[4] {
				t.Fatalf("%dpx, bell %s: menu %v outside the viewport", c.w, c.pos, mb)
			}
			if c.w < 500 && c.pos == "right" {
				eval[bool](t, ctx, `B.click(".belfry-menu-button")`)
				shot(t, ctx, im, "mobile")
			}
		}
	})
}

// TestInboxLanguages: the lang attribute, else the document's lang; English
// and Indonesian shipped; an unknown language falls back to English.
func TestInboxLanguages(t *testing.T) {
	forEachImpl(t, func(t *testing.T, im impl) {
		n := startNode(t, nil)
		seedInbox(n, "ida")
		ctx := newBrowserContext(t, 60*time.Second)
		retina(t, ctx, 1000, 760, false)
		texts := `[B.text(".belfry-heading"), ...B.qa(".belfry-tab-label").map((e) => e.textContent),
  B.q(".belfry-mark-all").getAttribute("aria-label"), B.q(".belfry-button").getAttribute("aria-label"), B.text(".belfry-time")]`
		for _, c := range []struct {
			query string
			want  []string
		}{
			{"lang=id", []string{"Notifikasi", "Semua", "Belum dibaca", "Tagihan", "Diarsipkan", "Tandai semua dibaca",
				"Notifikasi, 5 belum dibaca", "sekarang"}},
			{"doclang=id-ID", []string{"Notifikasi", "Semua", "Belum dibaca", "Tagihan", "Diarsipkan", "Tandai semua dibaca",
				"Notifikasi, 5 belum dibaca", "sekarang"}},
			{"doclang=fr", []string{"Notifications", "All", "Unread", "Tagihan", "Archived", "Mark all as read",
				"Notifications, 5 unread", "now"}},
		} {
			openInbox(t, ctx, n, im, "ida", "pos=right&tabs="+url.QueryEscape("billing:Tagihan")+"&"+c.query)
			eval[bool](t, ctx, `B.click(".belfry-button")`)
			waitJS(t, ctx, "the list", `B.qa(".belfry-item").length === 5`)
			waitJS(t, ctx, "seen", `B.root().dataset.unseen === "0"`)
			if got := eval[[]string](t, ctx, texts); !slices.Equal(got, c.want) {
				t.Fatalf("%s: %q, want %q", c.query, got, c.want)
			}
			if c.query == "lang=id" {
				selectTab(t, ctx, "archived")
				if got := eval[string](t, ctx, `B.text(".belfry-empty-title")`); got != "Belum ada yang diarsipkan" {
					t.Fatalf("empty state %q", got)
				}
				selectTab(t, ctx, "all")
				shot(t, ctx, im, "indonesian")
			}
		}
	})
}

// TestInboxKeyboard: the tabs are one stop of Tab, the arrows move between
// them; ArrowDown enters the list.
func TestInboxKeyboard(t *testing.T) {
	forEachImpl(t, func(t *testing.T, im impl) {
		n := startNode(t, nil)
		seedInbox(n, "jo")
		ctx := newBrowserContext(t, 60*time.Second)
		openInbox(t, ctx, n, im, "jo", "tabs="+url.QueryEscape(inboxTabs))
		eval[bool](t, ctx, `B.click(".belfry-button")`)
		waitJS(t, ctx, "the list", `B.qa(".belfry-item").length === 5`)
		if got := eval[[]string](t, ctx, `B.qa(".belfry-tab").map((b) => b.getAttribute("tabindex"))`); !slices.Equal(got, []string{"0", "-1", "-1", "-1", "-1"}) {
			t.Fatalf("tabindex %q: the tabs should be one stop", got)
		}
		eval[bool](t, ctx, `(B.q('.belfry-tab[aria-selected="true"]').focus(), true)`)
		for _, k := range []string{kb.ArrowRight, kb.ArrowRight} {
			if err := chromedp.Do(ctx, chromedp.KeyEvent(k)); err != nil {
				t.Fatal(err)
			}
		}
		waitJS(t, ctx, "Billing selected and focused", `B.focused() && B.focused().dataset.view === "category:billing" &&
  B.focused().getAttribute("aria-selected") === "true" && B.qa(".belfry-item").length === 2`)
		if err := chromedp.Do(ctx, chromedp.KeyEvent(kb.ArrowLeft), chromedp.KeyEvent(kb.ArrowLeft), chromedp.KeyEvent(kb.ArrowLeft)); err != nil {
			t.Fatal(err)
		}
		waitJS(t, ctx, "wrapped round to Archived", `B.focused().dataset.view === "archived" && B.shown(".belfry-empty")`)
		if err := chromedp.Do(ctx, chromedp.KeyEvent(kb.ArrowRight), chromedp.KeyEvent(kb.ArrowDown)); err != nil {
			t.Fatal(err)
		}
		waitJS(t, ctx, "the first row focused", `B.focused() && B.focused().classList.contains("belfry-item") &&
  B.focused() === B.q(".belfry-item")`)
	})
}
