package memory_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/belfry/belfry"
	"github.com/belfry/belfry/memory"
	"github.com/belfry/belfry/presencetest"
)

func TestPresence(t *testing.T) {
	presencetest.Run(t, func(t *testing.T, n presencetest.Node) belfry.Presence {
		return memory.NewPresence(memory.PresenceOptions{Now: n.Now})
	})
}

// Beyond MaxLastSeen offline users, the oldest are forgotten first.
func TestPresenceForgetsOldest(t *testing.T) {
	clock := presencetest.NewClock()
	p := memory.NewPresence(memory.PresenceOptions{Now: clock.Now, MaxLastSeen: 1})
	p.Track("old", 1)
	p.Track("old", 0)
	clock.Advance(time.Second)
	var users []string
	for i := range 2000 {
		u := fmt.Sprint("u", i)
		users = append(users, u)
		p.Track(u, 1)
		p.Track(u, 0)
	}
	got := presencetest.Lookup(t, p, append(users, "old")...)
	kept := 0
	for _, u := range got {
		if !u.LastSeen.IsZero() {
			kept++
		}
	}
	// The bound is kept per lock shard (32): at most one each. With 2,000
	// users spread over 32 shards, "old" shares its shard with a newer
	// user but for a chance of (31/32)^2000.
	if kept == 0 || kept > 32 {
		t.Fatalf("%d of 2,001 last-seen times kept with MaxLastSeen 1, want 1 to 32", kept)
	}
	if !got[len(got)-1].LastSeen.IsZero() {
		t.Fatal("the oldest last-seen time survived 2,000 newer ones")
	}
}

func BenchmarkPresenceTrack(b *testing.B) {
	p := memory.NewPresence(memory.PresenceOptions{})
	users := make([]string, 1024)
	for i := range users {
		users[i] = fmt.Sprint("user-", i)
		p.Track(users[i], 1)
	}
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		i := 0
		for pb.Next() {
			p.Track(users[i%len(users)], 1+i%2) // a count change, no transition
			i++
		}
	})
}

// BenchmarkPresenceTrackEdges measures first and last streams: the clock
// read, the last-seen list and the send on Changes (full, so dropped).
func BenchmarkPresenceTrackEdges(b *testing.B) {
	p := memory.NewPresence(memory.PresenceOptions{})
	users := make([]string, 1024)
	for i := range users {
		users[i] = fmt.Sprint("user-", i)
	}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		u := users[i%len(users)]
		p.Track(u, 1)
		p.Track(u, 0)
		i++
	}
}

func BenchmarkPresenceLookup100(b *testing.B) {
	p := memory.NewPresence(memory.PresenceOptions{})
	users := make([]string, 100)
	for i := range users {
		users[i] = fmt.Sprint("user-", i)
		p.Track(users[i], 1)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := p.Lookup(b.Context(), users); err != nil {
			b.Fatal(err)
		}
	}
}
