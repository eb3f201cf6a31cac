package belfry

import (
	"context"
	"time"
)

// UserPresence is one user's presence across the nodes.
type UserPresence struct {
	UserID  string
	Online  bool      // at least one open stream on a live node
	Streams int       // open streams on the live nodes (may lag a few seconds)
	Since   time.Time // Online: when the user's current presence began
	// LastSeen: not Online, when the user's last stream ended (zero if
	// never seen, or forgotten).
	LastSeen time.Time
}

// Presence knows which users have an open stream on any node. The Hub
// tells it of its own streams with Track; Lookup answers for the cluster.
//
// Implementations: memory (one node), redisbus (several nodes). A node
// that dies stops counting within PresenceTimeout.
type Presence interface {
	// Track says that this node now holds streams open streams of the
	// user (0: none). The Hub calls it under a lock on every change; it
	// must not block or do I/O.
	Track(userID string, streams int)

	// Lookup returns the presence of each user, in the order asked.
	// Errors: EUNAVAILABLE.
	Lookup(ctx context.Context, userIDs []string) ([]UserPresence, error)

	// Announce records, cluster-wide, the presence last announced to the
	// app for the user and reports whether it changed (only the caller
	// that changes it sends user.online or user.offline).
	// Errors: EUNAVAILABLE.
	Announce(ctx context.Context, userID string, online bool) (changed bool, err error)

	// Changes delivers the users whose presence may have changed: on this
	// node (a first stream, a last stream ended) or through a node that
	// died. Receivers check with Lookup. The channel is never closed;
	// sends are dropped when it is full.
	Changes() <-chan string

	// Run keeps the node's presence current (heartbeats, writes, the
	// sweep of dead nodes) until ctx ends; it returns nil then.
	Run(ctx context.Context) error
}

// PresenceTimeout bounds how long a node that died still counts its users.
const PresenceTimeout = 15 * time.Second
