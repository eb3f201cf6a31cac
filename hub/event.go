package hub

import (
	"strconv"

	"github.com/belfry/belfry"
)

// Frame is one SSE event, encoded once and shared by every stream of the
// user it belongs to. Bytes is the complete event, ending in a blank line.
type Frame struct {
	ID    int64 // the notification id of a new-notification event, else 0
	Bytes []byte
}

// EncodeNew encodes a new-notification event with its id line.
func EncodeNew(n *belfry.Notification) *Frame {
	b := make([]byte, 0, 220+len(n.UserID)+len(n.Message)+len(n.Title)+len(n.Link)+len(n.Category)+len(n.Data))
	return &Frame{ID: n.ID, Bytes: AppendNew(b, n)}
}

// AppendNew appends n's new-notification event to b.
func AppendNew(b []byte, n *belfry.Notification) []byte {
	b = append(b, "id: "...)
	b = strconv.AppendInt(b, n.ID, 10)
	b = append(b, "\nevent: new-notification\ndata: "...)
	b = n.AppendEventJSON(b)
	return append(b, "\n\n"...)
}

// EncodeState encodes a state event (read-state, seen-state,
// archive-state, action-state, notification-deleted). State
// events carry no id line, so they never move a client's Last-Event-ID.
func EncodeState(kind belfry.Kind, c *belfry.StateChange) *Frame {
	b := make([]byte, 0, 128)
	b = append(b, "event: "...)
	b = append(b, kind...)
	b = append(b, "\ndata: "...)
	b = c.AppendJSON(b, kind)
	b = append(b, "\n\n"...)
	return &Frame{Bytes: b}
}

// EncodeSync encodes the sync event sent after the replay.
func EncodeSync(s belfry.Stats) *Frame {
	b := make([]byte, 0, 128)
	b = append(b, "event: sync\ndata: {"...)
	b = s.AppendFields(b)
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
func EncodeMessage(m belfry.Message) *Frame {
	if m.Kind == belfry.KindNew {
		return EncodeNew(m.New)
	}
	return EncodeState(m.Kind, m.State)
}
