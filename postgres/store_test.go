package postgres_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/url"
	"sync"
	"testing"
	"time"

	"github.com/belfry/belfry"
	"github.com/belfry/belfry/postgres"
	"github.com/jackc/pgx/v5"
)

func TestRoundTrip(t *testing.T) {
	t.Parallel()
	s := openStore(t, freshSchema(t))
	ctx := t.Context()
	data := json.RawMessage(`{"z":1,"a":{"y":[1,2],"b":"\u00e9<"}}`) // key order and escapes kept
	full := &belfry.Notification{UserID: "42", Message: "hello\nworld", Title: "T",
		Link: "/orders/7", Category: "orders", Data: data}
	bare := note("42", "bare")
	before := time.Now().Add(-time.Second)
	if err := s.Create(ctx, []*belfry.Notification{full, bare}); err != nil {
		t.Fatal(err)
	}
	if full.ID != 1 || bare.ID != 2 {
		t.Fatalf("ids %d, %d; want 1, 2", full.ID, bare.ID)
	}
	if full.CreatedAt.Location() != time.UTC || full.CreatedAt.Before(before) ||
		!full.CreatedAt.Equal(full.CreatedAt.Truncate(time.Millisecond)) {
		t.Fatalf("CreatedAt %v: want now, UTC, in ms", full.CreatedAt)
	}
	got, err := s.After(ctx, "42", 0, 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 {
		t.Fatalf("After: %d notifications, want 2", len(got))
	}
	for i, want := range []*belfry.Notification{full, bare} {
		if g, w := string(got[i].AppendJSON(nil)), string(want.AppendJSON(nil)); g != w {
			t.Errorf("read back\n %s\nwant\n %s", g, w)
		}
	}
	if got[1].Data != nil {
		t.Errorf("Data of a notification without data: %q, want nil", got[1].Data)
	}

	at := time.Date(2026, 11, 23, 17, 42, 24, 123456789, time.FixedZone("x", 3600))
	n, err := s.SetRead(ctx, "42", 1, &at)
	if err != nil {
		t.Fatal(err)
	}
	if want := at.UTC().Truncate(time.Millisecond); n.ReadAt == nil || !n.ReadAt.Equal(want) || n.ReadAt.Location() != time.UTC {
		t.Fatalf("ReadAt %v, want %v in UTC", n.ReadAt, want)
	}
}

func TestManyUsersOneCall(t *testing.T) {
	t.Parallel()
	s := openStore(t, freshSchema(t))
	ctx := t.Context()
	if err := s.Create(ctx, []*belfry.Notification{note("u7", "first")}); err != nil {
		t.Fatal(err)
	}
	ns := make([]*belfry.Notification, belfry.MaxUsersPerCall)
	for i := range ns {
		// Descending, so the store's sorting is exercised.
		ns[i] = note(fmt.Sprintf("u%d", len(ns)-i), "broadcast")
	}
	if err := s.Create(ctx, ns); err != nil {
		t.Fatal(err)
	}
	for _, n := range ns {
		want := int64(1)
		if n.UserID == "u7" {
			want = 2
		}
		if n.ID != want {
			t.Fatalf("%s got id %d, want %d", n.UserID, n.ID, want)
		}
	}
	st, err := s.Stats(ctx, "u7")
	if err != nil {
		t.Fatal(err)
	}
	if st.Unread != 2 || st.Unseen != 2 || st.LastID != 2 || len(st.ByCategory) != 0 {
		t.Fatalf("Stats(u7) = %+v", st)
	}
}

// TestTwoNodes writes to one user from two Stores (two pools, as two nodes
// would) while a reader on a third follows with After, as a resuming stream
// does. Every read must continue exactly where the previous one ended: an
// id visible before a smaller one would show up as a skipped id.
func TestTwoNodes(t *testing.T) {
	t.Parallel()
	dbURL := freshSchema(t)
	nodes := []*postgres.Store{openStore(t, dbURL), openStore(t, dbURL)}
	reader := openStore(t, dbURL)
	ctx := t.Context()
	const (
		writersPerNode = 8
		callsPerWriter = 40
		user           = "hot"
	)
	total := int64(0)
	var wg sync.WaitGroup
	errs := make(chan error, 2*writersPerNode)
	for ni, node := range nodes {
		other := nodes[1-ni]
		for w := range writersPerNode {
			// Every other writer publishes to many users at once, so
			// single and multi-user batches interleave.
			size := 1 + w%2*2
			total += int64(callsPerWriter)
			wg.Go(func() {
				for c := range callsPerWriter {
					ns := []*belfry.Notification{note(user, fmt.Sprintf("n%d w%d c%d", ni, w, c))}
					for k := 1; k < size; k++ {
						ns = append(ns, note(fmt.Sprintf("other%d", (w+k+c)%5), "x"))
					}
					if err := node.Create(ctx, ns); err != nil {
						errs <- err
						return
					}
					// Once Create returns N, the other node sees N.
					got, err := other.After(ctx, user, ns[0].ID-1, 1)
					if err != nil {
						errs <- err
						return
					}
					if len(got) != 1 || got[0].ID != ns[0].ID {
						errs <- fmt.Errorf("created id %d, the other node reads %v", ns[0].ID, got)
						return
					}
				}
			})
		}
	}

	last := int64(0)
	deadline := time.Now().Add(time.Minute)
	for last < total && time.Now().Before(deadline) {
		got, err := reader.After(ctx, user, last, 50)
		if err != nil {
			t.Fatal(err)
		}
		for _, n := range got {
			if n.ID != last+1 {
				t.Fatalf("after id %d the reader got id %d: skipped", last, n.ID)
			}
			last = n.ID
		}
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if last != total {
		t.Fatalf("reader reached id %d, want %d", last, total)
	}
	st, err := reader.Stats(ctx, user)
	if err != nil {
		t.Fatal(err)
	}
	if st.LastID != total || st.Unread != int(total) {
		t.Fatalf("Stats = %+v, want last id and unread %d", st, total)
	}
}

// TestConcurrentOpen starts several nodes at once on an empty schema: the
// advisory lock lets exactly one apply each migration.
func TestConcurrentOpen(t *testing.T) {
	t.Parallel()
	dbURL := freshSchema(t)
	var wg sync.WaitGroup
	errs := make(chan error, 4)
	for range 4 {
		wg.Go(func() {
			s, err := postgres.Open(t.Context(), dbURL)
			if err != nil {
				errs <- err
				return
			}
			errs <- s.Create(t.Context(), []*belfry.Notification{note("u", "hi")})
			s.Close()
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	conn, err := pgx.Connect(t.Context(), dbURL)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	var versions, notes int
	if err := conn.QueryRow(t.Context(), `SELECT (SELECT count(*) FROM belfry_schema_version),
		(SELECT count(*) FROM belfry_notifications)`).Scan(&versions, &notes); err != nil {
		t.Fatal(err)
	}
	if versions != migrationCount(t) || notes != 4 {
		t.Fatalf("%d schema versions and %d notifications; want %d and 4", versions, notes, migrationCount(t))
	}
}

func TestUnreachable(t *testing.T) {
	t.Parallel()
	base := baseURL(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	dead := ln.Addr().String()
	ln.Close() // nothing listens there now
	u := withParam(t, base, "connect_timeout", "1")
	u = replaceHost(t, u, dead)
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	defer cancel()
	s, err := postgres.Open(ctx, u)
	if err == nil {
		s.Close()
		t.Fatal("Open on a port where nothing listens succeeded")
	}
	wantCode(t, "Open", err, belfry.EUNAVAILABLE)
}

// TestLostDatabase cuts a working Store off from its database: every call
// fails with EUNAVAILABLE and writes nothing.
func TestLostDatabase(t *testing.T) {
	t.Parallel()
	dbURL := freshSchema(t)
	p, viaProxy := startProxy(t, withParam(t, dbURL, "connect_timeout", "1"))
	s := openStore(t, viaProxy)
	ctx := t.Context()
	if err := s.Create(ctx, []*belfry.Notification{note("u", "before")}); err != nil {
		t.Fatal(err)
	}
	if err := s.Ping(ctx); err != nil {
		t.Fatal(err)
	}
	p.Cut()

	wantCode(t, "Ping", s.Ping(ctx), belfry.EUNAVAILABLE)
	wantCode(t, "Create", s.Create(ctx, []*belfry.Notification{note("u", "lost")}), belfry.EUNAVAILABLE)
	_, err := s.List(ctx, "u", belfry.ListQuery{Limit: 10})
	wantCode(t, "List", err, belfry.EUNAVAILABLE)
	_, err = s.After(ctx, "u", 0, 10)
	wantCode(t, "After", err, belfry.EUNAVAILABLE)
	_, err = s.Stats(ctx, "u")
	wantCode(t, "Stats", err, belfry.EUNAVAILABLE)
	now := time.Now()
	_, err = s.SetRead(ctx, "u", 1, &now)
	wantCode(t, "SetRead", err, belfry.EUNAVAILABLE)
	_, err = s.ReadAll(ctx, "u", belfry.Filter{UpTo: 1}, now)
	wantCode(t, "ReadAll", err, belfry.EUNAVAILABLE)
	wantCode(t, "Delete", s.Delete(ctx, "u", 1), belfry.EUNAVAILABLE)

	direct := openStore(t, dbURL)
	got, err := direct.After(ctx, "u", 0, 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0].Message != "before" || got[0].ReadAt != nil {
		t.Fatalf("after the cut the database holds %v; want only the unread notification from before", got)
	}

	// Back online: the Store dropped its dead connections when it saw the
	// first one fail, so the very next calls work.
	p.Resume()
	if err := s.Ping(ctx); err != nil {
		t.Fatalf("Ping once the database is back: %v", err)
	}
	n := note("u", "after")
	if err := s.Create(ctx, []*belfry.Notification{n}); err != nil {
		t.Fatalf("Create once the database is back: %v", err)
	}
	if n.ID != 2 {
		t.Fatalf("Create once the database is back: id %d, want 2", n.ID)
	}
}

// TestDatabaseRestart breaks every pooled connection at once, as a
// PostgreSQL restart does, while the network stays up: reads retry on a
// fresh connection instead of failing.
func TestDatabaseRestart(t *testing.T) {
	t.Parallel()
	dbURL := freshSchema(t)
	p, viaProxy := startProxy(t, dbURL)
	s := openStore(t, viaProxy)
	ctx := t.Context()
	if err := s.Create(ctx, []*belfry.Notification{note("u", "one")}); err != nil {
		t.Fatal(err)
	}
	// Several idle connections in the pool.
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() { _, _ = s.After(ctx, "u", 0, 10) })
	}
	wg.Wait()
	p.Cut()
	p.Resume()
	got, err := s.After(ctx, "u", 0, 10)
	if err != nil {
		t.Fatalf("After on a broken pooled connection: %v", err)
	}
	if len(got) != 1 {
		t.Fatalf("After: %d notifications, want 1", len(got))
	}
	if err := s.Create(ctx, []*belfry.Notification{note("u", "two")}); err != nil {
		t.Fatalf("Create after the pool was renewed: %v", err)
	}
}

// TestBadRowDoesNotFailOthers sends, concurrently, notifications the
// database refuses (data that is not JSON; the Inbox never lets it through)
// among good ones: whichever batch they share, only the bad call fails.
func TestBadRowDoesNotFailOthers(t *testing.T) {
	t.Parallel()
	s := openStore(t, freshSchema(t))
	ctx := t.Context()
	var wg sync.WaitGroup
	errs := make([]error, 32)
	for i := range errs {
		wg.Go(func() {
			n := note(fmt.Sprintf("u%d", i%4), "m")
			if i%8 == 0 {
				n.Data = json.RawMessage(`{not json`)
			}
			errs[i] = s.Create(ctx, []*belfry.Notification{n})
		})
	}
	wg.Wait()
	for i, err := range errs {
		if i%8 == 0 {
			wantCode(t, fmt.Sprintf("call %d (bad)", i), err, belfry.EINVALID)
		} else if err != nil {
			t.Errorf("call %d (good): %v", i, err)
		}
	}
	for u := range 4 {
		st, err := s.Stats(ctx, fmt.Sprintf("u%d", u))
		if err != nil {
			t.Fatal(err)
		}
		want := int64(8) // calls u, u+4, …, u+28
		if u == 0 {
			want = 4 // calls 0, 8, 16 and 24 were refused
		}
		if st.LastID != want {
			t.Errorf("Stats(u%d) = %+v, want last id %d", u, st, want)
		}
	}
}

func TestNULRefused(t *testing.T) {
	t.Parallel()
	s := openStore(t, freshSchema(t))
	err := s.Create(t.Context(), []*belfry.Notification{note("u", "ok"), note("u", "a\x00b")})
	wantCode(t, "Create with NUL", err, belfry.EINVALID)
	st, err := s.Stats(t.Context(), "u")
	if err != nil {
		t.Fatal(err)
	}
	if st.Unread != 0 || st.LastID != 0 {
		t.Fatalf("Stats after a refused Create = %+v, want zero", st)
	}
}

// TestClose closes the Store while Create calls are in flight: each one
// either returns an id that is stored, or EUNAVAILABLE and stores nothing.
func TestClose(t *testing.T) {
	t.Parallel()
	dbURL := freshSchema(t)
	s, err := postgres.Open(t.Context(), dbURL)
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	ns := make([]*belfry.Notification, 64)
	errs := make([]error, len(ns))
	started := make(chan struct{}, len(ns))
	for i := range ns {
		ns[i] = note("u", fmt.Sprint(i))
		wg.Go(func() {
			started <- struct{}{}
			errs[i] = s.Create(t.Context(), ns[i:i+1])
		})
	}
	for range len(ns) / 2 {
		<-started
	}
	s.Close()
	wg.Wait()
	wantCode(t, "Create after Close", s.Create(t.Context(), []*belfry.Notification{note("u", "late")}), belfry.EUNAVAILABLE)

	direct := openStore(t, dbURL)
	stored, err := direct.After(t.Context(), "u", 0, 1000)
	if err != nil {
		t.Fatal(err)
	}
	byID := map[int64]string{}
	for _, n := range stored {
		byID[n.ID] = n.Message
	}
	ok := 0
	for i, n := range ns {
		switch {
		case errs[i] == nil:
			ok++
			if byID[n.ID] != n.Message {
				t.Errorf("call %d returned id %d, stored as %q", i, n.ID, byID[n.ID])
			}
		case belfry.ErrorCode(errs[i]) != belfry.EUNAVAILABLE:
			t.Errorf("call %d: %v", i, errs[i])
		}
	}
	if ok != len(stored) {
		t.Errorf("%d calls succeeded, %d notifications stored", ok, len(stored))
	}
}

func TestCancelledContext(t *testing.T) {
	t.Parallel()
	s := openStore(t, freshSchema(t))
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	wantCode(t, "Create", s.Create(ctx, []*belfry.Notification{note("u", "x")}), belfry.EUNAVAILABLE)
	st, err := s.Stats(t.Context(), "u")
	if err != nil {
		t.Fatal(err)
	}
	if st.LastID != 0 {
		t.Fatalf("a cancelled Create wrote: %+v", st)
	}
}

func TestOtherUsersID(t *testing.T) {
	t.Parallel()
	s := openStore(t, freshSchema(t))
	ctx := t.Context()
	if err := s.Create(ctx, []*belfry.Notification{note("alice", "secret")}); err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	_, err := s.SetRead(ctx, "bob", 1, &now)
	wantCode(t, "SetRead of another user's id", err, belfry.ENOTFOUND)
	wantCode(t, "Delete of another user's id", s.Delete(ctx, "bob", 1), belfry.ENOTFOUND)
	got, err := s.After(ctx, "alice", 0, 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0].ReadAt != nil {
		t.Fatalf("alice's inbox changed: %v", got)
	}
}

// replaceHost returns rawURL with its host:port replaced.
func replaceHost(tb testing.TB, rawURL, host string) string {
	tb.Helper()
	u, err := url.Parse(rawURL)
	if err != nil {
		tb.Fatal(err)
	}
	u.Host = host
	return u.String()
}

func TestMissingSchema(t *testing.T) {
	t.Parallel()
	_, err := postgres.Open(t.Context(), withParam(t, baseURL(t), "search_path", "belfry_no_such_schema"))
	wantCode(t, "Open with a search_path naming no schema", err, belfry.EINVALID)
}
