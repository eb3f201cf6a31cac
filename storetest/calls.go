package storetest

import (
	"crypto/sha256"
	"fmt"
	"testing"
	"time"

	"github.com/belfry/belfry"
)

// Helpers that call the inbox operations and fail the test on error.

// cat returns a notification of category for user.
func cat(user, msg, category string) *belfry.Notification {
	return &belfry.Notification{UserID: user, Message: msg, Category: category}
}

// expiring sets n's ExpiresAt to at and returns n.
func expiring(n *belfry.Notification, at time.Time) *belfry.Notification {
	n.ExpiresAt = &at
	return n
}

// expired returns a notification for user that expired an hour ago: a
// store accepts it from Create (the Inbox validates, not the store) and
// never lists, counts or replays it.
func expired(user, msg, category string) *belfry.Notification {
	return expiring(cat(user, msg, category), msTime(-time.Hour))
}

func seeAll(t *testing.T, s belfry.Store, user string, upTo int64, at time.Time) int {
	t.Helper()
	n, err := s.SeeAll(ctx(t), user, upTo, at)
	if err != nil {
		t.Fatalf("SeeAll(%q, %d): %v", user, upTo, err)
	}
	return n
}

func setArchived(t *testing.T, s belfry.Store, user string, id int64, at *time.Time) *belfry.Notification {
	t.Helper()
	n, err := s.SetArchived(ctx(t), user, id, at)
	if err != nil {
		t.Fatalf("SetArchived(%q, %d, %v): %v", user, id, at, err)
	}
	if n == nil {
		t.Fatalf("SetArchived(%q, %d) returned a nil notification", user, id)
	}
	return n
}

func act(t *testing.T, s belfry.Store, user string, id int64, action string, at time.Time) *belfry.Notification {
	t.Helper()
	n, err := s.Act(ctx(t), user, id, action, at)
	if err != nil {
		t.Fatalf("Act(%q, %d, %q): %v", user, id, action, err)
	}
	if n == nil {
		t.Fatalf("Act(%q, %d, %q) returned a nil notification", user, id, action)
	}
	return n
}

func prefs(t *testing.T, s belfry.Store, user string) belfry.Preferences {
	t.Helper()
	p, err := s.Preferences(ctx(t), user)
	if err != nil {
		t.Fatalf("Preferences(%q): %v", user, err)
	}
	return p
}

func setPrefs(t *testing.T, s belfry.Store, user string, p belfry.PreferencesPatch) belfry.Preferences {
	t.Helper()
	got, err := s.SetPreferences(ctx(t), user, p)
	if err != nil {
		t.Fatalf("SetPreferences(%q): %v", user, err)
	}
	return got
}

// off is a patch that turns in-app delivery off for category ("" for the
// default).
func off(category string) belfry.PreferencesPatch {
	f := false
	if category == "" {
		return belfry.PreferencesPatch{Default: &belfry.ChannelsPatch{InApp: &f}}
	}
	return belfry.PreferencesPatch{Categories: map[string]*belfry.ChannelsPatch{category: {InApp: &f}}}
}

// key returns an idempotency key named name for a request body.
func key(name, body string, expires time.Time) *belfry.IdempotencyKey {
	return &belfry.IdempotencyKey{Name: name, Hash: sha256.Sum256([]byte(body)), Expires: expires}
}

// publish runs Publish with ns and k and fails the test on error.
func publish(t *testing.T, s belfry.Store, k *belfry.IdempotencyKey, ns ...*belfry.Notification) *belfry.Batch {
	t.Helper()
	b := &belfry.Batch{Notifications: ns, Key: k}
	if err := s.Publish(ctx(t), b); err != nil {
		t.Fatalf("Publish(%d notifications): %v", len(ns), err)
	}
	return b
}

// created is what a Batch says was created (or replayed): user → id.
type created struct {
	user string
	id   int64
}

// wantBatch checks a Batch after Publish: the notifications left in it
// (users and ids, in order), Skipped and Replayed.
func wantBatch(t *testing.T, what string, b *belfry.Batch, want []created, skipped []string, replayed bool) {
	t.Helper()
	var got []created
	for _, n := range b.Notifications {
		got = append(got, created{n.UserID, n.ID})
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("%s: notifications %v, want %v", what, got, want)
	}
	if fmt.Sprint(b.Skipped) != fmt.Sprint(skipped) || len(b.Skipped) != len(skipped) {
		t.Fatalf("%s: skipped %q, want %q", what, b.Skipped, skipped)
	}
	if b.Replayed != replayed {
		t.Fatalf("%s: replayed %v, want %v", what, b.Replayed, replayed)
	}
}

// byCat builds a ByCategory map from category, unread, unseen triples.
func byCat(kv ...any) map[string]belfry.Counts {
	m := map[string]belfry.Counts{}
	for i := 0; i+2 < len(kv); i += 3 {
		m[kv[i].(string)] = belfry.Counts{Unread: kv[i+1].(int), Unseen: kv[i+2].(int)}
	}
	return m
}

// all lists every notification of the user (inbox and archived), newest
// first.
func all(t *testing.T, s belfry.Store, user string) []*belfry.Notification {
	t.Helper()
	return list(t, s, user, belfry.ListQuery{Limit: belfry.MaxPageSize, Status: belfry.StatusAll})
}

// byID indexes ns by id.
func byID(ns []*belfry.Notification) map[int64]*belfry.Notification {
	m := make(map[int64]*belfry.Notification, len(ns))
	for _, n := range ns {
		m[n.ID] = n
	}
	return m
}

func ptr[T any](v T) *T { return &v }
