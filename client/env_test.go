package client_test

import (
	"bytes"
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/belfry/belfry"
	"github.com/belfry/belfry/client"
	"github.com/belfry/belfry/httpapi"
	"github.com/belfry/belfry/hub"
	"github.com/belfry/belfry/memory"
	"github.com/belfry/belfry/sqlite"
	"github.com/prometheus/client_golang/prometheus"
)

const (
	testAPIKey = "test-api-key-0123456789"
	// wait bounds every wait of a test for something to happen.
	wait = 15 * time.Second
)

var testSecret = []byte("test-secret-0123456789abcdef0123")

// envOpts tune newEnv; zero values keep the server's defaults.
type envOpts struct {
	publishRate  float64       // httpapi.Config.PublishRate
	publishBurst int           // httpapi.Config.PublishBurst
	retryAfter   time.Duration // httpapi.Config.RetryAfter
	// store, when set, wraps the store the Inbox (and so the API) uses.
	store func(belfry.Store) belfry.Store
}

// env is one real belfry node: SQLite in t.TempDir(), the memory broker
// and presence, a Hub, the API, and an HTTP server on 127.0.0.1. Its
// clock is the real time plus skew, which the clients' sleeps advance.
type env struct {
	t     *testing.T
	url   string
	store belfry.Store
	skew  atomic.Int64
	logs  syncBuffer

	mu     sync.Mutex
	sleeps []time.Duration // every wait of the clients made by e.client
}

func (e *env) now() time.Time { return time.Now().Add(time.Duration(e.skew.Load())) }

func newEnv(t *testing.T, o envOpts) *env {
	t.Helper()
	e := &env{t: t}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("server log:\n%s", e.logs.String())
		}
	})
	log := slog.New(slog.NewTextHandler(&e.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	ctx, cancel := context.WithCancel(context.Background())
	s, err := sqlite.OpenConfig(ctx, sqlite.Config{Path: filepath.Join(t.TempDir(), "belfry.db"), Synchronous: "NORMAL"})
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	e.store = s
	var inboxStore belfry.Store = s
	if o.store != nil {
		inboxStore = o.store(s)
	}
	broker := memory.New()
	presence := memory.NewPresence(memory.PresenceOptions{Now: e.now})
	h := hub.New(hub.Config{Store: s, Broker: broker, Logger: log, Presence: presence})
	brokerDone := make(chan struct{})
	go func() {
		defer close(brokerDone)
		_ = broker.Run(ctx, h)
	}()
	srv, err := httpapi.New(httpapi.Config{
		Inbox: &belfry.Inbox{Store: inboxStore, Broker: broker, Logger: log}, Hub: h,
		JWTSecret: testSecret, APIKeys: []string{testAPIKey},
		PublishRate: o.publishRate, PublishBurst: o.publishBurst, RetryAfter: o.retryAfter,
		Logger: log, Registry: prometheus.NewRegistry(), Now: e.now, Presence: presence,
	})
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	ts := httptest.NewUnstartedServer(nil)
	ts.Config = httpapi.NewHTTPServer(srv.Handler(), httpapi.HTTPOptions{Logger: log})
	ts.Start()
	e.url = ts.URL
	t.Cleanup(func() {
		sctx, scancel := context.WithTimeout(context.Background(), wait)
		defer scancel()
		if err := srv.Shutdown(sctx); err != nil {
			t.Errorf("Shutdown: %v", err)
		}
		ts.CloseClientConnections()
		ts.Close()
		cancel()
		<-brokerDone
		_ = s.Close()
	})
	return e
}

// client returns a client of the env (or of url, when given: a proxy in
// front of it) whose waits return at once, advancing the server's clock by
// the time waited and recording it in e.sleeps.
func (e *env) client(url string, opts ...client.Option) *client.Client {
	e.t.Helper()
	if url == "" {
		url = e.url
	}
	sleep := func(ctx context.Context, d time.Duration) error {
		e.mu.Lock()
		e.sleeps = append(e.sleeps, d)
		e.mu.Unlock()
		e.skew.Add(int64(d))
		return ctx.Err()
	}
	c, err := client.New(url, testAPIKey, append([]client.Option{client.WithSleep(sleep)}, opts...)...)
	if err != nil {
		e.t.Fatal(err)
	}
	return c
}

// waits returns the waits the env's clients made so far.
func (e *env) waits() []time.Duration {
	e.mu.Lock()
	defer e.mu.Unlock()
	return append([]time.Duration(nil), e.sleeps...)
}

// count returns how many notifications the user has, as the store holds
// them.
func (e *env) count(user string) int {
	e.t.Helper()
	st, err := e.store.Stats(context.Background(), user)
	if err != nil {
		e.t.Fatal(err)
	}
	return st.Unread
}

// userGet does a GET with a token for user (minted by the client) and
// returns the answer.
func (e *env) userGet(user, path string) *http.Response {
	e.t.Helper()
	tok, err := client.MintToken(testSecret, user, time.Hour)
	if err != nil {
		e.t.Fatal(err)
	}
	req, _ := http.NewRequest(http.MethodGet, e.url+path, nil)
	req.Header.Set("Authorization", "Bearer "+tok)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	return resp
}

// syncBuffer is a bytes.Buffer safe for the server's log goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	t.Cleanup(cancel)
	return ctx
}
