// belfry-state.js — one user's inbox as the browser client holds it: the
// notifications (one object per id), the views that list them (the bell's
// tabs), the counts, and the stream's resume point, changed by the stream's
// events, by list answers and by the user's own optimistic changes.
//
// Pure: no DOM, no network, no timers, so Node's test runner checks every
// rule here (web/test/state.test.mjs). belfry-client.js does the I/O.
//
// The rules follow the stream's contract (docs/API.md). Ids are per user,
// strictly increasing and never reused, so an id is enough to deduplicate.
//
// Counts. A sync and every state event carry the counts (unread, unseen,
// by_category) of every id up to their last_id, L. The counts shown are
// those counts plus what the client holds beyond L: each held notification
// with an id above L adds itself (one unread unless read or archived, one
// unseen unless seen or archived, to the totals and to its category). So a
// new notification after the last counted L adds itself exactly once
// (delivered twice, or listed before its live event, it is still one
// held object), and a state event computed before a notification that was
// delivered ahead of it does not lose that notification.
//
// Views. A view is a list the server can page through (GET /notifications
// with status, category, unread). The client holds one object per id for
// every view; a view shows the held notifications that match it, down to
// its floor: the oldest id down to which it holds every match (0 once it
// holds them all). Archiving, reading and unarchiving move a notification
// between views with no request.
//
// List answers race the stream. A list request takes a ticket (begin());
// the events and optimistic changes applied after it are logged, and are
// applied again, in order, to what its answer brings: every change is an
// assignment, so replaying the ones the answer already reflects is
// harmless, and the result is the newest state.

/**
 * What applying one stream event asks of the client.
 * @typedef {object} Effect
 * @property {object|null} announce  a notification that is news: tell the user
 * @property {boolean} synced        it was a sync: the stream is live
 * @property {boolean} fetchNewest   the sync is ahead of every list answer: reload the newest pages
 */

/**
 * A view's key: "all" (not archived), "unread" (not archived, unread),
 * "archived", or "category:<name>" (not archived, of that category).
 * Returns {key, status, category, unread}, or null for a key that is none
 * of these.
 */
export function viewSpec(key) {
  if (key === "all") return { key, status: "inbox", category: null, unread: false };
  if (key === "unread") return { key, status: "inbox", category: null, unread: true };
  if (key === "archived") return { key, status: "archived", category: null, unread: false };
  if (typeof key === "string" && key.startsWith("category:") && key.length > 9) {
    return { key, status: "inbox", category: key.slice(9), unread: false };
  }
  return null;
}

/** The query of a view's list request, e.g. "&category=billing" ("" for "all"). */
export function viewQuery(spec) {
  let q = "";
  if (spec.status !== "inbox") q += "&status=" + spec.status;
  if (spec.category != null) q += "&category=" + encodeURIComponent(spec.category);
  if (spec.unread) q += "&unread=true";
  return q;
}

/** Whether the notification belongs in the view. */
export function inView(spec, n) {
  const archived = n.archived_at != null;
  if (spec.status === "archived") return archived;
  if (archived) return false;
  if (spec.unread && n.read_at != null) return false;
  if (spec.category != null && n.category !== spec.category) return false;
  return true;
}

export class InboxState {
  constructor() {
    /** Every held notification, newest first, one object per id. */
    this.items = [];
    /** The highest id known to be delivered: the stream's resume point. */
    this.cursor = 0;
    /** A sync came: cursor is a resume point, even at 0 (an empty inbox). */
    this.synced = false;
    /** Counts applied stream events and local changes, so that an answer older than one is known. */
    this.gen = 0;
    this._byId = new Map();
    this._views = new Map();    // key → {spec, loaded, floor, hasMore}
    this._base = zeroCounts();  // the counts of every id <= _countedTo
    this._countedTo = 0;        // last_id of the last counts applied
    this._counted = false;      // counts came from the stream (or the leader tab)
    this._seenMax = 0;          // the highest id held or covered by a list answer or a sync
    this._syncedTo = 0;         // last_id of the last sync: older ids are not news
    this._unannounced = new Set(); // ids a list brought before their live event
    this._deleted = new Set();  // ids the server deleted: a list answer in flight may still hold them
    this._tickets = new Map();  // gen at a list request → requests in flight with it
    this._log = [];             // {gen, id | bulk, fn}: changes to apply again to list answers
  }

  /** The notification with this id, if held. */
  get(id) { return this._byId.get(id); }

  /** The id to resume the stream from, or -1 for a fresh stream. */
  resumeId() { return this.cursor > 0 || this.synced ? this.cursor : -1; }

  /** The counts: {unread, unseen, byCategory: {name: {unread, unseen}}} (categories with either above 0). */
  get counts() {
    const b = this._base;
    const cats = {};
    for (const [k, c] of Object.entries(b.byCategory)) cats[k] = { unread: c.unread, unseen: c.unseen };
    let unread = b.unread, unseen = b.unseen;
    for (const n of this.items) {
      if (n.id <= this._countedTo) break; // newest first: the rest are counted
      const [u, s] = weight(n);
      if (u + s === 0) continue;
      unread += u;
      unseen += s;
      if (n.category != null) {
        const c = cats[n.category] || (cats[n.category] = { unread: 0, unseen: 0 });
        c.unread += u;
        c.unseen += s;
      }
    }
    for (const [k, c] of Object.entries(cats)) {
      c.unread = Math.max(0, c.unread);
      c.unseen = Math.max(0, c.unseen);
      if (c.unread === 0 && c.unseen === 0) delete cats[k];
    }
    return { unread: Math.max(0, unread), unseen: Math.max(0, unseen), byCategory: cats };
  }

  /** The unread count. */
  get unread() { return this.counts.unread; }

  /** The unseen count. */
  get unseen() { return this.counts.unseen; }

  /** The last_id the counts were given for. */
  get countedTo() { return this._countedTo; }

  /**
   * The view's notifications, newest first: {items, hasMore, loaded}.
   * A view not loaded yet shows nothing.
   */
  view(key) {
    const v = this._view(key);
    if (!v || !v.loaded) return { items: [], hasMore: false, loaded: false };
    const items = this.items.filter((n) => n.id >= v.floor && inView(v.spec, n));
    return { items, hasMore: v.hasMore, loaded: true };
  }

  /** Whether older notifications of the view can be loaded. */
  hasMore(key) { const v = this._view(key); return !!(v && v.loaded && v.hasMore); }

  /** The id to load the view's next older page before, or 0 if there is none. */
  before(key) {
    const v = this._view(key);
    if (!v || !v.loaded || !v.hasMore) return 0;
    return v.floor;
  }

  /** The keys of the views loaded so far. */
  loadedViews() { return [...this._views.values()].filter((v) => v.loaded).map((v) => v.spec.key); }

  /**
   * Applies one stream event, its data parsed. An unknown event, or one
   * without the fields its kind needs, changes nothing and returns null.
   * @returns {Effect|null}
   */
  apply(name, d) {
    if (!d || typeof d !== "object") return null;
    const fx = { announce: null, synced: false, fetchNewest: false };
    if (name === "new-notification") {
      if (!isId(d.id) || d.id === 0) return null;
      this.gen++;
      if (d.id > this.cursor) this.cursor = d.id;
      const fresh = this._put(d, 0);
      if (fresh) {
        fx.announce = d;
      } else if (this._unannounced.delete(d.id)) {
        fx.announce = this._byId.get(d.id) || d;
      }
      return fx;
    }
    const counts = parseCounts(d);
    if (!counts) return null;
    switch (name) {
      case "sync":
        this.synced = true;
        this._syncedTo = counts.lastId;
        if (counts.lastId > this.cursor) this.cursor = counts.lastId;
        fx.synced = true;
        if (counts.lastId > this._seenMax) {
          // Published before this stream attached but after the last list
          // answer: the newest pages are to be fetched again (and merged).
          this._seenMax = counts.lastId;
          fx.fetchNewest = true;
        }
        break;
      case "read-state":
        if (d.all) {
          if (!isId(d.up_to_id)) return null;
          if (d.read === false) break; // no bulk unread: nothing to apply
          const filter = parseFilter(d.filter);
          this._change({ upTo: d.up_to_id, filter, unread: true }, (n) => {
            n.read_at = d.read_at;
            if (n.seen_at == null && d.seen_at != null) n.seen_at = d.seen_at;
          }, false);
        } else {
          if (!isId(d.id) || typeof d.read !== "boolean") return null;
          this._change(d.id, d.read ? (n) => {
            n.read_at = d.read_at;
            if (d.seen_at != null) n.seen_at = d.seen_at;
          } : (n) => { n.read_at = null; }, false);
        }
        break;
      case "seen-state":
        if (!isId(d.up_to_id)) return null;
        this._change({ upTo: d.up_to_id, filter: null, unseen: true }, (n) => { n.seen_at = d.seen_at; }, false);
        break;
      case "archive-state":
        if (d.all) {
          if (!isId(d.up_to_id)) return null;
          if (d.archived === false) break;
          const filter = parseFilter(d.filter);
          this._change({ upTo: d.up_to_id, filter, unarchived: true }, (n) => { n.archived_at = d.archived_at; }, false);
        } else {
          if (!isId(d.id) || typeof d.archived !== "boolean") return null;
          this._change(d.id, (n) => { n.archived_at = d.archived ? d.archived_at : null; }, false);
        }
        break;
      case "action-state":
        if (!isId(d.id) || typeof d.action !== "string") return null;
        this._change(d.id, (n) => {
          n.action = d.action;
          n.acted_at = d.acted_at;
          if (d.read_at != null) n.read_at = d.read_at;
          if (d.seen_at != null) n.seen_at = d.seen_at;
        }, false);
        break;
      case "notification-deleted":
        if (!isId(d.id)) return null;
        // Ids are never reused: remembering a deleted one is exact, and
        // keeps a list answer that was in flight from bringing it back.
        this._deleted.add(d.id);
        this._drop(d.id);
        break;
      default:
        return null;
    }
    this._base = counts.counts;
    this._countedTo = counts.lastId;
    this._counted = true;
    this.gen++;
    return fx;
  }

  // ---- list answers ----

  /**
   * Takes a ticket for a list or counts request, to pass with its answer
   * (or to end() if it fails): the changes applied meanwhile are kept to
   * apply again to the answer.
   */
  begin() {
    const t = this.gen;
    this._tickets.set(t, (this._tickets.get(t) || 0) + 1);
    return t;
  }

  /** Ends a request without an answer to apply. */
  end(ticket) {
    const k = this._tickets.get(ticket);
    if (k === undefined) return;
    if (k > 1) this._tickets.set(ticket, k - 1); else this._tickets.delete(ticket);
    this._trimLog();
  }

  /**
   * Replaces the view's list with its newest page (a first load, or
   * Refresh). known is the cursor when the page was asked for: the answer
   * covers every id of the view up to it, so a held one it lacks was
   * deleted (or moved out of the view) meanwhile, its event missed while
   * disconnected, unless a change logged since says otherwise. What arrived
   * live while the page was in flight is newer than anything in it, and
   * kept.
   */
  replaceNewest(key, page, known, hasMore, ticket) {
    const v = this._view(key, true);
    if (!v) { this.end(ticket); return; }
    const low = hasMore && page.length > 0 ? page[page.length - 1].id : 0;
    const top = Math.max(page.length > 0 ? page[0].id : 0, known);
    const inPage = new Set(page.map((n) => n.id));
    // Only a view a notification cannot leave by being read: its absence
    // from the unread page may mean read, not gone.
    if (!v.spec.unread) {
      for (const n of [...this.items]) {
        if (n.id < low || n.id > top || inPage.has(n.id) || !inView(v.spec, n)) continue;
        if (this._touchedSince(n, ticket)) continue;
        this._drop(n.id);
      }
    }
    this._merge(page, ticket);
    v.loaded = true;
    v.hasMore = hasMore;
    v.floor = hasMore ? (page.length > 0 ? page[page.length - 1].id : this._seenMax + 1) : 0;
    this.end(ticket);
  }

  /**
   * Merges the newest page into a loaded view (after a sync ahead of it);
   * true if it added any. A full page that does not reach the view's
   * newest held id leaves a gap: the view's floor moves up to the page.
   */
  mergeNewest(key, page, hasMore, ticket) {
    const v = this._view(key, true);
    if (!v) { this.end(ticket); return false; }
    const shown = this.view(key).items;
    const added = this._merge(page, ticket);
    if (!v.loaded) {
      v.loaded = true;
      v.hasMore = hasMore;
      v.floor = hasMore && page.length > 0 ? page[page.length - 1].id : 0;
    } else if (hasMore && page.length > 0) {
      const bottom = page[page.length - 1].id;
      const top = shown.length > 0 ? shown[0].id : 0;
      if (bottom > top) {
        v.floor = bottom;
        v.hasMore = true;
      }
    }
    this.end(ticket);
    return added;
  }

  /** Appends a page of the view older than its floor. */
  appendOlder(key, page, hasMore, ticket) {
    const v = this._view(key, true);
    if (!v) { this.end(ticket); return; }
    this._merge(page, ticket);
    if (!hasMore) v.floor = 0;
    else if (page.length > 0) v.floor = Math.min(v.floor, page[page.length - 1].id);
    v.hasMore = hasMore;
    this.end(ticket);
  }

  /**
   * Sets the counts from GET /notifications/counts ({unread, unseen,
   * by_category[, last_id]}), unless a stream event or a change was
   * applied since the ticket: that one's counts are newer.
   *
   * Without a last_id the answer cannot say which ids it covers: one
   * created while it was in flight may be in it and still to come live,
   * and would count twice. So such an answer is only an estimate until
   * the stream's first counts, and is not taken after them (taken to
   * cover every id held).
   */
  applyCounts(c, ticket) {
    const stale = ticket !== this.gen;
    this.end(ticket);
    if (stale || !c || typeof c !== "object" || !isCount(c.unread)) return false;
    if (!isId(c.last_id) && this._counted) return false;
    this._base = {
      unread: c.unread,
      unseen: isCount(c.unseen) ? c.unseen : this._base.unseen,
      byCategory: parseByCategory(c.by_category) || {},
    };
    this._countedTo = isId(c.last_id) ? c.last_id : Math.max(this._seenMax, this.cursor);
    return true;
  }

  /**
   * What a joining tab takes from the leader tab: its resume point and its
   * counts, covering every id up to countedTo.
   */
  snapshot() {
    const c = this.counts;
    return { cursor: this.cursor, counts: { unread: c.unread, unseen: c.unseen, by_category: c.byCategory,
      last_id: Math.max(this._countedTo, this.cursor) } };
  }

  /** Takes the leader tab's snapshot (a follower joining). */
  adopt(cursor, counts) {
    if (isId(cursor) && cursor > this.cursor) this.cursor = cursor;
    const c = counts && parseCounts({ unread_count: counts.unread, unseen_count: counts.unseen,
      last_id: counts.last_id, by_category: counts.by_category });
    if (!c) return;
    this._base = c.counts;
    this._countedTo = c.lastId;
    this._counted = true;
    this.gen++;
  }

  // ---- the user's own changes, applied at once ----

  /** Marks one held notification read or unread; true if it changed. */
  setRead(id, read, now) {
    const n = this._byId.get(id);
    if (!n || (n.read_at == null) !== read) return false;
    this._change(id, read ? (x) => {
      x.read_at = now;
      if (x.seen_at == null) x.seen_at = now;
    } : (x) => { x.read_at = null; }, true);
    this.gen++;
    return true;
  }

  /** Marks read every unarchived notification up to upTo (of a category, if given). */
  markAllRead(now, upTo = this.cursor, category = null) {
    const filter = category == null ? null : { category, read: null };
    this._change({ upTo, filter, unread: true }, (n) => {
      n.read_at = now;
      if (n.seen_at == null) n.seen_at = now;
    }, true);
    if (upTo >= this._countedTo) {
      // Every counted one is read now.
      const b = this._base;
      if (category == null) {
        b.unread = 0;
        for (const c of Object.values(b.byCategory)) c.unread = 0;
      } else if (b.byCategory[category]) {
        b.unread -= b.byCategory[category].unread;
        b.byCategory[category].unread = 0;
      }
    }
    this.gen++;
  }

  /** Marks seen every notification up to upTo. */
  markSeen(now, upTo = this.cursor) {
    this._change({ upTo, filter: null, unseen: true }, (n) => { n.seen_at = now; }, true);
    if (upTo >= this._countedTo) {
      this._base.unseen = 0;
      for (const c of Object.values(this._base.byCategory)) c.unseen = 0;
    }
    this.gen++;
  }

  /** Archives or unarchives one held notification; true if it changed. */
  setArchived(id, archived, now) {
    const n = this._byId.get(id);
    if (!n || (n.archived_at != null) === archived) return false;
    this._change(id, (x) => { x.archived_at = archived ? now : null; }, true);
    this.gen++;
    return true;
  }

  /** Records an action taken on one held notification (read and seen too); true if it changed. */
  setAction(id, action, now) {
    const n = this._byId.get(id);
    if (!n || n.action != null) return false;
    this._change(id, (x) => {
      x.action = action;
      x.acted_at = now;
      if (x.read_at == null) x.read_at = now;
      if (x.seen_at == null) x.seen_at = now;
    }, true);
    this.gen++;
    return true;
  }

  /**
   * Takes the notification an action request answered with (the server's
   * state of it). Changes logged since the ticket apply on top.
   */
  put(n, ticket) {
    this._merge([n], ticket);
    this.end(ticket);
  }

  /**
   * Removes one notification at once (the user deleted it); the server's
   * event confirms it and sets the counts. Until then a list answer may
   * bring it back: if the request failed, it is still there.
   */
  remove(id) {
    const n = this._byId.get(id);
    if (!n) return;
    if (n.id <= this._countedTo) this._unweigh(n);
    this._drop(id);
    this.gen++;
  }

  // ---- internals ----

  _view(key, create) {
    let v = this._views.get(key);
    if (!v && create) {
      const spec = viewSpec(key);
      if (!spec) return null;
      v = { spec, loaded: false, floor: Infinity, hasMore: false };
      this._views.set(key, v);
    }
    return v || null;
  }

  // Applies a change to the held notifications it selects, and logs it
  // for the list answers in flight. target is an id, or a bulk selection
  // {upTo, filter, unread|unseen|unarchived}. A local change also moves
  // the counted base by what it changes among the counted ids; an event's
  // counts replace the base.
  _change(target, fn, local) {
    const sel = typeof target === "number" ? { id: target } : target;
    for (const n of this._select(sel)) {
      if (local && n.id <= this._countedTo) this._adjust(n, () => fn(n));
      else fn(n);
    }
    if (this._tickets.size > 0) this._log.push({ gen: this.gen + 1, sel, fn });
  }

  _select(sel) {
    if (sel.id !== undefined) {
      const n = this._byId.get(sel.id);
      return n ? [n] : [];
    }
    return this.items.filter((n) => matches(sel, n));
  }

  // Runs fn on n and moves the base counts by the change of n's weight.
  _adjust(n, fn) {
    const [u0, s0] = weight(n);
    fn();
    const [u1, s1] = weight(n);
    const du = u1 - u0, ds = s1 - s0;
    if (du === 0 && ds === 0) return;
    const b = this._base;
    b.unread = Math.max(0, b.unread + du);
    b.unseen = Math.max(0, b.unseen + ds);
    if (n.category != null) {
      const c = b.byCategory[n.category] || (b.byCategory[n.category] = { unread: 0, unseen: 0 });
      c.unread = Math.max(0, c.unread + du);
      c.unseen = Math.max(0, c.unseen + ds);
    }
  }

  // Takes n out of the base counts (it is leaving them).
  _unweigh(n) {
    const [u, s] = weight(n);
    const b = this._base;
    b.unread = Math.max(0, b.unread - u);
    b.unseen = Math.max(0, b.unseen - s);
    const c = n.category != null && b.byCategory[n.category];
    if (c) {
      c.unread = Math.max(0, c.unread - u);
      c.unseen = Math.max(0, c.unseen - s);
    }
  }

  _touchedSince(n, ticket) {
    for (const e of this._log) if (e.gen > ticket && (e.sel.id === n.id || (e.sel.id === undefined && e.sel.upTo >= n.id))) return true;
    return false;
  }

  // Merges list answers: new ones are added, held ones take the answer's
  // state; then the changes logged since the ticket are applied again.
  _merge(page, ticket) {
    let added = false;
    const got = [];
    for (const n of page) {
      if (!n || !isId(n.id) || n.id === 0 || this._deleted.has(n.id)) continue;
      const fresh = this._put(n, 1);
      if (fresh) added = true;
      got.push(this._byId.get(n.id));
    }
    if (got.length > 0 && ticket !== undefined) {
      for (const e of this._log) {
        if (e.gen <= ticket) continue;
        for (const n of got) if (e.sel.id === n.id || (e.sel.id === undefined && matches(e.sel, n))) e.fn(n);
      }
    }
    return added;
  }

  // Holds n (one object per id); true if it is new. listed: it came in a
  // list answer, not on the stream.
  _put(n, listed) {
    if (!n || !isId(n.id) || n.id === 0 || this._deleted.has(n.id)) return false;
    const had = this._byId.get(n.id);
    if (had) { Object.assign(had, n); return false; }
    if (!Array.isArray(n.actions)) n.actions = [];
    this._byId.set(n.id, n);
    let i = 0;
    while (i < this.items.length && this.items[i].id > n.id) i++;
    this.items.splice(i, 0, n);
    if (n.id > this._seenMax) this._seenMax = n.id;
    // Listed before its live event: still news when the event comes (not
    // if the last sync covered it: it existed before the stream).
    if (listed && n.id > this._syncedTo && n.id > this.cursor) this._unannounced.add(n.id);
    return true;
  }

  _drop(id) {
    this._unannounced.delete(id);
    if (this._byId.delete(id)) this.items = this.items.filter((n) => n.id !== id);
  }

  _trimLog() {
    if (this._tickets.size === 0) { this._log = []; return; }
    const oldest = Math.min(...this._tickets.keys());
    this._log = this._log.filter((e) => e.gen > oldest);
  }
}

/** Whether a Link header, or a short page without one, says there is a next page. */
export function hasNextPage(link, got, limit) {
  if (link != null) return /rel="?next"?/.test(link);
  return got >= limit;
}

// How much n adds to the counts: [unread, unseen].
function weight(n) {
  if (n.archived_at != null) return [0, 0];
  return [n.read_at == null ? 1 : 0, n.seen_at == null ? 1 : 0];
}

// Whether a bulk change selects n: ids up to upTo, of the filter's
// category and read state, and only those the change can change.
function matches(sel, n) {
  if (n.id > sel.upTo) return false;
  if (sel.unread && (n.read_at != null || n.archived_at != null)) return false;
  if (sel.unseen && n.seen_at != null) return false;
  if (sel.unarchived && n.archived_at != null) return false;
  const f = sel.filter;
  if (f) {
    if (f.category != null && n.category !== f.category) return false;
    if (f.read != null && (n.read_at != null) !== f.read) return false;
  }
  return true;
}

function parseFilter(f) {
  if (!f || typeof f !== "object") return null;
  return { category: typeof f.category === "string" ? f.category : null,
    read: typeof f.read === "boolean" ? f.read : null };
}

// The counts every sync and state event carries; null if they are missing.
function parseCounts(d) {
  if (!isCount(d.unread_count) || !isCount(d.unseen_count) || !isId(d.last_id)) return null;
  const byCategory = d.by_category === undefined || d.by_category === null ? {} : parseByCategory(d.by_category);
  if (!byCategory) return null;
  return { lastId: d.last_id, counts: { unread: d.unread_count, unseen: d.unseen_count, byCategory } };
}

function parseByCategory(m) {
  if (!m || typeof m !== "object" || Array.isArray(m)) return null;
  const out = {};
  for (const [k, c] of Object.entries(m)) {
    if (!c || typeof c !== "object") continue;
    out[k] = { unread: isCount(c.unread) ? c.unread : 0, unseen: isCount(c.unseen) ? c.unseen : 0 };
  }
  return out;
}

function zeroCounts() { return { unread: 0, unseen: 0, byCategory: {} }; }

function isId(v) { return Number.isSafeInteger(v) && v >= 0; }
function isCount(v) { return Number.isSafeInteger(v) && v >= 0; }
