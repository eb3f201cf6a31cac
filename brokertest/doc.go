// Package brokertest is the conformance suite every belfry.Broker passes.
//
// A Broker package runs it from its own tests:
//
//	func TestBroker(t *testing.T) {
//		brokertest.Run(t, func(t *testing.T) belfry.Broker {
//			b := memory.New()
//			t.Cleanup(func() { b.Close() })
//			return b
//		})
//	}
//
// Run calls open once per node a subtest needs. open returns a new, open
// Broker that no Run is using yet, and registers its Close with t.Cleanup
// (the suite closes brokers itself in one case only, so Close must be
// idempotent). The suite starts and stops Run itself, with a Recorder as the
// Receiver.
//
// A broker that connects nodes (Redis) passes MultiNode: then every Broker
// that open returns must be a separate node on one shared backend, and the
// suite also checks that each node receives its own users' messages and no
// one else's. Without MultiNode those cases are skipped, visibly (the memory
// broker is one node only):
//
//	brokertest.Run(t, open, brokertest.MultiNode())
//
// User ids are unique to each subtest (a random prefix), so brokers on one
// shared backend do not see each other's traffic between subtests.
//
// The suite never sleeps to wait. Subscribing may take effect later than
// Subscribe returns (a Redis node applies it in the background), so after
// Subscribe the suite publishes probe messages (category ProbeCategory)
// until one arrives, and the Recorder keeps probes apart from the messages
// it checks. To prove that a message did NOT arrive it publishes a fence
// after it: a message for a subscribed user in the same Publish call, or a
// later call from the same node. The suite thus assumes that one node
// receives the messages of one publisher in the order they were published,
// which holds for the memory broker and for Redis pub/sub (one connection
// per subscriber, commands executed in order).
//
// The cases: a subscribed user's messages arrive, in order, with every field
// intact, compared deeply (new notifications with unicode, data, avatar,
// actions and every time; every state kind — read-state, seen-state,
// archive-state, action-state, notification-deleted with each reason — for
// one notification and in bulk with each filter, with unseen, last id and
// per-category counts, and in the older shape without them); an
// unsubscribed user's do not, and
// after Unsubscribe they stop (and resume after a new Subscribe); Subscribe
// and Unsubscribe, called while holding the lock that Receive takes (as the
// Hub does), never deadlock with a concurrent Publish; one Publish of 1,000
// messages for 1,000 users; two nodes each get only their own users'
// messages (MultiNode); Ping; Close ends Run, after which Publish and Ping
// return EUNAVAILABLE. Errors are compared by belfry.ErrorCode.
//
// The Recorder, Start and AwaitSubscribed are exported for a broker's own
// tests (a reconnect test, say).
package brokertest
