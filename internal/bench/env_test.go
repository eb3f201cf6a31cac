package bench_test

import (
	"context"
	"io"
	"log/slog"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/belfry/belfry/hub"

	"github.com/belfry/belfry"
	"github.com/belfry/belfry/httpapi"
	"github.com/belfry/belfry/internal/bench"
	"github.com/belfry/belfry/memory"
	"github.com/belfry/belfry/sqlite"
)

const (
	testSecret = "bench-test-secret-bench-test-secret"
	testAPIKey = "bench-test-key"
)

// TestMain lets the test binary be its own worker process: the pool starts
// workers as "<executable> bench --worker", as belfry does.
func TestMain(m *testing.M) {
	if len(os.Args) >= 3 && os.Args[1] == "bench" && os.Args[2] == "--worker" {
		os.Exit(bench.Main(context.Background(), os.Args[2:], os.Stdout, os.Stderr))
	}
	os.Exit(m.Run())
}

// startBelfry runs a real belfry (SQLite in a temp dir, the memory broker,
// the HTTP API) on 127.0.0.1:0 and returns its base URL.
func startBelfry(t *testing.T) string {
	t.Helper()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	ctx, cancel := context.WithCancel(context.Background())
	store, err := sqlite.OpenConfig(ctx, sqlite.Config{
		Path: filepath.Join(t.TempDir(), "belfry.db"), Synchronous: "NORMAL"})
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	broker := memory.New()
	hub := hub.New(hub.Config{Store: store, Broker: broker, Logger: log})
	brokerDone := make(chan struct{})
	go func() {
		defer close(brokerDone)
		_ = broker.Run(ctx, hub)
	}()
	srv, err := httpapi.New(httpapi.Config{
		Inbox: &belfry.Inbox{Store: store, Broker: broker, Logger: log}, Hub: hub,
		JWTSecret: []byte(testSecret), APIKeys: []string{testAPIKey}, Logger: log})
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	ts := httptest.NewUnstartedServer(nil)
	ts.Config = httpapi.NewHTTPServer(srv.Handler(), httpapi.HTTPOptions{Logger: log})
	ts.Start()
	t.Cleanup(func() {
		sctx, scancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer scancel()
		if err := srv.Shutdown(sctx); err != nil {
			t.Errorf("Shutdown: %v", err)
		}
		ts.CloseClientConnections()
		ts.Close()
		cancel()
		<-brokerDone
		_ = store.Close()
	})
	return ts.URL
}

// belfryConfig is a small run against url.
func belfryConfig(url, scenario string) bench.Config {
	return bench.Config{Scenario: scenario, URL: url, JWTSecret: testSecret, APIKey: testAPIKey,
		Publishers: 4, Drain: 20 * time.Second, Timeout: 60 * time.Second, ConnConc: 16}
}

// run runs cfg and fails the test on an error.
func run(t *testing.T, cfg bench.Config) *bench.Result {
	t.Helper()
	res, err := bench.Run(t.Context(), cfg, testWriter{t})
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	return res
}

// testWriter sends progress lines to the test log.
type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Logf("%s", p)
	return len(p), nil
}
