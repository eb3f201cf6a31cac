package e2e

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"github.com/belfry/belfry/internal/pgtest"
	"os"
	"slices"
	"testing"
	"time"
)

// sharedPostgres returns BELFRY_TEST_POSTGRES with a fresh schema as its
// search_path (dropped afterwards), or skips.
func sharedPostgres(b testing.TB) string { return pgtest.Schema(b, "belfry_e2e_") }

// BenchmarkCrossNodeLatency publishes on node A and times the arrival of
// each notification on a stream held by node B (two belfry processes,
// PostgreSQL store and Redis broker from BELFRY_TEST_POSTGRES and
// BELFRY_TEST_REDIS). One publish at a time: the figure is latency, not
// throughput. It reports p50 and p99 of publish→deliver, and p50 of the
// publish call alone (the durable commit and its HTTP round trip).
func BenchmarkCrossNodeLatency(b *testing.B) {
	redisURL := os.Getenv("BELFRY_TEST_REDIS")
	if redisURL == "" {
		b.Skip("BELFRY_TEST_REDIS is not set")
	}
	store := sharedPostgres(b)
	var r [4]byte
	rand.Read(r[:])
	prefix := "belfry-e2e-" + hex.EncodeToString(r[:]) + ":"
	c := &cluster{}
	for _, name := range []string{"A", "B"} {
		c.nodes = append(c.nodes, startNode(b, name, "--store", store, "--broker", redisURL, "--redis-prefix", prefix))
	}
	st := newSSEClient(b, &cluster{nodes: c.nodes[1:]}, "lat", c.nodes[1])
	st.arrived = make(chan int64, 16)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); st.run(ctx) }()
	defer func() { cancel(); <-done }()
	waitFor(b, 30*time.Second, "the stream on B", func() bool { _, _, synced, _ := st.snapshot(); return synced })

	var deliver, call []time.Duration
	i := 0
	for b.Loop() {
		i++
		t0 := time.Now()
		res := publish(ctx, c.nodes[0], []string{"lat"}, fmt.Sprint("m", i))
		t1 := time.Now()
		if res.status != 201 {
			b.Fatalf("publish: %d %s %v", res.status, res.code, res.err)
		}
		for id := range st.arrived {
			if id == res.ids["lat"] {
				break
			}
		}
		deliver = append(deliver, time.Since(t0))
		call = append(call, t1.Sub(t0))
	}
	slices.Sort(deliver)
	slices.Sort(call)
	q := func(d []time.Duration, p float64) float64 {
		return float64(d[min(len(d)-1, int(p*float64(len(d))))].Microseconds()) / 1000
	}
	b.ReportMetric(q(deliver, 0.50), "p50-ms")
	b.ReportMetric(q(deliver, 0.99), "p99-ms")
	b.ReportMetric(q(call, 0.50), "publish-p50-ms")
	b.ReportMetric(0, "ns/op")
}
