// notification-bell.js — the <notification-bell> custom element.
//
//   <script type="module" src="https://belfry.example/assets/notification-bell.js"></script>
//   <notification-bell endpoint="https://belfry.example" token-url="/belfry/token"
//     tabs="billing:Billing,comments:Comments" all-url="/notifications" theme="auto"></notification-bell>
//
// Attributes: endpoint (default: same origin), token, token-url, limit
// (page size, default 10), shared="false" (one stream per tab), tabs
// (category tabs, "name:Label,…"), badge ("unread" to count unread; default
// unseen), theme (light, dark, auto), lang (default: the document's),
// all-url (a "View all" link), desktop-notifications (a "Desktop
// notifications" switch in the preferences: Web Push in this browser, or,
// on a server with push off, the page's own while the app is open),
// sw-url (the service worker that switch registers; default
// <endpoint>/assets/belfry-sw.js, which must be same-origin with the page),
// title-count (prefix the page title with the badge's count).
//
// It renders the DOM that vue2/NotificationBell.vue renders (classes
// belfry-*, styled by belfry-ui.js), in its shadow root; the parts and
// CSS custom properties are listed in docs/web-component.md.
//
// Events (bubbling, composed): "belfry-change", "belfry-notification",
// "belfry-status", "belfry-error", each with the client's detail, and
// "belfry-action" (cancelable; detail {notification, action}) once an
// action was recorded, before its url is opened. Types: notification-bell.d.ts.

import { BelfryClient } from "./belfry-client.js";
import * as ui from "./belfry-ui.js";
import * as push from "./belfry-push.js";

export { addStrings } from "./belfry-i18n.js";

const RECONNECT = ["endpoint", "token", "token-url", "limit", "shared"];

let seq = 0;

/** The <notification-bell> element. Its client is available as .client. */
export class NotificationBell extends HTMLElement {
  static get observedAttributes() { return [...RECONNECT, "theme", "tabs", "lang", "badge", "all-url", "desktop-notifications", "sw-url"]; }

  constructor() {
    super();
    const id = "belfry-panel-" + (++seq);
    const root = this.attachShadow({ mode: "open" });
    ui.adoptStyles(root);
    root.innerHTML = `<div class="belfry-bell" data-theme="light">
<button class="belfry-button" part="button" type="button" aria-haspopup="true" aria-expanded="false" aria-controls="${id}">
${ui.ICONS.bell}<span class="belfry-badge" part="badge" hidden></span><span class="belfry-dot" part="status-dot" hidden></span></button>
<div class="belfry-panel" part="panel" id="${id}" role="region" hidden>
 <div class="belfry-header" part="header">
  <button class="belfry-icon-button belfry-back" part="action back" type="button" data-focus="back" hidden>${ui.ICONS.back}</button>
  <h2 class="belfry-heading" part="heading"></h2>
  <span class="belfry-status" part="status"></span>
  <button class="belfry-text-button belfry-mark-all" part="action mark-all" type="button" data-focus="mark-all"></button>
  <button class="belfry-icon-button belfry-refresh" part="action refresh" type="button" data-focus="refresh">${ui.ICONS.refresh}</button>
  <button class="belfry-icon-button belfry-gear" part="action preferences-button" type="button" data-focus="gear">${ui.ICONS.gear}</button></div>
 <div class="belfry-tabs" part="tabs" role="tablist"></div>
 <div class="belfry-body" part="body" role="tabpanel">
  <ul class="belfry-list" part="list"></ul>
  <div class="belfry-empty" part="empty" hidden><span class="belfry-empty-icon"></span>
   <span class="belfry-empty-title" part="empty-title"></span><span class="belfry-empty-hint" part="empty-hint"></span></div>
  <p class="belfry-more" part="more" hidden></p>
 </div>
 <div class="belfry-prefs" part="preferences" hidden></div>
 <div class="belfry-footer" part="footer" hidden><a class="belfry-view-all" part="view-all" data-focus="view-all"></a></div>
</div>
<div class="belfry-menu" part="menu" role="menu" hidden></div>
<div class="belfry-sr-only belfry-live" role="status" aria-live="polite" aria-atomic="true"></div></div>`;
    const $ = (s) => root.querySelector(s);
    this._root = $(".belfry-bell");
    this._button = $(".belfry-button");
    this._badge = $(".belfry-badge");
    this._dot = $(".belfry-dot");
    this._panel = $(".belfry-panel");
    this._heading = $(".belfry-heading");
    this._status = $(".belfry-status");
    this._markAll = $(".belfry-mark-all");
    this._refresh = $(".belfry-refresh");
    this._gear = $(".belfry-gear");
    this._back = $(".belfry-back");
    this._tabsEl = $(".belfry-tabs");
    this._body = $(".belfry-body");
    this._list = $(".belfry-list");
    this._empty = $(".belfry-empty");
    this._more = $(".belfry-more");
    this._prefsEl = $(".belfry-prefs");
    this._footer = $(".belfry-footer");
    this._viewAll = $(".belfry-view-all");
    this._menu = $(".belfry-menu");
    this._live = $(".belfry-live");

    this.client = null;
    this._tab = "all";
    this._menuFor = 0;        // the id whose menu is open
    this._prefsOpen = false;
    this._prefs = null;       // the preferences loaded, or null
    this._prefsError = false;
    this._rows = new Map();   // id → {sig, li}: rows reused while unchanged
    this._baseTitle = "";
    this._tick = 0;
    this._acting = new Set(); // ids whose action request is in flight
    this._push = null;        // the desktop switch's state (belfry-push.js), loaded with the preferences

    this._button.addEventListener("click", () => this.toggle());
    this._markAll.addEventListener("click", () => this.client && this.client.markAllRead(this._tabCategory()));
    this._refresh.addEventListener("click", () => this.client && this.client.refresh(this._tab).catch(() => {}));
    this._gear.addEventListener("click", () => this._openPrefs(true));
    this._back.addEventListener("click", () => this._openPrefs(false));
    this._tabsEl.addEventListener("click", (e) => {
      const tab = e.target.closest(".belfry-tab");
      if (tab) this.selectTab(tab.dataset.view);
    });
    this._body.addEventListener("scroll", () => { this._followMenu(); this._maybeLoadOlder(); });
    this._list.addEventListener("click", (e) => this._onListClick(e));
    this._menu.addEventListener("click", (e) => this._onMenuClick(e));
    this._prefsEl.addEventListener("click", (e) => this._onPrefsClick(e));
    root.addEventListener("keydown", (e) => this._onKey(e));
    // A click anywhere else closes an open menu.
    root.addEventListener("click", (e) => {
      if (this._menuFor && !e.composedPath().some((x) => x === this._menu || (x.classList && x.classList.contains("belfry-menu-button")))) {
        this._closeMenu(false);
      }
    });
    this._onDocClick = (e) => {
      if (!e.composedPath().includes(this)) { this._closeMenu(false); if (this.open) this.close(false); }
    };
    this._onResize = () => { this._closeMenu(false); if (this.open) this._place(); };
  }

  connectedCallback() {
    document.addEventListener("click", this._onDocClick);
    window.addEventListener("resize", this._onResize);
    this._baseTitle = document.title;
    this._connect();
  }

  disconnectedCallback() {
    document.removeEventListener("click", this._onDocClick);
    window.removeEventListener("resize", this._onResize);
    clearInterval(this._tick);
    if (this.client) this.client.stop();
    this.client = null;
    if (this.hasAttribute("title-count")) document.title = this._baseTitle;
  }

  attributeChangedCallback(name, oldValue, newValue) {
    if (oldValue === newValue || !this.isConnected || !this.client) return;
    if (RECONNECT.includes(name)) this._connect();
    else {
      if (name === "tabs" && !this._tabs().some((t) => t.key === this._tab)) this._tab = "all";
      this._rows.clear();
      this._render();
    }
  }

  /** Whether the panel is open. */
  get open() { return !this._panel.hidden; }

  /** The key of the tab shown: "all", "unread", "category:<name>" or "archived". */
  get tab() { return this._tab; }

  /** Opens or closes the panel. */
  toggle() { if (this.open) this.close(true); else this.show(); }

  /** Opens the panel; it marks the notifications shown as seen. */
  show() {
    this._panel.hidden = false;
    this._root.setAttribute("data-open", "");
    this._button.setAttribute("aria-expanded", "true");
    this._place();
    this._render();
    if (this.client) {
      this.client.load(this._tab);
      this.client.markSeen();
    }
    clearInterval(this._tick);
    this._tick = setInterval(() => this._render(), 30000);
  }

  /** Closes the panel; with focusButton, focus returns to the bell. */
  close(focusButton) {
    if (!this.open) return;
    this._closeMenu(false);
    this._panel.hidden = true;
    this._root.removeAttribute("data-open");
    this._button.setAttribute("aria-expanded", "false");
    clearInterval(this._tick);
    if (focusButton) this._button.focus();
  }

  /** Shows a tab (see tab), loading its list the first time. */
  selectTab(key) {
    if (!this._tabs().some((t) => t.key === key)) return;
    this._closeMenu(false);
    this._openPrefs(false);
    this._tab = key;
    this._body.scrollTop = 0;
    if (this.client) this.client.load(key);
    this._render();
  }

  /** Asks the user for desktop notifications (call from a click handler). */
  async requestDesktopPermission() {
    if (typeof Notification === "undefined") return "unsupported";
    return Notification.requestPermission();
  }

  _t() { return ui.translator(ui.langOf(this)); }
  _lang() { return ui.resolveLang(ui.langOf(this)); }
  _tabs() { return ui.parseTabs(this.getAttribute("tabs")); }
  _tabCategory() { return this._tab.startsWith("category:") ? this._tab.slice(9) : undefined; }

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
    this._rows.clear();
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
    if (this.open) c.load(this._tab);
    this._render();
  }

  // Places the panel inside the viewport, under the bell.
  _place() {
    const b = this._button.getBoundingClientRect();
    const host = this._root.getBoundingClientRect();
    const vw = document.documentElement.clientWidth || window.innerWidth;
    this._panel.style.left = ui.panelLeft({ left: b.left, right: b.right, hostLeft: host.left }, this._panel.offsetWidth, vw) + "px";
    const avail = Math.max(240, window.innerHeight - b.bottom - 16);
    this._panel.style.setProperty("--_avail", avail + "px");
  }

  _render() {
    const c = this.client;
    if (!c) return;
    const t = this._t();
    const s = c.state;
    const mode = this.getAttribute("badge") === "unread" ? "unread" : "unseen";
    const count = ui.badgeCount(s, mode);
    const badge = ui.badgeText(count);
    this._root.dataset.theme = ui.themeOf(this.getAttribute("theme"));
    this._badge.textContent = badge;
    this._badge.hidden = badge === "";
    this._button.setAttribute("aria-label", ui.bellLabel(t, s, mode));
    // On the element for the page's CSS, on the root as the Vue component has them.
    for (const e of [this, this._root]) {
      e.setAttribute("data-status", s.status);
      e.setAttribute("data-unread", String(s.unread));
      e.setAttribute("data-unseen", String(s.unseen));
      if (s.refusal) e.setAttribute("data-refusal", s.refusal); else e.removeAttribute("data-refusal");
    }
    const hint = ui.statusText(t, s.status, s.refusal);
    this._status.textContent = hint;
    // The hint is in the closed panel too, as the bell's tooltip.
    if (hint) this._button.title = hint; else this._button.removeAttribute("title");
    this._dot.hidden = s.status === "live" || s.status === "connecting";
    if (this.hasAttribute("title-count")) document.title = (count > 0 ? "(" + badge + ") " : "") + this._baseTitle;
    if (!this.open) return;

    const focus = this._focusKey();
    this._panel.setAttribute("aria-label", t("notifications"));
    this._heading.textContent = this._prefsOpen ? t("preferencesTitle") : t("notifications");
    const cat = this._tabCategory();
    const unreadHere = cat == null ? s.unread : (s.byCategory[cat] ? s.byCategory[cat].unread : 0);
    this._markAll.innerHTML = ui.ICONS.checks + `<span class="belfry-mark-all-text"></span>`;
    this._markAll.lastChild.textContent = t("markAllRead");
    this._markAll.setAttribute("aria-label", t("markAllRead"));
    this._markAll.title = t("markAllRead");
    this._markAll.disabled = unreadHere === 0;
    this._markAll.hidden = this._prefsOpen;
    this._refresh.setAttribute("aria-label", t("refresh"));
    this._refresh.title = t("refresh");
    this._refresh.hidden = this._prefsOpen;
    this._gear.setAttribute("aria-label", t("preferences"));
    this._gear.title = t("preferences");
    this._gear.setAttribute("aria-expanded", String(this._prefsOpen));
    this._gear.hidden = this._prefsOpen;
    this._back.hidden = !this._prefsOpen;
    this._back.setAttribute("aria-label", t("back"));
    this._back.title = t("back");
    const allUrl = ui.safeLink(this.getAttribute("all-url"));
    this._footer.hidden = !allUrl || this._prefsOpen;
    if (allUrl) { this._viewAll.href = allUrl; this._viewAll.textContent = t("viewAll"); }

    this._tabsEl.hidden = this._prefsOpen;
    this._body.hidden = this._prefsOpen;
    this._prefsEl.hidden = !this._prefsOpen;
    if (this._prefsOpen) this._renderPrefs(t);
    else {
      this._renderTabs(t, s);
      this._renderList(t);
    }
    this._renderMenu(t);
    this._restoreFocus(focus);
    this._maybeLoadOlder();
  }

  _renderTabs(t, s) {
    this._tabsEl.setAttribute("aria-label", t("tabs"));
    const frag = document.createDocumentFragment();
    for (const tab of this._tabs()) {
      const selected = tab.key === this._tab;
      const b = el("button", { class: "belfry-tab", part: selected ? "tab tab-selected" : "tab", type: "button", role: "tab",
        "aria-selected": String(selected), tabindex: selected ? "0" : "-1", "data-view": tab.key, "data-focus": "tab:" + tab.key });
      b.append(el("span", { class: "belfry-tab-label" }, ui.tabLabel(tab, t)));
      const n = ui.tabCount(tab.key, s);
      if (n) b.append(el("span", { class: "belfry-tab-count", part: "tab-count" }, ui.badgeText(n)));
      frag.append(b);
    }
    this._tabsEl.replaceChildren(frag);
    const sel = this._tabsEl.querySelector('[aria-selected="true"]');
    if (sel && this._tabScrolled !== this._tab) {
      this._tabScrolled = this._tab;
      scrollIntoTabs(this._tabsEl, sel);
    }
  }

  _renderList(t) {
    const c = this.client;
    const v = c.view(this._tab);
    const lang = this._lang();
    const now = Date.now();
    const tabs = this._tabs();
    const labels = ui.categoryLabels(tabs);
    const rows = [];
    const keep = new Map();
    for (const n of v.items) {
      const m = ui.itemView(n, t, lang, now, labels);
      const acting = this._acting.has(n.id);
      const sig = JSON.stringify([m, acting, this._menuFor === n.id]);
      let r = this._rows.get(n.id);
      if (!r || r.sig !== sig) r = { sig, li: this._row(m, t, acting) };
      keep.set(n.id, r);
      rows.push(r.li);
    }
    this._rows = keep;
    this._list.replaceChildren(...rows);
    this._list.setAttribute("aria-label", ui.tabLabel(tabs.find((x) => x.key === this._tab) || tabs[0], t));
    const tab = tabs.find((x) => x.key === this._tab) || tabs[0];
    const empty = ui.emptyState(tab, t);
    this._empty.hidden = !v.loaded || v.items.length > 0 || v.loading || v.hasMore;
    this._empty.firstElementChild.innerHTML = tab.key === "archived" ? ui.ICONS.archive : ui.ICONS.inbox;
    this._empty.children[1].textContent = empty.title;
    this._empty.children[2].textContent = empty.hint;
    this._more.hidden = !(v.loading || !v.loaded);
    this._more.textContent = t("loading");
  }

  // One row: the item (a link when the notification has one), its action
  // buttons or the action taken, and its menu button.
  _row(m, t, acting) {
    const li = el("li", { class: "belfry-row" + (m.unread ? " belfry-unread" : ""), part: m.unread ? "row row-unread" : "row", "data-id": m.id });
    const item = el(m.link ? "a" : "button", { class: "belfry-item" + (m.unread ? " belfry-unread" : ""),
      part: m.unread ? "item unread" : "item", "data-id": m.id, "data-focus": "item:" + m.id });
    if (m.link) item.href = m.link; else item.type = "button";
    if (m.unread) item.append(el("span", { class: "belfry-unread-dot", part: "unread-dot", "aria-hidden": "true" }));
    const av = el("span", { class: "belfry-avatar", part: "avatar", "aria-hidden": "true" });
    if (m.avatar.src) av.append(el("img", { src: m.avatar.src, alt: "", loading: "lazy", decoding: "async" }));
    else { av.textContent = m.avatar.text; av.style.setProperty("--_hue", String(m.avatar.hue)); }
    const content = el("span", { class: "belfry-content" });
    if (m.title) content.append(el("span", { class: "belfry-title", part: "title" }, m.title));
    content.append(el("span", { class: "belfry-message", part: "message" }, m.message));
    const meta = el("span", { class: "belfry-meta" });
    const time = el("time", { class: "belfry-time", part: "time", datetime: m.datetime }, m.time);
    if (m.timeTitle) time.title = m.timeTitle;
    meta.append(time);
    if (m.category) meta.append(el("span", { class: "belfry-category", part: "category" }, m.category));
    content.append(meta);
    if (m.unread) content.append(el("span", { class: "belfry-sr-only" }, " " + t("unreadHint")));
    item.append(av, content);
    li.append(item);
    if (m.actions.length > 0 || m.taken) {
      const acts = el("div", { class: "belfry-item-actions", part: "item-actions" });
      if (m.taken) {
        const done = el("span", { class: "belfry-taken", part: "action-taken" });
        done.innerHTML = ui.ICONS.check;
        done.append(el("span", {}, t("actionTaken", { label: m.taken })));
        acts.append(done);
      }
      for (const a of m.actions) {
        const b = el("button", { class: "belfry-item-action" + (a.primary ? " belfry-primary" : ""),
          part: a.primary ? "item-action item-action-primary" : "item-action", type: "button",
          "data-id": m.id, "data-action": a.id, "data-focus": "action:" + m.id + ":" + a.id }, a.label);
        if (acting) b.disabled = true;
        acts.append(b);
      }
      li.append(acts);
    }
    const open = this._menuFor === m.id;
    const more = el("button", { class: "belfry-menu-button", part: "menu-button", type: "button", "aria-haspopup": "menu",
      "aria-expanded": String(open), "aria-label": t("moreActions") + (m.title ? ": " + m.title : ""), title: t("moreActions"),
      "data-id": m.id, "data-focus": "menu-button:" + m.id });
    more.innerHTML = ui.ICONS.more;
    li.append(more);
    return li;
  }

  _renderMenu(t) {
    const n = this._menuFor && this.client ? this.client.get(this._menuFor) : null;
    if (!n || !this.open || this._prefsOpen) {
      this._menuFor = 0;
      this._menu.hidden = true;
      this._menu.replaceChildren();
      return;
    }
    const m = ui.itemView(n, t, this._lang(), Date.now(), {});
    this._menu.setAttribute("aria-label", t("moreActions"));
    this._menu.replaceChildren(...m.ops.map((o) => el("button", { class: "belfry-menu-item", part: "menu-item", type: "button",
      role: "menuitem", tabindex: "-1", "data-op": o.op, "data-focus": "menu:" + o.op }, o.label)));
    const wasHidden = this._menu.hidden;
    this._menu.hidden = false;
    if (wasHidden) this._placeMenu();
  }

  _placeMenu() {
    const btn = this._list.querySelector(`.belfry-menu-button[data-id="${this._menuFor}"]`);
    if (!btn) return;
    const r = btn.getBoundingClientRect();
    const mw = this._menu.offsetWidth, mh = this._menu.offsetHeight;
    const vw = document.documentElement.clientWidth || window.innerWidth;
    let top = r.bottom + 4;
    if (top + mh > window.innerHeight - 8) top = Math.max(8, r.top - 4 - mh);
    const left = Math.min(Math.max(8, r.right - mw), vw - 8 - mw);
    // position: fixed, relative to the viewport (no ancestor here transforms).
    this._menu.style.top = top + "px";
    this._menu.style.left = left + "px";
  }

  // The open menu follows its button as the list scrolls, and closes once
  // the button is out of the list's sight.
  _followMenu() {
    if (!this._menuFor) return;
    const btn = this._list.querySelector(`.belfry-menu-button[data-id="${this._menuFor}"]`);
    if (!btn || !ui.inside(btn.getBoundingClientRect(), this._body.getBoundingClientRect())) this._closeMenu(false);
    else this._placeMenu();
  }

  _openMenu(id) {
    this._menuFor = id;
    this._render();
    const first = this._menu.querySelector(".belfry-menu-item");
    if (first) first.focus();
  }

  _closeMenu(focusButton) {
    if (!this._menuFor) return;
    const id = this._menuFor;
    this._menuFor = 0;
    this._render();
    if (focusButton) {
      const b = this._list.querySelector(`.belfry-menu-button[data-id="${id}"]`);
      if (b) b.focus();
    }
  }

  _renderPrefs(t) {
    const frag = document.createDocumentFragment();
    frag.append(el("p", { class: "belfry-prefs-intro" }, this._prefsError ? t("preferencesError") : t("preferencesIntro")));
    const list = el("ul", { class: "belfry-prefs-list" });
    if (this._prefs) {
      for (const r of ui.preferenceRows(this._prefs, this._tabs(), t)) {
        list.append(this._prefRow(r.label, "", r.on, false, r.category == null ? "*" : r.category));
      }
    } else if (!this._prefsError) {
      frag.append(el("p", { class: "belfry-more" }, t("loading")));
    }
    if (this.hasAttribute("desktop-notifications")) {
      const v = push.desktopSwitch(this._push || { loading: true });
      const row = this._prefRow(t("desktop"), t(v.hint), v.on, v.disabled, "", "desktop");
      if (v.busy) row.querySelector(".belfry-switch").setAttribute("aria-busy", "true");
      list.append(row);
    }
    frag.append(list);
    this._prefsEl.replaceChildren(frag);
  }

  _prefRow(label, hint, on, disabled, category, kind = "in-app") {
    const li = el("li", { class: "belfry-pref", part: "preference" });
    const text = el("span", { class: "belfry-pref-text" });
    const id = "belfry-pref-" + (++seq);
    text.append(el("span", { class: "belfry-pref-label", id }, label));
    if (hint) text.append(el("span", { class: "belfry-pref-hint" }, hint));
    const sw = el("button", { class: "belfry-switch", part: "switch", type: "button", role: "switch", "aria-checked": String(on),
      "aria-labelledby": id, "data-kind": kind, "data-category": category, "data-focus": "switch:" + kind + ":" + category });
    if (disabled) sw.disabled = true;
    li.append(text, sw);
    return li;
  }

  async _openPrefs(open) {
    if (open === this._prefsOpen) return;
    this._prefsOpen = open;
    this._closeMenu(false);
    this._render();
    if (!open) { this._gear.focus(); return; }
    this._back.focus();
    this._prefsError = false;
    if (this.hasAttribute("desktop-notifications")) this._loadDesktop();
    try {
      this._prefs = await this.client.preferences();
    } catch (_) {
      this._prefsError = true;
    }
    this._render();
  }

  _workerURL() { return push.defaultWorkerURL(this.getAttribute("sw-url"), this.getAttribute("endpoint"), location.href); }

  // The desktop switch shows this browser's real state. With push on the
  // server (asked once per page): the permission and the worker's push
  // subscription, which the page's own notifications (while it is hidden)
  // follow. With push off: the permission and the page's own
  // notifications' on/off, as the user left it in this browser.
  async _loadDesktop() {
    const s = await push.state(globalThis, this._workerURL(), await push.serverPush(this.client));
    if (this._push && this._push.busy) return;
    if (s.server !== "off" && s.permission === "granted") ui.setDesktopOff(!s.subscribed);
    this._push = { ...s, pageOff: ui.desktopOff(), busy: "", outcome: this._push ? this._push.outcome : "" };
    this._render();
  }

  async _onPrefsClick(e) {
    const sw = e.target.closest(".belfry-switch");
    if (!sw || sw.disabled) return;
    if (sw.dataset.kind === "desktop") {
      await this._toggleDesktop();
      this._render();
      return;
    }
    if (!this._prefs) return;
    const on = sw.getAttribute("aria-checked") !== "true";
    const category = sw.dataset.category === "*" ? null : sw.dataset.category;
    const before = this._prefs;
    // At once, then the server's answer.
    this._prefs = ui.withPreference(before, category, on);
    this._render();
    try {
      this._prefs = await this.client.setPreferences(ui.preferencePatch(category, on));
    } catch (_) {
      this._prefs = before;
    }
    this._render();
  }

  // Desktop notifications: Web Push in this browser, or the page's own
  // when the server has push off. The permission is asked for only here,
  // on the user's click (change asks before any await).
  async _toggleDesktop() {
    const s = this._push;
    if (!s || s.busy) return;
    const on = !push.desktopSwitch(s).on;
    this._push = { ...s, busy: on ? "on" : "off", outcome: "" };
    this._render();
    const r = await push.change(globalThis, this.client, this._workerURL(), s, on);
    this._push = { ...r.state, busy: "", outcome: r.outcome };
    ui.setDesktopOff(r.state.pageOff);
    if (r.error) this.dispatchEvent(new CustomEvent("belfry-error", { detail: { error: r.error }, bubbles: true, composed: true }));
  }

  _focusKey() {
    const a = this.shadowRoot.activeElement;
    return a && a.dataset ? a.dataset.focus || "" : "";
  }

  _restoreFocus(key) {
    if (!key) return;
    const a = this.shadowRoot.activeElement;
    if (a && a.dataset && a.dataset.focus === key && a.isConnected) return;
    const again = this.shadowRoot.querySelector(`[data-focus="${CSS.escape(key)}"]`);
    if (again) again.focus({ preventScroll: true });
  }

  async _onListClick(e) {
    const c = this.client;
    if (!c) return;
    const more = e.target.closest(".belfry-menu-button");
    if (more) {
      e.stopPropagation();
      const id = Number(more.dataset.id);
      if (this._menuFor === id) this._closeMenu(true); else this._openMenu(id);
      return;
    }
    const act = e.target.closest(".belfry-item-action");
    if (act) {
      const id = Number(act.dataset.id);
      const n = c.get(id);
      const action = n && (n.actions || []).find((a) => a.id === act.dataset.action);
      if (!action || this._acting.has(id)) return;
      this._acting.add(id);
      this._render();
      const ok = await c.act(id, action.id);
      this._acting.delete(id);
      this._render();
      if (!ok) return;
      const ev = new CustomEvent("belfry-action", { detail: { notification: c.get(id) || n, action },
        bubbles: true, composed: true, cancelable: true });
      const url = ui.safeLink(action.url);
      if (this.dispatchEvent(ev) && url) location.assign(url);
      return;
    }
    const item = e.target.closest(".belfry-item");
    if (!item) return;
    const id = Number(item.dataset.id);
    const n = c.get(id);
    // The request is sent with keepalive, so following the link does not cancel it.
    if (n && n.read_at == null) c.markRead(id);
  }

  _onMenuClick(e) {
    e.stopPropagation();
    const b = e.target.closest(".belfry-menu-item");
    const c = this.client;
    if (!b || !c) return;
    const id = this._menuFor;
    const ids = [...this._list.querySelectorAll(".belfry-item")].map((x) => Number(x.dataset.id));
    const at = ids.indexOf(id);
    this._menuFor = 0;
    switch (b.dataset.op) {
      case "read": c.markRead(id); break;
      case "unread": c.markUnread(id); break;
      case "archive": c.archive(id); break;
      case "unarchive": c.unarchive(id); break;
      case "delete": c.remove(id); break;
    }
    this._render();
    // The focus stays on the row, or on the one that took its place.
    const items = [...this._list.querySelectorAll(".belfry-item")];
    const target = items.find((x) => Number(x.dataset.id) === id) || items[Math.min(at, items.length - 1)];
    if (target) target.focus();
    else { const tab = this._tabsEl.querySelector('[aria-selected="true"]'); if (tab) tab.focus(); }
  }

  _onKey(e) {
    const active = this.shadowRoot.activeElement;
    if (!this._menu.hidden && this._menu.contains(active)) {
      const items = [...this._menu.querySelectorAll(".belfry-menu-item")];
      const i = items.indexOf(active);
      let next = -1;
      if (e.key === "ArrowDown") next = (i + 1) % items.length;
      else if (e.key === "ArrowUp") next = (i - 1 + items.length) % items.length;
      else if (e.key === "Home") next = 0;
      else if (e.key === "End") next = items.length - 1;
      else if (e.key === "Escape") { e.preventDefault(); e.stopPropagation(); this._closeMenu(true); return; }
      else if (e.key === "Tab") { this._closeMenu(true); e.preventDefault(); return; }
      if (next >= 0) { e.preventDefault(); items[next].focus(); }
      return;
    }
    if (e.key === "Escape" && this.open) {
      e.preventDefault();
      if (this._prefsOpen) this._openPrefs(false);
      else this.close(true);
      return;
    }
    if (!this.open) return;
    if (active && active.classList.contains("belfry-tab") && (e.key === "ArrowLeft" || e.key === "ArrowRight")) {
      const tabs = [...this._tabsEl.querySelectorAll(".belfry-tab")];
      const i = tabs.indexOf(active);
      const next = tabs[(i + (e.key === "ArrowRight" ? 1 : -1) + tabs.length) % tabs.length];
      e.preventDefault();
      this.selectTab(next.dataset.view);
      const again = this._tabsEl.querySelector(`[data-view="${CSS.escape(next.dataset.view)}"]`);
      if (again) again.focus();
      return;
    }
    if (this._prefsOpen) return;
    const items = [...this._list.querySelectorAll(".belfry-item")];
    if (items.length === 0) return;
    const row = active && active.closest ? active.closest(".belfry-row") : null;
    const i = row ? items.indexOf(row.querySelector(".belfry-item")) : -1;
    let next = -1;
    if (e.key === "ArrowDown") next = i < 0 ? 0 : Math.min(i + 1, items.length - 1);
    else if (e.key === "ArrowUp") next = i <= 0 ? 0 : i - 1;
    else if (e.key === "Home" && row) next = 0;
    else if (e.key === "End" && row) next = items.length - 1;
    if (next < 0) return;
    e.preventDefault();
    items[next].focus();
    if (next === items.length - 1 && this.client) this.client.loadOlder(this._tab);
  }

  _maybeLoadOlder() {
    const c = this.client;
    if (!c || !this.open || this._prefsOpen) return;
    const v = c.view(this._tab);
    if (!v.loaded || !v.hasMore || v.loading) return;
    const l = this._body;
    // Near the end, or a list too short to scroll.
    if (l.scrollTop + l.clientHeight >= l.scrollHeight - 40) c.loadOlder(this._tab);
  }

  _announce(n) {
    const t = this._t();
    // Clear first, so the same text is announced again.
    this._live.textContent = "";
    setTimeout(() => { this._live.textContent = ui.announcement(t, n); }, 50);
    if (this.hasAttribute("desktop-notifications") && document.hidden && typeof Notification !== "undefined" &&
        Notification.permission === "granted" && !ui.desktopOff()) {
      const dn = new Notification(n.title || t("notifications"), { body: n.message, tag: "belfry-" + n.id });
      const link = ui.safeLink(n.link);
      dn.onclick = () => {
        window.focus();
        if (this.client) this.client.markRead(n.id);
        if (link) location.assign(link);
      };
    }
  }
}

// Scrolls the tab strip (only it) so that the tab is in view.
function scrollIntoTabs(strip, tab) {
  const s = strip.getBoundingClientRect(), r = tab.getBoundingClientRect();
  if (r.left < s.left + 16) strip.scrollLeft -= s.left + 16 - r.left;
  else if (r.right > s.right - 16) strip.scrollLeft += r.right - (s.right - 16);
}

function el(tag, attrs, text) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) if (v != null) e.setAttribute(k, String(v));
  if (text != null) e.textContent = text;
  return e;
}

if (!customElements.get("notification-bell")) customElements.define("notification-bell", NotificationBell);
