package storetest

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"maps"
	"reflect"
	"testing"
	"time"

	"github.com/belfry/belfry"
)

// Run runs every conformance test against the stores that open returns, one
// subtest each. See the package documentation for what open must do.
func Run(t *testing.T, open func(t *testing.T) belfry.Store) {
	tests := []struct {
		name string
		fn   func(t *testing.T, s belfry.Store, u users)
	}{
		{"CreateAssignsSequentialIDs", testCreateSequential},
		{"CreateSeveralUsersInOneCall", testCreateMulti},
		{"CreateSameUserTwiceInOneCall", testCreateSameUserTwice},
		{"IDsArePerUser", testIDsPerUser},
		{"ConcurrentWritersReaderNeverSkips", testConcurrentOneUser},
		{"ConcurrentWritersSeveralUsers", testConcurrentSeveralUsers},
		{"After", testAfter},
		{"AfterLimit", testAfterLimit},
		{"List", testList},
		{"ListUnreadOnly", testListUnreadOnly},
		{"Stats", testStats},
		{"SetRead", testSetRead},
		{"SetReadNotFound", testSetReadNotFound},
		{"ReadAll", testReadAll},
		{"Delete", testDelete},
		{"IsolationBetweenUsers", testIsolation},
		{"RoundTripAllFields", testRoundTrip},
		{"RoundTripLimits", testRoundTripLimits},
		{"EmptyOptionalFields", testEmptyOptional},
		{"Ping", testPing},

		{"RoundTripInboxFields", testRoundTripInboxFields},
		{"StatsUnseenAndCategories", testStatsUnseenByCategory},
		{"StatsExcludeArchivedAndExpired", testStatsArchivedExpired},
		{"SetReadMarksSeen", testSetReadSeen},
		{"SeeAll", testSeeAll},
		{"SetArchived", testSetArchived},
		{"ArchiveAllFilters", testArchiveAllFilters},
		{"ReadAllFilters", testReadAllFilters},
		{"Act", testAct},
		{"ListStatusCategoryUnseen", testListFilters},
		{"ExpiryTakesEffect", testExpiryTakesEffect},
		{"PreferencesDefault", testPreferencesDefault},
		{"PreferencesPatch", testPreferencesPatch},
		{"PreferencesConcurrentPatches", testPreferencesConcurrent},
		{"PublishSkipsByPreferences", testPublishSkips},
		{"PublishIdempotent", testPublishIdempotent},
		{"PublishExpiredKey", testPublishExpiredKey},
		{"PublishConcurrentOneKey", testPublishConcurrentKey},
		{"PurgeExpired", testPurgeExpired},
		{"PurgeLimit", testPurgeLimit},
		{"PurgeRetention", testPurgeRetention},
		{"PurgeMaxPerUser", testPurgeMaxPerUser},
		{"PurgeIdempotencyKeys", testPurgeKeys},

		{"OutboxRoundTrip", testOutboxRoundTrip},
		{"OutboxEnqueueIdempotent", testOutboxEnqueueIdempotent},
		{"OutboxClaimOrder", testOutboxClaimOrder},
		{"OutboxLease", testOutboxLease},
		{"OutboxSettle", testOutboxSettle},
		{"OutboxFailedJobs", testOutboxFailedJobs},
		{"OutboxRevive", testOutboxRevive},
		{"OutboxOnlyIfSubscribed", testOutboxOnlyIfSubscribed},
		{"OutboxConcurrentClaims", testOutboxConcurrentClaims},
		{"PublishJobs", testPublishJobs},
		{"PublishJobsConcurrent", testPublishJobsConcurrent},
		{"PurgeFailedJobs", testPurgeFailedJobs},
		{"Subscribe", testSubscribe},
		{"SubscribeReplaces", testSubscribeReplaces},
		{"SubscriptionsLimit", testSubscriptionsLimit},
		{"Unsubscribe", testUnsubscribe},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := open(t)
			if s == nil {
				t.Fatal("open returned a nil Store")
			}
			tc.fn(t, s, newUsers(t))
		})
	}
}

// users makes user ids unique to one subtest, so that stores sharing one
// database between subtests still see each user start at id 1.
type users struct{ prefix string }

func newUsers(t *testing.T) users {
	var b [6]byte
	if _, err := rand.Read(b[:]); err != nil {
		t.Fatal(err)
	}
	return users{prefix: "st" + hex.EncodeToString(b[:]) + "-"}
}

// id returns the subtest's user id for name.
func (u users) id(name string) string { return u.prefix + name }

// ctx returns a context that ends with the test, with a deadline so that a
// store that hangs fails the test instead of the whole run.
func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	t.Cleanup(cancel)
	return c
}

// note returns a notification to create for user with the given message.
func note(user, msg string) *belfry.Notification {
	return &belfry.Notification{UserID: user, Message: msg}
}

// create stores ns in one call and fails the test on error.
func create(t *testing.T, s belfry.Store, ns ...*belfry.Notification) []*belfry.Notification {
	t.Helper()
	if err := s.Create(ctx(t), ns); err != nil {
		t.Fatalf("Create(%d notifications): %v", len(ns), err)
	}
	return ns
}

// createN stores n notifications for user, in batches of at most 100 per
// call, with messages "<prefix> <i>", and returns them in id order.
func createN(t *testing.T, s belfry.Store, user, prefix string, n int) []*belfry.Notification {
	t.Helper()
	out := make([]*belfry.Notification, 0, n)
	for len(out) < n {
		batch := make([]*belfry.Notification, min(100, n-len(out)))
		for i := range batch {
			batch[i] = note(user, fmt.Sprintf("%s %d", prefix, len(out)+i+1))
		}
		out = append(out, create(t, s, batch...)...)
	}
	return out
}

func after(t *testing.T, s belfry.Store, user string, id int64, limit int) []*belfry.Notification {
	t.Helper()
	ns, err := s.After(ctx(t), user, id, limit)
	if err != nil {
		t.Fatalf("After(%q, %d, %d): %v", user, id, limit, err)
	}
	return ns
}

func list(t *testing.T, s belfry.Store, user string, q belfry.ListQuery) []*belfry.Notification {
	t.Helper()
	ns, err := s.List(ctx(t), user, q)
	if err != nil {
		t.Fatalf("List(%q, %+v): %v", user, q, err)
	}
	return ns
}

func stats(t *testing.T, s belfry.Store, user string) belfry.Stats {
	t.Helper()
	st, err := s.Stats(ctx(t), user)
	if err != nil {
		t.Fatalf("Stats(%q): %v", user, err)
	}
	if st.ByCategory == nil {
		t.Fatalf("Stats(%q) has a nil ByCategory, want an empty map", user)
	}
	return st
}

func setRead(t *testing.T, s belfry.Store, user string, id int64, at *time.Time) *belfry.Notification {
	t.Helper()
	n, err := s.SetRead(ctx(t), user, id, at)
	if err != nil {
		t.Fatalf("SetRead(%q, %d): %v", user, id, err)
	}
	if n == nil {
		t.Fatalf("SetRead(%q, %d) returned a nil notification", user, id)
	}
	return n
}

// wantCode fails the test unless err carries code.
func wantCode(t *testing.T, what string, err error, code string) {
	t.Helper()
	if got := belfry.ErrorCode(err); got != code {
		t.Fatalf("%s: error code %q (err %v), want %q", what, got, err, code)
	}
}

func wantStats(t *testing.T, s belfry.Store, user string, want belfry.Stats) {
	t.Helper()
	if got := stats(t, s, user); !SameStats(got, want) {
		t.Fatalf("Stats(%q) = %+v, want %+v", user, got, want)
	}
}

// SameStats reports whether a and b hold the same counts (a nil and an
// empty ByCategory are the same).
func SameStats(a, b belfry.Stats) bool {
	return a.Unread == b.Unread && a.Unseen == b.Unseen && a.LastID == b.LastID &&
		maps.Equal(a.ByCategory, b.ByCategory)
}

// ids returns the ids of ns in order.
func ids(ns []*belfry.Notification) []int64 {
	out := make([]int64, len(ns))
	for i, n := range ns {
		out[i] = n.ID
	}
	return out
}

// seq returns from, from+step, … with n elements.
func seq(from int64, n int, step int64) []int64 {
	out := make([]int64, n)
	for i := range out {
		out[i] = from + int64(i)*step
	}
	return out
}

func wantIDs(t *testing.T, what string, got []*belfry.Notification, want []int64) {
	t.Helper()
	g := ids(got)
	if len(g) == 0 && len(want) == 0 {
		return
	}
	if !reflect.DeepEqual(g, want) {
		t.Fatalf("%s: ids %v, want %v", what, short(g), short(want))
	}
}

// short abbreviates long id lists in failure messages.
func short(v []int64) string {
	if len(v) <= 24 {
		return fmt.Sprint(v)
	}
	return fmt.Sprintf("%v … %v (%d ids)", v[:12], v[len(v)-12:], len(v))
}

// same fails the test unless got and want hold the same notification:
// every field equal, times compared as instants, data compared as JSON.
func same(t *testing.T, what string, got, want *belfry.Notification) {
	t.Helper()
	if got == nil {
		t.Fatalf("%s: got no notification, want id %d", what, want.ID)
	}
	if got.ID != want.ID || got.UserID != want.UserID || got.Message != want.Message ||
		got.Title != want.Title || got.Link != want.Link || got.Category != want.Category {
		t.Fatalf("%s: got %s\nwant %s", what, brief(got), brief(want))
	}
	if !sameJSON(got.Data, want.Data) {
		t.Fatalf("%s: id %d data %q, want %q", what, got.ID, clip(got.Data), clip(want.Data))
	}
	if !got.CreatedAt.Equal(want.CreatedAt) {
		t.Fatalf("%s: id %d created_at %v, want %v", what, got.ID, got.CreatedAt, want.CreatedAt)
	}
	if got.Avatar != want.Avatar || got.Action != want.Action {
		t.Fatalf("%s: id %d avatar %q action %q, want avatar %q action %q",
			what, got.ID, got.Avatar, got.Action, want.Avatar, want.Action)
	}
	if !sameActions(got.Actions, want.Actions) {
		t.Fatalf("%s: id %d actions %+v, want %+v", what, got.ID, got.Actions, want.Actions)
	}
	wantTime(t, fmt.Sprintf("%s: id %d read_at", what, got.ID), got.ReadAt, want.ReadAt)
	wantTime(t, fmt.Sprintf("%s: id %d seen_at", what, got.ID), got.SeenAt, want.SeenAt)
	wantTime(t, fmt.Sprintf("%s: id %d archived_at", what, got.ID), got.ArchivedAt, want.ArchivedAt)
	wantTime(t, fmt.Sprintf("%s: id %d expires_at", what, got.ID), got.ExpiresAt, want.ExpiresAt)
	wantTime(t, fmt.Sprintf("%s: id %d acted_at", what, got.ID), got.ActedAt, want.ActedAt)
}

// sameActions compares two action lists; nil and empty are the same.
func sameActions(a, b []belfry.Action) bool {
	if len(a) == 0 || len(b) == 0 {
		return len(a) == 0 && len(b) == 0
	}
	return reflect.DeepEqual(a, b)
}

func wantTime(t *testing.T, what string, got, want *time.Time) {
	t.Helper()
	switch {
	case got == nil && want == nil:
	case got == nil || want == nil:
		t.Fatalf("%s = %v, want %v", what, got, want)
	case !got.Equal(*want):
		t.Fatalf("%s = %v, want %v", what, *got, *want)
	}
}

// sameJSON compares two optional JSON objects by meaning: key order and
// spacing may differ; absent and null are not the same as {}.
func sameJSON(a, b json.RawMessage) bool {
	if len(a) == 0 || len(b) == 0 {
		return len(a) == 0 && len(b) == 0
	}
	if bytes.Equal(a, b) {
		return true
	}
	var x, y any
	if json.Unmarshal(a, &x) != nil || json.Unmarshal(b, &y) != nil {
		return false
	}
	return reflect.DeepEqual(x, y)
}

func brief(n *belfry.Notification) string {
	return fmt.Sprintf("{id:%d user:%q message:%q title:%q link:%q category:%q}",
		n.ID, clip([]byte(n.UserID)), clip([]byte(n.Message)), n.Title, n.Link, n.Category)
}

func clip(b []byte) string {
	if len(b) > 80 {
		return string(b[:80]) + fmt.Sprintf("…(%d bytes)", len(b))
	}
	return string(b)
}

// msTime returns now in UTC at millisecond precision, as the Inbox passes
// times to a store.
func msTime(d time.Duration) time.Time { return belfry.Now(time.Now().Add(d)) }
