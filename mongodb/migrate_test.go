package mongodb

import (
	"slices"
	"testing"
	"time"

	"github.com/belfry/belfry"
	"go.mongodb.org/mongo-driver/v2/bson"
)

// TestOlderDocuments: a document as an older belfry (or the Laravel app)
// wrote it, without seen_at, archived_at, expires_at, actions or avatar,
// counts as unseen and unarchived, lists in the inbox, and takes every
// state change.
func TestOlderDocuments(t *testing.T) {
	s := openOne(t)
	ctx := t.Context()
	created := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	for seq := int64(1); seq <= 2; seq++ {
		if _, err := s.notes.InsertOne(ctx, bson.D{{Key: "user_id", Value: "42"}, {Key: "seq", Value: seq},
			{Key: "message", Value: "old"}, {Key: "category", Value: "billing"}, {Key: "read_at", Value: nil},
			{Key: "created_at", Value: created}, {Key: "updated_at", Value: created}}); err != nil {
			t.Fatal(err)
		}
	}
	st, err := s.Stats(ctx, "42")
	want := belfry.Stats{Unread: 2, Unseen: 2, LastID: 2, ByCategory: map[string]belfry.Counts{"billing": {Unread: 2, Unseen: 2}}}
	if err != nil || st.Unread != want.Unread || st.Unseen != want.Unseen || st.LastID != 2 || st.ByCategory["billing"] != want.ByCategory["billing"] {
		t.Fatalf("Stats = %+v, %v; want %+v", st, err, want)
	}
	if got, err := s.List(ctx, "42", belfry.ListQuery{Limit: 10, UnseenOnly: true}); err != nil || !slices.Equal(ids(got), []int64{2, 1}) {
		t.Fatalf("List(unseen) = %v, %v", ids(got), err)
	}
	at := belfry.Now(time.Now())
	n, err := s.SetRead(ctx, "42", 1, &at)
	if err != nil || n.SeenAt == nil || !n.SeenAt.Equal(at) || n.ReadAt == nil {
		t.Fatalf("SetRead = %+v, %v; want read and seen at %v", n, err, at)
	}
	if _, err := s.Act(ctx, "42", 2, "approve", at); belfry.ErrorCode(err) != belfry.ENOTFOUND {
		t.Fatalf("Act on a notification without actions: %v, want %s", err, belfry.ENOTFOUND)
	}
	if c, err := s.ArchiveAll(ctx, "42", belfry.Filter{UpTo: 2}, at); err != nil || c != 2 {
		t.Fatalf("ArchiveAll = %d, %v; want 2", c, err)
	}
	if st, err := s.Stats(ctx, "42"); err != nil || st.Unread != 0 || st.Unseen != 0 || len(st.ByCategory) != 0 {
		t.Fatalf("Stats after archiving = %+v, %v", st, err)
	}
}

// TestOpenTwice: Open on a database that has everything (indexes,
// collections) is a no-op, and the indexes the queries rely on exist.
func TestOpenTwice(t *testing.T) {
	ss := openN(t, 2, testConfig())
	cur, err := ss[1].notes.Indexes().List(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	var idx []struct {
		Name   string `bson:"name"`
		Unique bool   `bson:"unique"`
	}
	if err := cur.All(t.Context(), &idx); err != nil {
		t.Fatal(err)
	}
	got := map[string]bool{}
	for _, i := range idx {
		got[i.Name] = i.Unique
	}
	// (Sparse is not checked: FerretDB v1 accepts the option and does not
	// report it; its unique indexes let documents without the field repeat
	// all the same.)
	for name, unique := range map[string]bool{"user_id_seq": true, "user_id_read_at_seq": false,
		"user_id_seen_at_seq": false, "expires_at": false, "created_at": false, "idempotency_slot": true} {
		if u, ok := got[name]; !ok || u != unique {
			t.Errorf("index %s: present %v, unique %v; want unique %v", name, ok, u, unique)
		}
	}
}

// TestPurgeLaggingCounter: Purge deletes the highest ids of a user whose
// counter lags them (a writer died before recording them); the ids are
// still never handed out again.
func TestPurgeLaggingCounter(t *testing.T) {
	s := openOne(t)
	ctx := t.Context()
	mustCreate(t, s, one("dave", "1"))
	eventually(t, "dave's lease to be released", func() bool {
		n, err := s.leases.CountDocuments(ctx, bson.D{{Key: "_id", Value: "dave"}})
		return err == nil && n == 0
	})
	past := belfry.Now(time.Now().Add(-time.Minute))
	for seq := int64(2); seq <= 3; seq++ {
		n := &belfry.Notification{UserID: "dave", Message: "dead node", ExpiresAt: &past}
		if _, err := s.notes.InsertOne(ctx, toDoc(n, seq, past, slot{})); err != nil {
			t.Fatal(err)
		}
	}
	got, err := s.Purge(ctx, belfry.PurgeQuery{Now: time.Now(), Limit: 10})
	var mine []int64
	for _, r := range got {
		if r.UserID == "dave" && r.Reason == belfry.ReasonExpired {
			mine = append(mine, r.ID)
		}
	}
	slices.Sort(mine)
	if err != nil || !slices.Equal(mine, []int64{2, 3}) {
		t.Fatalf("Purge = %+v, %v; want dave's 2 and 3 expired", got, err)
	}
	m := one("dave", "next")
	mustCreate(t, s, m)
	if m[0].ID != 4 {
		t.Fatalf("Create after purging the unrecorded ids: id %d, want 4", m[0].ID)
	}
}
