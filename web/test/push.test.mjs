// Unit tests of the pure parts of Web Push in the bell (static/belfry-push.js)
// and of the service worker (static/belfry-sw.js), which runs here in a
// node:vm context with stand-ins for the worker's globals: node --test web/test
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import vm from "node:vm";
import * as push from "../static/belfry-push.js";
import { STRINGS, translator } from "../static/belfry-i18n.js";

test("keyBytes decodes base64url without padding", () => {
  const bytes = Uint8Array.from({ length: 65 }, (_, i) => (i * 37 + 4) & 255);
  const b64url = Buffer.from(bytes).toString("base64url");
  assert.ok(!b64url.includes("="));
  assert.deepEqual(push.keyBytes(b64url), bytes);
  assert.deepEqual(push.keyBytes("-_8"), new Uint8Array([0xfb, 0xff]));
});

test("the worker's URL: sw-url, else <endpoint>/assets/belfry-sw.js, else the page's origin", () => {
  const page = "https://app.example/inbox/x?y=1";
  assert.equal(push.defaultWorkerURL("", "", page), "https://app.example/assets/belfry-sw.js");
  assert.equal(push.defaultWorkerURL(null, "https://belfry.example/", page), "https://belfry.example/assets/belfry-sw.js");
  assert.equal(push.defaultWorkerURL("/belfry/sw.js?api=https://belfry.example", "https://belfry.example", page),
    "https://app.example/belfry/sw.js?api=https://belfry.example");
});

test("support needs Notification, PushManager, a service worker container and a secure context", () => {
  const ok = { Notification: function () {}, PushManager: function () {}, navigator: { serviceWorker: {} }, isSecureContext: true };
  assert.equal(push.support(ok), "ok");
  assert.equal(push.support({ ...ok, PushManager: undefined }), "unsupported");
  assert.equal(push.support({ ...ok, Notification: undefined }), "unsupported");
  assert.equal(push.support({ ...ok, navigator: {} }), "unsupported");
  assert.equal(push.support({ ...ok, isSecureContext: false }), "unsupported");
  assert.equal(push.support(undefined), "unsupported");
  // With push off on the server, the page's own notifications need Notification alone.
  assert.equal(push.support({ Notification: function () {} }, "off"), "ok");
  assert.equal(push.support({ navigator: {} }, "off"), "unsupported");
  assert.equal(push.support({ Notification: function () {} }, "on"), "unsupported");
});

// view is desktopSwitch's answer as "on disabled busy hint".
const view = (s) => { const r = push.desktopSwitch({ support: "ok", permission: "default", ...s }); return [r.on, r.disabled, r.busy, r.hint].join(" "); };

test("the switch with push on the server: on only with permission and a subscription; says why it is off", () => {
  for (const server of ["on", ""]) {
    const v = (s) => view({ server, ...s });
    assert.equal(v({ support: "unsupported" }), "false true false desktopUnsupported");
    assert.equal(v({ permission: "denied", subscribed: true }), "false true false desktopBlocked");
    assert.equal(v({ loading: true }), "false true false loading");
    assert.equal(v({}), "false false false desktopHint");
    assert.equal(v({ permission: "granted" }), "false false false desktopHint", "allowed but not subscribed: off");
    assert.equal(v({ permission: "granted", pageOff: false }), "false false false desktopHint", "the page's on/off does not count");
    assert.equal(v({ permission: "granted", subscribed: true }), "true false false desktopOn");
    assert.equal(v({ busy: "on" }), "true false true desktopTurningOn");
    assert.equal(v({ permission: "granted", subscribed: true, busy: "off" }), "false false true desktopTurningOff");
    assert.equal(v({ permission: "granted", outcome: "limit" }), "false false false desktopLimit");
    assert.equal(v({ permission: "granted", outcome: "failed" }), "false false false desktopFailed");
    assert.equal(v({ outcome: "dismissed" }), "false false false desktopDismissed");
    assert.equal(v({ permission: "denied", outcome: "denied" }), "false true false desktopBlocked");
    assert.equal(v({ permission: "granted", subscribed: true, outcome: "on" }), "true false false desktopOn");
  }
});

test("the switch with push off on the server: the page's own notifications, on with permission unless turned off", () => {
  const v = (s) => view({ server: "off", ...s });
  assert.equal(v({ support: "unsupported" }), "false true false desktopUnsupported");
  assert.equal(v({ permission: "denied" }), "false true false desktopBlocked");
  assert.equal(v({}), "false false false desktopPageHint", "not allowed yet: off, and it says they show while the app is open");
  assert.equal(v({ permission: "granted" }), "true false false desktopPageOn", "allowed, never turned off: on");
  assert.equal(v({ permission: "granted", pageOff: true }), "false false false desktopPageHint");
  assert.equal(v({ permission: "granted", pageOff: true, subscribed: true }), "false false false desktopPageHint", "a subscription does not count");
  assert.equal(v({ busy: "on" }), "true false true desktopTurningOn");
  assert.equal(v({ outcome: "dismissed" }), "false false false desktopDismissed");
  assert.equal(v({ permission: "granted", outcome: "on" }), "true false false desktopPageOn");
});

test("every hint of the switch is a string of every language", () => {
  for (const hint of ["loading", "desktopUnsupported", "desktopBlocked", "desktopHint", "desktopOn", "desktopTurningOn", "desktopTurningOff",
    "desktopLimit", "desktopFailed", "desktopDismissed", "desktopPageHint", "desktopPageOn"]) {
    for (const lang of Object.keys(STRINGS)) assert.ok(STRINGS[lang][hint], lang + " " + hint);
  }
  assert.match(translator("en")("desktopPageHint"), /while the app is open in a tab/);
  assert.match(translator("id")("desktopPageOn"), /selama aplikasi terbuka di sebuah tab/);
});

// keyClient stands in for a BelfryClient: pushKey answers with answers in
// turn (a string: the key; a number: a rejection with that status).
function keyClient(endpoint, ...answers) {
  const c = { endpoint, asked: 0,
    pushKey: async () => {
      const a = answers[Math.min(c.asked++, answers.length - 1)];
      if (typeof a === "string") return a;
      throw Object.assign(new Error("HTTP " + a), { status: a });
    } };
  return c;
}

test("serverPush asks the key endpoint once per endpoint; a failed request is asked again", async () => {
  const on = keyClient("https://on.example", "BKEY");
  assert.equal(await push.serverPush(on), "on");
  assert.equal(await push.serverPush(on), "on");
  assert.equal(on.asked, 1);
  const off = keyClient("https://off.example", 404);
  const [a, b] = await Promise.all([push.serverPush(off), push.serverPush(off)]);
  assert.deepEqual([a, b, off.asked], ["off", "off", 1], "two bells opening at once ask once");
  // Another client of the same server knows it already.
  const again = keyClient("https://off.example", "BKEY");
  assert.equal(await push.serverPush(again), "off");
  assert.equal(again.asked, 0);
  const flaky = keyClient("https://flaky.example", 503, 0, 404);
  assert.equal(await push.serverPush(flaky), "", "unknown after a 503");
  assert.equal(await push.serverPush(flaky), "", "unknown after a network error");
  assert.equal(await push.serverPush(flaky), "off");
  assert.equal(await push.serverPush(flaky), "off");
  assert.equal(flaky.asked, 3);
});

// page is a page's global object with Notification only; requestPermission
// answers answer and counts its calls.
function page(permission, answer = "granted") {
  const g = { asked: 0, Notification: { permission, requestPermission: async () => { g.asked++; g.Notification.permission = answer; return answer; } } };
  return g;
}

test("allow asks only while the permission is default", async () => {
  let g = page("default");
  assert.equal((await push.allow(g)).outcome, "on");
  assert.equal((await push.allow(g)).outcome, "on");
  assert.equal(g.asked, 1);
  g = page("default", "denied");
  assert.equal((await push.allow(g)).outcome, "denied");
  assert.equal((await push.allow(page("default", "default"))).outcome, "dismissed");
  g = page("denied");
  assert.equal((await push.allow(g)).outcome, "denied");
  assert.equal(g.asked, 0);
  assert.equal((await push.allow({})).outcome, "unsupported");
});

test("change with push off on the server: on asks for permission, off needs none; pageOff follows", async () => {
  const client = keyClient("https://change-off.example", 404);
  const g = page("default");
  const s0 = await push.state(g, "https://app.example/sw.js", "off");
  assert.deepEqual(s0, { server: "off", support: "ok", permission: "default", subscribed: false });
  let r = await push.change(g, client, "https://app.example/sw.js", { ...s0, pageOff: true }, true);
  assert.equal(r.outcome, "on");
  assert.deepEqual(r.state, { server: "off", support: "ok", permission: "granted", subscribed: false, pageOff: false });
  assert.equal(view(r.state), "true false false desktopPageOn");
  r = await push.change(g, client, "https://app.example/sw.js", r.state, false);
  assert.deepEqual([r.outcome, r.state.pageOff, view(r.state)], ["off", true, "false false false desktopPageHint"]);
  assert.equal(g.asked, 1);
  assert.equal(client.asked, 0, "no request: the server has push off");
  // Refused: stays off, pageOff as it was.
  const no = page("default", "default");
  r = await push.change(no, client, "https://app.example/sw.js", { ...s0, pageOff: false }, true);
  assert.deepEqual([r.outcome, r.state.pageOff, view({ ...r.state, outcome: r.outcome })], ["dismissed", false, "false false false desktopDismissed"]);
});

test("change: Web Push that finds push off on the server (404) turns the page's notifications on, and remembers", async () => {
  const client = keyClient("https://late-off.example", "BKEY", 404);
  assert.equal(await push.serverPush(client), "on");
  // A browser with the Push API; enable stops at the key's 404, before any service worker.
  const g = { ...page("default"), PushManager: function () {}, navigator: { serviceWorker: {} }, isSecureContext: true };
  g.Notification = page("default").Notification;
  const s0 = await push.state(g, "https://app.example/sw.js", "on");
  const r = await push.change(g, client, "https://app.example/sw.js", { ...s0, pageOff: true }, true);
  assert.equal(r.outcome, "on");
  assert.equal(r.error, null);
  assert.deepEqual(r.state, { server: "off", support: "ok", permission: "granted", subscribed: false, pageOff: false });
  assert.equal(view(r.state), "true false false desktopPageOn");
  assert.equal(await push.serverPush(client), "off");
  assert.equal(client.asked, 2);
});

// ---- the service worker, in a vm context ----

// worker runs belfry-sw.js as a service worker loaded from scriptURL would
// run: its listeners, showNotification, fetch, clients and windows are
// recorded. It returns the context (the script's functions are its
// globals) and what was recorded.
function worker(scriptURL, { windows = [], fetchFails = false, language = "en-US" } = {}) {
  const rec = { listeners: {}, shown: [], fetched: [], focused: [], opened: [], closed: 0 };
  const url = new URL(scriptURL);
  const self = {
    location: { href: url.href, origin: url.origin },
    navigator: { language },
    addEventListener(type, fn) { rec.listeners[type] = fn; },
    registration: { showNotification: async (title, options) => { rec.shown.push({ title, options }); } },
    clients: {
      matchAll: async (opts) => { rec.matchAll = opts; return windows.map((u) => ({ url: u, focus: async () => { rec.focused.push(u); } })); },
      openWindow: async (u) => { rec.opened.push(u); },
    },
  };
  const ctx = vm.createContext({
    self, URL, JSON, Number, Array, Promise, setTimeout, clearTimeout, encodeURIComponent,
    fetch: async (u, init) => { rec.fetched.push({ url: u, init }); if (fetchFails) throw new TypeError("offline"); return { ok: true, status: 204 }; },
  });
  vm.runInContext(readFileSync(new URL("../static/belfry-sw.js", import.meta.url), "utf8"), ctx);
  return { ctx, rec };
}

async function pushEvent(w, text) {
  let p;
  w.rec.listeners.push({ data: text == null ? null : { text: () => text }, waitUntil(x) { p = x; } });
  await p;
  return w.rec.shown.at(-1);
}

async function clickEvent(w, data, action = "") {
  let p;
  const notification = { data, close() { w.rec.closed++; } };
  w.rec.listeners.notificationclick({ notification, action, waitUntil(x) { p = x; } });
  await p;
}

const PAYLOAD = { id: 12, user_id: "alice", title: "Invoice paid", body: "the message", link: "https://app.example/invoices/7",
  icon: "https://app.example/avatar.png", category: "billing", actions: [{ action: "approve", title: "Approve" }],
  created_at: "2026-12-07T10:00:00.000Z", api: "https://belfry.example", token: "JWT" };

test("push: the payload becomes one notification tagged belfry-<id>, its data the payload", async () => {
  const w = worker("https://app.example/belfry-sw.js");
  const n = await pushEvent(w, JSON.stringify(PAYLOAD));
  assert.equal(n.title, "Invoice paid");
  // JSON: the objects come from the vm's realm, with its own prototypes.
  assert.deepEqual(JSON.parse(JSON.stringify(n.options)), {
    body: "the message", icon: "https://app.example/avatar.png", tag: "belfry-12", data: PAYLOAD,
    actions: [{ action: "approve", title: "Approve" }] });
});

test("push: no title uses the body as title; neither uses the default; absent fields stay absent", async () => {
  const w = worker("https://app.example/belfry-sw.js");
  let n = await pushEvent(w, JSON.stringify({ id: 3, body: "only a body", api: "https://b.example" }));
  assert.equal(n.title, "only a body");
  assert.deepEqual(Object.keys(n.options).sort(), ["data", "tag"]);
  // The small payload sent after a 413.
  n = await pushEvent(w, JSON.stringify({ id: 4, title: "Short", link: "/x", api: "https://b.example", token: "t" }));
  assert.equal(n.title, "Short");
  assert.equal(n.options.body, undefined);
  n = await pushEvent(w, JSON.stringify({ id: 5 }));
  assert.equal(n.title, "New notification");
  n = await pushEvent(w, "not json");
  assert.equal(n.title, "New notification");
  assert.equal(n.options.tag, "belfry");
  n = await pushEvent(w, null);
  assert.equal(n.title, "New notification");
  n = await pushEvent(w, JSON.stringify({ id: 6, title: "A", actions: [{ action: "ok" }, null, { action: "go", title: "Go" }] }));
  assert.deepEqual([...n.options.actions].map((a) => a.action), ["go"]);
  const id = worker("https://app.example/belfry-sw.js", { language: "id-ID" });
  assert.equal((await pushEvent(id, "{}")).title, "Notifikasi baru");
});

test("the worker's default titles are belfry-i18n.js' pushTitle", () => {
  const { ctx } = worker("https://app.example/belfry-sw.js");
  for (const lang of Object.keys(STRINGS)) assert.equal(ctx.defaultTitle(lang), translator(lang)("pushTitle"), lang);
  assert.equal(ctx.defaultTitle("fr"), "New notification");
});

test("the API base: the payload's api, else the script's ?api=, else its origin; no trailing slash", () => {
  const { ctx } = worker("https://app.example/belfry-sw.js");
  assert.equal(ctx.apiBase({ api: "https://belfry.example/" }, "https://app.example/sw.js?api=https://other.example"), "https://belfry.example");
  assert.equal(ctx.apiBase({}, "https://app.example/sw.js?api=https%3A%2F%2Fbelfry.example%2Fbase%2F"), "https://belfry.example/base");
  assert.equal(ctx.apiBase({}, "https://app.example/assets/belfry-sw.js"), "https://app.example");
});

test("click: closes, POSTs read with the token, then focuses the link's window", async () => {
  const w = worker("https://app.example/belfry-sw.js", { windows: ["https://app.example/invoices/70", "https://app.example/invoices/7?tab=1"] });
  await clickEvent(w, PAYLOAD);
  assert.equal(w.rec.closed, 1);
  assert.equal(w.rec.fetched.length, 1);
  const f = w.rec.fetched[0];
  assert.equal(f.url, "https://belfry.example/notifications/12/read");
  assert.equal(f.init.method, "POST");
  assert.equal(f.init.headers.Authorization, "Bearer JWT");
  assert.equal(f.init.credentials, "omit");
  assert.equal(w.rec.matchAll.type, "window");
  assert.equal(w.rec.matchAll.includeUncontrolled, true);
  assert.deepEqual(w.rec.focused, ["https://app.example/invoices/7?tab=1"]);
  assert.deepEqual(w.rec.opened, []);
});

test("click on an action: POSTs the action; no token: the cookies; no window open: opens the link", async () => {
  const w = worker("https://app.example/sw.js?api=https://belfry.example", { windows: ["https://app.example/other"] });
  await clickEvent(w, { id: 9, link: "/invoices/7" }, "approve now");
  const f = w.rec.fetched[0];
  assert.equal(f.url, "https://belfry.example/notifications/9/actions/approve%20now");
  assert.equal(f.init.headers.Authorization, undefined);
  assert.equal(f.init.credentials, "include");
  assert.deepEqual(w.rec.opened, ["https://app.example/invoices/7"], "a path resolves against the worker's origin");
});

test("click: a failed request still opens the link; no link, no window; no id, no request", async () => {
  let w = worker("https://app.example/sw.js", { fetchFails: true });
  await clickEvent(w, { id: 9, link: "https://elsewhere.example/a", api: "https://b.example" });
  assert.deepEqual(w.rec.opened, ["https://elsewhere.example/a"]);
  w = worker("https://app.example/sw.js", { windows: ["https://app.example/"] });
  await clickEvent(w, { id: 9, api: "https://b.example" });
  assert.equal(w.rec.fetched.length, 1);
  assert.deepEqual([w.rec.focused, w.rec.opened], [[], []]);
  w = worker("https://app.example/sw.js");
  await clickEvent(w, { title: "no id", link: "javascript:alert(1)" });
  assert.deepEqual([w.rec.fetched, w.rec.opened], [[], []], "no request without an id, no javascript: link");
  await clickEvent(w, null);
  assert.equal(w.rec.closed, 2);
});

test("windowFor: the link itself, else one extending it past / ? or #", () => {
  const { ctx } = worker("https://app.example/sw.js");
  const ws = (...urls) => urls.map((url) => ({ url }));
  const pick = (urls, link) => { const w = ctx.windowFor(ws(...urls), link); return w ? w.url : null; };
  assert.equal(pick(["https://a.example/x/y", "https://a.example/x"], "https://a.example/x"), "https://a.example/x");
  assert.equal(pick(["https://a.example/x-old", "https://a.example/x#top"], "https://a.example/x"), "https://a.example/x#top");
  assert.equal(pick(["https://a.example/x-old"], "https://a.example/x"), null);
  assert.equal(pick(["https://a.example/x/y"], "https://a.example/x/"), "https://a.example/x/y");
  assert.equal(pick(["https://a.example/x"], ""), null);
});
