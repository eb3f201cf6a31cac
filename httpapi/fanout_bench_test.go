package httpapi

import (
	"context"
	"io"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/belfry/belfry/hub"

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
	_, h := leanStreams(b, users, func(i int) string { return "u" + strconv.Itoa(i) })
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
			h.Receive(msgs[i])
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*users), "ns/delivery")
	if s := h.Stats(); s.Slow != 0 || s.Streams != users {
		b.Fatalf("stats %+v", s)
	}
}

// BenchmarkFanOutLeanTabs is one user with 1,000 lean streams (tabs): each
// op is one event, encoded once and written to every stream. allocs/op is
// what the event costs; the streams add none.
func BenchmarkFanOutLeanTabs(b *testing.B) {
	const tabs = 1000
	_, h := leanStreams(b, tabs, func(int) string { return "u0" })
	msg := belfry.Message{Kind: belfry.KindNew, UserID: "u0",
		New: &belfry.Notification{UserID: "u0", Message: "Your export is ready",
			Link: "/exports/9", CreatedAt: time.Now()}}
	b.ReportAllocs()
	for b.Loop() {
		msg.New.ID++
		h.Receive(msg)
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*tabs), "ns/delivery")
	if s := h.Stats(); s.Slow != 0 || s.Streams != tabs {
		b.Fatalf("stats %+v", s)
	}
}

// BenchmarkPublishFanOutLean is the broadcast path behind one publish
// request: Inbox.Create for 1,000 users (validated, stored durably in
// SQLite in one group commit) then the fan-out to their lean streams.
func BenchmarkPublishFanOutLean(b *testing.B) {
	const users = 1000
	inbox, h := leanStreams(b, users, func(i int) string { return "u" + strconv.Itoa(i) })
	d := belfry.Draft{Message: "Your export is ready", Link: "/exports/9"}
	for i := range users {
		d.UserIDs = append(d.UserIDs, "u"+strconv.Itoa(i))
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := inbox.Create(context.Background(), d); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*users), "ns/delivery")
	if s := h.Stats(); s.Slow != 0 || s.Streams != users {
		b.Fatalf("stats %+v", s)
	}
}

// leanStreams starts a node (SQLite, memory broker, Hub) with n lean
// streams over loopback sockets whose readers discard; stream i is user(i)'s.
func leanStreams(b *testing.B, n int, user func(int) string) (*belfry.Inbox, *hub.Hub) {
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(b.TempDir(), "b.db"))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { st.Close() })
	br := memory.New()
	h := hub.New(hub.Config{Store: st, Broker: br, QueueSize: 1 << 16, MaxStreamsPerUser: -1, Heartbeat: time.Hour})
	runCtx, cancel := context.WithCancel(ctx)
	go br.Run(runCtx, h)
	b.Cleanup(func() { cancel(); h.CloseAll() })
	sockets := newSocketPairs(b)
	for i := range n {
		c, tc := sockets.pair()
		go io.Copy(io.Discard, c)
		ls, err := h.Attach(ctx, user(i), 0, false, hub.Options{})
		if err != nil {
			b.Fatal(err)
		}
		ls.Start(tc)
	}
	return &belfry.Inbox{Store: st, Broker: br}, h
}
