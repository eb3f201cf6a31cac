// belfry-client.js — the headless browser client of belfry.
//
// It keeps one user's inbox (the notifications of each view newest first,
// the unread and unseen counts, per category too, the connection status) in
// step with a belfry server: it fetches lists over HTTP and applies the SSE
// stream's sync, new-notification, read-state, seen-state, archive-state,
// action-state and notification-deleted events. No dependencies, no build
// step. Types: belfry-client.d.ts.
//
// This file is the facade and does the I/O (fetch, EventSource, reconnect
// timers, tokens). The rules live in two modules beside it:
//   belfry-state.js  the inbox: how events, list answers and the user's own
//                    changes move the items, the views, the counts and the
//                    resume point (pure, unit-tested in Node)
//   belfry-tabs.js   one stream per browser: the tabs of one user elect a
//                    leader with the Web Locks API; only the leader opens an
//                    EventSource and relays every event to the other tabs
//                    over a BroadcastChannel. When the leader tab closes, the
//                    lock passes to another tab, which resumes the stream
//                    from the last id it saw. Where either API is missing,
//                    every tab opens its own stream.
//
// Events dispatched on the client (an EventTarget):
//   "change"        the state changed; detail is client.state
//   "notification"  a new notification arrived live; detail is the notification
//   "status"        the connection status changed; detail is the status
//   "error"         a request failed; detail is {error}
//
// Status: "connecting", "live", "reconnecting", "closed". While the server
// refuses the stream over a limit, the status is "reconnecting" and
// client.refusal says why: "too-many-streams" (429: this user holds as many
// streams as the server allows one user) or "busy" (503: the server is
// full, or cannot reach its store); "" otherwise.

import { InboxState, hasNextPage, viewSpec, viewQuery } from "./belfry-state.js";
import { TabGroup, groupKey } from "./belfry-tabs.js";

const EVENTS = ["sync", "new-notification", "read-state", "seen-state", "archive-state", "action-state",
  "notification-deleted", "token-expired"];
const MAX_BACKOFF_MS = 30000;
const MAX_RETRY_AFTER_MS = 300000; // a Retry-After beyond 5 minutes is taken as 5

export class BelfryClient extends EventTarget {
  /**
   * @param {object} opts
   * @param {string} [opts.endpoint]  belfry's base URL ("" or omitted: same origin)
   * @param {string} [opts.token]     a user JWT; omitted: the cookie or the app's session (--auth-url)
   * @param {string} [opts.tokenUrl]  GET returns {"token": "..."}; used at start without a token and when one expires
   * @param {number} [opts.limit]     page size of the list (default 10)
   * @param {boolean} [opts.shared]   share one stream between the tabs (default true)
   */
  constructor(opts = {}) {
    super();
    this.endpoint = (opts.endpoint || "").replace(/\/+$/, "");
    this.token = opts.token || "";
    this.tokenUrl = opts.tokenUrl || "";
    this.limit = Math.min(Math.max(parseInt(opts.limit, 10) || 10, 1), 100);
    this.shared = opts.shared !== false;

    this.status = "connecting";
    this.refusal = "";          // why the server refuses the stream: "", "too-many-streams" or "busy"
    this._loading = new Set();  // the views whose list request is in flight

    this._inbox = new InboxState();
    this._group = null;         // the tab group while sharing a stream
    this._solo = false;         // started without a group: this tab streams alone
    this._es = null;
    this._attempt = 0;
    this._timer = 0;
    this._probe = null;         // the HEAD request in flight after a refused stream
    this._started = false;
    this._onOnline = () => { if (this.status !== "live" && this._streaming()) this._reconnectNow(); };
  }

  /** The inbox's notifications (the "all" view), newest first (the objects the API returned). */
  get items() { return this._inbox.view("all").items; }

  /** The unread count. */
  get unread() { return this._inbox.unread; }

  /** The unseen count. */
  get unseen() { return this._inbox.unseen; }

  /** The counts: {unread, unseen, byCategory: {name: {unread, unseen}}}. */
  get counts() { return this._inbox.counts; }

  /** Whether older notifications of the inbox can be loaded (loadOlder). */
  get hasMore() { return this._inbox.hasMore("all"); }

  /** Whether a list request is in flight. */
  get loading() { return this._loading.size > 0; }

  /** The notification with this id, if held. */
  get(id) { return this._inbox.get(id); }

  /**
   * A view's notifications, newest first: {items, hasMore, loaded, loading}.
   * Views: "all", "unread", "archived", "category:<name>". A view not
   * loaded yet lists nothing: load() it.
   */
  view(key) {
    const v = this._inbox.view(key);
    return { items: v.items, hasMore: v.hasMore, loaded: v.loaded, loading: this._loading.has(key) };
  }

  /** "leader" or "follower" while sharing a stream, "solo" with a stream of its own, "none" when stopped. */
  get role() {
    if (this._group) return this._group.leading ? "leader" : "follower";
    return this._solo ? "solo" : "none";
  }

  // The resume point (read by the browser tests).
  get _cursor() { return this._inbox.cursor; }

  /** The current state, a snapshot for rendering. */
  get state() {
    const c = this._inbox.counts;
    return { items: this.items, unread: c.unread, unseen: c.unseen, byCategory: c.byCategory,
      status: this.status, refusal: this.refusal, hasMore: this.hasMore, loading: this.loading, role: this.role };
  }

  /** Starts: fetches the list and joins (or opens) the stream. Idempotent. */
  async start() {
    if (this._started) return;
    this._started = true;
    if (!this.token && this.tokenUrl) {
      try { await this._fetchToken(); } catch (err) { this._fail(err); }
    }
    if (!this._started) return;
    window.addEventListener("online", this._onOnline);
    this._join();
    this.refresh().catch(() => {});
  }

  /** Stops: closes the stream, leaves the tab group. The state is kept. */
  stop() {
    if (!this._started) return;
    this._started = false;
    window.removeEventListener("online", this._onOnline);
    clearTimeout(this._timer);
    this._probe = null;
    this._closeStream();
    if (this._group) this._group.leave();
    this._group = null;
    this._solo = false;
    this._setStatus("closed");
  }

  // ---- HTTP ----

  _url(path) { return this.endpoint + path; }

  async _request(method, path, body, retried) {
    const headers = { Accept: "application/json" };
    if (this.token) headers.Authorization = "Bearer " + this.token;
    const init = { method, headers, keepalive: method !== "GET", credentials: this.token ? "same-origin" : "include" };
    if (body !== undefined) {
      headers["Content-Type"] = "application/json";
      init.body = JSON.stringify(body);
    }
    const res = await fetch(this._url(path), init);
    if (res.status === 401 && this.tokenUrl && !retried) {
      await this._fetchToken();
      return this._request(method, path, body, true);
    }
    if (!res.ok) {
      let msg = res.status + " " + res.statusText;
      try { const body = await res.json(); if (body && body.error) msg = body.error.message || body.error.code; } catch (_) { /* not JSON */ }
      const err = new Error(msg);
      err.status = res.status;
      throw err;
    }
    return res;
  }

  async _fetchToken() {
    const res = await fetch(this.tokenUrl, { credentials: "include", headers: { Accept: "application/json" } });
    if (!res.ok) throw new Error("token-url answered " + res.status);
    const body = await res.json();
    if (!body || typeof body.token !== "string" || !body.token) throw new Error("token-url gave no token");
    this.token = body.token;
    return this.token;
  }

  _fail(err) {
    this.dispatchEvent(new CustomEvent("error", { detail: { error: err } }));
  }

  async _page(key, before) {
    const spec = viewSpec(key);
    if (!spec) throw new Error("unknown view " + key);
    const res = await this._request("GET", "/notifications?limit=" + this.limit + viewQuery(spec) +
      (before > 0 ? "&before=" + before : ""));
    const page = await res.json();
    if (!Array.isArray(page)) throw new Error("the list answer is not an array");
    return { page, hasMore: hasNextPage(res.headers.get("Link"), page.length, this.limit) };
  }

  // Runs a list request of the view, flagged as loading meanwhile.
  async _listing(key, fn) {
    this._loading.add(key);
    this._changed();
    try {
      return await fn();
    } catch (err) {
      this._fail(err);
      throw err;
    } finally {
      this._loading.delete(key);
      this._changed();
    }
  }

  /** Loads a view's newest page unless it is loaded or loading (errors go to the "error" event). */
  async load(key) {
    if (this._loading.has(key) || this._inbox.view(key).loaded) return;
    await this.refresh(key).catch(() => {});
  }

  /**
   * Reloads a view's newest page (default the inbox) and the counts (the
   * "Refresh" button); rejects with the request's error.
   */
  async refresh(key = "all") {
    await this._listing(key, async () => {
      const known = this._inbox.cursor;
      const t = this._inbox.begin();
      try {
        const { page, hasMore } = await this._page(key, 0);
        this._inbox.replaceNewest(key, page, known, hasMore, t);
      } catch (err) {
        this._inbox.end(t);
        throw err;
      }
      await this._loadCounts();
    });
  }

  async _loadCounts() {
    const t = this._inbox.begin();
    try {
      const c = await (await this._request("GET", "/notifications/counts")).json();
      this._inbox.applyCounts(c, t);
    } catch (err) {
      this._inbox.end(t);
      throw err;
    }
  }

  /** Loads the page of a view (default the inbox) older than the oldest it lists. */
  async loadOlder(key = "all") {
    const before = this._inbox.before(key);
    if (this._loading.has(key) || before <= 0) return;
    await this._listing(key, async () => {
      const t = this._inbox.begin();
      try {
        const { page, hasMore } = await this._page(key, before);
        this._inbox.appendOlder(key, page, hasMore, t);
      } catch (err) {
        this._inbox.end(t);
        throw err;
      }
    }).catch(() => {});
  }

  /** Marks one notification read; the other tabs learn it from the stream. */
  async markRead(id) { return this._setRead(id, true); }

  /** Marks one notification unread. */
  async markUnread(id) { return this._setRead(id, false); }

  async _setRead(id, read) {
    if (this._inbox.setRead(id, read, now())) this._changed();
    return this._itemRequest("POST", "/notifications/" + encodeURIComponent(id) + (read ? "/read" : "/unread"));
  }

  /** Archives one notification: it moves from the inbox's views to "archived". */
  async archive(id) { return this._setArchived(id, true); }

  /** Unarchives one notification. */
  async unarchive(id) { return this._setArchived(id, false); }

  async _setArchived(id, archived) {
    if (this._inbox.setArchived(id, archived, now())) this._changed();
    return this._itemRequest("POST", "/notifications/" + encodeURIComponent(id) + (archived ? "/archive" : "/unarchive"));
  }

  /**
   * Takes one of a notification's actions (POST
   * /notifications/{id}/actions/{action_id}); true once the server recorded
   * it. It also marks the notification read and seen.
   */
  async act(id, actionId) {
    if (this._inbox.setAction(id, actionId, now())) this._changed();
    return this._itemRequest("POST", "/notifications/" + encodeURIComponent(id) + "/actions/" + encodeURIComponent(actionId));
  }

  // A request about one notification that answers with it: the answer is
  // the server's state of it. A failure is reported and the views
  // reloaded, which undoes the optimistic change. true if it succeeded.
  async _itemRequest(method, path) {
    try {
      const res = await this._request(method, path);
      const t = this._inbox.begin();
      let n = null;
      try { n = await res.json(); } catch (_) { /* no body */ }
      if (n && typeof n === "object" && Number.isSafeInteger(n.id)) this._inbox.put(n, t);
      else this._inbox.end(t);
      this._changed();
      return true;
    } catch (err) {
      this._fail(err);
      this._recover();
      return false;
    }
  }

  // After a failed change: the loaded views and the counts are reloaded.
  _recover() {
    for (const key of this._inbox.loadedViews()) this.refresh(key).catch(() => {});
  }

  // The highest id the user can have been shown.
  _shownTo() {
    const all = this._inbox.items;
    return Math.max(this._inbox.cursor, all.length > 0 ? all[0].id : 0);
  }

  /**
   * Marks read every notification up to the newest held (of one category,
   * if given): POST /notifications/read-all. true if the server did.
   */
  async markAllRead(category) {
    const upTo = this._shownTo();
    this._inbox.markAllRead(now(), upTo, category == null ? null : category);
    this._changed();
    const body = { up_to_id: upTo };
    if (category != null) body.category = category;
    return this._bulk("/notifications/read-all", body);
  }

  /**
   * Marks seen every notification up to the newest held (opening the bell
   * does): POST /notifications/seen. Nothing is sent while none is unseen.
   */
  async markSeen() {
    const upTo = this._shownTo();
    if (this._inbox.unseen === 0 || upTo === 0) return false;
    this._inbox.markSeen(now(), upTo);
    this._changed();
    return this._bulk("/notifications/seen", { up_to_id: upTo });
  }

  async _bulk(path, body) {
    try {
      await this._request("POST", path, body);
      return true;
    } catch (err) {
      this._fail(err);
      this._recover();
      return false;
    }
  }

  /** Deletes one notification; true if the server did. */
  async remove(id) {
    this._inbox.remove(id);
    this._changed();
    try {
      await this._request("DELETE", "/notifications/" + encodeURIComponent(id));
      return true;
    } catch (err) {
      this._fail(err);
      this._recover();
      return false;
    }
  }

  /** The user's preferences: {default: {in_app, push, webhook}, categories: {name: {…}}}. */
  async preferences() {
    try {
      return await (await this._request("GET", "/notifications/preferences")).json();
    } catch (err) {
      this._fail(err);
      throw err;
    }
  }

  /**
   * Changes some preferences (PUT /notifications/preferences), e.g.
   * {categories: {billing: {in_app: false}}}; resolves with them all.
   */
  async setPreferences(patch) {
    try {
      return await (await this._request("PUT", "/notifications/preferences", patch)).json();
    } catch (err) {
      this._fail(err);
      throw err;
    }
  }

  /**
   * Web Push's public key (GET /notifications/push/key), base64url; rejects
   * with the request's error, whose status is 404 when push is off on the
   * server. Not reported as an "error" event: the caller decides.
   */
  async pushKey() {
    const body = await (await this._request("GET", "/notifications/push/key")).json();
    if (!body || typeof body.public_key !== "string" || !body.public_key) throw new Error("the push key answer has no public_key");
    return body.public_key;
  }

  /**
   * Registers this browser's push subscription (POST
   * /notifications/push/subscriptions with PushSubscription.toJSON());
   * resolves with {endpoint, created_at}; rejects with the request's error
   * (status 400 for an endpoint the server refuses, 409 at the limit).
   */
  async addPushSubscription(sub) {
    return (await this._request("POST", "/notifications/push/subscriptions", sub)).json();
  }

  /** Drops a push subscription (DELETE /notifications/push/subscriptions); rejects with the request's error (status 404: not this user's). */
  async removePushSubscription(endpoint) {
    await this._request("DELETE", "/notifications/push/subscriptions", { endpoint });
  }

  // ---- state ----

  _changed() { this.dispatchEvent(new CustomEvent("change", { detail: this.state })); }

  // Sets the status and the refusal that goes with it ("" but while a
  // refused stream is retried), relayed to the other tabs by the leader.
  _setStatus(s, refusal = "") {
    if (this.status === s && this.refusal === refusal) return;
    const changed = this.status !== s;
    this.status = s;
    this.refusal = refusal;
    if (changed) this.dispatchEvent(new CustomEvent("status", { detail: s }));
    this._changed();
    if (this._group) this._group.status(s, refusal);
  }

  /** Applies one stream event (from our own stream or relayed by the leader). */
  _apply(name, data) {
    let d;
    try { d = JSON.parse(data); } catch (_) { return; }
    const fx = this._inbox.apply(name, d);
    if (!fx) return;
    if (fx.synced) {
      this._attempt = 0;
      if (fx.fetchNewest) this._mergeNewest();
      if (this.role !== "follower") this._setStatus("live");
    }
    if (fx.announce) this.dispatchEvent(new CustomEvent("notification", { detail: fx.announce }));
    this._changed();
  }

  // After a sync ahead of every list answer: the newest page of each
  // loaded view (and of the inbox) is fetched again and merged.
  async _mergeNewest() {
    const keys = new Set(["all", ...this._inbox.loadedViews()]);
    for (const key of keys) {
      const t = this._inbox.begin();
      try {
        const { page, hasMore } = await this._page(key, 0);
        if (this._inbox.mergeNewest(key, page, hasMore, t)) this._changed();
      } catch (err) {
        this._inbox.end(t);
        this._fail(err);
      }
    }
  }

  // ---- one stream per browser ----

  _join() {
    if (!this.shared || !TabGroup.supported()) {
      this._solo = true;
      this._openStream();
      return;
    }
    const group = new TabGroup(groupKey(this.endpoint, this.token, location.href), {
      lead: () => this._openStream(),
      frame: (name, data) => this._apply(name, data),
      status: (m) => {
        this._inbox.adopt(m.cursor, m.counts);
        this._setStatus(m.status, m.refusal);
      },
      snapshot: () => ({ status: this.status, refusal: this.refusal, ...this._inbox.snapshot() }),
    });
    this._group = group;
    this._setStatus("connecting");
    group.join();
  }

  _streaming() { return this.role === "leader" || this.role === "solo"; }

  _openStream() {
    if (!this._started) return;
    this._closeStream();
    this._probe = null;
    // A refusal stays shown until the stream is live again.
    this._setStatus(this._attempt > 0 ? "reconnecting" : "connecting", this.refusal);
    const u = new URL(this._url("/notifications/stream"), location.href);
    if (this.token) u.searchParams.set("token", this.token);
    const from = this._inbox.resumeId();
    if (from >= 0) u.searchParams.set("last_event_id", String(from));
    const crossOrigin = u.origin !== location.origin;
    const es = new EventSource(u.href, { withCredentials: crossOrigin && !this.token });
    this._es = es;
    // Whether the browser's own retry resumes: its URL has a resume
    // point, or an id: line came (the browser then sends Last-Event-ID).
    let resumes = from >= 0;
    for (const name of EVENTS) {
      es.addEventListener(name, (e) => {
        if (this._es !== es) return;
        if (e.lastEventId) resumes = true;
        if (name === "token-expired") { this._tokenExpired(); return; }
        this._apply(name, e.data);
        if (this._group) this._group.frame(name, e.data);
      });
    }
    es.onerror = () => {
      if (this._es !== es) return;
      if (es.readyState === EventSource.CLOSED) {
        // The browser gave up (an HTTP error, or a response that is not an
        // event stream): learn why, then reconnect ourselves, with backoff
        // and jitter.
        this._probeAndReconnect(u.href);
      } else if (!resumes && this._inbox.synced) {
        // The browser would retry as a fresh stream (only a sync came, and
        // a sync has no id): what is published meanwhile would never be
        // replayed. Reconnect ourselves from the sync's last_id.
        this._scheduleReconnect();
      } else {
        // The browser retries by itself, sending Last-Event-ID.
        this._setStatus("reconnecting");
      }
    };
  }

  _closeStream() {
    if (this._es) { this._es.onerror = null; this._es.close(); this._es = null; }
  }

  // EventSource hides the status of a failed request. HEAD on the same URL
  // shows it: the server answers it as it would the GET (a refused stream
  // costs it nothing), and a 429 or 503 says how long to wait in
  // Retry-After.
  async _probeAndReconnect(url) {
    this._closeStream();
    this._setStatus("reconnecting", this.refusal);
    const probe = {};
    this._probe = probe;
    let refusal = "";
    let waitMs = 0;
    try {
      const res = await fetch(url, { method: "HEAD", cache: "no-store",
        credentials: this.token ? "same-origin" : "include" });
      if (res.status === 429) refusal = "too-many-streams";
      else if (res.status === 503) refusal = "busy";
      if (refusal) waitMs = retryAfterMs(res.headers.get("Retry-After"));
    } catch (_) { /* no answer at all: a plain backoff */ }
    if (this._probe !== probe) return; // stopped, or reconnected meanwhile
    this._probe = null;
    if (!this._started || !this._streaming()) return;
    this._scheduleReconnect(refusal, waitMs);
  }

  // Reconnects after a backoff: 0.5–1 s, doubling up to 30 s, jittered so
  // that the clients of a restarted or full server do not come back
  // together; never sooner than a refusal's Retry-After (waitMs).
  _scheduleReconnect(refusal = "", waitMs = 0) {
    this._closeStream();
    this._setStatus("reconnecting", refusal);
    clearTimeout(this._timer);
    const base = Math.min(MAX_BACKOFF_MS, 1000 * 2 ** Math.min(this._attempt, 5));
    let delay = base / 2 + Math.random() * base / 2;
    if (waitMs > 0) delay = Math.max(delay, waitMs + Math.random() * waitMs / 2);
    this._attempt++;
    this._timer = setTimeout(() => this._reconnectNow(), delay);
  }

  async _reconnectNow() {
    clearTimeout(this._timer);
    if (!this._started || !this._streaming()) return;
    if (this.tokenUrl && this._attempt > 0 && this.refusal !== "too-many-streams") {
      // The failure may have been a 401 for an expired token (a 429 came
      // after the token was accepted).
      try { await this._fetchToken(); } catch (err) { this._fail(err); this._scheduleReconnect(); return; }
    }
    this._openStream();
  }

  async _tokenExpired() {
    this._closeStream();
    if (!this.tokenUrl) {
      this._fail(new Error("token expired and no token-url is set"));
      this._setStatus("closed");
      return;
    }
    try {
      await this._fetchToken();
      this._openStream();
    } catch (err) {
      this._fail(err);
      this._scheduleReconnect();
    }
  }
}

/** Milliseconds of a Retry-After header (seconds, or an HTTP date); 0 without one. */
export function retryAfterMs(v, now = Date.now()) {
  if (v == null || v === "") return 0;
  const ms = /^\s*\d+\s*$/.test(v) ? parseInt(v, 10) * 1000 : Date.parse(v) - now;
  if (!(ms > 0)) return 0;
  return Math.min(ms, MAX_RETRY_AFTER_MS);
}

/**
 * The relative time of an ISO timestamp, e.g. "3 minutes ago" (style
 * "long", "short" or "narrow", as Intl.RelativeTimeFormat).
 */
export function relativeTime(iso, now = Date.now(), locale = undefined, style = "long") {
  const t = Date.parse(iso);
  if (Number.isNaN(t)) return "";
  let fmt;
  try {
    fmt = new Intl.RelativeTimeFormat(locale, { numeric: "auto", style });
  } catch (_) { // a malformed locale
    fmt = new Intl.RelativeTimeFormat(undefined, { numeric: "auto", style });
  }
  const s = Math.round((t - now) / 1000);
  const a = Math.abs(s);
  if (a < 45) return fmt.format(0, "second");
  if (a < 2700) return fmt.format(Math.round(s / 60), "minute");
  if (a < 79200) return fmt.format(Math.round(s / 3600), "hour");
  if (a < 2592000) return fmt.format(Math.round(s / 86400), "day");
  if (a < 31536000) return fmt.format(Math.round(s / 2592000), "month");
  return fmt.format(Math.round(s / 31536000), "year");
}

/** The badge text of a count: "" for 0, "99+" above 99. */
export function badgeText(n) {
  if (!n || n < 0) return "";
  return n > 99 ? "99+" : String(n);
}

function now() { return new Date().toISOString(); }
