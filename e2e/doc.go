// Package e2e holds end-to-end tests that start real `belfry serve`
// processes (built once per run) on real PostgreSQL, MongoDB (FerretDB) and
// Redis servers, several nodes at a time, and break parts of the system
// while notifications flow: a node killed with SIGKILL, Redis restarted,
// the database stopped for a few seconds. They check what a user must
// see: every stream receives every notification of its user exactly once,
// in id order, and a publisher is told 201 only for what the store holds.
//
// The package has no code of its own outside the tests. The tests skip
// visibly unless their services are configured:
//
//	BELFRY_TEST_POSTGRES      any value enables the PostgreSQL tests; they
//	                          run their own throwaway cluster (initdb, as the
//	                          postgres user) since they stop the database
//	BELFRY_TEST_REDIS         enables every test (they need a broker); each
//	                          test runs its own redis-server on a free port
//	BELFRY_TEST_FERRETDB_BIN  the built tools/ferretdb launcher: enables the
//	                          MongoDB tests, which start and kill their own
//	                          FerretDB on a free port
//	BELFRY_TEST_PG_BIN        optional: the PostgreSQL bin directory
//	                          (default: the newest /usr/lib/postgresql/N/bin)
//
// The shared servers of the other packages' tests are never stopped: the
// tests here stop and restart only the servers they started.
//
// TestMain builds the belfry binary once per run, with -race when the
// tests run with -race; a data race reported by any node fails its test.
//
// BenchmarkCrossNodeLatency measures publish on one node → delivery on
// another (PostgreSQL store, Redis broker); see docs/scaling.md.
package e2e
