package storetest

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/belfry/belfry"
)

func testSubscribe(t *testing.T, s belfry.Store, u users) {
	alice, bob := u.id("alice"), u.id("bob")
	t0 := msTime(0)
	if got := subscriptionsOf(t, s, alice); len(got) != 0 {
		t.Fatalf("SubscriptionsOf a user without any: %s", briefSubs(got))
	}
	// Oldest first, then by endpoint; Created at millisecond precision.
	late := pushSub(u.id("late"), t0.Add(2*time.Second+700*time.Microsecond))
	z := pushSub(u.id("z"), t0)
	a := pushSub(u.id("a"), t0)
	long := belfry.Subscription{
		Endpoint: "https://push.example/" + u.id(strings.Repeat("e", 2048-len("https://push.example/")-len(u.prefix))),
		P256DH:   "BNcRdreALRFXTkOOUHK1EtK2wtaz5Ry4YfYCA_0QTpQtUbVlUls0VJXg7A8u-Ts1XbjhazAkj7I99e8QcYP7DkM",
		Auth:     "tBHItJI5svbpez7KI4CCXg",
		Created:  t0.Add(time.Second),
	}
	if len(long.Endpoint) != 2048 {
		t.Fatalf("test setup: endpoint of %d bytes", len(long.Endpoint))
	}
	for _, sub := range []belfry.Subscription{late, z, long, a} {
		subscribe(t, s, alice, sub)
	}
	subscribe(t, s, bob, pushSub(u.id("bob"), t0))
	wantSubs(t, s, alice, a, z, long, late)
	wantSubs(t, s, bob, pushSub(u.id("bob"), t0))
}

func testSubscribeReplaces(t *testing.T, s belfry.Store, u users) {
	alice, bob := u.id("alice"), u.id("bob")
	t0 := msTime(0)
	first := pushSub(u.id("phone"), t0)
	other := pushSub(u.id("other"), t0.Add(time.Second))
	subscribe(t, s, alice, first)
	subscribe(t, s, alice, other)

	// The same endpoint again: new keys, new Created, still one.
	renewed := first
	renewed.P256DH, renewed.Auth, renewed.Created = "BNew-key", "new-auth", t0.Add(2*time.Second)
	subscribe(t, s, alice, renewed)
	wantSubs(t, s, alice, other, renewed)

	// Another user subscribes the same endpoint: it moves.
	moved := first
	moved.P256DH, moved.Auth, moved.Created = "BBob-key", "bob-auth", t0.Add(3*time.Second)
	subscribe(t, s, bob, moved)
	wantSubs(t, s, alice, other)
	wantSubs(t, s, bob, moved)
	wantCode(t, "alice's Unsubscribe of the endpoint that moved to bob",
		s.Unsubscribe(ctx(t), alice, first.Endpoint), belfry.ENOTFOUND)
	wantSubs(t, s, bob, moved)
}

func testSubscriptionsLimit(t *testing.T, s belfry.Store, u users) {
	alice, bob := u.id("alice"), u.id("bob")
	t0 := msTime(0)
	var subs []belfry.Subscription
	for i := range belfry.MaxSubscriptions {
		sub := pushSub(u.id(fmt.Sprintf("alice-%02d", i)), t0.Add(time.Duration(i)*time.Second))
		subscribe(t, s, alice, sub)
		subs = append(subs, sub)
	}
	extra := pushSub(u.id("alice-extra"), t0.Add(time.Hour))
	err := s.Subscribe(ctx(t), alice, extra)
	wantCode(t, fmt.Sprintf("Subscribe #%d", belfry.MaxSubscriptions+1), err, belfry.ELIMIT)
	wantSubs(t, s, alice, subs...)

	// Replacing one of the twenty is no new one.
	renewed := subs[0]
	renewed.Auth = "renewed"
	subscribe(t, s, alice, renewed)
	subs[0] = renewed
	wantSubs(t, s, alice, subs...)

	// Taking over another user's endpoint counts; bob keeps it when the
	// limit stops alice.
	bobs := pushSub(u.id("bob-phone"), t0)
	subscribe(t, s, bob, bobs)
	taken := bobs
	taken.Created = t0.Add(time.Hour)
	wantCode(t, "Subscribe of bob's endpoint by alice, at the limit", s.Subscribe(ctx(t), alice, taken), belfry.ELIMIT)
	wantSubs(t, s, bob, bobs)
	wantSubs(t, s, alice, subs...)

	// Below the limit again, it moves.
	if err := s.Unsubscribe(ctx(t), alice, subs[5].Endpoint); err != nil {
		t.Fatalf("Unsubscribe: %v", err)
	}
	subscribe(t, s, alice, taken)
	wantSubs(t, s, bob)
	want := append(append(append([]belfry.Subscription(nil), subs[:5]...), subs[6:]...), taken)
	wantSubs(t, s, alice, want...)
}

func testUnsubscribe(t *testing.T, s belfry.Store, u users) {
	alice, bob := u.id("alice"), u.id("bob")
	t0 := msTime(0)
	phone, laptop := pushSub(u.id("phone"), t0), pushSub(u.id("laptop"), t0.Add(time.Second))
	subscribe(t, s, alice, phone)
	subscribe(t, s, alice, laptop)
	wantCode(t, "bob's Unsubscribe of alice's endpoint", s.Unsubscribe(ctx(t), bob, phone.Endpoint), belfry.ENOTFOUND)
	wantCode(t, "Unsubscribe of an unknown endpoint", s.Unsubscribe(ctx(t), alice, phone.Endpoint+"x"), belfry.ENOTFOUND)
	wantSubs(t, s, alice, phone, laptop)
	if err := s.Unsubscribe(ctx(t), alice, phone.Endpoint); err != nil {
		t.Fatalf("Unsubscribe: %v", err)
	}
	wantSubs(t, s, alice, laptop)
	wantCode(t, "Unsubscribe again", s.Unsubscribe(ctx(t), alice, phone.Endpoint), belfry.ENOTFOUND)
	// The endpoint is free for anyone now.
	subscribe(t, s, bob, phone)
	wantSubs(t, s, bob, phone)
	wantSubs(t, s, alice, laptop)
}
