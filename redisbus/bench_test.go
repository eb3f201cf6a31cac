package redisbus_test

import (
	"context"
	"fmt"
	"runtime"
	"sync/atomic"
	"testing"

	"github.com/belfry/belfry"
	"github.com/belfry/belfry/brokertest"
	"github.com/belfry/belfry/internal/cputime"
	"github.com/belfry/belfry/redisbus"
)

func batch1000(prefix string) []belfry.Message {
	msgs := make([]belfry.Message, 1000)
	for i := range msgs {
		msgs[i] = msg(fmt.Sprint(prefix, i), 1)
	}
	return msgs
}

// BenchmarkPublish1000 publishes a batch of 1,000 messages for 1,000 users
// (one pipeline) that no node is subscribed to.
func BenchmarkPublish1000(b *testing.B) {
	br := open(b, redisURL(b), redisbus.Options{Prefix: testPrefix(b)})
	msgs := batch1000("u")
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if err := br.Publish(ctx, msgs); err != nil {
			b.Fatal(err)
		}
	}
}

// counter counts the messages that are not probes and hands probes to a
// Recorder (to learn when subscriptions took effect).
type counter struct {
	rec *brokertest.Recorder
	n   atomic.Int64
}

func (c *counter) Receive(m belfry.Message) {
	if m.New != nil && m.New.Category == brokertest.ProbeCategory {
		c.rec.Receive(m)
		return
	}
	c.n.Add(1)
}

func (c *counter) Resync() {}

// BenchmarkPublish1000Delivered publishes the same batch for users another
// node is subscribed to, and waits until that node has received all of it:
// one op includes Redis's fan-out and the receiving node's decoding.
func BenchmarkPublish1000Delivered(b *testing.B) {
	url, prefix := redisURL(b), testPrefix(b)
	pub := open(b, url, redisbus.Options{Prefix: prefix})
	sub := open(b, url, redisbus.Options{Prefix: prefix})
	c := &counter{rec: brokertest.NewRecorder()}
	brokertest.Start(b, sub, c)
	msgs := batch1000("u")
	users := make([]string, len(msgs))
	for i, m := range msgs {
		users[i] = m.UserID
	}
	brokertest.AwaitSubscribed(b, sub, pub, c.rec, users...)
	ctx := context.Background()
	b.ReportAllocs()
	want := int64(0)
	for b.Loop() {
		if err := pub.Publish(ctx, msgs); err != nil {
			b.Fatal(err)
		}
		want += int64(len(msgs))
		for c.n.Load() < want {
			runtime.Gosched()
		}
	}
}

// BenchmarkPublishConcurrent is 64 goroutines each publishing one message
// per call, as 64 concurrent publish requests do. cpu-ns/op is the
// process's CPU per call (Redis's own is not in it).
func BenchmarkPublishConcurrent(b *testing.B) {
	br := open(b, redisURL(b), redisbus.Options{Prefix: testPrefix(b)})
	ctx := context.Background()
	var next atomic.Int64
	b.ReportAllocs()
	b.SetParallelism(64 / runtime.GOMAXPROCS(0))
	start := cputime.Process()
	b.RunParallel(func(pb *testing.PB) {
		m := []belfry.Message{msg(fmt.Sprint("c", next.Add(1)), 1)}
		for pb.Next() {
			if err := br.Publish(ctx, m); err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.ReportMetric(float64(cputime.Process()-start)/float64(b.N), "cpu-ns/op")
}
