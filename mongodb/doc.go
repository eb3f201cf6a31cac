// Package mongodb implements belfry.Store on MongoDB (6.0 and later) and on
// FerretDB v1, for `--store mongodb://host/db` (the database is the URI's
// path; "belfry" if it names none). It uses single-document atomic
// operations only: no transactions, no change streams, neither of which
// FerretDB v1 has.
//
// # Collections
//
// notifications holds one document per notification, with the field names
// of the original Laravel model: user_id (a string), message, link,
// read_at (null while unread), created_at, updated_at, plus seq (the
// per-user id; not "id", which laravel-mongodb maps to _id), title,
// category and data (a JSON string, as Laravel's database notifications
// store it). Indexes: unique (user_id, seq), and (user_id, read_at, seq)
// for the unread count and the unread page. notification_counters holds
// one document per user: the last id assigned and a lease.
//
// # Ids in commit order without transactions
//
// The Store contract says: once Create returns id N for a user, every id
// below N of that user is visible to readers, so a stream that resumes
// "after N-1" never skips one. Two rules give this:
//
//  1. An id N is inserted only after id N-1 is known to be stored (or
//     deleted). The writer takes the last id from the user's counter, which
//     is raised only after the ids up to it were inserted; it inserts the
//     user's notifications of a batch with one ordered insertMany, where
//     MongoDB applies each document before the next. When the counter may
//     lag (see below) the writer starts after the highest stored id.
//  2. The unique (user_id, seq) index makes a second insert of the same id
//     fail. So whatever goes wrong (two writers racing, a lease taken from
//     a writer that was only slow), an id is stored at most once, and each
//     id N stored was inserted while N-1 already existed: the stored ids of
//     a user are always 1..M without holes (except deletions), at every
//     instant and as seen by any reader of the primary.
//
// Rule 1 alone would let two writers (two belfry nodes) take the same last
// id and collide on the index; one would get a duplicate-key error after
// possibly inserting part of a call. The lease keeps that from happening in
// normal operation: a writer first sets owner and until on the counters of
// its batch's users (one updateMany on those without an owner; counters of
// new users are inserted already leased), reads them back, inserts, and
// then, in one bulk write, raises each last_id ($max) and removes the
// lease. Users whose counter another writer holds are left for a later
// batch (the writer never waits while holding leases, so nodes cannot
// deadlock). Inside one process the users are split between the writer
// goroutines by hash, so a process never competes with itself.
//
// Failures. A writer that dies or stalls leaves its lease until it
// expires (Config.LeaseTimeout, 30s; until is compared with the local
// clock, so node clocks must agree to well within that). The next writer
// takes it over, marks the counter dirty and starts after
// max(last_id, highest stored seq). A writer whose insert failed in an
// unknown state also leaves the counter dirty. Stats reports
// max(last_id, highest stored seq) whenever the counter is leased or
// dirty. A lease taken from a writer that was merely slow is the one case
// where rule 2 does the work: the slow writer gets a duplicate-key error,
// and what it inserted before stays, in order.
//
// Delete raises the counter to the deleted id ($max) before deleting, so
// an id is never handed out again, even by a repair that looks for the
// highest stored seq.
//
// # Create: what is and is not atomic
//
// Create calls are queued to the writers, which insert every call waiting
// (up to Config.MaxBatch notifications) as one batch: a lease updateMany, a
// find, one insertMany for the whole batch and one bulk write to release,
// whatever the number of calls and users, so a publish to 1,000 users is
// four round trips. Under load the batches grow by themselves.
//
// The contract's "all or none" holds for a call whose notifications are
// all inserted or all refused before any was written, which covers a
// cancelled context (nothing is written if no writer took the call yet)
// and a server that is down. It cannot be guaranteed without transactions
// when the server fails in the middle of an insertMany, or for a call
// whose users another node held and whose retry then failed. Then Create
// returns EUNAVAILABLE, and the notifications that are stored are exactly
// those whose ID is set; an insert whose outcome is unknown (a lost
// connection) is looked up by _id and the rest retried, so nothing is
// stored twice by one call. A publisher that retries should resend only
// the notifications with ID 0.
//
// # Errors
//
// Network errors, server selection timeouts (Config.ConnectTimeout, 5s),
// cancelled or expired contexts, a closed Store, and server errors that
// mean "not now" (not primary, shutting down, interrupted) are
// EUNAVAILABLE. Reads and state changes are bounded by Config.OpTimeout,
// Create by Config.WriteTimeout. Every query filters by user_id.
package mongodb
