package hub_test

import (
	"path/filepath"
	"testing"
	"time"

	"github.com/belfry/belfry/hub"

	"github.com/belfry/belfry/memory"
	"github.com/belfry/belfry/sqlite"
)

// A stream whose token expires long after it opens (here, many wheel
// visits later: the heartbeat is 40 ms) gets its expiry timer from the
// wheel, not from Start (TestArmExpiryOnlyWhenNear), and still ends with
// token-expired once the token has expired, not before.
func TestTokenExpiryFarAheadEndsTheStream(t *testing.T) {
	st, err := sqlite.Open(t.Context(), filepath.Join(t.TempDir(), "b.db"))
	if err != nil {
		t.Fatal(err)
	}
	br := memory.New()
	t.Cleanup(func() { br.Close(); st.Close() })
	hb := hub.New(hub.Config{Store: st, Broker: br, Heartbeat: 40 * time.Millisecond})
	t.Cleanup(hb.CloseAll)
	exp := time.Now().Add(400 * time.Millisecond)
	p, err := hb.OpenPipe(t.Context(), "alice", 0, false, hub.Options{Expires: exp})
	if err != nil {
		t.Fatal(err)
	}
	readUntil(t, p, "event: token-expired")
	if now := time.Now(); now.Before(exp) {
		t.Fatalf("token-expired %v before the token expired", exp.Sub(now))
	}
	select {
	case <-p.Done():
	case <-time.After(10 * time.Second):
		t.Fatal("the stream did not end after token-expired")
	}
}
