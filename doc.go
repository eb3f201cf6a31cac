// Package belfry is the domain of a real-time notification server: the
// notification type, the Store and Broker interfaces that adapters implement,
// the error type with stable codes, the Inbox service that publishers and
// users call, and the Hub that holds this node's live streams.
//
// The package imports no driver and no net/http. Adapters live in their own
// packages (sqlite, postgres, mongodb, memory, redisbus, httpapi) and the
// command in cmd/belfry wires them together.
//
// Data flows one way. Publish: Inbox.Create → Store.Create (assigns the id,
// durable) → Broker.Publish → Hub.Receive on every node with a stream of that
// user → each stream: a LeanStream writes the event to its socket at once
// (or queues it while the socket is busy), a Stream's bounded queue feeds
// its SSE writer. A stream that cannot keep up is cut, never waited for.
// The store is the truth; the broker is only a doorbell.
package belfry
