package hub_test

import (
	"sync"
	"testing"

	"github.com/belfry/belfry/hub"

	"github.com/belfry/belfry"
)

// A broker may call ResyncUsers for a user whose lean stream is still
// being opened (Redis confirmed the SUBSCRIBE that the attach caused):
// Attach must not race with it. Run with -race.
func TestAttachConcurrentResyncUsers(t *testing.T) {
	e := newEnv(t, 16)
	ctx := t.Context()
	for i := range 3 {
		if _, err := e.inbox.Create(ctx, belfry.Draft{UserIDs: []string{"alice"}, Message: "m"}); err != nil {
			t.Fatal(i, err)
		}
	}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		for {
			select {
			case <-stop:
				return
			default:
				e.hub.ResyncUsers([]string{"alice"})
			}
		}
	})
	for range 50 {
		l, err := e.hub.Attach(ctx, "alice", 1, true, hub.Options{})
		if err != nil {
			t.Fatal(err)
		}
		l.Close()
	}
	close(stop)
	wg.Wait()
}
