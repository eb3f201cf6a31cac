package mongodb

import (
	"fmt"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/belfry/belfry"
)

// TestSubscribeLimitAcrossNodes: concurrent Subscribes of one user on two
// Stores (two nodes) never pass MaxSubscriptions together.
func TestSubscribeLimitAcrossNodes(t *testing.T) {
	ss := openN(t, 2, testConfig())
	const tries = belfry.MaxSubscriptions + 10
	var ok, limited atomic.Int32
	var wg sync.WaitGroup
	for i := range tries {
		wg.Go(func() {
			err := ss[i%2].Subscribe(t.Context(), "alice", belfry.Subscription{
				Endpoint: fmt.Sprintf("https://push.example/%d", i), P256DH: "k", Auth: "a", Created: t0})
			switch belfry.ErrorCode(err) {
			case "":
				ok.Add(1)
			case belfry.ELIMIT:
				limited.Add(1)
			default:
				t.Error(err)
			}
		})
	}
	wg.Wait()
	subs, err := ss[0].SubscriptionsOf(t.Context(), "alice")
	if err != nil {
		t.Fatal(err)
	}
	if ok.Load() != belfry.MaxSubscriptions || limited.Load() != tries-belfry.MaxSubscriptions || len(subs) != belfry.MaxSubscriptions {
		t.Fatalf("%d stored, %d refused, %d listed; want %d, %d, %d", ok.Load(), limited.Load(), len(subs),
			belfry.MaxSubscriptions, tries-belfry.MaxSubscriptions, belfry.MaxSubscriptions)
	}
}
