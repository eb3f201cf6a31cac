// belfry-push.js — the bell's "Desktop notifications" switch: whether this
// browser can, whether it is on, turning it on and off. The
// <notification-bell> element and the Vue 2 component both use it.
//
// What the switch turns on depends on the server, learned once per page
// from GET /notifications/push/key (serverPush):
//
//   - push on (200): Web Push. On: Notification.requestPermission() (call
//     it from the user's click), GET /notifications/push/key, register the
//     service worker (belfry-sw.js, default scope),
//     pushManager.subscribe(), POST the subscription. Off: unsubscribe,
//     DELETE it. Notifications reach this browser with no page open.
//   - push off (404): the page's own notifications, which the bell shows
//     while its page is hidden. On: the permission (asked on the click);
//     on and off are the caller's to remember (belfry-ui.js setDesktopOff).
//     They show only while the app is open in a tab.
//
// The requests go through the bell's BelfryClient, with its credentials.
//
// keyBytes, defaultWorkerURL, support, desktopSwitch, serverPush and
// allow are pure or run on stand-ins (web/test/push.test.mjs); the rest
// runs in Chromium (web/push_test.go).

/**
 * How long enable() waits for pushManager.subscribe(). A browser that
 * cannot reach its push service may never answer (Chromium without network
 * keeps retrying); the switch must not say "Turning on…" forever.
 */
export const SUBSCRIBE_TIMEOUT_MS = 20000;

/** What an attempt to turn push on ended with; see enable(). */
export const OUTCOMES = ["on", "unsupported", "denied", "dismissed", "server-off", "limit", "failed"];

/** The bytes of a base64url string (an applicationServerKey). */
export function keyBytes(b64url) {
  const s = String(b64url).replace(/-/g, "+").replace(/_/g, "/");
  const bin = atob(s + "=".repeat((4 - (s.length % 4)) % 4));
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}

/** The service worker's URL: the sw-url attribute, else <endpoint>/assets/belfry-sw.js (endpoint "" is the page's origin). */
export function defaultWorkerURL(attr, endpoint, pageURL) {
  const base = String(endpoint || "").replace(/\/+$/, "");
  return new URL(attr || base + "/assets/belfry-sw.js", pageURL).href;
}

/**
 * Whether this browser can receive Web Push here: "ok", or "unsupported"
 * (no Notification, service worker or PushManager, or not a secure
 * context). g is the page's global object. With server "off" (see
 * serverPush) only the page's own notifications are wanted: "ok" needs
 * Notification alone.
 */
export function support(g, server = "") {
  if (!g || typeof g.Notification === "undefined") return "unsupported";
  if (server === "off") return "ok";
  if (typeof g.PushManager === "undefined" || !g.navigator || !g.navigator.serviceWorker || g.isSecureContext === false) return "unsupported";
  return "ok";
}

/**
 * The switch's view: {on, disabled, busy, hint} where hint is a string key
 * of belfry-i18n.js. s is {server, support, permission, subscribed,
 * pageOff, busy, outcome, loading}: server serverPush's answer; busy "on"
 * or "off" while a change is under way; outcome the last change's, shown
 * until the next attempt; loading while the state has not been read yet.
 * With server "off" the switch is the page's own notifications, on when
 * allowed and not turned off (pageOff); else it is Web Push, on when
 * allowed and subscribed.
 */
export function desktopSwitch(s) {
  if (s.loading) return { on: false, disabled: true, busy: false, hint: "loading" };
  if (s.support !== "ok") return { on: false, disabled: true, busy: false, hint: "desktopUnsupported" };
  if (s.permission === "denied") return { on: false, disabled: true, busy: false, hint: "desktopBlocked" };
  // Busy, the switch keeps the focus (a disabled button would lose it) and ignores clicks.
  if (s.busy === "on") return { on: true, disabled: false, busy: true, hint: "desktopTurningOn" };
  if (s.busy === "off") return { on: false, disabled: false, busy: true, hint: "desktopTurningOff" };
  const page = s.server === "off";
  const on = s.permission === "granted" && (page ? !s.pageOff : !!s.subscribed);
  if (on) return { on, disabled: false, busy: false, hint: page ? "desktopPageOn" : "desktopOn" };
  const hints = { limit: "desktopLimit", failed: "desktopFailed", dismissed: "desktopDismissed" };
  return { on, disabled: false, busy: false, hint: hints[s.outcome] || (page ? "desktopPageHint" : "desktopHint") };
}

// What the key endpoint said, per API base (a client's endpoint): a
// promise of "on" or "off". A failed request is forgotten, so the next
// opening asks again.
const servers = new Map();

/**
 * Whether the server behind client has Web Push on: "on", "off" (GET
 * /notifications/push/key answered 404), or "" when that could not be
 * learned (the request failed). The answer is remembered for the page's
 * life, for every bell with the same endpoint: the key endpoint is asked
 * once.
 */
export async function serverPush(client) {
  const base = client.endpoint || "";
  let p = servers.get(base);
  if (!p) {
    p = client.pushKey().then(() => "on", (err) => {
      if (err && err.status === 404) return "off";
      if (servers.get(base) === p) servers.delete(base);
      return "";
    });
    servers.set(base, p);
  }
  return p;
}

// rememberServerOff records that the server behind client has push off
// (its key endpoint answered 404 after serverPush said otherwise).
function rememberServerOff(client) { servers.set(client.endpoint || "", Promise.resolve("off")); }

/**
 * Asks for the permission if it was not given yet (call it from the
 * user's click): {outcome, error} with outcome "on" (granted),
 * "unsupported" (no Notification), "denied" (refused now or before) or
 * "dismissed" (the prompt closed without an answer).
 */
export async function allow(g) {
  if (!g || typeof g.Notification === "undefined") return { outcome: "unsupported", error: null };
  let permission = g.Notification.permission;
  if (permission === "default") permission = await g.Notification.requestPermission();
  if (permission === "denied") return { outcome: "denied", error: null };
  if (permission !== "granted") return { outcome: "dismissed", error: null };
  return { outcome: "on", error: null };
}

// The registration of the worker at url (its default scope), if any.
async function registration(g, url) {
  const scope = new URL("./", url).href;
  const reg = await g.navigator.serviceWorker.getRegistration(scope);
  return reg && reg.scope === scope ? reg : null;
}

// Resolves once the registration has an active worker (subscribe needs one).
function activated(reg) {
  if (reg.active) return Promise.resolve(reg);
  const w = reg.installing || reg.waiting;
  return new Promise((resolve, reject) => {
    w.addEventListener("statechange", () => {
      if (w.state === "activated") resolve(reg);
      else if (w.state === "redundant") reject(new Error("the service worker failed to install"));
    });
  });
}

/**
 * The state on open: {server, support, permission, subscribed}; server is
 * serverPush's answer ("" when unknown: the switch is Web Push, and
 * turning it on finds out).
 */
export async function state(g, workerURL, server = "") {
  if (support(g, server) !== "ok") return { server, support: "unsupported", permission: "default", subscribed: false };
  const permission = g.Notification.permission;
  let subscribed = false;
  if (permission === "granted" && server !== "off") {
    try {
      const reg = await registration(g, workerURL);
      subscribed = !!(reg && await reg.pushManager.getSubscription());
    } catch (_) { /* no access to the registrations: off */ }
  }
  return { server, support: "ok", permission, subscribed };
}

/**
 * Turns the switch on or off (on from the user's click: it may ask for
 * permission) from its state s (with s.server and s.pageOff), and
 * resolves with {state, outcome, error}: state is the new state, with
 * pageOff, whether the page's own notifications are off now, for the
 * caller to store. With push off on the server, on is the permission
 * (allow) and off needs nothing; else on is enable and off disable, and
 * an enable that finds push off on the server (404) turns the page's
 * notifications on instead, from then on for the page's life.
 */
export async function change(g, client, workerURL, s, on) {
  let server = s.server || "";
  let r;
  if (server === "off") r = on ? await allow(g) : { outcome: "off", error: null };
  else {
    r = on ? await enable(g, client, workerURL) : await disable(g, client, workerURL);
    if (r.outcome === "server-off") {
      rememberServerOff(client);
      server = "off";
      r = { outcome: "on", error: null };
    }
  }
  const next = await state(g, workerURL, server);
  let pageOff = !!s.pageOff;
  if (server !== "off") pageOff = !next.subscribed;
  else if (r.outcome === "on" || r.outcome === "off") pageOff = r.outcome === "off";
  return { state: { ...next, pageOff }, outcome: r.outcome, error: r.error };
}

/**
 * Turns push on; call it from the user's click (it may ask for
 * permission). Resolves with {outcome, error}: outcome is "on",
 * "unsupported", "denied" (refused now or before), "dismissed" (the prompt
 * closed without an answer), "server-off" (the key endpoint answered 404:
 * push is off on the server), "limit" (409: the user has as many
 * subscriptions as the server allows) or "failed" (error says why: the
 * worker could not be registered, subscribe() failed or did not answer
 * within opts.timeout ms, default SUBSCRIBE_TIMEOUT_MS, a request failed).
 */
export async function enable(g, client, workerURL, opts = {}) {
  if (support(g) !== "ok") return { outcome: "unsupported", error: null };
  const allowed = await allow(g);
  if (allowed.outcome !== "on") return allowed;
  let key;
  try {
    key = await client.pushKey();
  } catch (err) {
    return { outcome: err && err.status === 404 ? "server-off" : "failed", error: err };
  }
  let sub = null;
  try {
    // register() updates the worker when its script changed; it stays registered when off.
    const reg = await activated(await g.navigator.serviceWorker.register(workerURL));
    sub = await reg.pushManager.getSubscription();
    if (sub && !sameKey(sub.options && sub.options.applicationServerKey, key)) {
      // Subscribed with another server key (rotated): that subscription is dead.
      await sub.unsubscribe();
      sub = null;
    }
    if (!sub) sub = await subscribe(reg, key, opts.timeout || SUBSCRIBE_TIMEOUT_MS);
    await client.addPushSubscription(sub.toJSON());
    return { outcome: "on", error: null };
  } catch (err) {
    // The server does not know this subscription: drop it, or the switch would show on.
    if (sub) await sub.unsubscribe().catch(() => {});
    return { outcome: err && err.status === 409 ? "limit" : "failed", error: err };
  }
}

/** Turns push off in this browser: unsubscribes, then tells the server. Resolves with {outcome: "off", error}. */
export async function disable(g, client, workerURL) {
  if (support(g) !== "ok") return { outcome: "off", error: null };
  try {
    const reg = await registration(g, workerURL);
    const sub = reg && await reg.pushManager.getSubscription();
    if (!sub) return { outcome: "off", error: null };
    const endpoint = sub.endpoint;
    await sub.unsubscribe();
    // A failure here leaves a dead endpoint on the server, which drops it
    // when the push service first answers 404 or 410 for it.
    await client.removePushSubscription(endpoint).catch((err) => { if (err.status !== 404) throw err; });
    return { outcome: "off", error: null };
  } catch (err) {
    return { outcome: "off", error: err };
  }
}

// pushManager.subscribe(), or a rejection after ms; a subscription that
// comes after that is dropped, since the server will never know it.
function subscribe(reg, key, ms) {
  const p = reg.pushManager.subscribe({ userVisibleOnly: true, applicationServerKey: keyBytes(key) });
  let timer = 0;
  const late = new Promise((_, reject) => {
    timer = setTimeout(() => {
      p.then((sub) => sub.unsubscribe(), () => {});
      reject(new Error("the push service did not answer within " + ms + " ms"));
    }, ms);
  });
  return Promise.race([p, late]).finally(() => clearTimeout(timer));
}

function sameKey(buf, b64url) {
  if (!buf) return false;
  const a = new Uint8Array(buf), b = keyBytes(b64url);
  return a.length === b.length && a.every((x, i) => x === b[i]);
}
