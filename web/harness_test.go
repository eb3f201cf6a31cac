package web_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/belfry/belfry/hub"

	"github.com/belfry/belfry"
	"github.com/belfry/belfry/httpapi"
	"github.com/belfry/belfry/memory"
	"github.com/belfry/belfry/sqlite"
	"github.com/belfry/belfry/web"
	"github.com/belfry/belfry/webpush"
	"github.com/chromedp/chromedp"
)

// ---- a real belfry: httpapi + SQLite + the in-process broker ----

const testAPIKey = "test-api-key"

var testSecret = []byte("test-secret-test-secret-test-secret")

// node is one running belfry server. Stop and start it again on the same
// address and SQLite file to simulate a restart.
type node struct {
	t        *testing.T
	dbPath   string
	addr     string // host:port, fixed after the first start
	userAuth httpapi.UserAuth
	// allowOrigins goes to httpapi.Config.AllowOrigins (set before start).
	allowOrigins []string
	limits       limits
	// push, when set (before start), turns Web Push on: the server's VAPID
	// key (Config.PushKey, kept across restarts) and the default push
	// policy (Config.CheckEndpoint). Unset, push is off: GET
	// /notifications/push/key answers 404, as belfry's default.
	push *webpush.Key

	store  *sqlite.Store
	hub    *hub.Hub
	api    *httpapi.Server
	srv    *http.Server
	cancel context.CancelFunc
	done   chan struct{}
}

func startNode(t *testing.T, userAuth httpapi.UserAuth) *node {
	t.Helper()
	return startNodeLimited(t, userAuth, limits{})
}

// limits are a node's stream limits (hub.Config) and the Retry-After of its
// refusals (Config.RetryAfter); zero values take belfry's defaults.
type limits struct {
	perUser, node int
	retryAfter    time.Duration
}

func startNodeLimited(t *testing.T, userAuth httpapi.UserAuth, l limits) *node {
	t.Helper()
	n := &node{t: t, dbPath: filepath.Join(t.TempDir(), "belfry.db"), addr: "127.0.0.1:0", userAuth: userAuth, limits: l}
	n.start()
	t.Cleanup(n.stop)
	return n
}

func (n *node) start() {
	t := n.t
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	store, err := sqlite.Open(ctx, n.dbPath)
	if err != nil {
		t.Fatal(err)
	}
	broker := memory.New()
	hub := hub.New(hub.Config{Store: store, Broker: broker,
		MaxStreamsPerUser: n.limits.perUser, MaxStreams: n.limits.node, Heartbeat: time.Second})
	done := make(chan struct{})
	go func() {
		defer close(done)
		broker.Run(ctx, hub)
	}()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	if testing.Verbose() {
		log = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	}
	var pushKey string
	var checkEndpoint func(string) error
	if n.push != nil {
		pushKey, checkEndpoint = n.push.PublicKey(), (&webpush.Policy{}).CheckEndpoint
	}
	api, err := httpapi.New(httpapi.Config{
		Inbox: &belfry.Inbox{Store: store, Broker: broker, Logger: log}, Hub: hub,
		JWTSecret: testSecret, APIKeys: []string{testAPIKey}, UserAuth: n.userAuth,
		Demo: true, Assets: testAssets(), Retry: 300 * time.Millisecond, Logger: log,
		AllowOrigins: n.allowOrigins,
		RetryAfter:   n.limits.retryAfter,
		PushKey:      pushKey, CheckEndpoint: checkEndpoint,
	})
	if err != nil {
		t.Fatal(err)
	}
	var ln net.Listener
	// After a stop the port is free again; another process could take it,
	// so retry briefly instead of failing on the first EADDRINUSE.
	deadline := time.Now().Add(5 * time.Second)
	for {
		ln, err = net.Listen("tcp", n.addr)
		if err == nil || time.Now().After(deadline) {
			break
		}
		time.Sleep(50 * time.Millisecond) // polling interval
	}
	if err != nil {
		t.Fatal(err)
	}
	n.addr = ln.Addr().String()
	srv := httpapi.NewHTTPServer(api.Handler(), httpapi.HTTPOptions{Logger: log})
	go srv.Serve(ln)
	n.store, n.hub, n.api, n.srv, n.cancel, n.done = store, hub, api, srv, cancel, done
}

func (n *node) stop() {
	if n.srv == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := n.api.Shutdown(ctx); err != nil {
		n.t.Errorf("api shutdown: %v", err)
	}
	n.srv.Shutdown(ctx)
	n.srv.Close()
	n.cancel()
	<-n.done
	n.store.Close()
	n.srv = nil
}

func (n *node) url(path string) string { return "http://" + n.addr + path }

func (n *node) token(user string) string {
	n.t.Helper()
	tok, err := httpapi.MintToken(testSecret, user, time.Hour)
	if err != nil {
		n.t.Fatal(err)
	}
	return tok
}

// publish creates a notification through the publish API and returns its id.
func (n *node) publish(user, message string) int64 {
	n.t.Helper()
	body, _ := json.Marshal(map[string]any{"user_id": user, "message": message, "title": "Test"})
	req, _ := http.NewRequest("POST", n.url("/api/notifications"), bytes.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+testAPIKey)
	req.Header.Set("Content-Type", "application/json")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		n.t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	if res.StatusCode != http.StatusCreated {
		n.t.Fatalf("publish: %d %s", res.StatusCode, b)
	}
	var out struct{ ID int64 }
	if err := json.Unmarshal(b, &out); err != nil {
		n.t.Fatal(err)
	}
	return out.ID
}

// quietBroker drops every message: a notification created through it is
// stored but never pushed, as if the broker had lost it.
type quietBroker struct{}

func (quietBroker) Publish(context.Context, []belfry.Message) error  { return nil }
func (quietBroker) Subscribe(string)                                 {}
func (quietBroker) Unsubscribe(string)                               {}
func (quietBroker) Run(ctx context.Context, _ belfry.Receiver) error { <-ctx.Done(); return nil }
func (quietBroker) Ping(context.Context) error                       { return nil }
func (quietBroker) Close() error                                     { return nil }

// createSilently stores a notification in store without any live event.
func createSilently(t *testing.T, store belfry.Store, user, message string) {
	t.Helper()
	ib := &belfry.Inbox{Store: store, Broker: quietBroker{}}
	if _, err := ib.Create(context.Background(), belfry.Draft{UserIDs: []string{user}, Message: message}); err != nil {
		t.Fatal(err)
	}
}

// ---- test pages, served by belfry itself under /assets/test/ ----

// testAssets wraps web.Handler with the pages and files the browser tests
// load from belfry's own origin (so cookies and EventSource are same-origin).
func testAssets() http.Handler {
	assets := web.Handler()
	mux := http.NewServeMux()
	mux.Handle("/", assets)
	mux.HandleFunc("GET /assets/test/bell.html", func(w http.ResponseWriter, r *http.Request) {
		bellPage(w, r, `<notification-bell`+bellAttrs(r)+`></notification-bell>`,
			`<script type="module">
import "/assets/notification-bell.js";
const el = document.querySelector("notification-bell");
for (const name of ["change", "notification", "status", "error"]) el.addEventListener("belfry-" + name, (e) => __record(name, e.detail));
el.addEventListener("belfry-action", (e) => { __record("action", e.detail); if (__preventAction) e.preventDefault(); });
</script>`)
	})
	mux.HandleFunc("GET /assets/test/vue2.html", func(w http.ResponseWriter, r *http.Request) {
		bellPage(w, r, `<div id="app"><notification-bell`+bellAttrs(r)+` @change="rec('change', $event)"
 @notification="rec('notification', $event)" @status="rec('status', $event)" @error="rec('error', $event)"
 @action="act($event)"></notification-bell></div>`, importMap+`<script type="module">
import Vue from "vue";
import NotificationBell from "/assets/test/sfc/vue2/NotificationBell.vue.js";
Vue.component("notification-bell", NotificationBell);
window.vm = new Vue({ el: "#app", methods: {
  rec(name, d) { __record(name, d); },
  act(e) { __record("action", e); if (__preventAction) e.preventDefault(); } } });
</script>`)
	})
	// An avatar image: a gradient with two letters (avatar: "/assets/test/avatar/AK.svg").
	mux.HandleFunc("GET /assets/test/avatar/{name}", func(w http.ResponseWriter, r *http.Request) {
		name := strings.TrimSuffix(r.PathValue("name"), ".svg")
		if len(name) > 2 {
			name = name[:2]
		}
		w.Header().Set("Content-Type", "image/svg+xml")
		fmt.Fprintf(w, `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 80 80"><defs><linearGradient id="g" x1="0" y1="0" x2="1" y2="1">
<stop offset="0" stop-color="#f59e0b"/><stop offset="1" stop-color="#db2777"/></linearGradient></defs>
<rect width="80" height="80" fill="url(#g)"/><text x="40" y="51" font-family="sans-serif" font-size="30" font-weight="600"
fill="#fff" text-anchor="middle">%s</text></svg>`, htmlAttr(name))
	})
	mux.HandleFunc("GET /assets/test/original.html", func(w http.ResponseWriter, r *http.Request) {
		page(w, importMap+`<div id="app"><notification-bell></notification-bell></div>
<script type="module">
import Vue from "vue";
import NotificationBell from "/assets/test/sfc/testdata/OriginalNotificationBell.vue.js";
Vue.component("notification-bell", NotificationBell);
window.vm = new Vue({ el: "#app" });
</script>`)
	})
	mux.HandleFunc("GET /assets/test/blank.html", func(w http.ResponseWriter, r *http.Request) { page(w, "blank") })
	// The shipped service worker with a test hook (push_test.go).
	mux.HandleFunc("GET /assets/test/belfry-sw-click.js", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/javascript")
		w.Header().Set("Cache-Control", "no-cache")
		w.Write([]byte(swClickHook))
	})
	mux.Handle("GET /assets/test/node_modules/", http.StripPrefix("/assets/test/node_modules/",
		http.FileServer(http.Dir("node_modules"))))
	mux.HandleFunc("GET /assets/test/sfc/{dir}/{file}", func(w http.ResponseWriter, r *http.Request) {
		if r.PathValue("dir") == "vue2" && !strings.HasSuffix(r.PathValue("file"), ".vue.js") {
			// The component imports ./belfry-client.js, which imports its
			// modules beside it: an app copies them next to the .vue file.
			serveStatic(w, r, r.PathValue("file"))
			return
		}
		dir, file := r.PathValue("dir"), strings.TrimSuffix(r.PathValue("file"), ".js")
		if (dir != "vue2" && dir != "testdata") || !strings.HasSuffix(file, ".vue") {
			http.NotFound(w, r)
			return
		}
		src, err := os.ReadFile(filepath.Join(dir, file))
		if err != nil {
			http.NotFound(w, r)
			return
		}
		mod, err := sfcModule(string(src))
		if err != nil {
			http.Error(w, err.Error(), 500)
			return
		}
		w.Header().Set("Content-Type", "text/javascript")
		w.Write([]byte(mod))
	})
	return mux
}

// serveStatic answers with static/<name>, a JavaScript module.
func serveStatic(w http.ResponseWriter, r *http.Request, name string) {
	if !strings.HasSuffix(name, ".js") || strings.ContainsAny(name, "/\\") {
		http.NotFound(w, r)
		return
	}
	b, err := os.ReadFile(filepath.Join("static", name))
	if err != nil {
		http.NotFound(w, r)
		return
	}
	w.Header().Set("Content-Type", "text/javascript")
	w.Write(b)
}

// importMap resolves the bare imports of the Vue components to the pinned
// npm packages (web/package.json): what a bundler does in an app.
const importMap = `<script type="importmap">{"imports": {
 "vue": "/assets/test/node_modules/vue/dist/vue.esm.browser.min.js",
 "axios": "/assets/test/node_modules/axios/dist/esm/axios.min.js"}}</script>
`

func page(w http.ResponseWriter, body string) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	fmt.Fprintf(w, `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>test</title></head>
<body style="margin:0;padding:8px 8px 8px 400px;font-family:sans-serif">%s</body></html>`, body)
}

// bellAttrs are the attributes of a test page's bell, from its query: the
// element's and the Vue component's are spelt alike (limit is 5 unless
// given).
func bellAttrs(r *http.Request) string {
	q := r.URL.Query()
	if !q.Has("limit") {
		q.Set("limit", "5")
	}
	var b strings.Builder
	for _, name := range []string{"token", "token-url", "limit", "shared", "tabs", "theme", "lang", "badge",
		"all-url", "desktop-notifications", "title-count", "sw-url"} {
		if q.Has(name) {
			b.WriteString(" " + name + `="` + htmlAttr(q.Get(name)) + `"`)
		}
	}
	return b.String()
}

// bellPage writes a test page: the bell in an app's header bar, placed by
// pos (left, right, center; default: 400px from the left, after a button),
// on a light page or a dark one (page=dark), in the document language
// doclang (default en), with extra CSS (css). window.B reaches the bell's
// DOM the same way for the element (in its shadow root) and the Vue
// component, so that one test body checks both.
func bellPage(w http.ResponseWriter, r *http.Request, bell, script string) {
	q := r.URL.Query()
	lang := q.Get("doclang")
	if lang == "" {
		lang = "en"
	}
	bg, fg := "#f6f6f8", "#1d1d22"
	if q.Get("page") == "dark" {
		bg, fg = "#0b0b0e", "#e8e8ec"
	}
	justify := map[string]string{"left": "flex-start", "right": "flex-end", "center": "center"}[q.Get("pos")]
	header := `<header style="display:flex;align-items:center;gap:12px;padding:10px 16px;justify-content:` + justify + `">`
	before := ""
	if justify == "" {
		header = `<header style="display:flex;align-items:center;gap:12px;padding:10px 16px 10px 400px">`
		before = `<button id="before">before</button>`
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	fmt.Fprintf(w, `<!doctype html><html lang="%s"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1"><title>test</title>
<style>body{margin:0;font-family:sans-serif;background:%s;color:%s;min-height:100vh}%s</style>
<script>
window.__events = []; window.__preventAction = %t;
window.__record = (name, d) => window.__events.push({ name, id: d && (d.id || (d.notification && d.notification.id)) || 0,
  action: d && d.action && d.action.id || "", error: name === "error" ? String(d && d.error || d) : "" });
window.B = {
  el() { return document.querySelector("notification-bell") || document.querySelector(".belfry-bell"); },
  root() { const e = document.querySelector("notification-bell"); return e ? e.shadowRoot && e.shadowRoot.querySelector(".belfry-bell") : document.querySelector(".belfry-bell"); },
  client() { const e = document.querySelector("notification-bell"); if (e) return e.client; const r = B.root(); return r && r.__vue__ && r.__vue__.client; },
  q(sel) { const r = B.root(); return r ? r.querySelector(sel) : null; },
  qa(sel) { const r = B.root(); return r ? [...r.querySelectorAll(sel)] : []; },
  shown(sel) { const e = B.q(sel); return !!e && e.getClientRects().length > 0; },
  text(sel) { const e = B.q(sel); return e ? e.textContent.trim() : ""; },
  focused() { const e = document.querySelector("notification-bell"); return e ? e.shadowRoot.activeElement : document.activeElement; },
  click(sel) { const e = B.q(sel); if (!e) throw new Error("no " + sel); e.click(); return true; },
  messages() { return B.qa(".belfry-item .belfry-message").map((e) => e.textContent); },
};
</script></head>
<body>%s%s%s</header>
<main style="padding:16px">page</main>%s</body></html>`,
		htmlAttr(lang), bg, fg, q.Get("css"), q.Get("prevent-action") == "1", header, before, bell, script)
}

func htmlAttr(s string) string {
	return strings.NewReplacer(`&`, "&amp;", `"`, "&quot;", `<`, "&lt;").Replace(s)
}

var (
	sfcTemplate = regexp.MustCompile(`(?s)^\s*<template>(.*)</template>\s*<script>`)
	sfcScript   = regexp.MustCompile(`(?s)<script>(.*?)</script>`)
	sfcStyle    = regexp.MustCompile(`(?s)<style[^>]*>(.*?)</style>`)
)

// sfcModule turns a Vue single-file component into an ES module, as
// vue-loader would, minus scoped CSS (the style is added globally): the
// script's default export gets the template, which Vue's full build
// compiles at run time. The .vue file itself is used unchanged.
func sfcModule(src string) (string, error) {
	tm := sfcTemplate.FindStringSubmatch(src)
	sm := sfcScript.FindStringSubmatch(src)
	if tm == nil || sm == nil || !strings.Contains(sm[1], "export default") {
		return "", errors.New("not a single-file component with a template and a default export")
	}
	tpl, _ := json.Marshal(strings.TrimSpace(tm[1]))
	var css []byte
	if st := sfcStyle.FindStringSubmatch(src); st != nil {
		css, _ = json.Marshal(st[1])
	} else {
		css = []byte(`""`)
	}
	script := strings.Replace(sm[1], "export default", "const __component =", 1)
	return script + "\n__component.template = " + string(tpl) + ";\n" +
		"{ const s = document.createElement('style'); s.textContent = " + string(css) + "; document.head.append(s); }\n" +
		"export default __component;\n", nil
}

// ---- one Chromium for the package, a fresh browser context per test ----

var browser struct {
	once   sync.Once
	ctx    context.Context
	cancel context.CancelFunc
	err    error
}

func TestMain(m *testing.M) {
	code := m.Run()
	if browser.cancel != nil {
		browser.cancel()
	}
	os.Exit(code)
}

// newBrowserContext returns a chromedp context in a new, isolated browser
// context (its own cookies, Web Locks and BroadcastChannels), bounded by
// timeout. It skips the test under -short, and when BELFRY_TEST_CHROMIUM
// is unset.
func newBrowserContext(t *testing.T, timeout time.Duration) context.Context {
	t.Helper()
	if testing.Short() {
		t.Skip("a browser test: runs without -short")
	}
	path := os.Getenv("BELFRY_TEST_CHROMIUM")
	if path == "" {
		t.Skip("BELFRY_TEST_CHROMIUM is not set (the path of a chromium binary); skipping the browser test")
	}
	browser.once.Do(func() {
		dir, err := os.MkdirTemp("", "belfry-chromium-")
		if err != nil {
			browser.err = err
			return
		}
		opts := []chromedp.ExecAllocatorOption{
			chromedp.ExecPath(path), chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU,
			chromedp.NoFirstRun, chromedp.NoDefaultBrowserCheck, chromedp.UserDataDir(dir),
			chromedp.WindowSize(1000, 700),
			chromedp.Flag("disable-background-networking", true),
			chromedp.Flag("disable-component-update", true),
			chromedp.Flag("disable-sync", true),
			chromedp.Flag("disable-quic", true),
			chromedp.Flag("disable-dev-shm-usage", true),
			chromedp.Flag("disable-background-timer-throttling", true),
			chromedp.Flag("disable-renderer-backgrounding", true),
			chromedp.Flag("disable-backgrounding-occluded-windows", true),
		}
		actx, acancel := chromedp.NewExecAllocator(context.Background(), opts...)
		bctx, bcancel := chromedp.NewContext(actx)
		// The first Run starts the browser; no timeout on it (it would end the browser).
		if err := chromedp.Do(bctx); err != nil {
			browser.err = err
		}
		browser.ctx = bctx
		browser.cancel = func() { bcancel(); acancel(); os.RemoveAll(dir) }
	})
	if browser.err != nil {
		t.Fatalf("starting chromium: %v", browser.err)
	}
	ctx, cancel := chromedp.NewContext(browser.ctx, chromedp.WithNewBrowserContext())
	t.Cleanup(cancel)
	if err := chromedp.Do(ctx); err != nil { // create the target now, without the timeout
		t.Fatal(err)
	}
	tctx, tcancel := context.WithTimeout(ctx, timeout)
	t.Cleanup(tcancel)
	return tctx
}

// newTab opens another tab in the browser context of ctx.
func newTab(t *testing.T, ctx context.Context) context.Context {
	t.Helper()
	tab, cancel := chromedp.NewContext(ctx)
	t.Cleanup(cancel)
	return tab
}

// run navigates the tab and fails the test on error.
func navigate(t *testing.T, tab context.Context, url string) {
	t.Helper()
	if err := chromedp.Do(tab, chromedp.Navigate(url)); err != nil {
		t.Fatalf("navigate %s: %v", url, err)
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

// waitJS polls the predicate in the tab until it is truthy, within 15s.
func waitJS(t *testing.T, tab context.Context, what, predicate string) {
	t.Helper()
	_, err := chromedp.Run(tab, chromedp.Poll[chromedp.Void](predicate,
		chromedp.WithPollingInterval(50*time.Millisecond), chromedp.WithPollingTimeout(15*time.Second)))
	if err != nil {
		dump, _ := chromedp.Run(tab, chromedp.Evaluate[string](bellDumpJS))
		t.Fatalf("waiting for %s: %v\nstate: %s", what, err, dump)
	}
}

// bellDumpJS describes the page's bell client for a failure message.
const bellDumpJS = `(() => {
  const c = window.B ? B.client() : (document.querySelector("notification-bell") || {}).client;
  if (!c) return "no bell client on " + location.href;
  return JSON.stringify({ role: c.role, status: c.status, counts: c.counts, countedTo: c._inbox && c._inbox.countedTo,
    cursor: c._cursor, items: c.items.map((n) => n.id + (n.read_at ? "r" : "u") + (n.seen_at ? "s" : "") + (n.archived_at ? "a" : "") + ":" + n.message),
    events: (window.__events || []).filter((e) => e.name !== "change").slice(-20) });
})()`

// waitGo polls a Go condition until it holds, within 15s.
func waitGo(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond) // polling interval, not a wait for an outcome
	}
}

// startStoreOnly opens the SQLite file while no server runs.
func startStoreOnly(t *testing.T, path string) *sqlite.Store {
	t.Helper()
	s, err := sqlite.Open(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	return s
}
