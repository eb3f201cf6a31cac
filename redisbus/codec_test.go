package redisbus

import (
	"encoding/json"
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/belfry/belfry"
)

// dep is the deployment of the codec tests.
const dep = "belfry:u:"

func sample() []belfry.Message {
	created := time.Date(2026, 11, 23, 17, 42, 24, 123e6, time.UTC)
	read := created.Add(time.Second)
	at := "2026-11-23T17:42:25.000Z"
	return []belfry.Message{
		{Kind: belfry.KindNew, UserID: "42", New: &belfry.Notification{ID: 17, UserID: "42",
			Message: "Größe 🔔 \u2028 \"q\" <b>&amp;</b>\n", Title: "t", Link: "/x?a=1&b=2", Category: "c",
			Data: json.RawMessage(`{"a":[1,2,{"b":null}]}`), ReadAt: &read, CreatedAt: created}},
		{Kind: belfry.KindNew, UserID: "ü 1", New: &belfry.Notification{ID: 1, UserID: "ü 1", Message: "m", CreatedAt: created}},
		{Kind: belfry.KindRead, UserID: "42", State: &belfry.StateChange{ID: 17, Read: true, ReadAt: &at, Stats: belfry.Stats{Unread: 3}}},
		{Kind: belfry.KindRead, UserID: "42", State: &belfry.StateChange{All: true, UpTo: 17, Read: true, ReadAt: &at}},
		{Kind: belfry.KindDeleted, UserID: "42", State: &belfry.StateChange{ID: 4, Stats: belfry.Stats{Unread: 2}}},
	}
}

func TestCodecRoundTrip(t *testing.T) {
	for i, m := range sample() {
		p, err := appendMessage(nil, dep, &m)
		if err != nil {
			t.Fatalf("message %d: %v", i, err)
		}
		got, err := decodeMessage(dep, m.UserID, string(p))
		if err != nil {
			t.Fatalf("message %d: decode %s: %v", i, p, err)
		}
		if m.New != nil {
			// Times decode in UTC with the same instant; compare them apart.
			if !got.New.CreatedAt.Equal(m.New.CreatedAt) || (m.New.ReadAt != nil) != (got.New.ReadAt != nil) ||
				(m.New.ReadAt != nil && !got.New.ReadAt.Equal(*m.New.ReadAt)) {
				t.Fatalf("message %d: times %v %v, want %v %v", i, got.New.CreatedAt, got.New.ReadAt, m.New.CreatedAt, m.New.ReadAt)
			}
			g, w := *got.New, *m.New
			g.CreatedAt, g.ReadAt, w.CreatedAt, w.ReadAt = time.Time{}, nil, time.Time{}, nil
			got.New, m.New = &g, &w
		}
		if !reflect.DeepEqual(got, m) {
			t.Fatalf("message %d: round trip of %s\ngot  %+v\nwant %+v", i, p, got, m)
		}
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
}

// A JSON payload (as redis-cli could publish) is accepted; the user comes
// from the channel.
func TestCodecJSON(t *testing.T) {
	got, err := decodeMessage(dep, "42", `{"deployment":"belfry:u:","kind":"notification-deleted","state":{"id":4,"read":false,"read_at":null,"unread_count":2}}`)
	if err != nil {
		t.Fatal(err)
	}
	want := belfry.Message{Kind: belfry.KindDeleted, UserID: "42", State: &belfry.StateChange{ID: 4, Stats: belfry.Stats{Unread: 2}}}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got %+v, want %+v", got, want)
	}
	// The example of the package documentation.
	got, err = decodeMessage(dep, "42",
		`{"deployment":"belfry:u:","kind":"new-notification","notification":{"id":7,"user_id":"42","message":"hi"}}`)
	if err != nil || got.New == nil || got.New.ID != 7 || got.New.Message != "hi" {
		t.Fatalf("the documented redis-cli event: %+v, %v", got.New, err)
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
			t.Fatalf("round trip of %q: got %+v, want %+v", payload, again, m)
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

// BenchmarkDecodeNewJSON decodes the JSON form, for comparison.
func BenchmarkDecodeNewJSON(b *testing.B) {
	m := sample()[0]
	p, _ := json.Marshal(jsonMessage{Deployment: dep, Message: m})
	s := string(p)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := decodeMessage(dep, "42", s); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkDecodeNew(b *testing.B) {
	m := sample()[0]
	p, _ := appendMessage(nil, dep, &m)
	s := string(p)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := decodeMessage(dep, "42", s); err != nil {
			b.Fatal(err)
		}
	}
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
