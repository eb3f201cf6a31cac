package laravel_test

import (
	"context"
	"encoding/json"
	"fmt"
	"html"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/belfry/belfry/httpapi"
	"github.com/chromedp/chromedp"
)

// bellBase numbers the users and the invoice of TestBellAfterQueuedRetries:
// users bellBase+1 and bellBase+2, "Invoice #bellBase was paid".
const bellBase = 7000

// TestBellAfterQueuedRetries is the whole path of a Laravel app: with a
// bell of each of two users open in Chromium (an app's page on its own
// origin, loading the bell from belfry), the app, built on Debian's
// Laravel with the package installed from this directory, sends a
// ShouldQueue notification with Notification::send to both on the
// database queue; each job fails after its send the first time and
// Laravel's worker runs it again (QueueTest::
// testNotificationSendToManyWithRetriesMakesOneEach). Each bell shows the
// notification once, with a badge of 1, live and after a reload, and
// belfry's API lists one notification per user.
func TestBellAfterQueuedRetries(t *testing.T) {
	if testing.Short() {
		t.Skip("builds belfry, runs PHPUnit and Chromium: runs without -short")
	}
	chromium := chromiumPath(t)
	php, phpunit, composer := requirePHP(t)
	pkg, err := filepath.Abs(".")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()

	// The app's page, on another origin than belfry's: known before belfry
	// starts (--allow-origin), served once belfry's URL is.
	var belfryURL string
	app := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/img/billing.png" { // the notification's avatar, relative to the app
			w.Header().Set("Content-Type", "image/svg+xml")
			fmt.Fprint(w, `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 40 40"><rect width="40" height="40" fill="#0e7490"/>`+
				`<text x="20" y="26" font-family="sans-serif" font-size="16" fill="#fff" text-anchor="middle">$</text></svg>`)
			return
		}
		if r.URL.Path != "/" {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprintf(w, `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>app</title>
<script type="module" src="%s/assets/notification-bell.js"></script></head>
<body style="margin:0;font-family:sans-serif"><header style="display:flex;padding:10px 16px 10px 400px">
<notification-bell endpoint="%s" token="%s"></notification-bell></header><main style="padding:16px">app</main></body></html>`,
			html.EscapeString(belfryURL), html.EscapeString(belfryURL), html.EscapeString(r.URL.Query().Get("token")))
	}))
	origin := "http://" + app.Listener.Addr().String()
	belfryURL = startBelfry(t, dir, "--allow-origin", origin)
	app.Start()
	t.Cleanup(app.Close)
	appDir := composerApp(t, composer, php, pkg, filepath.Join(dir, "app"))

	message := fmt.Sprintf("Invoice #%d was paid", bellBase)
	users := []string{strconv.Itoa(bellBase + 1), strconv.Itoa(bellBase + 2)}
	browser := startChromium(t, chromium)
	tabs := map[string]context.Context{}
	tokens := map[string]string{}
	for _, user := range users {
		tok, err := httpapi.MintToken([]byte(testJWTSecret), user, time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		tokens[user] = tok
		tab := newTab(t, browser, 3*time.Minute)
		if err := chromedp.Do(tab, chromedp.Navigate(app.URL+"/?token="+tok)); err != nil {
			t.Fatal(err)
		}
		waitJS(t, tab, user+"'s empty bell to be live", bellJS(`b.dataset.status === "live" && b.dataset.unread === "0"`))
		tabs[user] = tab
	}

	out := runPHPUnit(t, php, phpunit, pkg, dir,
		[]string{"--filter", `QueueTest::testNotificationSendToManyWithRetriesMakesOneEach$`},
		"BELFRY_URL="+belfryURL, "BELFRY_TEST_APP="+appDir, "BELFRY_TEST_BELL_BASE="+strconv.Itoa(bellBase))
	if !regexp.MustCompile(`(?m)^OK \(1 test, `).Match(out) {
		t.Fatalf("phpunit did not run the one test, or it failed:\n%s", out)
	}

	// Live: the bell got the notification while open.
	for _, user := range users {
		tab := tabs[user]
		waitJS(t, tab, user+"'s notification, live", bellJS(`b.dataset.unread === "1" &&
  !r.querySelector(".belfry-badge").hidden && r.querySelector(".belfry-badge").textContent === "1"`))
		if got := eval[[]string](t, tab, `document.querySelector("notification-bell").client.items.map((n) => n.message)`); !slices.Equal(got, []string{message}) {
			t.Fatalf("%s's bell holds %q, want [%q]", user, got, message)
		}
	}

	// Stored: belfry lists one notification per user.
	for _, user := range users {
		got := listNotifications(t, belfryURL, tokens[user])
		if len(got) != 1 || got[0].Message != message {
			t.Fatalf("GET /notifications for %s: %+v, want one %q", user, got, message)
		}
	}

	// Reloaded: the bell lists what belfry stored; opened, it shows one row.
	for _, user := range users {
		tab := tabs[user]
		if err := chromedp.Do(tab, chromedp.Reload()); err != nil {
			t.Fatal(err)
		}
		waitJS(t, tab, user+"'s bell after a reload", bellJS(`b.dataset.status === "live" && b.dataset.unread === "1" &&
  r.querySelector(".belfry-badge").textContent === "1" && b.client.items.length > 0`))
		eval[bool](t, tab, bellJS(`(r.querySelector(".belfry-button").click(), true)`))
		waitJS(t, tab, user+"'s list", bellJS(`r.querySelectorAll(".belfry-item").length > 0 && r.getAnimations().length === 0`))
		rows := eval[[]string](t, tab, bellJS(`[...r.querySelectorAll(".belfry-item .belfry-message")].map((e) => e.textContent.trim())`))
		if !slices.Equal(rows, []string{message}) {
			t.Fatalf("%s's open bell lists %q, want [%q]", user, rows, message)
		}
		if got := eval[string](t, tab, `document.querySelector("notification-bell").dataset.unread`); got != "1" {
			t.Fatalf("%s's bell counts %s unread, want 1", user, got)
		}
		screenshot(t, tab, "laravel-bell-"+user+".png")
	}
}

type listed struct {
	ID      int64  `json:"id"`
	Message string `json:"message"`
}

// listNotifications is GET /notifications?status=all of the token's user.
func listNotifications(t *testing.T, base, token string) []listed {
	t.Helper()
	req, err := http.NewRequest("GET", base+"/notifications?status=all&limit=100", nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+token)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		t.Fatalf("GET /notifications: %s", res.Status)
	}
	var out []listed
	if err := json.NewDecoder(res.Body).Decode(&out); err != nil {
		t.Fatalf("GET /notifications: %v", err)
	}
	return out
}
