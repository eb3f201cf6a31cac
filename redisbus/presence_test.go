package redisbus_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/belfry/belfry"
	"github.com/belfry/belfry/presencetest"
	"github.com/belfry/belfry/redisbus"
)

// testBeat is the beat of the tests' nodes: the clock they compare with
// PresenceTimeout is moved by hand, so only how soon a change is written
// depends on it.
const testBeat = 20 * time.Millisecond

// openPresence returns a node on url whose keys begin with prefix; its
// Close, and the deletion of every key under prefix, are cleanups of t.
func openPresence(t testing.TB, url, prefix string, opts redisbus.PresenceOptions) *redisbus.Presence {
	t.Helper()
	opts.Prefix = prefix
	if opts.Beat == 0 {
		opts.Beat = testBeat
	}
	ctx, cancel := context.WithTimeout(context.Background(), presencetest.Timeout)
	defer cancel()
	p, err := redisbus.OpenPresence(ctx, url, opts)
	if err != nil {
		t.Fatalf("OpenPresence(%s): %v", url, err)
	}
	t.Cleanup(func() {
		p.Close()
		deleteKeys(t, url, prefix)
	})
	return p
}

// deleteKeys deletes the keys under prefix.
func deleteKeys(t testing.TB, url, prefix string) {
	o, err := redis.ParseURL(url)
	if err != nil {
		t.Fatal(err)
	}
	raw := redis.NewClient(o)
	defer raw.Close()
	ctx, cancel := context.WithTimeout(context.Background(), presencetest.Timeout)
	defer cancel()
	iter := raw.Scan(ctx, 0, prefix+"*", 1000).Iterator()
	for iter.Next(ctx) {
		raw.Del(ctx, iter.Val())
	}
	if err := iter.Err(); err != nil {
		t.Logf("SCAN %s* to delete the test's keys: %v", prefix, err)
	}
}

func TestPresence(t *testing.T) {
	url := redisURL(t)
	base := testPrefix(t)
	presencetest.Run(t, func(t *testing.T, n presencetest.Node) belfry.Presence {
		return openPresence(t, url, base+n.Cluster+":", redisbus.PresenceOptions{Now: n.Now})
	}, presencetest.MultiNode())
}

// A node started with the NodeID of one that stopped without cleanup
// clears its fields at once, without waiting for PresenceTimeout: the
// users are last seen at the old run's last beat, and sent on Changes.
func TestPresenceReusedNodeID(t *testing.T) {
	url, prefix := redisURL(t), testPrefix(t)
	clock := presencetest.NewClock()
	opts := redisbus.PresenceOptions{NodeID: "node-1", Now: clock.Now}
	old := openPresence(t, url, prefix, opts)
	stop := presencetest.Start(t, old)
	t0 := clock.Now()
	old.Track("alice", 2)
	presencetest.Await(t, old, presencetest.Online("alice", 2, t0))
	stop()
	clock.Advance(time.Second) // less than PresenceTimeout

	fresh := openPresence(t, url, prefix, opts)
	presencetest.Start(t, fresh)
	presencetest.AwaitChange(t, fresh.Changes(), "alice")
	if got := presencetest.Lookup(t, fresh, "alice")[0]; !presencetest.Equal(got, presencetest.Offline("alice", t0)) {
		t.Fatalf("after a restart with the same node id, Lookup says %s", presencetest.Format(got))
	}
}

// A node that was swept while alive (its Run paused longer than
// PresenceTimeout) registers again and writes all its users again when it
// resumes, with their first Since.
func TestPresenceSweptWhileAlive(t *testing.T) {
	url, prefix := redisURL(t), testPrefix(t)
	clock := presencetest.NewClock()
	paused := openPresence(t, url, prefix, redisbus.PresenceOptions{Now: clock.Now})
	other := openPresence(t, url, prefix, redisbus.PresenceOptions{Now: clock.Now})
	stop := presencetest.Start(t, paused)
	presencetest.Start(t, other)
	t0 := clock.Now()
	paused.Track("alice", 1)
	presencetest.Await(t, other, presencetest.Online("alice", 1, t0))
	stop()
	clock.Advance(belfry.PresenceTimeout + time.Second)
	presencetest.AwaitChange(t, other.Changes(), "alice")
	presencetest.Await(t, other, presencetest.Offline("alice", t0))

	presencetest.Start(t, paused)
	presencetest.Await(t, other, presencetest.Online("alice", 1, t0))
}

// Leave makes the node's users offline at once, last seen now, and the
// next sweep of another node sends them on its Changes.
func TestPresenceLeave(t *testing.T) {
	url, prefix := redisURL(t), testPrefix(t)
	clock := presencetest.NewClock()
	leaving := openPresence(t, url, prefix, redisbus.PresenceOptions{Now: clock.Now})
	other := openPresence(t, url, prefix, redisbus.PresenceOptions{Now: clock.Now})
	stop := presencetest.Start(t, leaving)
	presencetest.Start(t, other)
	t0 := clock.Now()
	leaving.Track("alice", 1)
	leaving.Track("bob", 1)
	other.Track("bob", 1)
	presencetest.Await(t, other, presencetest.Online("alice", 1, t0), presencetest.Online("bob", 2, t0))
	stop()
	t1 := clock.Advance(time.Second)
	ctx, cancel := context.WithTimeout(t.Context(), presencetest.Timeout)
	defer cancel()
	if err := leaving.Leave(ctx); err != nil {
		t.Fatalf("Leave: %v", err)
	}
	if got := presencetest.Lookup(t, other, "alice", "bob"); !presencetest.Equal(got[0], presencetest.Offline("alice", t1)) ||
		!presencetest.Equal(got[1], presencetest.Online("bob", 1, t0)) {
		t.Fatalf("right after Leave, Lookup says %s; %s", presencetest.Format(got[0]), presencetest.Format(got[1]))
	}
	presencetest.AwaitChange(t, other.Changes(), "alice")
}

// With Redis down, Lookup and Announce fail with EUNAVAILABLE and Track
// goes on counting; once Redis is back (empty: it kept nothing), the node
// writes all its users again, and a last stream that ended meanwhile.
func TestPresenceRedisRestart(t *testing.T) {
	needServer(t)
	port, dir := freePort(t), t.TempDir()
	srv := startServer(t, port, dir)
	clock := presencetest.NewClock()
	p := openPresence(t, srv.url(), "belfry:", redisbus.PresenceOptions{Now: clock.Now,
		Timeout: 500 * time.Millisecond})
	presencetest.Start(t, p)
	t0 := clock.Now()
	p.Track("alice", 1)
	p.Track("bob", 1)
	presencetest.Await(t, p, presencetest.Online("alice", 1, t0), presencetest.Online("bob", 1, t0))

	srv.kill()
	ctx, cancel := context.WithTimeout(t.Context(), presencetest.Timeout)
	defer cancel()
	if _, err := p.Lookup(ctx, []string{"alice"}); belfry.ErrorCode(err) != belfry.EUNAVAILABLE {
		t.Fatalf("Lookup with Redis down: %v, want EUNAVAILABLE", err)
	}
	if _, err := p.Announce(ctx, "alice", true); belfry.ErrorCode(err) != belfry.EUNAVAILABLE {
		t.Fatalf("Announce with Redis down: %v, want EUNAVAILABLE", err)
	}
	t1 := clock.Advance(time.Second)
	p.Track("alice", 3)
	p.Track("bob", 0)
	p.Track("carol", 1)

	startServer(t, port, dir)
	presencetest.Await(t, p, presencetest.Online("alice", 3, t0), presencetest.Offline("bob", t1),
		presencetest.Online("carol", 1, t1))
}

func TestPresenceOptionErrors(t *testing.T) {
	ctx := t.Context()
	for _, o := range []redisbus.PresenceOptions{
		{Prefix: "no-colon"},
		{NodeID: "bad\nid"},
		{NodeID: string(make([]byte, 129))},
	} {
		if _, err := redisbus.NewPresence(nil, o); belfry.ErrorCode(err) != belfry.EINVALID {
			t.Errorf("NewPresence(%+v): %v, want EINVALID", o, err)
		}
	}
	if _, err := redisbus.OpenPresence(ctx, "http://x", redisbus.PresenceOptions{}); belfry.ErrorCode(err) != belfry.EINVALID {
		t.Errorf("OpenPresence(http://x): %v, want EINVALID", err)
	}
}

// BenchmarkPresenceTrack measures Track of a count change (no transition),
// from parallel goroutines, as the Hub's shards call it.
func BenchmarkPresenceTrack(b *testing.B) {
	p, err := redisbus.NewPresence(nil, redisbus.PresenceOptions{})
	if err != nil {
		b.Fatal(err)
	}
	users := make([]string, 1024)
	for i := range users {
		users[i] = fmt.Sprint("user-", i)
		p.Track(users[i], 1)
	}
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		i := 0
		for pb.Next() {
			p.Track(users[i%len(users)], 1+i%2)
			i++
		}
	})
}

// BenchmarkPresenceTrackEdges measures a first and a last stream (the
// clock read and the writer's wake-up; nothing is written without Run).
func BenchmarkPresenceTrackEdges(b *testing.B) {
	p, err := redisbus.NewPresence(nil, redisbus.PresenceOptions{})
	if err != nil {
		b.Fatal(err)
	}
	users := make([]string, 1024)
	for i := range users {
		users[i] = fmt.Sprint("user-", i)
	}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		u := users[i%len(users)]
		p.Track(u, 1)
		p.Track(u, 0)
		i++
	}
}

// BenchmarkPresenceLookup100 looks up 100 users, 50 online on two nodes,
// in one round trip.
func BenchmarkPresenceLookup100(b *testing.B) {
	url, prefix := redisURL(b), testPrefix(b)
	n1 := openPresence(b, url, prefix, redisbus.PresenceOptions{})
	n2 := openPresence(b, url, prefix, redisbus.PresenceOptions{})
	presencetest.Start(b, n1)
	presencetest.Start(b, n2)
	users := make([]string, 100)
	for i := range users {
		users[i] = fmt.Sprint("user-", i)
		if i%2 == 0 {
			n1.Track(users[i], 1)
			n2.Track(users[i], 2)
		}
	}
	ctx := context.Background()
	for {
		got, err := n1.Lookup(ctx, users)
		if err != nil {
			b.Fatal(err)
		}
		if got[98].Streams == 3 {
			break
		}
		time.Sleep(time.Millisecond) // polling interval, not a wait for an event
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := n1.Lookup(ctx, users); err != nil {
			b.Fatal(err)
		}
	}
}
