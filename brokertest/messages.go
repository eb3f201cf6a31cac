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
// field set; every third one is read.
func newMsg(user string, id int64) belfry.Message {
	n := &belfry.Notification{
		ID:        id,
		UserID:    user,
		Message:   fmt.Sprintf("message %d: Größe 🔔 مرحبا \u2028 line\nbreak \"q\" <b>&amp;</b> \\", id),
		Title:     fmt.Sprintf("title %d ✓", id),
		Link:      fmt.Sprintf("https://example.com/n/%d?a=1&b=ü#top", id),
		Category:  "billing",
		Data:      json.RawMessage(fmt.Sprintf(`{"id":%d,"nested":{"日本":"語","list":[1,2.5,null,true]}}`, id)),
		CreatedAt: base.Add(time.Duration(id) * time.Millisecond),
	}
	if id%3 == 0 {
		at := n.CreatedAt.Add(1500 * time.Millisecond)
		n.ReadAt = &at
	}
	return belfry.Message{Kind: belfry.KindNew, UserID: user, New: n}
}

// bareMsg returns a new-notification message with no optional field.
func bareMsg(user string, id int64) belfry.Message {
	return belfry.Message{Kind: belfry.KindNew, UserID: user, New: &belfry.Notification{
		ID: id, UserID: user, Message: "m", CreatedAt: base}}
}

func ptr[T any](v T) *T { return &v }

// stateMsgs returns one message of each state kind for user.
func stateMsgs(user string) []belfry.Message {
	return []belfry.Message{
		{Kind: belfry.KindRead, UserID: user, State: &belfry.StateChange{
			ID: 5, Read: true, ReadAt: ptr("2026-11-23T17:42:25.000Z"), Stats: belfry.Stats{Unread: 3}}},
		{Kind: belfry.KindRead, UserID: user, State: &belfry.StateChange{
			ID: 5, Read: false, Stats: belfry.Stats{Unread: 4}}},
		{Kind: belfry.KindRead, UserID: user, State: &belfry.StateChange{
			All: true, UpTo: 9, Read: true, ReadAt: ptr("2026-11-23T17:42:26.999Z")}},
		{Kind: belfry.KindDeleted, UserID: user, State: &belfry.StateChange{ID: 4, Stats: belfry.Stats{Unread: 2}}},
	}
}

// sameMessage fails the test unless got carries what want does: every field
// equal, times compared as instants, data compared as JSON.
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
		t.Fatalf("%s: got state %s, want %s", what, stateString(got.State), stateString(want.State))
	}
	if want.New == nil {
		return
	}
	g, w := got.New, want.New
	if g.ID != w.ID || g.UserID != w.UserID || g.Message != w.Message || g.Title != w.Title ||
		g.Link != w.Link || g.Category != w.Category {
		t.Fatalf("%s: got notification %+v\nwant %+v", what, *g, *w)
	}
	if !sameJSON(g.Data, w.Data) {
		t.Fatalf("%s: id %d data %s, want %s", what, w.ID, g.Data, w.Data)
	}
	if !g.CreatedAt.Equal(w.CreatedAt) {
		t.Fatalf("%s: id %d created_at %v, want %v", what, w.ID, g.CreatedAt, w.CreatedAt)
	}
	switch {
	case g.ReadAt == nil && w.ReadAt == nil:
	case g.ReadAt == nil || w.ReadAt == nil || !g.ReadAt.Equal(*w.ReadAt):
		t.Fatalf("%s: id %d read_at %v, want %v", what, w.ID, g.ReadAt, w.ReadAt)
	}
}

func stateString(c *belfry.StateChange) string {
	readAt := "nil"
	if c.ReadAt != nil {
		readAt = *c.ReadAt
	}
	return fmt.Sprintf("{ID:%d All:%v UpTo:%d Read:%v ReadAt:%s Unread:%d}", c.ID, c.All, c.UpTo, c.Read, readAt, c.Unread)
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
