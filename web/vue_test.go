package web_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/belfry/belfry/httpapi"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
)

// needVue skips unless `npm ci` has installed the pinned Vue 2 and axios.
func needVue(t *testing.T) {
	t.Helper()
	for _, p := range []string{"node_modules/vue/dist/vue.esm.browser.min.js", "node_modules/axios/dist/esm/axios.min.js"} {
		if _, err := os.Stat(p); err != nil {
			t.Skipf("%s is missing: run `npm ci` in web/ for the Vue 2 browser tests", p)
		}
	}
}

// vueJS evaluates expr with b bound to the Vue bell's root element.
func vueJS(expr string) string {
	return `(() => { const b = document.querySelector(".belfry-bell"); if (!b) return false; return ` + expr + `; })()`
}

func TestVue2Bell(t *testing.T) {
	needVue(t)
	n := startNode(t, nil)
	ctx := newBrowserContext(t, 90*time.Second)
	a, b := ctx, newTab(t, ctx)
	for _, tab := range []context.Context{a, b} {
		navigate(t, tab, n.url("/assets/test/vue2.html?token="+n.token("dave")))
		waitJS(t, tab, "the Vue bell to be live", vueJS(`b.dataset.status === "live"`))
	}
	if got := n.hub.Stats().Streams; got != 1 {
		t.Fatalf("two tabs with the Vue bell hold %d streams, want 1", got)
	}

	eval[bool](t, a, vueJS(`(b.querySelector(".belfry-button").click(), true)`))
	waitJS(t, a, "the empty state", vueJS(`b.querySelector(".belfry-empty-title") && b.querySelector(".belfry-empty-title").textContent.trim() === "You're all caught up"`))
	if got := eval[string](t, a, vueJS(`b.querySelector(".belfry-button").getAttribute("aria-expanded")`)); got != "true" {
		t.Fatalf("aria-expanded = %q after opening", got)
	}

	n.publish("dave", "Build 417 passed")
	waitJS(t, a, "the notification in the Vue bell", vueJS(`[...b.querySelectorAll(".belfry-item .belfry-message")].some((e) => e.textContent === "Build 417 passed")`))
	waitJS(t, b, "the badge in the second tab", vueJS(`b.querySelector(".belfry-badge") && b.querySelector(".belfry-badge").textContent === "1"`))
	waitJS(t, a, "the live region", vueJS(`b.querySelector("[aria-live]").textContent.includes("Build 417 passed")`))
	if got := eval[string](t, a, vueJS(`b.querySelector(".belfry-button").getAttribute("aria-label")`)); !strings.Contains(got, "1 unread") {
		t.Fatalf("aria-label %q does not say 1 unread", got)
	}

	// A click on the item marks it read; the other tab's badge goes away.
	eval[bool](t, a, vueJS(`(b.querySelector(".belfry-item").click(), true)`))
	waitJS(t, b, "the second tab's badge to drop", vueJS(`!b.querySelector(".belfry-badge") && b.dataset.unread === "0"`))

	// Escape closes and returns the focus to the button.
	eval[bool](t, a, vueJS(`(b.querySelector(".belfry-item").focus(), true)`))
	if err := chromedp.Do(a, chromedp.KeyEvent(kb.Escape)); err != nil {
		t.Fatal(err)
	}
	waitJS(t, a, "the dropdown to close", vueJS(`b.querySelector(".belfry-button").getAttribute("aria-expanded") === "false" && document.activeElement === b.querySelector(".belfry-button")`))

	// Refresh reloads what the stream never announced.
	createSilently(t, n.store, "dave", "Stored quietly")
	eval[bool](t, a, vueJS(`(b.querySelector(".belfry-button").click(), b.querySelector(".belfry-refresh").click(), true)`))
	waitJS(t, a, "Refresh to show the stored notification", vueJS(`[...b.querySelectorAll(".belfry-item .belfry-message")].some((e) => e.textContent === "Stored quietly")`))
}

// TestOriginalVue2Component runs the original app's Vue 2 component, as it
// was written (testdata/OriginalNotificationBell.vue, with axios and a bare
// EventSource on the app's session cookie), against belfry in --auth-url
// mode: a stand-in for the Laravel app answers /api/user from its cookie.
func TestOriginalVue2Component(t *testing.T) {
	needVue(t)
	var appAuthorized atomic.Int64
	app := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		if c, err := r.Cookie("laravel_session"); err == nil && c.Value == "session-of-user-42" && r.URL.Path == "/api/user" {
			appAuthorized.Add(1)
			w.Write([]byte(`{"id": 42, "name": "Taylor", "email": "taylor@example.com"}`))
			return
		}
		w.WriteHeader(http.StatusUnauthorized)
		w.Write([]byte(`{"message": "Unauthenticated."}`))
	}))
	t.Cleanup(app.Close)
	auth, err := httpapi.NewAuthURL(httpapi.AuthURLConfig{URL: app.URL + "/api/user"})
	if err != nil {
		t.Fatal(err)
	}
	n := startNode(t, auth)
	n.publish("42", "Welcome back")

	ctx := newBrowserContext(t, 90*time.Second)
	// The app's login set the session cookie on its domain, where belfry
	// is mounted (nginx: location /notifications → belfry).
	navigate(t, ctx, n.url("/assets/belfry-client.js"))
	eval[bool](t, ctx, `(document.cookie = "laravel_session=session-of-user-42; path=/", true)`)
	navigate(t, ctx, n.url("/assets/test/original.html"))

	waitJS(t, ctx, "the original component to mount", `!!document.querySelector(".notification-container .bell-button")`)
	// It fetched the list on mount (axios.get('/notifications')): the badge counts it.
	waitJS(t, ctx, "the list to load", `(() => { const e = document.querySelector(".notification-badge"); return e && e.textContent.trim() === "1"; })()`)
	waitGo(t, "its EventSource to connect", func() bool { return n.hub.Stats().Streams == 1 })
	eval[bool](t, ctx, `(document.querySelector(".bell-button").click(), true)`)
	waitJS(t, ctx, "the loaded item", `[...document.querySelectorAll(".notification-dropdown li")].some((li) => li.textContent.trim() === "Welcome back")`)

	n.publish("42", "A live one")
	waitJS(t, ctx, "the live notification", `[...document.querySelectorAll(".notification-dropdown li")].some((li) => li.textContent.trim() === "A live one")`)
	items := eval[[]string](t, ctx, `[...document.querySelectorAll(".notification-dropdown li")].map((li) => li.textContent.trim())`)
	if len(items) != 2 || items[0] != "A live one" || items[1] != "Welcome back" {
		t.Fatalf("the original component shows %q", items)
	}
	if got := eval[string](t, ctx, `document.querySelector(".notification-badge").textContent.trim()`); got != "2" {
		t.Fatalf("badge %q, want 2", got)
	}
	// Its Refresh button (axios again) still works.
	eval[bool](t, ctx, `(document.querySelector(".refresh-button").click(), true)`)
	waitJS(t, ctx, "Refresh", `document.querySelectorAll(".notification-dropdown li").length === 2`)
	if appAuthorized.Load() == 0 {
		t.Fatal("belfry never asked the app who the user is")
	}
}
