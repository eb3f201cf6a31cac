package redisbus

import (
	"context"
	"errors"
	"net"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/belfry/belfry"
)

// Payloads of the PINGs sent on the subscriber connection.
const (
	// readyPing follows a connection's first SUBSCRIBE commands: its reply
	// means Redis applied them.
	readyPing = "belfry-ready"
	// healthPing checks a silent connection.
	healthPing = "belfry-health"
	// subPing follows a later SUBSCRIBE batch, for a UserResyncer.
	subPing = "belfry-sub:"
)

// UserResyncer is implemented by a Receiver that can catch up chosen users'
// streams from the store (the Hub may implement it; the Broker checks with
// a type assertion).
//
// Subscribe only records a user; Redis applies the SUBSCRIBE a moment
// later, and a message published in between is not delivered. When the
// Receiver implements UserResyncer, Run calls ResyncUsers, from its
// goroutine, with the users of each SUBSCRIBE batch once Redis confirmed it,
// so those users' streams can check the store for what they missed. Without
// it such a message waits for the user's next event or the next Resync.
type UserResyncer interface {
	// ResyncUsers asks the streams of users to catch up from the store.
	// Like Receive it must not block.
	ResyncUsers(users []string)
}

// confirms tracks the SUBSCRIBE batches sent after a connection's first
// ones, until the PING that follows each comes back.
type confirms struct {
	mu   sync.Mutex
	seq  uint64
	wait map[string][]string // ping payload → users of the batch
}

func (c *confirms) add(users []string) string {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.seq++
	key := subPing + strconv.FormatUint(c.seq, 10)
	c.wait[key] = users
	return key
}

func (c *confirms) take(key string) []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	users := c.wait[key]
	delete(c.wait, key)
	return users
}

// Run subscribes to the current set of users and delivers their messages to
// h until ctx ends or the Broker is closed; then it returns nil. It keeps
// one subscriber connection. When that connection breaks or stops answering
// pings, Run reconnects with backoff (messages published meanwhile are
// lost), subscribes the whole current set again, and once Redis confirmed
// it calls h.Resync so every stream catches up from the store. It also
// calls h.Resync after its first connection if users were subscribed before
// it was made. Errors: EINVALID when h is nil or another Run is active.
func (b *Broker) Run(ctx context.Context, h belfry.Receiver) error {
	if h == nil {
		return belfry.Errorf(belfry.EINVALID, "redis broker: nil receiver")
	}
	if !b.running.CompareAndSwap(false, true) {
		return belfry.Errorf(belfry.EINVALID, "redis broker: Run is already active")
	}
	defer b.running.Store(false)
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() { // ends Run on Close; ends with Run
		select {
		case <-b.done:
			cancel()
		case <-ctx.Done():
		}
	}()

	lost := false
	delay := minReconnectDelay
	timer := time.NewTimer(0)
	<-timer.C
	defer timer.Stop()
	for {
		ok, err := b.session(ctx, h, lost)
		if ctx.Err() != nil {
			return nil
		}
		if ok {
			delay = minReconnectDelay
		}
		b.reconnects.Add(1)
		if ok || !lost {
			b.log.Warn("redis broker: subscriber connection lost; reconnecting", "err", err)
		} else {
			b.log.Debug("redis broker: reconnect failed", "err", err, "retry_in", delay)
		}
		lost = true
		timer.Reset(delay)
		select {
		case <-ctx.Done():
			return nil
		case <-timer.C:
		}
		delay = min(2*delay, b.opts.MaxReconnectDelay)
	}
}

// session runs one subscriber connection until it fails or ctx ends. ready
// reports whether Redis confirmed the connection's subscriptions.
func (b *Broker) session(ctx context.Context, h belfry.Receiver, lost bool) (ready bool, err error) {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	defer b.listening.Store(false)
	ps := b.client.Subscribe(ctx) // connects lazily, on the first command
	defer ps.Close()
	// Closing the PubSub is what interrupts a blocked receive.
	defer context.AfterFunc(ctx, func() { ps.Close() })()

	b.mu.Lock()
	chans := make([]string, 0, len(b.want))
	for u := range b.want {
		chans = append(chans, b.channel(u))
	}
	clear(b.pending)
	b.mu.Unlock()
	if err := b.send(ctx, ps.Subscribe, chans); err != nil {
		return false, err
	}
	if err := ps.Ping(ctx, readyPing); err != nil {
		return false, err
	}

	ur, _ := h.(UserResyncer)
	var cf *confirms
	if ur != nil {
		cf = &confirms{wait: make(map[string][]string)}
	}
	var wg sync.WaitGroup
	wg.Go(func() {
		if err := b.apply(ctx, ps, cf); err != nil {
			cancel(err)
		}
	})
	defer func() {
		cancel(nil)
		wg.Wait()
	}()

	pinged := false
	for {
		msg, err := ps.ReceiveTimeout(ctx, b.opts.HealthInterval)
		if err != nil {
			if ctx.Err() != nil {
				return ready, context.Cause(ctx)
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() && !pinged {
				if err := ps.Ping(ctx, healthPing); err != nil {
					return ready, err
				}
				pinged = true
				continue
			}
			return ready, err
		}
		pinged = false
		switch m := msg.(type) {
		case *redis.Message:
			b.deliver(h, ur, m)
		case *redis.Pong:
			if cf != nil && strings.HasPrefix(m.Payload, subPing) {
				b.confirmed(ur, cf.take(m.Payload))
			}
			if m.Payload == readyPing && !ready {
				ready = true
				if lost {
					b.log.Info("redis broker: reconnected; streams catch up from the store", "users", len(chans))
				}
				if lost || len(chans) > 0 {
					b.resyncs.Add(1)
					h.Resync()
				}
				b.listening.Store(true)
			}
		}
	}
}

// confirmed tells ur about the users of a confirmed SUBSCRIBE batch that
// are still wanted.
func (b *Broker) confirmed(ur UserResyncer, users []string) {
	b.mu.RLock()
	keep := users[:0]
	for _, u := range users {
		if _, ok := b.want[u]; ok {
			keep = append(keep, u)
		}
	}
	b.mu.RUnlock()
	if len(keep) > 0 {
		ur.ResyncUsers(keep)
	}
}

// apply sends the pending subscription changes on ps whenever Subscribe or
// Unsubscribe pokes it, until ctx ends or a command fails. With cf set, a
// PING follows each SUBSCRIBE batch so that its users can be resynced once
// Redis applied it.
func (b *Broker) apply(ctx context.Context, ps *redis.PubSub, cf *confirms) error {
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-b.wake:
		}
		var sub, unsub, users []string
		b.mu.Lock()
		for u, on := range b.pending {
			if on {
				sub = append(sub, b.channel(u))
				users = append(users, u)
			} else {
				unsub = append(unsub, b.channel(u))
			}
		}
		clear(b.pending)
		b.mu.Unlock()
		if err := b.send(ctx, ps.Unsubscribe, unsub); err != nil {
			return err
		}
		if err := b.send(ctx, ps.Subscribe, sub); err != nil {
			return err
		}
		if cf != nil && len(users) > 0 {
			if err := ps.Ping(ctx, cf.add(users)); err != nil {
				return err
			}
		}
	}
}

// send issues cmd (SUBSCRIBE or UNSUBSCRIBE) for chans in batches of
// Options.BatchSize. With no channels it sends nothing: an UNSUBSCRIBE
// without arguments would drop every subscription.
func (b *Broker) send(ctx context.Context, cmd func(context.Context, ...string) error, chans []string) error {
	for len(chans) > 0 {
		n := min(len(chans), b.opts.BatchSize)
		if err := cmd(ctx, chans[:n]...); err != nil {
			return err
		}
		chans = chans[n:]
	}
	return nil
}

// deliver hands a message to h if its user is still subscribed and it is
// of this deployment. ur, when set, is h as a UserResyncer.
func (b *Broker) deliver(h belfry.Receiver, ur UserResyncer, rm *redis.Message) {
	user, ok := userOf(b.opts.Prefix, rm.Channel)
	if !ok || !b.wanted(user) {
		b.ignored.Add(1)
		return
	}
	m, err := decodeMessage(b.opts.Prefix, user, rm.Payload)
	if err == nil {
		b.received.Add(1)
		h.Receive(m)
		return
	}
	var fe *foreignError
	switch {
	case errors.As(err, &fe):
		b.foreign.Add(1)
		b.log.Debug("redis broker: message of another deployment dropped",
			"channel", rm.Channel, "deployment", fe.deployment)
	case errors.Is(err, errLegacy):
		// A node of an older belfry published it, on a channel that is
		// also one of ours: a node of this deployment during a rolling
		// upgrade, most likely, or of a deployment whose prefix ours
		// begins with. Its content is not trusted; it only rings the doorbell:
		// the user's streams check the store, which holds the truth of
		// this deployment only.
		b.foreign.Add(1)
		b.log.Debug("redis broker: message without a deployment id dropped; the user's streams check the store",
			"channel", rm.Channel)
		if ur != nil {
			ur.ResyncUsers([]string{user})
		}
	default:
		b.undecodable.Add(1)
		b.log.Warn("redis broker: undecodable message dropped", "channel", rm.Channel, "err", err)
	}
}
