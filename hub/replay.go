package hub

import (
	"context"

	"github.com/belfry/belfry"
)

// ReplayPageBytes bounds the events one page of a replay or catch-up holds:
// a stream reads the next page from the store only once the previous one
// is written, so a backlog of any size costs a stream about this much
// memory.
const ReplayPageBytes = 64 << 10

// firstPageRows is the row limit of a pager's first read; the next ones
// adapt to the size of the rows seen (see pager).
const firstPageRows = 16

// pager reads a user's stored notifications after an id one page at a
// time, each page bounded in rows (at most MaxReplay) and in bytes (about
// ReplayPageBytes). Its row limit starts at firstPageRows and then follows
// the rows' size, so a backlog of small notifications takes few reads and
// a read of large ones stays near ReplayPageBytes. The zero value is ready.
type pager struct{ rows int }

// next appends the new-notification events of the next page after
// *lastID to buf, with the pending sync at its boundary (see
// appendNotifications), and advances *lastID. more reports that rows may
// remain after it.
func (p *pager) next(ctx context.Context, st belfry.Store, user string, buf []byte, lastID *int64, syncAt **belfry.Stats) (_ []byte, more bool, _ error) {
	if p.rows <= 0 {
		p.rows = firstPageRows
	}
	ns, err := st.After(ctx, user, *lastID, p.rows)
	if err != nil {
		return buf, false, err
	}
	start := len(buf)
	var used int
	buf, *lastID, used = appendNotifications(buf, ns, *lastID, syncAt, ReplayPageBytes)
	// Rows left over by the byte bound are read again next time.
	more = len(ns) == p.rows || used < len(ns)
	if used > 0 {
		p.rows = min(max(ReplayPageBytes/max((len(buf)-start)/used, 1), 1), belfry.MaxReplay)
	}
	return buf, more, nil
}

// appendNotifications appends the new-notification events of ns (oldest
// first) newer than lastID, stopping once it has appended limit bytes or
// more, and returns the buffer, the new lastID and how many of ns it went
// through. While *syncAt is set, the sync event it holds is written just
// before the first notification newer than the snapshot, and *syncAt
// cleared: so everything before the sync is counted in it, and everything
// after it is not. A client that resumes from the sync's last_id then
// never skips an id.
func appendNotifications(buf []byte, ns []*belfry.Notification, lastID int64, syncAt **belfry.Stats, limit int) ([]byte, int64, int) {
	start := len(buf)
	for i, n := range ns {
		if len(buf)-start >= limit {
			return buf, lastID, i
		}
		if n.ID <= lastID {
			continue
		}
		if *syncAt != nil && n.ID > (*syncAt).LastID {
			buf = flushSync(buf, syncAt)
		}
		buf = AppendNew(buf, n)
		lastID = n.ID
	}
	return buf, lastID, len(ns)
}

// flushSync appends the pending sync event, if any, and clears it.
func flushSync(buf []byte, syncAt **belfry.Stats) []byte {
	if *syncAt != nil {
		buf = append(buf, EncodeSync(**syncAt).Bytes...)
		*syncAt = nil
	}
	return buf
}
