package web_test

import (
	"bytes"
	"context"
	"crypto/ecdh"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/belfry/belfry/httpapi"
	"github.com/belfry/belfry/webpush"
	cdpbrowser "github.com/chromedp/cdproto/browser"
	"github.com/chromedp/cdproto/cdp"
	cdppage "github.com/chromedp/cdproto/page"
	"github.com/chromedp/cdproto/serviceworker"
	"github.com/chromedp/chromedp"
)

// swClickHook is a service worker for the tests: the shipped belfry-sw.js,
// loaded unchanged with importScripts, plus a hook for what a headless
// browser cannot do, click a system notification. A message
// {type: "belfry-test-click", tag, action} runs the worker's own
// notificationclick listener, as the browser would, with the notification
// shown under that tag, and answers on the message's port once the
// listener's waitUntil promises settled: {settled, calls}, calls being the
// windows the worker focused or opened ("focus <url>", "open <url>"). The
// browser lets a worker focus or open windows only during a real click, so
// those calls go through to Chromium and may be refused; the hook records
// what was asked.
const swClickHook = `"use strict";
const clickListeners = [];
const addEventListener = self.addEventListener;
self.addEventListener = function (type, fn, opts) {
  if (type === "notificationclick") clickListeners.push(fn);
  return addEventListener.call(this, type, fn, opts);
};
importScripts("/assets/belfry-sw.js");
self.addEventListener = addEventListener;

const calls = [];
const openWindow = Clients.prototype.openWindow;
Clients.prototype.openWindow = function (url) { calls.push("open " + url); return openWindow.call(this, url); };
const focus = WindowClient.prototype.focus;
WindowClient.prototype.focus = function () { calls.push("focus " + this.url); return focus.call(this); };

self.addEventListener("install", () => self.skipWaiting());
self.addEventListener("activate", (e) => e.waitUntil(self.clients.claim()));
self.addEventListener("message", (e) => {
  const m = e.data || {};
  if (m.type !== "belfry-test-click") return;
  const port = e.ports[0];
  e.waitUntil((async () => {
    const [n] = await self.registration.getNotifications({ tag: m.tag });
    if (!n) { port.postMessage({ error: "no notification tagged " + m.tag }); return; }
    calls.length = 0;
    const pending = [];
    const event = { type: "notificationclick", notification: n, action: m.action || "", waitUntil(p) { pending.push(p); } };
    for (const fn of clickListeners) fn.call(self, event);
    const settled = await Promise.allSettled(pending);
    port.postMessage({ settled: settled.map((s) => s.status + (s.reason ? ": " + s.reason : "")), calls: [...calls] });
  })());
});
`

// swRegistration registers the test worker from the tab (scope
// /assets/test/) and returns its DevTools registration id.
func swRegistration(t *testing.T, tab context.Context, n *node) serviceworker.RegistrationID {
	t.Helper()
	scope := eval[string](t, tab, `navigator.serviceWorker.register("/assets/test/belfry-sw-click.js")
  .then(() => navigator.serviceWorker.ready).then((r) => r.scope)`)
	if scope != n.url("/assets/test/") {
		t.Fatalf("registered for %q", scope)
	}
	ectx, cancel := context.WithTimeout(tab, 15*time.Second)
	defer cancel()
	events := chromedp.Events(ectx, serviceworker.WorkerRegistrationUpdated)
	if _, err := chromedp.Call(tab, serviceworker.Enable, cdp.Empty{}); err != nil {
		t.Fatal(err)
	}
	for ev, err := range events {
		if err != nil {
			t.Fatalf("waiting for the registration: %v", err)
		}
		for _, r := range ev.Registrations {
			if r.ScopeURL == scope && !r.IsDeleted {
				return r.RegistrationID
			}
		}
	}
	t.Fatal("no registration event")
	return ""
}

// grantNotifications allows notifications to the node's origin in the
// tab's browser context, as a user's "Allow" would.
func grantNotifications(t *testing.T, tab context.Context, n *node) {
	t.Helper()
	if _, err := chromedp.CallBrowser(tab, cdpbrowser.SetPermission, cdpbrowser.SetPermissionParams{
		Permission: &cdpbrowser.PermissionDescriptor{Name: "notifications"}, Setting: cdpbrowser.PermissionSettingGranted,
		Origin: n.url(""), BrowserContextID: chromedp.FromContext(tab).BrowserContextID}); err != nil {
		t.Fatal(err)
	}
}

// shownNotifications lists the notifications the worker shows, as the page
// reads them from its registration.
const shownNotificationsJS = `navigator.serviceWorker.ready.then((r) => r.getNotifications()).then((ns) => JSON.stringify(ns.map((n) => ({
  title: n.title, body: n.body, tag: n.tag, icon: n.icon,
  actions: (n.actions || []).map((a) => a.action + ":" + a.title), data: n.data }))))`

type shownNotification struct {
	Title, Body, Tag, Icon string
	Actions                []string
	Data                   map[string]any
}

func shown(t *testing.T, tab context.Context) []shownNotification {
	t.Helper()
	var out []shownNotification
	if err := json.Unmarshal([]byte(eval[string](t, tab, shownNotificationsJS)), &out); err != nil {
		t.Fatal(err)
	}
	return out
}

// clickResult is the hook's answer.
type clickResult struct {
	Error   string
	Settled []string
	Calls   []string
}

// clickNotification runs the worker's click listener for the notification
// tagged tag (with an action button's id, or "" for its body).
func clickNotification(t *testing.T, tab context.Context, tag, action string) clickResult {
	t.Helper()
	js := fmt.Sprintf(`navigator.serviceWorker.ready.then((r) => new Promise((resolve) => {
  const ch = new MessageChannel();
  ch.port1.onmessage = (e) => resolve(JSON.stringify(e.data));
  r.active.postMessage({ type: "belfry-test-click", tag: %q, action: %q }, [ch.port2]);
}))`, tag, action)
	var res clickResult
	if err := json.Unmarshal([]byte(eval[string](t, tab, js)), &res); err != nil {
		t.Fatal(err)
	}
	if res.Error != "" {
		t.Fatal(res.Error)
	}
	for _, s := range res.Settled {
		if s != "fulfilled" {
			t.Fatalf("the click listener's promise: %s", s)
		}
	}
	return res
}

// deliverPush delivers payload to the registration, as the push service would.
func deliverPush(t *testing.T, tab context.Context, n *node, reg serviceworker.RegistrationID, payload map[string]any) {
	t.Helper()
	b, _ := json.Marshal(payload)
	if _, err := chromedp.Call(tab, serviceworker.DeliverPushMessage, serviceworker.DeliverPushMessageParams{
		Origin: n.url(""), RegistrationID: reg, Data: string(b)}); err != nil {
		t.Fatal(err)
	}
}

// deliverShown delivers payload until the worker shows it (tagged tag):
// a worker that Chromium is still starting may miss one delivery, and the
// tag makes a repeat replace the first, as push services' retries do.
func deliverShown(t *testing.T, tab context.Context, n *node, reg serviceworker.RegistrationID, payload map[string]any, tag string) shownNotification {
	t.Helper()
	for range 5 {
		deliverPush(t, tab, n, reg, payload)
		deadline := time.Now().Add(5 * time.Second)
		for time.Now().Before(deadline) {
			for _, s := range shown(t, tab) {
				if s.Tag == tag {
					return s
				}
			}
			time.Sleep(20 * time.Millisecond) // polling interval, not a wait for an outcome
		}
	}
	t.Fatalf("the worker never showed %s", tag)
	return shownNotification{}
}

// pushToken is the payload's token: good only for that notification.
func (n *node) pushToken(user string, id int64) string {
	n.t.Helper()
	tok, err := httpapi.MintNotificationToken(testSecret, user, id, time.Hour)
	if err != nil {
		n.t.Fatal(err)
	}
	return tok
}

// waitShown polls the notifications shown until cond holds, within 15s.
func waitShown(t *testing.T, tab context.Context, what string, cond func([]shownNotification) bool) []shownNotification {
	t.Helper()
	var got []shownNotification
	waitGo(t, what, func() bool {
		got = shown(t, tab)
		return cond(got)
	})
	return got
}

func (n *node) notification(user string, id int64) map[string]any {
	n.t.Helper()
	var list []map[string]any
	n.userGet(user, "/notifications?limit=100", &list)
	for _, x := range list {
		if x["id"] == float64(id) {
			return x
		}
	}
	n.t.Fatalf("notification %d is not listed", id)
	return nil
}

// TestPushServiceWorker: a push shows a notification per the payload; a
// click records the read (or the action) with belfry, with the payload's
// token, and brings the link's window forward; another tab's bell sees the
// read live.
func TestPushServiceWorker(t *testing.T) {
	n := startNode(t, nil)
	ctx := newBrowserContext(t, 90*time.Second)
	grantNotifications(t, ctx, n)
	// The tab whose URL the notification links to: a bell, live.
	bellTab := newTab(t, ctx)
	openInbox(t, bellTab, n, impls[0], "ivy", "tab=b")
	// The worker's page.
	navigate(t, ctx, n.url("/assets/test/blank.html"))
	if p := eval[string](t, ctx, `Notification.permission`); p != "granted" {
		t.Fatalf("permission %q", p)
	}
	reg := swRegistration(t, ctx, n)

	link := n.url("/assets/test/bell.html")
	id := n.send(map[string]any{"user_id": "ivy", "title": "Invoice paid", "message": "€1,240.00 from Acme",
		"category": "billing", "link": link})
	waitJS(t, bellTab, "the bell to count it", `B.root().dataset.unread === "1"`)
	token := n.pushToken("ivy", id)
	tag := fmt.Sprintf("belfry-%d", id)
	got := deliverShown(t, ctx, n, reg, map[string]any{"id": id, "user_id": "ivy", "title": "Invoice paid",
		"body": "€1,240.00 from Acme", "link": link, "icon": n.url("/assets/test/avatar/IP.svg"), "category": "billing",
		"actions":    []map[string]string{{"action": "approve", "title": "Approve"}, {"action": "decline", "title": "Decline"}},
		"created_at": time.Now().UTC().Format("2006-01-02T15:04:05.000Z"), "api": n.url(""), "token": token}, tag)
	if got.Title != "Invoice paid" || got.Body != "€1,240.00 from Acme" || got.Tag != tag ||
		got.Icon != n.url("/assets/test/avatar/IP.svg") || strings.Join(got.Actions, ",") != "approve:Approve,decline:Decline" {
		t.Fatalf("shown: %+v", got)
	}
	if got.Data["token"] != token || got.Data["id"] != float64(id) || got.Data["link"] != link {
		t.Fatalf("data: %+v", got.Data)
	}

	res := clickNotification(t, ctx, tag, "")
	if r := n.notification("ivy", id); r["read_at"] == nil {
		t.Fatalf("not read after the click: %+v", r)
	}
	waitJS(t, bellTab, "the other tab's bell to see it read", `B.root().dataset.unread === "0"`)
	bellURL := eval[string](t, bellTab, `location.href`)
	if len(res.Calls) != 1 || res.Calls[0] != "focus "+bellURL {
		t.Fatalf("windows: %q, want the bell's tab focused (%s)", res.Calls, bellURL)
	}
	waitShown(t, ctx, "the notification to close", func(s []shownNotification) bool { return len(s) == 0 })

	// An action button, on a notification without a title or a link: the
	// body is the title, the action is recorded, no window is opened.
	id2 := n.send(map[string]any{"user_id": "ivy", "message": "Approve the upgrade?",
		"actions": []action{{"id": "approve", "label": "Approve"}}})
	got = deliverShown(t, ctx, n, reg, map[string]any{"id": id2, "user_id": "ivy", "body": "Approve the upgrade?",
		"actions": []map[string]string{{"action": "approve", "title": "Approve"}}, "api": n.url(""), "token": n.pushToken("ivy", id2)},
		fmt.Sprintf("belfry-%d", id2))
	if got.Title != "Approve the upgrade?" || got.Body != "" || got.Tag != fmt.Sprintf("belfry-%d", id2) {
		t.Fatalf("shown: %+v", got)
	}
	res = clickNotification(t, ctx, got.Tag, "approve")
	if r := n.notification("ivy", id2); r["action"] != "approve" {
		t.Fatalf("the action is not recorded: %+v", r)
	}
	if len(res.Calls) != 0 {
		t.Fatalf("windows: %q, want none without a link", res.Calls)
	}
	waitJS(t, bellTab, "the other tab's bell to see the action", fmt.Sprintf(`(B.client().get(%d) || {}).action === "approve"`, id2))
	eval[bool](t, bellTab, `B.click(".belfry-button")`)
	waitJS(t, bellTab, "the list", `B.qa(".belfry-item").length === 2`)
	shot(t, bellTab, impls[0], "push-clicked")

	// A token the server refuses (another notification's): the click
	// still closes the notification and the read is not recorded.
	id3 := n.send(map[string]any{"user_id": "ivy", "message": "third"})
	got = deliverShown(t, ctx, n, reg, map[string]any{"id": id3, "body": "third", "api": n.url(""),
		"token": n.pushToken("ivy", id2)}, fmt.Sprintf("belfry-%d", id3))
	clickNotification(t, ctx, got.Tag, "")
	if r := n.notification("ivy", id3); r["read_at"] != nil {
		t.Fatalf("read with a bad token: %+v", r)
	}
	waitShown(t, ctx, "the third notification to close", func(s []shownNotification) bool { return len(s) == 0 })
}

// startPushNode starts a node with Web Push on: a fresh VAPID key and the
// default push policy.
func startPushNode(t *testing.T) *node {
	t.Helper()
	key, err := webpush.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	n := &node{t: t, dbPath: filepath.Join(t.TempDir(), "belfry.db"), addr: "127.0.0.1:0", push: key}
	n.start()
	t.Cleanup(n.stop)
	return n
}

// pageNotificationsJS runs before the page: document.hidden is
// window.__hidden (a headless tab is never hidden), and the page's
// notifications (new Notification, the real one) are recorded in
// window.__shown as "title|body|tag" ("" for the bell's default title).
const pageNotificationsJS = `(() => {
  window.__hidden = false;
  window.__shown = [];
  Object.defineProperty(Document.prototype, "hidden", { get: () => window.__hidden, configurable: true });
  const Real = window.Notification;
  window.Notification = class extends Real {
    constructor(title, opts) {
      super(title, opts);
      window.__shown.push((title === "Notifications" || title === "Notifikasi" ? "" : title) + "|" + (opts && opts.body || "") + "|" + (opts && opts.tag || ""));
    }
  };
})()`

const desktopSwitchJS = `B.q('.belfry-switch[data-kind="desktop"]')`

// openDesktopSwitch opens the bell's preferences and waits for the
// desktop switch to show the browser's state.
func openDesktopSwitch(t *testing.T, tab context.Context, n *node, im impl, user, query string) {
	t.Helper()
	openInbox(t, tab, n, im, user, "desktop-notifications=&pos=right&"+query)
	eval[bool](t, tab, `B.click(".belfry-button")`)
	eval[bool](t, tab, `B.click(".belfry-gear")`)
	waitJS(t, tab, "the desktop switch", desktopSwitchJS+` && !["Loading…", "Memuat…"].includes(`+desktopSwitchJS+`.closest(".belfry-pref").querySelector(".belfry-pref-hint").textContent)`)
}

// desktopRow is the switch's state and hint: "on|off enabled|disabled: hint".
const desktopRowJS = `(() => { const s = ` + desktopSwitchJS + `; return (s.getAttribute("aria-checked") === "true" ? "on" : "off") +
  (s.disabled ? " disabled" : " enabled") + (s.getAttribute("aria-busy") ? " busy" : "") + ": " +
  s.closest(".belfry-pref").querySelector(".belfry-pref-hint").textContent; })()`

func waitDesktopRow(t *testing.T, tab context.Context, want string) {
	t.Helper()
	js, _ := json.Marshal(want)
	waitJS(t, tab, "the desktop switch: "+want, desktopRowJS+` === `+string(js))
}

// TestPushSwitch: the preferences' "Desktop notifications" switch with the
// permission granted (or denied) through the DevTools protocol: what it
// says when the server has push off, when the browser refuses to
// subscribe, when the permission is denied, when the browser has no push.
func TestPushSwitch(t *testing.T) {
	forEachImpl(t, func(t *testing.T, im impl) {
		t.Run("server-off", func(t *testing.T) {
			// This server has push off (GET /notifications/push/key is
			// 404): the switch is the page's own notifications, shown
			// while the page is hidden.
			n := startNode(t, nil)
			ctx := newBrowserContext(t, 60*time.Second)
			if _, err := chromedp.Call(ctx, cdppage.AddScriptToEvaluateOnNewDocument,
				cdppage.AddScriptToEvaluateOnNewDocumentParams{Source: pageNotificationsJS}); err != nil {
				t.Fatal(err)
			}
			grantNotifications(t, ctx, n)
			// Allowed and never turned off: on.
			openDesktopSwitch(t, ctx, n, im, "kai", "")
			waitDesktopRow(t, ctx, "on enabled: On in this browser, while the app is open in a tab.")
			shot(t, ctx, im, "push-server-off")

			// Hidden, the page shows a notification; visible, it does not.
			eval[bool](t, ctx, `__hidden = true`)
			id := n.send(map[string]any{"user_id": "kai", "title": "Invoice paid", "message": "€1,240.00 from Acme"})
			waitJS(t, ctx, "the page's notification", fmt.Sprintf(`JSON.stringify(__shown) === JSON.stringify(["Invoice paid|€1,240.00 from Acme|belfry-%d"])`, id))
			eval[bool](t, ctx, `__hidden = false`)
			id = n.send(map[string]any{"user_id": "kai", "message": "while visible"})
			waitJS(t, ctx, "the notification event", fmt.Sprintf(`__events.some((e) => e.name === "notification" && e.id === %d)`, id))
			if got := eval[int](t, ctx, `__shown.length`); got != 1 {
				t.Fatalf("%d page notifications, want none while visible", got-1)
			}

			// Off: none while hidden either, and it stays off after a reload.
			eval[bool](t, ctx, `B.click('.belfry-switch[data-kind="desktop"]')`)
			waitDesktopRow(t, ctx, "off enabled: Get notified on this device while the app is open in a tab.")
			openDesktopSwitch(t, ctx, n, im, "kai", "lang=id")
			waitDesktopRow(t, ctx, "off enabled: Dapatkan notifikasi di perangkat ini selama aplikasi terbuka di sebuah tab.")
			eval[bool](t, ctx, `__hidden = true`)
			id = n.send(map[string]any{"user_id": "kai", "message": "while off"})
			waitJS(t, ctx, "the notification event", fmt.Sprintf(`__events.some((e) => e.name === "notification" && e.id === %d)`, id))
			if got := eval[int](t, ctx, `__shown.length`); got != 0 {
				t.Fatalf("%d page notifications with the switch off", got)
			}
			// On again.
			eval[bool](t, ctx, `B.click('.belfry-switch[data-kind="desktop"]')`)
			waitDesktopRow(t, ctx, "on enabled: Aktif di peramban ini, selama aplikasi terbuka di sebuah tab.")
			id = n.send(map[string]any{"user_id": "kai", "message": "on again"})
			waitJS(t, ctx, "the page's notification", fmt.Sprintf(`JSON.stringify(__shown) === JSON.stringify(["|on again|belfry-%d"])`, id))
			// Nothing was registered for nothing.
			if got := eval[int](t, ctx, `navigator.serviceWorker.getRegistrations().then((rs) => rs.length)`); got != 0 {
				t.Fatalf("%d service workers registered", got)
			}
		})
		t.Run("subscribe-refused", func(t *testing.T) {
			// A fresh browser context is off the record: Chromium refuses
			// to subscribe there ("Registration failed - permission
			// denied"), as a browser whose push service is off does.
			n := startPushNode(t)
			ctx := newBrowserContext(t, 60*time.Second)
			grantNotifications(t, ctx, n)
			openDesktopSwitch(t, ctx, n, im, "kai", "lang=id")
			waitDesktopRow(t, ctx, "off enabled: Dapatkan notifikasi di perangkat ini, bahkan saat halaman ini ditutup.")
			eval[bool](t, ctx, `B.click('.belfry-switch[data-kind="desktop"]')`)
			waitDesktopRow(t, ctx, "off enabled: Tidak dapat diaktifkan. Coba lagi nanti.")
			waitJS(t, ctx, "the error event", `__events.some((e) => e.name === "error" && /Registration failed/.test(e.error))`)
			// The worker was registered from the default sw-url, with its default scope.
			got := eval[string](t, ctx, `navigator.serviceWorker.getRegistration("/assets/").then((r) => r ? r.scope + " " + (r.active || r.waiting || r.installing).scriptURL : "none")`)
			if want := n.url("/assets/") + " " + n.url("/assets/belfry-sw.js"); got != want {
				t.Fatalf("registration %q, want %q", got, want)
			}
			shot(t, ctx, im, "push-subscribe-failed")
		})
		t.Run("denied", func(t *testing.T) {
			n := startPushNode(t)
			ctx := newBrowserContext(t, 60*time.Second)
			if _, err := chromedp.CallBrowser(ctx, cdpbrowser.SetPermission, cdpbrowser.SetPermissionParams{
				Permission: &cdpbrowser.PermissionDescriptor{Name: "notifications"}, Setting: cdpbrowser.PermissionSettingDenied,
				Origin: n.url(""), BrowserContextID: chromedp.FromContext(ctx).BrowserContextID}); err != nil {
				t.Fatal(err)
			}
			openDesktopSwitch(t, ctx, n, im, "kai", "")
			waitDesktopRow(t, ctx, "off disabled: Blocked in the browser's settings.")
		})
		t.Run("unsupported", func(t *testing.T) {
			n := startPushNode(t)
			ctx := newBrowserContext(t, 60*time.Second)
			// A browser without the Push API (as Safari on iOS outside a home-screen app).
			if _, err := chromedp.Call(ctx, cdppage.AddScriptToEvaluateOnNewDocument,
				cdppage.AddScriptToEvaluateOnNewDocumentParams{Source: `delete window.PushManager`}); err != nil {
				t.Fatal(err)
			}
			openDesktopSwitch(t, ctx, n, im, "kai", "")
			waitDesktopRow(t, ctx, "off disabled: This browser cannot show desktop notifications here.")
		})
	})
}

// TestPushSubscribeTimeout: in a browser profile that may subscribe but
// whose push service cannot be reached (Chromium's default profile here,
// with no network), subscribe() never answers; enable gives up after its
// timeout, and a subscription that would come later is not kept.
func TestPushSubscribeTimeout(t *testing.T) {
	n := startPushNode(t)
	newBrowserContext(t, 60*time.Second) // starts the browser, or skips
	tab, cancel := chromedp.NewContext(browser.ctx)
	defer cancel()
	ctx, cancelT := context.WithTimeout(tab, 60*time.Second)
	defer cancelT()
	navigate(t, ctx, n.url("/assets/test/blank.html"))
	grantNotifications(t, ctx, n)
	t.Cleanup(func() {
		// The default profile outlives the test: leave no worker behind.
		chromedp.Run(ctx, chromedp.Evaluate[chromedp.Void](`navigator.serviceWorker.getRegistrations().then((rs) => Promise.all(rs.map((r) => r.unregister())))`, chromedp.EvalAwaitPromise))
	})
	got := eval[string](t, ctx, fmt.Sprintf(`(async () => {
  const push = await import("/assets/belfry-push.js");
  const { BelfryClient } = await import("/assets/belfry-client.js");
  const client = new BelfryClient({ token: %q });
  const r = await push.enable(globalThis, client, "/assets/belfry-sw.js", { timeout: 1500 });
  const s = await push.state(globalThis, "/assets/belfry-sw.js");
  return r.outcome + " " + s.subscribed + " " + (r.error && r.error.message);
})()`, n.token("kai")))
	if got != "failed false the push service did not answer within 1500 ms" {
		t.Fatalf("enable: %q", got)
	}
}

// TestPushNodeConfig: the test servers' push is belfry's own: a node from
// startPushNode answers its VAPID key and vets endpoints with the default
// push policy; a node from startNode has push off.
func TestPushNodeConfig(t *testing.T) {
	do := func(n *node, method, path string, body any) (int, map[string]any) {
		t.Helper()
		b, _ := json.Marshal(body)
		req, _ := http.NewRequest(method, n.url(path), bytes.NewReader(b))
		req.Header.Set("Authorization", "Bearer "+n.token("kai"))
		req.Header.Set("Content-Type", "application/json")
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		var out map[string]any
		json.NewDecoder(res.Body).Decode(&out)
		return res.StatusCode, out
	}
	// A browser's subscription: a P-256 point and a 16-byte secret.
	k, err := ecdh.P256().GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	sub := func(endpoint string) map[string]any {
		return map[string]any{"endpoint": endpoint, "expirationTime": nil, "keys": map[string]string{
			"p256dh": base64.RawURLEncoding.EncodeToString(k.PublicKey().Bytes()),
			"auth":   base64.RawURLEncoding.EncodeToString(make([]byte, 16))}}
	}

	on := startPushNode(t)
	if code, body := do(on, "GET", "/notifications/push/key", nil); code != 200 || body["public_key"] != on.push.PublicKey() {
		t.Fatalf("key: %d %v, want %s", code, body, on.push.PublicKey())
	}
	if code, body := do(on, "POST", "/notifications/push/subscriptions", sub("https://fcm.googleapis.com/fcm/send/abc")); code != 201 {
		t.Fatalf("a push service's endpoint: %d %v", code, body)
	}
	for _, endpoint := range []string{"http://127.0.0.1:9/push", "https://127.0.0.1/push", "https://push.example/x"} {
		if code, body := do(on, "POST", "/notifications/push/subscriptions", sub(endpoint)); code != 400 {
			t.Fatalf("%s: %d %v, want 400 from the default policy", endpoint, code, body)
		}
	}

	off := startNode(t, nil)
	if code, _ := do(off, "GET", "/notifications/push/key", nil); code != 404 {
		t.Fatalf("key with push off: %d, want 404", code)
	}
	if code, _ := do(off, "POST", "/notifications/push/subscriptions", sub("https://fcm.googleapis.com/fcm/send/abc")); code != 404 {
		t.Fatalf("subscribe with push off: %d, want 404", code)
	}
}
