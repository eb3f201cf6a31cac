package httpapi_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/belfry/belfry/hub"

	"github.com/belfry/belfry"
	"github.com/belfry/belfry/httpapi"
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
	queue        int           // hub.Config.QueueSize
	heartbeat    time.Duration // hub.Config.Heartbeat
	writeTimeout time.Duration // hub.Config.WriteTimeout
	retry        time.Duration // Config.Retry
	// readTimeout and httpWriteTimeout go to NewHTTPServer: streams must
	// outlive them.
	readTimeout, httpWriteTimeout time.Duration
	tls                           bool // HTTP/2 over TLS
	// noFast serves every connection with net/http alone, without the
	// FastListener belfry serve puts in front of it.
	noFast   bool
	userAuth httpapi.UserAuth
	// disableLean serves HTTP/1.1 streams with a goroutine each
	// (Config.DisableLean), as HTTP/2 streams always are.
	disableLean bool
	// sndbuf, when set, is the send buffer of the server's sockets, so a
	// client that stops reading blocks the server's writes soon.
	sndbuf int
	assets http.Handler // Config.Assets
	// allowOrigins goes to Config.AllowOrigins (CORS).
	allowOrigins []string
	// setupConcurrency goes to Config.SetupConcurrency.
	setupConcurrency int
	// hubStore, when set, wraps the store the Hub reads (the inbox keeps
	// the real one).
	hubStore func(belfry.Store) belfry.Store
	// The rate limits' Config fields; extraKeys are API keys besides
	// testAPIKey.
	authFailRate     float64
	authFailBurst    int
	authFailMaxAddrs int
	trustedProxies   []netip.Prefix
	publishRate      float64
	publishBurst     int
	extraKeys        []string
	// maxStreamsPerUser and maxStreams go to hub.Config; retryAfter to
	// Config.RetryAfter.
	maxStreamsPerUser, maxStreams int
	retryAfter                    time.Duration
	// store, when set, opens the store instead of SQLite in t.TempDir().
	store func(t testing.TB) belfry.Store
	// reach, when set, is the node's Reach, built from the env's store
	// and presence (a memory.Presence on the env's clock); pushKey and
	// checkEndpoint go to Config.
	reach         func(e *env) *belfry.Reach
	pushKey       string
	checkEndpoint func(string) error
	// pusher goes to Config.Pusher.
	pusher *httpapi.PusherConfig
	// admin goes to Config.Admin.
	admin *httpapi.AdminConfig
}

// env is one belfry node for a test: a real SQLite store in t.TempDir(),
// the memory broker, a Hub, the API and a real HTTP server on 127.0.0.1.
type env struct {
	t      testing.TB
	url    string
	client *http.Client
	srv    *httpapi.Server
	hub    *hub.Hub
	store  belfry.Store
	inbox  *belfry.Inbox
	ts     *httptest.Server
	logs   *syncBuffer
	// conns tracks every accepted connection, hijacked ones included
	// (httptest forgets a connection once it is hijacked).
	conns *connTracker
	// clockSkew is added to the real time on the API's token clock.
	clockSkew atomic.Int64
	// presence is the node's presence (every env has one); reach its
	// Reach when envOpts.reach was set.
	presence *memory.Presence
	reach    *belfry.Reach
}

// now is the env's clock: the real time plus clockSkew.
func (e *env) now() time.Time { return time.Now().Add(time.Duration(e.clockSkew.Load())) }

func newEnv(t testing.TB, o envOpts) *env {
	t.Helper()
	e := &env{t: t, logs: &syncBuffer{}}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("server log:\n%s", e.logs.String())
		}
	})
	log := slog.New(slog.NewTextHandler(e.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))

	ctx, cancel := context.WithCancel(context.Background())
	var store belfry.Store
	if o.store != nil {
		store = o.store(t)
	} else {
		s, err := sqlite.OpenConfig(ctx, sqlite.Config{
			Path: filepath.Join(t.TempDir(), "belfry.db"), Synchronous: "NORMAL"})
		if err != nil {
			cancel()
			t.Fatal(err)
		}
		store = s
	}
	e.store = store
	broker := memory.New()
	var hubStore belfry.Store = store
	if o.hubStore != nil {
		hubStore = o.hubStore(store)
	}
	e.presence = memory.NewPresence(memory.PresenceOptions{Now: e.now})
	e.hub = hub.New(hub.Config{Store: hubStore, Broker: broker, QueueSize: o.queue, Logger: log, Presence: e.presence,
		Heartbeat: o.heartbeat, WriteTimeout: o.writeTimeout,
		MaxStreamsPerUser: o.maxStreamsPerUser, MaxStreams: o.maxStreams})
	brokerDone := make(chan struct{})
	go func() {
		defer close(brokerDone)
		_ = broker.Run(ctx, e.hub)
	}()
	e.inbox = &belfry.Inbox{Store: store, Broker: broker, Logger: log}
	if o.reach != nil {
		e.reach = o.reach(e)
		e.inbox.Reach = e.reach
	}
	var err error
	e.srv, err = httpapi.New(httpapi.Config{
		Inbox: e.inbox, Hub: e.hub,
		JWTSecret: testSecret, APIKeys: append([]string{testAPIKey}, o.extraKeys...), UserAuth: o.userAuth,
		AuthFailRate: o.authFailRate, AuthFailBurst: o.authFailBurst, AuthFailMaxAddrs: o.authFailMaxAddrs,
		TrustedProxies: o.trustedProxies, PublishRate: o.publishRate, PublishBurst: o.publishBurst,
		Retry:  o.retry,
		Logger: log, Registry: prometheus.NewRegistry(),
		Now: e.now, Presence: e.presence, PushKey: o.pushKey, CheckEndpoint: o.checkEndpoint,
		Demo: true, DisableLean: o.disableLean, AllowOrigins: o.allowOrigins, Assets: o.assets,
		SetupConcurrency: o.setupConcurrency, RetryAfter: o.retryAfter, Pusher: o.pusher,
		Admin: o.admin,
	})
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	e.ts = httptest.NewUnstartedServer(nil)
	e.conns = &connTracker{Listener: e.ts.Listener, conns: map[net.Conn]struct{}{}, sndbuf: o.sndbuf}
	e.ts.Listener = e.conns
	httpOpts := httpapi.HTTPOptions{ReadTimeout: o.readTimeout, WriteTimeout: o.httpWriteTimeout, Logger: log}
	e.ts.Config = httpapi.NewHTTPServer(e.srv.Handler(), httpOpts)
	if !o.tls && !o.noFast {
		// As belfry serve does: publish connections skip net/http.
		e.ts.Listener = httpapi.NewFastListener(e.conns, e.ts.Config.Handler, httpOpts)
	}
	if o.tls {
		e.ts.EnableHTTP2 = true
		e.ts.StartTLS()
	} else {
		e.ts.Start()
	}
	e.url = e.ts.URL
	e.client = e.ts.Client()
	t.Cleanup(func() {
		sctx, scancel := context.WithTimeout(context.Background(), wait)
		defer scancel()
		if err := e.srv.Shutdown(sctx); err != nil {
			t.Errorf("Shutdown: %v", err)
		}
		e.ts.CloseClientConnections()
		e.conns.closeAll()
		e.ts.Close()
		cancel()
		<-brokerDone
		_ = store.Close()
	})
	return e
}

// token mints a user token valid for an hour.
func (e *env) token(user string) string {
	e.t.Helper()
	tok, err := httpapi.MintToken(testSecret, user, time.Hour)
	if err != nil {
		e.t.Fatal(err)
	}
	return tok
}

// reply is a complete HTTP answer.
type reply struct {
	status int
	header http.Header
	body   []byte
	proto  int
}

// errorCode decodes the contract's error body, failing the test when the
// body is not that shape.
func (r reply) errorCode(t *testing.T) string {
	t.Helper()
	var b struct {
		Error *struct {
			Code    string `json:"code"`
			Message string `json:"message"`
		} `json:"error"`
	}
	if err := json.Unmarshal(r.body, &b); err != nil || b.Error == nil || b.Error.Code == "" || b.Error.Message == "" {
		t.Fatalf("status %d: body is not the error shape: %q (%v)", r.status, r.body, err)
	}
	if ct := r.header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("error Content-Type = %q", ct)
	}
	if httpapi.StatusOf(b.Error.Code) != r.status {
		t.Errorf("code %q came with status %d", b.Error.Code, r.status)
	}
	return b.Error.Code
}

// reqOpt adjusts a request before it is sent.
type reqOpt func(*http.Request)

func withBearer(tok string) reqOpt {
	return func(r *http.Request) { r.Header.Set("Authorization", "Bearer "+tok) }
}

func withHeader(k, v string) reqOpt { return func(r *http.Request) { r.Header.Set(k, v) } }

func withJSON(body string) reqOpt {
	return func(r *http.Request) {
		r.Body = io.NopCloser(strings.NewReader(body))
		r.ContentLength = int64(len(body))
		r.Header.Set("Content-Type", "application/json")
	}
}

// do sends one request and reads the whole answer.
func (e *env) do(method, path string, opts ...reqOpt) reply {
	e.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, method, e.url+path, nil)
	if err != nil {
		e.t.Fatal(err)
	}
	for _, o := range opts {
		o(req)
	}
	resp, err := e.client.Do(req)
	if err != nil {
		e.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		e.t.Fatalf("%s %s: reading body: %v", method, path, err)
	}
	return reply{status: resp.StatusCode, header: resp.Header, body: b, proto: resp.ProtoMajor}
}

// user does a request with the user's token.
func (e *env) user(user, method, path string, opts ...reqOpt) reply {
	e.t.Helper()
	return e.do(method, path, append([]reqOpt{withBearer(e.token(user))}, opts...)...)
}

// publish creates one notification through the API and returns it.
func (e *env) publish(user, message string) *belfry.Notification {
	e.t.Helper()
	body, _ := json.Marshal(map[string]string{"user_id": user, "message": message})
	r := e.do("POST", "/api/notifications", withBearer(testAPIKey), withJSON(string(body)))
	if r.status != http.StatusCreated {
		e.t.Fatalf("publish: %d %s", r.status, r.body)
	}
	var n belfry.Notification
	if err := json.Unmarshal(r.body, &n); err != nil {
		e.t.Fatalf("publish: %v in %s", err, r.body)
	}
	return &n
}

// publishMany creates n notifications for user with a few concurrent
// publishers (ids still come out in commit order).
func (e *env) publishMany(user string, n int) {
	e.t.Helper()
	var wg sync.WaitGroup
	next := atomic.Int64{}
	for range 8 {
		wg.Go(func() {
			for next.Add(1) <= int64(n) {
				body := `{"user_id":` + jsonString(user) + `,"message":"bulk"}`
				r := e.doNoFatal("POST", "/api/notifications", withBearer(testAPIKey), withJSON(body))
				if r.status != http.StatusCreated {
					e.t.Errorf("publish: %d %s", r.status, r.body)
					return
				}
			}
		})
	}
	wg.Wait()
	if e.t.Failed() {
		e.t.FailNow()
	}
}

// doNoFatal is do for other goroutines: it reports errors with Errorf.
func (e *env) doNoFatal(method, path string, opts ...reqOpt) reply {
	req, err := http.NewRequest(method, e.url+path, nil)
	if err != nil {
		e.t.Error(err)
		return reply{}
	}
	for _, o := range opts {
		o(req)
	}
	resp, err := e.client.Do(req)
	if err != nil {
		e.t.Errorf("%s %s: %v", method, path, err)
		return reply{}
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return reply{status: resp.StatusCode, header: resp.Header, body: b}
}

func jsonString(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

// eventually polls cond until it holds or the deadline passes.
func eventually(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(wait)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(time.Millisecond) // a poll interval, not a wait for an outcome
	}
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

// connTracker is a listener that remembers its connections, so a test can
// cut every one of them (a network blip), lean streams included.
type connTracker struct {
	net.Listener
	sndbuf int
	mu     sync.Mutex
	conns  map[net.Conn]struct{}
}

func (l *connTracker) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err == nil {
		if tc, ok := c.(*net.TCPConn); ok && l.sndbuf > 0 {
			tc.SetWriteBuffer(l.sndbuf)
		}
		l.mu.Lock()
		l.conns[c] = struct{}{}
		l.mu.Unlock()
	}
	return c, err
}

// closeAll closes every connection accepted so far.
func (l *connTracker) closeAll() {
	l.mu.Lock()
	defer l.mu.Unlock()
	for c := range l.conns {
		c.Close()
		delete(l.conns, c)
	}
}
