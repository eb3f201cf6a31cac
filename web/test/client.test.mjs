// Unit tests of the client's pure helpers (static/belfry-client.js), and a
// check that the facade's module graph loads outside a browser:
// node --test web/test
import { test } from "node:test";
import assert from "node:assert/strict";
import * as client from "../static/belfry-client.js";

test("the facade exports its public API", () => {
  assert.deepEqual(Object.keys(client).sort(), ["BelfryClient", "badgeText", "relativeTime", "retryAfterMs"]);
  const c = new client.BelfryClient({ endpoint: "https://belfry.example/", limit: 500 });
  assert.equal(c.endpoint, "https://belfry.example");
  assert.equal(c.limit, 100);
  assert.deepEqual(c.state, { items: [], unread: 0, unseen: 0, byCategory: {}, status: "connecting", refusal: "",
    hasMore: false, loading: false, role: "none" });
  assert.deepEqual(c.view("archived"), { items: [], hasMore: false, loaded: false, loading: false });
});

test("retryAfterMs: seconds or an HTTP date, at most 5 minutes", () => {
  const now = Date.parse("2026-11-23T17:00:00Z");
  assert.equal(client.retryAfterMs("3", now), 3000);
  assert.equal(client.retryAfterMs(" 5 ", now), 5000);
  assert.equal(client.retryAfterMs("", now), 0);
  assert.equal(client.retryAfterMs(null, now), 0);
  assert.equal(client.retryAfterMs("soon", now), 0);
  assert.equal(client.retryAfterMs("0", now), 0);
  assert.equal(client.retryAfterMs("86400", now), 300000);
  assert.equal(client.retryAfterMs("Mon, 23 Nov 2026 17:01:00 GMT", now), 60000);
  assert.equal(client.retryAfterMs("Mon, 23 Nov 2026 16:59:00 GMT", now), 0);
});

test("badgeText", () => {
  assert.equal(client.badgeText(0), "");
  assert.equal(client.badgeText(-1), "");
  assert.equal(client.badgeText(7), "7");
  assert.equal(client.badgeText(99), "99");
  assert.equal(client.badgeText(100), "99+");
});

test("relativeTime", () => {
  const now = Date.parse("2026-11-23T17:00:00Z");
  const at = (s) => new Date(now + s * 1000).toISOString();
  assert.equal(client.relativeTime(at(-10), now, "en"), "now");
  assert.equal(client.relativeTime(at(-180), now, "en"), "3 minutes ago");
  assert.equal(client.relativeTime(at(-7200), now, "en"), "2 hours ago");
  assert.equal(client.relativeTime(at(-86400), now, "en"), "yesterday");
  assert.equal(client.relativeTime("not a time", now, "en"), "");
  assert.equal(client.relativeTime(at(-7200), now, "id"), "2 jam yang lalu");
  assert.equal(client.relativeTime(at(-180), now, "en", "short"), "3 min. ago");
  assert.equal(client.relativeTime(at(-180), now, "not a locale!", "long"), client.relativeTime(at(-180), now, undefined));
});
