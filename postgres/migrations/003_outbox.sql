-- belfry schema, version 3: the outbox of Web Push and webhook jobs, and
-- the users' push subscriptions. Only new tables: nodes still on version 2
-- keep working during a rolling upgrade.

-- One row per job. A pending job has failed = false; a claimed one has a
-- claim token and lease_until (it may be claimed again once lease_until
-- has passed). A failed job keeps its row, for FailedJobs and Revive,
-- until Purge deletes it (PurgeQuery.FailedBefore). Ids sort by creation
-- time (the callers make them so): COLLATE "C" makes them sort bytewise,
-- as in Go. The notification of a job is not a foreign key: deleting a
-- notification leaves its jobs, which check it when they run.
CREATE TABLE belfry_outbox (
	id              text COLLATE "C" PRIMARY KEY,
	kind            text COLLATE "C" NOT NULL,
	user_id         text COLLATE "C" NOT NULL,
	notification_id bigint NOT NULL,
	created_at      timestamptz NOT NULL,
	due_at          timestamptz NOT NULL,
	attempts        integer NOT NULL,
	payload         bytea,
	failed          boolean NOT NULL DEFAULT false,
	last_error      text NOT NULL DEFAULT '',
	claim           text,
	lease_until     timestamptz
);

-- Claim: pending jobs, soonest due first, then id. Jobs under a lease stay
-- in it and are stepped over (there are at most as many as the nodes have
-- in flight).
CREATE INDEX belfry_outbox_due
	ON belfry_outbox (due_at, id)
	WHERE NOT failed;

-- FailedJobs (by kind, newest first) and Purge of old failed jobs.
-- Partial: pending jobs, the usual ones, are in neither.
CREATE INDEX belfry_outbox_failed
	ON belfry_outbox (kind, created_at, id)
	WHERE failed;
CREATE INDEX belfry_outbox_failed_created
	ON belfry_outbox (created_at)
	WHERE failed;

-- Push subscriptions: an endpoint belongs to one user at a time.
-- SubscriptionsOf, the limit per user and the OnlyIfSubscribed test of a
-- publish read the user's index (at most MaxSubscriptions rows each).
CREATE TABLE belfry_push_subscriptions (
	endpoint   text COLLATE "C" PRIMARY KEY,
	user_id    text COLLATE "C" NOT NULL,
	p256dh     text NOT NULL,
	auth       text NOT NULL,
	created_at timestamptz NOT NULL
);

CREATE INDEX belfry_push_subscriptions_user
	ON belfry_push_subscriptions (user_id);
