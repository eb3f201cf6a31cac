// Unit tests of what the bell and the Vue component share
// (static/belfry-ui.js, static/belfry-i18n.js): node --test web/test
import { test } from "node:test";
import assert from "node:assert/strict";
import * as ui from "../static/belfry-ui.js";
import { STRINGS, addStrings, resolveLang, translator } from "../static/belfry-i18n.js";

const en = translator("en");
const T = "2026-11-23T17:42:24.123Z";
const NOW = Date.parse("2026-11-23T17:45:24.123Z");

test("every language has every English string, with the same placeholders", () => {
  const ph = (s) => [...s.matchAll(/\{(\w+)\}/g)].map((m) => m[1]).sort().join(",");
  for (const [lang, table] of Object.entries(STRINGS)) {
    assert.deepEqual(Object.keys(table).sort(), Object.keys(STRINGS.en).sort(), lang);
    for (const k of Object.keys(STRINGS.en)) assert.equal(ph(table[k]), ph(STRINGS.en[k]), lang + " " + k);
  }
});

test("languages: a region falls back to its language, an unknown one to English", () => {
  assert.equal(resolveLang("id"), "id");
  assert.equal(resolveLang("id-ID"), "id");
  assert.equal(resolveLang("ID_id"), "id");
  assert.equal(resolveLang("fr"), "en");
  assert.equal(resolveLang(""), "en");
  assert.equal(translator("id-ID")("markAllRead"), "Tandai semua dibaca");
  assert.equal(translator("id")("bellUnread", { n: 3 }), "Notifikasi, 3 belum dibaca");
  assert.equal(en("nope"), "nope");
  addStrings("xx", { all: "Alles" });
  assert.equal(translator("xx")("all"), "Alles");
  assert.equal(translator("xx")("archived"), "Archived", "a missing string falls back to English");
  delete STRINGS.xx;
});

test("tabs: All, Unread, the categories given, Archived", () => {
  const tabs = ui.parseTabs(" billing:Billing , comments:Comments,security,billing:Again,:x,");
  assert.deepEqual(tabs.map((t) => t.key), ["all", "unread", "category:billing", "category:comments", "category:security", "archived"]);
  assert.deepEqual(tabs.map((t) => ui.tabLabel(t, en)), ["All", "Unread", "Billing", "Comments", "security", "Archived"]);
  assert.deepEqual(ui.parseTabs(null).map((t) => t.key), ["all", "unread", "archived"]);
  assert.deepEqual(ui.categoryLabels(tabs), { billing: "Billing", comments: "Comments", security: "security" });
});

test("tab counts: unread of each, none for archived", () => {
  const counts = { unread: 5, unseen: 7, byCategory: { billing: { unread: 2, unseen: 3 } } };
  assert.equal(ui.tabCount("all", counts), 5);
  assert.equal(ui.tabCount("unread", counts), 5);
  assert.equal(ui.tabCount("category:billing", counts), 2);
  assert.equal(ui.tabCount("category:comments", counts), 0);
  assert.equal(ui.tabCount("archived", counts), null);
});

test("empty states, one per kind of tab", () => {
  const [all, unread, billing, archived] = ui.parseTabs("billing:Billing");
  assert.equal(ui.emptyState(all, en).title, "You're all caught up");
  assert.equal(ui.emptyState(unread, en).title, "No unread notifications");
  assert.equal(ui.emptyState(billing, en).title, "Nothing in Billing");
  assert.equal(ui.emptyState(archived, en).title, "Nothing archived");
  assert.equal(ui.emptyState(billing, translator("id")).title, "Tidak ada notifikasi Billing");
});

test("the badge counts unseen by default, unread with badge=unread; the label says both", () => {
  const c = { unread: 3, unseen: 2, byCategory: {} };
  assert.equal(ui.badgeCount(c, ""), 2);
  assert.equal(ui.badgeCount(c, "unread"), 3);
  assert.equal(ui.bellLabel(en, c, ""), "Notifications, 3 unread, 2 new");
  assert.equal(ui.bellLabel(en, c, "unread"), "Notifications, 3 unread");
  assert.equal(ui.bellLabel(en, { unread: 0, unseen: 0 }, ""), "Notifications, no unread");
  assert.equal(ui.badgeText(120), "99+");
});

test("status hints", () => {
  assert.equal(ui.statusText(en, "live", ""), "");
  assert.equal(ui.statusText(en, "reconnecting", ""), "Reconnecting…");
  assert.equal(ui.statusText(en, "reconnecting", "busy"), "Server busy — retrying");
  assert.equal(ui.statusText(en, "reconnecting", "too-many-streams"), "Too many open tabs — retrying");
  assert.equal(ui.statusText(en, "closed", ""), "Offline");
});

test("safeLink: http(s) URLs and same-origin paths only", () => {
  assert.equal(ui.safeLink("/orders/1"), "/orders/1");
  assert.equal(ui.safeLink("https://x.example/a"), "https://x.example/a");
  assert.equal(ui.safeLink("//evil.example"), "");
  assert.equal(ui.safeLink("javascript:alert(1)"), "");
  assert.equal(ui.safeLink(null), "");
});

test("avatars: the image, else a letter on a colour of the category", () => {
  assert.deepEqual(ui.avatarOf({ avatar: "/a.png", title: "x" }), { src: "/a.png", text: "", hue: 0 });
  const a = ui.avatarOf({ avatar: "javascript:x", title: "élan", category: "billing", message: "m" });
  assert.equal(a.src, "");
  assert.equal(a.text, "É");
  assert.equal(a.hue, ui.avatarOf({ title: "other", category: "billing" }).hue, "one colour per category");
  assert.equal(ui.avatarOf({ message: "  hi" }).text, "H");
});

test("a row: unread, actions until one is taken, then the one taken; the menu's items", () => {
  const n = { id: 7, title: "Invoice", message: "Due", link: "/i/7", category: "billing", created_at: T, read_at: null,
    archived_at: null, action: null, avatar: null,
    actions: [{ id: "pay", label: "Pay", url: "/pay" }, { id: "later", label: "Later" }, { id: "no", label: "No", url: "javascript:x" }, { id: "x", label: "4th" }] };
  let v = ui.itemView(n, en, "en", NOW, { billing: "Billing" });
  assert.equal(v.unread, true);
  assert.equal(v.time, "3 minutes ago");
  assert.equal(v.category, "Billing");
  assert.deepEqual(v.actions, [{ id: "pay", label: "Pay", url: "/pay", primary: true },
    { id: "later", label: "Later", url: "", primary: false }, { id: "no", label: "No", url: "", primary: false }]);
  assert.equal(v.taken, "");
  assert.deepEqual(v.ops.map((o) => o.op), ["read", "archive", "delete"]);
  v = ui.itemView({ ...n, action: "later", read_at: T, archived_at: T }, translator("id"), "id", NOW, {});
  assert.deepEqual(v.actions, []);
  assert.equal(v.taken, "Later");
  assert.equal(v.category, "billing");
  assert.equal(v.time, "3 menit yang lalu");
  assert.deepEqual(v.ops.map((o) => o.label), ["Tandai belum dibaca", "Keluarkan dari arsip", "Hapus"]);
});

test("preferences: a switch per category of the tabs and one for everything else", () => {
  const tabs = ui.parseTabs("billing:Billing,comments:Comments");
  const rows = ui.preferenceRows({ default: { in_app: true, push: true, webhook: true },
    categories: { billing: { in_app: false, push: true, webhook: true } } }, tabs, en);
  assert.deepEqual(rows, [{ category: "billing", label: "Billing", on: false },
    { category: "comments", label: "Comments", on: true }, { category: null, label: "Everything else", on: true }]);
  assert.deepEqual(ui.preferenceRows({ default: { in_app: false }, categories: {} }, tabs, en).map((r) => r.on), [false, false, false]);
  assert.deepEqual(ui.preferencePatch("billing", true), { categories: { billing: { in_app: true } } });
  // Shown at once: a new category starts from the default, as on the server.
  const def = { in_app: true, push: false, webhook: true };
  assert.deepEqual(ui.withPreference({ default: def, categories: {} }, "comments", false),
    { default: def, categories: { comments: { in_app: false, push: false, webhook: true } } });
  assert.deepEqual(ui.withPreference({ default: def, categories: {} }, null, false).default.in_app, false);
  assert.deepEqual(ui.preferencePatch(null, false), { default: { in_app: false } });
});

test("the panel stays inside the viewport wherever the bell is", () => {
  // A bell at the right edge of a 1000px viewport: the panel ends under its right edge.
  assert.equal(ui.panelLeft({ left: 950, right: 990, hostLeft: 950 }, 400, 1000), 990 - 400 - 950);
  // At the left edge: it starts at the bell's left edge.
  assert.equal(ui.panelLeft({ left: 8, right: 48, hostLeft: 8 }, 400, 1000), 0);
  // In the middle of a 375px phone: as wide as the viewport allows, 8px from each side.
  const left = ui.panelLeft({ left: 160, right: 200, hostLeft: 160 }, 400, 375);
  assert.equal(left + 160, 8);
  // At the right edge of the phone.
  assert.equal(ui.panelLeft({ left: 327, right: 367, hostLeft: 327 }, 400, 375) + 327, 8);
});

test("inside: a row's menu button is in sight while its middle is", () => {
  const box = { top: 100, bottom: 400 };
  assert.equal(ui.inside({ top: 380, bottom: 410 }, box), true);
  assert.equal(ui.inside({ top: 390, bottom: 430 }, box), false);
  assert.equal(ui.inside({ top: 80, bottom: 130 }, box), true);
});

test("themes", () => {
  assert.equal(ui.themeOf("dark"), "dark");
  assert.equal(ui.themeOf("auto"), "auto");
  assert.equal(ui.themeOf("purple"), "light");
  assert.equal(ui.themeOf(null), "light");
});

test("the stylesheet: every theme property has a light and a dark default, each used", () => {
  for (const [name, light, dark] of ui.THEME) {
    assert.ok(light && dark, name);
    assert.match(ui.CSS, new RegExp("--_" + name + ": var\\(--belfry-" + name + ", "), name);
    assert.match(ui.CSS, new RegExp("var\\(--_" + name + "\\)"), name + " is used");
  }
  for (const [name] of ui.LAYOUT) assert.match(ui.CSS, new RegExp("var\\(--_" + name + "\\)"), name + " is used");
  assert.match(ui.CSS, /@media \(prefers-color-scheme: dark\) \{ \.belfry-bell\[data-theme="auto"\]/);
  // !important in a shadow root beats the page's ::part() rules: only [hidden] may have it.
  assert.deepEqual(ui.CSS.match(/[^;{}]*!important/g), [" display: none !important"]);
});

test("docs/web-component.md lists every custom property with its real defaults, and every part", async () => {
  const { readFile } = await import("node:fs/promises");
  const doc = await readFile(new URL("../../docs/web-component.md", import.meta.url), "utf8");
  for (const [name, light, dark] of ui.THEME) {
    assert.ok(doc.includes("| `--belfry-" + name + "` | `" + light + "` | `" + dark + "` |"), name);
  }
  for (const [name, value] of ui.LAYOUT) assert.ok(doc.includes("| `--belfry-" + name + "` | `" + value + "` |"), name);
  const src = await readFile(new URL("../static/notification-bell.js", import.meta.url), "utf8") + ui.ICONS.bell;
  const parts = new Set();
  for (const m of src.matchAll(/part[=:] *(?:[\w.]+ \? )?"([^"$]+)"(?: : "([^"]+)")?/g)) {
    for (const g of [m[1], m[2]]) if (g) for (const p of g.split(" ")) parts.add(p);
  }
  assert.ok(parts.size > 30, "found the parts: " + [...parts]);
  for (const p of parts) assert.ok(doc.includes("`" + p + "`"), "part " + p + " is documented");
});
