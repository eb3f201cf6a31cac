package sqlite

import (
	"database/sql"
	"path/filepath"
	"testing"
)

// The write connection checkpoints after 16 MiB of WAL in the file's own
// page size: 1,024 pages of a new file's 16 KiB, 4,096 of an older file's
// 4 KiB.
func TestAutocheckpointFollowsThePageSize(t *testing.T) {
	old := filepath.Join(t.TempDir(), "old.db")
	db, err := sql.Open("sqlite", old)
	if err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{"PRAGMA page_size=4096", "PRAGMA journal_mode=WAL"} {
		if _, err := db.Exec(q); err != nil {
			t.Fatal(err)
		}
	}
	db.Close()
	for path, want := range map[string]int{filepath.Join(t.TempDir(), "new.db"): 1024, old: 4096} {
		s, err := Open(t.Context(), path)
		if err != nil {
			t.Fatal(err)
		}
		var got int
		err = s.writer.conn.QueryRowContext(t.Context(), "PRAGMA wal_autocheckpoint").Scan(&got)
		s.Close()
		if err != nil || got != want {
			t.Errorf("%s: wal_autocheckpoint %d (%v), want %d", filepath.Base(path), got, err, want)
		}
	}
}
