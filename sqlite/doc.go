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
// written, and its primary key (user_id, id) is an index, which List
// (newest first), List with Before, and After (oldest first) walk to find
// exactly the rows they return, at any inbox size. (Until schema version 2
// the table was WITHOUT ROWID, a user's rows stored together; see Page size
// and layout for why that changed.) A partial index on (user_id, id) WHERE
// read_at IS NULL serves List with UnreadOnly. user_counters holds, per
// user, the last id handed out and the unread count; the writer updates it
// in the same transaction as the rows, so ids are contiguous and in commit
// order, a deleted last id is never reused, and Stats reads one row. Times
// are Unix milliseconds. A CHECK keeps empty user ids out even if a caller
// skipped validation.
//
// # Writes: one writer, group commit
//
// SQLite allows one writer at a time. Every write of a Store (Create,
// SetRead, ReadAll, Delete) is queued to a single writer goroutine that owns
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
// caller that waits for each answer keeps its pace. With 1ms, at 5,000
// publishes/s, the server's CPU per publish fell from 177 to 97 µs and the
// median latency rose from 0.7 to 2.2 ms (docs/PERFORMANCE.md). Go's
// timers sleep in whole milliseconds when nothing else wakes the process,
// so an interval below 1ms mostly acts as 1ms on a quiet server.
//
// Consecutive Creates of a batch are applied together: one counter UPSERT
// row per distinct user (bumped by the user's total), then the
// notifications as multi-row INSERTs, in chunks of a power of two up to 256
// rows (2,048 bound parameters, far below the 32,766 of modernc's SQLite),
// each statement prepared once. A run of eight or more notifications of
// one call with the same content (a publish to user_ids) binds the content
// once and two parameters per row. Ids are handed out walking the calls in
// queue order and each call's notifications in slice order, so a call's
// notifications for one user get consecutive ids. These statements are
// INSERT OR FAIL: SQLite then keeps no statement journal, which is safe
// because any failed statement rolls back the whole transaction.
//
// The UPSERT reads a counter back (RETURNING) only for a user whose last
// id the writer does not remember. It remembers the last id of up to
// 131,072 users it wrote for, and forgets them all when a transaction
// rolls back or when PRAGMA data_version, read by the first Create of
// every transaction, says another connection (another process or Store on the
// file) has committed since. Reading the rows back cost as much CPU as
// inserting the notifications.
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
// notification (see the benchmarks). Config.Synchronous "NORMAL" trades the
// power-loss guarantee for less disk work on slow disks.
//
// The write connection checkpoints the WAL into the database file once 16
// MiB of it has grown (wal_autocheckpoint: 1,024 pages of 16 KiB, or 4,096
// in an older 4 KiB file; SQLite's default is 1,000 pages of 4 KiB): a page
// written by many commits is copied back once, and the database file's
// fsync is paid less often. When the writer has answered a batch and finds
// nobody waiting, it runs a PASSIVE checkpoint after every 1,000 writes, so
// that a store with quiet moments rarely checkpoints inside a caller's
// commit. (At 64 publishers, back to back, that idle checkpoint made no
// measurable difference to throughput or CPU; the raised autocheckpoint
// took the CPU per create from about 17 to 15 µs.)
//
// # Page size and layout
//
// A database this package creates has 16 KiB pages, not SQLite's 4 KiB.
// A batch of creates for many users touches a leaf per user in each index
// keyed by user (and, before schema version 2, in the table itself, whose
// rows were kept together by user), and every page it touches is written
// whole to the WAL, with a frame header and two write(2) calls, and later
// copied back by a checkpoint. Larger pages hold more users each, so the
// same batch writes fewer pages and makes fewer system calls. Measured
// with BenchmarkCreateBatch (64 callers, 100 notifications per call for
// consecutive users among 10,000, 1,000 calls, 2-core machine): about
// 10-12 µs of CPU per notification with 16 KiB pages against 14-15 µs
// with 4 KiB, runs interleaved. BenchmarkRead and BenchmarkCreate with
// synchronous FULL did not change beyond noise. One case got worse: a
// single caller with synchronous NORMAL, one notification per commit, took
// about 100 µs of CPU per create instead of 75, as each commit writes whole
// 16 KiB pages and there is no fsync to hide that cost behind.
//
// With the table WITHOUT ROWID (schema version 1) the cost grew with the
// rows each user already had, because a user's newest rows then filled a
// table leaf of their own, written whole per notification:
// BenchmarkCreateBatch/prefill=50 (50 rows per user before the timed
// calls) took 32 µs of CPU per notification against 12 on an empty store.
// Schema version 2 stores the rows in insertion order: new rows fill the
// table's last pages, and what a notification dirties per user is an
// index entry of about 25 bytes. The same benchmark takes about 21 µs at
// 50 rows per user and 10-11 µs on an empty store. The price is on reads:
// a user's rows are spread over the file, and BenchmarkRead's After of 100
// rows took 230-250 µs instead of 190 (its List reads were unchanged, and
// mapping the file for the readers, mmap_size, did not help them).
//
// SQLite fixes the page size when the file is first written, so a database
// created by an older belfry keeps its 4 KiB pages and works as before. To
// convert one, stop belfry and run
//
//	sqlite3 belfry.db 'PRAGMA journal_mode=DELETE' 'PRAGMA page_size=16384' 'VACUUM' 'PRAGMA journal_mode=WAL'
//
// # Reads
//
// List, After and Stats use a separate pool of Config.ReadConns connections
// opened with query_only. In WAL mode readers never wait for the writer and
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
// shared machine move least). On the 2-core shared VM of 2026-11-23 (load
// average 5 to 9 from other jobs), durable creates (synchronous=FULL) from
// 64 concurrent publishers, run back to back against the previous writer
// (one UPSERT and one INSERT per notification, default checkpoints), six
// pairs: 12,700 to 39,600/s, median 34,000/s, at 14.6 to 18.3 µs of CPU
// per create (median 15.3), against 14,600 to 41,300/s, median 29,000/s,
// at 18.2 to 24.5 µs (median 20.2). The CPU gain (a quarter) is steady;
// the throughput gain is within the noise, because the fsync sets the pace:
// with P publishers that each wait for their answer, throughput cannot
// exceed P / (fsync latency + P × CPU per create), and the fsync (1 to 5
// ms here) varies with the other jobs' disk use far more than our CPU. Under
// heavier load (load average 9 to 27) the previous writer ran at 6,000 to
// 23,000/s. A single publisher is one fsync per call (300 to 1,200/s). More
// concurrent publishers (HTTP requests in flight) raise the ceiling. What
// is left of the writer's time is mostly COMMIT: the WAL frames (each
// notification dirties a leaf of the table and of the unread index, one
// per user) and the fsync. After(100) and List(10) at a user with
// 100,000 rows take 0.1 to 0.5 ms, Stats 20 to 50 µs, independent of the
// inbox size.
package sqlite
