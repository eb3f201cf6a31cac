// Package sqlite is belfry's embedded default Store: one SQLite file, no
// server to run. It uses modernc.org/sqlite (pure Go, driver name "sqlite").
//
// # Opening
//
// Open(ctx, path) opens or creates the database file and applies the
// migrations embedded in the binary (migrations/*.sql; the applied version
// is kept in the schema_version table, and a database newer than the binary
// is refused). ParseDSN turns the --store value "sqlite:belfry.db" (or
// "sqlite:///var/lib/belfry/belfry.db") into the path. OpenConfig takes a
// Config for the rarer settings. Close commits what is queued, answers its
// callers and closes the file.
//
// The file must be on a local file system: WAL mode relies on shared memory
// between the processes that open it. Several processes (or several Stores
// in one process) may share the file; SQLite's lock serializes their
// writers, and ids stay exact because they are taken from the database
// inside each transaction.
//
// # Schema
//
// notifications is a rowid table: rows are stored in the order they were
// written. Times are Unix milliseconds. A CHECK keeps empty user ids out
// even if a caller skipped validation. Schema version 3 added the inbox
// model: avatar, actions (a JSON array), seen_at, archived_at,
// expires_at, action and acted_at; a notification read before it counts
// as seen since it was read. (Until schema version 2 the table was
// WITHOUT ROWID, a user's rows stored together; see Page size and
// layout.)
//
// A notification has one entry in an index keyed by user, so a publish
// dirties one per-user page:
//
//   - notifications_user (user_id, id, archived_at, seen_at, expires_at,
//     category, read_at) orders each user's rows by id. List (newest
//     first), List with Before, and After (oldest first) walk it to find
//     exactly the rows they return, at any inbox size. It holds every
//     column Stats and the unread and unseen lists filter on, so Stats
//     counts from it alone, and those lists and ReadAll and SeeAll skip
//     the rows that do not match without reading them. Their work is the
//     user's entries, at most --max-per-user; reading marks seen, so a
//     row with seen_at NULL always has read_at NULL, and the store keeps
//     it so (every path that sets read_at sets seen_at where it was NULL).
//     It is not UNIQUE: ids are handed out by the one writer (below).
//
// Until schema version 6 the primary key (user_id, id) was this index,
// and the unread rows had a second one (WHERE read_at IS NULL). Each
// notification was in both, and a commit to users in a random order
// dirtied a leaf of each per user, each written whole to the WAL and
// copied back by a checkpoint: twice the bytes, and about 10 % more CPU
// per publish (docs/PERFORMANCE.md). Stats read only the unread entries,
// so it was cheaper for a user with many read rows; for one whose rows
// are all unread it costs what it did.
//
// Partial indexes keep the rarer queries' work to the rows they are
// about, and cost a new row nothing unless it has an expiry:
//
//   - notifications_archived (user_id, id) WHERE archived_at IS NOT NULL:
//     List of the archived ones.
//   - notifications_expiry (expires_at) WHERE expires_at IS NOT NULL, and
//     notifications_done (created_at) WHERE read_at IS NOT NULL OR
//     archived_at IS NOT NULL: what Purge deletes, oldest first. A new row
//     enters the second only once read or archived.
//
// A user's last id is the id of the user's newest row, one seek in
// notifications_user; ids are handed out in the transaction that inserts the
// rows, so they are contiguous and in commit order. When a deletion or a
// purge takes a user's newest row, id_floors keeps its id (one row per
// such user), so that a deleted or purged last id is never handed out
// again. A publish writes no counter: until schema version 5 a counter
// row per user (user_counters, with the user's row count) was updated in
// every commit, a page of a third per-user B-tree written to the WAL for
// each user of the commit. Purge counts a user's rows when it needs them.
// preferences holds a user's switches as JSON (no row: the defaults) and
// whether any switch turns in-app delivery off, with a partial index on
// those users. idempotency_keys holds one row per keyed publish call:
// the key, the body's hash, the users and ids it created (0 for a user
// skipped), when, and the end of its window.
//
// # The outbox and push subscriptions
//
// Schema version 4 adds them. outbox is a rowid table (payloads, webhook
// bodies, may be kilobytes) with a unique index on the job id. Claim walks
// outbox_due (due_at, id, lease_until) WHERE NOT failed, soonest first,
// skipping leased jobs from the index alone, and leases what it takes in
// one UPDATE … RETURNING: the lease is the claim token and lease_until,
// and Settle's statements match on the id and the token. Each job's token
// is the call's 16 random bytes and the row's rowid. Failed jobs leave
// outbox_due and enter outbox_failed (kind, created_at, id), which
// FailedJobs walks newest first (its cursor, an id, filters), and
// outbox_failed_created, which Purge with FailedBefore walks oldest first.
// A job is never deleted with its notification.
//
// Enqueue, Claim, Settle, Revive, Subscribe and Unsubscribe are writes
// like the others: they go through the writer and share its transactions.
// That is what makes a Publish's Batch.Jobs commit with its notifications
// (inserted after the ids are handed out, each with the id of the
// notification at its Index; none when that notification was skipped or
// the call replayed), Settle's Next commit with the settlement, and two
// Claims, from this Store or another process on the file, never take one
// job: the writer runs one at a time, and BEGIN IMMEDIATE serializes the
// writers of the file. A job with OnlyIfSubscribed is inserted after one
// probe of push_subscriptions_user finds a subscription of its user. The
// outbox statements are OR FAIL, and a job is inserted from VALUES: either
// way SQLite keeps no statement journal, which for an INSERT … SELECT
// copied whole pages to a temporary file and cost more than the insert.
// A Publish without jobs takes no new step; BenchmarkPublish/jobs
// measures two jobs per call.
//
// push_subscriptions has the endpoint as its primary key (an endpoint
// belongs to one user at a time; Subscribe upserts on it, moving it) and
// push_subscriptions_user (user_id, created_at), which lists, counts (the
// limit of belfry.MaxSubscriptions) and probes a user's subscriptions.
//
// # Counts
//
// Stats counts, it does not keep counts: an expired notification leaves
// the counts when its time comes, with no write that could adjust a
// counter. Its one statement reads the last id (the newest row's, or the
// floor) and groups the user's unread, unarchived, unexpired rows of the unread
// index by category, so the counts and the last id are one snapshot. Its
// cost grows with the user's unread notifications (not with all of
// them), about a third of a microsecond each: BenchmarkRead/Stats, a user
// with 34,000 unread, takes 12 ms. Keeping the counts in counter rows
// instead would make Stats constant but put a per-category counter
// update on every publish and every state change, and expiry would still
// need a query to take expired notifications out.
//
// An expired notification (expires_at at or before the store's clock,
// Config.Now) is left out by List, After and Stats, is not found by
// SetRead, SetArchived, Act and Delete, and is left alone by ReadAll,
// SeeAll and ArchiveAll, until Purge deletes it.
//
// # Writes: one writer, group commit
//
// SQLite allows one writer at a time. Every write of a Store (Create,
// Publish, each state change, SetPreferences, Purge, the outbox's and the
// subscriptions') is queued to a single
// writer goroutine that owns
// the only write connection: no two of our connections ever contend for the
// lock, so there is no SQLITE_BUSY inside a process. The writer takes the
// first queued call and everything else already waiting (up to
// Config.MaxBatch notifications), applies them in one BEGIN IMMEDIATE
// transaction, commits once and then answers every caller. Concurrent
// publishers therefore share one fsync: durable throughput grows with
// concurrency instead of being one fsync per notification. Before
// committing a batch that looks complete, the writer yields to the
// scheduler twice, so callers answered by the previous commit can queue
// again and join this one; an idle store pays only that trip through the
// scheduler.
//
// Config.CommitInterval (off by default) goes further when callers are
// concurrent: a batch is held, taking whatever arrives, until that long
// has passed since the last commit began. Each commit has fixed work
// whatever it holds (BEGIN and COMMIT, the WAL frames' headers and write
// calls, the file locks, one fsync), and at a steady few thousand calls a
// second without it the writer commits one or two calls at a time. A
// batch of one call after a commit of one call is never held, so a lone
// caller that waits for each answer keeps its pace. It trades latency for
// CPU: fewer, larger commits cost less per notification, but each caller
// waits up to the interval longer (docs/PERFORMANCE.md has the figures).
// Go's timers sleep in whole milliseconds when nothing else wakes the
// process, so an interval below 1ms mostly acts as 1ms on a quiet server.
//
// Consecutive Creates and Publishes of a batch are applied together (a
// run): the last id of each distinct user, then the notifications as
// multi-row INSERTs, in chunks of a power of two up to 256
// rows (2,048 bound parameters, far below the 32,766 of modernc's SQLite),
// each statement prepared once. A run of eight or more notifications of
// one call with the same content (a publish to user_ids) binds the content
// once and two parameters per row. Ids are handed out walking the calls in
// queue order and each call's notifications in slice order, so a call's
// notifications for one user get consecutive ids. These statements are
// INSERT OR FAIL: SQLite then keeps no statement journal, which is safe
// because any failed statement rolls back the whole transaction.
//
// A Publish is a Create that applies preferences and its idempotency
// key, inside the writer's transaction, before ids are handed out. A
// keyed call first looks its key up: within the window, the same hash is
// answered from the record (ids, created_at, the users skipped then) and
// stores nothing, another hash is EIDEMCONFLICT. Then one probe of the
// partial index says whether any user turned in-app delivery off; only
// if so are the run's users' preferences read (chunked like the inserts)
// and the notifications of users whose switch for the category is off
// left out, their ids not consumed. The record of a keyed call is
// written after its ids, in the same transaction. A run never holds two
// calls with one key (the second starts a new run and sees the first's
// record), and BEGIN IMMEDIATE serializes the writers of other Stores
// and processes on the file: of concurrent identical calls, one creates
// and the others replay it.
//
// Purge deletes one batch of at most Limit rows per call in one writer
// transaction: expired rows through notifications_expiry, then read or
// archived rows created before the cut through notifications_done, then
// (RetainUnread) unread ones, then each user's oldest beyond the maximum;
// and up to Limit expired idempotency keys, and (FailedBefore) up to Limit
// failed outbox jobs. The unread rows and the users
// over the maximum can only be found by a scan, which runs first on a
// read connection, beside the writer, and hands the writer candidates it
// checks again. The caller repeats while a full batch comes back, so the
// writer is never held for more than one batch. The users over the
// maximum are found by counting the rows of every user in
// notifications_user, on a read connection, about 60 ns a row (BenchmarkRead/
// PurgeMaxPerUser: 11.5 ms for 200,000 rows), once per batch of a
// retention pass (every minute by default). The writer then counts each
// candidate's rows again, up to 100,000 rows a batch (about 5 ms); the
// candidates past that wait for the next pass.
//
// A last id is read from the database (the newest row's id or the floor,
// a chunk of users per statement) only for a user the writer does not
// remember. It remembers the last id of up to 131,072 users it wrote
// for, and forgets them all when a transaction rolls back or when PRAGMA
// data_version, read by the first Create of every transaction, says
// another connection (another process or Store on the file) has
// committed since. Reading last ids back, one row per user through the
// driver, costs about as much as inserting the notifications.
//
// A call that fails with a database error is answered with EUNAVAILABLE
// and the transaction is redone without it, so one bad call does not fail
// the others it was batched with (when the failing statement served
// several Creates, the transaction is first redone one call at a time to
// find it). A call whose context has ended before the
// writer reaches it is answered with EUNAVAILABLE and not applied; one
// whose context ends while it is being committed may still be stored (its
// caller gets EUNAVAILABLE, as with any lost database answer).
//
// # Durability: WAL with synchronous=FULL
//
// The requirement is that an acknowledged notification is never lost when
// the process is killed. WAL with synchronous=NORMAL already meets that:
// COMMIT has written the frames to the WAL file, and the OS keeps them after
// the process dies. But NORMAL does not fsync at COMMIT, so an OS crash or
// a power loss can take back the last acknowledged commits, and with them
// ids that clients may already have seen (and that would then be handed out
// again). The default is therefore synchronous=FULL: the WAL is fsynced
// before COMMIT returns, so "acknowledged" means "on disk". Group commit is
// what makes FULL affordable: the fsync is paid once per batch, not per
// notification. Config.Synchronous "NORMAL" trades the power-loss
// guarantee for less disk work on slow disks.
//
// The write connection checkpoints the WAL into the database file once 16
// MiB of it has grown (wal_autocheckpoint: 4,096 pages of 4 KiB, or 1,024
// in a 16 KiB file of an earlier belfry; SQLite's default is 1,000 pages): a page
// written by many commits is copied back once, and the database file's
// fsync is paid less often. When the writer has answered a batch and finds
// nobody waiting, it runs a PASSIVE checkpoint after every 1,000 writes, so
// that a store with quiet moments rarely checkpoints inside a caller's
// commit.
//
// # Page size and layout
//
// A database this package creates has SQLite's 4 KiB pages. A commit
// touches a leaf of notifications_user per user, and every page it
// touches is written whole to the WAL, with a frame header and two
// write(2) calls, then fsynced, and later copied back by a checkpoint.
// The commit's fsync takes longer the more bytes it flushes, and the
// single writer waits for it before the next commit, so under load the
// fsync sets the rate. When the users of a commit are scattered, as an
// application's are, 4 KiB pages wrote 10 KB per notification where 16
// KiB pages wrote 26 KB (both with the two per-user indexes before schema
// version 6; one index writes 5.7 KB), and publishes/s rose by about a
// fifth. 16 KiB pages (the default of earlier versions) still do better
// when a commit's users sit side by side in the index, as in requests of
// 100 consecutive users: about 5–9 % more notifications/s.
// docs/PERFORMANCE.md has the figures.
//
// Schema version 2 stores the rows in insertion order (a rowid table).
// With the rows of a user kept together (WITHOUT ROWID, version 1), the
// cost of a create grew with the rows the user already had: the user's
// newest rows filled a table leaf of their own, written whole per
// notification. Now new rows fill the table's last pages, and what a
// notification dirties per user is an index entry of about 25 bytes. The
// price is on reads: a user's rows are spread over the file, so reading a
// page of them touches more pages than before. docs/PERFORMANCE.md has the
// figures of both choices.
//
// SQLite fixes the page size when the file is first written, so a database
// created by an older belfry keeps its 16 KiB pages and works as before.
// To convert one, stop belfry and run
//
//	sqlite3 belfry.db 'PRAGMA journal_mode=DELETE' 'PRAGMA page_size=4096' 'VACUUM' 'PRAGMA journal_mode=WAL'
//
// # Reads
//
// List, After, Stats, Preferences, FailedJobs and SubscriptionsOf use a
// separate pool of Config.ReadConns connections opened with query_only.
// In WAL mode readers never wait for the writer and
// each query reads the latest committed snapshot: once Create has returned
// id N, every reader sees N and everything below it.
//
// # Errors
//
// A database or file error is EUNAVAILABLE (the cause is kept for logs); a
// missing id, or another user's, is ENOTFOUND; a bad path or setting given
// to Open is EINVALID. After Close every call is EUNAVAILABLE.
//
// # Performance
//
// go test -bench . -run '^$' ./sqlite/ reports notifications/s and the
// process CPU time per create (cpu-ns/op, the figure that other jobs on a
// shared machine move least). Durable throughput is set by the fsync: with
// P publishers that each wait for their answer it cannot exceed
// P / (fsync latency + P × CPU per create), so a single publisher is one
// fsync per call and more concurrent publishers (HTTP requests in flight)
// raise the ceiling. List and After cost the same at any inbox size;
// Stats grows with the user's unread notifications (see Counts).
// BenchmarkPublish measures Publish with preferences and keys.
// docs/PERFORMANCE.md has the figures and how they were measured.
package sqlite
