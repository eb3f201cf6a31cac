package sqlite

import (
	"database/sql"
	"path/filepath"
	"testing"

	"github.com/belfry/belfry"
)

// oldFile makes the database file an older belfry left: 16 KiB pages, WAL.
func oldFile(t *testing.T) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "old.db")
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for _, q := range []string{"PRAGMA page_size=16384", "PRAGMA journal_mode=WAL"} {
		if _, err := db.Exec(q); err != nil {
			t.Fatal(err)
		}
	}
	return path
}

// pragma reads one PRAGMA of the file at path on a connection of its own.
func pragma(t *testing.T, path, name string) string {
	t.Helper()
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var v string
	if err := db.QueryRow("PRAGMA " + name).Scan(&v); err != nil {
		t.Fatal(err)
	}
	return v
}

// A new database gets 4 KiB pages and WAL (the page size only takes when
// it is set before WAL writes the file, which the driver's pragma order
// once silently prevented); a database made with 16 KiB pages by an older
// belfry keeps them and works. The write connection checkpoints after
// 16 MiB of WAL in the file's own page size: 4,096 pages of 4 KiB, 1,024
// of 16 KiB. 4 KiB is also SQLite's own default, so a new file asked for
// 8 KiB pages shows that the setting takes at all.
func TestPageSize(t *testing.T) {
	ctx := t.Context()
	for _, c := range []struct {
		path                 string
		newPageSize          int
		pageSize, checkpoint string
	}{
		{filepath.Join(t.TempDir(), "new.db"), 0, "4096", "4096"},
		{filepath.Join(t.TempDir(), "new8k.db"), 8192, "8192", "2048"},
		{oldFile(t), 0, "16384", "1024"},
	} {
		s, err := OpenConfig(ctx, Config{Path: c.path, newPageSize: c.newPageSize})
		if err != nil {
			t.Fatal(err)
		}
		var checkpoint string
		err = s.writer.conn.QueryRowContext(ctx, "PRAGMA wal_autocheckpoint").Scan(&checkpoint)
		if err == nil {
			err = s.Create(ctx, []*belfry.Notification{{UserID: "u", Message: "m"}})
		}
		var ns []*belfry.Notification
		if err == nil {
			ns, err = s.After(ctx, "u", 0, 10)
		}
		if cerr := s.Close(); err == nil {
			err = cerr
		}
		name := filepath.Base(c.path)
		if err != nil || len(ns) != 1 {
			t.Fatalf("%s: %d notifications, %v", name, len(ns), err)
		}
		if checkpoint != c.checkpoint {
			t.Errorf("%s: wal_autocheckpoint %s, want %s", name, checkpoint, c.checkpoint)
		}
		if got := pragma(t, c.path, "page_size"); got != c.pageSize {
			t.Errorf("%s: page_size %s, want %s", name, got, c.pageSize)
		}
		if got := pragma(t, c.path, "journal_mode"); got != "wal" {
			t.Errorf("%s: journal_mode %s, want wal", name, got)
		}
	}
}
