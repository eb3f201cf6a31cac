-- belfry schema, version 1. Table names carry a belfry_ prefix so belfry can
-- share a database (and schema) with the application that publishes to it,
-- e.g. Laravel, which has a "notifications" table of its own.

-- One row per user: the highest id ever assigned to the user. Create bumps
-- it in the same statement that inserts the notifications, so its row lock
-- serialises the writers of one user (see doc.go). Deleting notifications
-- never lowers it: ids are not reused.
CREATE TABLE belfry_counters (
	user_id text COLLATE "C" PRIMARY KEY,
	last_id bigint NOT NULL
);

-- The inbox. The primary key (user_id, id) is the index of List (scanned
-- backward: newest first) and of After (scanned forward); a B-tree serves
-- both directions equally well, so no separate (user_id, id DESC) index.
-- data keeps the publisher's JSON object byte for byte (json, not jsonb,
-- which would reorder keys). Empty optional strings are stored as NULL.
CREATE TABLE belfry_notifications (
	user_id    text COLLATE "C" NOT NULL,
	id         bigint NOT NULL,
	message    text NOT NULL,
	title      text,
	link       text,
	category   text,
	data       json,
	read_at    timestamptz,
	created_at timestamptz NOT NULL,
	PRIMARY KEY (user_id, id)
);

-- Unread notifications only: the unread count, List with UnreadOnly and
-- ReadAll read this small index instead of the whole inbox of the user.
CREATE INDEX belfry_notifications_unread
	ON belfry_notifications (user_id, id)
	WHERE read_at IS NULL;
