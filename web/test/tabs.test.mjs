// Unit tests of the tab group (static/belfry-tabs.js): node --test web/test
//
// Node has BroadcastChannel (the real one, between the instances of one
// process) but not the Web Locks API: fifoLocks stands in for
// navigator.locks with its exclusive, first-come-first-served grant.
// Chromium runs the real pair (TestBellOneStreamForThreeTabs in web/).
import { test } from "node:test";
import assert from "node:assert/strict";
import { TabGroup, groupKey, jwtSubject } from "../static/belfry-tabs.js";

function fifoLocks() {
  const queues = new Map();
  const grant = async (name) => {
    const q = queues.get(name);
    const e = q[0];
    try { e.resolve(await e.cb()); } catch (err) { e.reject(err); }
    q.shift();
    if (q.length > 0) grant(name);
  };
  return {
    request(name, opts, cb) {
      return new Promise((resolve, reject) => {
        if (!queues.has(name)) queues.set(name, []);
        const q = queues.get(name);
        const e = { cb, resolve, reject };
        opts.signal.addEventListener("abort", () => {
          const i = q.indexOf(e);
          if (i > 0) { q.splice(i, 1); reject(new DOMException("aborted", "AbortError")); }
        });
        q.push(e);
        if (q.length === 1) grant(name);
      });
    },
  };
}

// tab joins a group and records what its callbacks receive.
function tab(key, locks, snapshot = {}) {
  const t = { led: 0, frames: [], statuses: [], waiters: [] };
  const note = () => { for (const w of t.waiters.splice(0)) w(); };
  t.group = new TabGroup(key, {
    lead: () => { t.led++; note(); },
    frame: (name, data) => { t.frames.push([name, data]); note(); },
    status: (m) => { t.statuses.push(m); note(); },
    snapshot: () => snapshot,
  }, { locks });
  // until resolves once cond() holds (checked after each callback), within 5 s.
  t.until = (what, cond) => new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error("timed out waiting for " + what)), 5000);
    const check = () => { if (cond()) { clearTimeout(timer); resolve(); } else t.waiters.push(check); };
    check();
  });
  t.group.join();
  return t;
}

// group starts the tabs of one group; each leaves when the test ends (an
// open BroadcastChannel keeps Node running).
function group(t) {
  const locks = fifoLocks();
  const key = "belfry:test:" + Math.random();
  const tabs = [];
  t.after(() => { for (const x of tabs) x.group.leave(); });
  return (snapshot) => { const x = tab(key, locks, snapshot); tabs.push(x); return x; };
}

test("one leader; followers get its frames and status; the lock passes on when it leaves", async (t) => {
  const join = group(t);
  const a = join({ status: "live", refusal: "", counts: { unread: 3, unseen: 4, by_category: {}, last_id: 17 }, cursor: 17 });
  await a.until("a to lead", () => a.led === 1);
  assert.equal(a.group.leading, true);

  const b = join();
  // b's hello is answered with the leader's snapshot.
  await b.until("the leader's snapshot", () => b.statuses.length === 1);
  assert.deepEqual(b.statuses[0], { status: "live", refusal: "", counts: { unread: 3, unseen: 4, by_category: {}, last_id: 17 }, cursor: 17 });
  const c = join();
  await c.until("the leader's snapshot", () => c.statuses.length === 1);
  // The answer to c's hello reaches b too: the same snapshot again.
  await b.until("the second snapshot", () => b.statuses.length === 2);
  assert.equal(b.group.leading || c.group.leading, false);

  a.group.frame("new-notification", '{"id":18}');
  a.group.status("reconnecting", "busy");
  for (const x of [b, c]) {
    await x.until("the frame and the status", () => x.frames.length === 1 && x.statuses.at(-1).status === "reconnecting");
    assert.deepEqual(x.frames[0], ["new-notification", '{"id":18}']);
    assert.deepEqual(x.statuses.at(-1), { status: "reconnecting", refusal: "busy", counts: undefined, cursor: undefined });
  }
  // A follower relays nothing.
  b.group.frame("sync", "{}");
  b.group.status("live", "");

  a.group.leave();
  await b.until("b to lead after a left", () => b.led === 1);
  assert.equal(c.led, 0);
  b.group.frame("sync", '{"unread_count":0,"last_id":18}');
  await c.until("b's frame", () => c.frames.length === 2);
  assert.deepEqual(c.frames.map((f) => f[0]), ["new-notification", "sync"], "the follower's own frame went nowhere");
  assert.deepEqual(a.frames, []);
});

test("a tab that left while queued never leads", async (t) => {
  const join = group(t);
  const a = join();
  await a.until("a to lead", () => a.led === 1);
  const b = join();
  const c = join();
  b.group.leave();
  a.group.leave();
  await c.until("c to lead", () => c.led === 1);
  assert.equal(b.led, 0);
  assert.equal(b.group.leading, false);
});

test("supported needs both BroadcastChannel and Web Locks", () => {
  assert.equal(TabGroup.supported({ locks: fifoLocks() }), true);
  // Node 20 has no navigator.locks.
  assert.equal(TabGroup.supported({ locks: globalThis.navigator?.locks || null, Channel: null }),
    !!globalThis.navigator?.locks && typeof BroadcastChannel === "function");
});

function jwt(claims) {
  const b64 = (o) => Buffer.from(JSON.stringify(o)).toString("base64url");
  return b64({ alg: "HS256", typ: "JWT" }) + "." + b64(claims) + ".sig";
}

test("the tabs of one user on one belfry share a group", () => {
  const page = "https://app.example/inbox";
  const alice = groupKey("", jwt({ sub: "alice", exp: 1 }), page);
  assert.equal(alice, "belfry:https://app.example/:user:alice");
  assert.equal(groupKey("", jwt({ sub: "alice", exp: 2 }), "https://app.example/other"), alice, "a renewed token");
  assert.notEqual(groupKey("", jwt({ sub: "bob" }), page), alice);
  assert.notEqual(groupKey("https://belfry.example", jwt({ sub: "alice" }), page), alice);
  assert.equal(groupKey("", "", page), "belfry:https://app.example/:session");
  assert.equal(groupKey("/belfry", "", page), "belfry:https://app.example/belfry:session");
});

test("jwtSubject reads sub, and nothing from a token that is not a JWT", () => {
  assert.equal(jwtSubject(jwt({ sub: 42 })), "42");
  assert.equal(jwtSubject(jwt({ exp: 1 })), "");
  assert.equal(jwtSubject("opaque"), "");
  assert.equal(jwtSubject("a.!!!.c"), "");
  assert.equal(jwtSubject(""), "");
});
