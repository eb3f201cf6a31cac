package mongodb

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"io"
	"log/slog"
	"net"
	"net/url"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/belfry/belfry"
	"github.com/belfry/belfry/storetest"
	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
)

// testURI returns BELFRY_TEST_MONGODB, or skips the test. tools/ferretdb
// starts a server for it.
func testURI(t testing.TB) string {
	t.Helper()
	u := os.Getenv("BELFRY_TEST_MONGODB")
	if u == "" {
		t.Skip("BELFRY_TEST_MONGODB is not set (a mongodb:// URL; tools/ferretdb starts one): skipping")
	}
	return u
}

// testConfig is the configuration the tests open with: short timeouts, so
// a hung server fails a test quickly, and a discarded log.
func testConfig() Config {
	return Config{ConnectTimeout: 5 * time.Second, Logger: slog.New(slog.DiscardHandler)}
}

func randomName(prefix string) string {
	var b [6]byte
	rand.Read(b[:])
	return prefix + hex.EncodeToString(b[:])
}

// openN opens n Stores, each with its own client (as n belfry nodes), on a
// database unique to t, which is dropped when t ends.
func openN(t testing.TB, n int, c Config) []*Store {
	t.Helper()
	c.URI = testURI(t)
	c.Database = randomName("belfry_test_")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var ss []*Store
	for range n {
		s, err := OpenConfig(ctx, c)
		if err != nil {
			t.Fatalf("OpenConfig: %v", err)
		}
		ss = append(ss, s)
	}
	t.Cleanup(func() {
		for _, s := range ss {
			s.Close()
		}
		dropDatabase(t, c.URI, c.Database)
	})
	return ss
}

// dropDatabase drops name through a client of its own, since the test may
// have closed its Stores.
func dropDatabase(t testing.TB, uri, name string) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	client, err := mongo.Connect(options.Client().ApplyURI(uri))
	if err != nil {
		t.Errorf("dropping database %s: %v", name, err)
		return
	}
	defer client.Disconnect(ctx)
	if err := client.Database(name).Drop(ctx); err != nil {
		t.Errorf("dropping database %s: %v", name, err)
	}
}

func openOne(t testing.TB) *Store { return openN(t, 1, testConfig())[0] }

func TestStore(t *testing.T) {
	testURI(t)
	storetest.Run(t, func(t *testing.T) belfry.Store { return openOne(t) })
}

func TestStoreShared(t *testing.T) {
	testURI(t)
	storetest.RunShared(t, func(t *testing.T, n int) []belfry.Store {
		var out []belfry.Store
		for _, s := range openN(t, n, testConfig()) {
			out = append(out, s)
		}
		return out
	})
}

func TestOpenDatabaseFromURI(t *testing.T) {
	base := testURI(t)
	name := randomName("belfry_test_uri_")
	u := base
	if u[len(u)-1] != '/' {
		u += "/"
	}
	c := testConfig()
	c.URI = u + name
	s, err := OpenConfig(t.Context(), c)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		s.Close()
		dropDatabase(t, base, name)
	})
	if s.db.Name() != name {
		t.Fatalf("database %q, want %q from the URI path", s.db.Name(), name)
	}
}

func TestOpenBadURI(t *testing.T) {
	_, err := Open(t.Context(), "mongodb://user:secret@[::1")
	if belfry.ErrorCode(err) != belfry.EINVALID {
		t.Fatalf("Open(bad URI): %v, want %s", err, belfry.EINVALID)
	}
}

// TestOpenUnreachable needs no server: nothing listens on the port.
func TestOpenUnreachable(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	c := testConfig()
	c.URI = "mongodb://" + addr + "/belfry"
	c.ConnectTimeout = 300 * time.Millisecond
	_, err = OpenConfig(t.Context(), c)
	if belfry.ErrorCode(err) != belfry.EUNAVAILABLE {
		t.Fatalf("OpenConfig(unreachable): %v, want %s", err, belfry.EUNAVAILABLE)
	}
}

// TestServerGone opens a Store through a TCP proxy, cuts the proxy, and
// checks that every method answers EUNAVAILABLE (within the configured
// timeouts, or the test's deadline would end it).
func TestServerGone(t *testing.T) {
	base := testURI(t)
	target := hostOf(t, base)
	p := startProxy(t, target)
	c := testConfig()
	c.URI = "mongodb://" + p.addr() + "/"
	c.Database = randomName("belfry_test_gone_")
	c.ConnectTimeout = 300 * time.Millisecond
	c.OpTimeout = 2 * time.Second
	c.WriteTimeout = 2 * time.Second
	s, err := OpenConfig(t.Context(), c)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	ctx := t.Context()
	alice := randomName("alice-")
	if err := s.Create(ctx, []*belfry.Notification{{UserID: alice, Message: "before"}}); err != nil {
		t.Fatal(err)
	}
	p.cut()

	check := func(what string, err error) {
		t.Helper()
		if belfry.ErrorCode(err) != belfry.EUNAVAILABLE {
			t.Errorf("%s with the server gone: %v, want %s", what, err, belfry.EUNAVAILABLE)
		}
	}
	check("Ping", s.Ping(ctx))
	n := &belfry.Notification{UserID: alice, Message: "after"}
	check("Create", s.Create(ctx, []*belfry.Notification{n}))
	if n.ID != 0 {
		t.Errorf("Create failed but set id %d", n.ID)
	}
	_, err = s.After(ctx, alice, 0, 10)
	check("After", err)
	_, err = s.List(ctx, alice, belfry.ListQuery{Limit: 10})
	check("List", err)
	_, err = s.Stats(ctx, alice)
	check("Stats", err)
	_, err = s.SetRead(ctx, alice, 1, nil)
	check("SetRead", err)
	_, err = s.ReadAll(ctx, alice, belfry.Filter{UpTo: 1}, time.Now())
	check("ReadAll", err)
	_, err = s.SeeAll(ctx, alice, 1, time.Now())
	check("SeeAll", err)
	now := time.Now()
	_, err = s.SetArchived(ctx, alice, 1, &now)
	check("SetArchived", err)
	_, err = s.ArchiveAll(ctx, alice, belfry.Filter{UpTo: 1}, now)
	check("ArchiveAll", err)
	_, err = s.Act(ctx, alice, 1, "ok", now)
	check("Act", err)
	check("Delete", s.Delete(ctx, alice, 1))
	_, err = s.Preferences(ctx, alice)
	check("Preferences", err)
	_, err = s.SetPreferences(ctx, alice, belfry.PreferencesPatch{})
	check("SetPreferences", err)
	check("Publish", s.Publish(ctx, &belfry.Batch{Notifications: []*belfry.Notification{{UserID: alice, Message: "m"}}}))
	check("Publish with a key", s.Publish(ctx, &belfry.Batch{Notifications: []*belfry.Notification{{UserID: alice, Message: "m"}},
		Key: &belfry.IdempotencyKey{Name: "k", Expires: now.Add(time.Hour)}}))
	_, err = s.Purge(ctx, belfry.PurgeQuery{Now: now, Limit: 10})
	check("Purge", err)
	check("Enqueue", s.Enqueue(ctx, []belfry.Job{{ID: "j", Kind: belfry.JobPush, UserID: alice}}))
	_, err = s.Claim(ctx, now, time.Minute, 10)
	check("Claim", err)
	check("Settle", s.Settle(ctx, belfry.Settlement{ID: "j", Claim: "c", Done: true}))
	_, err = s.FailedJobs(ctx, belfry.JobPush, "", 10)
	check("FailedJobs", err)
	_, err = s.Revive(ctx, "j", now)
	check("Revive", err)
	check("Subscribe", s.Subscribe(ctx, alice, belfry.Subscription{Endpoint: "https://push.example/1", Created: now}))
	check("Unsubscribe", s.Unsubscribe(ctx, alice, "https://push.example/1"))
	_, err = s.SubscriptionsOf(ctx, alice)
	check("SubscriptionsOf", err)

	dropDatabase(t, base, c.Database)
}

func TestClosed(t *testing.T) {
	s := openOne(t)
	s.Close()
	err := s.Create(t.Context(), []*belfry.Notification{{UserID: "u", Message: "m"}})
	if belfry.ErrorCode(err) != belfry.EUNAVAILABLE {
		t.Fatalf("Create after Close: %v, want %s", err, belfry.EUNAVAILABLE)
	}
}

// TestCancelledBeforeTaken: a context that has ended writes nothing.
func TestCancelledContext(t *testing.T) {
	s := openOne(t)
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	n := &belfry.Notification{UserID: "bob", Message: "m"}
	if err := s.Create(ctx, []*belfry.Notification{n}); belfry.ErrorCode(err) != belfry.EUNAVAILABLE {
		t.Fatalf("Create with a cancelled context: %v, want %s", err, belfry.EUNAVAILABLE)
	}
	if got, err := s.After(t.Context(), "bob", 0, 10); err != nil || len(got) != 0 {
		t.Fatalf("After: %v, %v; want nothing stored", got, err)
	}
}

// TestLaravelDocument checks the stored field names and types, and that a
// document written by another application (data as an embedded document,
// optional fields absent) reads back.
func TestLaravelDocument(t *testing.T) {
	s := openOne(t)
	ctx := t.Context()
	n := &belfry.Notification{UserID: "42", Message: "hi", Link: "/x", Data: []byte(`{"a":1}`)}
	if err := s.Create(ctx, []*belfry.Notification{n}); err != nil {
		t.Fatal(err)
	}
	var raw bson.M
	if err := s.notes.FindOne(ctx, bson.D{{Key: "user_id", Value: "42"}}).Decode(&raw); err != nil {
		t.Fatal(err)
	}
	for k, want := range map[string]any{"user_id": "42", "seq": int64(1), "message": "hi", "link": "/x",
		"read_at": nil, "data": `{"a":1}`} {
		if raw[k] != want {
			t.Errorf("stored %s = %#v (%T), want %#v", k, raw[k], raw[k], want)
		}
	}
	for _, k := range []string{"created_at", "updated_at"} {
		if _, ok := raw[k].(bson.DateTime); !ok {
			t.Errorf("stored %s = %#v (%T), want a BSON date", k, raw[k], raw[k])
		}
	}
	if _, ok := raw["title"]; ok {
		t.Errorf("empty title stored as %#v, want no field", raw["title"])
	}

	created := time.Date(2026, 1, 2, 3, 4, 5, 6e6, time.UTC)
	_, err := s.notes.InsertOne(ctx, bson.D{{Key: "user_id", Value: "43"}, {Key: "seq", Value: int64(1)},
		{Key: "message", Value: "from laravel"}, {Key: "data", Value: bson.D{{Key: "k", Value: "v"}, {Key: "n", Value: int32(2)}}},
		{Key: "created_at", Value: created}})
	if err != nil {
		t.Fatal(err)
	}
	got, err := s.After(ctx, "43", 0, 10)
	if err != nil || len(got) != 1 {
		t.Fatalf("After: %v, %v", got, err)
	}
	if g := got[0]; g.Message != "from laravel" || string(g.Data) != `{"k":"v","n":2}` || !g.CreatedAt.Equal(created) || g.ReadAt != nil {
		t.Fatalf("read back %+v (data %s)", g, g.Data)
	}
	// Its counter is missing: the first Create repairs from the stored ids.
	m := &belfry.Notification{UserID: "43", Message: "next"}
	if err := s.Create(ctx, []*belfry.Notification{m}); err != nil || m.ID != 2 {
		t.Fatalf("Create after a foreign insert: id %d, %v; want 2", m.ID, err)
	}
}

// proxy forwards TCP connections to a target until cut.
type proxy struct {
	l     net.Listener
	mu    sync.Mutex
	conns []net.Conn
	wg    sync.WaitGroup
}

func startProxy(t *testing.T, target string) *proxy {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &proxy{l: l}
	p.wg.Go(func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			u, err := net.Dial("tcp", target)
			if err != nil {
				c.Close()
				continue
			}
			p.mu.Lock()
			p.conns = append(p.conns, c, u)
			p.mu.Unlock()
			p.wg.Go(func() { io.Copy(u, c); u.Close() })
			p.wg.Go(func() { io.Copy(c, u); c.Close() })
		}
	})
	t.Cleanup(p.cut)
	return p
}

func (p *proxy) addr() string { return p.l.Addr().String() }

// cut closes the listener and every connection, and waits for the copies.
func (p *proxy) cut() {
	p.l.Close()
	p.mu.Lock()
	for _, c := range p.conns {
		c.Close()
	}
	p.conns = nil
	p.mu.Unlock()
	p.wg.Wait()
}

// hostOf returns host:port of a single-host mongodb:// URI without
// credentials, or skips the test.
func hostOf(t *testing.T, uri string) string {
	u, err := url.Parse(uri)
	if err != nil || u.Scheme != "mongodb" || u.User != nil || strings.Contains(u.Host, ",") {
		t.Skipf("this test needs a mongodb:// URI with one host and no credentials")
	}
	return u.Host
}
