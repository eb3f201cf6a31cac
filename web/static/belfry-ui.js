// belfry-ui.js — what the <notification-bell> element and the Vue 2
// component share: the tabs, what each notification shows, the labels, the
// panel's placement, the stylesheet and the icons. Both render the same
// DOM (classes belfry-*), so one stylesheet themes both and the browser
// tests run the same checks on each.
//
// Everything here is pure but adoptStyles and the desktop switch's storage
// (web/test/ui.test.mjs).

import { translator, resolveLang } from "./belfry-i18n.js";
import { relativeTime, badgeText } from "./belfry-client.js";

export { translator, resolveLang, badgeText };

/**
 * The tabs of a tabs attribute ("billing:Billing,comments:Comments"):
 * All, Unread, one per category (label defaults to the name), Archived.
 * Each is {key, category, label}; label is "" for the built-in ones.
 */
export function parseTabs(attr) {
  const tabs = [{ key: "all", category: null, label: "" }, { key: "unread", category: null, label: "" }];
  const seen = new Set();
  for (const part of String(attr || "").split(",")) {
    const i = part.indexOf(":");
    const name = (i < 0 ? part : part.slice(0, i)).trim();
    const label = (i < 0 ? "" : part.slice(i + 1)).trim();
    if (!name || seen.has(name)) continue;
    seen.add(name);
    tabs.push({ key: "category:" + name, category: name, label: label || name });
  }
  tabs.push({ key: "archived", category: null, label: "" });
  return tabs;
}

/** A tab's label. */
export function tabLabel(tab, t) { return tab.category != null ? tab.label : t(tab.key); }

/**
 * A tab's count: unread notifications (all, unread, a category's); null
 * for archived, which the server does not count.
 */
export function tabCount(key, counts) {
  if (key === "archived") return null;
  if (key === "all" || key === "unread") return counts.unread;
  if (key.startsWith("category:")) {
    const c = counts.byCategory[key.slice(9)];
    return c ? c.unread : 0;
  }
  return null;
}

/** The empty state of a tab: {title, hint}. */
export function emptyState(tab, t) {
  if (tab.category != null) return { title: t("emptyCategory", { category: tab.label }), hint: t("emptyCategoryHint", { category: tab.label }) };
  if (tab.key === "unread") return { title: t("emptyUnread"), hint: t("emptyUnreadHint") };
  if (tab.key === "archived") return { title: t("emptyArchived"), hint: t("emptyArchivedHint") };
  return { title: t("emptyAll"), hint: t("emptyAllHint") };
}

/** The bell's badge: the unseen count, or the unread count with badge="unread". */
export function badgeCount(counts, mode) { return mode === "unread" ? counts.unread : counts.unseen; }

/** The bell button's aria-label, e.g. "Notifications, 3 unread, 2 new". */
export function bellLabel(t, counts, mode) {
  let s = counts.unread === 0 ? t("bellNoUnread") : t("bellUnread", { n: counts.unread });
  if (mode !== "unread" && counts.unseen > 0) s += ", " + t("bellNew", { n: counts.unseen });
  return s;
}

/** The connection hint: "" while live. */
export function statusText(t, status, refusal) {
  if (refusal === "too-many-streams") return t("tooManyStreams");
  if (refusal === "busy") return t("busy");
  if (status === "connecting") return t("connecting");
  if (status === "reconnecting") return t("reconnecting");
  if (status === "closed") return t("offline");
  return "";
}

/** What the live region says of a new notification. */
export function announcement(t, n) {
  return t("newNotification", { text: (n.title ? n.title + ". " : "") + n.message });
}

/** Only http(s) URLs and same-origin paths become links (the server checks too). */
export function safeLink(link) {
  if (!link || typeof link !== "string") return "";
  if (link.startsWith("/") && !link.startsWith("//")) return link;
  try {
    const u = new URL(link);
    return u.protocol === "http:" || u.protocol === "https:" ? u.href : "";
  } catch (_) {
    return "";
  }
}

/**
 * A notification's avatar: {src} for its image, else {text, hue}: the
 * first letter of its title, category or message on a colour of its own.
 */
export function avatarOf(n) {
  const src = safeLink(n.avatar);
  if (src) return { src, text: "", hue: 0 };
  const from = n.title || n.category || n.message || "?";
  const ch = [...from.trim()][0] || "?";
  return { src: "", text: ch.toLocaleUpperCase(), hue: hue(n.category || n.title || "") };
}

function hue(s) {
  let h = 0;
  for (const ch of s) h = (h * 31 + ch.codePointAt(0)) >>> 0;
  return s ? h % 360 : 232;
}

/**
 * What a row shows of a notification: {id, unread, title, message, link,
 * time, timeTitle, avatar, category, actions, taken, ops}. actions are the
 * buttons while none was taken ({id, label, url, primary}); taken is the
 * label of the action taken, else ""; ops are the menu's items
 * ({op, label}: read or unread, archive or unarchive, delete).
 */
export function itemView(n, t, lang, now, categoryLabels) {
  const unread = n.read_at == null;
  const archived = n.archived_at != null;
  const actions = Array.isArray(n.actions) ? n.actions.slice(0, 3) : [];
  let taken = "";
  if (n.action != null) {
    const a = actions.find((x) => x.id === n.action);
    taken = a ? a.label : String(n.action);
  }
  const created = Date.parse(n.created_at);
  return {
    id: n.id,
    unread,
    datetime: n.created_at || "",
    title: n.title || "",
    message: n.message || "",
    link: safeLink(n.link),
    time: relativeTime(n.created_at, now, lang),
    timeTitle: Number.isNaN(created) ? "" : new Date(created).toLocaleString(lang),
    avatar: avatarOf(n),
    category: n.category == null ? "" : (categoryLabels && categoryLabels[n.category]) || n.category,
    actions: taken ? [] : actions.map((a, i) => ({ id: a.id, label: a.label, url: safeLink(a.url), primary: i === 0 })),
    taken,
    ops: [
      unread ? { op: "read", label: t("markRead") } : { op: "unread", label: t("markUnread") },
      archived ? { op: "unarchive", label: t("unarchive") } : { op: "archive", label: t("archive") },
      { op: "delete", label: t("delete") },
    ],
  };
}

/** The labels of the categories of the tabs: {name: label}. */
export function categoryLabels(tabs) {
  const out = {};
  for (const tab of tabs) if (tab.category != null) out[tab.category] = tab.label;
  return out;
}

/**
 * The preference switches: one per category of the tabs and one for
 * everything else (the default), each {category (null for the default),
 * label, on}: on is the in-app switch that applies.
 */
export function preferenceRows(prefs, tabs, t) {
  const def = prefs && prefs.default && typeof prefs.default.in_app === "boolean" ? prefs.default.in_app : true;
  const cats = (prefs && prefs.categories) || {};
  const rows = tabs.filter((tab) => tab.category != null).map((tab) => {
    const c = cats[tab.category];
    return { category: tab.category, label: tab.label, on: c && typeof c.in_app === "boolean" ? c.in_app : def };
  });
  rows.push({ category: null, label: t("preferencesOther"), on: def });
  return rows;
}

/** The preferences with one in-app switch changed (shown until the server's answer). */
export function withPreference(prefs, category, on) {
  const def = (prefs && prefs.default) || { in_app: true, push: true, webhook: true };
  const out = { default: { ...def }, categories: { ...((prefs && prefs.categories) || {}) } };
  if (category == null) out.default.in_app = on;
  else out.categories[category] = { ...(out.categories[category] || def), in_app: on };
  return out;
}

/** The PUT body that turns one row's in-app switch to on. */
export function preferencePatch(category, on) {
  return category == null ? { default: { in_app: on } } : { categories: { [category]: { in_app: on } } };
}

/**
 * Where the panel goes: its left edge relative to the bell's host, so that
 * it is inside the viewport wherever the bell is. It is aligned with the
 * bell's right edge when it fits, else with its left edge, else pushed in
 * from the viewport's edge (margin).
 */
export function panelLeft(bell, width, viewport, margin = 8) {
  const w = Math.min(width, viewport - 2 * margin);
  let left = bell.right - w;                                  // under the bell, its right edge aligned
  if (left < margin) left = bell.left;                        // else its left edge aligned
  if (left + w > viewport - margin) left = viewport - margin - w;
  if (left < margin) left = margin;
  return left - bell.hostLeft;
}

// Desktop notifications turned off in this browser (after being allowed).
const DESKTOP_OFF = "belfry-desktop-off";

/** Whether the user turned desktop notifications off in this browser. */
export function desktopOff() {
  try { return globalThis.localStorage.getItem(DESKTOP_OFF) === "1"; } catch (_) { return false; }
}

/** Turns desktop notifications off (or on again) in this browser. */
export function setDesktopOff(off) {
  try {
    if (off) globalThis.localStorage.setItem(DESKTOP_OFF, "1");
    else globalThis.localStorage.removeItem(DESKTOP_OFF);
  } catch (_) { /* no storage: they stay on */ }
}

/** Whether rectangle r is (at least half) within rectangle box, vertically. */
export function inside(r, box) {
  const mid = (r.top + r.bottom) / 2;
  return mid >= box.top && mid <= box.bottom;
}

/** The language of an element: its lang attribute, else its nearest ancestor's; "" if none. */
export function langOf(el) {
  const own = el.closest ? el.closest("[lang]") : null;
  if (own) return own.getAttribute("lang") || "";
  const root = el.ownerDocument && el.ownerDocument.documentElement;
  return (root && root.getAttribute("lang")) || "";
}

/** The themes: "light" (default), "dark", "auto" (follows prefers-color-scheme). */
export function themeOf(attr) { return attr === "dark" || attr === "auto" ? attr : "light"; }

// ---- icons (inline SVG, stroke currentColor) ----

const svg = (body, part) => `<svg${part ? ` part="${part}"` : ""} viewBox="0 0 24 24" width="24" height="24" aria-hidden="true" focusable="false" fill="none" stroke="currentColor" stroke-width="2" stroke-linecap="round" stroke-linejoin="round">${body}</svg>`;

export const ICONS = {
  bell: svg(`<path d="M6 8a6 6 0 0 1 12 0c0 7 3 9 3 9H3s3-2 3-9"/><path d="M10.3 21a1.94 1.94 0 0 0 3.4 0"/>`, "icon"),
  checks: svg(`<path d="M18 6 7 17l-5-5"/><path d="m22 10-7.5 7.5L13 16"/>`),
  refresh: svg(`<path d="M21 12a9 9 0 0 0-9-9 9.75 9.75 0 0 0-6.74 2.74L3 8"/><path d="M3 3v5h5"/><path d="M3 12a9 9 0 0 0 9 9 9.75 9.75 0 0 0 6.74-2.74L21 16"/><path d="M16 16h5v5"/>`),
  gear: svg(`<path d="M12.22 2h-.44a2 2 0 0 0-2 2v.18a2 2 0 0 1-1 1.73l-.43.25a2 2 0 0 1-2 0l-.15-.08a2 2 0 0 0-2.73.73l-.22.38a2 2 0 0 0 .73 2.73l.15.1a2 2 0 0 1 1 1.72v.51a2 2 0 0 1-1 1.74l-.15.09a2 2 0 0 0-.73 2.73l.22.38a2 2 0 0 0 2.73.73l.15-.08a2 2 0 0 1 2 0l.43.25a2 2 0 0 1 1 1.73V20a2 2 0 0 0 2 2h.44a2 2 0 0 0 2-2v-.18a2 2 0 0 1 1-1.73l.43-.25a2 2 0 0 1 2 0l.15.08a2 2 0 0 0 2.73-.73l.22-.39a2 2 0 0 0-.73-2.73l-.15-.08a2 2 0 0 1-1-1.74v-.5a2 2 0 0 1 1-1.74l.15-.09a2 2 0 0 0 .73-2.73l-.22-.38a2 2 0 0 0-2.73-.73l-.15.08a2 2 0 0 1-2 0l-.43-.25a2 2 0 0 1-1-1.73V4a2 2 0 0 0-2-2z"/><circle cx="12" cy="12" r="3"/>`),
  more: svg(`<circle cx="12" cy="12" r="1"/><circle cx="19" cy="12" r="1"/><circle cx="5" cy="12" r="1"/>`),
  back: svg(`<path d="m15 18-6-6 6-6"/>`),
  inbox: svg(`<path d="M22 12h-6l-2 3h-4l-2-3H2"/><path d="M5.45 5.11 2 12v6a2 2 0 0 0 2 2h16a2 2 0 0 0 2-2v-6l-3.45-6.89A2 2 0 0 0 16.76 4H7.24a2 2 0 0 0-1.79 1.11z"/>`),
  archive: svg(`<rect width="20" height="5" x="2" y="3" rx="1"/><path d="M4 8v11a2 2 0 0 0 2 2h12a2 2 0 0 0 2-2V8"/><path d="M10 12h4"/>`),
  check: svg(`<path d="M20 6 9 17l-5-5"/>`),
};

// ---- the stylesheet ----

// Each themable property with its light and dark default. The names are
// the documented --belfry-* custom properties (docs/web-component.md).
export const THEME = [
  // [property, light, dark]
  ["background", "#ffffff", "#17171c"],
  ["color", "#18181b", "#f4f4f5"],
  ["muted-color", "#6b6b76", "#a1a1aa"],
  ["border-color", "#ececf1", "#2a2a33"],
  ["hover-background", "#f5f5f8", "#212129"],
  ["unread-background", "#f6f6ff", "#1d1d2a"],
  ["accent-color", "#4f46e5", "#8b93ff"],
  ["accent-contrast", "#ffffff", "#101018"],
  ["tab-active-background", "#18181b", "#f4f4f5"],
  ["tab-active-color", "#ffffff", "#18181b"],
  ["badge-background", "#e5484d", "#e5484d"],
  ["badge-color", "#ffffff", "#ffffff"],
  ["danger-color", "#d92d20", "#ff6b61"],
  ["switch-off-background", "#d4d4db", "#3f3f48"],
  ["shadow", "0 24px 48px -12px rgba(16, 16, 40, .18), 0 0 0 1px rgba(16, 16, 40, .06)",
    "0 24px 48px -12px rgba(0, 0, 0, .6), 0 0 0 1px rgba(255, 255, 255, .07)"],
];

// Properties that do not change with the theme, with their defaults.
export const LAYOUT = [
  ["font", `14px/1.45 Inter, ui-sans-serif, system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif`],
  ["bell-size", "40px"],
  ["bell-color", "currentColor"],
  ["bell-hover-background", "color-mix(in srgb, currentColor 10%, transparent)"],
  ["offline-color", "#f59e0b"],
  ["panel-width", "400px"],
  ["panel-max-height", "600px"],
  ["radius", "16px"],
  ["z-index", "1000"],
];

const vars = (rows, i) => rows.map((r) => `--_${r[0]}: var(--belfry-${r[0]}, ${r[i]});`).join(" ");

/** The stylesheet of the bell: for the element's shadow root and for the Vue component's document. */
export const CSS = `
.belfry-bell { ${vars(LAYOUT, 1)} ${vars(THEME, 1)}
  position: relative; display: inline-block; vertical-align: middle; font: var(--_font); text-align: left;
  -webkit-font-smoothing: antialiased; }
.belfry-bell[data-theme="dark"] { ${vars(THEME, 2)} color-scheme: dark; }
@media (prefers-color-scheme: dark) { .belfry-bell[data-theme="auto"] { ${vars(THEME, 2)} color-scheme: dark; } }
.belfry-bell [hidden] { display: none !important; }
.belfry-bell *, .belfry-bell *::before, .belfry-bell *::after { box-sizing: border-box; }
:where(.belfry-bell) button { font: inherit; color: inherit; margin: 0; border: 0; background: none; padding: 0; line-height: inherit;
  text-transform: none; letter-spacing: normal; box-shadow: none; cursor: pointer; -webkit-tap-highlight-color: transparent; }
:where(.belfry-bell) a { color: inherit; text-decoration: none; }
:where(.belfry-bell) svg { display: block; flex: none; }
.belfry-ico { display: contents; }
.belfry-bell :focus { outline: none; }
.belfry-bell :focus-visible { outline: 2px solid var(--_accent-color); outline-offset: 2px; }

.belfry-button { position: relative; display: inline-flex; align-items: center; justify-content: center;
  width: var(--_bell-size); height: var(--_bell-size); border-radius: 50%; color: var(--_bell-color);
  transition: background-color .15s; }
.belfry-button:hover, .belfry-bell[data-open] .belfry-button { background: var(--_bell-hover-background); }
.belfry-button svg { width: 55%; height: 55%; }
.belfry-badge { position: absolute; top: 2px; right: 1px; min-width: 18px; height: 18px; padding: 0 5px; border-radius: 999px;
  background: var(--_badge-background); color: var(--_badge-color); font-size: 11px; font-weight: 600; line-height: 18px;
  text-align: center; font-variant-numeric: tabular-nums; letter-spacing: -.01em; }
.belfry-dot { position: absolute; bottom: 5px; right: 5px; width: 9px; height: 9px; border-radius: 50%;
  background: var(--_offline-color); box-shadow: 0 0 0 2px var(--_background); }

.belfry-panel { container: belfry-panel / inline-size; position: absolute; top: calc(100% + 8px); left: 0; z-index: var(--_z-index);
  width: min(var(--_panel-width), calc(100vw - 16px)); max-height: min(var(--_panel-max-height), var(--_avail, 100vh));
  display: flex; flex-direction: column; overflow: hidden;
  background: var(--_background); color: var(--_color); border-radius: var(--_radius); box-shadow: var(--_shadow);
  animation: belfry-in .14s ease-out; }
@keyframes belfry-in { from { opacity: 0; transform: translateY(-4px); } to { opacity: 1; transform: none; } }
@media (prefers-reduced-motion: reduce) { .belfry-panel { animation: none; } }

.belfry-header { display: flex; flex-wrap: wrap; align-items: center; gap: 2px; padding: 14px 12px 6px 20px; flex: none; }
.belfry-heading { flex: 1 0 auto; max-width: 100%; margin: 0; font-size: 16px; font-weight: 650; letter-spacing: -.01em; line-height: 32px;
  white-space: nowrap; overflow: hidden; text-overflow: ellipsis; }
@container belfry-panel (max-width: 379px) { .belfry-mark-all-text { display: none; } }
.belfry-status { font-size: 12px; color: var(--_muted-color); padding: 0 6px; }
.belfry-bell[data-refusal] .belfry-status { order: 1; flex-basis: 100%; padding: 0; }
.belfry-text-button { display: inline-flex; align-items: center; gap: 6px; height: 32px; padding: 0 10px; border-radius: 8px;
  font-size: 13px; font-weight: 550; color: var(--_accent-color); white-space: nowrap; min-width: 36px; overflow: hidden; }
.belfry-mark-all-text { overflow: hidden; text-overflow: ellipsis; }
.belfry-text-button svg { width: 16px; height: 16px; }
.belfry-text-button:hover { background: var(--_hover-background); }
.belfry-text-button:disabled { color: var(--_muted-color); opacity: .6; cursor: default; background: none; }
.belfry-icon-button { display: inline-flex; align-items: center; justify-content: center; width: 32px; height: 32px;
  border-radius: 8px; color: var(--_muted-color); }
.belfry-icon-button:hover { background: var(--_hover-background); color: var(--_color); }
.belfry-icon-button svg { width: 18px; height: 18px; }

.belfry-tabs { display: flex; gap: 6px; padding: 6px 16px 12px; overflow-x: auto; scrollbar-width: none; flex: none;
  -webkit-mask-image: linear-gradient(to right, transparent, #000 14px, #000 calc(100% - 20px), transparent);
  mask-image: linear-gradient(to right, transparent, #000 14px, #000 calc(100% - 20px), transparent); }
.belfry-tabs::-webkit-scrollbar { display: none; }
.belfry-tab { display: inline-flex; align-items: center; gap: 6px; height: 30px; padding: 0 12px; border-radius: 999px;
  border: 1px solid var(--_border-color); font-size: 13px; font-weight: 550; white-space: nowrap;
  color: var(--_color); transition: background-color .15s, color .15s; }
.belfry-tab:hover { background: var(--_hover-background); }
.belfry-tab[aria-selected="true"] { background: var(--_tab-active-background); color: var(--_tab-active-color);
  border-color: transparent; }
.belfry-tab-count { min-width: 18px; height: 18px; padding: 0 6px; border-radius: 999px; font-size: 11px; font-weight: 650;
  line-height: 18px; text-align: center; font-variant-numeric: tabular-nums;
  background: color-mix(in srgb, currentColor 14%, transparent); }

.belfry-body { flex: 1 1 auto; min-height: 0; overflow-y: auto; overscroll-behavior: contain;
  border-top: 1px solid var(--_border-color); }
.belfry-list { list-style: none; margin: 0; padding: 6px 8px 8px; }
.belfry-row { position: relative; border-radius: 12px; margin: 0; padding: 0; }
.belfry-row + .belfry-row { margin-top: 2px; }
.belfry-row + .belfry-row::before { content: ""; position: absolute; top: 0; left: 16px; right: 16px;
  border-top: 1px solid var(--_border-color); }
.belfry-row:hover::before, .belfry-row:hover + .belfry-row::before,
.belfry-row.belfry-unread::before, .belfry-row.belfry-unread + .belfry-row::before { border-color: transparent; }
.belfry-row.belfry-unread { background: var(--_unread-background); }
.belfry-row:hover { background: var(--_hover-background); }
.belfry-item { position: relative; display: grid; grid-template-columns: 40px minmax(0, 1fr); gap: 12px;
  width: 100%; padding: 14px 44px 14px 16px; border-radius: 12px; text-align: left; color: inherit; }
.belfry-row:has(.belfry-item-actions) .belfry-item { padding-bottom: 8px; }
.belfry-unread-dot { position: absolute; left: 5px; top: 30px; width: 7px; height: 7px; border-radius: 50%;
  background: var(--_accent-color); }
.belfry-avatar { width: 40px; height: 40px; border-radius: 50%; overflow: hidden; display: flex; align-items: center;
  justify-content: center; font-size: 15px; font-weight: 650;
  background: hsl(var(--_hue, 232) 80% 94%); color: hsl(var(--_hue, 232) 45% 36%); }
.belfry-bell[data-theme="dark"] .belfry-avatar { background: hsl(var(--_hue, 232) 30% 24%); color: hsl(var(--_hue, 232) 80% 82%); }
@media (prefers-color-scheme: dark) { .belfry-bell[data-theme="auto"] .belfry-avatar {
  background: hsl(var(--_hue, 232) 30% 24%); color: hsl(var(--_hue, 232) 80% 82%); } }
.belfry-avatar img { width: 100%; height: 100%; object-fit: cover; display: block; }
.belfry-content { display: flex; flex-direction: column; gap: 2px; min-width: 0; }
.belfry-title { font-weight: 550; font-size: 14px; line-height: 20px; overflow-wrap: anywhere; }
.belfry-message { font-size: 13.5px; line-height: 19px; color: var(--_muted-color); overflow-wrap: anywhere;
  display: -webkit-box; -webkit-line-clamp: 3; -webkit-box-orient: vertical; overflow: hidden; }
.belfry-item.belfry-unread .belfry-title { font-weight: 650; }
.belfry-item.belfry-unread .belfry-message { color: var(--_color); }
.belfry-meta { display: flex; align-items: center; gap: 6px; margin-top: 3px; font-size: 12px; line-height: 16px;
  color: var(--_muted-color); }
.belfry-category { display: inline-flex; align-items: center; gap: 6px; }
.belfry-category::before { content: ""; width: 3px; height: 3px; border-radius: 50%; background: currentColor; opacity: .7; }
.belfry-item-actions { display: flex; flex-wrap: wrap; gap: 8px; padding: 2px 16px 14px 68px; }
.belfry-item-action { height: 30px; padding: 0 12px; border-radius: 8px; font-size: 13px; font-weight: 550;
  border: 1px solid var(--_border-color); background: var(--_background); color: var(--_color); }
.belfry-item-action:hover { background: var(--_hover-background); }
.belfry-item-action.belfry-primary { background: var(--_accent-color); color: var(--_accent-contrast);
  border-color: transparent; }
.belfry-item-action.belfry-primary:hover { filter: brightness(1.08); }
.belfry-item-action:disabled { opacity: .6; cursor: default; }
.belfry-taken { display: inline-flex; align-items: center; gap: 6px; height: 26px; padding: 0 10px; border-radius: 999px;
  font-size: 12px; font-weight: 550; color: var(--_muted-color); background: color-mix(in srgb, currentColor 10%, transparent); }
.belfry-taken svg { width: 14px; height: 14px; }
.belfry-menu-button { position: absolute; top: 12px; right: 10px; display: inline-flex; align-items: center;
  justify-content: center; width: 30px; height: 30px; border-radius: 8px; color: var(--_muted-color); opacity: 0;
  transition: opacity .12s; }
.belfry-menu-button svg { width: 18px; height: 18px; }
.belfry-row:hover .belfry-menu-button, .belfry-row:focus-within .belfry-menu-button,
.belfry-menu-button[aria-expanded="true"] { opacity: 1; }
.belfry-menu-button:hover, .belfry-menu-button[aria-expanded="true"] { background: color-mix(in srgb, currentColor 12%, transparent);
  color: var(--_color); }
@media (hover: none) { .belfry-menu-button { opacity: 1; } }
.belfry-menu { position: fixed; z-index: calc(var(--_z-index) + 1); min-width: 196px; padding: 6px; border-radius: 12px;
  background: var(--_background); color: var(--_color); box-shadow: var(--_shadow); }
.belfry-menu-item { display: block; width: 100%; padding: 8px 10px; border-radius: 8px; text-align: left;
  font-size: 13.5px; white-space: nowrap; }
.belfry-menu-item:hover, .belfry-menu-item:focus-visible { background: var(--_hover-background); outline: none; }
.belfry-menu-item[data-op="delete"] { color: var(--_danger-color); }

.belfry-empty { display: flex; flex-direction: column; align-items: center; text-align: center; gap: 4px; padding: 48px 32px 56px; }
.belfry-empty-icon { width: 48px; height: 48px; border-radius: 50%; display: flex; align-items: center; justify-content: center;
  margin-bottom: 10px; color: var(--_muted-color); background: var(--_hover-background); }
.belfry-empty-icon svg { width: 22px; height: 22px; }
.belfry-empty-title { font-size: 15px; font-weight: 600; }
.belfry-empty-hint { font-size: 13px; color: var(--_muted-color); }
.belfry-more { margin: 0; padding: 20px; text-align: center; font-size: 13px; color: var(--_muted-color); }

.belfry-prefs { flex: 1 1 auto; min-height: 0; overflow-y: auto; padding: 0 0 8px; }
.belfry-prefs-intro { margin: 0; padding: 4px 20px 12px; font-size: 13px; color: var(--_muted-color); }
.belfry-prefs-list { list-style: none; margin: 0; padding: 0 8px; }
.belfry-pref { display: flex; align-items: center; gap: 12px; padding: 12px; border-radius: 12px; }
.belfry-pref + .belfry-pref { border-top: 1px solid var(--_border-color); border-radius: 0; }
.belfry-pref-text { flex: 1; min-width: 0; display: flex; flex-direction: column; }
.belfry-pref-label { font-size: 14px; font-weight: 550; }
.belfry-pref-hint { font-size: 12.5px; color: var(--_muted-color); }
.belfry-switch { position: relative; flex: none; width: 38px; height: 22px; border-radius: 999px;
  background: var(--_switch-off-background); transition: background-color .15s; }
.belfry-switch::after { content: ""; position: absolute; top: 3px; left: 3px; width: 16px; height: 16px; border-radius: 50%;
  background: #fff; box-shadow: 0 1px 2px rgba(0, 0, 0, .25); transition: transform .15s; }
.belfry-switch[aria-checked="true"] { background: var(--_accent-color); }
.belfry-switch[aria-checked="true"]::after { transform: translateX(16px); }
.belfry-switch:disabled { opacity: .5; cursor: default; }

.belfry-footer { flex: none; border-top: 1px solid var(--_border-color); }
.belfry-view-all { display: block; padding: 12px; text-align: center; font-size: 13.5px; font-weight: 550;
  color: var(--_accent-color); }
.belfry-view-all:hover { background: var(--_hover-background); }
.belfry-sr-only { position: absolute; width: 1px; height: 1px; padding: 0; margin: -1px; overflow: hidden;
  clip: rect(0 0 0 0); white-space: nowrap; border: 0; }
`;

/**
 * Adds the stylesheet to a shadow root or a document, once: as a
 * constructed stylesheet where the browser has them (no inline <style>
 * for a Content-Security-Policy to refuse), else as a <style>.
 */
export function adoptStyles(root) {
  const doc = root.ownerDocument || root;
  if (root.__belfryStyled) return;
  root.__belfryStyled = true;
  try {
    if (doc.defaultView && "adoptedStyleSheets" in root) {
      const sheet = new doc.defaultView.CSSStyleSheet();
      sheet.replaceSync(CSS);
      root.adoptedStyleSheets = [...root.adoptedStyleSheets, sheet];
      return;
    }
  } catch (_) { /* constructed stylesheets unsupported: a <style> instead */ }
  const style = doc.createElement("style");
  style.textContent = CSS;
  (root.head || root).append(style);
}
