// Package postgres implements belfry.Store on PostgreSQL with pgx, for
// clusters of belfry nodes sharing one database (`--store postgres://…`).
//
// # Schema
//
// The tables (belfry_counters, belfry_notifications, belfry_preferences,
// belfry_idempotency_keys, belfry_idempotency_records, belfry_outbox,
// belfry_push_subscriptions, belfry_schema_version) are created by embedded migrations, applied by
// Open under an advisory lock, so nodes starting together do not race.
// They live in the first schema of the connection's search_path, which the
// URL can set (…?search_path=belfry). Migrations only add: a migrated
// database keeps its rows, and nodes of the previous version keep working
// on it during a rolling upgrade. Migration 2 adds nullable columns (no
// table rewrite) and builds two partial indexes, which blocks writes to
// the notifications for as long as a scan of the table takes.
//
// A notification is seen when seen_at or read_at is set: reading marks
// seen, and rows read before seen_at existed (migration 2) count as seen
// without a rewrite of the table. So the unseen notifications are unread
// ones, and the partial index of unread notifications serves both counts.
//
// # Time
//
// Expiry is decided by the Store's clock (Config.Now, time.Now by default),
// not the database's: nodes sharing a database should keep their clocks in
// sync. An expired notification is left out of every read and count, and
// SetRead, SetArchived, Act and Delete answer ENOTFOUND for it, until
// Purge deletes it.
//
// # Ids in commit order
//
// Each user has a counter row holding the last id assigned. Create inserts
// the notifications in the same statement (so the same transaction) that
// increments the counter with INSERT … ON CONFLICT DO UPDATE … RETURNING.
// The update takes the row lock of the counter and holds it until commit.
// A second Create for the same user waits on that lock; when the first
// commits, PostgreSQL re-reads the now committed counter and the second
// takes the ids that follow. So for one user:
//
//   - id N+1 is assigned only after the transaction that assigned N has
//     ended: N+1 cannot commit before N;
//   - a transaction that fails rolls its counter increment back with its
//     rows, so no id is left behind as a hole that might fill later;
//   - PostgreSQL makes a transaction visible to new snapshots before it
//     releases its locks, so a transaction that was waiting for the lock
//     starts, and commits, only once N is visible.
//
// Hence any snapshot that shows id N shows every id below it (except the
// ones since deleted); in particular once Create returns N, every reader
// that starts afterwards does, and a stream that replays "everything after
// N" from the store misses nothing. This holds across
// nodes since the lock is in the database, but only for reads on the
// primary: a lagging replica may show a prefix, never a gap, yet not the
// newest ids.
//
// A Create for many users locks their counters in sorted order, in one
// statement, so two concurrent publishes to overlapping users queue behind
// each other instead of deadlocking.
//
// # Group commit
//
// Create and Publish calls are queued for a few writer goroutines. A writer
// takes every call waiting (up to Config.MaxBatch notifications) and
// commits them as one statement: one round trip and one WAL flush for the
// whole batch instead of one per call. Under load the batches grow by
// themselves; a lone call is committed at once, without waiting for
// company.
//
// The same statement applies the preferences of Publish calls (a
// notification whose user has in-app off for its category is not stored
// and consumes no id; looking a user's preferences up is one probe of a
// primary key, made for Publish calls only) and claims their idempotency
// keys.
//
// # Idempotency keys
//
// A publish claims its key by inserting the key's row, with ON CONFLICT,
// in the statement that stores its notifications; the same statement
// writes the key's record (the users and ids created, and the time) to
// belfry_idempotency_records. A concurrent publish with the same key, on
// any node, finds the uncommitted row and waits for its transaction: if it
// commits, the key is live and the waiting publish stores nothing and
// replays the record (read in a statement of its own, whose snapshot shows
// it), or fails with EIDEMCONFLICT when its body hash differs; if it rolls
// back, the waiting publish claims the key itself. So one key creates one
// set. An expired key's row is taken over by the next publish with its
// name, and Purge deletes expired keys with their records. Two calls with
// one key in one batch are split: the second runs after the first commits.
// Keys are claimed in name order and before any counter is locked, so
// batches sharing keys and users queue instead of deadlocking.
//
// # Preferences
//
// One row per user who changed them. SetPreferences locks the row (an
// upsert whose no-op update takes the lock, inserting the defaults first),
// applies the patch with belfry.PreferencesPatch.Apply and writes the
// result, in one transaction: concurrent patches apply one after the
// other, so switches changed by different patches all survive.
//
// # Purge
//
// Purge deletes expired notifications (found through a partial index on
// expires_at), then old read or archived ones (a partial index on
// created_at of those: a publish writes neither index), then, user by
// user, old unread ones (when asked) and those beyond a per-user maximum,
// at most PurgeQuery.Limit per call. Each delete is one short statement
// that locks its rows with FOR UPDATE SKIP LOCKED: rows that a user is
// changing, or that another node's Purge is deleting, are left for the
// next call rather than waited for, and no lock outlives its statement.
// The user-by-user sweep reads 1,000 users per statement, in user order,
// from where the previous call stopped, with one index probe per user and
// test (a notification at least the maximum below the user's last id; the
// user's oldest unread one), and deletes only for the users that pass.
//
// # Outbox
//
// One row per job in belfry_outbox. Claim is one statement: it selects
// the due jobs in (due, id) order through a partial index of the pending
// ones, locks them with FOR UPDATE SKIP LOCKED and sets a new claim token
// (gen_random_uuid, PostgreSQL 13 or later) and the lease. Another Claim,
// on any node, skips the rows being claimed, and re-reads (and leaves out)
// those claimed since its snapshot: no job is handed out twice while its
// lease holds. Settle changes the row only WHERE id and claim match, so a
// node whose lease expired and was claimed again gets ECONFLICT; with
// Settlement.Next it runs in one transaction with their insert. Failed
// jobs stay, in two partial indexes (by kind for FailedJobs, by creation
// for Purge), until Purge deletes them.
//
// Publish inserts Batch.Jobs in its group-commit statement, so in the
// same transaction as the notifications: a job gets the id of its row's
// notification, or is dropped with it (skipped by preferences, or a
// replayed key). A batch without jobs runs the statement it ran before the
// outbox existed. OnlyIfSubscribed is an EXISTS on the user's push
// subscriptions in the inserting statement.
//
// # Push subscriptions
//
// belfry_push_subscriptions has the endpoint as primary key (an endpoint
// belongs to one user) and an index by user. Subscribe takes a
// transaction advisory lock on its user before it counts the user's other
// endpoints and upserts, so concurrent Subscribes of one user, on any
// node, see each other's rows and the limit of belfry.MaxSubscriptions
// holds. Taking an endpoint over from another user only lowers that
// user's count, so it needs no lock of theirs.
//
// # Errors
//
// Lost connections, timeouts, cancelled contexts, a closed Store and
// servers shutting down are belfry.EUNAVAILABLE. Every write is a single
// statement or transaction, so a failed one changed nothing, with one
// exception no client can avoid: when the connection breaks while the
// server commits, the outcome is unknown (the notification may exist; a
// stream will deliver it; a publish with an idempotency key can safely be
// repeated).
//
// When an established connection breaks, the Store empties its pool: after
// a database restart or a network cut every pooled connection is dead, and
// each would otherwise fail one more call. Reads are then retried at once
// on a new connection; writes are retried only if the statement never left
// the client, so a write caught by the restart fails with EUNAVAILABLE
// rather than risk being applied twice. Deadlock and serialization
// failures are retried too.
//
// # Costs
//
// List, After, SetRead, SetArchived, Act and Delete are index range scans
// on the primary key (user_id, id). Stats (unread and unseen counts, by
// category, and the last id, in one statement so from one snapshot), List
// of unread or unseen notifications, ReadAll and SeeAll walk the user's
// entries in the partial index of unread notifications, so they cost time
// in proportion to the user's unread notifications, not to the inbox.
// Archived unread notifications stay in that index and are filtered out;
// ArchiveAll and List of archived notifications scan the user's part of the
// primary key.
package postgres
