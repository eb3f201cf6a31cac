// belfry-sw.js — belfry's service worker: shows Web Push notifications and
// answers their clicks. A classic script with no imports and no build step.
//
// The <notification-bell> registers it when the user turns desktop
// notifications on (sw-url, default <endpoint>/assets/belfry-sw.js). A
// service worker must be same-origin with the page that registers it: an
// app on another origin than belfry serves a copy (or a proxy) of this file
// from its own origin, e.g. /belfry/belfry-sw.js?api=https://belfry.example,
// and sets sw-url to that (docs/web-component.md, "Desktop notifications").
//
// push: the payload is belfry's JSON ({id, title, body, link, icon,
// actions, api, token, …}); it becomes one notification tagged "belfry-<id>"
// whose data is the payload.
//
// notificationclick: closes it, records the click with belfry (POST
// <api>/notifications/<id>/read, or …/actions/<action> for an action
// button) with the payload's token, or the browser's cookies without one,
// then focuses a window already showing the link, else opens the link.
//
// The API base is the payload's api, else this script's ?api= query, else
// its origin. The functions below are pure but the two listeners at the
// end; web/test/sw.test.mjs runs this file in Node with stand-ins for the
// worker's globals.

"use strict";

// The title of a notification whose payload has neither title nor body,
// by the browser's language (the strings are belfry-i18n.js' pushTitle).
const DEFAULT_TITLES = { en: "New notification", id: "Notifikasi baru" };

// How long a click waits for belfry's answer before it focuses or opens
// the window: the window must not wait for a slow network, and the page it
// shows should find the notification read.
const CLICK_WAIT_MS = 2000;

/** The title of a notification without one, in language lang ("id-ID" → id). */
function defaultTitle(lang) {
  const base = String(lang || "").toLowerCase().split(/[-_]/)[0];
  return DEFAULT_TITLES[base] || DEFAULT_TITLES.en;
}

/** The payload of a push: its JSON object, or {} when it has none or is not JSON. */
function parsePayload(text) {
  if (typeof text !== "string" || text === "") return {};
  try {
    const p = JSON.parse(text);
    return p && typeof p === "object" && !Array.isArray(p) ? p : {};
  } catch (_) {
    return {};
  }
}

/**
 * What showNotification gets for a payload: {title, options}. A payload
 * without a title uses its body as the title (and no body); one with
 * neither, the default title. Absent fields stay absent.
 */
function notificationOf(payload, lang) {
  const p = payload || {};
  const str = (v) => (typeof v === "string" && v !== "" ? v : "");
  let title = str(p.title), body = str(p.body);
  if (!title) { title = body || defaultTitle(lang); body = ""; }
  const options = { tag: p.id != null ? "belfry-" + p.id : "belfry", data: { ...p } };
  if (body) options.body = body;
  if (str(p.icon)) options.icon = p.icon;
  if (Array.isArray(p.actions)) {
    const actions = p.actions.filter((a) => a && str(a.action) && str(a.title)).map((a) => ({ action: a.action, title: a.title }));
    if (actions.length > 0) options.actions = actions;
  }
  return { title, options };
}

/** belfry's base URL, without a trailing slash: the payload's api, else ?api= of the script's URL, else its origin. */
function apiBase(payload, scriptURL) {
  const trim = (s) => s.replace(/\/+$/, "");
  if (payload && typeof payload.api === "string" && payload.api) return trim(payload.api);
  try {
    const u = new URL(scriptURL);
    const q = u.searchParams.get("api");
    return trim(q || u.origin);
  } catch (_) {
    return "";
  }
}

/**
 * The request a click makes, {url, init}, or null when the payload has no
 * notification id: POST …/read, or …/actions/<action> for an action
 * button; the token as a Bearer credential, else the cookies.
 */
function clickRequest(payload, action, scriptURL) {
  const p = payload || {};
  const id = Number(p.id);
  if (!Number.isSafeInteger(id) || id <= 0) return null;
  const base = apiBase(p, scriptURL);
  const path = "/notifications/" + id + (action ? "/actions/" + encodeURIComponent(action) : "/read");
  const init = { method: "POST", headers: { Accept: "application/json" } };
  if (typeof p.token === "string" && p.token) {
    init.headers.Authorization = "Bearer " + p.token;
    init.credentials = "omit";
  } else {
    init.credentials = "include";
  }
  return { url: base + path, init };
}

/** The link to open, absolute: only http(s), a path resolved against origin; "" if none. */
function linkOf(payload, origin) {
  const link = payload && payload.link;
  if (typeof link !== "string" || !link) return "";
  try {
    const u = new URL(link, origin);
    return u.protocol === "http:" || u.protocol === "https:" ? u.href : "";
  } catch (_) {
    return "";
  }
}

/**
 * Which of the windows (each {url}) shows link: one whose URL is the link,
 * else one whose URL extends it past a "/", "?" or "#" (the link
 * https://a.example/invoices matches …/invoices/7 and …/invoices?page=2,
 * not …/invoices-old); null if none.
 */
function windowFor(windows, link) {
  if (!link) return null;
  const exact = windows.find((w) => w.url === link);
  if (exact) return exact;
  return windows.find((w) => w.url.startsWith(link) &&
    (link.endsWith("/") || "/?#".includes(w.url.charAt(link.length)))) || null;
}

// A click: the notification closes, the click is recorded, then the
// link's window comes forward. Errors are swallowed: a failed request must
// not keep the window from opening, nor a refused focus the request.
async function onClick(notification, action) {
  notification.close();
  const payload = notification.data || {};
  const req = clickRequest(payload, action, self.location.href);
  const sent = req ? fetch(req.url, req.init).catch(() => null) : Promise.resolve(null);
  await Promise.race([sent, new Promise((resolve) => setTimeout(resolve, CLICK_WAIT_MS))]);
  const link = linkOf(payload, self.location.origin);
  if (link) {
    try {
      const windows = await self.clients.matchAll({ type: "window", includeUncontrolled: true });
      const w = windowFor(windows, link);
      if (w) await w.focus();
      else await self.clients.openWindow(link);
    } catch (_) { /* not allowed to focus or open: the click is still recorded */ }
  }
  await sent;
}

self.addEventListener("push", (event) => {
  const payload = parsePayload(event.data ? event.data.text() : "");
  const n = notificationOf(payload, self.navigator && self.navigator.language);
  event.waitUntil(self.registration.showNotification(n.title, n.options));
});

self.addEventListener("notificationclick", (event) => {
  event.waitUntil(onClick(event.notification, event.action || ""));
});
