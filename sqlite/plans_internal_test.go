package sqlite

import (
	"database/sql"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/belfry/belfry"
)

// planned opens a new store and a read connection of it to explain
// statements on; both close when the test ends.
func planned(t *testing.T) (*Store, *sql.Conn) {
	t.Helper()
	s, err := Open(t.Context(), filepath.Join(t.TempDir(), "belfry.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	conn, err := s.rdb.Conn(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return s, conn
}

// queryPlan returns the details of EXPLAIN QUERY PLAN of q, joined by
// "; ". Its parameters are bound to NULL: the plan does not depend on
// their values.
func queryPlan(t *testing.T, conn *sql.Conn, q string) string {
	t.Helper()
	rows, err := conn.QueryContext(t.Context(), "EXPLAIN QUERY PLAN "+q, make([]any, params(q))...)
	if err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	defer rows.Close()
	var plan []string
	for rows.Next() {
		var id, parent, unused int
		var detail string
		if err := rows.Scan(&id, &parent, &unused, &detail); err != nil {
			t.Fatal(err)
		}
		plan = append(plan, detail)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return strings.Join(plan, "; ")
}

// params returns how many parameters q has: a "?N" is number N, and a
// bare "?" takes one more than the largest number before it, as in
// SQLite. (No statement here has a "?" inside a string.)
func params(q string) int {
	n := 0
	for i := 0; i < len(q); i++ {
		if q[i] != '?' {
			continue
		}
		j := i + 1
		for j < len(q) && q[j] >= '0' && q[j] <= '9' {
			j++
		}
		if j == i+1 {
			n++
			continue
		}
		k, _ := strconv.Atoi(q[i+1 : j])
		n = max(n, k)
	}
	return n
}

// Every statement about one user's notifications seeks the one index
// keyed by user, and Stats and the last-id lookups read it alone
// (COVERING): their work is the user's entries in it, never the table
// nor other users' rows. The archived list walks the archived index.
func TestNotificationQueryPlans(t *testing.T) {
	s, conn := planned(t)
	// A plan must contain the first string and not the second: a
	// statement that reads the index alone must not read rows through it
	// anywhere (Stats reads it twice).
	const user, covering, rows = "INDEX notifications_user (user_id=?", "COVERING INDEX notifications_user (user_id=?",
		"USING INDEX notifications_user"
	type rule struct{ has, hasNot string }
	want := map[string]rule{
		statsSQL:            {covering + ")", rows},
		lastHead + `('a'))`: {covering + ")", rows},
		`SELECT ` + columns + ` FROM notifications WHERE user_id = ?1 AND id = ?2 AND ` + live: {user + " AND id=?)", ""},
	}
	for _, k := range []listKind{{belfry.StatusInbox, false, false}, {belfry.StatusAll, true, false},
		{belfry.StatusInbox, false, true}, {belfry.StatusAll, false, false}} {
		want[listSQL(k)] = rule{user + " AND id<?)", ""}
	}
	want[listSQL(listKind{belfry.StatusArchived, false, false})] = rule{"INDEX notifications_archived (user_id=? AND id<?)", ""}
	for _, st := range s.writer.statements() {
		switch st.dst {
		case &s.writer.readAll, &s.writer.seeAll, &s.writer.del:
			want[st.sql] = rule{user, ""}
		case &s.writer.count, &s.writer.floor:
			want[st.sql] = rule{covering, rows}
		}
	}
	for q, r := range want {
		got := queryPlan(t, conn, q)
		if !strings.Contains(got, r.has) || (r.hasNot != "" && strings.Contains(got, r.hasNot)) {
			t.Errorf("plan of %s\n= %s\nwant it to contain %q and not %q", q, got, r.has, r.hasNot)
		}
	}
}
