package brokertest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/belfry/belfry"
)

// base is the created_at of the suite's notifications.
var base = time.Date(2026, 11, 23, 17, 42, 24, 123e6, time.UTC)

// newMsg returns a new-notification message for user with id and every
// field set: avatar, one to three actions and an expiry always; every third
// one is read (and so seen), every other third one seen only, every fifth
// archived, every seventh acted on (and so read).
func newMsg(user string, id int64) belfry.Message {
	created := base.Add(time.Duration(id) * time.Millisecond)
	at := func(d time.Duration) *time.Time { t := created.Add(d); return &t }
	actions := []belfry.Action{
		{ID: "accept", Label: "Accept ✓ <b>&</b>", URL: fmt.Sprintf("/invites/%d/accept?x=ü", id)},
		{ID: "later-🕒", Label: "Later\n\"quoted\""},
		{ID: "decline", Label: "Ablehnen", URL: "https://example.com/decline#" + fmt.Sprint(id)},
	}
	n := &belfry.Notification{
		ID:        id,
		UserID:    user,
		Message:   fmt.Sprintf("message %d: Größe 🔔 مرحبا \u2028 line\nbreak \"q\" <b>&amp;</b> \\", id),
		Title:     fmt.Sprintf("title %d ✓", id),
		Link:      fmt.Sprintf("https://example.com/n/%d?a=1&b=ü#top", id),
		Category:  "billing",
		Data:      json.RawMessage(fmt.Sprintf(`{"id":%d,"nested":{"日本":"語","list":[1,2.5,null,true]}}`, id)),
		Avatar:    fmt.Sprintf("https://example.com/avatars/%d.png?size=64&ü=1", id),
		Actions:   actions[:1+id%3],
		CreatedAt: created,
		ExpiresAt: at(30 * 24 * time.Hour),
	}
	switch id % 3 {
	case 0:
		n.ReadAt, n.SeenAt = at(1500*time.Millisecond), at(1500*time.Millisecond)
	case 1:
		n.SeenAt = at(700 * time.Millisecond)
	}
	if id%5 == 0 {
		n.ArchivedAt = at(3 * time.Second)
	}
	if id%7 == 0 {
		n.Action, n.ActedAt = n.Actions[0].ID, at(2*time.Second)
		if n.ReadAt == nil {
			n.ReadAt, n.SeenAt = n.ActedAt, n.ActedAt
		}
	}
	return belfry.Message{Kind: belfry.KindNew, UserID: user, New: n}
}

// bareMsg returns a new-notification message with no optional field.
func bareMsg(user string, id int64) belfry.Message {
	return belfry.Message{Kind: belfry.KindNew, UserID: user, New: &belfry.Notification{
		ID: id, UserID: user, Message: "m", CreatedAt: base}}
}

func ptr[T any](v T) *T { return &v }

// stats returns counts after a change, with a few categories.
func stats(unread, unseen int) belfry.Stats {
	return belfry.Stats{Unread: unread, Unseen: unseen, LastID: 9, ByCategory: map[string]belfry.Counts{
		"billing":           {Unread: unread - 1, Unseen: unseen - 1},
		"Größe 🔔 \"q\" <&>": {Unread: 1, Unseen: 0},
		"security":          {Unread: 0, Unseen: 1},
	}}
}

// manyCategories returns counts spread over 40 categories.
func manyCategories() belfry.Stats {
	s := belfry.Stats{Unread: 40, Unseen: 80, LastID: 1 << 40, ByCategory: make(map[string]belfry.Counts)}
	for i := range 40 {
		s.ByCategory[fmt.Sprintf("category-%02d-ü", i)] = belfry.Counts{Unread: 1, Unseen: 2}
	}
	return s
}

// stateMsgs returns messages of every state kind for user: one
// notification and bulk changes with each filter, and every field those
// kinds carry.
func stateMsgs(user string) []belfry.Message {
	const t1, t2, t3 = "2026-11-23T17:42:25.000Z", "2026-11-23T17:42:26.999Z", "2026-11-23T17:42:27.001Z"
	state := func(k belfry.Kind, c belfry.StateChange) belfry.Message {
		return belfry.Message{Kind: k, UserID: user, State: &c}
	}
	billing := &belfry.EventFilter{Category: ptr("billing")}
	unread := &belfry.EventFilter{Read: ptr(false)}
	both := &belfry.EventFilter{Category: ptr("Größe 🔔"), Read: ptr(true)}
	return []belfry.Message{
		// read-state: read (and seen), unread, read-all with each filter.
		state(belfry.KindRead, belfry.StateChange{ID: 5, Read: true, ReadAt: ptr(t1), SeenAt: ptr(t1), Stats: stats(3, 4)}),
		state(belfry.KindRead, belfry.StateChange{ID: 5, Read: false, Stats: stats(4, 4)}),
		state(belfry.KindRead, belfry.StateChange{All: true, UpTo: 9, Read: true, ReadAt: ptr(t2), SeenAt: ptr(t2),
			Stats: belfry.Stats{LastID: 9, ByCategory: map[string]belfry.Counts{}}}),
		state(belfry.KindRead, belfry.StateChange{All: true, UpTo: 9, Filter: billing, Read: true, ReadAt: ptr(t2), SeenAt: ptr(t1), Stats: stats(2, 2)}),
		state(belfry.KindRead, belfry.StateChange{All: true, UpTo: 9, Filter: both, Read: true, ReadAt: ptr(t2), Stats: manyCategories()}),
		// seen-state.
		state(belfry.KindSeen, belfry.StateChange{ID: 6, SeenAt: ptr(t1), Stats: stats(4, 3)}),
		state(belfry.KindSeen, belfry.StateChange{All: true, UpTo: 9, SeenAt: ptr(t3), Filter: unread, Stats: stats(4, 1)}),
		// archive-state: archived, restored, all of a category.
		state(belfry.KindArchive, belfry.StateChange{ID: 7, Archived: true, ArchivedAt: ptr(t2), Stats: stats(3, 3)}),
		state(belfry.KindArchive, belfry.StateChange{ID: 7, Archived: false, Stats: stats(4, 3)}),
		state(belfry.KindArchive, belfry.StateChange{All: true, UpTo: 9, Filter: billing, Archived: true, ArchivedAt: ptr(t3), Stats: stats(2, 2)}),
		// action-state: acted on, which reads it.
		state(belfry.KindAction, belfry.StateChange{ID: 8, Action: "accept", ActedAt: ptr(t3),
			Read: true, ReadAt: ptr(t3), SeenAt: ptr(t1), Stats: stats(3, 3)}),
		// notification-deleted, for each reason.
		state(belfry.KindDeleted, belfry.StateChange{ID: 4, Reason: belfry.ReasonDeleted, Stats: stats(2, 2)}),
		state(belfry.KindDeleted, belfry.StateChange{ID: 3, Reason: belfry.ReasonRetracted, Stats: stats(2, 2)}),
		state(belfry.KindDeleted, belfry.StateChange{ID: 2, Reason: belfry.ReasonExpired, Stats: stats(2, 2)}),
		state(belfry.KindDeleted, belfry.StateChange{ID: 1, Reason: belfry.ReasonRetention, Stats: manyCategories()}),
		// The shape of the state events before the inbox events: no reason,
		// no per-category counts at all (ByCategory nil).
		state(belfry.KindRead, belfry.StateChange{ID: 5, Read: true, ReadAt: ptr(t1), Stats: belfry.Stats{Unread: 3}}),
		state(belfry.KindDeleted, belfry.StateChange{ID: 4, Stats: belfry.Stats{Unread: 2}}),
	}
}

// sameMessage fails the test unless got carries what want does: every field
// equal (deeply: actions, filters, per-category counts), times compared as
// instants, data compared as JSON.
func sameMessage(t *testing.T, what string, got, want belfry.Message) {
	t.Helper()
	if got.Kind != want.Kind || got.UserID != want.UserID {
		t.Fatalf("%s: got kind %q user %q, want kind %q user %q", what, got.Kind, got.UserID, want.Kind, want.UserID)
	}
	if (got.New == nil) != (want.New == nil) || (got.State == nil) != (want.State == nil) {
		t.Fatalf("%s: got notification %v state %v, want notification %v state %v",
			what, got.New != nil, got.State != nil, want.New != nil, want.State != nil)
	}
	if want.State != nil && !reflect.DeepEqual(got.State, want.State) {
		t.Fatalf("%s: got %s state %s\nwant %s", what, got.Kind, stateString(got.State), stateString(want.State))
	}
	if want.New == nil {
		return
	}
	// Compare copies without their times and data, which are compared
	// apart; whatever else a Notification holds is compared deeply, so a
	// field added later is checked too.
	g, w := *got.New, *want.New
	times := []struct {
		name string
		g, w **time.Time
	}{
		{"read_at", &g.ReadAt, &w.ReadAt}, {"seen_at", &g.SeenAt, &w.SeenAt},
		{"archived_at", &g.ArchivedAt, &w.ArchivedAt}, {"expires_at", &g.ExpiresAt, &w.ExpiresAt},
		{"acted_at", &g.ActedAt, &w.ActedAt},
	}
	for _, tm := range times {
		switch gt, wt := *tm.g, *tm.w; {
		case gt == nil && wt == nil:
		case gt == nil || wt == nil || !gt.Equal(*wt):
			t.Fatalf("%s: id %d %s %v, want %v", what, w.ID, tm.name, gt, wt)
		}
		*tm.g, *tm.w = nil, nil
	}
	if !g.CreatedAt.Equal(w.CreatedAt) {
		t.Fatalf("%s: id %d created_at %v, want %v", what, w.ID, g.CreatedAt, w.CreatedAt)
	}
	if !sameJSON(g.Data, w.Data) {
		t.Fatalf("%s: id %d data %s, want %s", what, w.ID, g.Data, w.Data)
	}
	g.CreatedAt, w.CreatedAt, g.Data, w.Data = time.Time{}, time.Time{}, nil, nil
	if !reflect.DeepEqual(g, w) {
		t.Fatalf("%s: got notification %+v\nwant %+v", what, g, w)
	}
}

// stateString shows every field of c, telling a nil ByCategory (null) from
// an empty one ({}).
func stateString(c *belfry.StateChange) string {
	p, err := json.Marshal(c)
	if err != nil {
		return fmt.Sprintf("%+v", *c)
	}
	return string(p)
}

// sameJSON compares two optional JSON values by meaning.
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

// wantIDs fails the test unless msgs are new notifications with ids from..to
// in order.
func wantIDs(t *testing.T, what string, msgs []belfry.Message, from, to int64) {
	t.Helper()
	if len(msgs) != int(to-from+1) {
		t.Fatalf("%s: %d messages, want ids %d..%d", what, len(msgs), from, to)
	}
	for i, m := range msgs {
		if m.New == nil || m.New.ID != from+int64(i) {
			t.Fatalf("%s: message %d is %+v, want notification id %d", what, i, m, from+int64(i))
		}
	}
}
