package hub

import "time"

// Conn is a client connection that a Stream writes to directly from
// the publishing goroutine, so an idle stream needs no goroutine and no
// buffers of its own. httpapi implements it over a hijacked TCP connection.
type Conn interface {
	// TryWrite writes as much of b as the connection takes without
	// blocking and returns how much that was. An error means the peer is
	// gone.
	TryWrite(b []byte) (int, error)
	// WriteAll writes all of b, waiting at most timeout.
	WriteAll(b []byte, timeout time.Duration) error
	// Alive reports whether the peer is still there, without blocking: a
	// peer that closed its side is found before a write fails.
	Alive() bool
	// Close closes the connection.
	Close() error
}

// Options are the per-stream settings of Hub.Attach.
type Options struct {
	// Expires is when the stream's credential expires; the stream then
	// gets a token-expired event and ends. Zero: never. The timer is
	// armed by the heartbeat wheel once the expiry is at most half a
	// heartbeat away, so the event comes late only if the wheel falls
	// behind, never early.
	Expires time.Time
	// Head, when set, is written first (the response head): at once as
	// far as the socket takes it, the rest by the stream's first write
	// that may wait, after SetUp. A connection that carried earlier
	// responses the client did not read may not take even the head.
	Head []byte
	// SetUp, when set, is called once, on the goroutine of Start or of
	// the stream's end, before the stream's first write that can wait on
	// the client (and at the latest when Start returns): the caller gives
	// back its setup place there. Nil: nothing to call.
	SetUp func()
	// Replayed, when set, is called once when the replay and the first
	// sync event are written to the client, or the stream ended first:
	// the caller gives back the user's replay place there (Hub.EnterReplay).
	// Nil: nothing to call.
	Replayed func()
}
