package main

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/url"
	"os"
	"testing"
	"time"

	"github.com/belfry/belfry/internal/pgtest"
)

// postgresURL returns a URL of BELFRY_TEST_POSTGRES whose search_path is a
// fresh schema, dropped when the test ends; it skips visibly when the
// variable is unset.
func postgresURL(t *testing.T) string { return pgtest.Schema(t, "belfry_cmd_") }

// TestServeWithPostgres: --store postgres://… serves, and a restarted
// server continues the user's ids where the database left them.
func TestServeWithPostgres(t *testing.T) {
	store := postgresURL(t)
	s := startServer(t, t.TempDir(), "--store", store)
	for i := 1; i <= 2; i++ {
		send(t, s.url, "alice", fmt.Sprintf("n%d", i))
	}
	addr := s.url[len("http://"):]
	s.shutdown(t)
	s2 := startServer(t, t.TempDir(), "--store", store, "--addr", addr)
	send(t, s2.url, "alice", "n3")
	out, _ := startTail(t, s2.url, "alice", "0")
	waitUntil(t, 30*time.Second, "the replay", func() bool { return countEvents(out.lines(), "sync") == 1 })
	ids, msgs := notificationsIn(t, out.lines())
	if fmt.Sprint(ids) != "[1 2 3]" || fmt.Sprint(msgs) != "[n1 n2 n3]" {
		t.Fatalf("replay shows %v %v", ids, msgs)
	}
}

// mongodbURL returns BELFRY_TEST_MONGODB with a fresh database name as its
// path; it skips visibly when the variable is unset.
func mongodbURL(t *testing.T) string {
	t.Helper()
	base := os.Getenv("BELFRY_TEST_MONGODB")
	if base == "" {
		t.Skip("BELFRY_TEST_MONGODB is not set (a mongodb:// URL; tools/ferretdb starts one)")
	}
	u, err := url.Parse(base)
	if err != nil {
		t.Fatal(err)
	}
	var b [6]byte
	rand.Read(b[:])
	u.Path = "/belfry_cmd_" + hex.EncodeToString(b[:])
	return u.String()
}

// TestServeWithMongoDB: --store mongodb://… serves and replays.
func TestServeWithMongoDB(t *testing.T) {
	store := mongodbURL(t)
	s := startServer(t, t.TempDir(), "--store", store)
	for i := 1; i <= 3; i++ {
		send(t, s.url, "alice", fmt.Sprintf("n%d", i))
	}
	out, _ := startTail(t, s.url, "alice", "1")
	waitUntil(t, 30*time.Second, "the replay", func() bool { return countEvents(out.lines(), "sync") == 1 })
	ids, msgs := notificationsIn(t, out.lines())
	if fmt.Sprint(ids) != "[2 3]" || fmt.Sprint(msgs) != "[n2 n3]" {
		t.Fatalf("replay after 1 shows %v %v", ids, msgs)
	}
}

// TestServeTwoNodesRedis: two servers share a PostgreSQL store and a Redis
// broker, as behind a load balancer. A notification published on one node
// reaches a stream on the other, and a tail that moves from one node to
// the other resumes exactly.
func TestServeTwoNodesRedis(t *testing.T) {
	redisURL := os.Getenv("BELFRY_TEST_REDIS")
	if redisURL == "" {
		t.Skip("BELFRY_TEST_REDIS is not set (e.g. redis://127.0.0.1:6379/0)")
	}
	store := postgresURL(t)
	var b [6]byte
	rand.Read(b[:])
	prefix := "belfry-cmd-test-" + hex.EncodeToString(b[:]) + ":"
	args := []string{"--store", store, "--broker", redisURL, "--redis-prefix", prefix}
	a := startServer(t, t.TempDir(), args...)
	bNode := startServer(t, t.TempDir(), args...)

	out, _ := startTail(t, bNode.url, "alice", "")
	waitUntil(t, 30*time.Second, "the sync event", func() bool { return countEvents(out.lines(), "sync") == 1 })
	send(t, a.url, "alice", "n1")
	send(t, a.url, "alice", "n2")
	waitUntil(t, 30*time.Second, "2 notifications on the other node", func() bool {
		return countEvents(out.lines(), "new-notification") == 2
	})

	// Node B goes away (n3 is published meanwhile) and a new node C takes
	// its address: the tail resumes there with Last-Event-ID, and gets what
	// is published on either node.
	addrB := bNode.url[len("http://"):]
	bNode.shutdown(t)
	send(t, a.url, "alice", "n3")
	c := startServer(t, t.TempDir(), append(args, "--addr", addrB)...)
	send(t, c.url, "alice", "n4")
	send(t, a.url, "alice", "n5")
	waitUntil(t, 30*time.Second, "5 notifications", func() bool {
		return countEvents(out.lines(), "new-notification") >= 5
	})
	ids, msgs := notificationsIn(t, out.lines())
	if fmt.Sprint(ids) != "[1 2 3 4 5]" || fmt.Sprint(msgs) != "[n1 n2 n3 n4 n5]" {
		t.Fatalf("tail shows %v %v", ids, msgs)
	}
}
