package httpapi_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"testing"

	"github.com/belfry/belfry/hub"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/belfry/belfry"
	"github.com/belfry/belfry/httpapi"
	"github.com/belfry/belfry/memory"
	"github.com/belfry/belfry/sqlite"
)

// hangingStore is a real store whose Ping hangs until its context ends,
// as a database that accepts connections but does not answer does.
type hangingStore struct{ belfry.Store }

func (hangingStore) Ping(ctx context.Context) error {
	<-ctx.Done()
	return belfry.Unavailable("hanging store", ctx.Err())
}

// ctxBroker is the memory broker with a Ping that, like any network
// broker's, fails on a context already expired.
type ctxBroker struct{ *memory.Broker }

func (b ctxBroker) Ping(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return belfry.Unavailable("broker", err)
	}
	return b.Broker.Ping(ctx)
}

// A store that hangs until the ping's timeout must not make /readyz blame
// the broker (the pings once shared one deadline, which the store used up).
func TestReadyzHangingStoreBlamesOnlyTheStore(t *testing.T) {
	store, err := sqlite.Open(t.Context(), filepath.Join(t.TempDir(), "b.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	broker := memory.New()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	log := slog.New(slog.DiscardHandler)
	hub := hub.New(hub.Config{Store: store, Broker: broker, Logger: log})
	go func() { _ = broker.Run(ctx, hub) }()
	srv, err := httpapi.New(httpapi.Config{
		Inbox: &belfry.Inbox{Store: hangingStore{store}, Broker: ctxBroker{broker}, Logger: log}, Hub: hub,
		JWTSecret: testSecret, APIKeys: []string{testAPIKey}, Logger: log, Registry: prometheus.NewRegistry()})
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(srv.Handler())
	defer ts.Close()
	resp, err := http.Get(ts.URL + "/readyz")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	var rd struct{ Store, Broker string }
	if err := json.Unmarshal(body, &rd); err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != 503 || rd.Store == "ok" || rd.Broker != "ok" {
		t.Fatalf("readyz with a hanging store: %d %s; want 503, the store named, the broker ok", resp.StatusCode, body)
	}
}
