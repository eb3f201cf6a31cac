package hub

import (
	"strings"
	"testing"

	"github.com/belfry/belfry"
)

// The sync event goes between what its snapshot counts and what it does
// not: a client resuming from its last_id never skips an id, and never
// counts one twice.
func TestSyncSitsAtTheSnapshotBoundary(t *testing.T) {
	var ns []*belfry.Notification
	for id := int64(3); id <= 8; id++ {
		ns = append(ns, &belfry.Notification{ID: id, UserID: "u", Message: "m"})
	}
	snap := &belfry.Stats{Unread: 4, LastID: 5}
	buf, last, _ := appendNotifications(nil, ns[:2], 2, &snap, ReplayPageBytes) // ids 3, 4: a first page
	if snap == nil || last != 4 {
		t.Fatalf("sync written too early (last %d)", last)
	}
	buf, last, _ = appendNotifications(buf, ns[1:], last, &snap, ReplayPageBytes) // 4 again, then 5..8
	if snap != nil || last != 8 {
		t.Fatalf("sync not written (last %d)", last)
	}
	var order []string
	for _, ev := range strings.Split(strings.TrimSuffix(string(buf), "\n\n"), "\n\n") {
		first, _, _ := strings.Cut(ev, "\n")
		order = append(order, first)
	}
	want := "id: 3|id: 4|id: 5|event: sync|id: 6|id: 7|id: 8"
	if got := strings.Join(order, "|"); got != want {
		t.Fatalf("order %s\nwant  %s", got, want)
	}
	if !strings.Contains(string(buf), `{"unread_count":4,"unseen_count":0,"last_id":5,"by_category":{}}`) {
		t.Fatalf("sync payload: %s", buf)
	}
	if buf = flushSync(buf[:0], &snap); len(buf) != 0 {
		t.Fatal("a flushed sync was written twice")
	}
}
