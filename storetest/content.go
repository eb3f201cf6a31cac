package storetest

import (
	"encoding/json"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/belfry/belfry"
)

// roundTrip creates n and checks that After, List and SetRead return it
// exactly as Create reported it.
func roundTrip(t *testing.T, s belfry.Store, n *belfry.Notification) {
	t.Helper()
	want := *n
	want.Data = append(json.RawMessage(nil), n.Data...)
	if len(n.Data) == 0 {
		want.Data = nil
	}
	create(t, s, n)
	want.ID, want.CreatedAt = n.ID, n.CreatedAt
	got := after(t, s, n.UserID, n.ID-1, 1)
	if len(got) != 1 {
		t.Fatalf("After: %d notifications, want 1", len(got))
	}
	same(t, "After", got[0], &want)
	page := list(t, s, n.UserID, belfry.ListQuery{Limit: 1})
	if len(page) != 1 {
		t.Fatalf("List: %d notifications, want 1", len(page))
	}
	same(t, "List", page[0], &want)
	at := msTime(0)
	want.ReadAt, want.SeenAt = &at, &at
	same(t, "SetRead", setRead(t, s, n.UserID, n.ID, &at), &want)
}

func testRoundTrip(t *testing.T, s belfry.Store, u users) {
	roundTrip(t, s, &belfry.Notification{
		UserID:   u.id("alice"),
		Message:  "Your invoice #42 is ready",
		Title:    "Billing",
		Link:     "https://example.com/invoices/42?tab=pdf&lang=fr#top",
		Category: "billing",
		Data:     json.RawMessage(`{"invoice":42,"amount":19.5,"paid":false,"tags":["a","b"],"meta":{"x":null,"y":[1,{"z":"w"}]}}`),
	})
	roundTrip(t, s, &belfry.Notification{
		UserID:   u.id("ünïcødé-🔔-用户"),
		Message:  "Größe 🔔 مرحبا 日本語 \u2028 line\nbreak\ttab \"quoted\" <b>&amp;</b> \\ back",
		Title:    "Ça marche ✓ 🎉",
		Link:     "/inbox/ünï?q=🔔",
		Category: "système/💳",
		Data:     json.RawMessage(`{"emoji":"🔔","rtl":"مرحبا","escaped":"\u00e9\n","nested":{"日本":"語"}}`),
	})
	// An empty object is data, not the absence of data.
	roundTrip(t, s, &belfry.Notification{UserID: u.id("alice"), Message: "empty data", Data: json.RawMessage(`{}`)})
}

func testRoundTripLimits(t *testing.T, s belfry.Store, u users) {
	// A user id of exactly MaxUserIDLen characters, most of them two bytes.
	prefix := u.id("")
	long := prefix + strings.Repeat("ü", belfry.MaxUserIDLen-utf8.RuneCountInString(prefix))
	if utf8.RuneCountInString(long) != belfry.MaxUserIDLen {
		t.Fatalf("test bug: user id has %d characters", utf8.RuneCountInString(long))
	}
	roundTrip(t, s, &belfry.Notification{
		UserID:   long,
		Message:  fill("✉️ long message ", belfry.MaxMessageBytes),
		Title:    fill("Tïtle ", belfry.MaxTitleBytes),
		Link:     "https://example.com/" + fill("p", belfry.MaxLinkBytes-len("https://example.com/")),
		Category: fill("cat-é", belfry.MaxCategoryLen),
		Data:     bigData(belfry.MaxDataBytes),
	})
	if st := stats(t, s, long); st.LastID != 1 {
		t.Fatalf("Stats of the 128-character user: %+v, want last id 1", st)
	}
}

// fill repeats unit up to exactly n bytes, padding with ASCII so that no
// character is cut.
func fill(unit string, n int) string {
	var b strings.Builder
	for b.Len()+len(unit) <= n {
		b.WriteString(unit)
	}
	for b.Len() < n {
		b.WriteByte('x')
	}
	return b.String()
}

// bigData returns a compact JSON object of exactly n bytes.
func bigData(n int) json.RawMessage {
	head := `{"items":["ünï",1,2.5,true,null,{"k":"v"}],"pad":"`
	tail := `"}`
	return json.RawMessage(head + fill("data 🔔 ", n-len(head)-len(tail)) + tail)
}

func testEmptyOptional(t *testing.T, s belfry.Store, u users) {
	alice := u.id("alice")
	n := create(t, s, &belfry.Notification{UserID: alice, Message: "just a message"})[0]
	for what, got := range map[string]*belfry.Notification{
		"After": after(t, s, alice, 0, 1)[0],
		"List":  list(t, s, alice, belfry.ListQuery{Limit: 1})[0],
	} {
		if got.Title != "" || got.Link != "" || got.Category != "" || got.ReadAt != nil {
			t.Fatalf("%s: empty optional fields came back as %s, read_at %v", what, brief(got), got.ReadAt)
		}
		if got.Data != nil {
			t.Fatalf("%s: absent data came back as %q, want nil", what, got.Data)
		}
		same(t, what, got, n)
	}
	at := msTime(0)
	if got := setRead(t, s, alice, 1, &at); got.Data != nil || got.Title != "" {
		t.Fatalf("SetRead: empty optional fields came back as %s, data %q", brief(got), got.Data)
	}
}

func testPing(t *testing.T, s belfry.Store, _ users) {
	if err := s.Ping(ctx(t)); err != nil {
		t.Fatalf("Ping: %v", err)
	}
}

func testRoundTripInboxFields(t *testing.T, s belfry.Store, u users) {
	alice := u.id("alice")
	roundTrip(t, s, &belfry.Notification{
		UserID:  alice,
		Message: "Approve the expense?",
		Avatar:  "https://example.com/avatars/42.png?size=64&é=🔔",
		Actions: []belfry.Action{
			{ID: "approve", Label: "Approve ✓", URL: "/expenses/7/approve"},
			{ID: "deny", Label: "Deny"}, // no URL: it stays omitted
			{ID: "later", Label: "Later", URL: "https://example.com/x?y=1"},
		},
		ExpiresAt: ptr(msTime(time.Hour)),
	})
	roundTrip(t, s, &belfry.Notification{UserID: alice, Message: "relative avatar", Avatar: "/img/a.png",
		Actions: []belfry.Action{{ID: "ok", Label: "OK"}}})
	n := create(t, s, note(alice, "no actions"))[0]
	got := after(t, s, alice, n.ID-1, 1)[0]
	if len(got.Actions) != 0 || got.Avatar != "" || got.ExpiresAt != nil || got.SeenAt != nil ||
		got.ArchivedAt != nil || got.Action != "" || got.ActedAt != nil {
		t.Fatalf("a notification without the new fields came back with %+v", got)
	}
}
