package sqlite

import (
	"fmt"
	"path/filepath"
	"testing"

	"github.com/belfry/belfry"
)

// When more users have been written for than the writer remembers, it
// starts over, even in the middle of a transaction; a user it no longer
// remembers has its counter read back. Ids must stay 1, 2, 3… per user.
func TestLastIDsStartOverWhenFull(t *testing.T) {
	s, err := Open(t.Context(), filepath.Join(t.TempDir(), "belfry.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	s.writer.lastIDs.limit = 3 // before the first Create reaches the writer
	const users, rounds = 10, 4
	for round := range rounds {
		ns := make([]*belfry.Notification, users)
		for i := range ns {
			ns[i] = &belfry.Notification{UserID: fmt.Sprint("u", i), Message: "m"}
		}
		if err := s.Create(t.Context(), ns); err != nil {
			t.Fatal(err)
		}
		for i, n := range ns {
			if n.ID != int64(round+1) {
				t.Fatalf("round %d, user %d: id %d, want %d", round, i, n.ID, round+1)
			}
		}
	}
	if n := len(s.writer.lastIDs.last); n > 3 {
		t.Fatalf("%d users remembered, limit 3", n)
	}
}
