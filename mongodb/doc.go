// Package mongodb implements belfry.Store on MongoDB (6.0 and later) and on
// FerretDB v1, for `--store mongodb://host/db` (the database is the URI's
// path; "belfry" if it names none). It uses no transactions and no change
// streams, which FerretDB v1 lacks; and since FerretDB v1 runs an update as
// a read followed by a write (two clients can both "win" a conditional
// update), the ids and the idempotency keys rely on no update being
// atomic either: their one primitive is an insert that fails on a unique
// index. The state changes are atomic per document on MongoDB, and what
// FerretDB weakens is said below.
//
// # Collections
//
// notifications holds one document per notification, with the field names
// of the original Laravel model: user_id (a string), message, link,
// read_at (null while unread), created_at, updated_at, plus seq (the
// per-user id; not "id", which laravel-mongodb maps to _id), title,
// category, data (a JSON string, as Laravel's database notifications
// store it), avatar, actions (an array of {id, label, url}), expires_at,
// seen_at, archived_at, action and acted_at, and for a notification of an
// idempotent publish idempotency_key and idempotency_slot. Optional fields
// are absent when unset (seen_at is never stored as null: the updates
// that set it keep an earlier time with $min, which a null would defeat).
//
// Indexes: unique (user_id, seq); (user_id, read_at, seq) and (user_id,
// seen_at, seq) for the counts, the unread and unseen pages and the bulk
// changes; expires_at (sparse) and created_at for Purge; unique sparse
// idempotency_slot. notification_leases holds the users being written;
// notification_counters checkpoints of each user's last id;
// notification_preferences one document per user who set preferences;
// idempotency_keys one document per publish key (index on expires_at).
// outbox holds one document per job (_id is the job id; indexes (failed,
// due, _id) for Claim, (failed, kind, created, _id) for FailedJobs,
// (failed, created) for Purge), outbox_claims the claims on jobs (index
// on job), push_subscriptions one document per endpoint (_id is the
// endpoint; index (user_id, created_at, _id)).
//
// Migration: Open creates whatever index is missing (one createIndexes
// per index; a no-op when it exists) and nothing else. A document written
// by an older belfry, or by the Laravel app, lacks the newer fields and
// reads as unseen, unarchived, without expiry, avatar or actions: every
// query matches a missing field as it matches null.
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
// Under load the batches grow by themselves. A call's created_at is the
// time it was accepted, the same for all its notifications.
//
// The contract's "all or none" holds for a call whose notifications are
// all inserted, or all kept out before any was written: a cancelled
// context (nothing is written if no writer took the call yet), a server
// that is down, a collision or a busy lease (those are retried until
// Config.WriteTimeout). It cannot be guaranteed without transactions when
// the server fails in the middle of an insertMany for a call with several
// notifications. Then Create returns EUNAVAILABLE, and exactly the
// notifications with their ID set are stored, and a publisher that retries
// should resend only those with ID 0 (or use an idempotency key, below).
// An insert whose outcome is unknown (a lost connection) is looked up by
// _id and the rest retried, so one call never stores a notification
// twice; if even the lookup fails, the error says the notifications
// without an ID may or may not be stored.
//
// # Publish: preferences and idempotency keys
//
// Publish reads the preferences of all the batch's users in one query and
// drops the notifications whose user has in-app off for the category
// before anything is written.
//
// With an Idempotency-Key, the one atomic primitive (a unique insert) does
// the work twice. First the key: the caller inserts its idempotency_keys
// document (_id is the key) carrying the body's hash, state pending, a
// fresh claim id, and the plan (each position's user, and the positions
// the preferences skipped). Exactly one insert wins. Then the
// notifications: each carries idempotency_slot "<claim>:<position>" under
// a unique index, so no position of a claim is ever stored twice, whoever
// inserts it and however many times. The winner creates them through the
// writers as Create does, then records the ids and created_at of every
// position on the key document (state done).
//
// A caller whose insert loses reads the document: another hash is
// EIDEMCONFLICT; a record is replayed (IDs, CreatedAt and ExpiresAt are
// filled from it, the positions not created are listed in Skipped, and
// nothing is stored); a pending claim is polled until it is recorded. A
// pending claim older than Config.WriteTimeout (its writer died, or its
// Create failed: a writer that fails marks its claim so at once) is taken
// over: the taker looks up which slots are stored, creates the missing
// ones from the claim's plan (not from preferences read now), and records.
// Two takers at once, or a taker racing a writer that was only slow,
// cannot create a position twice: the writers drop a tagged notification
// whose slot is stored, and an insert that meets one collides on the
// index and is dropped on retry. A key whose expires_at has passed is
// deleted and claimed anew, with a new claim id. Nothing here depends on
// node clocks agreeing except when a claim counts as stale.
//
// What is not covered: a notification of the call that its user deletes
// between its insert and the record reads as skipped in the replay (and
// is created again if, in that window, the writer also died).
//
// # Inbox state without transactions
//
// Each single change (SetRead, SetArchived) is one findAndModify whose
// filter holds its condition (read_at null, archived_at null), so a
// notification keeps its first read and archive times; reading sets
// seen_at with $min. Each bulk change (ReadAll, SeeAll, ArchiveAll) is one
// updateMany. Act reads the notification, then updates it on condition
// that no action was taken and the read state is unchanged, and starts
// again if the condition fails. On MongoDB all of these are atomic per
// document. FerretDB v1 runs findAndModify and each document of an
// updateMany as a read then a write: concurrent changes of one
// notification are then last-writer-wins (two different actions at the
// same instant may both be answered as taken; a concurrent read may
// replace a first read time), and a bulk change racing a single change
// may overwrite it.
//
// Expired notifications (expires_at at or before Config.Now) are left out
// of every query, including the single changes (ENOTFOUND) and the bulk
// ones, until Purge deletes them.
//
// Stats reads the last id first (the user's highest checkpoint, or a
// higher stored id), then counts the unread and unseen notifications up
// to it, not archived and not expired, in one aggregation grouped by
// category and by the BSON type of read_at and seen_at (FerretDB v1 has
// $type but no $cond). So the counts and the last id describe one moment
// as far as ids go: a notification inserted meanwhile is in neither (a
// stream adds it when its new-notification arrives). Each notification is
// read once, so the unread and unseen counts agree with each other; state
// changes of other notifications landing during the aggregation may or
// may not be in it (there is no snapshot without a transaction), and the
// state event of each such change carries counts read after it, so a
// stream is exact again at the next event.
//
// # Preferences
//
// notification_preferences holds {_id: user, default: {in_app, push,
// webhook}, categories: {name: {…}}}. Category names may contain '.' and
// '$', which cannot appear in a field path: they are stored
// percent-escaped ('%' → %25, '.' → %2E, '$' → %24), which is reversible.
// SetPreferences turns the patch into one findAndModify whose $set and
// $unset name only the switches (and removed categories) it gives; a new
// category is set whole on condition that it is still absent and the
// default is unchanged, and the patch is planned again if that fails. On
// MongoDB, concurrent patches of different switches of one user all stay.
// FerretDB v1's findAndModify rewrites the whole document, which lost
// patches between nodes in tests, so SetPreferences also holds the user's
// lease (as Delete does): patches of one user then run one at a time on
// any server, unless a holder stalls past Config.LeaseTimeout.
//
// # Purge
//
// Purge takes one batch of at most Limit: expired notifications (the
// sparse expires_at index), then those older than RetainBefore that are
// read or archived (or all), then each user's oldest beyond MaxPerUser
// (found with one $group over the collection: Purge is a background job).
// Each step is a find with a limit and one deleteMany by _id. Before
// deleting it inserts a checkpoint for a user whose counter lags the
// highest id deleted, so no deleted id is handed out again. Expired
// idempotency keys go too, at most Limit per call, and with FailedBefore
// at most Limit failed jobs created before it. A notification its user
// deletes between Purge's find and its delete is reported by both; the
// jobs of deleted notifications stay (the runner drops them).
//
// # Outbox
//
// Enqueue is one unordered insertMany whose duplicate-key errors (ids
// stored already) are ignored. A claim cannot be a bare findOneAndUpdate:
// FerretDB v1 runs it as a query then a write by _id, and in a test with
// nine claimers on three clients it handed 58 of 60 jobs out twice. Each
// job counts its claims (gen); a claimer inserts outbox_claims
// "<id>/<gen+1>", which exactly one insert wins, and only the winner
// updates the job, on condition that gen is unchanged and the job still
// claimable. A claim number whose winner died first is passed over once
// its lease has ended (see Store.Claim). Settle checks the claim, inserts
// Next, then deletes or updates the job on condition that it still
// carries the claim: a crash between the two can only duplicate work.
// Publish enqueues a batch's jobs once their notifications are stored
// (see publishJobs); with an idempotency key they are in the claim's plan,
// so a takeover enqueues them and a replay does not.
//
// # Push subscriptions
//
// Subscribe holds the user's lease (as Delete does) while it counts the
// user's other subscriptions and upserts the endpoint, so ELIMIT holds
// across nodes on either server. Unsubscribe deletes on condition that the
// endpoint is the user's.
//
// # Errors
//
// Network errors, server selection timeouts (Config.ConnectTimeout, 5s),
// cancelled or expired contexts, a closed Store, and server errors that
// mean "not now" (not primary, shutting down, interrupted) are
// EUNAVAILABLE. Each read, state change, preferences call, idempotency
// key statement and Ping is bounded by Config.OpTimeout, Create by
// Config.WriteTimeout; Publish waits for a pending key at most about the
// write timeout before it takes the key over. Every query of notifications
// filters by user_id, except Purge's, which works across users.
package mongodb
