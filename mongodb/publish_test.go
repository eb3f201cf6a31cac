package mongodb

import (
	"crypto/sha256"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/belfry/belfry"
	"go.mongodb.org/mongo-driver/v2/bson"
)

// fakeClock is a Config.Now the test moves.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *fakeClock { return &fakeClock{t: belfry.Now(time.Now())} }

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// openClock opens n Stores on one database with clock as their Config.Now.
func openClock(t *testing.T, n int, clock *fakeClock) []*Store {
	c := testConfig()
	c.Now = clock.Now
	return openN(t, n, c)
}

// batch returns a publish of msg to users, with key name when it is not
// "" (the body hash is that of msg and users).
func batch(key, msg string, users ...string) *belfry.Batch {
	b := &belfry.Batch{}
	for _, u := range users {
		b.Notifications = append(b.Notifications, &belfry.Notification{UserID: u, Message: msg, Category: "billing"})
	}
	if key != "" {
		b.Key = &belfry.IdempotencyKey{Name: key, Hash: sha256.Sum256(fmt.Append(nil, msg, users)),
			Expires: time.Now().Add(time.Hour)}
	}
	return b
}

func setInApp(t *testing.T, s *Store, user, category string, on bool) {
	t.Helper()
	p := belfry.PreferencesPatch{Categories: map[string]*belfry.ChannelsPatch{category: {InApp: &on}}}
	if _, err := s.SetPreferences(t.Context(), user, p); err != nil {
		t.Fatal(err)
	}
}

// countOf returns how many notifications the user has stored.
func countOf(t *testing.T, s *Store, user string) int64 {
	t.Helper()
	n, err := s.notes.CountDocuments(t.Context(), bson.D{{Key: "user_id", Value: user}})
	if err != nil {
		t.Fatal(err)
	}
	return n
}

type answer struct {
	ids      []int64
	skipped  []string
	replayed bool
}

func answerOf(b *belfry.Batch) answer {
	return answer{ids: ids(b.Notifications), skipped: b.Skipped, replayed: b.Replayed}
}

func sameAnswer(a, b answer) bool {
	return slices.Equal(a.ids, b.ids) && slices.Equal(a.skipped, b.skipped)
}

// TestPublishIdempotentConcurrent: many identical calls with one key, on
// three Stores at once, create one set; every caller gets its ids, and
// exactly one is not a replay.
func TestPublishIdempotentConcurrent(t *testing.T) {
	ss := openN(t, 3, testConfig())
	setInApp(t, ss[0], "carol", "billing", false)
	var (
		wg      sync.WaitGroup
		mu      sync.Mutex
		answers []answer
	)
	for i := range 24 {
		wg.Go(func() {
			b := batch("order-1", "paid", "alice", "bob", "carol")
			if err := ss[i%3].Publish(t.Context(), b); err != nil {
				t.Error(err)
				return
			}
			mu.Lock()
			answers = append(answers, answerOf(b))
			mu.Unlock()
		})
	}
	wg.Wait()
	if t.Failed() {
		return
	}
	fresh := 0
	for _, a := range answers {
		if !sameAnswer(a, answers[0]) {
			t.Fatalf("answers differ: %+v and %+v", a, answers[0])
		}
		if !a.replayed {
			fresh++
		}
	}
	if fresh != 1 {
		t.Errorf("%d answers were not replays, want 1", fresh)
	}
	if want := (answer{ids: []int64{1, 1}, skipped: []string{"carol"}}); !sameAnswer(answers[0], want) {
		t.Errorf("answer %+v, want %+v", answers[0], want)
	}
	for u, want := range map[string]int64{"alice": 1, "bob": 1, "carol": 0} {
		if got := countOf(t, ss[0], u); got != want {
			t.Errorf("%s has %d notifications, want %d", u, got, want)
		}
	}
}

// TestPublishReplay: a repeat fills ids, CreatedAt and ExpiresAt from the
// record, keeps the skipped users skipped even after their preferences
// changed, and stores nothing.
func TestPublishReplay(t *testing.T) {
	s := openOne(t)
	setInApp(t, s, "bob", "billing", false)
	first := batch("k", "m", "alice", "bob")
	exp := belfry.Now(time.Now().Add(time.Minute))
	first.Notifications[0].ExpiresAt = &exp
	if err := s.Publish(t.Context(), first); err != nil {
		t.Fatal(err)
	}
	if first.Replayed || len(first.Notifications) != 1 || !slices.Equal(first.Skipped, []string{"bob"}) {
		t.Fatalf("first call: %+v", answerOf(first))
	}
	setInApp(t, s, "bob", "billing", true)
	again := batch("k", "m", "alice", "bob")
	later := exp.Add(time.Second) // as a ttl would give a second later
	again.Notifications[0].ExpiresAt = &later
	if err := s.Publish(t.Context(), again); err != nil {
		t.Fatal(err)
	}
	if !again.Replayed || !sameAnswer(answerOf(again), answerOf(first)) {
		t.Fatalf("repeat: %+v, want a replay of %+v", answerOf(again), answerOf(first))
	}
	n, m := again.Notifications[0], first.Notifications[0]
	if !n.CreatedAt.Equal(m.CreatedAt) || n.ExpiresAt == nil || !n.ExpiresAt.Equal(exp) {
		t.Fatalf("replayed created_at %v expires_at %v, want %v and %v", n.CreatedAt, n.ExpiresAt, m.CreatedAt, exp)
	}
	if got := countOf(t, s, "alice") + countOf(t, s, "bob"); got != 1 {
		t.Fatalf("%d notifications stored, want 1", got)
	}
}

func TestPublishIdempotencyConflict(t *testing.T) {
	s := openOne(t)
	if err := s.Publish(t.Context(), batch("k", "one", "alice")); err != nil {
		t.Fatal(err)
	}
	err := s.Publish(t.Context(), batch("k", "two", "alice"))
	if belfry.ErrorCode(err) != belfry.EIDEMCONFLICT {
		t.Fatalf("same key, another body: %v, want %s", err, belfry.EIDEMCONFLICT)
	}
	if got := countOf(t, s, "alice"); got != 1 {
		t.Fatalf("%d notifications stored, want 1", got)
	}
}

// TestPublishKeyExpired: once the window has passed, the key is free: the
// same call creates a new set, and another body is no conflict.
func TestPublishKeyExpired(t *testing.T) {
	clock := newClock()
	s := openClock(t, 1, clock)[0]
	b := batch("k", "m", "alice")
	b.Key.Expires = clock.Now().Add(time.Minute)
	if err := s.Publish(t.Context(), b); err != nil {
		t.Fatal(err)
	}
	clock.Add(time.Minute)
	again := batch("k", "m", "alice")
	again.Key.Expires = clock.Now().Add(time.Minute)
	if err := s.Publish(t.Context(), again); err != nil || again.Replayed || ids(again.Notifications)[0] != 2 {
		t.Fatalf("after the window: %+v, %v; want a new notification, id 2", answerOf(again), err)
	}
	other := batch("k", "other", "alice")
	if err := s.Publish(t.Context(), other); belfry.ErrorCode(err) != belfry.EIDEMCONFLICT {
		t.Fatalf("another body within the new window: %v, want %s", err, belfry.EIDEMCONFLICT)
	}
}

// TestPublishTakeover: a writer died after claiming a key and storing part
// of its call. Concurrent duplicates on two Stores take it over: the
// missing users' notifications are created once, the stored one is kept,
// and the plan of the dead writer (who skipped carol) is followed.
func TestPublishTakeover(t *testing.T) {
	ss := openN(t, 2, testConfig())
	s := ss[0]
	ctx := t.Context()
	b := batch("k", "m", "alice", "bob", "carol")
	claim := bson.NewObjectID()
	dead := &keyDoc{Name: "k", Claim: claim, Hash: fmt.Sprintf("%x", b.Key.Hash), State: keyPending,
		Owner: "dead", ClaimedAt: belfry.Now(time.Now().Add(-time.Hour)), ExpiresAt: b.Key.Expires,
		Users: []string{"alice", "bob", "carol"}, Skip: []int{2}}
	if _, err := s.keys.InsertOne(ctx, dead); err != nil {
		t.Fatal(err)
	}
	stored := &belfry.Notification{UserID: "alice", Message: "m", Category: "billing"}
	if err := s.create(ctx, []*belfry.Notification{stored},
		map[*belfry.Notification]slot{stored: {key: "k", slot: slotOf(claim, 0)}}, false); err != nil {
		t.Fatal(err)
	}
	mustCreate(t, s, one("bob", "before")) // bob's call will get id 2

	var wg sync.WaitGroup
	answers := make([]answer, 8)
	for i := range answers {
		wg.Go(func() {
			b := batch("k", "m", "alice", "bob", "carol")
			if err := ss[i%2].Publish(ctx, b); err != nil {
				t.Error(err)
			}
			answers[i] = answerOf(b)
		})
	}
	wg.Wait()
	want := answer{ids: []int64{1, 2}, skipped: []string{"carol"}}
	for _, a := range answers {
		if !sameAnswer(a, want) {
			t.Fatalf("answer %+v, want %+v", a, want)
		}
	}
	for u, want := range map[string]int64{"alice": 1, "bob": 2, "carol": 0} {
		if got := countOf(t, s, u); got != want {
			t.Errorf("%s has %d notifications, want %d", u, got, want)
		}
	}
	d, err := s.readKey(ctx, "k")
	if err != nil || d.State != keyDone || !slices.Equal(d.IDs, []int64{1, 2, 0}) {
		t.Fatalf("key after the takeover: %+v, %v; want done with ids [1 2 0]", d, err)
	}
}

// TestPublishPreferences: in-app off for a category skips its
// notifications; the default applies to other categories and to those
// without one.
func TestPublishPreferences(t *testing.T) {
	s := openOne(t)
	off, on := false, true
	if _, err := s.SetPreferences(t.Context(), "alice", belfry.PreferencesPatch{
		Default:    &belfry.ChannelsPatch{InApp: &off},
		Categories: map[string]*belfry.ChannelsPatch{"billing": {InApp: &on}}}); err != nil {
		t.Fatal(err)
	}
	setInApp(t, s, "bob", "billing", false)
	mk := func(user, cat string) *belfry.Notification {
		return &belfry.Notification{UserID: user, Message: "m", Category: cat}
	}
	b := &belfry.Batch{Notifications: []*belfry.Notification{
		mk("alice", "billing"), mk("alice", "news"), mk("alice", ""),
		mk("bob", "billing"), mk("bob", "news"), mk("carol", "billing")}}
	if err := s.Publish(t.Context(), b); err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, n := range b.Notifications {
		got = append(got, n.UserID+"/"+n.Category)
	}
	if want := []string{"alice/billing", "bob/news", "carol/billing"}; !slices.Equal(got, want) {
		t.Fatalf("created %v, want %v", got, want)
	}
	if want := []string{"alice", "alice", "bob"}; !slices.Equal(b.Skipped, want) {
		t.Fatalf("skipped %v, want %v", b.Skipped, want)
	}
	if countOf(t, s, "alice") != 1 || countOf(t, s, "bob") != 1 {
		t.Fatal("skipped notifications were stored")
	}
}

// TestPublishPendingThenStale: a duplicate finds a claim that is pending
// and fresh, polls it, and when no record comes within the write timeout
// (its writer hung) takes it over and completes the call.
func TestPublishPendingThenStale(t *testing.T) {
	c := testConfig()
	c.WriteTimeout = 300 * time.Millisecond
	s := openN(t, 1, c)[0]
	ctx := t.Context()
	b := batch("k", "m", "alice", "bob")
	hung := &keyDoc{Name: "k", Claim: bson.NewObjectID(), Hash: fmt.Sprintf("%x", b.Key.Hash), State: keyPending,
		Owner: "hung", ClaimedAt: belfry.Now(time.Now()), ExpiresAt: b.Key.Expires, Users: []string{"alice", "bob"}, Skip: []int{}}
	if _, err := s.keys.InsertOne(ctx, hung); err != nil {
		t.Fatal(err)
	}
	if err := s.Publish(ctx, b); err != nil {
		t.Fatal(err)
	}
	if want := (answer{ids: []int64{1, 1}}); b.Replayed || !sameAnswer(answerOf(b), want) {
		t.Fatalf("answer %+v, want %+v, not a replay", answerOf(b), want)
	}
	d, err := s.readKey(ctx, "k")
	if err != nil || d.State != keyDone || d.Owner == "hung" {
		t.Fatalf("key: %+v, %v; want recorded by the taker", d, err)
	}
}
