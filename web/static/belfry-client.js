// belfry-client.js — the headless browser client of belfry.
//
// It keeps one user's notification state (items newest first, unread count,
// connection status) in step with a belfry server: it fetches the list over
// HTTP and applies the SSE stream's sync, new-notification, read-state and
// notification-deleted events. No dependencies, no build step.
//
// One stream per browser: the tabs of one user elect a leader with the Web
// Locks API; only the leader opens an EventSource and relays every event to
// the other tabs over a BroadcastChannel. When the leader tab closes, the
// lock passes to another tab, which resumes the stream from the last id it
// saw. Where either API is missing, every tab opens its own stream.
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

const EVENTS = ["sync", "new-notification", "read-state", "notification-deleted", "token-expired"];
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

    this.items = [];            // newest first
    this.unread = 0;
    this.status = "connecting";
    this.refusal = "";          // why the server refuses the stream: "", "too-many-streams" or "busy"
    this.hasMore = false;
    this.loading = false;
    this.role = "none";         // "leader", "follower" or "solo"

    this._byId = new Map();
    this._cursor = 0;           // the highest id known to be delivered: the resume point
    this._seenMax = 0;          // the highest id held or covered by a list fetch
    this._syncedTo = 0;         // last_id of the last sync: counted in its unread_count
    this._unannounced = new Set(); // ids a list brought before their live event
    this._synced = false;       // a sync came: _cursor is a resume point, even at 0
    this._gen = 0;              // counts applied stream events (stale-answer check)
    this._es = null;
    this._attempt = 0;
    this._timer = 0;
    this._probe = null;         // the HEAD request in flight after a refused stream
    this._started = false;
    this._channel = null;
    this._lockAbort = null;
    this._releaseLock = null;
    this._onOnline = () => { if (this.status !== "live" && this._streaming()) this._reconnectNow(); };
  }

  /** The current state, a snapshot for rendering. */
  get state() {
    return { items: this.items, unread: this.unread, status: this.status, refusal: this.refusal,
      hasMore: this.hasMore, loading: this.loading, role: this.role };
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
    if (this._lockAbort) this._lockAbort.abort();
    if (this._releaseLock) this._releaseLock();
    if (this._channel) this._channel.close();
    this._channel = null;
    this.role = "none";
    this._setStatus("closed");
  }

  // ---- HTTP ----

  _url(path) { return this.endpoint + path; }

  async _request(method, path, retried) {
    const headers = { Accept: "application/json" };
    if (this.token) headers.Authorization = "Bearer " + this.token;
    const res = await fetch(this._url(path), { method, headers, keepalive: method !== "GET",
      credentials: this.token ? "same-origin" : "include" });
    if (res.status === 401 && this.tokenUrl && !retried) {
      await this._fetchToken();
      return this._request(method, path, true);
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

  /** Reloads the newest page and the unread count (the "Refresh" button). */
  async refresh() {
    this.loading = true;
    this._changed();
    try {
      // The answer covers every id delivered so far: a held one it lacks
      // was deleted meanwhile (its event missed while disconnected).
      const known = this._cursor;
      const res = await this._request("GET", "/notifications?limit=" + this.limit);
      const page = await res.json();
      // Keep what arrived live while the page was in flight (newer than
      // anything in it); replace the rest with the page.
      const top = Math.max(page.length > 0 ? page[0].id : 0, known);
      const live = this.items.filter((n) => n.id > top);
      const held = this._byId;
      this.items = [];
      this._byId = new Map();
      for (const n of live) this._put(n);
      for (const n of page) if (this._put(n) && !held.has(n.id)) this._countListed(n);
      this.hasMore = hasNext(res, page.length, this.limit);
      const gen = this._gen;
      const c = await (await this._request("GET", "/notifications/unread-count")).json();
      // A stream event applied meanwhile carries a newer count than this answer.
      if (typeof c.unread === "number" && gen === this._gen) this.unread = c.unread;
    } catch (err) {
      this._fail(err);
      throw err;
    } finally {
      this.loading = false;
      this._changed();
    }
  }

  /** Loads the page older than the oldest item held. */
  async loadOlder() {
    if (this.loading || !this.hasMore || this.items.length === 0) return;
    this.loading = true;
    this._changed();
    try {
      const oldest = this.items[this.items.length - 1].id;
      const res = await this._request("GET", "/notifications?limit=" + this.limit + "&before=" + oldest);
      const page = await res.json();
      for (const n of page) this._put(n);
      this.hasMore = hasNext(res, page.length, this.limit);
    } catch (err) {
      this._fail(err);
    } finally {
      this.loading = false;
      this._changed();
    }
  }

  /** Marks one notification read; the other tabs learn it from the stream. */
  async markRead(id) { return this._setRead(id, true); }

  /** Marks one notification unread. */
  async markUnread(id) { return this._setRead(id, false); }

  async _setRead(id, read) {
    const n = this._byId.get(id);
    if (n && (n.read_at == null) === read) {
      n.read_at = read ? new Date().toISOString() : null;
      this.unread = Math.max(0, this.unread + (read ? -1 : 1));
      this._changed();
    }
    try {
      await this._request("POST", "/notifications/" + encodeURIComponent(id) + (read ? "/read" : "/unread"));
    } catch (err) {
      this._fail(err);
    }
  }

  /** Marks every notification read. */
  async markAllRead() {
    const now = new Date().toISOString();
    for (const n of this.items) if (n.read_at == null) n.read_at = now;
    this.unread = 0;
    this._changed();
    try {
      await this._request("POST", "/notifications/read-all");
    } catch (err) {
      this._fail(err);
    }
  }

  /** Deletes one notification. */
  async remove(id) {
    const n = this._byId.get(id);
    if (n) this._drop(id);
    this._changed();
    try {
      await this._request("DELETE", "/notifications/" + encodeURIComponent(id));
    } catch (err) {
      this._fail(err);
    }
  }

  // ---- state ----

  _put(n) {
    if (!n || typeof n.id !== "number") return false;
    const had = this._byId.get(n.id);
    if (had) { Object.assign(had, n); return false; }
    this._byId.set(n.id, n);
    let i = 0;
    while (i < this.items.length && this.items[i].id > n.id) i++;
    this.items.splice(i, 0, n);
    if (n.id > this._seenMax) this._seenMax = n.id;
    return true;
  }

  // A list fetch brought n before the stream did. If neither the last sync
  // nor the stream has counted it, count it now: when it arrives on the
  // stream, _put finds it held and does not count it again. It is still
  // news, so it is announced when its live event comes.
  _countListed(n) {
    if (n.id <= this._syncedTo || n.id <= this._cursor) return;
    if (n.read_at == null) this.unread++;
    this._unannounced.add(n.id);
  }

  _drop(id) {
    this._byId.delete(id);
    this.items = this.items.filter((n) => n.id !== id);
  }

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
    if (this.role === "leader" && this._channel) this._channel.postMessage({ t: "status", status: s, refusal });
  }

  /** Applies one stream event (from our own stream or relayed by the leader). */
  _apply(name, data) {
    let d;
    try { d = JSON.parse(data); } catch (_) { return; }
    this._gen++;
    switch (name) {
      case "sync":
        this.unread = d.unread_count;
        this._syncedTo = d.last_id;
        this._synced = true;
        if (d.last_id > this._cursor) this._cursor = d.last_id;
        this._attempt = 0;
        if (d.last_id > this._seenMax) {
          // Published before this stream attached but after our list
          // fetch: reload the newest page (merged, deduplicated by id).
          this._seenMax = d.last_id;
          this._mergeNewest();
        }
        if (this.role !== "follower") this._setStatus("live");
        break;
      case "new-notification":
        if (d.id > this._cursor) this._cursor = d.id;
        if (this._put(d)) {
          // The sync's count already includes every id up to its last_id,
          // and one of those may still arrive just after the sync.
          if (d.read_at == null && d.id > this._syncedTo) this.unread++;
          this.dispatchEvent(new CustomEvent("notification", { detail: d }));
        } else if (this._unannounced.delete(d.id)) {
          this.dispatchEvent(new CustomEvent("notification", { detail: this._byId.get(d.id) || d }));
        }
        break;
      case "read-state":
        if (d.all) {
          for (const n of this.items) if (n.id <= d.up_to_id && n.read_at == null) n.read_at = d.read_at;
        } else {
          const n = this._byId.get(d.id);
          if (n) n.read_at = d.read ? d.read_at : null;
        }
        this.unread = d.unread_count;
        break;
      case "notification-deleted":
        this._drop(d.id);
        this.unread = d.unread_count;
        break;
      default:
        return;
    }
    this._changed();
  }

  async _mergeNewest() {
    try {
      const res = await this._request("GET", "/notifications?limit=" + this.limit);
      const page = await res.json();
      let added = false;
      for (const n of page) {
        if (this._put(n)) { this._countListed(n); added = true; }
      }
      if (added) this._changed();
    } catch (err) {
      this._fail(err);
    }
  }

  // ---- one stream per browser ----

  _groupKey() {
    let who = "session";
    const sub = jwtSubject(this.token);
    if (sub) who = "user:" + sub;
    const base = new URL(this.endpoint || "/", location.href).href;
    return "belfry:" + base + ":" + who;
  }

  _join() {
    const canShare = this.shared && typeof BroadcastChannel === "function" &&
      typeof navigator !== "undefined" && navigator.locks && typeof navigator.locks.request === "function";
    if (!canShare) {
      this.role = "solo";
      this._openStream();
      return;
    }
    const key = this._groupKey();
    this._channel = new BroadcastChannel(key);
    this._channel.onmessage = (e) => this._onRelay(e.data);
    this.role = "follower";
    this._setStatus("connecting");
    this._channel.postMessage({ t: "hello" });
    this._lockAbort = new AbortController();
    navigator.locks.request(key, { signal: this._lockAbort.signal }, () => {
      if (!this._started) return undefined;
      this.role = "leader";
      this._openStream();
      // Hold the lock until stop() or the tab goes away.
      return new Promise((resolve) => { this._releaseLock = resolve; });
    }).catch(() => { /* aborted by stop() */ });
  }

  _onRelay(m) {
    if (!m || typeof m !== "object") return;
    if (this.role === "leader") {
      if (m.t === "hello") this._channel.postMessage({ t: "status", status: this.status, refusal: this.refusal, unread: this.unread, cursor: this._cursor });
      return;
    }
    if (this.role !== "follower") return;
    if (m.t === "frame") {
      this._apply(m.name, m.data);
    } else if (m.t === "status") {
      if (typeof m.cursor === "number" && m.cursor > this._cursor) this._cursor = m.cursor;
      if (typeof m.unread === "number") this.unread = m.unread;
      this._setStatus(m.status, typeof m.refusal === "string" ? m.refusal : "");
    }
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
    if (this._cursor > 0 || this._synced) u.searchParams.set("last_event_id", String(this._cursor));
    const crossOrigin = u.origin !== location.origin;
    const es = new EventSource(u.href, { withCredentials: crossOrigin && !this.token });
    this._es = es;
    // Whether the browser's own retry resumes: its URL has a resume
    // point, or an id: line came (the browser then sends Last-Event-ID).
    let resumes = this._cursor > 0 || this._synced;
    for (const name of EVENTS) {
      es.addEventListener(name, (e) => {
        if (this._es !== es) return;
        if (e.lastEventId) resumes = true;
        if (name === "token-expired") { this._tokenExpired(); return; }
        this._apply(name, e.data);
        if (this.role === "leader" && this._channel) this._channel.postMessage({ t: "frame", name, data: e.data });
      });
    }
    es.onerror = () => {
      if (this._es !== es) return;
      if (es.readyState === EventSource.CLOSED) {
        // The browser gave up (an HTTP error, or a response that is not an
        // event stream): learn why, then reconnect ourselves, with backoff
        // and jitter.
        this._probeAndReconnect(u.href);
      } else if (!resumes && this._synced) {
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

function hasNext(res, got, limit) {
  const link = res.headers.get("Link");
  if (link != null) return /rel="?next"?/.test(link);
  return got >= limit;
}

/** The unverified sub claim of a JWT, only to group the tabs of one user. */
function jwtSubject(token) {
  if (!token) return "";
  const part = token.split(".")[1];
  if (!part) return "";
  try {
    const json = atob(part.replace(/-/g, "+").replace(/_/g, "/"));
    const sub = JSON.parse(json).sub;
    return sub == null ? "" : String(sub);
  } catch (_) {
    return "";
  }
}

/** The short relative time of an ISO timestamp, e.g. "3 minutes ago". */
export function relativeTime(iso, now = Date.now(), locale = undefined) {
  const t = Date.parse(iso);
  if (Number.isNaN(t)) return "";
  const fmt = new Intl.RelativeTimeFormat(locale, { numeric: "auto" });
  const s = Math.round((t - now) / 1000);
  const a = Math.abs(s);
  if (a < 45) return fmt.format(0, "second");
  if (a < 2700) return fmt.format(Math.round(s / 60), "minute");
  if (a < 79200) return fmt.format(Math.round(s / 3600), "hour");
  if (a < 2592000) return fmt.format(Math.round(s / 86400), "day");
  if (a < 31536000) return fmt.format(Math.round(s / 2592000), "month");
  return fmt.format(Math.round(s / 31536000), "year");
}

/** The badge text of an unread count: "" for 0, "99+" above 99. */
export function badgeText(n) {
  if (!n || n < 0) return "";
  return n > 99 ? "99+" : String(n);
}
