// notification-bell.js — the <notification-bell> custom element.
//
//   <script type="module" src="https://belfry.example/assets/notification-bell.js"></script>
//   <notification-bell endpoint="https://belfry.example" token-url="/belfry/token"></notification-bell>
//
// Attributes: endpoint (default: same origin), token, token-url, limit
// (page size, default 10), shared="false" (one stream per tab),
// desktop-notifications (show a system notification while the page is
// hidden, once the user allowed it), title-count (prefix the page title with
// the unread count). Theming: the CSS custom properties below and the parts
// button, icon, badge, panel, header, heading, status, action, list, item,
// unread, title, message, time, empty, more.
//
// Events (bubbling, composed): "belfry-change", "belfry-notification",
// "belfry-status", "belfry-error", each with the client's detail.
// Types: notification-bell.d.ts.

import { BelfryClient, relativeTime, badgeText } from "./belfry-client.js";

const STYLE = `
:host { display: inline-block; position: relative; font: var(--belfry-font, 14px/1.4 system-ui, sans-serif);
  color: var(--belfry-color, #1f2328); }
:host([hidden]) { display: none; }
button { font: inherit; }
.bell { position: relative; display: inline-flex; align-items: center; justify-content: center;
  width: var(--belfry-bell-size, 40px); height: var(--belfry-bell-size, 40px); padding: 0; border: 0;
  border-radius: 50%; background: var(--belfry-bell-background, transparent); color: var(--belfry-bell-color, currentColor);
  cursor: pointer; }
.bell:hover { background: var(--belfry-bell-hover-background, rgba(0,0,0,.06)); }
.bell:focus-visible, .item:focus-visible, .action:focus-visible { outline: 2px solid var(--belfry-focus-color, #0969da); outline-offset: 2px; }
.bell svg { width: 60%; height: 60%; }
.badge { position: absolute; top: 2px; right: 0; min-width: 18px; height: 18px; padding: 0 5px; box-sizing: border-box;
  border-radius: 9px; background: var(--belfry-badge-background, #d1242f); color: var(--belfry-badge-color, #fff);
  font-size: 11px; font-weight: 600; line-height: 18px; text-align: center; }
.badge[hidden] { display: none; }
.dot { position: absolute; bottom: 4px; right: 4px; width: 8px; height: 8px; border-radius: 50%;
  background: var(--belfry-offline-color, #9a6700); box-shadow: 0 0 0 2px var(--belfry-background, #fff); }
.dot[hidden] { display: none; }
.panel { position: absolute; right: 0; top: calc(100% + 6px); z-index: var(--belfry-z-index, 1000);
  width: var(--belfry-panel-width, 340px); max-width: calc(100vw - 16px); background: var(--belfry-background, #fff);
  border: 1px solid var(--belfry-border-color, #d0d7de); border-radius: var(--belfry-radius, 8px);
  box-shadow: 0 8px 24px rgba(140,149,159,.2); overflow: hidden; }
.panel[hidden] { display: none; }
.header { display: flex; flex-wrap: wrap; align-items: center; gap: 4px 8px; padding: 8px 12px; border-bottom: 1px solid var(--belfry-border-color, #d0d7de); }
.heading { font-weight: 600; flex: 1; }
.status { font-size: 12px; color: var(--belfry-muted-color, #656d76); }
:host([data-refusal]) .status { order: 1; flex-basis: 100%; } /* the longer refusal hint: a line of its own */
.action { border: 0; background: none; color: var(--belfry-accent-color, #0969da); cursor: pointer; padding: 2px 4px; font-size: 12px; }
.action:disabled { color: var(--belfry-muted-color, #656d76); cursor: default; }
.list { list-style: none; margin: 0; padding: 0; max-height: var(--belfry-list-height, 360px); overflow-y: auto; }
.list li { border-bottom: 1px solid var(--belfry-border-color, #eaeef2); }
.list li:last-child { border-bottom: 0; }
.item { display: block; width: 100%; box-sizing: border-box; padding: 10px 12px 10px 24px; text-align: left;
  border: 0; background: none; color: inherit; text-decoration: none; cursor: pointer; position: relative; }
.item:hover { background: var(--belfry-hover-background, #f6f8fa); }
.item.unread { background: var(--belfry-unread-background, #ddf4ff55); }
.item.unread::before { content: ""; position: absolute; left: 9px; top: 16px; width: 8px; height: 8px; border-radius: 50%;
  background: var(--belfry-accent-color, #0969da); }
.title { display: block; font-weight: 600; }
.message { display: block; overflow-wrap: anywhere; }
.unread .message { font-weight: 500; }
.time { display: block; font-size: 12px; color: var(--belfry-muted-color, #656d76); margin-top: 2px; }
.empty, .more { margin: 0; padding: 16px 12px; text-align: center; color: var(--belfry-muted-color, #656d76); }
.empty[hidden], .more[hidden] { display: none; }
.sr-only { position: absolute; width: 1px; height: 1px; padding: 0; margin: -1px; overflow: hidden; clip: rect(0 0 0 0); white-space: nowrap; border: 0; }
`;

const BELL_SVG = `<svg part="icon" viewBox="0 0 24 24" aria-hidden="true" focusable="false" fill="none" stroke="currentColor"
 stroke-width="2" stroke-linecap="round" stroke-linejoin="round"><path d="M6 8a6 6 0 0 1 12 0c0 7 3 9 3 9H3s3-2 3-9"/>
<path d="M10.3 21a1.94 1.94 0 0 0 3.4 0"/></svg>`;

const STATUS_TEXT = { connecting: "Connecting…", reconnecting: "Reconnecting…", closed: "Offline", live: "" };
// While the server refuses the stream (client.refusal); cleared once live.
const REFUSAL_TEXT = { "too-many-streams": "Too many open tabs — retrying", busy: "Server busy — retrying" };

let seq = 0;

/** The <notification-bell> element. Its client is available as .client. */
export class NotificationBell extends HTMLElement {
  static get observedAttributes() { return ["endpoint", "token", "token-url", "limit", "shared"]; }

  constructor() {
    super();
    const id = "belfry-panel-" + (++seq);
    const root = this.attachShadow({ mode: "open" });
    root.innerHTML = `<style>${STYLE}</style>
<button class="bell" part="button" type="button" aria-haspopup="true" aria-expanded="false" aria-controls="${id}">
${BELL_SVG}<span class="badge" part="badge" hidden></span><span class="dot" part="status-dot" hidden></span></button>
<div class="panel" part="panel" id="${id}" role="region" aria-label="Notifications" hidden>
 <div class="header" part="header"><span class="heading" part="heading">Notifications</span>
  <span class="status" part="status"></span>
  <button class="action mark-all" part="action mark-all" type="button">Mark all as read</button>
  <button class="action refresh" part="action refresh" type="button">Refresh</button></div>
 <ul class="list" part="list"></ul>
 <p class="empty" part="empty" hidden>No new notifications</p>
 <p class="more" part="more" hidden>Loading…</p>
</div>
<div class="sr-only live" role="status" aria-live="polite" aria-atomic="true"></div>`;
    this._button = root.querySelector(".bell");
    this._badge = root.querySelector(".badge");
    this._dot = root.querySelector(".dot");
    this._panel = root.querySelector(".panel");
    this._status = root.querySelector(".status");
    this._list = root.querySelector(".list");
    this._empty = root.querySelector(".empty");
    this._more = root.querySelector(".more");
    this._live = root.querySelector(".live");
    this._markAll = root.querySelector(".mark-all");
    this._refresh = root.querySelector(".refresh");
    this.client = null;
    this._baseTitle = "";
    this._tick = 0;

    this._button.addEventListener("click", () => this.toggle());
    this._markAll.addEventListener("click", () => this.client && this.client.markAllRead());
    this._refresh.addEventListener("click", () => this.client && this.client.refresh().catch(() => {}));
    this._list.addEventListener("scroll", () => this._maybeLoadOlder());
    this._list.addEventListener("click", (e) => this._onItemClick(e));
    root.addEventListener("keydown", (e) => this._onKey(e));
    this._onDocClick = (e) => { if (this.open && !e.composedPath().includes(this)) this.close(false); };
  }

  connectedCallback() {
    document.addEventListener("click", this._onDocClick);
    this._baseTitle = document.title;
    this._connect();
  }

  disconnectedCallback() {
    document.removeEventListener("click", this._onDocClick);
    clearInterval(this._tick);
    if (this.client) this.client.stop();
    this.client = null;
    if (this.hasAttribute("title-count")) document.title = this._baseTitle;
  }

  attributeChangedCallback(name, oldValue, newValue) {
    if (oldValue !== newValue && this.isConnected && this.client) this._connect();
  }

  /** Whether the dropdown is open. */
  get open() { return !this._panel.hidden; }

  /** Opens or closes the dropdown. */
  toggle() { if (this.open) this.close(true); else this.show(); }

  /** Opens the dropdown. */
  show() {
    this._panel.hidden = false;
    this._button.setAttribute("aria-expanded", "true");
    this._render();
    clearInterval(this._tick);
    this._tick = setInterval(() => this._render(), 30000);
  }

  /** Closes the dropdown; with focusButton, focus returns to the bell. */
  close(focusButton) {
    if (!this.open) return;
    this._panel.hidden = true;
    this._button.setAttribute("aria-expanded", "false");
    clearInterval(this._tick);
    if (focusButton) this._button.focus();
  }

  /** Asks the user for desktop notifications (call from a click handler). */
  async requestDesktopPermission() {
    if (typeof Notification === "undefined") return "unsupported";
    return Notification.requestPermission();
  }

  _connect() {
    if (this.client) this.client.stop();
    const c = new BelfryClient({
      endpoint: this.getAttribute("endpoint") || "",
      token: this.getAttribute("token") || "",
      tokenUrl: this.getAttribute("token-url") || "",
      limit: this.getAttribute("limit") || 10,
      shared: this.getAttribute("shared") !== "false",
    });
    this.client = c;
    const forward = (type, name) => c.addEventListener(type, (e) => {
      this.dispatchEvent(new CustomEvent(name, { detail: e.detail, bubbles: true, composed: true }));
    });
    c.addEventListener("change", () => this._render());
    c.addEventListener("notification", (e) => this._announce(e.detail));
    forward("change", "belfry-change");
    forward("notification", "belfry-notification");
    forward("status", "belfry-status");
    forward("error", "belfry-error");
    c.start();
    this._render();
  }

  _render() {
    const c = this.client;
    if (!c) return;
    const s = c.state;
    const badge = badgeText(s.unread);
    this._badge.textContent = badge;
    this._badge.hidden = badge === "";
    const label = s.unread === 0 ? "Notifications, no unread" :
      "Notifications, " + s.unread + " unread";
    this._button.setAttribute("aria-label", label);
    this.setAttribute("data-status", s.status);
    this.setAttribute("data-unread", String(s.unread));
    if (s.refusal) this.setAttribute("data-refusal", s.refusal);
    else this.removeAttribute("data-refusal");
    const statusText = REFUSAL_TEXT[s.refusal] || STATUS_TEXT[s.status] || "";
    this._status.textContent = statusText;
    // The hint is in the closed panel too, as the bell's tooltip.
    if (statusText) this._button.title = statusText;
    else this._button.removeAttribute("title");
    this._dot.hidden = s.status === "live" || s.status === "connecting";
    this._markAll.disabled = s.unread === 0;
    if (this.hasAttribute("title-count")) {
      document.title = (s.unread > 0 ? "(" + badge + ") " : "") + this._baseTitle;
    }
    this._empty.hidden = s.items.length > 0 || s.loading;
    this._more.hidden = !s.loading;
    if (!this.open) return;
    this._renderList(s.items);
  }

  _renderList(items) {
    const focused = this.shadowRoot.activeElement;
    const focusId = focused && focused.dataset ? focused.dataset.id : null;
    const frag = document.createDocumentFragment();
    const now = Date.now();
    for (const n of items) {
      const li = document.createElement("li");
      li.setAttribute("part", "row");
      const unread = n.read_at == null;
      const link = safeLink(n.link);
      const el = document.createElement(link ? "a" : "button");
      if (link) el.href = link; else el.type = "button";
      el.className = "item" + (unread ? " unread" : "");
      el.setAttribute("part", unread ? "item unread" : "item");
      el.dataset.id = String(n.id);
      if (n.title) el.append(span("title", n.title));
      el.append(span("message", n.message));
      const t = document.createElement("time");
      t.className = "time";
      t.setAttribute("part", "time");
      t.dateTime = n.created_at;
      t.textContent = relativeTime(n.created_at, now);
      t.title = new Date(n.created_at).toLocaleString();
      el.append(t);
      if (unread) el.append(span("sr-only", " (unread)"));
      li.append(el);
      frag.append(li);
    }
    this._list.replaceChildren(frag);
    if (focusId) {
      const again = this._list.querySelector(`[data-id="${CSS.escape(focusId)}"]`);
      if (again) again.focus();
    }
  }

  _onItemClick(e) {
    const el = e.target.closest(".item");
    if (!el || !this.client) return;
    const id = Number(el.dataset.id);
    const n = this.client.items.find((x) => x.id === id);
    // The request is sent with keepalive, so following the link does not cancel it.
    if (n && n.read_at == null) this.client.markRead(id);
  }

  _onKey(e) {
    if (e.key === "Escape" && this.open) {
      e.preventDefault();
      this.close(true);
      return;
    }
    if (!this.open) return;
    const items = [...this._list.querySelectorAll(".item")];
    if (items.length === 0) return;
    const i = items.indexOf(this.shadowRoot.activeElement);
    let next = -1;
    if (e.key === "ArrowDown") next = i < 0 ? 0 : Math.min(i + 1, items.length - 1);
    else if (e.key === "ArrowUp") next = i <= 0 ? 0 : i - 1;
    else if (e.key === "Home") next = 0;
    else if (e.key === "End") next = items.length - 1;
    if (next < 0) return;
    e.preventDefault();
    items[next].focus();
    if (next === items.length - 1) this._maybeLoadOlder(true);
  }

  _maybeLoadOlder(force) {
    const l = this._list;
    if (!this.client || !this.client.hasMore) return;
    if (force || l.scrollTop + l.clientHeight >= l.scrollHeight - 40) this.client.loadOlder();
  }

  _announce(n) {
    const text = "New notification: " + (n.title ? n.title + ". " : "") + n.message;
    // Clear first, so the same text is announced again.
    this._live.textContent = "";
    setTimeout(() => { this._live.textContent = text; }, 50);
    if (this.hasAttribute("desktop-notifications") && document.hidden &&
        typeof Notification !== "undefined" && Notification.permission === "granted") {
      const dn = new Notification(n.title || "New notification", { body: n.message, tag: "belfry-" + n.id });
      const link = safeLink(n.link);
      dn.onclick = () => {
        window.focus();
        if (this.client) this.client.markRead(n.id);
        if (link) location.assign(link);
      };
    }
  }
}

function span(cls, text) {
  const s = document.createElement("span");
  s.className = cls;
  if (cls !== "sr-only") s.setAttribute("part", cls);
  s.textContent = text;
  return s;
}

/** Only http(s) URLs and same-origin paths become links (the server checks too). */
function safeLink(link) {
  if (!link || typeof link !== "string") return "";
  if (link.startsWith("/") && !link.startsWith("//")) return link;
  try {
    const u = new URL(link);
    return u.protocol === "http:" || u.protocol === "https:" ? u.href : "";
  } catch (_) {
    return "";
  }
}

if (!customElements.get("notification-bell")) customElements.define("notification-bell", NotificationBell);
