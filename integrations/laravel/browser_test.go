package laravel_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// chromiumPath is BELFRY_TEST_CHROMIUM, the path of a chromium binary, or
// skips the test without it.
func chromiumPath(t *testing.T) string {
	t.Helper()
	path := os.Getenv("BELFRY_TEST_CHROMIUM")
	if path == "" {
		t.Skip("BELFRY_TEST_CHROMIUM is not set (the path of a chromium binary); skipping the browser test")
	}
	return path
}

// startChromium starts a headless Chromium at path (flags that work as
// root and in a container) until the test ends, and returns its context.
func startChromium(t *testing.T, path string) context.Context {
	t.Helper()
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(path), chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU,
		chromedp.NoFirstRun, chromedp.NoDefaultBrowserCheck, chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1000, 700),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.Flag("disable-background-timer-throttling", true),
		chromedp.Flag("disable-renderer-backgrounding", true),
		chromedp.Flag("disable-backgrounding-occluded-windows", true),
	}
	actx, acancel := chromedp.NewExecAllocator(context.Background(), opts...)
	bctx, bcancel := chromedp.NewContext(actx)
	t.Cleanup(func() { bcancel(); acancel() })
	// The first run starts the browser; no timeout on it (it would end the browser).
	if err := chromedp.Do(bctx); err != nil {
		t.Fatalf("starting chromium: %v", err)
	}
	return bctx
}

// newTab opens a tab in a new, isolated browser context (its own
// storage), bounded by timeout.
func newTab(t *testing.T, browser context.Context, timeout time.Duration) context.Context {
	t.Helper()
	ctx, cancel := chromedp.NewContext(browser, chromedp.WithNewBrowserContext())
	t.Cleanup(cancel)
	if err := chromedp.Do(ctx); err != nil { // create the target now, without the timeout
		t.Fatal(err)
	}
	tctx, tcancel := context.WithTimeout(ctx, timeout)
	t.Cleanup(tcancel)
	return tctx
}

// bellJS is expr evaluated with b, the page's <notification-bell>, and r,
// its shadow root; false while there is none.
func bellJS(expr string) string {
	return `(() => { const b = document.querySelector("notification-bell"); if (!b || !b.shadowRoot) return false;
  const r = b.shadowRoot; return ` + expr + `; })()`
}

// bellStateJS describes the page's bell for a failure message.
const bellStateJS = `(() => {
  const b = document.querySelector("notification-bell");
  if (!b || !b.client) return "no bell client on " + location.href;
  const badge = b.shadowRoot.querySelector(".belfry-badge");
  return JSON.stringify({ status: b.dataset.status, unread: b.dataset.unread, unseen: b.dataset.unseen,
    badge: badge && !badge.hidden ? badge.textContent : "", refusal: b.dataset.refusal || "",
    items: b.client.items.map((n) => n.id + ":" + n.message),
    rows: [...b.shadowRoot.querySelectorAll(".belfry-item .belfry-message")].map((e) => e.textContent) });
})()`

// waitJS polls the predicate in the tab until it is truthy, within 30s.
func waitJS(t *testing.T, tab context.Context, what, predicate string) {
	t.Helper()
	_, err := chromedp.Run(tab, chromedp.Poll[chromedp.Void](predicate,
		chromedp.WithPollingInterval(50*time.Millisecond), chromedp.WithPollingTimeout(30*time.Second)))
	if err != nil {
		state, _ := chromedp.Run(tab, chromedp.Evaluate[string](bellStateJS))
		t.Fatalf("waiting for %s: %v\nbell: %s", what, err, state)
	}
}

// eval evaluates js in the tab (promises awaited).
func eval[T any](t *testing.T, tab context.Context, js string) T {
	t.Helper()
	v, err := chromedp.Run(tab, chromedp.Evaluate[T](js, chromedp.EvalAwaitPromise))
	if err != nil {
		t.Fatalf("eval %q: %v", js, err)
	}
	return v
}

// screenshot writes the tab to testdata/screenshots/name (ignored by git).
func screenshot(t *testing.T, tab context.Context, name string) {
	t.Helper()
	b, err := chromedp.Run(tab, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatal(err)
	}
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
