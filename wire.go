package belfry

import (
	"slices"
	"strconv"
	"time"
)

// AppendJSON appends the data of a state event of the given kind to b:
// {"id":N} or {"all":true,"up_to_id":N[,"filter":{…}]}, the kind's fields,
// then the counts after the change (Stats.AppendFields). docs/API.md shows
// each kind.
func (c *StateChange) AppendJSON(b []byte, kind Kind) []byte {
	b = append(b, '{')
	if c.All {
		b = append(b, `"all":true,"up_to_id":`...)
		b = strconv.AppendInt(b, c.UpTo, 10)
		if f := c.Filter; f != nil {
			b = append(b, `,"filter":{`...)
			if f.Category != nil {
				b = append(b, `"category":`...)
				b = appendString(b, *f.Category)
			}
			if f.Read != nil {
				if f.Category != nil {
					b = append(b, ',')
				}
				b = append(b, `"read":`...)
				b = strconv.AppendBool(b, *f.Read)
			}
			b = append(b, '}')
		}
	} else {
		b = append(b, `"id":`...)
		b = strconv.AppendInt(b, c.ID, 10)
	}
	switch kind {
	case KindRead:
		b = appendBoolField(b, "read", c.Read)
		b = appendTimeField(b, "read_at", c.ReadAt)
		if c.Read {
			b = appendTimeField(b, "seen_at", c.SeenAt)
		}
	case KindSeen:
		b = appendTimeField(b, "seen_at", c.SeenAt)
	case KindArchive:
		b = appendBoolField(b, "archived", c.Archived)
		b = appendTimeField(b, "archived_at", c.ArchivedAt)
	case KindAction:
		b = append(b, `,"action":`...)
		b = appendString(b, c.Action)
		b = appendTimeField(b, "acted_at", c.ActedAt)
		b = appendBoolField(b, "read", true)
		b = appendTimeField(b, "read_at", c.ReadAt)
		b = appendTimeField(b, "seen_at", c.SeenAt)
	case KindDeleted:
		r := c.Reason
		if r == "" {
			r = ReasonDeleted
		}
		b = append(b, `,"reason":`...)
		b = appendString(b, string(r))
	}
	b = append(b, ',')
	b = c.Stats.AppendFields(b)
	return append(b, '}')
}

// AppendFields appends the stats as JSON object members, without braces:
// "unread_count":N,"unseen_count":N,"last_id":N,"by_category":{…}. Every
// sync and state event carries them.
func (s *Stats) AppendFields(b []byte) []byte {
	b = append(b, `"unread_count":`...)
	b = strconv.AppendInt(b, int64(s.Unread), 10)
	b = append(b, `,"unseen_count":`...)
	b = strconv.AppendInt(b, int64(s.Unseen), 10)
	b = append(b, `,"last_id":`...)
	b = strconv.AppendInt(b, s.LastID, 10)
	b = append(b, `,"by_category":`...)
	return AppendByCategory(b, s.ByCategory)
}

// AppendByCategory appends the per-category counts as a JSON object,
// categories in byte order: {"billing":{"unread":1,"unseen":2}}.
func AppendByCategory(b []byte, m map[string]Counts) []byte {
	b = append(b, '{')
	if len(m) == 0 {
		return append(b, '}')
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for i, k := range keys {
		if i > 0 {
			b = append(b, ',')
		}
		c := m[k]
		b = appendString(b, k)
		b = append(b, `:{"unread":`...)
		b = strconv.AppendInt(b, int64(c.Unread), 10)
		b = append(b, `,"unseen":`...)
		b = strconv.AppendInt(b, int64(c.Unseen), 10)
		b = append(b, '}')
	}
	return append(b, '}')
}

func appendBoolField(b []byte, name string, v bool) []byte {
	b = append(b, ',', '"')
	b = append(b, name...)
	b = append(b, '"', ':')
	return strconv.AppendBool(b, v)
}

func appendTimeField(b []byte, name string, t *string) []byte {
	b = append(b, ',', '"')
	b = append(b, name...)
	b = append(b, '"', ':')
	if t == nil {
		return append(b, "null"...)
	}
	return appendString(b, *t)
}

// FormatTime formats t as every timestamp on the wire.
func FormatTime(t time.Time) string {
	return string(appendWireTime(make([]byte, 0, len(TimeFormat)), t))
}

// FormatTimePtr formats t, or returns nil for nil.
func FormatTimePtr(t *time.Time) *string {
	if t == nil {
		return nil
	}
	s := FormatTime(*t)
	return &s
}
