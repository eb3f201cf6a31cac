package redisbus_test

import (
	"slices"
	"testing"

	"github.com/belfry/belfry"
	"github.com/belfry/belfry/brokertest"
	"github.com/belfry/belfry/redisbus"
)

// from returns a message of user with id, its text naming the deployment
// that sent it.
func from(deployment, user string, id int64) belfry.Message {
	m := msg(user, id)
	m.New.Message = deployment
	return m
}

// wantFrom fails the test unless r received exactly ids 1..n of user, each
// sent by deployment.
func wantFrom(t *testing.T, r *brokertest.Recorder, deployment, user string, n int) {
	t.Helper()
	got := r.Messages(user)
	var ids []int64
	for _, m := range got {
		ids = append(ids, m.New.ID)
		if m.New.Message != deployment {
			t.Errorf("%s's stream got a message of deployment %q (id %d): deployments on one Redis heard each other",
				user, m.New.Message, m.New.ID)
		}
	}
	want := make([]int64, n)
	for i := range want {
		want[i] = int64(i + 1)
	}
	if !slices.Equal(ids, want) {
		t.Fatalf("%s received ids %v, want %v", user, ids, want)
	}
}

// Two deployments share one Redis with nested prefixes, "…app:" and
// "…app:t2:". The first one's user "t2:bob" and the second one's "bob"
// would have the same channel if a channel were the prefix and the user id
// side by side. Neither hears the other's events, and no message of the
// other even reaches a node (the channels differ; the deployment id in
// each payload is a second guard, tested apart).
func TestNestedPrefixesDoNotHearEachOther(t *testing.T) {
	url := redisURL(t)
	base := testPrefix(t)
	outerName, innerName := base+"app:", base+"app:t2:"
	outer := open(t, url, redisbus.Options{Prefix: outerName})
	inner := open(t, url, redisbus.Options{Prefix: innerName})
	ro, ri := brokertest.NewRecorder(), brokertest.NewRecorder()
	brokertest.Start(t, outer, ro)
	brokertest.Start(t, inner, ri)
	brokertest.AwaitSubscribed(t, outer, outer, ro, "t2:bob")
	brokertest.AwaitSubscribed(t, inner, inner, ri, "bob")

	// Each Publish returns once Redis executed it, so the second round is
	// a fence for the first on both nodes: Redis writes a subscriber's
	// messages in the order it executed the publishes.
	for id := int64(1); id <= 2; id++ {
		publish(t, outer, from(outerName, "t2:bob", id))
		publish(t, inner, from(innerName, "bob", id))
	}
	brokertest.Eventually(t, "each deployment's own two messages", func() bool {
		return hasID(ro, "t2:bob", outerName, 2) && hasID(ri, "bob", innerName, 2)
	})
	wantFrom(t, ro, outerName, "t2:bob", 2)
	wantFrom(t, ri, innerName, "bob", 2)
	if n := ro.Count("bob") + ri.Count("t2:bob"); n != 0 {
		t.Fatalf("%d message(s) reached a user that was never subscribed", n)
	}
	for _, b := range []*redisbus.Broker{outer, inner} {
		if st := b.Stats(); st.Foreign != 0 {
			t.Fatalf("Stats().Foreign = %d: the other deployment's messages reached this node's channels", st.Foreign)
		}
	}
}

// hasID reports whether r received id of user from deployment.
func hasID(r *brokertest.Recorder, user, deployment string, id int64) bool {
	for _, m := range r.Messages(user) {
		if m.New.ID == id && m.New.Message == deployment {
			return true
		}
	}
	return false
}

// A message on one of the node's channels that is not of its deployment is
// dropped and counted, never delivered: a payload of another deployment
// (captured from that deployment's own channel and published again here),
// the same in JSON, and payloads without a deployment id, as a node of an
// older belfry publishes them. Those last ones ring the doorbell: the
// user's streams are told to check the store (ResyncUsers).
func TestForeignDeploymentDropped(t *testing.T) {
	url := redisURL(t)
	prefix := testPrefix(t)
	other := prefix + "other:"
	b := open(t, url, redisbus.Options{Prefix: prefix})
	r := &userResyncs{Recorder: brokertest.NewRecorder(), users: map[string]int{}}
	brokertest.Start(t, b, r)
	brokertest.AwaitSubscribed(t, b, b, r.Recorder, "first") // the connection is up
	brokertest.AwaitSubscribed(t, b, b, r.Recorder, "bob")
	// bob's subscription came after the connection's first: Redis's
	// confirmation of it calls ResyncUsers once.
	brokertest.Eventually(t, "bob's subscription to be confirmed", func() bool { return r.count("bob") > 0 })
	confirmed := r.count("bob")

	raw := rawClient(t, url)
	ctx := t.Context()
	ps := raw.Subscribe(ctx, other+"bob")
	t.Cleanup(func() { ps.Close() })
	if _, err := ps.Receive(ctx); err != nil { // the SUBSCRIBE confirmation
		t.Fatal(err)
	}
	publish(t, open(t, url, redisbus.Options{Prefix: other}), from(other, "bob", 1))
	captured, err := ps.ReceiveMessage(ctx)
	if err != nil {
		t.Fatal(err)
	}
	payloads := []string{
		captured.Payload,
		`{"deployment":"` + other + `","kind":"new-notification","notification":{"id":2,"user_id":"bob","message":"x"}}`,
		// An older belfry: version 1 of the binary form (new-notification,
		// id 3, message "x", no title, link, category or data, created at
		// the epoch, unread), and JSON without a deployment.
		"\x01\x01\x06\x01x\x00\x00\x00\x00\x00\x00\x00",
		`{"kind":"new-notification","notification":{"id":4,"user_id":"bob","message":"x"}}`,
	}
	for _, p := range payloads {
		if err := raw.Publish(ctx, prefix+"bob", p).Err(); err != nil {
			t.Fatal(err)
		}
	}
	// The fence: published after the others were executed.
	publish(t, b, from(prefix, "bob", 9))
	brokertest.Eventually(t, "the fence", func() bool { return r.Count("bob") > 0 })
	if got := r.Messages("bob"); len(got) != 1 || got[0].New.ID != 9 {
		t.Fatalf("bob received %d message(s), the first %+v; want only the fence (id 9)", len(got), got[0].New)
	}
	st := b.Stats()
	if st.Foreign != uint64(len(payloads)) || st.Undecodable != 0 {
		t.Fatalf("Stats %+v: want Foreign %d, Undecodable 0", st, len(payloads))
	}
	if n := r.count("bob") - confirmed; n != 2 {
		t.Fatalf("ResyncUsers(bob) called %d time(s) for the payloads without a deployment id, want 2", n)
	}
}
