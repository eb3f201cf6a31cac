package memory

import (
	"context"
	"errors"
	"hash/maphash"
	"sync"
	"sync/atomic"

	"github.com/belfry/belfry"
)

// shards is the number of lock shards of the subscription set. Publish takes
// a read lock per message; spreading users over shards keeps concurrent
// publishers off one cache line.
const shards = 32

// Broker is the in-process broker. Its zero value is not usable; call New.
// It is safe for concurrent use.
//
// Lock order: the caller's locks (the Hub calls Subscribe and Unsubscribe
// with a shard lock held), then a shard's mu. No lock of the Broker is held
// while it calls the Receiver, so the Receiver may take its own locks.
type Broker struct {
	seed   maphash.Seed
	shards [shards]subShard
	// recv is the Receiver of the running Run, nil when none runs.
	recv   atomic.Pointer[receiver]
	closed atomic.Bool
	done   chan struct{} // closed by Close; ends Run
	once   sync.Once
}

type subShard struct {
	mu    sync.RWMutex
	users map[string]struct{}
}

// receiver boxes the interface so it fits an atomic.Pointer.
type receiver struct{ h belfry.Receiver }

var _ belfry.Broker = (*Broker)(nil)

// New returns a Broker with no subscriptions.
func New() *Broker {
	b := &Broker{seed: maphash.MakeSeed(), done: make(chan struct{})}
	for i := range b.shards {
		b.shards[i].users = make(map[string]struct{})
	}
	return b
}

func (b *Broker) shard(user string) *subShard {
	return &b.shards[maphash.String(b.seed, user)%shards]
}

// Publish delivers each message whose user is subscribed to the running
// Receiver, in order, before it returns (with ctx, when the Receiver is a
// belfry.ContextReceiver). Without a running Run the messages
// are dropped (streams catch up from the store). Errors: EUNAVAILABLE after
// Close.
func (b *Broker) Publish(ctx context.Context, msgs []belfry.Message) error {
	if b.closed.Load() {
		return belfry.Unavailable("memory broker", errClosed)
	}
	r := b.recv.Load()
	if r == nil {
		return nil
	}
	for i := range msgs {
		if b.subscribed(msgs[i].UserID) {
			// The shard lock is released before Receive: the Hub takes its
			// own lock in Receive and calls Subscribe under that lock.
			if cr, ok := r.h.(belfry.ContextReceiver); ok {
				cr.ReceiveContext(ctx, msgs[i]) // the fan-out joins the publish's trace
			} else {
				r.h.Receive(msgs[i])
			}
		}
	}
	return nil
}

func (b *Broker) subscribed(user string) bool {
	sh := b.shard(user)
	sh.mu.RLock()
	_, ok := sh.users[user]
	sh.mu.RUnlock()
	return ok
}

// Subscribe makes Publish deliver the user's messages. It is idempotent,
// never blocks on anything but a short critical section, and never calls
// the Receiver.
func (b *Broker) Subscribe(userID string) {
	sh := b.shard(userID)
	sh.mu.Lock()
	sh.users[userID] = struct{}{}
	sh.mu.Unlock()
}

// Unsubscribe stops the delivery of the user's messages; a Publish that
// returns after Unsubscribe returned delivers none of them. It is
// idempotent and never calls the Receiver.
func (b *Broker) Unsubscribe(userID string) {
	sh := b.shard(userID)
	sh.mu.Lock()
	delete(sh.users, userID)
	sh.mu.Unlock()
}

// Run registers h as the Receiver and blocks until ctx ends or the Broker is
// closed; then it unregisters h and returns nil. The in-process broker never
// loses messages once running, so it never calls h.Resync. Errors: EINVALID
// when another Run is already active.
func (b *Broker) Run(ctx context.Context, h belfry.Receiver) error {
	if h == nil {
		return belfry.Errorf(belfry.EINVALID, "memory broker: nil receiver")
	}
	r := &receiver{h: h}
	if !b.recv.CompareAndSwap(nil, r) {
		return belfry.Errorf(belfry.EINVALID, "memory broker: Run is already active")
	}
	defer b.recv.CompareAndSwap(r, nil)
	select {
	case <-ctx.Done():
	case <-b.done:
	}
	return nil
}

// Ping reports nil while the Broker is open. Errors: EUNAVAILABLE after
// Close.
func (b *Broker) Ping(context.Context) error {
	if b.closed.Load() {
		return belfry.Unavailable("memory broker", errClosed)
	}
	return nil
}

// Close ends Run and makes Publish and Ping fail with EUNAVAILABLE. It is
// idempotent and returns nil.
func (b *Broker) Close() error {
	b.once.Do(func() {
		b.closed.Store(true)
		close(b.done)
	})
	return nil
}

var errClosed = errors.New("broker is closed")
