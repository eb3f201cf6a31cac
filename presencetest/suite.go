package presencetest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/belfry/belfry"
)

// Timeout bounds every wait of the suite: an implementation that has not
// shown a change by then has failed.
const Timeout = 30 * time.Second

// pollEvery is how often a wait checks its condition.
const pollEvery = 5 * time.Millisecond

// Node is what open is given to create one node's Presence.
type Node struct {
	// Now is the node's clock: Since, LastSeen and the liveness of nodes
	// (PresenceTimeout) are read from it. The suite moves it by hand.
	Now func() time.Time
	// Cluster names the nodes that share state: the nodes of one subtest
	// have the same Cluster, and no other subtest's nodes have it.
	Cluster string
}

// Open returns a new node's Presence. It is the type of Run's open. The
// suite starts and stops the node's Run itself; open registers any Close
// with t.Cleanup.
type Open = func(t *testing.T, n Node) belfry.Presence

// Option changes what Run checks.
type Option func(*config)

type config struct{ multiNode bool }

// MultiNode declares that the Presences open returns for one Cluster are
// separate nodes on one shared backend, which enables the multi-node cases.
func MultiNode() Option { return func(c *config) { c.multiNode = true } }

// Run runs every conformance case against nodes that open returns, one
// subtest each. See the package documentation.
func Run(t *testing.T, open Open, opts ...Option) {
	var cfg config
	for _, o := range opts {
		o(&cfg)
	}
	tests := []struct {
		name  string
		multi bool
		fn    func(t *testing.T, e *Env)
	}{
		{"CountsAndSince", false, testCounts},
		{"LastSeen", false, testLastSeen},
		{"NeverSeen", false, testNeverSeen},
		{"OrderAndDuplicates", false, testOrder},
		{"Announce", false, testAnnounce},
		{"ChangesOnTransitions", false, testChanges},
		{"TrackBeforeRun", false, testTrackBeforeRun},
		{"Lookup100Users", false, testMany},
		{"ConcurrentTrack", false, testConcurrent},
		{"ClusterCounts", true, testClusterCounts},
		{"ClusterAnnounce", true, testClusterAnnounce},
		{"DeadNodeStopsCounting", true, testDeadNode},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if tc.multi && !cfg.multiNode {
				t.Skip("single-node presence: the multi-node cases need presencetest.MultiNode()")
			}
			tc.fn(t, NewEnv(t, open))
		})
	}
}

// Env is one subtest's cluster: its clock, its user ids and the way to
// open its nodes. It is exported for an implementation's own tests.
type Env struct {
	Clock   *Clock
	Cluster string
	open    Open
}

// NewEnv returns a new cluster, with a Clock and a Cluster name of its own.
func NewEnv(t *testing.T, open Open) *Env {
	return &Env{Clock: NewClock(), Cluster: randomID(t), open: open}
}

// Node opens a node of the cluster without starting its Run.
func (e *Env) Node(t *testing.T) belfry.Presence {
	t.Helper()
	p := e.open(t, Node{Now: e.Clock.Now, Cluster: e.Cluster})
	if p == nil {
		t.Fatal("open returned a nil Presence")
	}
	return p
}

// User returns the subtest's user id for name. Ids hold ':' and '%', which
// key-value stores often use as separators.
func (e *Env) User(name string) string { return "pt:" + e.Cluster + "%" + name }

func randomID(t *testing.T) string {
	var b [6]byte
	if _, err := rand.Read(b[:]); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(b[:])
}

// Clock is a clock moved by hand, in whole milliseconds (what stores keep).
type Clock struct {
	mu sync.Mutex
	t  time.Time
}

// NewClock returns a Clock at a fixed time.
func NewClock() *Clock {
	return &Clock{t: time.Date(2026, 3, 4, 5, 6, 7, 8_000_000, time.UTC)}
}

// Now returns the Clock's time.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

// Advance moves the Clock forward by d, rounded to the millisecond, and
// returns the new time.
func (c *Clock) Advance(d time.Duration) time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d.Round(time.Millisecond))
	return c.t
}

// Start runs p.Run in a goroutine and returns a function that cancels it
// and waits for it to return; Run must then return nil. The function is
// also registered with t.Cleanup, and may be called more than once.
func Start(t testing.TB, p belfry.Presence) (stop func()) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- p.Run(ctx) }()
	var once sync.Once
	stop = func() {
		once.Do(func() {
			cancel()
			select {
			case err := <-done:
				if err != nil {
					t.Errorf("Run returned %v after its context ended, want nil", err)
				}
			case <-time.After(Timeout):
				t.Errorf("Run did not return within %v after its context ended", Timeout)
			}
		})
	}
	t.Cleanup(stop)
	return stop
}

// Lookup calls p.Lookup and fails the test on error or on an answer that
// does not list the users asked, in order.
func Lookup(t testing.TB, p belfry.Presence, users ...string) []belfry.UserPresence {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), Timeout)
	defer cancel()
	got, err := p.Lookup(ctx, users)
	if err != nil {
		t.Fatalf("Lookup(%q): %v", users, err)
	}
	if len(got) != len(users) {
		t.Fatalf("Lookup(%d users) returned %d answers", len(users), len(got))
	}
	for i := range got {
		if got[i].UserID != users[i] {
			t.Fatalf("Lookup answer %d is for %q, want %q", i, got[i].UserID, users[i])
		}
	}
	return got
}

// Await polls Lookup until every user's presence is as wanted (compared by
// Equal) and fails the test if it is not within Timeout.
func Await(t testing.TB, p belfry.Presence, want ...belfry.UserPresence) {
	t.Helper()
	users := make([]string, len(want))
	for i := range want {
		users[i] = want[i].UserID
	}
	deadline := time.Now().Add(Timeout)
	for {
		got := Lookup(t, p, users...)
		bad := -1
		for i := range got {
			if !Equal(got[i], want[i]) {
				bad = i
				break
			}
		}
		if bad < 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("after %v, Lookup says\n  %s\nwant\n  %s", Timeout, Format(got[bad]), Format(want[bad]))
		}
		time.Sleep(pollEvery) // polling interval, not a wait for an event
	}
}

// Equal reports whether two presences are the same, times compared with
// time.Time.Equal.
func Equal(a, b belfry.UserPresence) bool {
	return a.UserID == b.UserID && a.Online == b.Online && a.Streams == b.Streams &&
		a.Since.Equal(b.Since) && a.LastSeen.Equal(b.LastSeen)
}

// Format renders a presence for a failure message.
func Format(u belfry.UserPresence) string {
	f := func(t time.Time) string {
		if t.IsZero() {
			return "zero"
		}
		return t.UTC().Format(time.RFC3339Nano)
	}
	return fmt.Sprintf("%s: online=%t streams=%d since=%s last_seen=%s",
		u.UserID, u.Online, u.Streams, f(u.Since), f(u.LastSeen))
}

// AwaitChange receives from ch until user arrives, skipping other users,
// and fails the test if it does not within Timeout.
func AwaitChange(t testing.TB, ch <-chan string, user string) {
	t.Helper()
	timer := time.NewTimer(Timeout)
	defer timer.Stop()
	for {
		select {
		case u := <-ch:
			if u == user {
				return
			}
		case <-timer.C:
			t.Fatalf("%q did not arrive on Changes within %v", user, Timeout)
		}
	}
}

// Online is the presence of a user online with streams since since.
func Online(user string, streams int, since time.Time) belfry.UserPresence {
	return belfry.UserPresence{UserID: user, Online: true, Streams: streams, Since: since}
}

// Offline is the presence of a user offline, last seen at lastSeen (zero:
// never seen).
func Offline(user string, lastSeen time.Time) belfry.UserPresence {
	return belfry.UserPresence{UserID: user, LastSeen: lastSeen}
}
