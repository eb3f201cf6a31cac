package hub_test

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/belfry/belfry"
	"github.com/belfry/belfry/hub"
)

func TestEncodeEvents(t *testing.T) {
	n := &belfry.Notification{ID: 3, UserID: "u", Message: "m", CreatedAt: time.Unix(0, 0)}
	if got := string(hub.EncodeNew(n).Bytes); !strings.HasPrefix(got, "id: 3\nevent: new-notification\ndata: {") || !strings.HasSuffix(got, "}\n\n") {
		t.Fatalf("new: %q", got)
	}
	at := "2026-11-23T17:42:24.123Z"
	got := string(hub.EncodeState(belfry.KindRead, &belfry.StateChange{ID: 3, Read: true, ReadAt: &at, SeenAt: &at,
		Stats: belfry.Stats{Unread: 2, Unseen: 1, LastID: 3, ByCategory: map[string]belfry.Counts{"b": {Unread: 1}}}}).Bytes)
	if want := "event: read-state\ndata: {\"id\":3,\"read\":true,\"read_at\":\"" + at + "\",\"seen_at\":\"" + at +
		"\",\"unread_count\":2,\"unseen_count\":1,\"last_id\":3,\"by_category\":{\"b\":{\"unread\":1,\"unseen\":0}}}\n\n"; got != want {
		t.Fatalf("read-state: %q", got)
	}
	got = string(hub.EncodeState(belfry.KindRead, &belfry.StateChange{All: true, UpTo: 9, Read: true, ReadAt: &at}).Bytes)
	if want := "event: read-state\ndata: {\"all\":true,\"up_to_id\":9,\"read\":true,\"read_at\":\"" + at + "\",\"seen_at\":null,\"unread_count\":0,\"unseen_count\":0,\"last_id\":0,\"by_category\":{}}\n\n"; got != want {
		t.Fatalf("read-all: %q", got)
	}
	got = string(hub.EncodeState(belfry.KindDeleted, &belfry.StateChange{ID: 3, Stats: belfry.Stats{Unread: 1}}).Bytes)
	if want := "event: notification-deleted\ndata: {\"id\":3,\"reason\":\"deleted\",\"unread_count\":1,\"unseen_count\":0,\"last_id\":0,\"by_category\":{}}\n\n"; got != want {
		t.Fatalf("deleted: %q", got)
	}
	if got := string(hub.EncodeSync(belfry.Stats{Unread: 4, LastID: 12}).Bytes); got != "event: sync\ndata: {\"unread_count\":4,\"unseen_count\":0,\"last_id\":12,\"by_category\":{}}\n\n" {
		t.Fatalf("sync: %q", got)
	}
}

func BenchmarkEncodeNew(b *testing.B) {
	n := &belfry.Notification{ID: 123456, UserID: "user-42", Message: "Your order #1234 has shipped",
		Link: "/orders/1234", Data: json.RawMessage(`{"order":1234}`), CreatedAt: time.Now()}
	b.ReportAllocs()
	for b.Loop() {
		hub.EncodeNew(n)
	}
}
