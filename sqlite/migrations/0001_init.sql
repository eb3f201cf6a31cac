-- The inbox. One row per notification; (user_id, id) is the key, so the
-- table itself is the index that List (id descending) and After (id
-- ascending) walk for one user. WITHOUT ROWID keeps a user's rows together
-- in key order instead of in insertion order.
CREATE TABLE notifications (
    user_id    TEXT    NOT NULL CHECK (user_id <> ''),
    id         INTEGER NOT NULL,
    message    TEXT    NOT NULL,
    title      TEXT    NOT NULL DEFAULT '',
    link       TEXT    NOT NULL DEFAULT '',
    category   TEXT    NOT NULL DEFAULT '',
    data       TEXT,              -- compact JSON object, NULL when unset
    read_at    INTEGER,           -- Unix milliseconds, NULL while unread
    created_at INTEGER NOT NULL,  -- Unix milliseconds
    PRIMARY KEY (user_id, id)
) WITHOUT ROWID;

-- Only unread rows: List(unread only) walks this index, whose size is the
-- number of unread notifications, not of all of them.
CREATE INDEX notifications_unread ON notifications (user_id, id) WHERE read_at IS NULL;

-- Per user: the highest id ever handed out, and how many notifications are
-- unread. The writer changes both in the same transaction as the rows they
-- count: ids are contiguous and in commit order, a deleted last id is never
-- handed out again, and Stats reads one row instead of counting.
CREATE TABLE user_counters (
    user_id TEXT    NOT NULL PRIMARY KEY,
    last_id INTEGER NOT NULL,
    unread  INTEGER NOT NULL
) WITHOUT ROWID;
