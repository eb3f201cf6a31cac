-- The outbox (belfry.Outbox): jobs of Web Push and webhooks, written in
-- the same transactions as the notifications they belong to. A rowid
-- table: payloads (webhook bodies) may be kilobytes, and new rows go to
-- the end of the table. Times are Unix milliseconds.
CREATE TABLE outbox (
    id              TEXT    NOT NULL UNIQUE CHECK (id <> '' AND length(CAST(id AS BLOB)) <= 64),
    kind            TEXT    NOT NULL,
    user_id         TEXT    NOT NULL,
    notification_id INTEGER NOT NULL DEFAULT 0,
    created_at      INTEGER NOT NULL,
    due_at          INTEGER NOT NULL,
    attempts        INTEGER NOT NULL DEFAULT 0,
    payload         BLOB,
    failed          INTEGER NOT NULL DEFAULT 0,
    last_error      TEXT    NOT NULL DEFAULT '',
    claim           TEXT    NOT NULL DEFAULT '', -- '' when not claimed
    lease_until     INTEGER NOT NULL DEFAULT 0   -- the claim holds while now < lease_until
);

-- Claim walks the jobs not failed, soonest due first, and stops at its
-- limit; lease_until is in the index so that a leased job is skipped
-- without reading its row.
CREATE INDEX outbox_due ON outbox (due_at, id, lease_until) WHERE NOT failed;

-- FailedJobs (by kind, newest first) and Purge (oldest first). Only failed
-- jobs enter them.
CREATE INDEX outbox_failed ON outbox (kind, created_at, id) WHERE failed;
CREATE INDEX outbox_failed_created ON outbox (created_at) WHERE failed;

-- The users' push subscriptions (belfry.Subscriptions): an endpoint
-- belongs to one user at a time. Listed, counted and probed (does the user
-- have one?) by user.
CREATE TABLE push_subscriptions (
    endpoint   TEXT    NOT NULL PRIMARY KEY,
    user_id    TEXT    NOT NULL,
    p256dh     TEXT    NOT NULL,
    auth       TEXT    NOT NULL,
    created_at INTEGER NOT NULL
);
CREATE INDEX push_subscriptions_user ON push_subscriptions (user_id, created_at);
