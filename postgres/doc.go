// Package postgres implements belfry.Store on PostgreSQL with pgx, for
// clusters of belfry nodes sharing one database (`--store postgres://…`).
//
// # Schema
//
// The tables (belfry_counters, belfry_notifications, belfry_schema_version)
// are created by embedded migrations, applied by Open under an advisory
// lock, so nodes starting together do not race. They live in the first
// schema of the connection's search_path, which the URL can set
// (…?search_path=belfry).
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
// Create calls are queued for a few writer goroutines. A writer takes every
// call waiting (up to Config.MaxBatch notifications) and commits them as one
// statement: one round trip and one WAL flush for the whole batch instead of
// one per call. Under load the batches grow by themselves; a lone call is
// committed at once, without waiting for company.
//
// # Errors
//
// Lost connections, timeouts, cancelled contexts, a closed Store and
// servers shutting down are belfry.EUNAVAILABLE. Every write is a single
// statement, so a failed one changed nothing, with one exception no client
// can avoid: when the connection breaks while the server commits, the
// outcome is unknown (the notification may exist; a stream will deliver it).
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
// List, After, SetRead and Delete are index range scans on the primary key
// (user_id, id). The unread count walks the user's entries in the partial
// index of unread notifications, so it costs time in proportion to the
// user's unread notifications, not to the inbox.
package postgres
