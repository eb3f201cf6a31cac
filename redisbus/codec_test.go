package redisbus

import (
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/belfry/belfry"
)

// dep is the deployment of the codec tests.
const dep = "belfry:u:"

func ptr[T any](v T) *T { return &v }

// sample returns messages of every kind with every field set, and some
// with none; sample()[0] is the new notification of the benchmarks.
func sample() []belfry.Message {
	created := time.Date(2026, 11, 23, 17, 42, 24, 123e6, time.UTC)
	at := func(ms int) *time.Time { t := created.Add(time.Duration(ms) * time.Millisecond); return &t }
	s := "2026-11-23T17:42:25.000Z"
	stats := belfry.Stats{Unread: 3, Unseen: 5, LastID: 1 << 40, ByCategory: map[string]belfry.Counts{
		"billing": {Unread: 1, Unseen: 2}, "Größe 🔔": {Unread: 2, Unseen: 3}, "": {Unseen: 1}}}
	return []belfry.Message{
		{Kind: belfry.KindNew, UserID: "42", New: &belfry.Notification{ID: 17, UserID: "42",
			Message: "Größe 🔔 \u2028 \"q\" <b>&amp;</b>\n", Title: "t", Link: "/x?a=1&b=2", Category: "c",
			Data: json.RawMessage(`{"a":[1,2,{"b":null}]}`), Avatar: "https://example.com/a.png",
			Actions: []belfry.Action{{ID: "accept", Label: "Accept ✓", URL: "/accept"}, {ID: "no", Label: "Decline"}},
			ReadAt:  at(1000), CreatedAt: *at(0), SeenAt: at(900), ArchivedAt: at(2000), ExpiresAt: at(86400e3),
			Action: "accept", ActedAt: at(1000)}},
		// A plain notification: sent in version 2.
		{Kind: belfry.KindNew, UserID: "ü 1", New: &belfry.Notification{ID: 1, UserID: "ü 1", Message: "m", CreatedAt: *at(0)}},
		// More actions than a Notification may hold, and an empty list.
		{Kind: belfry.KindNew, UserID: "42", New: &belfry.Notification{ID: 2, UserID: "42", CreatedAt: *at(0),
			Actions: []belfry.Action{{ID: "1"}, {ID: "2"}, {ID: "3"}, {ID: "4", URL: "https://x.test"}}}},
		{Kind: belfry.KindNew, UserID: "42", New: &belfry.Notification{ID: 3, UserID: "42", CreatedAt: *at(0),
			Actions: []belfry.Action{}, Data: json.RawMessage{}, ExpiresAt: at(5)}},
		{Kind: belfry.KindRead, UserID: "42", State: &belfry.StateChange{ID: 17, Read: true, ReadAt: &s, SeenAt: ptr("2026-11-23T17:42:24.500Z"), Stats: stats}},
		{Kind: belfry.KindRead, UserID: "42", State: &belfry.StateChange{ID: 17, Stats: belfry.Stats{Unread: 4, ByCategory: map[string]belfry.Counts{}}}},
		{Kind: belfry.KindRead, UserID: "42", State: &belfry.StateChange{All: true, UpTo: 17, Read: true, ReadAt: &s,
			Filter: &belfry.EventFilter{Category: ptr("billing"), Read: ptr(false)}, Stats: stats}},
		{Kind: belfry.KindSeen, UserID: "42", State: &belfry.StateChange{ID: 17, SeenAt: &s, Stats: stats}},
		{Kind: belfry.KindSeen, UserID: "42", State: &belfry.StateChange{All: true, UpTo: 9, SeenAt: &s,
			Filter: &belfry.EventFilter{Read: ptr(true)}, Stats: stats}},
		{Kind: belfry.KindArchive, UserID: "42", State: &belfry.StateChange{ID: 17, Archived: true, ArchivedAt: &s, Stats: stats}},
		{Kind: belfry.KindArchive, UserID: "42", State: &belfry.StateChange{All: true, UpTo: 17,
			Filter: &belfry.EventFilter{Category: ptr("")}, Stats: stats}},
		{Kind: belfry.KindArchive, UserID: "42", State: &belfry.StateChange{All: true, UpTo: 17, Filter: &belfry.EventFilter{}}},
		{Kind: belfry.KindAction, UserID: "42", State: &belfry.StateChange{ID: 17, Action: "accept", ActedAt: &s,
			Read: true, ReadAt: &s, SeenAt: &s, Stats: stats}},
		{Kind: belfry.KindDeleted, UserID: "42", State: &belfry.StateChange{ID: 4, Reason: belfry.ReasonExpired, Stats: stats}},
		// Old shapes: sent in version 2.
		{Kind: belfry.KindRead, UserID: "42", State: &belfry.StateChange{All: true, UpTo: 17, Read: true, ReadAt: &s}},
		{Kind: belfry.KindDeleted, UserID: "42", State: &belfry.StateChange{ID: 4, Stats: belfry.Stats{Unread: 2}}},
		// Negative numbers travel too.
		{Kind: belfry.KindDeleted, UserID: "42", State: &belfry.StateChange{ID: -1, UpTo: -2, Stats: belfry.Stats{
			Unread: -3, Unseen: -4, LastID: -5, ByCategory: map[string]belfry.Counts{"x": {Unread: -6, Unseen: -7}}}}},
	}
}

// canon returns m with every time of its notification in UTC, as the binary
// form decodes them, so that reflect.DeepEqual compares instants.
func canon(m belfry.Message) belfry.Message {
	if m.New == nil {
		return m
	}
	n := *m.New
	utc := func(t *time.Time) *time.Time {
		if t == nil {
			return nil
		}
		u := time.Unix(t.Unix(), int64(t.Nanosecond())).UTC()
		return &u
	}
	n.CreatedAt = *utc(&n.CreatedAt)
	n.ReadAt, n.SeenAt, n.ArchivedAt, n.ExpiresAt, n.ActedAt =
		utc(n.ReadAt), utc(n.SeenAt), utc(n.ArchivedAt), utc(n.ExpiresAt), utc(n.ActedAt)
	m.New = &n
	return m
}

func show(m belfry.Message) string {
	p, _ := json.Marshal(m)
	if m.State != nil {
		p = fmt.Appendf(p, " by_category nil: %v", m.State.ByCategory == nil)
	}
	return string(p)
}

func TestCodecRoundTrip(t *testing.T) {
	for i, m := range sample() {
		p, err := appendMessage(nil, dep, &m)
		if err != nil {
			t.Fatalf("message %d: %v", i, err)
		}
		got, err := decodeMessage(dep, m.UserID, string(p))
		if err != nil {
			t.Fatalf("message %d: decode %q: %v", i, p, err)
		}
		if !reflect.DeepEqual(got, canon(m)) {
			t.Fatalf("message %d: round trip of %q\ngot  %s\nwant %s", i, p, show(got), show(m))
		}
	}
}

// A message goes in version 2 exactly when version 2 carries all of it, so
// that older nodes still read plain new notifications; everything else in
// version 3.
func TestCodecVersion(t *testing.T) {
	for i, m := range sample() {
		p, err := appendMessage(nil, dep, &m)
		if err != nil {
			t.Fatal(err)
		}
		var want byte = version3
		if i == 1 || i == 14 || i == 15 { // the plain notification, the old shapes
			want = version2
		}
		if p[0] != want {
			t.Errorf("message %d (%s) sent in version %d, want %d", i, show(m), p[0], want)
		}
	}
	// One field that version 2 lacks is enough for version 3.
	plain := func() belfry.Message { return sample()[1] }
	for name, set := range map[string]func(*belfry.Notification){
		"avatar":      func(n *belfry.Notification) { n.Avatar = "/a.png" },
		"actions":     func(n *belfry.Notification) { n.Actions = []belfry.Action{} },
		"seen_at":     func(n *belfry.Notification) { n.SeenAt = &n.CreatedAt },
		"archived_at": func(n *belfry.Notification) { n.ArchivedAt = &n.CreatedAt },
		"expires_at":  func(n *belfry.Notification) { n.ExpiresAt = &n.CreatedAt },
		"action":      func(n *belfry.Notification) { n.Action = "a" },
		"acted_at":    func(n *belfry.Notification) { n.ActedAt = &n.CreatedAt },
	} {
		m := plain()
		set(m.New)
		if p, _ := appendMessage(nil, dep, &m); p[0] != version3 {
			t.Errorf("a notification with %s sent in version %d", name, p[0])
		}
	}
	for name, set := range map[string]func(*belfry.StateChange){
		"filter":      func(c *belfry.StateChange) { c.Filter = &belfry.EventFilter{} },
		"seen_at":     func(c *belfry.StateChange) { c.SeenAt = ptr("") },
		"archived":    func(c *belfry.StateChange) { c.Archived = true },
		"archived_at": func(c *belfry.StateChange) { c.ArchivedAt = ptr("") },
		"action":      func(c *belfry.StateChange) { c.Action = "a" },
		"acted_at":    func(c *belfry.StateChange) { c.ActedAt = ptr("") },
		"reason":      func(c *belfry.StateChange) { c.Reason = belfry.ReasonDeleted },
		"unseen":      func(c *belfry.StateChange) { c.Unseen = 1 },
		"last_id":     func(c *belfry.StateChange) { c.LastID = 1 },
		"by_category": func(c *belfry.StateChange) { c.ByCategory = map[string]belfry.Counts{} },
	} {
		m := belfry.Message{Kind: belfry.KindDeleted, UserID: "42", State: &belfry.StateChange{ID: 4}}
		set(m.State)
		if p, _ := appendMessage(nil, dep, &m); p[0] != version3 {
			t.Errorf("a state change with %s sent in version %d", name, p[0])
		}
	}
}

// Payloads that a node of the belfry before version 3 published decode, and
// what a node sends in version 2 is byte for byte what such a node reads.
func TestCodecVersion2(t *testing.T) {
	created := time.Date(2026, 11, 23, 17, 42, 24, 123e6, time.UTC)
	read := created.Add(time.Second)
	at := "2026-11-23T17:42:25.000Z"
	for i, c := range []struct {
		payload string
		m       belfry.Message
	}{
		{"\x02\tbelfry:u:\x01\"\x02hi\x01t\x02/x\x01c\b{\"a\":1}\x80죰\r\xc0\xa9\xd3:\x01\x82죰\r\xc0\xa9\xd3:",
			belfry.Message{Kind: belfry.KindNew, UserID: "42", New: &belfry.Notification{ID: 17, UserID: "42",
				Message: "hi", Title: "t", Link: "/x", Category: "c", Data: json.RawMessage(`{"a":1}`), ReadAt: &read, CreatedAt: created}}},
		{"\x02\tbelfry:u:\x02\a\x00\"\x06\x182026-11-23T17:42:25.000Z",
			belfry.Message{Kind: belfry.KindRead, UserID: "42", State: &belfry.StateChange{All: true, UpTo: 17, Read: true, ReadAt: &at, Stats: belfry.Stats{Unread: 3}}}},
		{"\x02\tbelfry:u:\x03\x00\b\x00\x04",
			belfry.Message{Kind: belfry.KindDeleted, UserID: "42", State: &belfry.StateChange{ID: 4, Stats: belfry.Stats{Unread: 2}}}},
	} {
		got, err := decodeMessage(dep, "42", c.payload)
		if err != nil {
			t.Fatalf("payload %d: %v", i, err)
		}
		if !reflect.DeepEqual(got, c.m) {
			t.Fatalf("payload %d: got %s, want %s", i, show(got), show(c.m))
		}
		if got.State != nil && got.State.ByCategory != nil {
			t.Fatalf("payload %d: a version 2 state change decoded with by_category %v, want nil (counts not known)", i, got.State.ByCategory)
		}
		p, err := appendMessage(nil, dep, &c.m)
		if err != nil || string(p) != c.payload {
			t.Fatalf("message %d sent as %q (%v), want the version 2 payload %q", i, p, err, c.payload)
		}
	}
}

// Messages the binary form does not carry exactly go as JSON.
func TestCodecJSONFallback(t *testing.T) {
	n := &belfry.Notification{ID: 1, UserID: "42", Message: "m"}
	for i, m := range []belfry.Message{
		{Kind: "future-kind", UserID: "42", State: &belfry.StateChange{ID: 1}},
		{Kind: belfry.KindNew, UserID: "42"},
		{Kind: belfry.KindNew, UserID: "42", New: n, State: &belfry.StateChange{ID: 1}},
		{Kind: belfry.KindRead, UserID: "42", New: n, State: &belfry.StateChange{ID: 1}},
		{Kind: belfry.KindRead, UserID: "42"},
	} {
		p, err := appendMessage(nil, dep, &m)
		if err != nil || p[0] != '{' {
			t.Fatalf("message %d sent as %q (%v), want JSON", i, p, err)
		}
		got, err := decodeMessage(dep, "42", string(p))
		if err != nil || !reflect.DeepEqual(got, m) {
			t.Fatalf("message %d: got %s (%v), want %s", i, show(got), err, show(m))
		}
	}
	// A notification of another user than the channel's is refused on
	// receipt, not delivered to the channel's user.
	m := belfry.Message{Kind: belfry.KindNew, UserID: "42", New: &belfry.Notification{ID: 1, UserID: "7"}}
	p, _ := appendMessage(nil, dep, &m)
	if _, err := decodeMessage(dep, "42", string(p)); !errors.Is(err, errUserMismatch) {
		t.Fatalf("user 7's notification on user 42's channel: %v, want errUserMismatch", err)
	}
}

// A JSON payload names its user; on another user's channel it is refused.
// (The binary form names no user: the channel does.)
func TestCodecRejectsAnotherUsersPayload(t *testing.T) {
	for _, m := range sample() {
		p, err := json.Marshal(jsonMessage{Deployment: dep, Message: m})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := decodeMessage(dep, m.UserID, string(p)); err != nil {
			t.Fatalf("JSON payload %s refused on its own channel: %v", p, err)
		}
		if _, err := decodeMessage(dep, "someone-else", string(p)); err == nil {
			t.Fatalf("a payload of user %q was accepted on another user's channel: %s", m.UserID, p)
		}
	}
	if _, err := decodeMessage(dep, "42", "{not json"); err == nil {
		t.Fatal("malformed JSON payload accepted")
	}
}

// Every truncation of a valid payload, and trailing garbage, is rejected
// without a panic.
func TestCodecMalformed(t *testing.T) {
	for i, m := range sample() {
		p, err := appendMessage(nil, dep, &m)
		if err != nil {
			t.Fatal(err)
		}
		for n := range len(p) {
			if _, err := decodeMessage(dep, m.UserID, string(p[:n])); err == nil {
				t.Fatalf("message %d: a payload cut to %d of %d bytes was accepted", i, n, len(p))
			}
		}
		if _, err := decodeMessage(dep, m.UserID, string(p)+"x"); err == nil {
			t.Fatalf("message %d: trailing bytes accepted", i)
		}
	}
	head := "\x03\tbelfry:u:"
	// A version 3 state change of ID 0 with the given flags and filter byte,
	// no strings, and the given categories part.
	state := func(flags, filter, cats string) string {
		return head + "\x02" + flags + "\x00\x00" + "\x00\x00" + filter + "\x00\x00\x00" + cats
	}
	// A version 3 new notification with ID 0, no strings, data or times,
	// created at the epoch, up to its actions count.
	empty := head + "\x01" + strings.Repeat("\x00", 11)
	for _, p := range []string{state("\x00", "\x00", "\x00"), empty + "\x04" + strings.Repeat("\x00", 9)} {
		if _, err := decodeMessage(dep, "42", p); err != nil {
			t.Fatalf("the test's valid payload %q: %v", p, err)
		}
	}
	for name, p := range map[string]string{
		"unknown kind":               head + "\x07",
		"unknown state flag":         state("\x80\x01", "\x00", "\x00"),
		"filter without its set bit": state("\x00", "\x04", "\x00"),
		"unknown filter bit":         state("\x00", "\x11", "\x00"),
		"read true without read":     state("\x00", "\x09", "\x00"),
		"a category twice":           state("\x00", "\x00", "\x03\x01a\x00\x00\x01a\x00\x00"),
		"more categories than bytes": state("\x00", "\x00", "\x80\x80\x80\x80\x10"),
		"unknown time flag":          empty[:len(empty)-1] + "\x20\x00",
		"more actions than bytes":    empty + "\x05" + strings.Repeat("\x00", 9),
	} {
		if _, err := decodeMessage(dep, "42", p); !errors.Is(err, errMalformed) {
			t.Errorf("%s: %v, want errMalformed", name, err)
		}
	}
}

// A JSON payload (as redis-cli could publish) is accepted; the user comes
// from the channel. Every kind and field survives the JSON form.
func TestCodecJSON(t *testing.T) {
	got, err := decodeMessage(dep, "42", `{"deployment":"belfry:u:","kind":"notification-deleted","state":{"id":4,"read":false,"read_at":null,"unread_count":2}}`)
	if err != nil {
		t.Fatal(err)
	}
	want := belfry.Message{Kind: belfry.KindDeleted, UserID: "42", State: &belfry.StateChange{ID: 4, Stats: belfry.Stats{Unread: 2}}}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got %+v, want %+v", got, want)
	}
	// The examples of the package documentation.
	got, err = decodeMessage(dep, "42",
		`{"deployment":"belfry:u:","kind":"new-notification","notification":{"id":7,"user_id":"42","message":"hi"}}`)
	if err != nil || got.New == nil || got.New.ID != 7 || got.New.Message != "hi" {
		t.Fatalf("the documented redis-cli event: %+v, %v", got.New, err)
	}
	got, err = decodeMessage(dep, "42",
		`{"deployment":"belfry:u:","kind":"notification-deleted","state":{"id":4,"reason":"expired","unread_count":2}}`)
	want.State.Reason = belfry.ReasonExpired
	if err != nil || !reflect.DeepEqual(got, want) {
		t.Fatalf("the documented JSON form: %s, %v", show(got), err)
	}
	for i, m := range sample() {
		p, err := json.Marshal(jsonMessage{Deployment: dep, Message: m})
		if err != nil {
			t.Fatal(err)
		}
		got, err := decodeMessage(dep, m.UserID, string(p))
		if err != nil {
			t.Fatalf("message %d: %s: %v", i, p, err)
		}
		if n := m.New; n != nil && n.Actions != nil && len(n.Actions) == 0 {
			m = canon(m)
			m.New.Actions = nil // JSON has no empty list apart from none
		}
		if n := m.New; n != nil && n.Data != nil && len(n.Data) == 0 {
			m.New.Data = nil // nor empty data
		}
		if !reflect.DeepEqual(canon(got), canon(m)) {
			t.Fatalf("message %d through JSON %s:\ngot  %s\nwant %s", i, p, show(got), show(m))
		}
	}
}

func FuzzDecode(f *testing.F) {
	for _, m := range sample() {
		p, _ := appendMessage(nil, dep, &m)
		f.Add(string(p))
	}
	f.Fuzz(func(t *testing.T, payload string) {
		m, err := decodeMessage(dep, "42", payload)
		if err != nil || payload[0] == '{' {
			return
		}
		// What decodes survives a round trip unchanged.
		p, err := appendMessage(nil, dep, &m)
		if err != nil {
			t.Fatal(err)
		}
		again, err := decodeMessage(dep, "42", string(p))
		if err != nil {
			t.Fatalf("re-encoded %+v does not decode: %v", m, err)
		}
		if !reflect.DeepEqual(again, m) {
			t.Fatalf("round trip of %q: got %s, want %s", payload, show(again), show(m))
		}
	})
}

func BenchmarkEncodeNew(b *testing.B) {
	m := sample()[0]
	var buf []byte
	b.ReportAllocs()
	for b.Loop() {
		buf, _ = appendMessage(buf[:0], dep, &m)
	}
}

// BenchmarkEncodeNewJSON is the JSON form with belfry's own notification
// encoder, for comparison.
func BenchmarkEncodeNewJSON(b *testing.B) {
	m := sample()[0]
	var buf []byte
	b.ReportAllocs()
	for b.Loop() {
		buf = append(buf[:0], `{"kind":"new-notification","notification":`...)
		buf = append(m.New.AppendJSON(buf), '}')
	}
}

func BenchmarkEncodeNewStdlib(b *testing.B) {
	m := sample()[0]
	b.ReportAllocs()
	for b.Loop() {
		json.Marshal(&m)
	}
}

func BenchmarkEncodeState(b *testing.B) {
	m := sample()[4]
	var buf []byte
	b.ReportAllocs()
	for b.Loop() {
		buf, _ = appendMessage(buf[:0], dep, &m)
	}
}

func benchmarkDecode(b *testing.B, m belfry.Message, p []byte) {
	s := string(p)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := decodeMessage(dep, m.UserID, s); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkDecodeNewJSON decodes the JSON form, for comparison.
func BenchmarkDecodeNewJSON(b *testing.B) {
	m := sample()[0]
	p, _ := json.Marshal(jsonMessage{Deployment: dep, Message: m})
	benchmarkDecode(b, m, p)
}

// BenchmarkDecodeNew decodes a notification with every field set
// (version 3).
func BenchmarkDecodeNew(b *testing.B) {
	m := sample()[0]
	p, _ := appendMessage(nil, dep, &m)
	benchmarkDecode(b, m, p)
}

// BenchmarkDecodeNewV2 decodes a notification with the fields of version 2
// only (read, with data).
func BenchmarkDecodeNewV2(b *testing.B) {
	m := sample()[0]
	n := *m.New
	n.Avatar, n.Actions, n.SeenAt, n.ArchivedAt, n.ExpiresAt, n.Action, n.ActedAt = "", nil, nil, nil, nil, "", nil
	m.New = &n
	p, _ := appendMessage(nil, dep, &m)
	if p[0] != version2 {
		b.Fatal("not version 2")
	}
	benchmarkDecode(b, m, p)
}

// BenchmarkDecodeState decodes a read-state event with three categories.
func BenchmarkDecodeState(b *testing.B) {
	m := sample()[4]
	p, _ := appendMessage(nil, dep, &m)
	benchmarkDecode(b, m, p)
}

// BenchmarkDecodeStateNoCategory decodes a read-state event whose user has
// nothing unread in any category.
func BenchmarkDecodeStateNoCategory(b *testing.B) {
	m := sample()[5]
	p, _ := appendMessage(nil, dep, &m)
	benchmarkDecode(b, m, p)
}

// A payload names its deployment: one of another deployment, or of a
// belfry from before deployment ids (version 1, or JSON without one), is
// refused with an error that says so, never decoded as a message.
func TestCodecDeployment(t *testing.T) {
	for i, m := range sample() {
		p, err := appendMessage(nil, "app:t2:", &m)
		if err != nil {
			t.Fatal(err)
		}
		var fe *foreignError
		if _, err := decodeMessage("app:", m.UserID, string(p)); !errors.As(err, &fe) || fe.deployment != "app:t2:" {
			t.Fatalf("message %d of deployment app:t2: decoded by app: with %v, want a foreignError naming app:t2:", i, err)
		}
		// Version 1 was version 2 without the deployment.
		v1 := append([]byte{version1}, p[1+1+len("app:t2:"):]...)
		if _, err := decodeMessage("app:", m.UserID, string(v1)); !errors.Is(err, errLegacy) {
			t.Fatalf("message %d in version 1: %v, want errLegacy", i, err)
		}
		j, _ := json.Marshal(&m)
		if _, err := decodeMessage("app:", m.UserID, string(j)); !errors.Is(err, errLegacy) {
			t.Fatalf("message %d in JSON without a deployment: %v, want errLegacy", i, err)
		}
		j, _ = json.Marshal(jsonMessage{Deployment: "app:t2:", Message: m})
		if _, err := decodeMessage("app:", m.UserID, string(j)); !errors.As(err, &fe) || fe.deployment != "app:t2:" {
			t.Fatalf("message %d in JSON of deployment app:t2: %v, want a foreignError", i, err)
		}
	}
}
