package brokertest

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/belfry/belfry"
)

func testOrder(t *testing.T, e env) {
	b, r := e.node(t)
	alice, bob, odd := e.users.id("alice"), e.users.id("bob"), e.users.id("ünï/🔔 x:y*?[a] 42")
	AwaitSubscribed(t, b, b, r, alice, bob, odd)
	const calls, per = 20, 10
	id := int64(0)
	for range calls {
		batch := make([]belfry.Message, 0, 2*per+1)
		for range per {
			id++
			batch = append(batch, newMsg(alice, id), newMsg(bob, id))
		}
		batch = append(batch, bareMsg(odd, id/per))
		publish(t, b, batch...)
	}
	Eventually(t, "every message", func() bool {
		return r.Count(alice) == calls*per && r.Count(bob) == calls*per && r.Count(odd) == calls
	})
	for _, u := range []string{alice, bob} {
		got := r.Messages(u)
		wantIDs(t, u, got, 1, calls*per)
		for i, m := range got {
			sameMessage(t, u, m, newMsg(u, int64(i+1)))
		}
	}
	got := r.Messages(odd)
	wantIDs(t, odd, got, 1, calls)
	for i, m := range got {
		sameMessage(t, odd, m, bareMsg(odd, int64(i+1)))
	}
}

func testPayload(t *testing.T, e env) {
	b, r := e.node(t)
	alice := e.users.id("alice")
	long := e.users.id(strings.Repeat("ü", belfry.MaxUserIDLen-len([]rune(e.users.id("")))))
	if n := len([]rune(long)); n != belfry.MaxUserIDLen {
		t.Fatalf("test bug: user id of %d characters", n)
	}
	AwaitSubscribed(t, b, b, r, alice, long)

	var want []belfry.Message
	for id := int64(1); id <= 6; id++ {
		want = append(want, newMsg(alice, id))
	}
	want = append(want, bareMsg(alice, 7))
	empty := bareMsg(alice, 8)
	empty.New.Data = json.RawMessage(`{}`)
	want = append(want, empty)
	big := newMsg(alice, 9)
	big.New.Message = strings.Repeat("🔔", belfry.MaxMessageBytes/4)
	big.New.Title = strings.Repeat("t", belfry.MaxTitleBytes)
	big.New.Data = json.RawMessage(`{"s":"` + strings.Repeat("x", belfry.MaxDataBytes-8) + `"}`)
	want = append(want, big)
	want = append(want, stateMsgs(alice)...)
	publish(t, b, want...)

	longMsgs := append([]belfry.Message{newMsg(long, 1)}, stateMsgs(long)...)
	publish(t, b, longMsgs...)

	Eventually(t, "every message", func() bool {
		return r.Count(alice) == len(want) && r.Count(long) == len(longMsgs)
	})
	for i, m := range r.Messages(alice) {
		sameMessage(t, fmt.Sprintf("message %d", i), m, want[i])
	}
	for i, m := range r.Messages(long) {
		sameMessage(t, fmt.Sprintf("128-character user, message %d", i), m, longMsgs[i])
	}
}

func testUnsubscribedUser(t *testing.T, e env) {
	b, r := e.node(t)
	alice, carol := e.users.id("alice"), e.users.id("carol")
	AwaitSubscribed(t, b, b, r, alice)
	for id := int64(1); id <= 3; id++ {
		// alice's message is the fence: once it arrived, carol's would have.
		publish(t, b, newMsg(carol, id), Probe(carol), newMsg(alice, id))
	}
	Eventually(t, "alice's messages", func() bool { return r.Count(alice) == 3 })
	if n := r.Count(carol) + r.Probes(carol); n != 0 {
		t.Fatalf("received %d messages for a user nobody subscribed", n)
	}
}

func testUnsubscribe(t *testing.T, e env) {
	b, r := e.node(t)
	alice, bob := e.users.id("alice"), e.users.id("bob")
	AwaitSubscribed(t, b, b, r, alice, bob)
	publish(t, b, newMsg(alice, 1), newMsg(bob, 1))
	Eventually(t, "the first messages", func() bool { return r.Count(alice) == 1 && r.Count(bob) == 1 })

	b.Unsubscribe(alice)
	// Unsubscribe may take effect in the background: publish rounds of
	// alice's message and a fence for bob until a round brings nothing for
	// alice; then the next rounds must bring nothing either.
	id := int64(1)
	round := func() int {
		id++
		before := r.Count(alice)
		publish(t, b, newMsg(alice, id), newMsg(bob, id))
		Eventually(t, fmt.Sprintf("bob's message %d", id), func() bool { return r.Count(bob) == int(id) })
		return r.Count(alice) - before
	}
	deadline := time.Now().Add(Timeout)
	for round() != 0 {
		if time.Now().After(deadline) {
			t.Fatalf("alice's messages still arrive %v after Unsubscribe", Timeout)
		}
	}
	for range 3 {
		if n := round(); n != 0 {
			t.Fatalf("round %d: %d message(s) for alice arrived after Unsubscribe took effect", id, n)
		}
	}

	// Subscribing again resumes delivery.
	got := r.Count(alice)
	AwaitSubscribed(t, b, b, r, alice)
	id++
	publish(t, b, newMsg(alice, id))
	Eventually(t, "alice's message after a new Subscribe", func() bool { return r.Count(alice) == got+1 })
	sameMessage(t, "after resubscribe", r.Messages(alice)[got], newMsg(alice, id))
}

// testLockOrder calls Subscribe and Unsubscribe while holding the lock that
// Receive takes, as the Hub does, while another goroutine publishes. A
// broker that calls Receive with one of its own locks held deadlocks here.
func testLockOrder(t *testing.T, e env) {
	b, r := e.node(t)
	alice := e.users.id("alice")
	AwaitSubscribed(t, b, b, r, alice)
	const n = 200
	done := make(chan struct{})
	go func() {
		defer close(done)
		ctx, cancel := context.WithTimeout(context.Background(), Timeout)
		defer cancel()
		for id := int64(1); id <= n; id++ {
			other := e.users.id(fmt.Sprint("x", id%7))
			if err := b.Publish(ctx, []belfry.Message{newMsg(alice, id), newMsg(other, id)}); err != nil {
				t.Errorf("Publish: %v", err)
				return
			}
		}
	}()
	churn := make(chan struct{})
	go func() {
		defer close(churn)
		for i := 0; ; i++ {
			select {
			case <-done:
				return
			default:
			}
			other := e.users.id(fmt.Sprint("x", i%7))
			r.Hold(func() {
				b.Subscribe(other)
				b.Subscribe(alice) // already subscribed: a no-op
				b.Unsubscribe(other)
			})
		}
	}()
	for _, ch := range []chan struct{}{done, churn} {
		select {
		case <-ch:
		case <-time.After(Timeout):
			t.Fatalf("Publish and Subscribe did not finish within %v: a deadlock between Receive and Subscribe?", Timeout)
		}
	}
	Eventually(t, "alice's messages", func() bool { return r.Count(alice) == n })
	wantIDs(t, "alice", r.Messages(alice), 1, n)
}

// hubLike is a Receiver that, on the first message of its trigger user,
// calls Subscribe and Unsubscribe from another goroutine that holds the lock
// Receive takes, and waits for that goroutine: what the Hub does when a
// stream attaches while a message is being delivered. A broker that holds
// one of its locks while calling Receive (or waits for its Run goroutine in
// Subscribe) blocks that goroutine for good.
type hubLike struct {
	*Recorder
	b            belfry.Broker
	trigger, new string
	once         sync.Once
	stuck        atomic.Bool
}

func (h *hubLike) Receive(m belfry.Message) {
	if m.UserID == h.trigger && !isProbe(m) {
		h.once.Do(func() {
			done := make(chan struct{})
			go func() {
				defer close(done)
				h.Hold(func() {
					h.b.Subscribe(h.trigger) // already subscribed: a no-op
					h.b.Subscribe(h.new)
					h.b.Unsubscribe(h.new)
				})
			}()
			select {
			case <-done:
			case <-time.After(Timeout / 3):
				h.stuck.Store(true)
			}
		})
		if h.stuck.Load() {
			return // the goroutine holds the lock: taking it would hang the test
		}
	}
	h.Recorder.Receive(m)
}

func testSubscribeDuringReceive(t *testing.T, e env) {
	b := e.open(t)
	alice := e.users.id("alice")
	h := &hubLike{Recorder: NewRecorder(), b: b, trigger: alice, new: e.users.id("bob")}
	Start(t, b, h)
	AwaitSubscribed(t, b, b, h.Recorder, alice)
	publish(t, b, newMsg(alice, 1))
	Eventually(t, "the message, or Subscribe blocked", func() bool { return h.Count(alice) == 1 || h.stuck.Load() })
	if h.stuck.Load() {
		t.Fatalf("Subscribe, called while Receive ran on another goroutine, did not return within %v: "+
			"the broker holds a lock (or waits for its Run goroutine) while calling Receive", Timeout/3)
	}
}

func testBatch1000(t *testing.T, e env) {
	b, r := e.node(t)
	const n = 1000
	us := make([]string, n)
	for i := range us {
		us[i] = e.users.id(fmt.Sprint("u", i))
	}
	AwaitSubscribed(t, b, b, r, us...)
	batch := make([]belfry.Message, n)
	for i, u := range us {
		batch[i] = newMsg(u, int64(i+1))
	}
	publish(t, b, batch...)
	Eventually(t, "1,000 messages", func() bool { return r.Total() == n })
	for i, u := range us {
		got := r.Messages(u)
		if len(got) != 1 {
			t.Fatalf("user %d: %d messages, want 1", i, len(got))
		}
		sameMessage(t, u, got[0], batch[i])
	}
}

// testConcurrentPublishers has 32 callers publish at once, each its own
// user's messages in order plus one for a user they share: every call is
// answered, every message arrives once and intact, and each caller's own
// messages arrive in the order it sent them. A broker that batches
// concurrent calls together must keep each call's messages with their
// users.
func testConcurrentPublishers(t *testing.T, e env) {
	b, r := e.node(t)
	const callers, calls = 32, 20
	shared := e.users.id("shared")
	own := make([]string, callers)
	for i := range own {
		own[i] = e.users.id(fmt.Sprint("p", i))
	}
	AwaitSubscribed(t, b, b, r, append(own, shared)...)
	var wg sync.WaitGroup
	errs := make(chan error, callers)
	for i, u := range own {
		wg.Go(func() {
			ctx, cancel := context.WithTimeout(t.Context(), Timeout)
			defer cancel()
			for id := int64(1); id <= calls; id++ {
				sharedID := int64(i)*calls + id
				if err := b.Publish(ctx, []belfry.Message{newMsg(u, id), newMsg(shared, sharedID)}); err != nil {
					errs <- fmt.Errorf("caller %d, call %d: %w", i, id, err)
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	Eventually(t, "every caller's messages", func() bool { return r.Count(shared) == callers*calls })
	for _, u := range own {
		got := r.Messages(u)
		wantIDs(t, u, got, 1, calls)
		for i, m := range got {
			sameMessage(t, u, m, newMsg(u, int64(i+1)))
		}
	}
	seen := make(map[int64]bool)
	for _, m := range r.Messages(shared) {
		if seen[m.New.ID] {
			t.Fatalf("%s: message %d twice", shared, m.New.ID)
		}
		seen[m.New.ID] = true
		sameMessage(t, shared, m, newMsg(shared, m.New.ID))
	}
}

func testPing(t *testing.T, e env) {
	b := e.open(t)
	ctx, cancel := context.WithTimeout(t.Context(), Timeout)
	defer cancel()
	if err := b.Ping(ctx); err != nil {
		t.Fatalf("Ping: %v", err)
	}
}

func testClose(t *testing.T, e env) {
	b := e.open(t)
	r := NewRecorder()
	result := Start(t, b, r)
	alice := e.users.id("alice")
	AwaitSubscribed(t, b, b, r, alice)
	if err := b.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	select {
	case err := <-result:
		if err != nil {
			t.Fatalf("Run returned %v after Close, want nil", err)
		}
	case <-time.After(Timeout):
		t.Fatalf("Run did not return within %v of Close", Timeout)
	}
	ctx, cancel := context.WithTimeout(t.Context(), Timeout)
	defer cancel()
	wantCode(t, "Ping after Close", b.Ping(ctx), belfry.EUNAVAILABLE)
	wantCode(t, "Publish after Close", b.Publish(ctx, []belfry.Message{newMsg(alice, 1)}), belfry.EUNAVAILABLE)
	b.Subscribe(e.users.id("bob")) // must not block or panic
	b.Unsubscribe(alice)
	if err := b.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	if n := r.Count(alice); n != 0 {
		t.Fatalf("%d messages delivered after Close", n)
	}
}

func testTwoNodes(t *testing.T, e env) {
	n1, r1 := e.node(t)
	n2, r2 := e.node(t)
	alice, bob, carol := e.users.id("alice"), e.users.id("bob"), e.users.id("carol")
	AwaitSubscribed(t, n1, n2, r1, alice, carol) // probes cross nodes too
	AwaitSubscribed(t, n2, n1, r2, bob, carol)

	const half = 10
	for id := int64(1); id <= 2*half; id++ {
		pub := n1
		if id > half {
			pub = n2
		}
		publish(t, pub, newMsg(alice, id), newMsg(bob, id), newMsg(carol, id))
	}
	// carol's last message, published after everything else, is the fence
	// on both nodes.
	Eventually(t, "every node's messages", func() bool {
		return r1.Count(alice) == 2*half && r1.Count(carol) == 2*half &&
			r2.Count(bob) == 2*half && r2.Count(carol) == 2*half
	})
	if n := r1.Count(bob); n != 0 {
		t.Fatalf("node 1 received %d messages of bob, subscribed on node 2 only", n)
	}
	if n := r2.Count(alice); n != 0 {
		t.Fatalf("node 2 received %d messages of alice, subscribed on node 1 only", n)
	}
	for _, c := range []struct {
		r    *Recorder
		user string
	}{{r1, alice}, {r1, carol}, {r2, bob}, {r2, carol}} {
		got := c.r.Messages(c.user)
		wantIDs(t, c.user, got, 1, 2*half)
		for i, m := range got {
			sameMessage(t, c.user, m, newMsg(c.user, int64(i+1)))
		}
	}

	// One node's Unsubscribe leaves the other's subscription alone.
	n1.Unsubscribe(carol)
	publish(t, n1, newMsg(carol, 2*half+1))
	Eventually(t, "carol's message on node 2", func() bool { return r2.Count(carol) == 2*half+1 })
}

func testTwoNodesBatch(t *testing.T, e env) {
	n1, r1 := e.node(t)
	n2, r2 := e.node(t)
	const n = 1000
	us := make([]string, n)
	for i := range us {
		us[i] = e.users.id(fmt.Sprint("u", i))
	}
	var even, odd []string
	for i, u := range us {
		if i%2 == 0 {
			even = append(even, u)
		} else {
			odd = append(odd, u)
		}
	}
	AwaitSubscribed(t, n1, n1, r1, even...)
	AwaitSubscribed(t, n2, n1, r2, odd...)
	batch := make([]belfry.Message, 0, n+2)
	for _, u := range us {
		batch = append(batch, newMsg(u, 1))
	}
	// Fences: one more message for a user of each node, last.
	batch = append(batch, newMsg(us[0], 2), newMsg(us[1], 2))
	publish(t, n1, batch...)
	Eventually(t, "each node's 500 users' messages", func() bool {
		return r1.Total() >= n/2+1 && r2.Total() >= n/2+1 && r1.Count(us[0]) == 2 && r2.Count(us[1]) == 2
	})
	for i, u := range us {
		mine, other := r1, r2
		if i%2 == 1 {
			mine, other = r2, r1
		}
		if c := other.Count(u); c != 0 {
			t.Fatalf("user %d: the node that did not subscribe received %d messages", i, c)
		}
		want := 1
		if i < 2 {
			want = 2
		}
		if got := mine.Messages(u); len(got) != want {
			t.Fatalf("user %d: %d messages, want %d", i, len(got), want)
		} else {
			sameMessage(t, u, got[0], newMsg(u, 1))
		}
	}
}
