// Unit tests of the inbox rules (static/belfry-state.js): node --test web/test
// The events are shaped as the server sends them (docs/API.md).
import { test } from "node:test";
import assert from "node:assert/strict";
import { InboxState, hasNextPage, viewSpec, viewQuery, inView } from "../static/belfry-state.js";

const T = "2026-11-23T17:42:24.123Z";
const T2 = "2026-11-23T17:50:00.000Z";

// note is a notification as the API returns it; o sets its state.
function note(id, o = {}) {
  return { id, user_id: "42", message: "m" + id, title: null, link: null, category: o.category ?? null, data: null,
    read_at: o.read ? T : null, created_at: T, avatar: null, actions: o.actions ?? [],
    action: o.action ?? null, acted_at: o.action ? T : null,
    seen_at: o.seen || o.read ? T : null, archived_at: o.archived ? T : null, expires_at: null };
}
// counts are the fields every sync and state event carries.
const counts = (unread, last, unseen = unread, by = {}) =>
  ({ unread_count: unread, unseen_count: unseen, last_id: last, by_category: by });
const sync = (unread, last, unseen, by) => ["sync", counts(unread, last, unseen, by)];
const created = (id, o) => ["new-notification", note(id, o)];
const readOne = (id, read, c) => ["read-state", { id, read, read_at: read ? T2 : null, ...(read ? { seen_at: T2 } : {}), ...c }];
const readAll = (up_to_id, c, filter) => ["read-state", { all: true, up_to_id, ...(filter ? { filter } : {}),
  read: true, read_at: T2, seen_at: T2, ...c }];
const seenAll = (up_to_id, c) => ["seen-state", { all: true, up_to_id, seen_at: T2, ...c }];
const archiveOne = (id, archived, c) => ["archive-state", { id, archived, archived_at: archived ? T2 : null, ...c }];
const archiveAll = (up_to_id, c, filter) => ["archive-state", { all: true, up_to_id, ...(filter ? { filter } : {}),
  archived: true, archived_at: T2, ...c }];
const acted = (id, action, c) => ["action-state", { id, action, acted_at: T2, read: true, read_at: T2, seen_at: T2, ...c }];
const deleted = (id, c, reason = "deleted") => ["notification-deleted", { id, reason, ...c }];

// apply applies events in order and returns the ids announced.
function apply(s, ...events) {
  const announced = [];
  for (const [name, d] of events) {
    const fx = s.apply(name, structuredClone(d));
    assert.ok(fx, "applied: " + name + " " + JSON.stringify(d));
    if (fx.announce) announced.push(fx.announce.id);
  }
  return announced;
}
const ids = (s) => s.items.map((n) => n.id);
const viewIds = (s, key) => s.view(key).items.map((n) => n.id);
// load answers a view's first list request at once.
function load(s, key, page, hasMore = false) {
  const t = s.begin();
  s.replaceNewest(key, page.map((n) => structuredClone(n)), s.cursor, hasMore, t);
}
const c = (s) => { const x = s.counts; return [x.unread, x.unseen]; };

// ---- the stream: sync and new notifications ----

test("a sync sets the counts and the resume point", () => {
  const s = new InboxState();
  assert.equal(s.resumeId(), -1, "before any sync the stream is fresh");
  const fx = s.apply(...sync(3, 17, 5, { billing: { unread: 2, unseen: 3 } }));
  assert.deepEqual(fx, { announce: null, synced: true, fetchNewest: true });
  assert.deepEqual(s.counts, { unread: 3, unseen: 5, byCategory: { billing: { unread: 2, unseen: 3 } } });
  assert.equal(s.cursor, 17);
  assert.equal(s.countedTo, 17);
  assert.equal(s.resumeId(), 17);
});

test("a sync of an empty inbox is a resume point at 0", () => {
  const s = new InboxState();
  const fx = s.apply(...sync(0, 0));
  assert.equal(fx.fetchNewest, false);
  assert.equal(s.resumeId(), 0);
});

test("a sync asks for the newest pages only when it is ahead of the list", () => {
  const s = new InboxState();
  load(s, "all", [note(5), note(4)]);
  assert.equal(s.apply(...sync(2, 5)).fetchNewest, false);
  assert.equal(s.apply(...sync(3, 6)).fetchNewest, true);
});

test("a new notification counts once and is announced once, even delivered twice", () => {
  const s = new InboxState();
  apply(s, sync(0, 0));
  const announced = apply(s, created(1), created(1));
  assert.deepEqual(announced, [1]);
  assert.deepEqual(c(s), [1, 1]);
  assert.deepEqual(ids(s), [1]);
  assert.equal(s.cursor, 1);
});

test("a new notification beyond the counted last_id adds itself to the totals and its category", () => {
  const s = new InboxState();
  apply(s, sync(1, 4, 2, { billing: { unread: 1, unseen: 1 }, comments: { unread: 0, unseen: 1 } }));
  apply(s, created(5, { category: "billing" }), created(6, { category: "comments" }), created(7));
  assert.deepEqual(s.counts, { unread: 4, unseen: 5,
    byCategory: { billing: { unread: 2, unseen: 2 }, comments: { unread: 1, unseen: 2 } } });
});

test("a new notification already read, seen or archived does not count for that", () => {
  const s = new InboxState();
  apply(s, sync(0, 0));
  apply(s, created(1, { read: true, category: "billing" }));
  assert.deepEqual(s.counts, { unread: 0, unseen: 0, byCategory: {} }, "reading marks seen too");
  apply(s, created(2, { seen: true, category: "billing" }));
  assert.deepEqual(s.counts, { unread: 1, unseen: 0, byCategory: { billing: { unread: 1, unseen: 0 } } });
  apply(s, created(3, { archived: true, category: "billing" }));
  assert.deepEqual(c(s), [1, 0]);
});

test("a notification relayed again by a new leader does not count again", () => {
  const s = new InboxState();
  apply(s, sync(0, 0), created(1), created(2));
  // The new leader resumes from an older id and the replay overlaps.
  assert.deepEqual(apply(s, created(1), created(2), sync(2, 2)), []);
  assert.deepEqual(c(s), [2, 2]);
  assert.deepEqual(ids(s), [2, 1]);
});

test("a notification the sync counted, arriving just after it, is not counted again", () => {
  const s = new InboxState();
  // Committed while the replay ran: the sync's counts include 8, its event follows.
  const announced = apply(s, sync(4, 8), created(8));
  assert.deepEqual(c(s), [4, 4]);
  assert.deepEqual(announced, [8], "it is news all the same");
  apply(s, created(9));
  assert.deepEqual(c(s), [5, 5]);
});

test("notifications out of order are held newest first, the cursor at the highest", () => {
  const s = new InboxState();
  apply(s, sync(0, 0), created(3), created(1), created(2));
  assert.deepEqual(ids(s), [3, 2, 1]);
  assert.equal(s.cursor, 3);
  assert.equal(s.unread, 3);
});

test("a resync replaces the counts and moves the resume point forward only", () => {
  const s = new InboxState();
  apply(s, sync(1, 1), created(2), created(3));
  assert.equal(s.unread, 3);
  // The stream broke and resumed from 3: nothing was replayed, and the
  // notifications were read in another device meanwhile.
  apply(s, sync(0, 3));
  assert.deepEqual(c(s), [0, 0]);
  assert.equal(s.cursor, 3);
  // The next one counts from the new sync's counts.
  apply(s, created(4));
  assert.equal(s.unread, 1);
  // A sync behind the cursor (a reset store) does not move it back; what
  // is held beyond its last_id adds itself, as after every counts event.
  apply(s, sync(0, 4));
  apply(s, sync(0, 2));
  assert.equal(s.cursor, 4);
  assert.equal(s.countedTo, 2);
});

test("a resync after a replay counts what the replay brought exactly once", () => {
  const s = new InboxState();
  apply(s, sync(0, 0), created(1));
  // Resumed from 1: the replay brings 2 and 3, then a sync counts them all.
  const announced = apply(s, created(2), created(3), sync(3, 3));
  assert.deepEqual(announced, [2, 3]);
  assert.equal(s.unread, 3);
  assert.deepEqual(ids(s), [3, 2, 1]);
  apply(s, created(3));
  assert.equal(s.unread, 3, "3 relayed again after the resync: no change");
});

// ---- state events ----

test("read-state sets the counts exactly, once or twice", () => {
  const s = new InboxState();
  apply(s, sync(0, 0), created(1), created(2));
  apply(s, readOne(1, true, counts(1, 2, 1)));
  assert.deepEqual(c(s), [1, 1]);
  assert.equal(s.get(1).read_at, T2);
  assert.equal(s.get(1).seen_at, T2, "reading marks seen");
  apply(s, readOne(1, true, counts(1, 2, 1)));
  assert.deepEqual(c(s), [1, 1], "a duplicate changes nothing");
  apply(s, readOne(1, false, counts(2, 2, 1)));
  assert.deepEqual(c(s), [2, 1], "unread does not unsee");
  assert.equal(s.get(1).read_at, null);
  assert.equal(s.get(1).seen_at, T2);
});

test("read-state for a notification not held still sets the counts", () => {
  const s = new InboxState();
  apply(s, sync(5, 9));
  apply(s, readOne(3, true, counts(4, 9, 4)));
  assert.deepEqual(c(s), [4, 4]);
  assert.deepEqual(ids(s), []);
});

test("a state event computed before a notification delivered ahead of it keeps that notification's count", () => {
  const s = new InboxState();
  apply(s, sync(2, 4, 2, { billing: { unread: 2, unseen: 2 } }));
  apply(s, created(5, { category: "billing" }));
  // Another node read 3 before 5 was stored: its counts stop at last_id 4.
  apply(s, readOne(3, true, counts(1, 4, 1, { billing: { unread: 1, unseen: 1 } })));
  assert.deepEqual(s.counts, { unread: 2, unseen: 2, byCategory: { billing: { unread: 2, unseen: 2 } } });
  // The next event covers 5: no double count.
  apply(s, readOne(2, true, counts(1, 5, 1, { billing: { unread: 1, unseen: 1 } })));
  assert.deepEqual(s.counts, { unread: 1, unseen: 1, byCategory: { billing: { unread: 1, unseen: 1 } } });
  // And 5, read later, leaves the counts to its own event.
  apply(s, readOne(5, true, counts(0, 5, 0)));
  assert.deepEqual(s.counts, { unread: 0, unseen: 0, byCategory: {} });
});

test("a notification beyond an event's last_id counts only while unread, unseen and unarchived", () => {
  const s = new InboxState();
  apply(s, sync(0, 0), created(1), created(2), created(3));
  // Events whose counts stop at 1 (2 and 3 are held beyond them).
  apply(s, readOne(2, true, counts(1, 1, 1)));
  assert.deepEqual(c(s), [2, 2], "1 counted by the event, 3 by itself; 2 is read and seen");
  apply(s, archiveOne(3, true, counts(1, 1, 1)));
  assert.deepEqual(c(s), [1, 1]);
});

test("read-all marks read up to its id, not the newer ones nor the archived", () => {
  const s = new InboxState();
  apply(s, sync(0, 0), created(1), created(2, { archived: true }), created(3));
  apply(s, readAll(2, counts(1, 3, 1)));
  assert.deepEqual(c(s), [1, 1], "the event's counts are authoritative");
  assert.deepEqual(s.items.map((n) => n.read_at === null), [true, true, false]);
  assert.equal(s.get(1).seen_at, T2);
});

test("read-all with a category filter reads only that category", () => {
  const s = new InboxState();
  apply(s, sync(0, 0), created(1, { category: "billing" }), created(2, { category: "comments" }), created(3, { category: "billing" }));
  apply(s, readAll(3, counts(1, 3, 1, { comments: { unread: 1, unseen: 1 } }), { category: "billing" }));
  assert.deepEqual(s.items.map((n) => n.read_at === null), [false, true, false]);
  assert.deepEqual(s.counts.byCategory, { comments: { unread: 1, unseen: 1 } });
});

test("seen-state marks seen up to its id, read or not; unread stays", () => {
  const s = new InboxState();
  apply(s, sync(0, 0), created(1), created(2), created(3));
  apply(s, seenAll(2, counts(3, 3, 1)));
  assert.deepEqual(c(s), [3, 1]);
  assert.deepEqual(s.items.map((n) => n.seen_at), [null, T2, T2]);
  assert.ok(s.items.every((n) => n.read_at === null));
});

test("archive moves a notification between the views; unarchive moves it back", () => {
  const s = new InboxState();
  apply(s, sync(0, 0), created(1, { category: "billing" }), created(2));
  for (const k of ["all", "unread", "category:billing", "archived"]) load(s, k, s.items.filter((n) => inView(viewSpec(k), n)));
  assert.deepEqual(viewIds(s, "all"), [2, 1]);
  assert.deepEqual(viewIds(s, "category:billing"), [1]);
  assert.deepEqual(viewIds(s, "archived"), []);
  apply(s, archiveOne(1, true, counts(1, 2, 1)));
  assert.deepEqual(viewIds(s, "all"), [2]);
  assert.deepEqual(viewIds(s, "unread"), [2]);
  assert.deepEqual(viewIds(s, "category:billing"), []);
  assert.deepEqual(viewIds(s, "archived"), [1]);
  assert.deepEqual(c(s), [1, 1]);
  apply(s, archiveOne(1, false, counts(2, 2, 2, { billing: { unread: 1, unseen: 1 } })));
  assert.deepEqual(viewIds(s, "all"), [2, 1]);
  assert.deepEqual(viewIds(s, "archived"), []);
  assert.deepEqual(s.counts.byCategory, { billing: { unread: 1, unseen: 1 } });
});

test("archive-all archives the unarchived ones its filter selects, up to its id", () => {
  const s = new InboxState();
  apply(s, sync(0, 0), created(1, { category: "billing", read: true }), created(2, { category: "billing" }),
    created(3, { category: "comments", read: true }), created(4, { category: "billing", read: true }));
  apply(s, archiveAll(3, counts(2, 4, 2), { category: "billing", read: true }));
  assert.deepEqual(s.items.map((n) => n.archived_at !== null), [false, false, false, true]);
  apply(s, archiveAll(4, counts(0, 4, 0)));
  assert.ok(s.items.every((n) => n.archived_at !== null));
});

test("action-state records the action and marks it read and seen", () => {
  const s = new InboxState();
  apply(s, sync(0, 0), created(1, { actions: [{ id: "approve", label: "Approve" }, { id: "deny", label: "Deny" }] }));
  apply(s, acted(1, "approve", counts(0, 1, 0)));
  const n = s.get(1);
  assert.equal(n.action, "approve");
  assert.equal(n.acted_at, T2);
  assert.equal(n.read_at, T2);
  assert.equal(n.seen_at, T2);
  assert.deepEqual(c(s), [0, 0]);
});

test("notification-deleted drops the item and sets the counts exactly", () => {
  const s = new InboxState();
  apply(s, sync(0, 0), created(1), created(2));
  apply(s, deleted(2, counts(1, 2, 1)));
  assert.deepEqual(ids(s), [1]);
  assert.deepEqual(c(s), [1, 1]);
  apply(s, deleted(2, counts(1, 2, 1), "expired"));
  assert.deepEqual(ids(s), [1], "a duplicate changes nothing");
  assert.deepEqual(c(s), [1, 1]);
});

// ---- list answers racing the stream ----

test("a deleted notification does not come back with a list answer in flight", () => {
  const s = new InboxState();
  apply(s, sync(0, 0), created(1), created(2));
  const known = s.cursor;
  const t = s.begin(); // the page is asked for here...
  apply(s, deleted(2, counts(1, 2, 1))); // ...the deletion arrives before its answer
  s.replaceNewest("all", [note(2), note(1)], known, false, t);
  assert.deepEqual(viewIds(s, "all"), [1]);
  assert.equal(s.mergeNewest("all", [note(2)], false, s.begin()), false);
  assert.deepEqual(ids(s), [1]);
  // Nor with a late event for it.
  assert.deepEqual(apply(s, created(2)), []);
  assert.deepEqual(ids(s), [1]);
});

test("a list answer older than a state event does not undo it", () => {
  const s = new InboxState();
  apply(s, sync(0, 0), created(1), created(2), created(3));
  const t = s.begin();
  // While the page is in flight: 1 read, 2 archived, 3 acted on, all seen.
  apply(s, readOne(1, true, counts(2, 3, 2)), archiveOne(2, true, counts(1, 3, 1)),
    acted(3, "ok", counts(0, 3, 0)), seenAll(3, counts(0, 3, 0)));
  // The answer was read before them all.
  s.replaceNewest("all", [note(3), note(2), note(1)], 3, false, t);
  assert.equal(s.get(1).read_at, T2);
  assert.equal(s.get(2).archived_at, T2);
  assert.equal(s.get(3).action, "ok");
  assert.ok(s.items.every((n) => n.seen_at === T2));
  assert.deepEqual(viewIds(s, "all"), [3, 1]);
  assert.deepEqual(c(s), [0, 0]);
});

test("a list answer brings a notification not held with the changes logged since its request", () => {
  const s = new InboxState();
  apply(s, sync(2, 2));
  const t = s.begin();
  apply(s, readAll(2, counts(0, 2, 0)));
  s.replaceNewest("all", [note(2), note(1)], 2, false, t);
  assert.ok(s.items.every((n) => n.read_at === T2), "the bulk read applies to what the answer brought");
  // No request in flight: the log is empty.
  assert.equal(s._log.length, 0);
});

test("a change logged before a request is not applied again to its answer", () => {
  const s = new InboxState();
  apply(s, sync(0, 0), created(1));
  const early = s.begin(); // a request in flight keeps the log
  apply(s, readOne(1, true, counts(0, 1, 0)));
  const t = s.begin();
  // Marked unread on another device, its event missed: the answer is newer.
  s.replaceNewest("all", [note(1, { seen: true })], 1, false, t);
  assert.equal(s.get(1).read_at, null);
  s.end(early);
  assert.equal(s._log.length, 0, "no request in flight: the log is empty");
});

test("a list answer newer than what is held updates it", () => {
  const s = new InboxState();
  apply(s, sync(0, 0), created(1));
  // Read on another device, its event missed (a broken stream).
  load(s, "all", [note(1, { read: true })]);
  assert.equal(s.get(1).read_at, T);
});

test("a list answer older than the user's own change does not undo it", () => {
  const s = new InboxState();
  apply(s, sync(0, 0), created(1), created(2));
  const t = s.begin();
  s.setRead(1, true, T2);
  s.setArchived(2, true, T2);
  s.replaceNewest("all", [note(2), note(1)], 2, false, t);
  assert.equal(s.get(1).read_at, T2);
  assert.equal(s.get(2).archived_at, T2);
  assert.deepEqual(viewIds(s, "all"), [1]);
});

test("a notification listed before its live event counts once and is announced at the event", () => {
  const s = new InboxState();
  apply(s, sync(1, 1));
  load(s, "all", [note(1)]);
  // Stored after the sync; the newest page brings it before its event.
  assert.equal(s.mergeNewest("all", [note(2), note(1)], false, s.begin()), true);
  assert.deepEqual(c(s), [2, 2]);
  assert.deepEqual(apply(s, created(2)), [2]);
  assert.deepEqual(c(s), [2, 2]);
  assert.deepEqual(apply(s, created(2)), [], "announced once");
});

test("a listed notification the sync counted is not counted again, nor announced", () => {
  const s = new InboxState();
  apply(s, sync(2, 2));
  load(s, "all", [note(2), note(1)]);
  assert.deepEqual(c(s), [2, 2]);
  assert.deepEqual(apply(s, created(2)), []);
});

test("refresh drops what the server no longer has and keeps what arrived live", () => {
  const s = new InboxState();
  apply(s, sync(0, 0), created(1), created(2), created(3));
  load(s, "all", [note(3), note(2), note(1)]);
  const known = s.cursor;
  const t = s.begin();
  apply(s, created(4)); // live while the page was in flight
  s.replaceNewest("all", [note(2), note(1)], known, true, t); // 3 was deleted unseen
  assert.deepEqual(viewIds(s, "all"), [4, 2, 1]);
  assert.equal(s.hasMore("all"), true);
  assert.equal(s.before("all"), 1);
});

test("refresh keeps a notification an event moved while the page was in flight", () => {
  const s = new InboxState();
  apply(s, sync(0, 0), created(1), created(2));
  load(s, "archived", []);
  load(s, "all", [note(2), note(1)]);
  const t = s.begin();
  apply(s, archiveOne(1, true, counts(1, 2, 1)));
  apply(s, archiveOne(1, false, counts(2, 2, 2)));
  // The page was read while 1 was archived.
  s.replaceNewest("all", [note(2)], 2, false, t);
  assert.deepEqual(viewIds(s, "all"), [2, 1]);
});

test("refresh of the unread view does not drop what was read elsewhere", () => {
  const s = new InboxState();
  apply(s, sync(0, 0), created(1), created(2));
  load(s, "all", [note(2), note(1)]);
  load(s, "unread", [note(2)]); // 1 was read on another device, its event missed
  assert.deepEqual(viewIds(s, "all"), [2, 1]);
  assert.deepEqual(viewIds(s, "unread"), [2, 1], "until the event or a refresh of the list shows it read");
});

test("a counts answer older than a stream event is ignored; a newer one applies", () => {
  const s = new InboxState();
  let t = s.begin();
  assert.equal(s.applyCounts({ unread: 7, unseen: 8, by_category: { billing: { unread: 7, unseen: 8 } } }, t), true);
  assert.deepEqual(s.counts, { unread: 7, unseen: 8, byCategory: { billing: { unread: 7, unseen: 8 } } });
  t = s.begin();
  apply(s, created(1));
  assert.equal(s.applyCounts({ unread: 0, unseen: 0, by_category: {} }, t), false);
  assert.deepEqual(c(s), [8, 9]);
  assert.equal(s._tickets.size, 0, "the ticket ended");
});

test("a counts answer without last_id is an estimate until the stream's counts, and not taken after them", () => {
  const s = new InboxState();
  load(s, "all", [note(2), note(1)]);
  s.applyCounts({ unread: 2, unseen: 2, by_category: {} }, s.begin());
  assert.deepEqual(c(s), [2, 2], "it covers what is held: not counted twice");
  apply(s, sync(2, 2));
  // Created while the answer was in flight: in it, and still to come live.
  assert.equal(s.applyCounts({ unread: 3, unseen: 3, by_category: {} }, s.begin()), false);
  apply(s, created(3));
  assert.deepEqual(c(s), [3, 3], "counted once");
});

test("a counts answer with a last_id is exact, after the stream's counts too", () => {
  const s = new InboxState();
  apply(s, sync(0, 0), created(1), created(2));
  assert.equal(s.applyCounts({ unread: 1, unseen: 1, by_category: {}, last_id: 1 }, s.begin()), true);
  assert.deepEqual(c(s), [2, 2], "2 is beyond its last_id");
});

// ---- views ----

test("views: what each lists, and a view not loaded lists nothing", () => {
  const s = new InboxState();
  apply(s, sync(0, 0), created(1, { category: "billing" }), created(2, { read: true }), created(3, { archived: true }),
    created(4, { category: "comments" }));
  assert.deepEqual(s.view("unread"), { items: [], hasMore: false, loaded: false });
  for (const k of ["all", "unread", "category:billing", "archived"]) load(s, k, s.items.filter((n) => inView(viewSpec(k), n)));
  assert.deepEqual(viewIds(s, "all"), [4, 2, 1]);
  assert.deepEqual(viewIds(s, "unread"), [4, 1]);
  assert.deepEqual(viewIds(s, "category:billing"), [1]);
  assert.deepEqual(viewIds(s, "archived"), [3]);
  assert.deepEqual(s.loadedViews().sort(), ["all", "archived", "category:billing", "unread"]);
  // Reading moves it out of Unread at once.
  s.setRead(4, true, T2);
  assert.deepEqual(viewIds(s, "unread"), [1]);
  assert.equal(s.view("nope").loaded, false);
});

test("views: a view lists down to its floor, older pages extend it", () => {
  const s = new InboxState();
  apply(s, sync(9, 9));
  load(s, "all", [note(9), note(8)], true);
  // A notification the unread view brought, older than the all view's floor.
  load(s, "unread", [note(9), note(8), note(3)], true);
  assert.deepEqual(viewIds(s, "all"), [9, 8], "3 is below the floor: the ids between are not known");
  assert.equal(s.before("all"), 8);
  const t = s.begin();
  s.appendOlder("all", [note(7), note(6)], true, t);
  assert.deepEqual(viewIds(s, "all"), [9, 8, 7, 6]);
  s.appendOlder("all", [note(5), note(4), note(3), note(2), note(1)], false, s.begin());
  assert.deepEqual(viewIds(s, "all"), [9, 8, 7, 6, 5, 4, 3, 2, 1]);
  assert.equal(s.hasMore("all"), false);
  assert.equal(s.before("all"), 0);
  assert.deepEqual(c(s), [9, 9], "older pages do not count");
});

test("views: a full newest page that does not reach the held ones leaves a gap below it", () => {
  const s = new InboxState();
  apply(s, sync(2, 2));
  load(s, "all", [note(2), note(1)]);
  s.mergeNewest("all", [note(20), note(19)], true, s.begin());
  assert.deepEqual(viewIds(s, "all"), [20, 19]);
  assert.equal(s.before("all"), 19);
  // A short page reaches down to them: no gap.
  const u = new InboxState();
  apply(u, sync(2, 2));
  load(u, "all", [note(2), note(1)]);
  u.mergeNewest("all", [note(4), note(3), note(2)], false, u.begin());
  assert.deepEqual(viewIds(u, "all"), [4, 3, 2, 1]);
});

test("viewSpec, viewQuery and inView", () => {
  assert.deepEqual(viewSpec("all"), { key: "all", status: "inbox", category: null, unread: false });
  assert.equal(viewQuery(viewSpec("all")), "");
  assert.equal(viewQuery(viewSpec("unread")), "&unread=true");
  assert.equal(viewQuery(viewSpec("archived")), "&status=archived");
  assert.equal(viewQuery(viewSpec("category:a b&c")), "&category=a%20b%26c");
  assert.equal(viewSpec("category:"), null);
  assert.equal(viewSpec("inbox"), null);
  assert.equal(inView(viewSpec("category:x"), note(1, { category: "x", archived: true })), false);
  assert.equal(inView(viewSpec("archived"), note(1, { archived: true })), true);
});

// ---- the user's own changes ----

test("optimistic changes move the counts at once: read, unread, seen, read-all", () => {
  const s = new InboxState();
  apply(s, sync(2, 2, 2, { billing: { unread: 1, unseen: 1 } }), created(1, { category: "billing" }), created(2));
  // 1 and 2 arrived after the sync that counted them: held and counted.
  assert.deepEqual(c(s), [2, 2]);
  assert.equal(s.setRead(1, true, T2), true);
  assert.deepEqual(s.counts, { unread: 1, unseen: 1, byCategory: {} });
  assert.equal(s.setRead(1, true, T2), false, "already read");
  assert.equal(s.setRead(99, true, T2), false, "not held");
  assert.equal(s.setRead(1, false, T2), true);
  assert.deepEqual(s.counts, { unread: 2, unseen: 1, byCategory: { billing: { unread: 1, unseen: 0 } } });
  s.markSeen(T2);
  assert.deepEqual(c(s), [2, 0]);
  s.markAllRead(T2, s.cursor, "billing");
  assert.deepEqual(s.counts, { unread: 1, unseen: 0, byCategory: {} });
  s.markAllRead(T2);
  assert.deepEqual(c(s), [0, 0]);
  assert.ok(s.items.every((n) => n.read_at !== null));
});

test("optimistic changes beyond the counted last_id move the counts by themselves", () => {
  const s = new InboxState();
  apply(s, sync(0, 0), created(1), created(2));
  s.setArchived(2, true, T2);
  assert.deepEqual(c(s), [1, 1]);
  assert.equal(s.setArchived(2, true, T2), false);
  s.setArchived(2, false, T2);
  assert.deepEqual(c(s), [2, 2]);
  s.markSeen(T2, 1);
  assert.deepEqual(c(s), [2, 1]);
});

test("optimistic action: recorded once, read and seen", () => {
  const s = new InboxState();
  apply(s, sync(1, 1), created(1, { actions: [{ id: "a", label: "A" }] }));
  assert.equal(s.setAction(1, "a", T2), true);
  assert.equal(s.setAction(1, "b", T2), false, "the first action stays");
  assert.equal(s.get(1).action, "a");
  assert.deepEqual(c(s), [0, 0]);
  // The request's answer is the server's notification.
  const t = s.begin();
  s.put({ ...note(1, { read: true, action: "a" }) }, t);
  assert.equal(s.get(1).action, "a");
});

test("optimistic remove, and the list that brings it back when the request failed", () => {
  const s = new InboxState();
  apply(s, sync(2, 2), created(1), created(2));
  load(s, "all", [note(2), note(1)]);
  s.remove(2);
  assert.deepEqual(ids(s), [1]);
  assert.deepEqual(c(s), [1, 1]);
  load(s, "all", [note(2), note(1)]);
  assert.deepEqual(ids(s), [2, 1]);
});

// ---- tabs ----

test("a follower adopts the leader's resume point and counts", () => {
  const leader = new InboxState();
  apply(leader, sync(1, 3, 1, { billing: { unread: 1, unseen: 1 } }), created(4, { category: "billing" }));
  const snap = structuredClone(leader.snapshot());
  assert.deepEqual(snap, { cursor: 4, counts: { unread: 2, unseen: 2, by_category: { billing: { unread: 2, unseen: 2 } }, last_id: 4 } });
  const s = new InboxState();
  s.adopt(snap.cursor, snap.counts);
  assert.equal(s.cursor, 4);
  assert.deepEqual(s.counts, leader.counts);
  // A list answer brings 4: counted by the snapshot, not again.
  load(s, "all", [note(4, { category: "billing" })]);
  assert.deepEqual(c(s), [2, 2]);
  s.adopt(3, undefined);
  assert.equal(s.cursor, 4, "never backwards");
  assert.deepEqual(c(s), [2, 2]);
});

// ---- malformed input ----

test("unknown and malformed events change nothing", () => {
  const s = new InboxState();
  apply(s, sync(1, 1), created(1));
  const before = JSON.stringify({ items: s.items, counts: s.counts, cursor: s.cursor, gen: s.gen });
  for (const [name, d] of [
    ["heartbeat", {}],
    ["sync", { unread_count: "3", unseen_count: 3, last_id: 4 }],
    ["sync", { unread_count: 3, unseen_count: 3 }],
    ["sync", { unread_count: 3, last_id: 4 }],
    ["sync", { ...counts(1, 1), by_category: [] }],
    ["new-notification", { message: "no id" }],
    ["new-notification", { id: -1 }],
    ["read-state", { id: 1, read: true }],
    ["read-state", { id: 1, ...counts(0, 1) }],
    ["read-state", { all: true, ...counts(0, 1) }],
    ["seen-state", { all: true, ...counts(0, 1) }],
    ["archive-state", { id: 1, ...counts(0, 1) }],
    ["action-state", { id: 1, ...counts(0, 1) }],
    ["notification-deleted", { id: 1 }],
    ["notification-deleted", { ...counts(0, 1) }],
    ["sync", null],
  ]) {
    assert.equal(s.apply(name, d), null, name + " " + JSON.stringify(d));
  }
  assert.equal(JSON.stringify({ items: s.items, counts: s.counts, cursor: s.cursor, gen: s.gen }), before);
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
