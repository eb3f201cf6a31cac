// belfry-tabs.js — one stream per browser: the tabs of one user share it.
//
// The tabs of one user (same belfry URL, same token subject or the same
// session) form a group named by groupKey. They elect a leader with the Web
// Locks API: the tab holding the lock opens the EventSource and relays each
// event to the others over a BroadcastChannel of the same name. When the
// leader tab closes, the browser gives the lock to a waiting tab, which
// opens the stream from the last id it saw. A tab that joins asks ("hello")
// and the leader answers with its status, counts and resume point.
//
// Messages on the channel (structured clones):
//   {t: "hello"}                                          a tab joined
//   {t: "frame", name, data}                              one stream event, data as sent
//   {t: "status", status, refusal[, counts, cursor]}      the leader's connection status
//                                                         (counts and cursor: InboxState.snapshot())

export class TabGroup {
  /**
   * @param {string} key  the group's name (groupKey)
   * @param {object} on   callbacks: lead() when this tab becomes the leader;
   *   frame(name, data) and status(m) for the leader's messages (followers
   *   only); snapshot() returns {status, refusal, counts, cursor} for a
   *   joining tab (leader only)
   * @param {object} [env]  the Locks manager and BroadcastChannel constructor
   *   (default: the browser's)
   */
  constructor(key, on, env = {}) {
    this.key = key;
    this.leading = false;
    this._on = on;
    this._locks = env.locks || browserLocks();
    this._Channel = env.Channel || globalThis.BroadcastChannel;
    this._channel = null;
    this._abort = null;
    this._release = null;
    this._left = false;
  }

  /** Whether this browser can share a stream between tabs (BroadcastChannel and Web Locks). */
  static supported(env = {}) {
    const locks = env.locks || browserLocks();
    const Channel = env.Channel || globalThis.BroadcastChannel;
    return typeof Channel === "function" && !!locks && typeof locks.request === "function";
  }

  /** Joins as a follower and queues for the lock; on.lead() runs once it is held. */
  join() {
    this._channel = new this._Channel(this.key);
    this._channel.onmessage = (e) => this._receive(e.data);
    this._channel.postMessage({ t: "hello" });
    this._abort = new AbortController();
    this._locks.request(this.key, { signal: this._abort.signal }, () => {
      if (this._left) return undefined;
      this.leading = true;
      this._on.lead();
      // Held until leave() or the tab goes away.
      return new Promise((resolve) => { this._release = resolve; });
    }).catch(() => { /* aborted by leave() */ });
  }

  /** Leaves the group: gives up the lock (or the place in its queue) and the channel. */
  leave() {
    this._left = true;
    this.leading = false;
    if (this._abort) this._abort.abort();
    if (this._release) this._release();
    if (this._channel) this._channel.close();
    this._channel = null;
  }

  /** Relays one stream event to the other tabs (leader only). */
  frame(name, data) {
    if (this.leading && this._channel) this._channel.postMessage({ t: "frame", name, data });
  }

  /** Relays the connection status to the other tabs (leader only). */
  status(status, refusal) {
    if (this.leading && this._channel) this._channel.postMessage({ t: "status", status, refusal });
  }

  _receive(m) {
    if (!m || typeof m !== "object" || this._left) return;
    if (this.leading) {
      if (m.t === "hello") this._channel.postMessage({ t: "status", ...this._on.snapshot() });
      return;
    }
    if (m.t === "frame" && typeof m.name === "string" && typeof m.data === "string") {
      this._on.frame(m.name, m.data);
    } else if (m.t === "status" && typeof m.status === "string") {
      this._on.status({ status: m.status, refusal: typeof m.refusal === "string" ? m.refusal : "",
        counts: m.counts, cursor: m.cursor });
    }
  }
}

/**
 * The group of one user's tabs: belfry's URL (endpoint resolved against
 * the page's href) and the token's subject, or "session" without a token.
 */
export function groupKey(endpoint, token, href) {
  const sub = jwtSubject(token);
  const who = sub ? "user:" + sub : "session";
  const base = new URL(endpoint || "/", href).href;
  return "belfry:" + base + ":" + who;
}

/** The unverified sub claim of a JWT, only to group the tabs of one user. */
export function jwtSubject(token) {
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

function browserLocks() {
  return typeof navigator !== "undefined" && navigator.locks ? navigator.locks : null;
}
