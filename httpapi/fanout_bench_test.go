package httpapi

import (
	"context"
	"io"
	"net"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/belfry/belfry"
	"github.com/belfry/belfry/memory"
	"github.com/belfry/belfry/sqlite"
)

// BenchmarkFanOutLean measures the Hub's fan-out to lean streams over real
// loopback sockets: one notification to each of 1,000 users, each with one
// stream, written from the publishing goroutine. ns/op is per delivery.
// The readers run in this process too, so on loopback their TCP work is in
// the figure, as it would be for a load generator on the same machine.
func BenchmarkFanOutLean(b *testing.B) {
	const users = 1000
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(b.TempDir(), "b.db"))
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	hub := belfry.NewHub(belfry.HubConfig{Store: st, Broker: memory.New(), QueueSize: 1 << 16})
	defer hub.CloseAll()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	defer ln.Close()
	for i := range users {
		c, err := net.Dial("tcp", ln.Addr().String())
		if err != nil {
			b.Fatal(err)
		}
		defer c.Close()
		go io.Copy(io.Discard, c)
		sc, err := ln.Accept()
		if err != nil {
			b.Fatal(err)
		}
		tc, err := newTCPConn(sc.(*net.TCPConn))
		if err != nil {
			b.Fatal(err)
		}
		ls, err := hub.OpenLean(ctx, "u"+strconv.Itoa(i), 0, false, belfry.LeanOptions{Heartbeat: time.Hour})
		if err != nil {
			b.Fatal(err)
		}
		ls.Start(tc)
	}
	msgs := make([]belfry.Message, users)
	for i := range msgs {
		msgs[i] = belfry.Message{Kind: belfry.KindNew, UserID: "u" + strconv.Itoa(i),
			New: &belfry.Notification{UserID: "u" + strconv.Itoa(i), Message: "Your export is ready",
				Link: "/exports/9", CreatedAt: time.Now()}}
	}
	var id int64
	b.ReportAllocs()
	for b.Loop() {
		id++
		for i := range msgs {
			msgs[i].New.ID = id
			hub.Receive(msgs[i])
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*users), "ns/delivery")
	if s := hub.Stats(); s.Slow != 0 || s.Streams != users {
		b.Fatalf("stats %+v", s)
	}
}
