package sqlite_test

import (
	"context"
	"database/sql"
	"fmt"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/belfry/belfry"
	"github.com/belfry/belfry/sqlite"
	"github.com/belfry/belfry/storetest"
)

// open opens a store on path and closes it when the test ends.
func open(t testing.TB, path string) *sqlite.Store {
	t.Helper()
	s, err := sqlite.Open(context.Background(), path)
	if err != nil {
		t.Fatalf("Open(%q): %v", path, err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return s
}

func TestStore(t *testing.T) {
	storetest.Run(t, func(t *testing.T) belfry.Store {
		return open(t, filepath.Join(t.TempDir(), "belfry.db"))
	})
}

// Several Stores on one file behave like several processes sharing it:
// each has its own writer, and SQLite's file lock serializes them.
func TestStoreShared(t *testing.T) {
	storetest.RunShared(t, func(t *testing.T, n int) []belfry.Store {
		path := filepath.Join(t.TempDir(), "belfry.db")
		ss := make([]belfry.Store, n)
		for i := range ss {
			ss[i] = open(t, path)
		}
		return ss
	})
}

// A notification whose Create returned is still there after Close and a
// new Open, ids continue, and read state and deletes persist too.
func TestDurableAcrossReopen(t *testing.T) {
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "belfry.db")
	s, err := sqlite.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	ns := []*belfry.Notification{{UserID: "alice", Message: "one"}, {UserID: "alice", Message: "two"},
		{UserID: "bob", Message: "three", Data: []byte(`{"k":1}`)}}
	if err := s.Create(ctx, ns); err != nil {
		t.Fatal(err)
	}
	if _, err := s.SetRead(ctx, "alice", 1, &ns[0].CreatedAt); err != nil {
		t.Fatal(err)
	}
	if err := s.Delete(ctx, "alice", 2); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := s.Create(ctx, ns[:1]); belfry.ErrorCode(err) != belfry.EUNAVAILABLE {
		t.Fatalf("Create after Close: %v, want EUNAVAILABLE", err)
	}
	if err := s.Ping(ctx); belfry.ErrorCode(err) != belfry.EUNAVAILABLE {
		t.Fatalf("Ping after Close: %v, want EUNAVAILABLE", err)
	}

	s = open(t, path)
	got, err := s.After(ctx, "alice", 0, 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0].ID != 1 || got[0].Message != "one" || got[0].ReadAt == nil ||
		!got[0].ReadAt.Equal(ns[0].CreatedAt) {
		t.Fatalf("after reopen alice has %+v", got)
	}
	if st, err := s.Stats(ctx, "alice"); err != nil || !storetest.SameStats(st, belfry.Stats{Unread: 0, LastID: 2}) {
		t.Fatalf("after reopen Stats(alice) = %+v, %v", st, err)
	}
	bob, err := s.After(ctx, "bob", 0, 10)
	if err != nil || len(bob) != 1 || string(bob[0].Data) != `{"k":1}` {
		t.Fatalf("after reopen bob has %+v, %v", bob, err)
	}
	n := []*belfry.Notification{{UserID: "alice", Message: "four"}}
	if err := s.Create(ctx, n); err != nil || n[0].ID != 3 {
		t.Fatalf("Create after reopen: id %d, %v; want 3", n[0].ID, err)
	}
}

// Close answers every Create that was already queued: each caller gets its
// id, and each id is stored.
func TestCloseFlushesQueue(t *testing.T) {
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "belfry.db")
	s, err := sqlite.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	const callers = 50
	var wg sync.WaitGroup
	errs := make([]error, callers)
	made := make([]*belfry.Notification, callers)
	start := make(chan struct{})
	for i := range callers {
		wg.Go(func() {
			made[i] = &belfry.Notification{UserID: "alice", Message: "m"}
			<-start
			errs[i] = s.Create(ctx, made[i:i+1])
		})
	}
	close(start)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	wg.Wait()
	var ok int64
	for i, err := range errs {
		switch belfry.ErrorCode(err) {
		case "":
			ok++
			if made[i].ID == 0 {
				t.Fatalf("caller %d: Create succeeded without an id", i)
			}
		case belfry.EUNAVAILABLE: // arrived after Close: nothing stored
		default:
			t.Fatalf("caller %d: %v", i, err)
		}
	}
	s = open(t, path)
	st, err := s.Stats(ctx, "alice")
	if err != nil {
		t.Fatal(err)
	}
	if st.LastID != ok || st.Unread != int(ok) {
		t.Fatalf("after reopen Stats = %+v; %d Creates succeeded", st, ok)
	}
}

// A caller whose context is already done gets EUNAVAILABLE and changes
// nothing.
func TestCancelledContext(t *testing.T) {
	s := open(t, filepath.Join(t.TempDir(), "belfry.db"))
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	err := s.Create(ctx, []*belfry.Notification{{UserID: "alice", Message: "m"}})
	if belfry.ErrorCode(err) != belfry.EUNAVAILABLE {
		t.Fatalf("Create with a cancelled context: %v, want EUNAVAILABLE", err)
	}
	if st, err := s.Stats(t.Context(), "alice"); err != nil || st.LastID != 0 {
		t.Fatalf("Stats = %+v, %v; want nothing stored", st, err)
	}
}

func TestOpenErrors(t *testing.T) {
	ctx := t.Context()
	for _, path := range []string{"", ":memory:", "a?b"} {
		if _, err := sqlite.Open(ctx, path); belfry.ErrorCode(err) != belfry.EINVALID {
			t.Errorf("Open(%q): %v, want EINVALID", path, err)
		}
	}
	dir := t.TempDir()
	if _, err := sqlite.Open(ctx, filepath.Join(dir, "missing", "dir", "belfry.db")); belfry.ErrorCode(err) != belfry.EUNAVAILABLE {
		t.Errorf("Open in a missing directory: %v, want EUNAVAILABLE", err)
	}
	_, err := sqlite.OpenConfig(ctx, sqlite.Config{Path: filepath.Join(dir, "x.db"), Synchronous: "OFF"})
	if belfry.ErrorCode(err) != belfry.EINVALID {
		t.Errorf("OpenConfig(synchronous OFF): %v, want EINVALID", err)
	}
}

// Opening an existing database again does not re-run migrations.
func TestReopenKeepsSchema(t *testing.T) {
	path := filepath.Join(t.TempDir(), "belfry.db")
	for range 3 {
		s, err := sqlite.Open(t.Context(), path)
		if err != nil {
			t.Fatal(err)
		}
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
	}
}

func TestParseDSN(t *testing.T) {
	for in, want := range map[string]string{
		"sqlite:belfry.db":              "belfry.db",
		"sqlite:/var/lib/belfry.db":     "/var/lib/belfry.db",
		"sqlite:///var/lib/belfry.db":   "/var/lib/belfry.db",
		"sqlite://data/belfry.db":       "data/belfry.db",
		"sqlite:with%20space/belfry.db": "with space/belfry.db",
	} {
		got, err := sqlite.ParseDSN(in)
		if err != nil || got != want {
			t.Errorf("ParseDSN(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, in := range []string{"", "sqlite:", "postgres://x", "belfry.db", "sqlite::memory:", "sqlite:a?b", "sqlite:%zz"} {
		if _, err := sqlite.ParseDSN(in); belfry.ErrorCode(err) != belfry.EINVALID {
			t.Errorf("ParseDSN(%q): %v, want EINVALID", in, err)
		}
	}
}

// A call that fails inside a batch is answered with its error and the
// others batched with it are still committed. An empty user id breaks a
// CHECK constraint: the writer's retry-without-it path.
func TestFailingCallDoesNotFailItsBatch(t *testing.T) {
	s := open(t, filepath.Join(t.TempDir(), "belfry.db"))
	const callers = 40
	errs := make([]error, callers)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range callers {
		wg.Go(func() {
			user := "alice"
			if i == callers/2 {
				user = ""
			}
			<-start
			errs[i] = s.Create(t.Context(), []*belfry.Notification{{UserID: user, Message: "m"}})
		})
	}
	close(start)
	wg.Wait()
	for i, err := range errs {
		want := ""
		if i == callers/2 {
			want = belfry.EUNAVAILABLE
		}
		if belfry.ErrorCode(err) != want {
			t.Fatalf("caller %d: %v, want code %q", i, err, want)
		}
	}
	st, err := s.Stats(t.Context(), "alice")
	if err != nil || !storetest.SameStats(st, belfry.Stats{Unread: callers - 1, Unseen: callers - 1, LastID: callers - 1}) {
		t.Fatalf("Stats = %+v, %v; want %d stored", st, err, callers-1)
	}
	ns, err := s.After(t.Context(), "alice", 0, 100)
	if err != nil || len(ns) != callers-1 || ns[len(ns)-1].ID != callers-1 {
		t.Fatalf("After(0): %d notifications, %v", len(ns), err)
	}
}

// A database written by a newer belfry (a higher schema version) is
// refused rather than used with the wrong schema.
func TestNewerSchemaRefused(t *testing.T) {
	path := filepath.Join(t.TempDir(), "belfry.db")
	s, err := sqlite.Open(t.Context(), path)
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec("UPDATE schema_version SET version = 999"); err != nil {
		t.Fatal(err)
	}
	db.Close()
	if _, err := sqlite.Open(t.Context(), path); belfry.ErrorCode(err) != belfry.EUNAVAILABLE {
		t.Fatalf("Open of a newer schema: %v, want EUNAVAILABLE", err)
	}
}

// One Create larger than a statement chunk, with users repeated across it:
// the counter and row statements are cut into chunks, and each user's ids
// still follow the slice order with no gap.
func TestCreateManyRowsAndUsers(t *testing.T) {
	s := open(t, filepath.Join(t.TempDir(), "belfry.db"))
	const users, rows = 300, 1000 // above 256, the largest chunk
	ns := make([]*belfry.Notification, rows)
	for i := range ns {
		ns[i] = &belfry.Notification{UserID: fmt.Sprint("user-", i%users), Message: fmt.Sprint("m", i)}
	}
	if err := s.Create(t.Context(), ns); err != nil {
		t.Fatal(err)
	}
	for i, n := range ns {
		if want := int64(i/users + 1); n.ID != want {
			t.Fatalf("notification %d (%s): id %d, want %d", i, n.UserID, n.ID, want)
		}
	}
	for u := range users {
		user := fmt.Sprint("user-", u)
		got, err := s.After(t.Context(), user, 0, 10)
		if err != nil {
			t.Fatal(err)
		}
		for k, n := range got {
			if want := fmt.Sprint("m", k*users+u); n.ID != int64(k+1) || n.Message != want {
				t.Fatalf("%s: row %d is id %d %q, want id %d %q", user, k, n.ID, n.Message, k+1, want)
			}
		}
		if st, err := s.Stats(t.Context(), user); err != nil || st.LastID != int64(len(got)) || st.Unread != len(got) {
			t.Fatalf("%s: Stats %+v, %v with %d rows", user, st, err, len(got))
		}
	}
}

// Concurrent Creates of several notifications each, for users they share,
// batched together, one of them failing: the others are stored, each
// call's notifications for one user have consecutive ids in slice order,
// and every user's ids run 1..n without a gap.
func TestGroupedCreatesWithAFailure(t *testing.T) {
	s := open(t, filepath.Join(t.TempDir(), "belfry.db"))
	const callers = 40
	calls := make([][]*belfry.Notification, callers)
	errs := make([]error, callers)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range callers {
		calls[i] = []*belfry.Notification{{UserID: "alice", Message: "a"},
			{UserID: "bob", Message: "b"}, {UserID: "alice", Message: "a2"}}
		if i == callers/3 {
			calls[i][1].UserID = "" // breaks the CHECK: this call fails
		}
		wg.Go(func() {
			<-start
			errs[i] = s.Create(t.Context(), calls[i])
		})
	}
	close(start)
	wg.Wait()
	seen := map[string]map[int64]bool{"alice": {}, "bob": {}}
	for i, err := range errs {
		if i == callers/3 {
			if belfry.ErrorCode(err) != belfry.EUNAVAILABLE {
				t.Fatalf("failing caller: %v, want EUNAVAILABLE", err)
			}
			continue
		}
		if err != nil {
			t.Fatalf("caller %d: %v", i, err)
		}
		a, a2 := calls[i][0], calls[i][2]
		if a2.ID != a.ID+1 {
			t.Fatalf("caller %d: alice got ids %d and %d", i, a.ID, a2.ID)
		}
		for _, n := range calls[i] {
			if seen[n.UserID][n.ID] {
				t.Fatalf("%s id %d handed out twice", n.UserID, n.ID)
			}
			seen[n.UserID][n.ID] = true
		}
	}
	for user, want := range map[string]int{"alice": 2 * (callers - 1), "bob": callers - 1} {
		got, err := s.After(t.Context(), user, 0, 1000)
		if err != nil || len(got) != want || got[len(got)-1].ID != int64(want) {
			t.Fatalf("%s: %d rows, %v; want ids 1..%d", user, len(got), err, want)
		}
		if st, err := s.Stats(t.Context(), user); err != nil || !storetest.SameStats(st, belfry.Stats{Unread: want, Unseen: want, LastID: int64(want)}) {
			t.Fatalf("%s: Stats %+v, %v", user, st, err)
		}
	}
}

// A call naming many users with one content is written with the content
// bound once (insertShared); runs too short for that, and rows of other
// content in the same call, go the per-row way. Every field of every row
// must come back, ids in slice order per user, and a bad row in a shared
// run must fail the call and store none of it.
func TestCreateSharedContent(t *testing.T) {
	s := open(t, filepath.Join(t.TempDir(), "belfry.db"))
	var ns []*belfry.Notification
	add := func(n int, users int, c belfry.Notification) {
		for i := range n {
			x := c
			x.UserID = fmt.Sprint("user-", i%users)
			ns = append(ns, &x)
		}
	}
	add(3, 300, belfry.Notification{Message: "short run"})
	add(1100, 300, belfry.Notification{Message: "shared", Title: "T", Link: "/l", Category: "c",
		Data: []byte(`{"k":1}`)}) // 1024 + 64 + 8 + 4 rows, each user 3 or 4 times
	add(2, 300, belfry.Notification{Message: "other", Data: []byte(`{"k":2}`)})
	add(9, 300, belfry.Notification{Message: "shared, no data"})
	if err := s.Create(t.Context(), ns); err != nil {
		t.Fatal(err)
	}
	want := map[string][]*belfry.Notification{}
	for _, n := range ns {
		want[n.UserID] = append(want[n.UserID], n)
	}
	for user, w := range want {
		got, err := s.After(t.Context(), user, 0, 100)
		if err != nil || len(got) != len(w) {
			t.Fatalf("%s: %d rows, %v; want %d", user, len(got), err, len(w))
		}
		for k, g := range got {
			x := w[k]
			if g.ID != int64(k+1) || x.ID != g.ID || g.Message != x.Message || g.Title != x.Title ||
				g.Link != x.Link || g.Category != x.Category || string(g.Data) != string(x.Data) ||
				g.ReadAt != nil || !g.CreatedAt.Equal(x.CreatedAt) {
				t.Fatalf("%s row %d: got %+v, want %+v", user, k, g, x)
			}
		}
	}

	bad := make([]*belfry.Notification, 40)
	for i := range bad {
		bad[i] = &belfry.Notification{UserID: fmt.Sprint("new-", i), Message: "m"}
	}
	bad[37].UserID = "" // breaks the CHECK inside the shared statement
	if err := s.Create(t.Context(), bad); belfry.ErrorCode(err) != belfry.EUNAVAILABLE {
		t.Fatalf("Create with a bad row: %v, want EUNAVAILABLE", err)
	}
	if got, err := s.After(t.Context(), "new-0", 0, 10); err != nil || len(got) != 0 {
		t.Fatalf("new-0 after the failed call: %d rows, %v", len(got), err)
	}
}

// The writer remembers each user's last id (lastIDs). Another Store on the
// same file, like another process, writes between two of its commits: the
// ids must still follow on, which only rereading the counter gives.
func TestLastIDsAfterAnotherWriter(t *testing.T) {
	path := filepath.Join(t.TempDir(), "belfry.db")
	a, b := open(t, path), open(t, path)
	var got []int64
	for _, s := range []*sqlite.Store{a, a, b, b, a, b, a} {
		ns := []*belfry.Notification{{UserID: "alice", Message: "m"}, {UserID: "alice", Message: "m"}}
		if err := s.Create(t.Context(), ns); err != nil {
			t.Fatal(err)
		}
		got = append(got, ns[0].ID, ns[1].ID)
	}
	for i, id := range got {
		if id != int64(i+1) {
			t.Fatalf("ids %v, want 1..%d in order", got, len(got))
		}
	}
}

// A user's ids come from the newest row, and a deleted or purged last id
// is kept as a floor: another Store on the file, and the same file opened
// again, which remember nothing, must not hand it out again.
func TestDeletedLastIDNotReused(t *testing.T) {
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "belfry.db")
	a, b := open(t, path), open(t, path)
	create := func(s *sqlite.Store, n *belfry.Notification) int64 {
		t.Helper()
		if err := s.Create(ctx, []*belfry.Notification{n}); err != nil {
			t.Fatal(err)
		}
		return n.ID
	}
	wantLast := func(s *sqlite.Store, want int64) {
		t.Helper()
		st, err := s.Stats(ctx, "alice")
		if err != nil || st.LastID != want {
			t.Fatalf("Stats: last id %d, %v; want %d", st.LastID, err, want)
		}
	}
	for range 3 {
		create(a, &belfry.Notification{UserID: "alice", Message: "m"})
	}
	if err := a.Delete(ctx, "alice", 3); err != nil {
		t.Fatal(err)
	}
	wantLast(b, 3)
	if id := create(b, &belfry.Notification{UserID: "alice", Message: "m"}); id != 4 {
		t.Fatalf("after deleting the last id 3: id %d, want 4", id)
	}
	// An older id deleted leaves the newest in charge.
	if err := b.Delete(ctx, "alice", 1); err != nil {
		t.Fatal(err)
	}
	past := time.Now().Add(-time.Minute)
	create(a, &belfry.Notification{UserID: "alice", Message: "expired", ExpiresAt: &past})
	if rs, err := a.Purge(ctx, belfry.PurgeQuery{Now: time.Now(), Limit: 10}); err != nil || len(rs) != 1 || rs[0].ID != 5 {
		t.Fatalf("Purge: %v %v, want alice's id 5", rs, err)
	}
	wantLast(b, 5)
	if id := create(b, &belfry.Notification{UserID: "alice", Message: "m"}); id != 6 {
		t.Fatalf("after purging the last id 5: id %d, want 6", id)
	}
	if err := b.Delete(ctx, "alice", 6); err != nil {
		t.Fatal(err)
	}
	if err := a.Close(); err != nil {
		t.Fatal(err)
	}
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	c := open(t, path)
	wantLast(c, 6)
	if id := create(c, &belfry.Notification{UserID: "alice", Message: "m"}); id != 7 {
		t.Fatalf("reopened after deleting the last id 6: id %d, want 7", id)
	}
	if id := create(c, &belfry.Notification{UserID: "bob", Message: "m"}); id != 1 {
		t.Fatalf("a new user's first id: %d, want 1", id)
	}
}
