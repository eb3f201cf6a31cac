package belfry

import (
	"strconv"
	"time"
)

// AppendJSON appends the data of a state event (see Kind) to b. notification-deleted
// carries {"id","unread_count"}; read-state adds "read" and "read_at", and
// for read-all {"all":true,"up_to_id":N} instead of "id".
func (c *StateChange) AppendJSON(b []byte, kind Kind) []byte {
	b = append(b, '{')
	if c.All {
		b = append(b, `"all":true,"up_to_id":`...)
		b = strconv.AppendInt(b, c.UpTo, 10)
	} else {
		b = append(b, `"id":`...)
		b = strconv.AppendInt(b, c.ID, 10)
	}
	if kind == KindRead {
		b = append(b, `,"read":`...)
		b = strconv.AppendBool(b, c.Read)
		b = append(b, `,"read_at":`...)
		if c.ReadAt == nil {
			b = append(b, "null"...)
		} else {
			b = appendString(b, *c.ReadAt)
		}
	}
	b = append(b, `,"unread_count":`...)
	b = strconv.AppendInt(b, int64(c.Unread), 10)
	return append(b, '}')
}

// FormatTime formats t as every timestamp on the wire.
func FormatTime(t time.Time) string { return t.UTC().Format(TimeFormat) }
