// belfry-state.js — one user's inbox as the browser client holds it: the
// notifications (newest first, one per id), the unread count and the
// stream's resume point, changed by the stream's events, by list answers
// and by the user's own optimistic changes.
//
// Pure: no DOM, no network, no timers, so Node's test runner checks every
// rule here (web/test/state.test.mjs). belfry-client.js does the I/O.
//
// The counting rules follow the stream's contract (docs/API.md): a sync's
// unread_count counts every notification up to its last_id and none after;
// a new-notification after it adds one if unread; read-state and
// notification-deleted carry the authoritative count. Ids are per user,
// strictly increasing and never reused, so an id is enough to deduplicate.

/**
 * What applying one stream event asks of the client.
 * @typedef {object} Effect
 * @property {object|null} announce  a notification that is news: tell the user
 * @property {boolean} synced        it was a sync: the stream is live
 * @property {boolean} fetchNewest   the sync is ahead of every list answer: reload the newest page
 */

export class InboxState {
  constructor() {
    /** Newest first, one object per id. */
    this.items = [];
    this.unread = 0;
    /** Whether the server has a page older than the oldest item. */
    this.hasMore = false;
    /** The highest id known to be delivered: the stream's resume point. */
    this.cursor = 0;
    /** A sync came: cursor is a resume point, even at 0 (an empty inbox). */
    this.synced = false;
    /** Counts applied stream events, so that an answer older than one is ignored. */
    this.gen = 0;
    this._byId = new Map();
    this._seenMax = 0;          // the highest id held or covered by a list answer
    this._syncedTo = 0;         // last_id of the last sync: counted in its unread_count
    this._unannounced = new Set(); // ids a list brought before their live event
    this._deleted = new Set();  // ids the server said it deleted: a list answer in flight may still hold them
  }

  /** The notification with this id, if held. */
  get(id) { return this._byId.get(id); }

  /** The id to resume the stream from, or -1 for a fresh stream. */
  resumeId() { return this.cursor > 0 || this.synced ? this.cursor : -1; }

  /**
   * Applies one stream event, its data parsed. An unknown event, or one
   * without the fields its kind needs, changes nothing and returns null.
   * @returns {Effect|null}
   */
  apply(name, d) {
    if (!d || typeof d !== "object") return null;
    const fx = { announce: null, synced: false, fetchNewest: false };
    switch (name) {
      case "sync":
        if (!isCount(d.unread_count) || !isId(d.last_id)) return null;
        this.unread = d.unread_count;
        this._syncedTo = d.last_id;
        this.synced = true;
        if (d.last_id > this.cursor) this.cursor = d.last_id;
        fx.synced = true;
        if (d.last_id > this._seenMax) {
          // Published before this stream attached but after the last list
          // answer: the newest page is to be fetched again (and merged).
          this._seenMax = d.last_id;
          fx.fetchNewest = true;
        }
        break;
      case "new-notification":
        if (!isId(d.id) || d.id === 0) return null;
        if (d.id > this.cursor) this.cursor = d.id;
        if (this._put(d)) {
          // The sync's count already includes every id up to its last_id,
          // and one of those may still arrive just after the sync.
          if (d.read_at == null && d.id > this._syncedTo) this.unread++;
          fx.announce = d;
        } else if (this._unannounced.delete(d.id)) {
          fx.announce = this._byId.get(d.id) || d;
        }
        break;
      case "read-state":
        if (!isCount(d.unread_count)) return null;
        if (d.all) {
          if (!isId(d.up_to_id)) return null;
          for (const n of this.items) if (n.id <= d.up_to_id && n.read_at == null) n.read_at = d.read_at;
        } else {
          if (!isId(d.id)) return null;
          const n = this._byId.get(d.id);
          if (n) n.read_at = d.read ? d.read_at : null;
        }
        this.unread = d.unread_count;
        break;
      case "notification-deleted":
        if (!isCount(d.unread_count) || !isId(d.id)) return null;
        // Ids are never reused: remembering a deleted one is exact, and
        // keeps a list answer that was in flight from bringing it back.
        this._deleted.add(d.id);
        this._drop(d.id);
        this.unread = d.unread_count;
        break;
      default:
        return null;
    }
    this.gen++;
    return fx;
  }

  /**
   * Replaces the list with the newest page (Refresh). known is the cursor
   * when the page was asked for: the answer covers every id up to it, so a
   * held one it lacks was deleted meanwhile (its event missed while
   * disconnected). What arrived live while the page was in flight is newer
   * than anything in it, and kept.
   */
  replaceNewest(page, known, hasMore) {
    const top = Math.max(page.length > 0 ? page[0].id : 0, known);
    const live = this.items.filter((n) => n.id > top);
    const held = this._byId;
    this.items = [];
    this._byId = new Map();
    for (const n of live) this._put(n);
    for (const n of page) if (this._put(n) && !held.has(n.id)) this._countListed(n);
    this.hasMore = hasMore;
  }

  /** Merges the newest page into the list (after a sync ahead of it); true if it added any. */
  mergeNewest(page) {
    let added = false;
    for (const n of page) {
      if (this._put(n)) { this._countListed(n); added = true; }
    }
    return added;
  }

  /** Appends a page older than the oldest item. */
  appendOlder(page, hasMore) {
    for (const n of page) this._put(n);
    this.hasMore = hasMore;
  }

  /**
   * Sets the unread count from GET /notifications/unread-count, unless a
   * stream event was applied since gen: that event's count is newer.
   */
  applyCount(unread, gen) {
    if (isCount(unread) && gen === this.gen) this.unread = unread;
  }

  /** Takes the leader tab's resume point and count (a follower joining). */
  adopt(cursor, unread) {
    if (isId(cursor) && cursor > this.cursor) this.cursor = cursor;
    if (isCount(unread)) this.unread = unread;
  }

  /** Marks one held notification read or unread at once; true if it changed. */
  setRead(id, read, now) {
    const n = this._byId.get(id);
    if (!n || (n.read_at == null) !== read) return false;
    n.read_at = read ? now : null;
    this.unread = Math.max(0, this.unread + (read ? -1 : 1));
    return true;
  }

  /** Marks everything read at once. */
  markAllRead(now) {
    for (const n of this.items) if (n.read_at == null) n.read_at = now;
    this.unread = 0;
  }

  /**
   * Removes one notification at once (the user deleted it); the server's
   * event confirms it and sets the count. Until then a list answer may
   * bring it back: if the request failed, it is still there.
   */
  remove(id) { this._drop(id); }

  _put(n) {
    if (!n || !isId(n.id) || n.id === 0 || this._deleted.has(n.id)) return false;
    const had = this._byId.get(n.id);
    if (had) { Object.assign(had, n); return false; }
    this._byId.set(n.id, n);
    let i = 0;
    while (i < this.items.length && this.items[i].id > n.id) i++;
    this.items.splice(i, 0, n);
    if (n.id > this._seenMax) this._seenMax = n.id;
    return true;
  }

  // A list answer brought n before the stream did. If neither the last sync
  // nor the stream has counted it, count it now: when it arrives on the
  // stream, _put finds it held and does not count it again. It is still
  // news, so it is announced when its live event comes.
  _countListed(n) {
    if (n.id <= this._syncedTo || n.id <= this.cursor) return;
    if (n.read_at == null) this.unread++;
    this._unannounced.add(n.id);
  }

  _drop(id) {
    this._unannounced.delete(id);
    if (this._byId.delete(id)) this.items = this.items.filter((n) => n.id !== id);
  }
}

/** Whether a Link header, or a short page without one, says there is a next page. */
export function hasNextPage(link, got, limit) {
  if (link != null) return /rel="?next"?/.test(link);
  return got >= limit;
}

function isId(v) { return Number.isSafeInteger(v) && v >= 0; }
function isCount(v) { return Number.isSafeInteger(v) && v >= 0; }
