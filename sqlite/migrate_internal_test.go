package sqlite

import (
	"database/sql"
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/belfry/belfry"
	"github.com/belfry/belfry/storetest"
)

// A database at schema version 1 (the inbox WITHOUT ROWID) is rebuilt as
// the rowid inbox of version 2 with every notification kept: ids, read
// state, optional fields and data, and the counters, so ids go on where
// they were (a deleted last id is still not handed out again).
func TestMigrateToTheRowidInbox(t *testing.T) {
	path := filepath.Join(t.TempDir(), "v1.db")
	databaseAt(t, path, 1,
		`INSERT INTO notifications (user_id, id, message, title, link, category, data, read_at, created_at) VALUES
			('a', 1, 'one', '', '', '', NULL, NULL, 1000),
			('a', 2, 'two', 'T', '/l', 'c', '{"k":1}', 2500, 2000),
			('a', 3, 'three', '', '', '', NULL, NULL, 3000),
			('b', 1, 'bee', '', '', '', '{"b":true}', NULL, 1500)`,
		// a's id 4 was deleted: the counter remembers it.
		`INSERT INTO user_counters (user_id, last_id, unread) VALUES ('a', 4, 2), ('b', 1, 1)`).Close()

	s, err := Open(t.Context(), path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ctx := t.Context()
	describe := func(ns []*belfry.Notification) string {
		var b strings.Builder
		for _, n := range ns {
			fmt.Fprintf(&b, "%s/%d %s %q %q %q data=%s read=%v created=%d; ", n.UserID, n.ID, n.Message,
				n.Title, n.Link, n.Category, n.Data, n.ReadAt != nil, n.CreatedAt.UnixMilli())
		}
		return b.String()
	}
	for user, want := range map[string]string{
		"a": `a/1 one "" "" "" data= read=false created=1000; ` +
			`a/2 two "T" "/l" "c" data={"k":1} read=true created=2000; ` +
			`a/3 three "" "" "" data= read=false created=3000; `,
		"b": `b/1 bee "" "" "" data={"b":true} read=false created=1500; `,
	} {
		ns, err := s.After(ctx, user, 0, 10)
		if err != nil {
			t.Fatal(err)
		}
		if got := describe(ns); got != want {
			t.Errorf("%s after the migration:\n got %s\nwant %s", user, got, want)
		}
	}
	unread, err := s.List(ctx, "a", belfry.ListQuery{Limit: 10, UnreadOnly: true})
	if err != nil || len(unread) != 2 || unread[0].ID != 3 || unread[1].ID != 1 {
		t.Fatalf("a's unread after the migration: %s %v", describe(unread), err)
	}
	if st, err := s.Stats(ctx, "a"); err != nil || !storetest.SameStats(st, belfry.Stats{Unread: 2, Unseen: 2, LastID: 4}) {
		t.Fatalf("a's stats: %+v %v", st, err)
	}
	n := &belfry.Notification{UserID: "a", Message: "five"}
	if err := s.Create(ctx, []*belfry.Notification{n}); err != nil || n.ID != 5 {
		t.Fatalf("the next id of a: %d %v", n.ID, err)
	}
	var ddl string
	if err := s.rdb.QueryRowContext(ctx,
		`SELECT sql FROM sqlite_master WHERE type = 'table' AND name = 'notifications'`).Scan(&ddl); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(strings.ToUpper(ddl), "WITHOUT ROWID") {
		t.Fatalf("the inbox is still WITHOUT ROWID: %s", ddl)
	}
}

// A database at schema version 2 gains the inbox model with every
// notification kept: a read one counts as seen since it was read, none is
// archived or expiring, a last id with no row left is kept as a floor,
// and the new operations work on the old rows.
func TestMigrateToTheInboxModel(t *testing.T) {
	path := filepath.Join(t.TempDir(), "v2.db")
	databaseAt(t, path, 2,
		`INSERT INTO notifications (user_id, id, message, title, link, category, data, read_at, created_at) VALUES
			('a', 1, 'one', '', '', 'billing', NULL, NULL, 1000),
			('a', 2, 'two', 'T', '/l', 'billing', '{"k":1}', 2500, 2000),
			('a', 3, 'three', '', '', '', NULL, NULL, 3000),
			('b', 1, 'bee', '', '', '', '{"b":true}', 1600, 1500)`,
		`INSERT INTO user_counters (user_id, last_id, unread) VALUES ('a', 4, 2), ('b', 1, 0)`).Close()

	s, err := Open(t.Context(), path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ctx := t.Context()
	ns, err := s.After(ctx, "a", 0, 10)
	if err != nil || len(ns) != 3 {
		t.Fatalf("a after the migration: %d rows, %v", len(ns), err)
	}
	for _, n := range ns {
		if n.ArchivedAt != nil || n.ExpiresAt != nil || n.Action != "" || n.ActedAt != nil ||
			n.Avatar != "" || len(n.Actions) != 0 {
			t.Fatalf("a/%d after the migration: %+v", n.ID, n)
		}
		if (n.ReadAt == nil) != (n.SeenAt == nil) || (n.ReadAt != nil && !n.SeenAt.Equal(*n.ReadAt)) {
			t.Fatalf("a/%d after the migration: read_at %v, seen_at %v; want them equal", n.ID, n.ReadAt, n.SeenAt)
		}
	}
	if ns[1].ReadAt == nil || ns[1].ReadAt.UnixMilli() != 2500 || string(ns[1].Data) != `{"k":1}` {
		t.Fatalf("a/2 after the migration: %+v", ns[1])
	}
	if st, err := s.Stats(ctx, "a"); err != nil || !storetest.SameStats(st, belfry.Stats{Unread: 2, Unseen: 2, LastID: 4,
		ByCategory: map[string]belfry.Counts{"billing": {Unread: 1, Unseen: 1}}}) {
		t.Fatalf("a's stats: %+v %v", st, err)
	}
	// a's last id (4) has no row any more: it stays as a floor; b's is
	// its newest row's, so b needs none.
	floors := map[string]int64{}
	rows, err := s.rdb.QueryContext(ctx, `SELECT user_id, last_id FROM id_floors`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var (
			u string
			n int64
		)
		if err := rows.Scan(&u, &n); err != nil {
			t.Fatal(err)
		}
		floors[u] = n
	}
	rows.Close()
	if floors["a"] != 4 || len(floors) != 1 {
		t.Fatalf("id floors after the migration: %v, want a 4 only", floors)
	}
	if _, err := s.SetArchived(ctx, "a", 1, &ns[0].CreatedAt); err != nil {
		t.Fatal(err)
	}
	if st, err := s.Stats(ctx, "a"); err != nil || !storetest.SameStats(st, belfry.Stats{Unread: 1, Unseen: 1, LastID: 4}) {
		t.Fatalf("a's stats after archiving a/1: %+v %v", st, err)
	}
	n := &belfry.Notification{UserID: "a", Message: "five"}
	if err := s.Create(ctx, []*belfry.Notification{n}); err != nil || n.ID != 5 {
		t.Fatalf("the next id of a: %d %v", n.ID, err)
	}
}

// A database at schema version 5 is rebuilt with one index keyed by user:
// every row is kept with its rowid and every column, the two per-user
// indexes are gone, and reads, Stats and the next id are as before.
func TestMigrateToOneUserIndex(t *testing.T) {
	path := filepath.Join(t.TempDir(), "v5.db")
	db := databaseAt(t, path, 5,
		// Inserted out of id order, so that rowid order is not id order,
		// and with a gap in the rowids (c's row, deleted).
		`INSERT INTO notifications (user_id, id, message, title, link, category, data, read_at, created_at,
				avatar, actions, seen_at, archived_at, expires_at, action, acted_at) VALUES
			('a', 2, 'two', 'T', '/l', 'billing', '{"k":1}', 2500, 2000, '/a.png', '[{"id":"ok"}]', 2500, NULL, NULL, 'ok', 2500),
			('b', 1, 'bee', '', '', '', NULL, NULL, 1500, '', NULL, 1600, NULL, 99999999999999, '', NULL),
			('c', 1, 'sea', '', '', '', NULL, NULL, 1700, '', NULL, NULL, NULL, NULL, '', NULL),
			('a', 1, 'one', '', '', 'billing', NULL, NULL, 1000, '', NULL, NULL, NULL, NULL, '', NULL),
			('a', 3, 'three', '', '', '', NULL, NULL, 3000, '', NULL, NULL, 3100, NULL, '', NULL)`,
		`DELETE FROM notifications WHERE user_id = 'c'`,
		`INSERT INTO id_floors (user_id, last_id) VALUES ('a', 4), ('c', 1)`)
	dump := func(db interface {
		Query(string, ...any) (*sql.Rows, error)
	}) string {
		rows, err := db.Query(`SELECT rowid, * FROM notifications ORDER BY rowid`)
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		cols, _ := rows.Columns()
		var b strings.Builder
		for rows.Next() {
			vals := make([]any, len(cols))
			ptrs := make([]any, len(cols))
			for i := range vals {
				ptrs[i] = &vals[i]
			}
			if err := rows.Scan(ptrs...); err != nil {
				t.Fatal(err)
			}
			for i, v := range vals {
				fmt.Fprintf(&b, "%s=%v ", cols[i], v)
			}
			b.WriteString("\n")
		}
		return b.String()
	}
	before := dump(db)
	db.Close()

	s, err := Open(t.Context(), path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ctx := t.Context()
	if after := dump(s.rdb); after != before {
		t.Fatalf("rows after the migration:\n%s\nbefore:\n%s", after, before)
	}
	var indexes []string
	rows, err := s.rdb.QueryContext(ctx, `SELECT name FROM sqlite_master
		WHERE type = 'index' AND tbl_name = 'notifications' ORDER BY name`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var name string
		if err := rows.Scan(&name); err != nil {
			t.Fatal(err)
		}
		indexes = append(indexes, name)
	}
	rows.Close()
	if got, want := strings.Join(indexes, " "),
		"notifications_archived notifications_done notifications_expiry notifications_user"; got != want {
		t.Fatalf("indexes after the migration: %s, want %s", got, want)
	}
	if st, err := s.Stats(ctx, "a"); err != nil || !storetest.SameStats(st, belfry.Stats{Unread: 1, Unseen: 1, LastID: 4,
		ByCategory: map[string]belfry.Counts{"billing": {Unread: 1, Unseen: 1}}}) {
		t.Fatalf("a's stats: %+v %v", st, err)
	}
	if st, err := s.Stats(ctx, "b"); err != nil || !storetest.SameStats(st, belfry.Stats{Unread: 1, Unseen: 0, LastID: 1}) {
		t.Fatalf("b's stats: %+v %v", st, err)
	}
	unread, err := s.List(ctx, "a", belfry.ListQuery{Limit: 10, Status: belfry.StatusAll, UnreadOnly: true})
	if err != nil || len(unread) != 2 || unread[0].ID != 3 || unread[1].ID != 1 {
		t.Fatalf("a's unread after the migration: %d %v", len(unread), err)
	}
	n := &belfry.Notification{UserID: "a", Message: "five"}
	if err := s.Create(ctx, []*belfry.Notification{n}); err != nil || n.ID != 5 {
		t.Fatalf("the next id of a: %d %v", n.ID, err)
	}
}

// databaseAt creates the file at path as this package left it at schema
// version, then runs stmts on it. The caller closes the database.
func databaseAt(t *testing.T, path string, version int, stmts ...string) *sql.DB {
	t.Helper()
	ms, err := loadMigrations()
	if err != nil {
		t.Fatal(err)
	}
	if len(ms) < version || ms[version-1].version != version {
		t.Fatalf("no migration %d to stop at", version)
	}
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	steps := []string{}
	for _, m := range ms[:version] {
		steps = append(steps, m.sql)
	}
	steps = append(steps, fmt.Sprintf(
		`CREATE TABLE schema_version (version INTEGER NOT NULL); INSERT INTO schema_version VALUES (%d)`, version))
	for _, q := range append(steps, stmts...) {
		if _, err := db.Exec(q); err != nil {
			db.Close()
			t.Fatalf("%s: %v", q, err)
		}
	}
	return db
}
