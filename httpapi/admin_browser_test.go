package httpapi_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/belfry/belfry"
)

// newAdminBrowser starts a headless Chromium of the test's own (the
// flags web's browser tests use), bounded by timeout. It skips under
// -short and when BELFRY_TEST_CHROMIUM is unset.
func newAdminBrowser(t *testing.T, timeout time.Duration) context.Context {
	t.Helper()
	if testing.Short() {
		t.Skip("a browser test: runs without -short")
	}
	path := os.Getenv("BELFRY_TEST_CHROMIUM")
	if path == "" {
		t.Skip("BELFRY_TEST_CHROMIUM is not set (the path of a chromium binary); skipping the browser test")
	}
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(path), chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU,
		chromedp.NoFirstRun, chromedp.NoDefaultBrowserCheck, chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1200, 900),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-dev-shm-usage", true),
	}
	actx, acancel := chromedp.NewExecAllocator(context.Background(), opts...)
	bctx, bcancel := chromedp.NewContext(actx)
	t.Cleanup(func() { bcancel(); acancel() })
	if err := chromedp.Do(bctx); err != nil { // start the browser without the timeout
		t.Fatalf("starting chromium: %v", err)
	}
	ctx, cancel := context.WithTimeout(bctx, timeout)
	t.Cleanup(cancel)
	return ctx
}

// TestAdminBrowser is an operator's visit: sign in with the form, look up
// a user who has notifications and an open stream, then retry a failed
// webhook.
func TestAdminBrowser(t *testing.T) {
	ctx := newAdminBrowser(t, 60*time.Second)
	e := newAdminEnv(t, envOpts{})
	e.publish("alice", "Your report is ready")
	e.publish("alice", `Invoice <b>#42</b> paid`)
	stream := e.openStream(t, "", withBearer(e.token("alice")))
	defer stream.close()
	stream.sync(t)
	failWebhooks(t, e, "msg_browser")

	if err := chromedp.Do(ctx,
		chromedp.Navigate(e.url+"/admin"),
		chromedp.WaitVisible(chromedp.ID("key")),
		chromedp.SendKeys(chromedp.ID("key"), testAdminKey),
		chromedp.Click(chromedp.ID("signin")),
		chromedp.WaitVisible(chromedp.ID("node")),
	); err != nil {
		t.Fatalf("sign in: %v", err)
	}
	// The inline style applies: its hash is in the page's CSP.
	if bg := run(t, ctx, chromedp.Evaluate[string](`getComputedStyle(document.body).backgroundColor`)); bg != "rgb(246, 248, 250)" {
		t.Errorf("body background %q: the style was blocked by the CSP", bg)
	}
	streams := run(t, ctx, chromedp.Text(chromedp.ID("streams")))
	if err := chromedp.Do(ctx,
		chromedp.SendKeys(chromedp.ID("user"), "alice"),
		chromedp.Click(chromedp.ID("lookup-go")),
		chromedp.WaitVisible(chromedp.ID("counts")),
	); err != nil {
		t.Fatalf("look up: %v", err)
	}
	unread := run(t, ctx, chromedp.Text(chromedp.ID("unread")))
	unseen := run(t, ctx, chromedp.Text(chromedp.ID("unseen")))
	presence := run(t, ctx, chromedp.Text(chromedp.ID("presence")))
	notes := run(t, ctx, chromedp.Text(chromedp.ID("notifications")))
	if streams != "1" || unread != "2" || unseen != "2" {
		t.Errorf("streams %q, unread %q, unseen %q; want 1, 2, 2", streams, unread, unseen)
	}
	if !strings.HasPrefix(presence, "online: 1 stream(s)") {
		t.Errorf("presence %q, want online", presence)
	}
	if !strings.Contains(notes, "Your report is ready") || !strings.Contains(notes, "Invoice <b>#42</b> paid") {
		t.Errorf("notifications %q lack the messages, as text", notes)
	}
	if loc := run(t, ctx, chromedp.Location()); !strings.HasSuffix(loc, "/admin?user=alice") {
		t.Errorf("location %q", loc)
	}
	shoot(t, ctx, "admin-user.png")

	if err := chromedp.Do(ctx,
		chromedp.Click(chromedp.CSS(`button[name="retry"][value="msg_browser"]`)),
		chromedp.WaitVisible(chromedp.ID("retried")),
	); err != nil {
		t.Fatalf("retry: %v", err)
	}
	if retried := run(t, ctx, chromedp.Text(chromedp.ID("retried"))); !strings.Contains(retried, "msg_browser") {
		t.Errorf("retried note %q", retried)
	}
	jobs, err := e.store.FailedJobs(context.Background(), belfry.JobWebhook, "", 10)
	if err != nil || len(jobs) != 0 {
		t.Fatalf("failed webhooks after the retry: %v %v", jobs, err)
	}
	shoot(t, ctx, "admin-retried.png")
}

// run runs one browser action and returns its result, failing the test
// on an error.
func run[T any](t *testing.T, ctx context.Context, a chromedp.Action[T]) T {
	t.Helper()
	v, err := chromedp.Run(ctx, a)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// shoot writes a full-page screenshot to testdata/screenshots (ignored
// by git).
func shoot(t *testing.T, ctx context.Context, name string) {
	t.Helper()
	b := run(t, ctx, chromedp.FullScreenshot(100))
	dir := filepath.Join("testdata", "screenshots")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, name), b, 0o644); err != nil {
		t.Fatal(err)
	}
	abs, _ := filepath.Abs(filepath.Join(dir, name))
	t.Logf("screenshot written to %s", abs)
}
