// Package hub holds one node's live SSE streams. The Hub is the broker's
// Receiver: it fans each message out to the streams of its user on this
// node, encoded once for all of them, and never waits for a stream. A
// stream attaches before it reads the store, replays what the client
// missed in bounded pages, sends one sync event at the snapshot boundary,
// then live events deduplicated by id, with gaps filled from the store. A
// stream that cannot keep up is cut, and its client resumes from its last
// id.
//
// Two kinds of stream exist today: a LeanStream, written from the
// publishing goroutine to a Conn (httpapi's hijacked HTTP/1.1 socket),
// with a worker goroutine only while it is backed up; and a Stream, whose
// own goroutine calls Next (HTTP/2, TLS). Every end of either is counted
// by reason (EndReason).
//
// The node-wide settings and their defaults are in Config. Lock order: a
// shard's lock, then a lean stream's, then the broker's.
package hub
