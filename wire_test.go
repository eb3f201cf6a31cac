package belfry

import (
	"encoding/json"
	"reflect"
	"testing"
)

// Every state event is one JSON object with the fields docs/API.md lists,
// and the counts after the change.
func TestStateEventJSON(t *testing.T) {
	at := "2026-12-07T10:00:00.000Z"
	cat, yes := "billing", true
	st := Stats{Unread: 2, Unseen: 3, LastID: 9, ByCategory: map[string]Counts{
		"zeta": {Unread: 1}, "billing": {Unread: 1, Unseen: 2}}}
	counts := map[string]any{"unread_count": 2.0, "unseen_count": 3.0, "last_id": 9.0,
		"by_category": map[string]any{"billing": map[string]any{"unread": 1.0, "unseen": 2.0},
			"zeta": map[string]any{"unread": 1.0, "unseen": 0.0}}}
	with := func(m map[string]any) map[string]any {
		for k, v := range counts {
			m[k] = v
		}
		return m
	}
	for _, tc := range []struct {
		kind Kind
		c    StateChange
		want map[string]any
	}{
		{KindRead, StateChange{ID: 4, Read: true, ReadAt: &at, SeenAt: &at},
			map[string]any{"id": 4.0, "read": true, "read_at": at, "seen_at": at}},
		{KindRead, StateChange{ID: 4}, map[string]any{"id": 4.0, "read": false, "read_at": nil}},
		{KindRead, StateChange{All: true, UpTo: 9, Filter: &EventFilter{Category: &cat}, Read: true, ReadAt: &at, SeenAt: &at},
			map[string]any{"all": true, "up_to_id": 9.0, "filter": map[string]any{"category": "billing"},
				"read": true, "read_at": at, "seen_at": at}},
		{KindSeen, StateChange{All: true, UpTo: 9, SeenAt: &at},
			map[string]any{"all": true, "up_to_id": 9.0, "seen_at": at}},
		{KindArchive, StateChange{ID: 4, Archived: true, ArchivedAt: &at},
			map[string]any{"id": 4.0, "archived": true, "archived_at": at}},
		{KindArchive, StateChange{All: true, UpTo: 9, Filter: &EventFilter{Category: &cat, Read: &yes}, Archived: true, ArchivedAt: &at},
			map[string]any{"all": true, "up_to_id": 9.0, "filter": map[string]any{"category": "billing", "read": true},
				"archived": true, "archived_at": at}},
		{KindAction, StateChange{ID: 4, Action: "approve", ActedAt: &at, ReadAt: &at, SeenAt: &at},
			map[string]any{"id": 4.0, "action": "approve", "acted_at": at, "read": true, "read_at": at, "seen_at": at}},
		{KindDeleted, StateChange{ID: 4}, map[string]any{"id": 4.0, "reason": "deleted"}},
		{KindDeleted, StateChange{ID: 4, Reason: ReasonExpired}, map[string]any{"id": 4.0, "reason": "expired"}},
	} {
		tc.c.Stats = st
		b := tc.c.AppendJSON(nil, tc.kind)
		var got map[string]any
		if err := json.Unmarshal(b, &got); err != nil {
			t.Fatalf("%s: %s is not JSON: %v", tc.kind, b, err)
		}
		if want := with(tc.want); !reflect.DeepEqual(got, want) {
			t.Errorf("%s:\n got %s\nwant %v", tc.kind, b, want)
		}
	}
}

// The notification's new fields round-trip through its JSON.
func TestNotificationInboxFieldsJSON(t *testing.T) {
	n := &Notification{ID: 3, UserID: "u", Message: "m", Avatar: "/a.png",
		Actions: []Action{{ID: "ok", Label: "OK", URL: "/ok"}, {ID: "no", Label: "No"}},
		Action:  "ok"}
	at := Now(n.CreatedAt)
	n.ActedAt, n.SeenAt, n.ArchivedAt, n.ExpiresAt = &at, &at, &at, &at
	b, _ := json.Marshal(n)
	var back Notification
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(&back, n) {
		t.Errorf("round trip:\n got %+v\nwant %+v\n(%s)", back, *n, b)
	}
	empty, _ := json.Marshal(&Notification{ID: 1, UserID: "u", Message: "m"})
	var m map[string]any
	json.Unmarshal(empty, &m)
	for _, k := range []string{"avatar", "action", "acted_at", "seen_at", "archived_at", "expires_at"} {
		if v, ok := m[k]; !ok || v != nil {
			t.Errorf("%s = %v (present %v), want null", k, v, ok)
		}
	}
	if a, ok := m["actions"].([]any); !ok || len(a) != 0 {
		t.Errorf("actions = %v, want []", m["actions"])
	}
}

// A stream event leaves the unset inbox fields out, and reads back as the
// same notification as the full form.
func TestNotificationEventJSON(t *testing.T) {
	n := &Notification{ID: 3, UserID: "u", Message: "m"}
	ev := string(n.AppendEventJSON(nil))
	if want := `{"id":3,"user_id":"u","message":"m","title":null,"link":null,"category":null,"data":null,"read_at":null,"created_at":"0001-01-01T00:00:00.000Z"}`; ev != want {
		t.Errorf("event JSON\n got %s\nwant %s", ev, want)
	}
	at := Now(n.CreatedAt)
	n.Avatar, n.Actions, n.Action = "/a.png", []Action{{ID: "ok", Label: "OK"}}, "ok"
	n.ActedAt, n.SeenAt, n.ArchivedAt, n.ExpiresAt = &at, &at, &at, &at
	var full, compact Notification
	if err := json.Unmarshal(n.AppendJSON(nil), &full); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(n.AppendEventJSON(nil), &compact); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(full, compact) || !reflect.DeepEqual(&full, n) {
		t.Errorf("event JSON reads back as %+v, full JSON as %+v", compact, full)
	}
}
