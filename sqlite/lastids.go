package sqlite

import (
	"context"
	"database/sql"
	"strings"
)

// The writer remembers the last id it handed out to each user it wrote
// for, so that a Create for such a user reads nothing back. Reading last
// ids (one row per user, each column fetched through the driver and
// SQLite's connection mutex) is as costly as inserting the notifications
// themselves; see docs/PERFORMANCE.md.
//
// The ids stay right only while this connection is the only one writing.
// Other processes (or other Stores) may share the file, so the first
// Create of every transaction reads PRAGMA data_version, which changes
// when another connection has committed; then everything remembered is
// dropped. (The value only grows with other connections' commits, so a
// transaction without a Create need not read it.) What a transaction
// hands out is remembered at once (a later Create in the same transaction
// must see it), and everything is dropped when a transaction rolls back,
// which only an error makes happen.

// maxLastIDs bounds the users remembered; when full, the map starts over.
// A user not remembered costs one row read back, as before.
const maxLastIDs = 1 << 17

type lastIDs struct {
	// index maps a user to its entry in last. An existing entry is
	// updated through the slice: assigning to a map key replaces the
	// key string too, which would pin each caller's memory.
	index   map[string]int
	last    []int64
	version int64 // data_version when the entries were last known good
	checked bool  // data_version was read in the open transaction
	limit   int   // maxLastIDs; lowered by a test
	query   *sql.Stmt
}

func newLastIDs(ctx context.Context, conn *sql.Conn) (*lastIDs, error) {
	st, err := conn.PrepareContext(ctx, "PRAGMA data_version")
	if err != nil {
		return nil, err
	}
	return &lastIDs{index: map[string]int{}, limit: maxLastIDs, query: st}, nil
}

// begin marks a new write transaction.
func (c *lastIDs) begin() { c.checked = false }

// check is called by each Create before any lookup: in the first of a
// transaction it forgets everything if another connection has committed
// since.
func (c *lastIDs) check(ctx context.Context) error {
	if c.checked {
		return nil
	}
	var v int64
	if err := c.query.QueryRowContext(ctx).Scan(&v); err != nil {
		c.forget()
		return err
	}
	if v != c.version {
		c.forget()
		c.version = v
	}
	c.checked = true
	return nil
}

func (c *lastIDs) forget() {
	clear(c.index)
	c.last = c.last[:0]
}

// lookup returns the last id handed out to user, if remembered.
func (c *lastIDs) lookup(user string) (int64, bool) {
	i, ok := c.index[user]
	if !ok {
		return 0, false
	}
	return c.last[i], true
}

// set records the last id handed out to user in the open transaction.
func (c *lastIDs) set(user string, last int64) {
	if i, ok := c.index[user]; ok {
		c.last[i] = last
		return
	}
	if len(c.last) >= c.limit {
		c.forget()
	}
	// The key outlives the call: do not pin the caller's memory.
	c.index[strings.Clone(user)] = len(c.last)
	c.last = append(c.last, last)
}

// rolledBack forgets everything: what the transaction set is void.
func (c *lastIDs) rolledBack() { c.forget() }

func (c *lastIDs) close() error { return c.query.Close() }
