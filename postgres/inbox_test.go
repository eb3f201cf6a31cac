package postgres_test

import (
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"os"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/belfry/belfry"
	"github.com/belfry/belfry/postgres"
	"github.com/jackc/pgx/v5"
)

// connect opens a plain connection to dbURL, closed when the test ends.
func connect(t *testing.T, dbURL string) *pgx.Conn {
	t.Helper()
	conn, err := pgx.Connect(t.Context(), dbURL)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close(context.Background()) })
	return conn
}

func exec(t *testing.T, conn *pgx.Conn, sql string, args ...any) {
	t.Helper()
	if _, err := conn.Exec(t.Context(), sql, args...); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
}

// eventually polls cond until it holds, failing the test after a deadline.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond) // polling, not waiting for an outcome
	}
}

// TestMigrateKeepsData upgrades a database holding version 1's schema and
// rows: every row keeps its meaning, and a row read before seen_at existed
// counts as seen.
func TestMigrateKeepsData(t *testing.T) {
	t.Parallel()
	dbURL := freshSchema(t)
	conn := connect(t, dbURL)
	v1, err := os.ReadFile("migrations/001_init.sql")
	if err != nil {
		t.Fatal(err)
	}
	exec(t, conn, string(v1))
	exec(t, conn, `CREATE TABLE belfry_schema_version (version integer PRIMARY KEY,
		name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())`)
	exec(t, conn, `INSERT INTO belfry_schema_version (version, name) VALUES (1, '001_init.sql')`)
	readAt := time.Date(2026, 1, 2, 3, 4, 5, 6e6, time.UTC)
	created := readAt.Add(-time.Hour)
	exec(t, conn, `INSERT INTO belfry_notifications (user_id, id, message, category, data, read_at, created_at)
		VALUES ('u', 1, 'one', NULL, '{"b":1,"a":2}', NULL, $1), ('u', 2, 'two', 'billing', NULL, $2, $1),
			('u', 3, 'three', 'billing', NULL, NULL, $1)`, created, readAt)
	exec(t, conn, `INSERT INTO belfry_counters VALUES ('u', 3)`)

	s := openStore(t, dbURL)
	ctx := t.Context()
	got, err := s.After(ctx, "u", 0, 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 3 || got[0].Message != "one" || string(got[0].Data) != `{"b":1,"a":2}` ||
		got[1].Category != "billing" || !got[2].CreatedAt.Equal(created) {
		t.Fatalf("after the migration: %v", got)
	}
	if got[1].SeenAt == nil || !got[1].SeenAt.Equal(readAt) || got[0].SeenAt != nil {
		t.Fatalf("seen_at of the read row %v, of an unread one %v; want its read_at and nil",
			got[1].SeenAt, got[0].SeenAt)
	}
	for _, n := range got {
		if n.ArchivedAt != nil || n.ExpiresAt != nil || n.Actions != nil || n.Action != "" || n.Avatar != "" {
			t.Fatalf("new fields of a migrated row: %+v", n)
		}
	}
	st, err := s.Stats(ctx, "u")
	if err != nil {
		t.Fatal(err)
	}
	if st.Unread != 2 || st.Unseen != 2 || st.LastID != 3 ||
		st.ByCategory["billing"] != (belfry.Counts{Unread: 1, Unseen: 1}) || len(st.ByCategory) != 1 {
		t.Fatalf("Stats after the migration: %+v", st)
	}
	// Unreading the row read before keeps its seen time.
	n, err := s.SetRead(ctx, "u", 2, nil)
	if err != nil {
		t.Fatal(err)
	}
	if n.ReadAt != nil || n.SeenAt == nil || !n.SeenAt.Equal(readAt) {
		t.Fatalf("unread after the migration: read_at %v seen_at %v, want nil and %v", n.ReadAt, n.SeenAt, readAt)
	}
	if st, _ = s.Stats(ctx, "u"); st.Unread != 3 || st.Unseen != 2 {
		t.Fatalf("Stats after unreading: %+v, want 3 unread, 2 unseen", st)
	}
	more := note("u", "four")
	if err := s.Create(ctx, []*belfry.Notification{more}); err != nil || more.ID != 4 {
		t.Fatalf("Create after the migration: id %d, %v; want 4", more.ID, err)
	}
	var versions int
	if err := conn.QueryRow(ctx, `SELECT count(*) FROM belfry_schema_version`).Scan(&versions); err != nil {
		t.Fatal(err)
	}
	if versions != migrationCount(t) {
		t.Fatalf("%d schema versions, want %d", versions, migrationCount(t))
	}
}

// TestPublishKeyWaitsForClaimer holds a key claimed by a transaction that
// has not ended, as a publish on another node would: a Publish with the
// key waits for it, then replays its record if it commits, or claims the
// key itself if it rolls back.
func TestPublishKeyWaitsForClaimer(t *testing.T) {
	t.Parallel()
	for _, commit := range []bool{true, false} {
		t.Run(fmt.Sprintf("commit=%t", commit), func(t *testing.T) {
			t.Parallel()
			dbURL := freshSchema(t)
			s := openStore(t, dbURL)
			conn := connect(t, dbURL)
			ctx := t.Context()
			hash := sha256.Sum256([]byte("body"))
			created := belfry.Now(time.Now().Add(-time.Minute))

			tx, err := conn.Begin(ctx)
			if err != nil {
				t.Fatal(err)
			}
			defer tx.Rollback(context.Background())
			if _, err := tx.Exec(ctx, `INSERT INTO belfry_idempotency_keys (name, hash, expires_at)
				VALUES ('k', $1, $2)`, hash[:], time.Now().Add(time.Hour)); err != nil {
				t.Fatal(err)
			}
			if _, err := tx.Exec(ctx, `INSERT INTO belfry_idempotency_records (name, created_at, users, ids)
				VALUES ('k', $1, '{u}', '{7}')`, created); err != nil {
				t.Fatal(err)
			}
			var xid string
			if err := tx.QueryRow(ctx, `SELECT pg_current_xact_id()::text`).Scan(&xid); err != nil {
				t.Fatal(err)
			}

			b := &belfry.Batch{Notifications: []*belfry.Notification{note("u", "m"), note("v", "m")},
				Key: &belfry.IdempotencyKey{Name: "k", Hash: hash, Expires: time.Now().Add(time.Hour)}}
			done := make(chan error, 1)
			go func() { done <- s.Publish(ctx, b) }()
			probe := connect(t, dbURL)
			eventually(t, "the Publish to wait for the claimer", func() bool {
				var waiting int
				err := probe.QueryRow(ctx, `SELECT count(*) FROM pg_locks
					WHERE locktype = 'transactionid' AND NOT granted AND transactionid::text = $1`,
					xid).Scan(&waiting)
				return err == nil && waiting > 0
			})
			select {
			case err := <-done:
				t.Fatalf("Publish returned (%v) while the claimer's transaction was open", err)
			default:
			}
			if commit {
				err = tx.Commit(ctx)
			} else {
				err = tx.Rollback(ctx)
			}
			if err != nil {
				t.Fatal(err)
			}
			if err := <-done; err != nil {
				t.Fatal(err)
			}
			if commit {
				if !b.Replayed || len(b.Notifications) != 1 || b.Notifications[0].ID != 7 ||
					!b.Notifications[0].CreatedAt.Equal(created) || fmt.Sprint(b.Skipped) != "[v]" {
					t.Fatalf("after the claimer committed: %+v (skipped %v); want its record replayed",
						b.Notifications, b.Skipped)
				}
				if st, _ := s.Stats(ctx, "u"); st.LastID != 0 {
					t.Fatalf("a replay stored a notification: %+v", st)
				}
				return
			}
			if b.Replayed || len(b.Notifications) != 2 || b.Notifications[0].ID != 1 || b.Notifications[1].ID != 1 {
				t.Fatalf("after the claimer rolled back: replayed %t, %+v; want both stored", b.Replayed, b.Notifications)
			}
			again := &belfry.Batch{Notifications: []*belfry.Notification{note("u", "m"), note("v", "m")}, Key: b.Key}
			if err := s.Publish(ctx, again); err != nil || !again.Replayed || again.Notifications[1].ID != 1 {
				t.Fatalf("the key claimed after the rollback is not replayed: %v %+v", err, again)
			}
		})
	}
}

// TestPublishKeysInOneBatch sends, at once through one writer (so in
// shared group commits), many publishes with a few keys, some with the
// same key in one batch, and one with data the database refuses: each key
// creates one set, and the refused call claims nothing.
func TestPublishKeysInOneBatch(t *testing.T) {
	t.Parallel()
	dbURL := freshSchema(t)
	s, err := postgres.OpenConfig(t.Context(), postgres.Config{URL: dbURL, Writers: 1})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	ctx := t.Context()
	const keys, callsPerKey = 4, 12
	type result struct {
		key     int
		ids     []int64
		replay  bool
		skipped []string
		err     error
	}
	results := make(chan result, keys*callsPerKey+1)
	var wg sync.WaitGroup
	off := false
	if _, err := s.SetPreferences(ctx, "b", belfry.PreferencesPatch{Default: &belfry.ChannelsPatch{InApp: &off}}); err != nil {
		t.Fatal(err)
	}
	for k := range keys {
		for range callsPerKey {
			wg.Go(func() {
				b := &belfry.Batch{
					Notifications: []*belfry.Notification{note("a", "m"), note("b", "m"), note(fmt.Sprint("c", k), "m")},
					Key: &belfry.IdempotencyKey{Name: fmt.Sprint("key", k), Hash: sha256.Sum256([]byte{byte(k)}),
						Expires: time.Now().Add(time.Hour)}}
				err := s.Publish(ctx, b)
				var ids []int64
				for _, n := range b.Notifications {
					ids = append(ids, n.ID)
				}
				results <- result{k, ids, b.Replayed, b.Skipped, err}
			})
		}
	}
	bad := &belfry.Batch{Notifications: []*belfry.Notification{{UserID: "a", Message: "m", Data: json.RawMessage(`{bad`)}},
		Key: &belfry.IdempotencyKey{Name: "refused", Expires: time.Now().Add(time.Hour)}}
	wg.Go(func() {
		err := s.Publish(ctx, bad)
		results <- result{key: -1, err: err}
	})
	wg.Wait()
	close(results)
	firsts := map[int]int{}
	idsOf := map[int]string{}
	for r := range results {
		if r.key < 0 {
			wantCode(t, "Publish with refused data", r.err, belfry.EINVALID)
			continue
		}
		if r.err != nil {
			t.Fatalf("key %d: %v", r.key, r.err)
		}
		if !r.replay {
			firsts[r.key]++
		}
		if fmt.Sprint(r.skipped) != "[b]" || len(r.ids) != 2 {
			t.Fatalf("key %d: ids %v skipped %v; want two stored and b skipped", r.key, r.ids, r.skipped)
		}
		if prev, ok := idsOf[r.key]; ok && prev != fmt.Sprint(r.ids) {
			t.Fatalf("key %d: ids %v and %s", r.key, r.ids, prev)
		}
		idsOf[r.key] = fmt.Sprint(r.ids)
	}
	for k := range keys {
		if firsts[k] != 1 {
			t.Fatalf("key %d created %d sets, want 1", k, firsts[k])
		}
	}
	if st, _ := s.Stats(ctx, "a"); st.LastID != keys {
		t.Fatalf("user a has last id %d, want %d (one per key)", st.LastID, keys)
	}
	good := &belfry.Batch{Notifications: []*belfry.Notification{note("a", "fine")}, Key: bad.Key}
	if err := s.Publish(ctx, good); err != nil || good.Replayed || good.Notifications[0].ID != keys+1 {
		t.Fatalf("the refused call's key, used again: %v %+v; want a fresh set", err, good)
	}
}

// TestPurgeSkipsLockedRows: Purge never waits for a row another
// transaction holds; it leaves it for a later call.
func TestPurgeSkipsLockedRows(t *testing.T) {
	t.Parallel()
	dbURL := freshSchema(t)
	s := openStore(t, dbURL)
	ctx := t.Context()
	past := time.Now().Add(-time.Minute)
	ns := []*belfry.Notification{note("u", "1"), note("u", "2"), note("u", "3")}
	for _, n := range ns {
		n.ExpiresAt = &past
	}
	if err := s.Create(ctx, ns); err != nil {
		t.Fatal(err)
	}
	conn := connect(t, dbURL)
	tx, err := conn.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback(context.Background())
	if _, err := tx.Exec(ctx, `SELECT 1 FROM belfry_notifications WHERE user_id = 'u' AND id = 2 FOR UPDATE`); err != nil {
		t.Fatal(err)
	}
	pctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	q := belfry.PurgeQuery{Now: time.Now(), Limit: 10}
	got, err := s.Purge(pctx, q)
	if err != nil {
		t.Fatalf("Purge with a row locked: %v", err)
	}
	slices.SortFunc(got, func(a, b belfry.Removed) int { return cmp.Compare(a.ID, b.ID) })
	if fmt.Sprint(got) != "[{u 1 expired} {u 3 expired}]" {
		t.Fatalf("Purge with id 2 locked removed %v", got)
	}
	if err := tx.Rollback(ctx); err != nil {
		t.Fatal(err)
	}
	if got, err = s.Purge(ctx, q); err != nil || fmt.Sprint(got) != "[{u 2 expired}]" {
		t.Fatalf("Purge once the lock is gone: %v, %v", got, err)
	}
}

// TestPurgeMaxPerUserSweep trims users over many windows of the sweep, in
// calls smaller than the work: the calls repeated while full cover every
// user exactly once, and users whose deleted ids leave them under the
// maximum keep everything.
func TestPurgeMaxPerUserSweep(t *testing.T) {
	t.Parallel()
	s := openStore(t, freshSchema(t))
	postgres.SetSweepWindow(s, 30)
	ctx := t.Context()
	const users = 250
	var ns []*belfry.Notification
	for range 3 {
		for u := range users {
			ns = append(ns, note(fmt.Sprintf("u%03d", u), "m"))
		}
	}
	if err := s.Create(ctx, ns); err != nil {
		t.Fatal(err)
	}
	// u000 deleted its second notification: two left, at the maximum.
	if err := s.Delete(ctx, "u000", 2); err != nil {
		t.Fatal(err)
	}
	removed := map[string][]int64{}
	total := 0
	for calls := 0; ; calls++ {
		if calls > 100 {
			t.Fatal("Purge keeps returning full batches")
		}
		rs, err := s.Purge(ctx, belfry.PurgeQuery{MaxPerUser: 2, Limit: 40})
		if err != nil {
			t.Fatal(err)
		}
		if len(rs) > 40 {
			t.Fatalf("one Purge removed %d, limit 40", len(rs))
		}
		for _, r := range rs {
			if r.Reason != belfry.ReasonRetention {
				t.Fatalf("removed %+v: want reason retention", r)
			}
			removed[r.UserID] = append(removed[r.UserID], r.ID)
			total++
		}
		if len(rs) < 40 {
			break
		}
	}
	if total != users-1 || removed["u000"] != nil {
		t.Fatalf("removed %d notifications (u000: %v), want %d, none of u000", total, removed["u000"], users-1)
	}
	for u := 1; u < users; u++ {
		if got := fmt.Sprint(removed[fmt.Sprintf("u%03d", u)]); got != "[1]" {
			t.Fatalf("u%03d: removed %s, want [1]", u, got)
		}
	}
	if rs, err := s.Purge(ctx, belfry.PurgeQuery{MaxPerUser: 2, Limit: 40}); err != nil || len(rs) != 0 {
		t.Fatalf("Purge again: %v, %v; want nothing", rs, err)
	}
}

// TestClock: expiry follows Config.Now, the store's clock.
func TestClock(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	now := time.Now()
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	s, err := postgres.OpenConfig(t.Context(), postgres.Config{URL: freshSchema(t), Now: clock})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	ctx := t.Context()
	exp := now.Add(time.Hour)
	n := note("u", "soon gone")
	n.ExpiresAt = &exp
	if err := s.Create(ctx, []*belfry.Notification{n}); err != nil {
		t.Fatal(err)
	}
	if !n.CreatedAt.Equal(belfry.Now(now)) {
		t.Fatalf("CreatedAt %v, want the clock's %v", n.CreatedAt, now)
	}
	if st, _ := s.Stats(ctx, "u"); st.Unread != 1 {
		t.Fatalf("before expiry: %+v", st)
	}
	mu.Lock()
	now = exp
	mu.Unlock()
	if st, _ := s.Stats(ctx, "u"); st.Unread != 0 || st.LastID != 1 {
		t.Fatalf("at expiry: %+v, want nothing counted", st)
	}
	if got, _ := s.After(ctx, "u", 0, 10); len(got) != 0 {
		t.Fatalf("at expiry After returns %v", got)
	}
	at := exp
	_, err = s.SetRead(ctx, "u", 1, &at)
	wantCode(t, "SetRead of an expired notification", err, belfry.ENOTFOUND)
}
