// Package mongodb implements belfry.Store on MongoDB (6.0 and later) and on
// FerretDB v1, for `--store mongodb://host/db` (the database is the URI's
// path; "belfry" if it names none). It uses no transactions and no change
// streams, which FerretDB v1 lacks; and since FerretDB v1 runs an update as
// a read followed by a write (two clients can both "win" a conditional
// update), nothing here relies on an update being atomic either. The one
// primitive relied on is an insert that fails on a unique index.
//
// # Collections
//
// notifications holds one document per notification, with the field names
// of the original Laravel model: user_id (a string), message, link,
// read_at (null while unread), created_at, updated_at, plus seq (the
// per-user id; not "id", which laravel-mongodb maps to _id), title,
// category and data (a JSON string, as Laravel's database notifications
// store it). Indexes: unique (user_id, seq), and (user_id, read_at, seq)
// for the unread count and the unread page. notification_leases holds the
// users being written; notification_counters checkpoints of each user's
// last id.
//
// # Ids in commit order without transactions
//
// The Store contract says: once Create returns id N for a user, every id
// below N of that user is visible to readers, so a stream that resumes
// "after N-1" never skips one. Two rules give this:
//
//  1. An id N is inserted only after id N-1 is known to be stored (or
//     deleted). The writer starts after the user's last recorded id, which
//     is recorded only after the ids up to it were inserted, or after the
//     highest stored id when it finds the record lags; it inserts the
//     user's notifications of a batch with one ordered insertMany, which
//     applies the documents in order.
//  2. The unique (user_id, seq) index makes a second insert of an id
//     fail. So whatever goes wrong (two writers racing, a lease taken from
//     a writer that was only slow, a lost checkpoint), an id is stored at
//     most once, and each id N stored was inserted while N-1 existed: the
//     stored ids of a user are 1..M without holes (except deletions) at
//     every instant, as seen by any reader of the primary.
//
// Rule 1 alone would let two writers (two belfry nodes) start from the same
// last id; one would collide on the index, possibly after inserting part of
// a call. A per-user lease keeps that from happening in normal operation:
// before a batch, its writer inserts one notification_leases document per
// user (_id is the user id, so exactly one insert wins; one insertMany for
// the whole batch). Users whose lease another writer holds are left for a
// later batch: a writer never waits while holding leases, so nodes cannot
// deadlock. Under the leases it reads the users' checkpoints, inserts the
// notifications, inserts a new checkpoint per user (the new last id),
// deletes the checkpoints it read, and deletes its leases. Inside one
// process the users are split between the writer goroutines by hash, so a
// process never competes with itself for a lease.
//
// Checkpoints are inserted, not updated, because on FerretDB a bulk update
// of N users is N read-then-write statements while an insertMany is one.
// Only a lease holder writes them, and it deletes only those it read after
// inserting a higher one, so a user's highest checkpoint never goes down.
//
// Failures. A writer that dies or stalls leaves its leases until they
// expire (Config.LeaseTimeout, 30s; until is set from the writer's clock
// and compared with the taker's, so node clocks must agree to well within
// that); the next writer deletes and takes them. A checkpoint may then lag
// the stored ids: the next writer's first insert for that user collides on
// the unique index before anything of the user went in, so the writer reads
// the highest stored id, records it and retries the user's notifications
// in the next batch. Stats reports max(checkpoint, highest stored id). A
// lease taken from a writer that was merely slow is the one case where rule
// 2 does the work: the slow writer gets a duplicate-key error, and what it
// inserted before stays, in order. (On FerretDB two nodes taking over the
// same expired lease at once may both believe they hold it; rule 2 still
// holds.)
//
// Delete takes the user's lease (waiting for it, within the operation
// timeout), records the deleted id as a checkpoint if it is above the
// user's last id, deletes, and releases: an id is never handed out again,
// even by a repair that looks for the highest stored id.
//
// # Create: what is and is not atomic
//
// Create calls are queued to the writers, which insert every call waiting
// (up to Config.MaxBatch notifications) as one batch, in six statements
// whatever the number of calls and users (lease insertMany, checkpoint
// find, notification insertMany, checkpoint insertMany and deleteMany,
// lease deleteMany). A publish to 1,000 users is one batch per writer.
// Under load the batches grow by themselves.
//
// The contract's "all or none" holds for a call whose notifications are
// all inserted, or all kept out before any was written: a cancelled
// context (nothing is written if no writer took the call yet), a server
// that is down, a collision or a busy lease (those are retried until
// Config.WriteTimeout). It cannot be guaranteed without transactions when
// the server fails in the middle of an insertMany for a call with several
// notifications. Then Create returns EUNAVAILABLE, and exactly the
// notifications with their ID set are stored, and a publisher that retries
// should resend only those with ID 0. An insert whose outcome is unknown (a
// lost connection) is looked up by _id and the rest retried, so one call
// never stores a notification twice; if even the lookup fails, the error
// says the notifications without an ID may or may not be stored.
//
// FerretDB v1 also makes SetRead's "keep the first read time" best effort
// under concurrent SetReads of one notification (its findAndModify is a
// read then a write); on MongoDB it is one atomic findAndModify.
//
// # Errors
//
// Network errors, server selection timeouts (Config.ConnectTimeout, 5s),
// cancelled or expired contexts, a closed Store, and server errors that
// mean "not now" (not primary, shutting down, interrupted) are
// EUNAVAILABLE. Reads, state changes and Ping are bounded by
// Config.OpTimeout, Create by Config.WriteTimeout. Every query filters by
// user_id.
package mongodb
