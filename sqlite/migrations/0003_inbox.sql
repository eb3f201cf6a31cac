-- The inbox model: avatars, actions, seen, archived and expiring
-- notifications, users' preferences and publish idempotency keys. Every
-- existing notification is kept; one that was read counts as seen since
-- it was read (reading marks seen).
ALTER TABLE notifications ADD COLUMN avatar      TEXT    NOT NULL DEFAULT '';
ALTER TABLE notifications ADD COLUMN actions     TEXT;   -- compact JSON array, NULL when none
ALTER TABLE notifications ADD COLUMN seen_at     INTEGER; -- Unix milliseconds, NULL while unseen
ALTER TABLE notifications ADD COLUMN archived_at INTEGER; -- Unix milliseconds, NULL unless archived
ALTER TABLE notifications ADD COLUMN expires_at  INTEGER; -- Unix milliseconds, NULL: never
ALTER TABLE notifications ADD COLUMN action      TEXT    NOT NULL DEFAULT ''; -- the action taken
ALTER TABLE notifications ADD COLUMN acted_at    INTEGER;

UPDATE notifications SET seen_at = read_at WHERE read_at IS NOT NULL;

-- The unread rows, which include every unseen one (reading marks seen, so
-- a row with seen_at NULL always has read_at NULL). Stats counts from this
-- index alone (it holds every column the count reads, read_at too, always
-- NULL here, or SQLite would read each row to check it), List with
-- UnreadOnly or UnseenOnly walks it newest first, and ReadAll and SeeAll
-- update through it: their work is the user's unread rows, not all rows.
DROP INDEX notifications_unread;
CREATE INDEX notifications_unread ON notifications
    (user_id, id, archived_at, seen_at, expires_at, category, read_at) WHERE read_at IS NULL;

-- Only archived rows: List(status archived). Rows enter it when archived,
-- so it costs a publish nothing.
CREATE INDEX notifications_archived ON notifications (user_id, id) WHERE archived_at IS NOT NULL;

-- Purge: expired rows, and rows that retention may delete without
-- RetainUnread (read or archived), oldest first. New rows enter the second
-- only once read or archived.
CREATE INDEX notifications_expiry ON notifications (expires_at) WHERE expires_at IS NOT NULL;
CREATE INDEX notifications_done ON notifications (created_at)
    WHERE read_at IS NOT NULL OR archived_at IS NOT NULL;

-- The counters keep the last id; the unread count is now counted (Stats),
-- and the column counts the rows a user has, for Purge's per-user maximum.
ALTER TABLE user_counters RENAME COLUMN unread TO total;
UPDATE user_counters SET total = (SELECT count(*) FROM notifications n WHERE n.user_id = user_counters.user_id);

-- A user's switches (belfry.Preferences as JSON); no row means the
-- defaults. in_app_off is 1 when some switch turns in-app delivery off:
-- Publish looks preferences up only when such a row exists.
CREATE TABLE preferences (
    user_id    TEXT    NOT NULL PRIMARY KEY,
    prefs      TEXT    NOT NULL,
    in_app_off INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX preferences_in_app_off ON preferences (user_id) WHERE in_app_off;

-- One row per keyed publish call: the body's hash and what it created.
-- result is {"users":[…],"ids":[…]} in the call's order, id 0 for a user
-- its preferences skipped.
CREATE TABLE idempotency_keys (
    name       TEXT    NOT NULL PRIMARY KEY,
    hash       BLOB    NOT NULL,
    result     TEXT    NOT NULL,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX idempotency_keys_expiry ON idempotency_keys (expires_at);
