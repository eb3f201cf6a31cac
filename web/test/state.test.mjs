// Unit tests of the inbox rules (static/belfry-state.js): node --test web/test
// The events are shaped as the server sends them (docs/API.md).
import { test } from "node:test";
import assert from "node:assert/strict";
import { InboxState, hasNextPage } from "../static/belfry-state.js";

const T = "2026-11-23T17:42:24.123Z";

function note(id, read = false) {
  return { id, user_id: "42", message: "m" + id, title: null, link: null, category: null, data: null,
    read_at: read ? T : null, created_at: T };
}
const sync = (unread_count, last_id) => ["sync", { unread_count, last_id }];
const created = (id, read) => ["new-notification", note(id, read)];
const readOne = (id, read, unread_count) => ["read-state", { id, read, read_at: read ? T : null, unread_count }];
const readAll = (up_to_id) => ["read-state", { all: true, up_to_id, read: true, read_at: T, unread_count: 0 }];
const deleted = (id, unread_count) => ["notification-deleted", { id, unread_count }];

// apply applies events in order and returns the ids announced.
function apply(s, ...events) {
  const announced = [];
  for (const [name, d] of events) {
    const fx = s.apply(name, structuredClone(d));
    if (fx && fx.announce) announced.push(fx.announce.id);
  }
  return announced;
}
const ids = (s) => s.items.map((n) => n.id);

test("a sync sets the count and the resume point", () => {
  const s = new InboxState();
  assert.equal(s.resumeId(), -1, "before any sync the stream is fresh");
  const fx = s.apply(...sync(3, 17));
  assert.deepEqual(fx, { announce: null, synced: true, fetchNewest: true });
  assert.equal(s.unread, 3);
  assert.equal(s.cursor, 17);
  assert.equal(s.resumeId(), 17);
});

test("a sync of an empty inbox is a resume point at 0", () => {
  const s = new InboxState();
  const fx = s.apply(...sync(0, 0));
  assert.equal(fx.fetchNewest, false);
  assert.equal(s.resumeId(), 0);
});

test("a sync asks for the newest page only when it is ahead of the list", () => {
  const s = new InboxState();
  s.replaceNewest([note(5), note(4)], 0, false);
  assert.equal(s.apply(...sync(2, 5)).fetchNewest, false);
  assert.equal(s.apply(...sync(3, 6)).fetchNewest, true);
});

test("a new notification counts once and is announced once, even delivered twice", () => {
  const s = new InboxState();
  apply(s, sync(0, 0));
  const announced = apply(s, created(1), created(1));
  assert.deepEqual(announced, [1]);
  assert.equal(s.unread, 1);
  assert.deepEqual(ids(s), [1]);
  assert.equal(s.cursor, 1);
});

test("a notification relayed again by a new leader does not count again", () => {
  const s = new InboxState();
  apply(s, sync(0, 0), created(1), created(2));
  // The new leader resumes from an older id and the replay overlaps.
  apply(s, created(1), created(2), sync(2, 2));
  assert.equal(s.unread, 2);
  assert.deepEqual(ids(s), [2, 1]);
});

test("a notification already read when it arrives does not count", () => {
  const s = new InboxState();
  apply(s, sync(0, 0), created(1, true));
  assert.equal(s.unread, 0);
});

test("a notification the sync counted, arriving just after it, is not counted again", () => {
  const s = new InboxState();
  // Committed while the replay ran: the sync's count includes 8, its event follows.
  const announced = apply(s, sync(4, 8), created(8));
  assert.equal(s.unread, 4);
  assert.deepEqual(announced, [8], "it is news all the same");
  apply(s, created(9));
  assert.equal(s.unread, 5);
});

test("notifications out of order are held newest first, the cursor at the highest", () => {
  const s = new InboxState();
  apply(s, sync(0, 0), created(3), created(1), created(2));
  assert.deepEqual(ids(s), [3, 2, 1]);
  assert.equal(s.cursor, 3);
  assert.equal(s.unread, 3);
});

test("read-state sets the count exactly, once or twice", () => {
  const s = new InboxState();
  apply(s, sync(0, 0), created(1), created(2));
  apply(s, readOne(1, true, 1));
  assert.equal(s.unread, 1);
  assert.equal(s.get(1).read_at, T);
  apply(s, readOne(1, true, 1));
  assert.equal(s.unread, 1, "a duplicate changes nothing");
  apply(s, readOne(1, false, 2));
  assert.equal(s.unread, 2);
  assert.equal(s.get(1).read_at, null);
});

test("read-state for a notification not held still sets the count", () => {
  const s = new InboxState();
  apply(s, sync(5, 9));
  apply(s, readOne(3, true, 4));
  assert.equal(s.unread, 4);
  assert.deepEqual(ids(s), []);
});

test("read-all marks read up to its id, not the newer ones", () => {
  const s = new InboxState();
  apply(s, sync(0, 0), created(1), created(2), created(3));
  apply(s, readAll(2));
  assert.equal(s.unread, 0, "the event's count is authoritative");
  assert.deepEqual(s.items.map((n) => n.read_at === null), [true, false, false]);
});

test("notification-deleted drops the item and sets the count exactly", () => {
  const s = new InboxState();
  apply(s, sync(0, 0), created(1), created(2));
  apply(s, deleted(2, 1));
  assert.deepEqual(ids(s), [1]);
  assert.equal(s.unread, 1);
  apply(s, deleted(2, 1));
  assert.deepEqual(ids(s), [1], "a duplicate changes nothing");
  assert.equal(s.unread, 1);
});

test("a deleted notification does not come back with a list answer in flight", () => {
  const s = new InboxState();
  apply(s, sync(0, 0), created(1), created(2));
  const known = s.cursor; // the page is asked for here...
  apply(s, deleted(2, 1)); // ...the deletion arrives before its answer
  s.replaceNewest([note(2), note(1)], known, false);
  assert.deepEqual(ids(s), [1]);
  assert.equal(s.mergeNewest([note(2)]), false);
  assert.deepEqual(ids(s), [1]);
  // Nor with a late event for it.
  assert.deepEqual(apply(s, created(2)), []);
  assert.deepEqual(ids(s), [1]);
});

test("a resync replaces the count and moves the resume point forward only", () => {
  const s = new InboxState();
  apply(s, sync(1, 1), created(2), created(3));
  assert.equal(s.unread, 3);
  // The stream broke and resumed from 3: nothing was replayed, and the
  // notifications were read in another device meanwhile.
  apply(s, sync(0, 3));
  assert.equal(s.unread, 0);
  assert.equal(s.cursor, 3);
  // The next one counts from the new sync's count.
  apply(s, created(4));
  assert.equal(s.unread, 1);
  // A sync behind the cursor (a reset store) does not move it back.
  apply(s, sync(0, 2));
  assert.equal(s.cursor, 4);
  assert.equal(s.unread, 0);
});

test("a resync after a replay counts what the replay brought exactly once", () => {
  const s = new InboxState();
  apply(s, sync(0, 0), created(1));
  // Resumed from 1: the replay brings 2 and 3, then a sync counts them all.
  const announced = apply(s, created(2), created(3), sync(3, 3));
  assert.deepEqual(announced, [2, 3]);
  assert.equal(s.unread, 3);
  assert.deepEqual(ids(s), [3, 2, 1]);
  // 3 relayed again after the resync: no change.
  apply(s, created(3));
  assert.equal(s.unread, 3);
});

test("a notification listed before its live event counts once and is announced at the event", () => {
  const s = new InboxState();
  apply(s, sync(1, 1));
  // Stored after the sync; the newest page brings it before its event.
  assert.equal(s.mergeNewest([note(2), note(1)]), true);
  assert.equal(s.unread, 2);
  const announced = apply(s, created(2));
  assert.equal(s.unread, 2);
  assert.deepEqual(announced, [2]);
  assert.deepEqual(apply(s, created(2)), [], "announced once");
});

test("a listed notification the sync counted is not counted again", () => {
  const s = new InboxState();
  apply(s, sync(2, 2));
  s.replaceNewest([note(2), note(1)], 0, false);
  assert.equal(s.unread, 2);
});

test("refresh drops what the server no longer has and keeps what arrived live", () => {
  const s = new InboxState();
  apply(s, sync(0, 0), created(1), created(2), created(3));
  const known = s.cursor;
  apply(s, created(4)); // live while the page was in flight
  s.replaceNewest([note(2), note(1)], known, true); // 3 was deleted unseen
  assert.deepEqual(ids(s), [4, 2, 1]);
  assert.equal(s.hasMore, true);
});

test("an unread-count answer older than a stream event is ignored", () => {
  const s = new InboxState();
  apply(s, sync(0, 0));
  let gen = s.gen;
  s.applyCount(7, gen);
  assert.equal(s.unread, 7);
  gen = s.gen;
  apply(s, created(1));
  s.applyCount(0, gen);
  assert.equal(s.unread, 8);
});

test("optimistic changes: read, unread, read-all, remove", () => {
  const s = new InboxState();
  apply(s, sync(0, 0), created(1), created(2));
  assert.equal(s.setRead(1, true, T), true);
  assert.equal(s.unread, 1);
  assert.equal(s.setRead(1, true, T), false, "already read");
  assert.equal(s.setRead(99, true, T), false, "not held");
  assert.equal(s.unread, 1);
  assert.equal(s.setRead(1, false, T), true);
  assert.equal(s.unread, 2);
  s.markAllRead(T);
  assert.equal(s.unread, 0);
  assert.ok(s.items.every((n) => n.read_at === T));
  s.remove(2);
  assert.deepEqual(ids(s), [1]);
  // The DELETE may fail: until the server's event, a list answer brings it back.
  s.replaceNewest([note(2), note(1)], s.cursor, false);
  assert.deepEqual(ids(s), [2, 1]);
});

test("a follower adopts the leader's resume point and count", () => {
  const s = new InboxState();
  s.adopt(5, 2);
  assert.equal(s.cursor, 5);
  assert.equal(s.unread, 2);
  s.adopt(3, undefined);
  assert.equal(s.cursor, 5, "never backwards");
  assert.equal(s.unread, 2);
});

test("older pages append without counting", () => {
  const s = new InboxState();
  apply(s, sync(9, 9));
  s.replaceNewest([note(9), note(8)], 0, true);
  s.appendOlder([note(7), note(6)], false);
  assert.deepEqual(ids(s), [9, 8, 7, 6]);
  assert.equal(s.unread, 9);
  assert.equal(s.hasMore, false);
});

test("unknown and malformed events change nothing", () => {
  const s = new InboxState();
  apply(s, sync(1, 1));
  const before = JSON.stringify({ items: s.items, unread: s.unread, cursor: s.cursor, gen: s.gen });
  for (const [name, d] of [
    ["heartbeat", {}],
    ["sync", { unread_count: "3", last_id: 4 }],
    ["sync", { unread_count: 3 }],
    ["new-notification", { message: "no id" }],
    ["new-notification", { id: -1 }],
    ["read-state", { id: 1, read: true }],
    ["read-state", { all: true, unread_count: 0 }],
    ["notification-deleted", { id: 1 }],
    ["sync", null],
  ]) {
    assert.equal(s.apply(name, d), null, name + " " + JSON.stringify(d));
  }
  assert.equal(JSON.stringify({ items: s.items, unread: s.unread, cursor: s.cursor, gen: s.gen }), before);
});

test("hasNextPage reads the Link header, else a full page", () => {
  assert.equal(hasNextPage('</notifications?before=3&limit=2>; rel="next"', 2, 2), true);
  assert.equal(hasNextPage("", 2, 2), false);
  assert.equal(hasNextPage(null, 2, 2), true);
  assert.equal(hasNextPage(null, 1, 2), false);
});

test("the state module does no I/O: no DOM, network, storage or timers", async () => {
  const { readFile } = await import("node:fs/promises");
  const src = (await readFile(new URL("../static/belfry-state.js", import.meta.url), "utf8"))
    .replace(/\/\*[\s\S]*?\*\//g, "").replace(/\/\/.*$/gm, ""); // code only
  assert.doesNotMatch(src, /\b(window|document|navigator|location|fetch|EventSource|BroadcastChannel|localStorage|setTimeout|setInterval|Date\.now|import)\b/);
});
