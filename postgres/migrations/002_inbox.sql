-- belfry schema, version 2: seen, archive, expiry, avatar and actions on
-- notifications; preferences; idempotency keys. Only additions: every new
-- column is nullable without a default (a catalog change, no table
-- rewrite), existing rows keep their meaning, and nodes still on version 1
-- keep working during a rolling upgrade.

-- seen_at: a notification counts as seen when seen_at or read_at is set
-- (reading marks seen; rows read before this version have no seen_at).
-- So the unseen notifications are a subset of the unread ones, and the
-- partial index of unread notifications of version 1 serves both counts.
-- actions: a JSON array of {"id","label","url"}, NULL when none.
ALTER TABLE belfry_notifications
	ADD COLUMN avatar      text,
	ADD COLUMN actions     jsonb,
	ADD COLUMN action      text,
	ADD COLUMN acted_at    timestamptz,
	ADD COLUMN seen_at     timestamptz,
	ADD COLUMN archived_at timestamptz,
	ADD COLUMN expires_at  timestamptz;

-- Purge of expired notifications. Partial: notifications without an
-- expiry, the usual ones, cost the publish path nothing here.
CREATE INDEX belfry_notifications_expiry
	ON belfry_notifications (expires_at)
	WHERE expires_at IS NOT NULL;

-- Purge by age of read or archived notifications. Partial: a new
-- notification is neither, so publishing never writes to this index;
-- reading or archiving one adds it. Old unread ones, purged only when
-- asked (PurgeQuery.RetainUnread), are found user by user through the
-- unread index.
CREATE INDEX belfry_notifications_done
	ON belfry_notifications (created_at)
	WHERE read_at IS NOT NULL OR archived_at IS NOT NULL;

-- A user's switches. categories maps a category to its three switches,
-- {"billing":{"in_app":false,"push":true,"webhook":true}}, always complete.
-- No row: all on.
CREATE TABLE belfry_preferences (
	user_id         text COLLATE "C" PRIMARY KEY,
	default_in_app  boolean NOT NULL,
	default_push    boolean NOT NULL,
	default_webhook boolean NOT NULL,
	categories      jsonb NOT NULL
);

-- One row per Idempotency-Key: the hash of the request body and the end of
-- its window. A publish claims its key by inserting this row (or taking
-- over the row of an expired key) in the statement that stores the
-- notifications; a concurrent publish with the same key, on any node,
-- waits for that statement to commit or fail (see doc.go).
CREATE TABLE belfry_idempotency_keys (
	name       text COLLATE "C" PRIMARY KEY,
	hash       bytea NOT NULL,
	expires_at timestamptz NOT NULL
);

CREATE INDEX belfry_idempotency_keys_expiry
	ON belfry_idempotency_keys (expires_at);

-- What the publish that claimed a key created: users[i] got ids[i], all
-- at created_at. Apart from the key's row because one statement cannot
-- write a row it inserted; written by the same statement, so a key and
-- its record commit together.
CREATE TABLE belfry_idempotency_records (
	name       text COLLATE "C" PRIMARY KEY,
	created_at timestamptz NOT NULL,
	users      text[] NOT NULL,
	ids        bigint[] NOT NULL
);
