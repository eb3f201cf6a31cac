package presencetest

import (
	"testing"
	"time"

	"github.com/belfry/belfry"
)

// Streams on two nodes add up, from either node's view; the presence began
// with the first stream on any node and ends with the last.
func testClusterCounts(t *testing.T, e *Env) {
	n1, n2 := e.Node(t), e.Node(t)
	Start(t, n1)
	Start(t, n2)
	a := e.User("a")
	t0 := e.Clock.Now()
	n1.Track(a, 1)
	Await(t, n2, Online(a, 1, t0))
	e.Clock.Advance(time.Second)
	n2.Track(a, 2)
	Await(t, n1, Online(a, 3, t0))
	Await(t, n2, Online(a, 3, t0))
	e.Clock.Advance(time.Second)
	n1.Track(a, 0)
	Await(t, n1, Online(a, 2, t0))
	t1 := e.Clock.Advance(time.Second)
	n2.Track(a, 0)
	Await(t, n1, Offline(a, t1))
	Await(t, n2, Offline(a, t1))
}

// Announce is cluster-wide: a change made on one node is no change on the
// other.
func testClusterAnnounce(t *testing.T, e *Env) {
	n1, n2 := e.Node(t), e.Node(t)
	Start(t, n1)
	Start(t, n2)
	a := e.User("a")
	if !announce(t, n1, a, true) {
		t.Fatal("first Announce(online) on node 1: no change")
	}
	if announce(t, n2, a, true) {
		t.Fatal("Announce(online) on node 2 after node 1 announced it: changed")
	}
	if !announce(t, n2, a, false) {
		t.Fatal("Announce(offline) on node 2: no change")
	}
	if announce(t, n1, a, false) {
		t.Fatal("Announce(offline) on node 1 after node 2 announced it: changed")
	}
}

// A node whose Run stops without any cleanup (what a killed process looks
// like) stops counting within PresenceTimeout: its users are last seen at
// its last sign of life, and a surviving node sends them on its Changes.
func testDeadNode(t *testing.T, e *Env) {
	live, dying := e.Node(t), e.Node(t)
	Start(t, live)
	stop := Start(t, dying)
	a, b := e.User("a"), e.User("b")
	t0 := e.Clock.Now()
	live.Track(a, 1)
	dying.Track(a, 2)
	dying.Track(b, 1)
	Await(t, live, Online(a, 3, t0), Online(b, 1, t0))
	stop() // the clock has not moved: t0 is the dying node's last beat
	e.Clock.Advance(belfry.PresenceTimeout + time.Second)
	AwaitChange(t, live.Changes(), b)
	if got := Lookup(t, live, b)[0]; !Equal(got, Offline(b, t0)) {
		t.Fatalf("on Changes after its node died, Lookup says %s", Format(got))
	}
	Await(t, live, Online(a, 1, t0))
}
