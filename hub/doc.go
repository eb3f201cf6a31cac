// Package hub holds one node's live SSE streams. The Hub is the broker's
// Receiver: it fans each message out to the streams of its user on this
// node, encoded once for all of them, and never waits for a stream. A
// stream attaches before it reads the store, replays what the client
// missed in bounded pages, sends one sync event at the snapshot boundary,
// then live events deduplicated by id, with gaps filled from the store. A
// stream that cannot keep up is cut, and its client resumes from its last
// id.
//
// One engine, Stream, holds every rule of a stream in one state machine.
// It writes to a Conn from the publishing goroutine, with a worker
// goroutine only while the connection is backed up or the store must be
// read. Two connections exist: httpapi's hijacked HTTP/1.1 socket, and a
// Pipe, a bounded in-memory buffer whose owner takes the bytes with Next
// and writes them to an http.ResponseWriter (HTTP/2, TLS). Every end of a
// stream is counted by reason (EndReason).
//
// The node-wide settings and their defaults are in Config. Lock order: a
// shard's lock, then a stream's, then the broker's.
package hub
