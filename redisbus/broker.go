package redisbus

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"sync/atomic"

	"github.com/redis/go-redis/v9"

	"github.com/belfry/belfry"
)

// Broker is a belfry.Broker over Redis pub/sub. It is safe for concurrent
// use. Create it with Open.
//
// Lock order: the caller's locks (the Hub calls Subscribe and Unsubscribe
// under a shard lock), then mu. mu guards only map updates and lookups: no
// I/O happens and no Receiver method is called while it is held.
type Broker struct {
	client *redis.Client
	opts   Options
	log    *slog.Logger

	mu sync.RWMutex
	// want is the set of users this node holds streams for.
	want map[string]struct{}
	// pending holds the changes to want not yet sent on the current
	// subscriber connection: true to subscribe, false to unsubscribe.
	pending map[string]bool
	// wake (capacity 1) tells Run's applier that pending is not empty.
	wake chan struct{}

	running atomic.Bool
	// listening is set while Run's subscriber connection is up and Redis
	// confirmed its subscriptions: Ping fails without it, since the node
	// then receives no events.
	listening atomic.Bool
	closed    atomic.Bool
	done      chan struct{} // closed by Close
	once      sync.Once

	calls chan *pubCall // Publish calls for the sender (publish.go)

	received    atomic.Uint64
	ignored     atomic.Uint64
	undecodable atomic.Uint64
	foreign     atomic.Uint64
	reconnects  atomic.Uint64
	resyncs     atomic.Uint64
}

var _ belfry.Broker = (*Broker)(nil)

func newBroker(c *redis.Client, opts Options) *Broker {
	b := &Broker{client: c, opts: opts, log: opts.Logger,
		want: make(map[string]struct{}), pending: make(map[string]bool),
		wake: make(chan struct{}, 1), done: make(chan struct{}), calls: make(chan *pubCall, 1024)}
	go b.sender()
	return b
}

// channel returns the pub/sub channel of user (see channel.go).
func (b *Broker) channel(user string) string { return channelName(b.opts.Prefix, user) }

// Subscribe adds the user to the set this node receives. It returns at once:
// Run's goroutine sends the SUBSCRIBE (batched with others) on the
// subscriber connection. A message published before Redis applied it is not
// delivered. The Hub attaches a stream before it reads the store, so only a
// notification committed after that read and published within that window
// is concerned; a Receiver that implements UserResyncer is told when the
// subscription took effect, otherwise such a notification waits for the
// user's next event or the next Resync. Subscribe is idempotent and never
// calls the Receiver.
func (b *Broker) Subscribe(userID string) {
	b.mu.Lock()
	if _, ok := b.want[userID]; ok {
		b.mu.Unlock()
		return
	}
	b.want[userID] = struct{}{}
	b.pending[userID] = true
	b.mu.Unlock()
	b.poke()
}

// Unsubscribe removes the user from the set this node receives. Messages of
// the user that still arrive are dropped, so it takes effect at once; the
// UNSUBSCRIBE is sent in the background. It is idempotent and never calls
// the Receiver.
func (b *Broker) Unsubscribe(userID string) {
	b.mu.Lock()
	if _, ok := b.want[userID]; !ok {
		b.mu.Unlock()
		return
	}
	delete(b.want, userID)
	b.pending[userID] = false
	b.mu.Unlock()
	b.poke()
}

func (b *Broker) poke() {
	select {
	case b.wake <- struct{}{}:
	default:
	}
}

func (b *Broker) wanted(user string) bool {
	b.mu.RLock()
	_, ok := b.want[user]
	b.mu.RUnlock()
	return ok
}

// Publish sends every message to its user's channel, in one pipeline with
// the other calls waiting (one round trip; see publish.go), within
// Options.Timeout (or ctx's deadline, if sooner). Redis may have executed
// part of a batch that fails, and may still execute a call whose caller
// gave up. Errors: EUNAVAILABLE (Redis unreachable or too slow, or the
// Broker closed; the notifications are stored all the same and streams
// catch up from the store), EINVALID (a message that cannot be encoded: a
// bug of the caller).
func (b *Broker) Publish(ctx context.Context, msgs []belfry.Message) error {
	if len(msgs) == 0 {
		return nil
	}
	if b.closed.Load() {
		return belfry.Unavailable("redis broker", errClosed)
	}
	c := getCall()
	for i := range msgs {
		var err error
		if c.buf, err = appendMessage(c.buf, b.opts.Prefix, &msgs[i]); err != nil {
			putCall(c)
			return belfry.Errorf(belfry.EINVALID, "redis broker: cannot encode a %q message: %v", msgs[i].Kind, err)
		}
		c.users = append(c.users, msgs[i].UserID)
		c.ends = append(c.ends, len(c.buf))
	}
	ctx, cancel := context.WithTimeout(ctx, b.opts.Timeout)
	defer cancel()
	c.ctx = ctx
	select {
	case b.calls <- c:
	case <-ctx.Done():
		putCall(c)
		return belfry.Unavailable("redis broker", ctx.Err())
	case <-b.done:
		putCall(c)
		return belfry.Unavailable("redis broker", errClosed)
	}
	// From here the sender may be writing c's buffer: a caller that gives
	// up leaves c to the garbage collector.
	select {
	case err := <-c.done:
		putCall(c)
		return err
	case <-ctx.Done():
		return belfry.Unavailable("redis broker", ctx.Err())
	case <-b.done:
		return belfry.Unavailable("redis broker", errClosed)
	}
}

// Ping checks that Redis answers within Options.Timeout and, while Run is
// active, that Run's subscriber connection is up and subscribed: between
// losing it and the Resync that follows its return, this node hears no
// events, so it is not ready even if Redis answers. Errors: EUNAVAILABLE.
func (b *Broker) Ping(ctx context.Context) error {
	if b.closed.Load() {
		return belfry.Unavailable("redis broker", errClosed)
	}
	if b.running.Load() && !b.listening.Load() {
		return belfry.Unavailable("redis broker", errNotListening)
	}
	ctx, cancel := context.WithTimeout(ctx, b.opts.Timeout)
	defer cancel()
	if err := b.client.Ping(ctx).Err(); err != nil {
		return belfry.Unavailable("redis broker", err)
	}
	return nil
}

// Close ends Run and closes the connections; Publish and Ping then return
// EUNAVAILABLE. It is idempotent and returns nil.
func (b *Broker) Close() error {
	b.once.Do(func() {
		b.closed.Store(true)
		close(b.done)
		if err := b.client.Close(); err != nil {
			b.log.Warn("redis broker: close", "err", err)
		}
	})
	return nil
}

// Stats are the Broker's counters, for metrics.
type Stats struct {
	Users       int    // users this node is subscribed to
	Received    uint64 // messages handed to the Receiver
	Ignored     uint64 // messages of users no longer subscribed, dropped
	Undecodable uint64 // payloads that could not be decoded, dropped
	Foreign     uint64 // messages of another deployment, or of an older belfry (no deployment id), dropped
	Reconnects  uint64 // subscriber connections lost (or never made) and retried
	Resyncs     uint64 // calls of Receiver.Resync
}

// Stats returns the Broker's counters.
func (b *Broker) Stats() Stats {
	b.mu.RLock()
	n := len(b.want)
	b.mu.RUnlock()
	return Stats{Users: n, Received: b.received.Load(), Ignored: b.ignored.Load(),
		Undecodable: b.undecodable.Load(), Foreign: b.foreign.Load(), Reconnects: b.reconnects.Load(), Resyncs: b.resyncs.Load()}
}

var (
	errClosed       = errors.New("broker is closed")
	errNotListening = errors.New("the subscriber connection is down (reconnecting)")
)
