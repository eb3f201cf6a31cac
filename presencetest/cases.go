package presencetest

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/belfry/belfry"
)

// A first stream starts the presence (Since); more or fewer streams change
// only the count.
func testCounts(t *testing.T, e *Env) {
	p := e.Node(t)
	Start(t, p)
	a := e.User("a")
	t0 := e.Clock.Now()
	p.Track(a, 1)
	Await(t, p, Online(a, 1, t0))
	e.Clock.Advance(3 * time.Second)
	p.Track(a, 3)
	Await(t, p, Online(a, 3, t0))
	e.Clock.Advance(time.Second)
	p.Track(a, 2)
	Await(t, p, Online(a, 2, t0))
}

// The last stream's end is the last seen time; a new first stream starts a
// new presence, and LastSeen reads zero while online.
func testLastSeen(t *testing.T, e *Env) {
	p := e.Node(t)
	Start(t, p)
	a := e.User("a")
	p.Track(a, 2)
	e.Clock.Advance(5 * time.Second)
	p.Track(a, 1)
	t1 := e.Clock.Advance(5 * time.Second)
	p.Track(a, 0)
	Await(t, p, Offline(a, t1))
	t2 := e.Clock.Advance(time.Minute)
	p.Track(a, 1)
	Await(t, p, Online(a, 1, t2))
	t3 := e.Clock.Advance(time.Second)
	p.Track(a, 0)
	Await(t, p, Offline(a, t3))
}

// A user never seen is offline with no times; Lookup of no users answers
// an empty list.
func testNeverSeen(t *testing.T, e *Env) {
	p := e.Node(t)
	Start(t, p)
	Await(t, p, Offline(e.User("nobody"), time.Time{}))
	if got := Lookup(t, p); len(got) != 0 {
		t.Fatalf("Lookup() = %v, want an empty list", got)
	}
	// Track(…, 0) of a user with no streams is not a last stream.
	p.Track(e.User("zero"), 0)
	Await(t, p, Offline(e.User("zero"), time.Time{}))
}

// Answers come in the order asked, a user asked twice answered twice.
func testOrder(t *testing.T, e *Env) {
	p := e.Node(t)
	Start(t, p)
	a, b := e.User("a"), e.User("b")
	t0 := e.Clock.Now()
	p.Track(b, 4)
	Await(t, p, Offline(a, time.Time{}), Online(b, 4, t0), Offline(a, time.Time{}), Online(b, 4, t0))
}

// Announce reports a change only to the caller that makes it; a user never
// announced counts as announced offline.
func testAnnounce(t *testing.T, e *Env) {
	p := e.Node(t)
	Start(t, p)
	a, b := e.User("a"), e.User("b")
	steps := []struct {
		user          string
		online, where bool
	}{
		{b, false, false},
		{a, true, true},
		{a, true, false},
		{a, false, true},
		{a, false, false},
		{a, true, true},
		{b, true, true},
	}
	for i, s := range steps {
		changed := announce(t, p, s.user, s.online)
		if changed != s.where {
			t.Fatalf("step %d: Announce(%q, %t) = %t, want %t", i, s.user, s.online, changed, s.where)
		}
	}
}

func announce(t testing.TB, p belfry.Presence, user string, online bool) bool {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), Timeout)
	defer cancel()
	changed, err := p.Announce(ctx, user, online)
	if err != nil {
		t.Fatalf("Announce(%q, %t): %v", user, online, err)
	}
	return changed
}

// A first stream and a last stream's end send the user on Changes, and by
// then Lookup already shows the change (receivers check with Lookup).
func testChanges(t *testing.T, e *Env) {
	p := e.Node(t)
	Start(t, p)
	a := e.User("a")
	t0 := e.Clock.Now()
	p.Track(a, 1)
	AwaitChange(t, p.Changes(), a)
	if got := Lookup(t, p, a)[0]; !Equal(got, Online(a, 1, t0)) {
		t.Fatalf("on Changes after a first stream, Lookup says %s", Format(got))
	}
	p.Track(a, 2)
	p.Track(a, 1)
	t1 := e.Clock.Advance(time.Second)
	p.Track(a, 0)
	AwaitChange(t, p.Changes(), a)
	if got := Lookup(t, p, a)[0]; !Equal(got, Offline(a, t1)) {
		t.Fatalf("on Changes after the last stream, Lookup says %s", Format(got))
	}
}

// Streams tracked before Run starts count once it runs.
func testTrackBeforeRun(t *testing.T, e *Env) {
	p := e.Node(t)
	a := e.User("a")
	t0 := e.Clock.Now()
	p.Track(a, 2)
	Start(t, p)
	Await(t, p, Online(a, 2, t0))
}

// One Lookup answers for 100 users, online and offline.
func testMany(t *testing.T, e *Env) {
	p := e.Node(t)
	Start(t, p)
	t0 := e.Clock.Now()
	want := make([]belfry.UserPresence, 100)
	for i := range want {
		u := e.User(fmt.Sprint("u", i))
		switch i % 3 {
		case 0:
			p.Track(u, 1+i%5)
			want[i] = Online(u, 1+i%5, t0)
		case 1:
			p.Track(u, 1)
			p.Track(u, 0)
			want[i] = Offline(u, t0)
		default:
			want[i] = Offline(u, time.Time{})
		}
	}
	Await(t, p, want...)
}

// Track from many goroutines at once (as the Hub's shards do) keeps every
// user's count; run with -race.
func testConcurrent(t *testing.T, e *Env) {
	p := e.Node(t)
	Start(t, p)
	const workers, perWorker = 8, 50
	t0 := e.Clock.Now()
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for i := range perWorker {
				u := e.User(fmt.Sprint("w", w, "-", i))
				for n := 1; n <= 3; n++ {
					p.Track(u, n)
				}
				p.Track(u, 2)
			}
		})
	}
	wg.Wait()
	var want []belfry.UserPresence
	for w := range workers {
		for i := range perWorker {
			want = append(want, Online(e.User(fmt.Sprint("w", w, "-", i)), 2, t0))
		}
	}
	Await(t, p, want...)
}
