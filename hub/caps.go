package hub

import "github.com/belfry/belfry"

// The stream limits: one user's streams on a node (Config.MaxStreamsPerUser)
// and the node's (Config.MaxStreams). Every open stream holds a socket,
// a file descriptor; a node that runs out of descriptors cannot accept the
// API's requests, its store's connections or its broker's either, so a
// stream over a limit is refused before it costs anything.

// DefaultMaxStreamsPerUser is Config.MaxStreamsPerUser's default: far
// more tabs and devices than one person keeps open (the browser client
// shares one stream between the tabs of a browser).
const DefaultMaxStreamsPerUser = 32

// The refusals of Hub.Open and Hub.Attach. They are *Error values, so
// ErrorCode gives their code; compare with errors.Is.
var (
	// ErrTooManyStreams: the user holds MaxStreamsPerUser streams on this
	// node. Code ETOOMANYSTREAMS.
	ErrTooManyStreams = &belfry.Error{Code: belfry.ETOOMANYSTREAMS,
		Message: "too many open streams for this user (close a tab, or retry later)"}
	// ErrServerFull: the node holds MaxStreams streams. Code ESERVERFULL.
	ErrServerFull = &belfry.Error{Code: belfry.ESERVERFULL,
		Message: "this server holds as many streams as it can; retry later"}
)

// CheckRoom reports ErrServerFull, and counts the refusal, when the node
// holds MaxStreams streams; nil otherwise. It is the cheap check a server
// makes before the work of opening a stream (the credential, the store), so
// a full node answers at once. It is advisory: streams open and close
// meanwhile, and Open and Attach decide, exactly.
func (h *Hub) CheckRoom() error {
	if h.maxStreams > 0 && h.open.Load() >= h.maxStreams {
		h.refusedNode.Add(1)
		return ErrServerFull
	}
	return nil
}

// admit takes a place for one more stream of a user who holds held streams
// on this node, or refuses: ErrTooManyStreams, ErrServerFull. It counts
// the stream in h.open. Called by attach with the user's shard locked: no
// other stream of the user attaches meanwhile, so the user's limit is
// exact; the node's is taken with a compare-and-swap, exact across shards.
func (h *Hub) admit(held int) error {
	if h.maxPerUser > 0 && held >= h.maxPerUser {
		h.refusedUser.Add(1)
		return ErrTooManyStreams
	}
	for {
		n := h.open.Load()
		if h.maxStreams > 0 && n >= h.maxStreams {
			h.refusedNode.Add(1)
			return ErrServerFull
		}
		if h.open.CompareAndSwap(n, n+1) {
			return nil
		}
	}
}
