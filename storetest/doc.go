// Package storetest is the conformance suite every belfry.Store passes.
//
// A Store package runs it from its own tests:
//
//	func TestStore(t *testing.T) {
//		storetest.Run(t, func(t *testing.T) belfry.Store {
//			s, err := sqlite.Open(t.Context(), filepath.Join(t.TempDir(), "belfry.db"))
//			if err != nil {
//				t.Fatal(err)
//			}
//			t.Cleanup(func() { s.Close() })
//			return s
//		})
//	}
//
// Run calls open once per subtest. open should return a Store on a fresh,
// empty database and register the Store's Close with t.Cleanup (the suite
// never closes a Store it was given). The suite only touches users whose ids
// it makes unique per subtest (a random prefix), Purge aside (see below),
// and idempotency keys named with that prefix, so a store whose database is
// expensive to create, such as PostgreSQL or MongoDB, may instead hand every
// subtest a Store on one shared database, or even the same Store: results do
// not leak between subtests either way.
//
// A store on a server skips visibly when its test variable is unset, and
// may share one database between subtests:
//
//	func TestStore(t *testing.T) {
//		url := os.Getenv("BELFRY_TEST_POSTGRES")
//		if url == "" {
//			t.Skip("BELFRY_TEST_POSTGRES is not set")
//		}
//		storetest.Run(t, func(t *testing.T) belfry.Store {
//			s, err := postgres.Open(t.Context(), url) // the store's own constructor
//			if err != nil {
//				t.Fatal(err)
//			}
//			t.Cleanup(func() { s.Close() })
//			return s
//		})
//		storetest.RunShared(t, func(t *testing.T, n int) []belfry.Store {
//			// n pools on the same database, as n belfry nodes would have
//		})
//	}
//
// RunShared checks what several handles on one database must guarantee
// together (several belfry nodes, or several processes on one SQLite file):
// its open returns n Stores on the same fresh database. Stores that cannot
// be opened twice on one database simply do not call it.
//
// Purge works across all users, so its subtests may also remove what
// earlier subtests left in a shared database (old, expired, or beyond a
// per-user maximum); they only check what they removed of their own users.
// They also Purge at a Now two hours ahead, so a shared database is no
// place for data other than the suite's.
//
// What the suite checks is the contract written on belfry.Store: per-user ids
// 1, 2, 3… in commit order, never skipped as seen by a reader that resumes
// with After while writers race, never reused after Delete; Stats taken
// while writers race describing one moment (its unread count covers exactly
// the ids up to its last id, which a stream's sync relies on, although
// belfry.Store does not spell it out); CreatedAt in UTC
// at millisecond precision; After, List, Stats, SetRead, ReadAll and Delete
// exactly; isolation between users (another user's id is ENOTFOUND and is
// left untouched); and a faithful round trip of every field, including
// unicode, the largest message and data the limits allow, and a 128-character
// user id. Errors are compared by belfry.ErrorCode.
//
// The inbox operations: Stats' unread and unseen counts and ByCategory
// (only categories with something unread or unseen; never nil), leaving
// out archived and expired notifications; reading marks seen (keeping an
// earlier seen time) and unreading leaves it; SeeAll, SetArchived,
// ArchiveAll and ReadAll with every Filter combination change exactly the
// rows they select and count them exactly; Act; List by status, category,
// unread and unseen with Before; preferences and their patch rule
// (belfry.PreferencesPatch.Apply), also under concurrent patches; Publish's
// preference skips and idempotency, also with many identical calls at once
// (on several handles in RunShared); and Purge by expiry, retention and
// per-user maximum, in bounded batches, with expired idempotency keys.
//
// The outbox and the push subscriptions (belfry.Outbox and
// belfry.Subscriptions): Enqueue leaves a stored id alone; Claim takes due,
// unfailed jobs whose lease is free or expired, soonest Due first then ID
// (and returns them in that order), and concurrent Claims, from many
// goroutines and from several handles in RunShared, never return one job
// twice while its lease holds; Settle's Done, Retry and Fail with Next in
// the same transaction, and ECONFLICT for a stale claim (the lease expired
// and another Claim took the job), a job gone or a job never claimed;
// FailedJobs' order (newest Created first, then ID descending) and cursor;
// Revive; Batch.Jobs in Publish (Index, dropped with a skipped
// notification or a replayed or conflicting call, Created defaulting to
// the notification's); OnlyIfSubscribed in Publish, Enqueue and Next;
// Purge's FailedBefore; jobs outliving their notification; and
// subscriptions unique by endpoint, moving between users, limited to
// belfry.MaxSubscriptions per user, listed oldest first. Times are given
// explicitly (Claim's and Revive's now) around the real time; no subtest
// waits for a lease.
//
// Claim is not scoped by user either, so every outbox subtest starts by
// emptying the outbox through the interface (reviving the failed jobs,
// then claiming everything at a far-future time and settling it Done):
// this finds nothing on a fresh database, and removes what earlier
// subtests left on a shared one.
//
// Where belfry.Store leaves it open, the suite takes this reading:
// expired notifications are left alone by SeeAll, ReadAll and ArchiveAll
// (and not counted in what they return), since they no longer exist for
// the user; SeeAll marks archived notifications too (it is not limited to
// the inbox); a replayed Publish lists in Skipped the users the
// original call skipped, whatever their preferences are now; Settle with
// the empty claim of a job never claimed is ECONFLICT (a job must be
// claimed to be settled); and Claim returns its jobs in the order it
// takes them.
//
// Expired notifications are made with Create and an ExpiresAt in the
// past, which a store must accept (the Inbox validates, not the store);
// one subtest waits about a second for a notification to expire.
//
// The suite is sized to run in seconds against a networked database: the
// largest subtest writes about 500 notifications, mostly in batches.
// It does not check durability across a restart or Close semantics; those
// depend on how a store is opened and belong in the store's own tests.
package storetest
