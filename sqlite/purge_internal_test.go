package sqlite

import (
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/belfry/belfry"
)

// The rows the writer counts for the per-user maximum in one batch are
// bounded: past the budget, the users over the maximum wait for the next
// Purge, one at least per call, and each is trimmed exactly.
func TestPurgeCountBudget(t *testing.T) {
	s, err := Open(t.Context(), filepath.Join(t.TempDir(), "belfry.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	s.writer.countBudget = 1 // before the first Purge reaches the writer
	var ns []*belfry.Notification
	for _, u := range []string{"a", "b", "c"} {
		for i := range 5 {
			ns = append(ns, &belfry.Notification{UserID: u, Message: fmt.Sprint(u, i)})
		}
	}
	if err := s.Create(t.Context(), ns); err != nil {
		t.Fatal(err)
	}
	for _, u := range []string{"a", "b", "c"} {
		rs, err := s.Purge(t.Context(), belfry.PurgeQuery{Now: time.Now(), MaxPerUser: 2, Limit: 100})
		if err != nil {
			t.Fatal(err)
		}
		if fmt.Sprint(rs) != fmt.Sprintf("[{%s 1 retention} {%s 2 retention} {%s 3 retention}]", u, u, u) {
			t.Fatalf("Purge for %s: %v", u, rs)
		}
	}
	rs, err := s.Purge(t.Context(), belfry.PurgeQuery{Now: time.Now(), MaxPerUser: 2, Limit: 100})
	if err != nil || len(rs) != 0 {
		t.Fatalf("a last Purge removed %v, %v; want nothing", rs, err)
	}
}
