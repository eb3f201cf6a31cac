package memory_test

import (
	"context"
	"runtime"
	"sync/atomic"
	"testing"

	"github.com/belfry/belfry"
	"github.com/belfry/belfry/brokertest"
	"github.com/belfry/belfry/memory"
)

func open(t *testing.T) belfry.Broker {
	b := memory.New()
	t.Cleanup(func() { b.Close() })
	return b
}

func TestBroker(t *testing.T) {
	brokertest.Run(t, open)
}

// Messages published before Run registered a receiver are dropped, not
// queued: streams catch up from the store.
func TestDropsBeforeRun(t *testing.T) {
	b := memory.New()
	defer b.Close()
	b.Subscribe("alice")
	msg := belfry.Message{Kind: belfry.KindDeleted, UserID: "alice", State: &belfry.StateChange{ID: 1}}
	if err := b.Publish(t.Context(), []belfry.Message{msg}); err != nil {
		t.Fatalf("Publish before Run: %v", err)
	}
	r := brokertest.NewRecorder()
	brokertest.Start(t, b, r)
	brokertest.AwaitProbes(t, b, r, "alice")
	if n := r.Count("alice"); n != 0 {
		t.Fatalf("%d message(s) published before Run were delivered", n)
	}
	if err := b.Publish(t.Context(), []belfry.Message{msg}); err != nil {
		t.Fatal(err)
	}
	// Delivery is synchronous: no wait needed.
	if n := r.Count("alice"); n != 1 {
		t.Fatalf("%d messages after a Publish while running, want 1", n)
	}
}

// Unsubscribe takes effect before it returns, and a second Run while one is
// active is refused.
func TestSynchronous(t *testing.T) {
	b := memory.New()
	defer b.Close()
	r := brokertest.NewRecorder()
	brokertest.Start(t, b, r)
	brokertest.AwaitSubscribed(t, b, b, r, "alice")
	b.Unsubscribe("alice")
	msg := belfry.Message{Kind: belfry.KindDeleted, UserID: "alice", State: &belfry.StateChange{ID: 1}}
	if err := b.Publish(t.Context(), []belfry.Message{msg}); err != nil {
		t.Fatal(err)
	}
	if n := r.Count("alice"); n != 0 {
		t.Fatalf("%d message(s) delivered after Unsubscribe returned", n)
	}
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if err := b.Run(ctx, brokertest.NewRecorder()); belfry.ErrorCode(err) != belfry.EINVALID {
		t.Fatalf("second concurrent Run: %v, want EINVALID", err)
	}
}

// Publish allocates nothing: it is on the hot path of every notification.
func TestPublishAllocs(t *testing.T) {
	b := memory.New()
	defer b.Close()
	r := new(countingReceiver)
	brokertest.Start(t, b, r)
	msgs := batch(1000)
	for i := range msgs {
		if i%2 == 0 {
			b.Subscribe(msgs[i].UserID)
		}
	}
	brokertest.Eventually(t, "Run to register the receiver", func() bool {
		b.Publish(context.Background(), msgs[:1])
		return r.n.Load() > 0
	})
	if got := testing.AllocsPerRun(100, func() { b.Publish(context.Background(), msgs) }); got != 0 {
		t.Fatalf("Publish of 1,000 messages allocates %v times, want 0", got)
	}
}

// countingReceiver counts messages and does nothing else.
type countingReceiver struct{ n atomic.Int64 }

func (r *countingReceiver) Receive(belfry.Message) { r.n.Add(1) }
func (r *countingReceiver) Resync()                {}

func batch(n int) []belfry.Message {
	msgs := make([]belfry.Message, n)
	for i := range msgs {
		u := "user-" + string(rune('a'+i%26)) + string(rune('a'+i/26%26)) + string(rune('a'+i/676))
		msgs[i] = belfry.Message{Kind: belfry.KindNew, UserID: u,
			New: &belfry.Notification{ID: int64(i + 1), UserID: u, Message: "hello"}}
	}
	return msgs
}

// BenchmarkPublish1000 publishes 1,000 messages for 1,000 users, half of
// them subscribed, to a receiver that does nothing.
func BenchmarkPublish1000(b *testing.B) {
	br := memory.New()
	defer br.Close()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	r := new(countingReceiver)
	go br.Run(ctx, r)
	msgs := batch(1000)
	for i := range msgs {
		if i%2 == 0 {
			br.Subscribe(msgs[i].UserID)
		}
	}
	for r.n.Load() == 0 { // until Run registered r
		br.Publish(ctx, msgs[:1])
		runtime.Gosched()
	}
	b.ReportAllocs()
	for b.Loop() {
		if err := br.Publish(ctx, msgs); err != nil {
			b.Fatal(err)
		}
	}
}
