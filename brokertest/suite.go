package brokertest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"testing"

	"github.com/belfry/belfry"
)

// Option changes what Run checks.
type Option func(*config)

type config struct {
	multiNode bool
}

// MultiNode declares that every Broker open returns is a separate node on
// one shared backend, which enables the multi-node cases.
func MultiNode() Option { return func(c *config) { c.multiNode = true } }

// Open returns a new node. It is the type of Run's open.
type Open = func(t *testing.T) belfry.Broker

// Run runs every conformance case against brokers that open returns, one
// subtest each. See the package documentation.
func Run(t *testing.T, open Open, opts ...Option) {
	var cfg config
	for _, o := range opts {
		o(&cfg)
	}
	tests := []struct {
		name  string
		multi bool
		fn    func(t *testing.T, e env)
	}{
		{"DeliversSubscribedInOrder", false, testOrder},
		{"PayloadIntact", false, testPayload},
		{"SkipsUnsubscribedUser", false, testUnsubscribedUser},
		{"StopsAfterUnsubscribe", false, testUnsubscribe},
		{"SubscribeUnderReceiverLock", false, testLockOrder},
		{"SubscribeDuringReceive", false, testSubscribeDuringReceive},
		{"Batch1000Users", false, testBatch1000},
		{"ConcurrentPublishers", false, testConcurrentPublishers},
		{"Ping", false, testPing},
		{"Close", false, testClose},
		{"TwoNodesOwnUsersOnly", true, testTwoNodes},
		{"TwoNodesBatch", true, testTwoNodesBatch},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if tc.multi && !cfg.multiNode {
				t.Skip("single-node broker: the multi-node cases need brokertest.MultiNode()")
			}
			tc.fn(t, env{open: open, users: newUsers(t)})
		})
	}
}

// env is what a case gets: the way to open nodes and its own user ids.
type env struct {
	open  Open
	users users
}

// node opens a broker and starts its Run with a new Recorder.
func (e env) node(t *testing.T) (belfry.Broker, *Recorder) {
	t.Helper()
	b := e.open(t)
	if b == nil {
		t.Fatal("open returned a nil Broker")
	}
	r := NewRecorder()
	Start(t, b, r)
	return b, r
}

// users makes user ids unique to one subtest.
type users struct{ prefix string }

func newUsers(t *testing.T) users {
	var b [6]byte
	if _, err := rand.Read(b[:]); err != nil {
		t.Fatal(err)
	}
	return users{prefix: "bt" + hex.EncodeToString(b[:]) + "-"}
}

// id returns the subtest's user id for name.
func (u users) id(name string) string { return u.prefix + name }

// publish publishes msgs through b and fails the test on error.
func publish(t *testing.T, b belfry.Broker, msgs ...belfry.Message) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), Timeout)
	defer cancel()
	if err := b.Publish(ctx, msgs); err != nil {
		t.Fatalf("Publish(%d messages): %v", len(msgs), err)
	}
}

// wantCode fails the test unless err carries code.
func wantCode(t *testing.T, what string, err error, code string) {
	t.Helper()
	if got := belfry.ErrorCode(err); got != code {
		t.Fatalf("%s: error code %q (err %v), want %q", what, got, err, code)
	}
}
