package e2e

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// scenario is one multi-node run: nodes on one store and one Redis,
// streams spread over them, publishers sending to random nodes, and
// failures injected while the load runs.
type scenario struct {
	t       *testing.T
	c       *cluster
	redis   *redisServer
	users   []string
	perUser int // streams per user
	// stopStore and startStore take the database away and bring it back;
	// nil skips the database phase.
	stopStore, startStore func()
	// allOrNone: a publish to several users is stored for all or none (a
	// store with transactions).
	allOrNone bool
	// min503 is how many 503 answers the database phase waits for: a
	// store that answers 503 only after its write timeout gets fewer.
	min503 int

	streams []*sseClient

	mu        sync.Mutex
	attempted map[string][]string         // message → users
	acked     map[string]map[string]int64 // message → user → id, on 201
	unknown   int                         // publishes with no answer (a node killed under them)
	s503      int                         // clean 503 unavailable answers
	slow503   time.Duration               // the longest a 503 took
	bad       []string                    // answers that are neither 201 nor a clean 503
	ackCount  atomic.Int64
}

func newScenario(t *testing.T, c *cluster, redis *redisServer, users, perUser int) *scenario {
	s := &scenario{t: t, c: c, redis: redis, perUser: perUser,
		attempted: map[string][]string{}, acked: map[string]map[string]int64{}, min503: 20}
	for u := range users {
		s.users = append(s.users, fmt.Sprintf("user-%d", u))
	}
	return s
}

// publisher sends until ctx ends: each publish goes to a random live
// node, for one random user, or every fifth for two users at once.
func (s *scenario) publisher(ctx context.Context, p int) {
	tick := time.NewTicker(15 * time.Millisecond) // pace: a bounded load
	defer tick.Stop()
	for i := 0; ctx.Err() == nil; i++ {
		n := s.c.live()
		if n == nil {
			return
		}
		users := []string{s.users[rand.IntN(len(s.users))]}
		if i%5 == 4 {
			other := s.users[rand.IntN(len(s.users))]
			if other != users[0] {
				users = append(users, other)
			}
		}
		msg := fmt.Sprintf("p%d-%d", p, i)
		s.mu.Lock()
		s.attempted[msg] = users
		s.mu.Unlock()
		t0 := time.Now()
		res := publish(context.WithoutCancel(ctx), n, users, msg)
		took := time.Since(t0)
		s.mu.Lock()
		switch {
		case res.status == 201 && res.err == nil && len(res.ids) == len(users):
			s.acked[msg] = res.ids
			s.ackCount.Add(1)
		case res.status == 0 && !n.alive.Load():
			s.unknown++ // the node was killed under the request
		case res.status == 503 && res.code == "unavailable":
			s.s503++
			s.slow503 = max(s.slow503, took)
		default:
			if len(s.bad) < 20 {
				s.bad = append(s.bad, fmt.Sprintf("%s to %s: status %d code %q err %v", msg, n.name, res.status, res.code, res.err))
			}
		}
		s.mu.Unlock()
		select {
		case <-ctx.Done():
		case <-tick.C:
		}
	}
}

func (s *scenario) count503() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.s503
}

// waitAcked waits until n publishes were acknowledged in all.
func (s *scenario) waitAcked(n int64) {
	s.t.Helper()
	waitFor(s.t, 90*time.Second, fmt.Sprintf("%d acknowledged publishes", n), func() bool { return s.ackCount.Load() >= n })
}

// waitReady waits until every live node's /readyz answers 200.
func (s *scenario) waitReady(what string) {
	s.t.Helper()
	for _, n := range s.c.liveNodes() {
		waitFor(s.t, 60*time.Second, n.name+" ready "+what, func() bool { st, _ := n.ready(); return st == 200 })
	}
}

// waitStreamsSynced waits until every stream is connected and synced.
func (s *scenario) waitStreamsSynced(what string) {
	s.t.Helper()
	for _, st := range s.streams {
		waitFor(s.t, 60*time.Second, st.user+" stream synced "+what, func() bool {
			_, _, synced, on := st.snapshot()
			return synced && on != nil && on.alive.Load()
		})
	}
}

func (s *scenario) run(killNode, restartRedis bool) {
	t := s.t
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var clients sync.WaitGroup
	defer clients.Wait()
	defer cancel()

	// Streams: each user's streams start on different nodes.
	for u, user := range s.users {
		for j := range s.perUser {
			st := newSSEClient(t, s.c, user, s.c.nodes[(u+j)%len(s.c.nodes)])
			s.streams = append(s.streams, st)
			clients.Go(func() { st.run(ctx) })
		}
	}
	s.waitStreamsSynced("at start")

	pubCtx, stopPublishers := context.WithCancel(ctx)
	var pubs sync.WaitGroup
	for p := range 4 {
		pubs.Go(func() { s.publisher(pubCtx, p) })
	}
	step := int64(60)
	next := step

	if killNode {
		s.waitAcked(next)
		victim := s.c.nodes[len(s.c.nodes)-1]
		t.Logf("%v: kill -9 %s", time.Now().Format("15:04:05.000"), victim.name)
		victim.kill(t)
		s.waitStreamsSynced("after kill -9") // its streams are on other nodes now
		next += step
	}

	if restartRedis {
		s.waitAcked(next)
		t.Logf("%v: restarting Redis", time.Now().Format("15:04:05.000"))
		s.redis.stop()
		for _, n := range s.c.liveNodes() {
			waitFor(t, 30*time.Second, n.name+" /readyz to report the broker", func() bool {
				st, body := n.ready()
				return st == 503 && strings.Contains(body, `"code":"unavailable"`) &&
					!strings.Contains(body, `"broker":"ok"`) && strings.Contains(body, `"store":"ok"`)
			})
		}
		s.redis.start(t)
		s.waitReady("after Redis returned")
		next = s.ackCount.Load() + step
	}

	if s.stopStore != nil {
		s.waitAcked(next)
		// Streams open now must survive the outage: same connection.
		s.waitStreamsSynced("before the database stops")
		before := map[*sseClient]int{}
		for _, st := range s.streams {
			_, before[st], _, _ = st.snapshot()
		}
		t.Logf("%v: stopping the database", time.Now().Format("15:04:05.000"))
		base503 := s.count503()
		s.stopStore()
		stopped := time.Now()
		// The outage lasts at least 3s, and until the publishers saw it.
		waitFor(t, 90*time.Second, "publishes answered 503 unavailable", func() bool {
			return s.count503() >= base503+s.min503 && time.Since(stopped) >= 3*time.Second
		})
		for _, n := range s.c.liveNodes() {
			var last string
			defer func() { t.Logf("%s /readyz while the database was down: %s", n.name, last) }()
			waitFor(t, 30*time.Second, n.name+" /readyz to report the store", func() bool {
				st, body := n.ready()
				last = fmt.Sprint(st, " ", body)
				return st == 503 && strings.Contains(body, `"code":"unavailable"`) &&
					!strings.Contains(body, `"store":"ok"`) && strings.Contains(body, `"broker":"ok"`)
			})
		}
		s.startStore()
		s.waitReady("after the database returned")
		for _, st := range s.streams {
			if _, n, _, _ := st.snapshot(); n != before[st] {
				t.Errorf("a %s stream reconnected while the database was down (%d connections, %d before)",
					st.user, n, before[st])
			}
		}
		next = s.ackCount.Load() + step
	}

	s.waitAcked(next)
	stopPublishers()
	pubs.Wait()

	// The store's view, through a live node.
	reader := s.c.live()
	stored := map[string][]notification{}
	for _, u := range s.users {
		stored[u] = listAll(t, reader, u)
	}
	// Every stream catches up with its user's last id, then stops.
	for _, st := range s.streams {
		ns := stored[st.user]
		var last int64
		if len(ns) > 0 {
			last = ns[len(ns)-1].ID
		}
		waitFor(t, 60*time.Second, fmt.Sprintf("a %s stream to reach id %d", st.user, last), func() bool {
			return st.lastID() >= last
		})
	}
	cancel()
	clients.Wait()
	s.check(stored)
}

// check compares what the streams received, what the publishers were
// told, and what the store holds.
func (s *scenario) check(stored map[string][]notification) {
	t := s.t
	s.mu.Lock()
	defer s.mu.Unlock()
	t.Logf("%d publishes attempted, %d acknowledged, %d clean 503 (the slowest in %v), %d unanswered (node killed)",
		len(s.attempted), len(s.acked), s.s503, s.slow503.Round(time.Millisecond), s.unknown)
	for _, b := range s.bad {
		t.Errorf("a publish got neither 201 nor a clean 503: %s", b)
	}
	total := 0
	// Where each stored message is, per user.
	where := map[string]map[string]int64{}
	for user, ns := range stored {
		total += len(ns)
		for i, n := range ns {
			if i > 0 && n.ID <= ns[i-1].ID {
				t.Errorf("%s: ids out of order in the store: %d after %d", user, n.ID, ns[i-1].ID)
			}
			users, ok := s.attempted[n.Message]
			if !ok || !contains(users, user) {
				t.Errorf("%s: the store holds %q (id %d), never published to this user", user, n.Message, n.ID)
				continue
			}
			if n.Link != "/l/"+n.Message || n.Data["m"] != n.Message {
				t.Errorf("%s: notification %d is half-written: %+v", user, n.ID, n)
			}
			if where[n.Message] == nil {
				where[n.Message] = map[string]int64{}
			}
			if _, dup := where[n.Message][user]; dup {
				t.Errorf("%s: %q stored twice", user, n.Message)
			}
			where[n.Message][user] = n.ID
		}
	}
	for msg, ids := range s.acked {
		for user, id := range ids {
			if got, ok := where[msg][user]; !ok || got != id {
				t.Errorf("%q was acknowledged to %s with id %d; the store has id %d (present: %v)", msg, user, id, got, ok)
			}
		}
	}
	if s.allOrNone {
		for msg, got := range where {
			if len(got) != len(s.attempted[msg]) {
				t.Errorf("%q to %v is stored for %d of its users only", msg, s.attempted[msg], len(got))
			}
		}
	}
	if total == 0 {
		t.Fatal("nothing was stored")
	}
	for _, st := range s.streams {
		for _, b := range st.badOpens {
			t.Errorf("opening a %s stream got neither 200 nor a clean 503: %s", st.user, b)
		}
	}
	for _, st := range s.streams {
		ids, connects, _, _ := st.snapshot()
		ns := stored[st.user]
		if len(ids) != len(ns) {
			t.Errorf("a %s stream received %d notifications, the store holds %d (%d connections)", st.user, len(ids), len(ns), connects)
		}
		for i, id := range ids {
			if i > 0 && id <= ids[i-1] {
				t.Errorf("a %s stream received id %d after %d (duplicate or out of order)", st.user, id, ids[i-1])
				break
			}
			if i < len(ns) && ns[i].ID != id {
				t.Errorf("a %s stream's notification #%d is id %d, the store's is %d", st.user, i, id, ns[i].ID)
				break
			}
		}
	}
	if t.Failed() {
		for _, n := range s.c.nodes {
			t.Logf("%s log: %s", n.name, n.tail())
			if os.Getenv("BELFRY_E2E_KEEP_LOGS") != "" {
				b, _ := os.ReadFile(n.log)
				_ = os.WriteFile(filepath.Join(os.TempDir(), "belfry-e2e-"+n.name+".log"), b, 0o644)
			}
		}
		for _, st := range s.streams {
			if len(st.errs) > 0 {
				t.Logf("%s stream errors: %v", st.user, st.errs)
			}
		}
	}
}

func contains(xs []string, x string) bool {
	for _, y := range xs {
		if y == x {
			return true
		}
	}
	return false
}

// TestMultiNodePostgres: three nodes on one PostgreSQL and one Redis;
// kill -9 a node, restart Redis, stop the database for a while, under load.
func TestMultiNodePostgres(t *testing.T) {
	pg := needPostgres(t)
	needRedis(t)
	redis := startRedis(t)
	store := pg.newDatabase(t)
	c := &cluster{}
	for i := range 3 {
		// node1 serves streams with a goroutine each (--lean=false), the
		// others on hijacked connections (the default): both paths meet.
		c.nodes = append(c.nodes, startNode(t, fmt.Sprintf("node%d", i), "--store", store,
			"--broker", redis.url(), fmt.Sprintf("--lean=%v", i != 1)))
	}
	s := newScenario(t, c, redis, 6, 3)
	s.allOrNone = true
	s.stopStore = func() {
		if err := pg.halt(); err != nil {
			t.Fatal(err)
		}
	}
	s.startStore = func() {
		if err := pg.start(); err != nil {
			t.Fatal(err)
		}
	}
	s.run(true, true)
}

// TestMultiNodeMongoDB: the same on FerretDB: kill -9 a node, restart
// Redis, kill FerretDB for a while and start it again.
func TestMultiNodeMongoDB(t *testing.T) {
	bin := needFerretDB(t)
	needRedis(t)
	redis := startRedis(t)
	f := startFerret(t, bin)
	c := &cluster{}
	for i := range 3 {
		c.nodes = append(c.nodes, startNode(t, fmt.Sprintf("node%d", i), "--store", f.url("e2e"), "--broker", redis.url()))
	}
	s := newScenario(t, c, redis, 6, 3)
	s.min503 = 4 // a Create gives up after the store's 15s write timeout
	s.stopStore = func() { f.stop() }
	s.startStore = func() { f.start(t) }
	s.run(true, true)
}
