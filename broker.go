package belfry

import "context"

// Broker carries events between the nodes that share a store. It is a
// doorbell, not a queue: it may drop messages (Redis pub/sub is at most
// once), and the Hub catches its streams up from the store when told so.
//
// Implementations: memory (one node), redisbus (several nodes). Every one
// passes the brokertest suite.
type Broker interface {
	// Publish sends the messages to every node subscribed to their users.
	// Errors: EUNAVAILABLE (the notifications are stored all the same;
	// streams will catch up from the store).
	Publish(ctx context.Context, msgs []Message) error

	// Subscribe and Unsubscribe tell the broker which users this node holds
	// streams for; a node receives only those users' messages. The Hub calls
	// Subscribe on a user's first stream and Unsubscribe after the last.
	Subscribe(userID string)
	Unsubscribe(userID string)

	// Run delivers messages to h until ctx ends. When the broker lost its
	// connection and regained it (messages may have been dropped meanwhile),
	// it calls h.Resync. Run returns nil when ctx ends.
	Run(ctx context.Context, h Receiver) error

	// Ping reports whether the broker is reachable. Errors: EUNAVAILABLE.
	Ping(ctx context.Context) error

	// Close releases the broker's connections.
	Close() error
}

// Receiver takes what a Broker delivers. The Hub is the Receiver.
type Receiver interface {
	// Receive is called for each message of a subscribed user, from the
	// broker's goroutine. It must not block.
	Receive(m Message)
	// Resync is called when messages may have been lost: every stream must
	// check the store for what it missed.
	Resync()
}

// Kind is the kind of a Message, named like the SSE event it becomes.
type Kind string

const (
	KindNew     Kind = "new-notification"
	KindRead    Kind = "read-state"
	KindSeen    Kind = "seen-state"
	KindArchive Kind = "archive-state"
	KindAction  Kind = "action-state"
	KindDeleted Kind = "notification-deleted"
)

// Message is one event for one user's streams.
type Message struct {
	Kind   Kind          `json:"kind"`
	UserID string        `json:"user_id"`
	New    *Notification `json:"notification,omitempty"` // KindNew
	State  *StateChange  `json:"state,omitempty"`        // every other kind
}

// StateChange is the payload of the state events (every kind but KindNew).
// Either ID (one notification) or All (a bulk change: every id <= UpTo that
// Filter selects) is set. Stats are the user's counts after the change.
type StateChange struct {
	ID     int64        `json:"id,omitempty"`       // the notification changed
	All    bool         `json:"all,omitempty"`      // a bulk change
	UpTo   int64        `json:"up_to_id,omitempty"` // its bound
	Filter *EventFilter `json:"filter,omitempty"`   // its filters, when any

	Read       bool    `json:"read,omitempty"`        // read-state, action-state: read now
	ReadAt     *string `json:"read_at,omitempty"`     // read-state, action-state
	SeenAt     *string `json:"seen_at,omitempty"`     // seen-state, read-state, action-state
	Archived   bool    `json:"archived,omitempty"`    // archive-state: archived now
	ArchivedAt *string `json:"archived_at,omitempty"` // archive-state
	Action     string  `json:"action,omitempty"`      // action-state
	ActedAt    *string `json:"acted_at,omitempty"`    // action-state
	Reason     Reason  `json:"reason,omitempty"`      // notification-deleted

	Stats
}

// EventFilter is a bulk change's Filter as events carry it.
type EventFilter struct {
	Category *string `json:"category,omitempty"`
	Read     *bool   `json:"read,omitempty"`
}

// EventFilterOf returns f's filters for an event, or nil when it has none.
func EventFilterOf(f Filter) *EventFilter {
	if f.Category == nil && f.Read == nil {
		return nil
	}
	return &EventFilter{Category: f.Category, Read: f.Read}
}
