package redisbus_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/belfry/belfry"
	"github.com/belfry/belfry/brokertest"
	"github.com/belfry/belfry/redisbus"
)

// redisURL returns BELFRY_TEST_REDIS or skips the test.
func redisURL(t testing.TB) string {
	u := os.Getenv("BELFRY_TEST_REDIS")
	if u == "" {
		t.Skip("BELFRY_TEST_REDIS is not set (e.g. redis://127.0.0.1:6379/0): skipping the Redis broker tests")
	}
	return u
}

// testPrefix returns a channel prefix of its own, so that tests sharing a
// Redis with anything else see only their own channels.
func testPrefix(t testing.TB) string {
	var b [6]byte
	if _, err := rand.Read(b[:]); err != nil {
		t.Fatal(err)
	}
	return "belfry-test:" + hex.EncodeToString(b[:]) + ":u:"
}

func open(t testing.TB, url string, opts redisbus.Options) *redisbus.Broker {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), brokertest.Timeout)
	defer cancel()
	b, err := redisbus.Open(ctx, url, opts)
	if err != nil {
		t.Fatalf("Open(%s): %v", url, err)
	}
	t.Cleanup(func() { b.Close() })
	return b
}

func TestBroker(t *testing.T) {
	url := redisURL(t)
	prefix := testPrefix(t)
	brokertest.Run(t, func(t *testing.T) belfry.Broker {
		return open(t, url, redisbus.Options{Prefix: prefix})
	}, brokertest.MultiNode())
}

// channels returns the channels with the prefix that have a subscriber.
func channels(t *testing.T, raw *redis.Client, prefix string) []string {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), brokertest.Timeout)
	defer cancel()
	got, err := raw.PubSubChannels(ctx, prefix+"*").Result()
	if err != nil {
		t.Fatalf("PUBSUB CHANNELS: %v", err)
	}
	slices.Sort(got)
	return got
}

func rawClient(t *testing.T, url string) *redis.Client {
	t.Helper()
	o, err := redis.ParseURL(url)
	if err != nil {
		t.Fatal(err)
	}
	c := redis.NewClient(o)
	t.Cleanup(func() { c.Close() })
	return c
}

func msg(user string, id int64) belfry.Message {
	return belfry.Message{Kind: belfry.KindNew, UserID: user, New: &belfry.Notification{
		ID: id, UserID: user, Message: fmt.Sprint("hello ", id), CreatedAt: belfry.Now(time.Now())}}
}

func publish(t *testing.T, b belfry.Broker, msgs ...belfry.Message) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), brokertest.Timeout)
	defer cancel()
	if err := b.Publish(ctx, msgs); err != nil {
		t.Fatalf("Publish: %v", err)
	}
}

// A node subscribes only to the channels of its users: PUBSUB CHANNELS shows
// exactly those, and a raw pattern subscriber sees messages of other users
// that the node does not get.
func TestOnlySubscribedChannels(t *testing.T) {
	url := redisURL(t)
	prefix := testPrefix(t)
	b := open(t, url, redisbus.Options{Prefix: prefix})
	r := brokertest.NewRecorder()
	brokertest.Start(t, b, r)
	raw := rawClient(t, url)
	ps := raw.PSubscribe(t.Context(), prefix+"*")
	t.Cleanup(func() { ps.Close() })
	if _, err := ps.Receive(t.Context()); err != nil { // the PSUBSCRIBE confirmation
		t.Fatal(err)
	}

	brokertest.AwaitSubscribed(t, b, b, r, "u1", "u2", "u3")
	b.Unsubscribe("u2")
	want := []string{prefix + "u1", prefix + "u3"}
	brokertest.Eventually(t, "PUBSUB CHANNELS to list u1 and u3 only", func() bool {
		return slices.Equal(channels(t, raw, prefix), want)
	})
	if got := b.Stats().Users; got != 2 {
		t.Fatalf("Stats().Users = %d, want 2", got)
	}

	// u2 and u4 (never subscribed) are published; u3's message is the fence.
	publish(t, b, msg("u2", 1), msg("u4", 1), msg("u3", 1))
	seen := map[string]bool{}
	for len(seen) < 3 {
		ctx, cancel := context.WithTimeout(t.Context(), brokertest.Timeout)
		m, err := ps.ReceiveMessage(ctx)
		cancel()
		if err != nil {
			t.Fatalf("raw subscriber: %v (saw %v)", err, seen)
		}
		seen[m.Channel] = true
	}
	brokertest.Eventually(t, "u3's message", func() bool { return r.Count("u3") == 1 })
	if n := r.Count("u2") + r.Count("u4"); n != 0 {
		t.Fatalf("the node received %d message(s) of users it is not subscribed to", n)
	}
}

// server is a throwaway redis-server of one test.
type server struct {
	port int
	dir  string
	cmd  *exec.Cmd
	done chan struct{}
}

// freePort returns a TCP port that was free a moment ago.
func freePort(t *testing.T) int {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// startServer starts redis-server on port (no persistence) and waits until
// it answers. The test's cleanup kills it.
func startServer(t *testing.T, port int, dir string) *server {
	t.Helper()
	log, err := os.OpenFile(filepath.Join(dir, "redis.log"), os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	defer log.Close()
	cmd := exec.Command("redis-server", "--port", strconv.Itoa(port), "--bind", "127.0.0.1",
		"--save", "", "--appendonly", "no", "--dir", dir)
	cmd.Stdout, cmd.Stderr = log, log
	if err := cmd.Start(); err != nil {
		t.Fatalf("start redis-server: %v", err)
	}
	s := &server{port: port, dir: dir, cmd: cmd, done: make(chan struct{})}
	go func() {
		cmd.Wait()
		close(s.done)
	}()
	t.Cleanup(s.kill)
	c := redis.NewClient(&redis.Options{Addr: s.addr(), MaxRetries: -1})
	defer c.Close()
	brokertest.Eventually(t, "redis-server to answer on "+s.addr(), func() bool {
		select {
		case <-s.done:
			out, _ := os.ReadFile(filepath.Join(dir, "redis.log"))
			t.Fatalf("redis-server exited: %s", out)
		default:
		}
		ctx, cancel := context.WithTimeout(t.Context(), time.Second)
		defer cancel()
		return c.Ping(ctx).Err() == nil
	})
	return s
}

func (s *server) addr() string { return "127.0.0.1:" + strconv.Itoa(s.port) }
func (s *server) url() string  { return "redis://" + s.addr() + "/0" }

// kill stops the server by its PID and waits for it to exit.
func (s *server) kill() {
	select {
	case <-s.done:
		return
	default:
	}
	thaw(s.cmd.Process) // in case it was frozen
	s.cmd.Process.Kill()
	<-s.done
}

func needServer(t *testing.T) {
	redisURL(t)
	if _, err := exec.LookPath("redis-server"); err != nil {
		t.Skip("redis-server is not on the PATH: skipping the restart test")
	}
}

// Killing Redis and starting it again: Ping and Publish fail with
// EUNAVAILABLE meanwhile (without hanging), Subscribe and Unsubscribe keep
// working, and once Redis is back the node subscribes its whole current set
// again, calls Resync, and messages flow.
func TestReconnectAfterRestart(t *testing.T) {
	needServer(t)
	port, dir := freePort(t), t.TempDir()
	srv := startServer(t, port, dir)
	b := open(t, srv.url(), redisbus.Options{MaxReconnectDelay: 100 * time.Millisecond})
	r := brokertest.NewRecorder()
	brokertest.Start(t, b, r)
	brokertest.AwaitSubscribed(t, b, b, r, "alice", "carol")
	publish(t, b, msg("alice", 1))
	brokertest.Eventually(t, "alice's first message", func() bool { return r.Count("alice") == 1 })
	resyncs := r.Resyncs()

	srv.kill()
	ctx, cancel := context.WithTimeout(t.Context(), brokertest.Timeout)
	defer cancel()
	if err := b.Ping(ctx); belfry.ErrorCode(err) != belfry.EUNAVAILABLE {
		t.Fatalf("Ping with Redis down: %v, want EUNAVAILABLE", err)
	}
	if err := b.Publish(ctx, []belfry.Message{msg("alice", 2)}); belfry.ErrorCode(err) != belfry.EUNAVAILABLE {
		t.Fatalf("Publish with Redis down: %v, want EUNAVAILABLE", err)
	}
	b.Subscribe("bob") // while down: recorded, applied on reconnect
	b.Unsubscribe("carol")

	srv = startServer(t, port, dir)
	brokertest.Eventually(t, "Resync after the restart", func() bool { return r.Resyncs() > resyncs })
	brokertest.AwaitProbes(t, b, r, "alice", "bob")
	publish(t, b, msg("alice", 3), msg("bob", 1), msg("carol", 1), msg("alice", 4))
	brokertest.Eventually(t, "messages after the restart", func() bool {
		return r.Count("alice") == 3 && r.Count("bob") == 1
	})
	if n := r.Count("carol"); n != 0 {
		t.Fatalf("%d message(s) for carol, unsubscribed while Redis was down", n)
	}
	raw := rawClient(t, srv.url())
	if got, want := channels(t, raw, "belfry:u:"), []string{"belfry:u:alice", "belfry:u:bob"}; !slices.Equal(got, want) {
		t.Fatalf("channels subscribed after the restart: %v, want %v", got, want)
	}
	if st := b.Stats(); st.Reconnects == 0 || st.Resyncs == 0 {
		t.Fatalf("Stats after a restart: %+v, want reconnects and resyncs counted", st)
	}
	if err := b.Ping(ctx); err != nil {
		t.Fatalf("Ping after the restart: %v", err)
	}
}

// A Redis that accepts connections but never answers (the process is
// stopped with SIGSTOP): Publish and Ping return EUNAVAILABLE after the
// timeout instead of hanging, the health check replaces the silent
// subscriber connection, and after SIGCONT the node resyncs.
func TestFrozenRedis(t *testing.T) {
	needServer(t)
	srv := startServer(t, freePort(t), t.TempDir())
	b := open(t, srv.url(), redisbus.Options{Timeout: time.Second,
		HealthInterval: 500 * time.Millisecond, MaxReconnectDelay: 100 * time.Millisecond})
	r := brokertest.NewRecorder()
	brokertest.Start(t, b, r)
	brokertest.AwaitSubscribed(t, b, b, r, "alice")
	resyncs := r.Resyncs()

	if err := freeze(srv.cmd.Process); err != nil {
		t.Skipf("cannot freeze redis-server here: %v", err)
	}
	ctx := t.Context() // no deadline of its own: the broker's Timeout must bound the calls
	if err := b.Publish(ctx, []belfry.Message{msg("alice", 1)}); belfry.ErrorCode(err) != belfry.EUNAVAILABLE {
		t.Fatalf("Publish to a frozen Redis: %v, want EUNAVAILABLE", err)
	}
	if err := b.Ping(ctx); belfry.ErrorCode(err) != belfry.EUNAVAILABLE {
		t.Fatalf("Ping of a frozen Redis: %v, want EUNAVAILABLE", err)
	}
	brokertest.Eventually(t, "the silent subscriber connection to be given up", func() bool {
		return b.Stats().Reconnects > 0
	})
	if err := thaw(srv.cmd.Process); err != nil {
		t.Fatal(err)
	}
	brokertest.Eventually(t, "Resync after Redis thawed", func() bool { return r.Resyncs() > resyncs })
	publish(t, b, msg("alice", 2))
	brokertest.Eventually(t, "alice's message after the thaw", func() bool { return r.Count("alice") >= 1 })
}

func TestOpenErrors(t *testing.T) {
	ctx := t.Context()
	_, err := redisbus.Open(ctx, "http://user:secret@example.com/", redisbus.Options{})
	if belfry.ErrorCode(err) != belfry.EINVALID {
		t.Fatalf("Open with an http URL: %v, want EINVALID", err)
	}
	if e := err.Error(); strings.Contains(e, "secret") {
		t.Fatalf("the error repeats the URL's password: %s", e)
	}
	// Nothing listens on a port that was free a moment ago.
	before := runtime.NumGoroutine()
	_, err = redisbus.Open(ctx, fmt.Sprintf("redis://127.0.0.1:%d/0", freePort(t)), redisbus.Options{Timeout: time.Second})
	if belfry.ErrorCode(err) != belfry.EUNAVAILABLE {
		t.Fatalf("Open with nothing listening: %v, want EUNAVAILABLE", err)
	}
	// The failed Open leaves nothing running (its publish sender included).
	brokertest.Eventually(t, "the failed Open's goroutines to end", func() bool {
		return runtime.NumGoroutine() <= before
	})
}

// userResyncs is a Recorder that also implements redisbus.UserResyncer.
type userResyncs struct {
	*brokertest.Recorder
	mu    sync.Mutex
	users map[string]int
}

func (r *userResyncs) ResyncUsers(users []string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, u := range users {
		r.users[u]++
	}
}

func (r *userResyncs) count(u string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.users[u]
}

// A Receiver that implements UserResyncer hears about each user whose
// subscription Redis confirmed, so a message published before that can be
// caught up from the store.
func TestResyncUsers(t *testing.T) {
	url := redisURL(t)
	b := open(t, url, redisbus.Options{Prefix: testPrefix(t)})
	r := &userResyncs{Recorder: brokertest.NewRecorder(), users: map[string]int{}}
	brokertest.Start(t, b, r)
	brokertest.AwaitSubscribed(t, b, b, r.Recorder, "first") // the connection is up
	b.Subscribe("late1")
	b.Subscribe("late2")
	brokertest.Eventually(t, "ResyncUsers for late1 and late2", func() bool {
		return r.count("late1") > 0 && r.count("late2") > 0
	})
}
