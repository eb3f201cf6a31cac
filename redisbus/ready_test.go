package redisbus_test

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/belfry/belfry"
	"github.com/belfry/belfry/brokertest"
	"github.com/belfry/belfry/redisbus"
)

// blockingResync is a Receiver whose Resync waits for release: it holds
// the broker between "Redis is back" and "subscribed and resynced".
type blockingResync struct {
	*brokertest.Recorder
	armed   atomic.Bool // block only once armed
	entered chan struct{}
	release chan struct{}
}

func (b *blockingResync) Resync() {
	b.Recorder.Resync()
	if !b.armed.Load() {
		return
	}
	select {
	case b.entered <- struct{}{}:
	default:
	}
	<-b.release
}

// After Redis returns, Ping keeps answering EUNAVAILABLE until the
// subscriber connection is back and the streams were told to resync:
// before that the node hears no events, so /readyz must not say ready
// just because Redis answers a PING on another connection.
func TestPingWaitsForSubscriber(t *testing.T) {
	needServer(t)
	port, dir := freePort(t), t.TempDir()
	srv := startServer(t, port, dir)
	b := open(t, srv.url(), redisbus.Options{MaxReconnectDelay: 100 * time.Millisecond})
	r := &blockingResync{Recorder: brokertest.NewRecorder(),
		entered: make(chan struct{}, 1), release: make(chan struct{})}
	released := false
	defer func() {
		if !released {
			close(r.release)
		}
	}()
	brokertest.Start(t, b, r)
	brokertest.AwaitSubscribed(t, b, b, r.Recorder, "alice")
	ctx, cancel := context.WithTimeout(t.Context(), brokertest.Timeout)
	defer cancel()
	if err := b.Ping(ctx); err != nil {
		t.Fatalf("Ping while subscribed: %v", err)
	}
	r.armed.Store(true)
	srv.kill()
	srv = startServer(t, port, dir)
	select {
	case <-r.entered:
	case <-time.After(brokertest.Timeout):
		t.Fatal("no Resync after Redis returned")
	}
	if err := rawClient(t, srv.url()).Ping(ctx).Err(); err != nil {
		t.Fatalf("Redis itself: %v", err)
	}
	if err := b.Ping(ctx); belfry.ErrorCode(err) != belfry.EUNAVAILABLE {
		t.Fatalf("Ping before the resync finished: %v, want EUNAVAILABLE", err)
	}
	close(r.release)
	released = true
	brokertest.Eventually(t, "Ping to succeed after the resync", func() bool { return b.Ping(ctx) == nil })
}
