// Package redisbus is the belfry.Broker that connects several belfry nodes
// through Redis pub/sub (--broker redis://host:port/db).
//
// Each user has a channel, Options.Prefix + user id ("belfry:u:42"). A node
// subscribes only to the channels of the users it holds streams for, so an
// event travels only to the nodes that need it, and Publish sends a whole
// batch (1,000 users' notifications) in one pipeline: one round trip.
//
// Subscribe and Unsubscribe never block, never do I/O and never call the
// Receiver (the Hub calls them under its shard lock): they record the
// desired set and wake a goroutine of Run that sends SUBSCRIBE and
// UNSUBSCRIBE commands in batches. Until that is done a new subscription may
// miss a message (see Broker.Subscribe); messages of a user who was
// unsubscribed are dropped on arrival, so Unsubscribe takes effect at once.
//
// Redis pub/sub is at most once: what a disconnected subscriber misses is
// gone. So when the subscriber connection breaks (or stops answering
// pings), Run reconnects with backoff, subscribes the whole current set
// again, and once Redis has confirmed it (a PING sent after the SUBSCRIBE
// commands comes back) calls Receiver.Resync: every stream then catches up
// from the store. Late, never lost.
//
// Payloads are the JSON of belfry.Message. A new notification is written
// with belfry's own encoder (Notification.AppendJSON) and its user_id is
// taken from the channel; state changes use encoding/json.
//
// Tests run against a real Redis when BELFRY_TEST_REDIS is set (for example
// redis://127.0.0.1:6379/0) and skip visibly otherwise; the reconnect test
// also needs redis-server on the PATH, and starts and kills its own
// throwaway server.
package redisbus
