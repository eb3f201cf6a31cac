// Package belfry is the domain of a real-time notification server: the
// notification type, the Store and Broker interfaces that adapters implement,
// the error type with stable codes, and the Inbox service that publishers
// and users call. Package hub holds this node's live streams.
//
// The package imports no driver and no net/http. Adapters live in their own
// packages (sqlite, postgres, mongodb, memory, redisbus, httpapi), the
// streams in hub, and the command in cmd/belfry wires them together.
//
// Data flows one way. Publish: Inbox.Create → Store.Create (assigns the id,
// durable) → Broker.Publish → the Receiver (hub.Hub) on every node with a
// stream of that user. The store is the truth; the broker is only a
// doorbell.
package belfry
