// Package redisbus is the belfry.Broker that connects several belfry nodes
// through Redis pub/sub (--broker redis://host:port/db).
//
// Each user has a channel: Options.Prefix, which ends with ':', then the
// user id with ':' and '%' escaped ("belfry:u:42", "belfry:u:t2%3Abob"), so
// deployments whose prefixes nest never share a channel (channel.go). A
// node subscribes only to the channels of the users it holds streams for,
// so an event travels only to the nodes that need it. The prefix is also
// the deployment id that every payload carries: a node drops, and counts
// in Stats.Foreign, a message that is not of its deployment.
//
// Publish calls are handed to one sender goroutine, which writes every
// call that is waiting (a whole batch of 1,000 users' notifications, or
// many concurrent one-user calls) as one pipeline: one round trip for all
// of them (publish.go).
//
// Subscribe and Unsubscribe never block, never do I/O and never call the
// Receiver (the Hub calls them under its shard lock): they record the
// desired set and wake a goroutine of Run that sends SUBSCRIBE and
// UNSUBSCRIBE commands in batches. Messages of a user who was unsubscribed
// are dropped on arrival, so Unsubscribe takes effect at once. A new
// subscription takes effect when Redis applies it, a moment after Subscribe
// returned; a Receiver that implements UserResyncer is told when it did, so
// the user's streams can check the store for a message published in between
// (see UserResyncer).
//
// Redis pub/sub is at most once: what a disconnected subscriber misses is
// gone. So when the subscriber connection breaks (or stops answering
// pings), Run reconnects with backoff, subscribes the whole current set
// again, and once Redis has confirmed it (a PING sent after the SUBSCRIBE
// commands comes back) calls Receiver.Resync: every stream then catches up
// from the store. Late, never lost.
//
// Payloads are a compact binary form of belfry.Message (the channel names
// the user); a payload starting with '{' is read as JSON of belfry.Message
// with a "deployment" field, so redis-cli can publish a test event:
//
//	PUBLISH belfry:u:42 '{"deployment":"belfry:u:","kind":"new-notification","notification":{"id":7,"user_id":"42","message":"hi"}}'
//
// The binary form carries every field of every kind exactly. Plain new
// notifications still go in the previous version of the form, which nodes
// of the belfry before the inbox events read; see codec.go for the layout,
// the measurements that chose it, and docs/scaling.md for rolling upgrades.
//
// Presence (presence.go) is the belfry.Presence of the nodes that share a
// Redis: each node writes its own users' stream counts, with a heartbeat
// every Beat; Lookup adds up the live nodes' counts, and a node that stops
// beating stops counting after belfry.PresenceTimeout, when another node
// sweeps its keys and sends its users on Changes. Track never does I/O.
// The keys, the scripts and what presence costs in Redis commands and
// memory are described in presence_keys.go.
//
// Tests run against a real Redis when BELFRY_TEST_REDIS is set (for example
// redis://127.0.0.1:6379/0) and skip visibly otherwise; the reconnect test
// also needs redis-server on the PATH, and starts and kills its own
// throwaway server.
package redisbus
