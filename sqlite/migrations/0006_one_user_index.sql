-- One index keyed by user where there were two. Every notification sat
-- in the (user_id, id) primary key and, while unread, in the unread
-- index: a publish to users in a random order dirtied a leaf of each per
-- user, each written whole to the WAL and later copied back. Now a
-- notification has one entry, in notifications_user, which holds every
-- column Stats and the unread lists filter on, so they read the index
-- alone, as they read the unread index before. Their work is the user's
-- rows (at most --max-per-user) rather than the unread ones; a user whose
-- rows are all unread costs what it did.
--
-- The index is not UNIQUE: ids are handed out by the one writer, in the
-- transaction that inserts the rows, from the user's newest row (see
-- doc.go). The table is rebuilt because a rowid table's primary key
-- cannot be dropped; rows keep their rowids, so their order.
CREATE TABLE notifications_v6 (
    user_id     TEXT    NOT NULL CHECK (user_id <> ''),
    id          INTEGER NOT NULL,
    message     TEXT    NOT NULL,
    title       TEXT    NOT NULL DEFAULT '',
    link        TEXT    NOT NULL DEFAULT '',
    category    TEXT    NOT NULL DEFAULT '',
    data        TEXT,              -- compact JSON object, NULL when unset
    read_at     INTEGER,           -- Unix milliseconds, NULL while unread
    created_at  INTEGER NOT NULL,  -- Unix milliseconds
    avatar      TEXT    NOT NULL DEFAULT '',
    actions     TEXT,              -- compact JSON array, NULL when none
    seen_at     INTEGER,           -- Unix milliseconds, NULL while unseen
    archived_at INTEGER,           -- Unix milliseconds, NULL unless archived
    expires_at  INTEGER,           -- Unix milliseconds, NULL: never
    action      TEXT    NOT NULL DEFAULT '', -- the action taken
    acted_at    INTEGER
);

INSERT INTO notifications_v6 (rowid, user_id, id, message, title, link, category, data, read_at,
        created_at, avatar, actions, seen_at, archived_at, expires_at, action, acted_at)
    SELECT rowid, user_id, id, message, title, link, category, data, read_at,
        created_at, avatar, actions, seen_at, archived_at, expires_at, action, acted_at
    FROM notifications ORDER BY rowid;

DROP TABLE notifications; -- and its indexes

ALTER TABLE notifications_v6 RENAME TO notifications;

CREATE INDEX notifications_user ON notifications
    (user_id, id, archived_at, seen_at, expires_at, category, read_at);
CREATE INDEX notifications_archived ON notifications (user_id, id) WHERE archived_at IS NOT NULL;
CREATE INDEX notifications_expiry ON notifications (expires_at) WHERE expires_at IS NOT NULL;
CREATE INDEX notifications_done ON notifications (created_at)
    WHERE read_at IS NOT NULL OR archived_at IS NOT NULL;
