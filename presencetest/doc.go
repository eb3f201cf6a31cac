// Package presencetest is the conformance suite every belfry.Presence
// passes.
//
// A Presence package runs it from its own tests:
//
//	func TestPresence(t *testing.T) {
//		presencetest.Run(t, func(t *testing.T, n presencetest.Node) belfry.Presence {
//			return memory.NewPresence(memory.PresenceOptions{Now: n.Now})
//		})
//	}
//
// open creates one node on the Node's clock; the suite starts and stops its
// Run. Every subtest has a clock of its own, moved by hand (so a 15 s
// timeout takes no 15 s), and a Cluster name of its own: the nodes of a
// subtest share state, and no one else's (a Redis implementation puts the
// Cluster in its key prefix). Each wait polls with a deadline (Timeout);
// an implementation may apply a change in the background, a moment after
// Track returned.
//
// A Presence that connects nodes passes MultiNode: then the nodes open
// returns for one Cluster are separate nodes on one shared backend, and
// the suite also checks cluster-wide counts and Announce, and that a node
// whose Run ends without cleanup (a killed process) stops counting once
// PresenceTimeout has passed on the clock, its users last seen at its last
// beat and sent on a surviving node's Changes. Without MultiNode those
// cases are skipped, visibly.
//
// The cases: counts and Since (a first stream starts the presence, count
// changes keep it); LastSeen at the end of the last stream, zero while
// online; a user never seen; answers in the order asked, duplicates
// included; Announce changes only for its first caller, a user never
// announced counting as offline; Changes on a first stream and after the
// last, with Lookup already showing the change when the user arrives;
// Track before Run; one Lookup of 100 users; Track from 8 goroutines.
//
// Env, Clock, Start, Lookup, Await and AwaitChange are exported for an
// implementation's own tests.
package presencetest
