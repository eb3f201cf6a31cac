package belfry

import (
	"strconv"
	"time"
)

// Frame is one SSE event, encoded once and shared by every stream of the
// user it belongs to. Bytes is the complete event, ending in a blank line.
type Frame struct {
	ID    int64 // the notification id of a new-notification event, else 0
	Bytes []byte
}

// EncodeNew encodes a new-notification event with its id line.
func EncodeNew(n *Notification) *Frame {
	b := make([]byte, 0, 220+len(n.UserID)+len(n.Message)+len(n.Title)+len(n.Link)+len(n.Category)+len(n.Data))
	return &Frame{ID: n.ID, Bytes: AppendNew(b, n)}
}

// AppendNew appends n's new-notification event to b.
func AppendNew(b []byte, n *Notification) []byte {
	b = append(b, "id: "...)
	b = strconv.AppendInt(b, n.ID, 10)
	b = append(b, "\nevent: new-notification\ndata: "...)
	b = n.AppendJSON(b)
	return append(b, "\n\n"...)
}

// EncodeState encodes a read-state or notification-deleted event. State
// events carry no id line, so they never move a client's Last-Event-ID.
func EncodeState(kind Kind, c *StateChange) *Frame {
	b := make([]byte, 0, 128)
	b = append(b, "event: "...)
	b = append(b, kind...)
	b = append(b, "\ndata: "...)
	b = c.appendJSON(b, kind)
	b = append(b, "\n\n"...)
	return &Frame{Bytes: b}
}

// EncodeSync encodes the sync event sent after the replay.
func EncodeSync(s Stats) *Frame {
	b := make([]byte, 0, 64)
	b = append(b, "event: sync\ndata: {\"unread_count\":"...)
	b = strconv.AppendInt(b, int64(s.Unread), 10)
	b = append(b, `,"last_id":`...)
	b = strconv.AppendInt(b, s.LastID, 10)
	b = append(b, "}\n\n"...)
	return &Frame{Bytes: b}
}

// HeartbeatComment is the SSE comment both stream paths write when a
// heartbeat is due; EventSource ignores it, proxies see traffic.
const HeartbeatComment = ": ping\n\n"

// EncodeTokenExpired encodes the last event of a stream whose token expired.
func EncodeTokenExpired() *Frame {
	return &Frame{Bytes: []byte("event: token-expired\ndata: {}\n\n")}
}

// EncodeMessage encodes a broker message as the SSE frame its streams get.
func EncodeMessage(m Message) *Frame {
	if m.Kind == KindNew {
		return EncodeNew(m.New)
	}
	return EncodeState(m.Kind, m.State)
}

// appendJSON writes the data line of a state event. notification-deleted
// carries {"id","unread_count"}; read-state adds "read" and "read_at", and
// for read-all {"all":true,"up_to_id":N} instead of "id".
func (c *StateChange) appendJSON(b []byte, kind Kind) []byte {
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
