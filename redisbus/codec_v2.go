package redisbus

import (
	"encoding/json"

	"github.com/belfry/belfry"
)

// Version 2 of the binary form, the layout of the belfry before the inbox
// events (codec.go says when it is still sent):
//
//	0x02, deployment string, kind (1 new-notification, 2 read-state,
//	3 notification-deleted), then
//	new:   id, message, title, link, category, data length+1 (0: no data)
//	       and bytes, created_at, read_at flag byte (0 or 1) [and time]
//	state: flags byte (1 all, 2 read, 4 read_at set), id, up_to_id,
//	       unread_count [, read_at string]
const (
	v2FlagAll    = 1
	v2FlagRead   = 2
	v2FlagReadAt = 4
)

// fitsV2 reports whether version 2 carries m, which binaryFits, exactly:
// none of the fields version 3 added is set.
func fitsV2(m *belfry.Message) bool {
	if n := m.New; n != nil {
		return n.Avatar == "" && n.Actions == nil && n.SeenAt == nil && n.ArchivedAt == nil &&
			n.ExpiresAt == nil && n.Action == "" && n.ActedAt == nil
	}
	c := m.State
	return (m.Kind == belfry.KindRead || m.Kind == belfry.KindDeleted) &&
		c.Filter == nil && c.SeenAt == nil && !c.Archived && c.ArchivedAt == nil &&
		c.Action == "" && c.ActedAt == nil && c.Reason == "" &&
		c.Unseen == 0 && c.LastID == 0 && c.ByCategory == nil
}

// appendV2 appends m, which fitsV2, in version 2.
func appendV2(b []byte, deployment string, m *belfry.Message) []byte {
	b = appendString(append(b, version2), deployment)
	if n := m.New; n != nil {
		b = appendNewHead(append(b, kindNew), n)
		if n.ReadAt == nil {
			return append(b, 0)
		}
		return appendTime(append(b, 1), *n.ReadAt)
	}
	c := m.State
	var flags byte
	if c.All {
		flags |= v2FlagAll
	}
	if c.Read {
		flags |= v2FlagRead
	}
	if c.ReadAt != nil {
		flags |= v2FlagReadAt
	}
	b = append(b, kindCode(m.Kind), flags)
	b = appendVarint(b, c.ID)
	b = appendVarint(b, c.UpTo)
	b = appendVarint(b, int64(c.Unread))
	if c.ReadAt != nil {
		b = appendString(b, *c.ReadAt)
	}
	return b
}

// appendNewHead appends the fields every version of a new notification
// starts with: id, message, title, link, category, data, created_at.
func appendNewHead(b []byte, n *belfry.Notification) []byte {
	b = appendVarint(b, n.ID)
	b = appendString(b, n.Message)
	b = appendString(b, n.Title)
	b = appendString(b, n.Link)
	b = appendString(b, n.Category)
	b = appendData(b, n.Data)
	return appendTime(b, n.CreatedAt)
}

// newHead reads what appendNewHead wrote into n.
func (r *reader) newHead(n *belfry.Notification) {
	n.ID = r.varint()
	n.Message = r.string()
	n.Title = r.string()
	n.Link = r.string()
	n.Category = r.string()
	n.Data = r.data()
	n.CreatedAt = r.time()
}

// appendData appends an optional JSON value: length+1 and bytes, 0 for nil.
func appendData(b []byte, d json.RawMessage) []byte {
	if d == nil {
		return append(b, 0)
	}
	return append(appendUvarint(b, uint64(len(d))+1), d...)
}

// data reads what appendData wrote.
func (r *reader) data() json.RawMessage {
	if l := r.uvarint(); l > 0 {
		return json.RawMessage(r.bytes(l - 1))
	}
	return nil
}

// stateBoxV2 holds a decoded version 2 state change and its read_at in one
// allocation.
type stateBoxV2 struct {
	c      belfry.StateChange
	readAt string
}

// messageV2 reads the rest of a version 2 payload of user's channel.
func (r *reader) messageV2(user string) belfry.Message {
	m := belfry.Message{UserID: user}
	switch k := r.byte(); k {
	case kindNew:
		box := new(newBox)
		n := &box.n
		n.UserID = user
		r.newHead(n)
		switch r.byte() {
		case 0:
		case 1:
			box.times[0] = r.time()
			n.ReadAt = &box.times[0]
		default:
			r.bad = true
		}
		m.Kind, m.New = belfry.KindNew, n
	case kindRead, kindDeleted:
		m.Kind = stateKinds[k]
		flags := r.byte()
		if flags&^(v2FlagAll|v2FlagRead|v2FlagReadAt) != 0 {
			r.bad = true
		}
		box := new(stateBoxV2)
		c := &box.c
		c.All, c.Read = flags&v2FlagAll != 0, flags&v2FlagRead != 0
		c.ID = r.varint()
		c.UpTo = r.varint()
		c.Unread = int(r.varint())
		if flags&v2FlagReadAt != 0 {
			box.readAt = r.string()
			c.ReadAt = &box.readAt
		}
		m.State = c
	default:
		r.bad = true
	}
	return m
}
