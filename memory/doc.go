// Package memory is the in-process belfry.Broker of a single node: the
// default when belfry serve runs without --broker.
//
// Publish hands each message to the Receiver (the Hub) synchronously, on the
// publisher's goroutine, if its user is subscribed: there is no queue, no
// goroutine per message and no allocation. Messages published while no Run
// is active are dropped; streams catch up from the store, which is the truth.
//
// It passes the brokertest suite (one node only: two Brokers in one process
// share nothing).
//
// Presence (presence.go) is the belfry.Presence of a single node: Track
// updates the counts that Lookup reads, and sends first and last streams on
// Changes. It passes the presencetest suite.
package memory
