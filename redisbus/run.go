package redisbus

import (
	"context"
	"errors"
	"net"
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
)

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

	var wg sync.WaitGroup
	wg.Go(func() {
		if err := b.apply(ctx, ps); err != nil {
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
			b.deliver(h, m)
		case *redis.Pong:
			if m.Payload == readyPing && !ready {
				ready = true
				if lost {
					b.log.Info("redis broker: reconnected; streams catch up from the store", "users", len(chans))
				}
				if lost || len(chans) > 0 {
					b.resyncs.Add(1)
					h.Resync()
				}
			}
		}
	}
}

// apply sends the pending subscription changes on ps whenever Subscribe or
// Unsubscribe pokes it, until ctx ends or a command fails.
func (b *Broker) apply(ctx context.Context, ps *redis.PubSub) error {
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-b.wake:
		}
		var sub, unsub []string
		b.mu.Lock()
		for u, on := range b.pending {
			if on {
				sub = append(sub, b.channel(u))
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

// deliver hands a message to h if its user is still subscribed.
func (b *Broker) deliver(h belfry.Receiver, rm *redis.Message) {
	user, ok := strings.CutPrefix(rm.Channel, b.opts.Prefix)
	if !ok || !b.wanted(user) {
		b.ignored.Add(1)
		return
	}
	m, err := decodeMessage(user, rm.Payload)
	if err != nil {
		b.undecodable.Add(1)
		b.log.Warn("redis broker: undecodable message dropped", "channel", rm.Channel, "err", err)
		return
	}
	b.received.Add(1)
	h.Receive(m)
}
