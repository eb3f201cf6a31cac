// belfry-push.js — Web Push for the bell's "Desktop notifications" switch:
// whether this browser can, whether it is on, turning it on and off. The
// <notification-bell> element and the Vue 2 component both use it.
//
// On: Notification.requestPermission() (call it from the user's click),
// GET /notifications/push/key, register the service worker (belfry-sw.js,
// default scope), pushManager.subscribe(), POST the subscription. Off:
// unsubscribe, DELETE it. The requests go through the bell's BelfryClient,
// with its credentials.
//
// keyBytes, defaultWorkerURL, support and desktopSwitch are pure
// (web/test/push.test.mjs); the rest runs in Chromium (web/push_test.go).

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
 * context). g is the page's global object.
 */
export function support(g) {
  if (!g || typeof g.Notification === "undefined" || typeof g.PushManager === "undefined" ||
      !g.navigator || !g.navigator.serviceWorker || g.isSecureContext === false) return "unsupported";
  return "ok";
}

/**
 * The switch's view: {on, disabled, busy, hint} where hint is a string key
 * of belfry-i18n.js. s is {support, permission, subscribed, busy, outcome,
 * loading}: busy "on" or "off" while a change is under way; outcome the
 * last enable()'s, shown until the next attempt; loading while state() has
 * not answered yet.
 */
export function desktopSwitch(s) {
  if (s.support !== "ok") return { on: false, disabled: true, busy: false, hint: "desktopUnsupported" };
  if (s.permission === "denied") return { on: false, disabled: true, busy: false, hint: "desktopBlocked" };
  if (s.loading) return { on: false, disabled: true, busy: false, hint: "desktopHint" };
  // Busy, the switch keeps the focus (a disabled button would lose it) and ignores clicks.
  if (s.busy === "on") return { on: true, disabled: false, busy: true, hint: "desktopTurningOn" };
  if (s.busy === "off") return { on: false, disabled: false, busy: true, hint: "desktopTurningOff" };
  const on = s.permission === "granted" && !!s.subscribed;
  const hints = { "server-off": "desktopServerOff", limit: "desktopLimit", failed: "desktopFailed", dismissed: "desktopDismissed" };
  return { on, disabled: false, busy: false, hint: (!on && hints[s.outcome]) || (on ? "desktopOn" : "desktopHint") };
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

/** The state on open: {support, permission, subscribed}. */
export async function state(g, workerURL) {
  if (support(g) !== "ok") return { support: "unsupported", permission: "default", subscribed: false };
  const permission = g.Notification.permission;
  let subscribed = false;
  if (permission === "granted") {
    try {
      const reg = await registration(g, workerURL);
      subscribed = !!(reg && await reg.pushManager.getSubscription());
    } catch (_) { /* no access to the registrations: off */ }
  }
  return { support: "ok", permission, subscribed };
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
  let permission = g.Notification.permission;
  if (permission === "default") permission = await g.Notification.requestPermission();
  if (permission === "denied") return { outcome: "denied", error: null };
  if (permission !== "granted") return { outcome: "dismissed", error: null };
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
