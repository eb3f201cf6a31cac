package brokertest

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/belfry/belfry"
)

// ProbeCategory marks the probe notifications the suite publishes to learn
// that a subscription took effect. The Recorder counts them apart.
const ProbeCategory = "brokertest-probe"

// Timeout bounds every wait of the suite: a broker that has not delivered
// by then has failed.
const Timeout = 30 * time.Second

// pollEvery is how often a wait checks its condition (and re-publishes
// probes).
const pollEvery = 5 * time.Millisecond

// Recorder is a belfry.Receiver that records what it is given. Receive takes
// the Recorder's lock, as the Hub's Receive takes a shard lock; Hold runs a
// function under that same lock, to call Subscribe as the Hub does.
type Recorder struct {
	mu      sync.Mutex
	msgs    map[string][]belfry.Message // per user, probes excluded
	probes  map[string]int              // per user
	total   int                         // messages received, probes excluded
	resyncs int
}

var _ belfry.Receiver = (*Recorder)(nil)

// NewRecorder returns an empty Recorder.
func NewRecorder() *Recorder {
	return &Recorder{msgs: make(map[string][]belfry.Message), probes: make(map[string]int)}
}

// Receive records m.
func (r *Recorder) Receive(m belfry.Message) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if isProbe(m) {
		r.probes[m.UserID]++
		return
	}
	r.msgs[m.UserID] = append(r.msgs[m.UserID], m)
	r.total++
}

// Resync counts the call.
func (r *Recorder) Resync() {
	r.mu.Lock()
	r.resyncs++
	r.mu.Unlock()
}

// Hold runs fn while holding the lock Receive takes.
func (r *Recorder) Hold(fn func()) {
	r.mu.Lock()
	defer r.mu.Unlock()
	fn()
}

// Messages returns a copy of the messages received for user, probes
// excluded, in the order received.
func (r *Recorder) Messages(user string) []belfry.Message {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]belfry.Message(nil), r.msgs[user]...)
}

// Count returns how many messages were received for user, probes excluded.
func (r *Recorder) Count(user string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.msgs[user])
}

// Total returns how many messages were received for any user, probes
// excluded.
func (r *Recorder) Total() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.total
}

// Probes returns how many probes were received for user.
func (r *Recorder) Probes(user string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.probes[user]
}

// Resyncs returns how many times Resync was called.
func (r *Recorder) Resyncs() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.resyncs
}

// Probe returns a probe message for user.
func Probe(user string) belfry.Message {
	return belfry.Message{Kind: belfry.KindNew, UserID: user, New: &belfry.Notification{
		UserID: user, Message: "probe", Category: ProbeCategory}}
}

func isProbe(m belfry.Message) bool {
	return m.Kind == belfry.KindNew && m.New != nil && m.New.Category == ProbeCategory
}

// Start runs b.Run(ctx, r) in a goroutine until the test ends; the cleanup
// cancels it and fails the test unless Run returns nil within Timeout. The
// returned channel receives Run's result (once).
func Start(t testing.TB, b belfry.Broker, r belfry.Receiver) <-chan error {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	result := make(chan error, 1)
	go func() {
		err := b.Run(ctx, r)
		done <- err
		result <- err
	}()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("Run returned %v, want nil once its context ended", err)
			}
		case <-time.After(Timeout):
			t.Errorf("Run did not return within %v of its context ending", Timeout)
		}
	})
	return result
}

// Eventually polls cond until it holds, and fails the test with what if it
// does not within Timeout.
func Eventually(t testing.TB, what string, cond func() bool) {
	t.Helper()
	if !poll(Timeout, func() bool { return cond() }) {
		t.Fatalf("timed out after %v waiting for %s", Timeout, what)
	}
}

func poll(limit time.Duration, cond func() bool) bool {
	deadline := time.NewTimer(limit)
	defer deadline.Stop()
	tick := time.NewTicker(pollEvery)
	defer tick.Stop()
	for !cond() {
		select {
		case <-deadline.C:
			return cond()
		case <-tick.C:
		}
	}
	return true
}

// AwaitSubscribed subscribes b to users and publishes probes through pub
// until r has received one for each user: then the subscriptions are in
// effect. pub is usually b, or another node on the same backend.
func AwaitSubscribed(t testing.TB, b, pub belfry.Broker, r *Recorder, users ...string) {
	t.Helper()
	for _, u := range users {
		b.Subscribe(u)
	}
	AwaitProbes(t, pub, r, users...)
}

// AwaitProbes publishes probes through pub until r has received one for
// each user (that were not already probed), and fails the test if that takes
// longer than Timeout. Publish errors are retried: the broker may be
// reconnecting.
func AwaitProbes(t testing.TB, pub belfry.Broker, r *Recorder, users ...string) {
	t.Helper()
	before := make(map[string]int, len(users))
	for _, u := range users {
		before[u] = r.Probes(u)
	}
	var lastErr error
	ok := poll(Timeout, func() bool {
		var batch []belfry.Message
		for _, u := range users {
			if r.Probes(u) == before[u] {
				batch = append(batch, Probe(u))
			}
		}
		if len(batch) == 0 {
			return true
		}
		ctx, cancel := context.WithTimeout(context.Background(), Timeout)
		defer cancel()
		if err := pub.Publish(ctx, batch); err != nil {
			lastErr = err
		}
		return false
	})
	if !ok {
		var missing []string
		for _, u := range users {
			if r.Probes(u) == before[u] {
				missing = append(missing, u)
			}
		}
		t.Fatalf("no probe arrived within %v for %d of %d users (first %q); last Publish error: %v",
			Timeout, len(missing), len(users), missing[0], lastErr)
	}
}
