package main

import (
	"context"
	"crypto/tls"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/belfry/belfry/hub"

	"github.com/belfry/belfry"
	"github.com/belfry/belfry/httpapi"
	"github.com/belfry/belfry/internal/memtrim"
	"github.com/belfry/belfry/redisbus"
	"github.com/belfry/belfry/web"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
)

// Main is the server: ParseFlags fills it from the command line and the
// environment, Run serves until its context ends. Tests set the fields or
// call ParseFlags, and start Run on 127.0.0.1:0.
type Main struct {
	// Addr is the listen address; default ":8080", and "127.0.0.1:8080"
	// in demo mode unless --addr or BELFRY_ADDR was given.
	Addr   string
	Store  string // store URL; default "sqlite:belfry.db"
	Broker string // broker URL; default "memory"
	// CommitInterval is the SQLite store's least time between two commits
	// while publishers are concurrent (sqlite.Config.CommitInterval);
	// 0, the default, commits as soon as possible. Other stores refuse it.
	CommitInterval time.Duration
	// RedisPrefix names the deployment on a redis:// broker: it begins
	// every channel and is the deployment id each message carries
	// (redisbus.Options.Prefix); it must end with ':'. "" is redisbus's
	// default, "belfry:u:".
	RedisPrefix string
	JWTSecret   string   // HS256 secret of user tokens
	APIKeys     []string // publishers' keys
	// AllowOrigins are the web origins allowed to call the API from a
	// browser on another origin (CORS); default none (same origin only).
	AllowOrigins []string
	// AuthURL, when set, resolves users that present no JWT by asking the
	// app (its session cookie is forwarded). AuthUserField names the user
	// id in the answer (default "id"); AuthCacheTTL caches answers
	// (default 30s).
	AuthURL       string
	AuthUserField string
	AuthCacheTTL  time.Duration
	// AuthFailRate and AuthFailBurst limit failed authentications per
	// client address (httpapi.Config.AuthFailRate): default 2 per second
	// and a burst of 30; a rate of 0 turns the limit off.
	AuthFailRate  float64
	AuthFailBurst int
	// TrustedProxies are the proxies (CIDR or address) whose
	// X-Forwarded-For or X-Real-IP names the client; default none.
	TrustedProxies []string
	// PublishRate limits each API key's publishes per second, with a
	// burst of PublishBurst (default: PublishRate rounded up); default
	// 0, no limit.
	PublishRate  float64
	PublishBurst int
	Heartbeat    time.Duration // SSE comment interval; default 20s
	Retry        time.Duration // SSE retry: value; default 2s
	WriteTimeout time.Duration // bound on each write to a stream; default 10s
	QueueSize    int           // events queued per stream before it is cut; default 256
	// ReplaysPerUser bounds the replays of one user's resuming streams
	// that run at once. Default hub.DefaultReplaysPerUser.
	ReplaysPerUser int
	Lean           bool   // hijack HTTP/1.1 streams (no goroutine per stream); default true
	TrimMemory     bool   // give the free heap back once quiet after a burst; default true
	Demo           bool   // the demo endpoints; only in demo mode (refused with a secret or key)
	TLSCert        string // certificate file: serve HTTPS (HTTP/2 and HTTP/1.1)
	TLSKey         string // key file of TLSCert
	H2C            bool   // also accept HTTP/2 without TLS (behind a proxy)
	LogLevel       string // debug, info, warn, error; default info
	LogFormat      string // text or json; default text
	// ShutdownTimeout bounds the graceful shutdown. Default 10s.
	ShutdownTimeout time.Duration
	// PprofAddr, when set, serves Go's profiler (/debug/pprof/) on its
	// own listener at this address. Default off.
	PprofAddr string
	// AuthCookie names the app's session cookie that --auth-url answers
	// are cached by (default "laravel_session"); AuthConcurrency bounds
	// the calls to the app in flight (default 16).
	AuthCookie      string
	AuthConcurrency int
	// MaxStreamsPerUser bounds one user's streams on this node; one more
	// is refused with 429 too_many_streams. Default 32; 0: no limit.
	MaxStreamsPerUser int
	// MaxStreams bounds this node's streams; one more is refused with 503
	// server_full. Default: the open-files limit minus max(64, a tenth of
	// it) (maxStreamsFor); 0: no limit.
	MaxStreams int
	// IdempotencyWindow is how long a publish's Idempotency-Key is
	// remembered. Default 24h.
	IdempotencyWindow time.Duration
	// Retain, when above 0, deletes read or archived notifications older
	// than this (unread ones too with RetainUnread). Default 0: kept.
	Retain       time.Duration
	RetainUnread bool
	// MaxPerUser trims a user's oldest notifications beyond this many.
	// Default 10,000; 0: no limit.
	MaxPerUser int
	// Reach are the Web Push and webhook settings.
	Reach ReachFlags
	// Pusher are the Pusher HTTP API settings; off by default.
	Pusher PusherFlags
	// Tracing is the OpenTelemetry export; off by default.
	Tracing TracingFlags
	// Admin are the operator page's settings; off by default.
	Admin AdminFlags

	// DemoMode is set when no secret and no API key were configured: both
	// were generated, and Run prints them with ready-to-paste commands.
	DemoMode bool
	// self is how the banner runs belfry again; default selfCommand().
	self string
	// demoFile is where demo mode keeps its credentials (set by Run).
	demoFile string
	// demoLoopback is set when demo mode chose the loopback address
	// because none was given.
	demoLoopback bool

	Stdout io.Writer // the banner; default io.Discard
	Stderr io.Writer // logs; default io.Discard

	ready   chan struct{}
	readyMu sync.Mutex
	url     string
}

// NewMain returns a Main with the defaults.
func NewMain() *Main {
	return &Main{Addr: ":8080", Store: "sqlite:belfry.db", Broker: "memory",
		Heartbeat: hub.DefaultHeartbeat, Retry: httpapi.DefaultRetry, WriteTimeout: hub.DefaultWriteTimeout,
		QueueSize: hub.DefaultQueueSize, ReplaysPerUser: hub.DefaultReplaysPerUser, Lean: true, TrimMemory: true, LogLevel: "info", LogFormat: "text", ShutdownTimeout: 10 * time.Second,
		MaxStreamsPerUser: hub.DefaultMaxStreamsPerUser, MaxStreams: defaultMaxStreams(),
		IdempotencyWindow: httpapi.DefaultIdempotencyWindow, MaxPerUser: DefaultMaxPerUser,
		AuthUserField: httpapi.DefaultAuthUserField, AuthCacheTTL: httpapi.DefaultAuthCacheTTL,
		AuthCookie: httpapi.DefaultAuthCookie, AuthConcurrency: httpapi.DefaultAuthURLConcurrency,
		AuthFailRate: httpapi.DefaultAuthFailRate, AuthFailBurst: httpapi.DefaultAuthFailBurst,
		Reach: defaultReachFlags(), Pusher: defaultPusherFlags(), Stdout: io.Discard, Stderr: io.Discard}
}

// ParseFlags reads the serve flags from args and, for every flag not given
// there, from its BELFRY_ environment variable (looked up with getenv).
// With neither a JWT secret nor an API key it switches to demo mode and
// generates both; demo mode listens on 127.0.0.1:8080 unless an address
// was given.
func (m *Main) ParseFlags(args []string, getenv func(string) string) error {
	fs := newFlagSet("belfry serve", m.Stderr)
	fs.StringVar(&m.Addr, "addr", m.Addr, "listen `address` (host:port; port 0 picks a free one)")
	fs.StringVar(&m.Store, "store", m.Store, "store `URL`: "+storeSchemes)
	fs.StringVar(&m.Broker, "broker", m.Broker, "broker `URL`: "+brokerSchemes)
	fs.DurationVar(&m.CommitInterval, "commit-interval", m.CommitInterval, "SQLite store: least time between two commits while publishers are concurrent, so that more share one fsync (less CPU, a little more latency; 0: commit at once)")
	fs.StringVar(&m.RedisPrefix, "redis-prefix", m.RedisPrefix, "`prefix` of the Redis channels, ending with ':', default belfry:u:; it names the deployment: deployments sharing a Redis (whatever its database number) use different ones")
	fs.StringVar(&m.JWTSecret, "jwt-secret", m.JWTSecret, "HS256 `secret` that signs user tokens (32 bytes or more)")
	keys := listFlag(m.APIKeys)
	fs.Var(&keys, "api-key", "publisher API `key` (repeatable, or a comma list)")
	origins := listFlag(m.AllowOrigins)
	fs.Var(&origins, "allow-origin", "web `origin` (https://app.example.com) whose pages may call belfry cross-origin (CORS; repeatable, or a comma list)")
	fs.StringVar(&m.AuthURL, "auth-url", m.AuthURL, "the app's \"who am I\" `URL`: users without a token are resolved by forwarding their cookies to it")
	fs.StringVar(&m.AuthUserField, "auth-user-field", m.AuthUserField, "JSON `field` of the user id in the --auth-url answer (dotted path, e.g. data.id)")
	fs.StringVar(&m.AuthCookie, "auth-cookie", m.AuthCookie, "`name` of the app's session cookie: --auth-url answers are cached by it (and the Authorization header); a request with neither is refused without asking the app")
	fs.DurationVar(&m.AuthCacheTTL, "auth-cache-ttl", m.AuthCacheTTL, "how long an --auth-url answer is cached (0: not at all)")
	fs.IntVar(&m.AuthConcurrency, "auth-url-concurrency", m.AuthConcurrency, "`calls` to the --auth-url app in flight at once; further requests wait for a free place")
	fs.Float64Var(&m.AuthFailRate, "auth-fail-rate", m.AuthFailRate, "failed authentications per second a client address gets back, after its --auth-fail-burst; then its unrecognized credentials get 429 (0: no limit)")
	fs.IntVar(&m.AuthFailBurst, "auth-fail-burst", m.AuthFailBurst, "failed authentications a client address may make at once")
	proxies := listFlag(m.TrustedProxies)
	fs.Var(&proxies, "trusted-proxy", "`CIDR` or address of a proxy whose X-Forwarded-For/X-Real-IP names the client (repeatable, or a comma list; default none: the peer is the client)")
	fs.Float64Var(&m.PublishRate, "publish-rate", m.PublishRate, "publishes per second allowed to each API key (0: no limit)")
	fs.IntVar(&m.PublishBurst, "publish-burst", m.PublishBurst, "publishes an API key may make at once (0: --publish-rate rounded up)")
	fs.DurationVar(&m.Heartbeat, "heartbeat", m.Heartbeat, "`interval` of the SSE heartbeat comment")
	fs.DurationVar(&m.Retry, "retry", m.Retry, "reconnect `delay` sent to clients in the stream's retry: line")
	fs.DurationVar(&m.WriteTimeout, "write-timeout", m.WriteTimeout, "bound on each write to a stream; a client that does not read is cut")
	fs.IntVar(&m.QueueSize, "queue-size", m.QueueSize, "`events` queued per stream before a slow client is cut")
	fs.IntVar(&m.ReplaysPerUser, "replays-per-user", m.ReplaysPerUser, "`streams` of one user that replay their backlog at once; more resumes of that user wait their turn")
	fs.IntVar(&m.MaxStreamsPerUser, "max-streams-per-user", m.MaxStreamsPerUser, "most `streams` one user may hold open on this node; one more gets 429 too_many_streams (0: no limit)")
	fs.IntVar(&m.MaxStreams, "max-streams", m.MaxStreams, "most `streams` this node holds open; one more gets 503 server_full (0: no limit; default: the open-files limit minus max(64, a tenth of it))")
	fs.DurationVar(&m.IdempotencyWindow, "idempotency-window", m.IdempotencyWindow, "how long a publish's Idempotency-Key is remembered: a repeat within it creates nothing and gets the first answer")
	fs.Var((*daysFlag)(&m.Retain), "retain", "delete read or archived notifications older than this `age` (e.g. 90d, 36h; 0: keep them)")
	fs.BoolVar(&m.RetainUnread, "retain-unread", m.RetainUnread, "--retain deletes unread notifications too")
	fs.IntVar(&m.MaxPerUser, "max-per-user", m.MaxPerUser, "most `notifications` kept per user: the oldest beyond it are deleted (0: no limit)")
	fs.BoolVar(&m.Lean, "lean", m.Lean, "serve HTTP/1.1 streams on hijacked connections written by the publisher (--lean=false: a goroutine per stream)")
	fs.BoolVar(&m.TrimMemory, "trim-memory", m.TrimMemory, "give the Go heap's free memory back to the system once the server goes quiet after a burst (--trim-memory=false: leave it to Go's runtime)")
	fs.BoolVar(&m.Demo, "demo", m.Demo, "enable the demo page's publish form (implied in demo mode)")
	fs.StringVar(&m.TLSCert, "tls-cert", m.TLSCert, "certificate `file`: serve HTTPS with HTTP/2")
	fs.StringVar(&m.TLSKey, "tls-key", m.TLSKey, "private key `file` of --tls-cert")
	fs.BoolVar(&m.H2C, "h2c", m.H2C, "accept HTTP/2 without TLS (cleartext, behind a proxy that speaks it)")
	fs.StringVar(&m.LogLevel, "log-level", m.LogLevel, "`level`: debug, info, warn or error")
	fs.StringVar(&m.LogFormat, "log-format", m.LogFormat, "`format` of the logs on stderr: text or json")
	fs.DurationVar(&m.ShutdownTimeout, "shutdown-timeout", m.ShutdownTimeout, "bound on the graceful shutdown")
	fs.StringVar(&m.PprofAddr, "pprof-addr", m.PprofAddr, "serve Go's profiler at http://`address`/debug/pprof/ on a listener of its own (keep it on loopback); default off")
	pushHosts, webhookSecrets := m.Reach.define(fs)
	m.Pusher.define(fs)
	m.Tracing.define(fs)
	m.Admin.define(fs)
	if err := parseArgs(fs, args, getenv); err != nil {
		return err
	}
	m.Reach.PushAllowHosts, m.Reach.WebhookSecrets = *pushHosts, *webhookSecrets
	m.APIKeys = keys
	m.AllowOrigins = origins
	m.TrustedProxies = proxies
	addrGiven := false
	fs.Visit(func(f *flag.Flag) { addrGiven = addrGiven || f.Name == "addr" }) // the environment's too
	return m.finish(addrGiven)
}

// DefaultMaxPerUser is --max-per-user's default.
const DefaultMaxPerUser = 10_000

// minAPIKeyLen is the shortest API key serve accepts: 16 random bytes
// cannot be guessed online, whatever the rate limit.
const minAPIKeyLen = 16

// finish checks the configuration and fills in demo mode. addrGiven says
// whether --addr or BELFRY_ADDR was set.
func (m *Main) finish(addrGiven bool) error {
	if (m.TLSCert == "") != (m.TLSKey == "") {
		return errors.New("--tls-cert and --tls-key go together")
	}
	if _, err := parseLevel(m.LogLevel); err != nil {
		return err
	}
	if m.LogFormat != "text" && m.LogFormat != "json" {
		return fmt.Errorf("--log-format must be text or json, not %q", m.LogFormat)
	}
	if m.Heartbeat <= 0 || m.Retry <= 0 || m.WriteTimeout <= 0 || m.ShutdownTimeout <= 0 {
		return errors.New("--heartbeat, --retry, --write-timeout and --shutdown-timeout must be positive")
	}
	if m.QueueSize <= 0 {
		return errors.New("--queue-size must be positive")
	}
	if m.AuthConcurrency <= 0 {
		return errors.New("--auth-url-concurrency must be positive")
	}
	if m.RedisPrefix != "" {
		if err := redisbus.ValidatePrefix(m.RedisPrefix); err != nil {
			return fmt.Errorf("--redis-prefix: %s", belfry.ErrorMessage(err))
		}
	}
	if err := m.checkLimits(); err != nil {
		return err
	}
	if m.Demo && (m.JWTSecret != "" || len(m.APIKeys) > 0 || m.AuthURL != "") {
		return errors.New("--demo hands a token for any user to anyone (/demo/token): it is refused with --jwt-secret, --api-key or --auth-url. " +
			"For a demo, run belfry serve with none of them; in production, leave --demo off")
	}
	if m.MaxStreamsPerUser < 0 || m.MaxStreams < 0 || m.MaxPerUser < 0 {
		return errors.New("--max-streams-per-user, --max-streams and --max-per-user must be 0 (no limit) or positive")
	}
	if m.IdempotencyWindow <= 0 {
		return errors.New("--idempotency-window must be positive")
	}
	switch {
	case m.JWTSecret == "" && len(m.APIKeys) == 0 && m.AuthURL == "":
		m.DemoMode, m.Demo = true, true
		m.JWTSecret = randomSecret(32)
		m.APIKeys = []string{"demo_" + randomSecret(18)}
		if !addrGiven {
			// Demo endpoints give anyone a token: only this machine.
			m.Addr, m.demoLoopback = "127.0.0.1:8080", true
		}
	case m.JWTSecret == "" && m.AuthURL == "":
		return errors.New("--api-key is set but neither --jwt-secret nor --auth-url: users could not sign in (or set none of them for demo mode)")
	case len(m.APIKeys) == 0:
		return errors.New("no --api-key: nothing could publish (set --api-key, or no secret at all for demo mode)")
	}
	if m.JWTSecret != "" && len(m.JWTSecret) < minJWTSecretLen && !m.DemoMode {
		return errShortSecret("--jwt-secret")
	}
	if err := m.Reach.check(m.DemoMode); err != nil {
		return err
	}
	if err := m.Pusher.check(); err != nil {
		return err
	}
	if err := m.Tracing.check(); err != nil {
		return err
	}
	if err := m.Admin.check(); err != nil {
		return err
	}
	for i, k := range m.APIKeys {
		if len(k) < minAPIKeyLen {
			// The key itself is not shown: this message goes to logs.
			return fmt.Errorf("--api-key must be at least %d bytes (e.g. openssl rand -hex 16); key %d of %d has %d",
				minAPIKeyLen, i+1, len(m.APIKeys), len(k))
		}
	}
	return nil
}

// checkLimits checks the rate limit flags.
func (m *Main) checkLimits() error {
	if !(m.AuthFailRate >= 0) || math.IsInf(m.AuthFailRate, 0) || !(m.PublishRate >= 0) || math.IsInf(m.PublishRate, 0) {
		return errors.New("--auth-fail-rate and --publish-rate must be finite numbers, 0 or more")
	}
	if m.AuthFailRate > 0 && m.AuthFailBurst < 1 {
		return errors.New("--auth-fail-burst must be at least 1")
	}
	if m.PublishBurst < 0 {
		return errors.New("--publish-burst must not be negative")
	}
	_, err := parseProxies(m.TrustedProxies)
	return err
}

// parseProxies reads --trusted-proxy values: CIDRs, or single addresses.
func parseProxies(list []string) ([]netip.Prefix, error) {
	var ps []netip.Prefix
	for _, v := range list {
		p, err := netip.ParsePrefix(v)
		if err != nil {
			a, aerr := netip.ParseAddr(v)
			if aerr != nil {
				return nil, fmt.Errorf("--trusted-proxy %q is neither a CIDR (10.0.0.0/8) nor an address", v)
			}
			p = netip.PrefixFrom(a.Unmap(), a.Unmap().BitLen())
		}
		ps = append(ps, p.Masked())
	}
	return ps, nil
}

// authFailRate turns --auth-fail-rate into Config.AuthFailRate, where
// zero means the default: on the command line "0" means no limit.
func authFailRate(flag float64) float64 {
	if flag <= 0 {
		return -1
	}
	return flag
}

func parseLevel(s string) (slog.Level, error) {
	var l slog.Level
	if err := l.UnmarshalText([]byte(s)); err != nil {
		return 0, fmt.Errorf("--log-level must be debug, info, warn or error, not %q", s)
	}
	return l, nil
}

func (m *Main) logger() *slog.Logger {
	level, _ := parseLevel(m.LogLevel)
	opts := &slog.HandlerOptions{Level: level}
	if m.LogFormat == "json" {
		return slog.New(slog.NewJSONHandler(m.Stderr, opts))
	}
	return slog.New(slog.NewTextHandler(m.Stderr, opts))
}

// Ready is closed once the server listens; URL then returns its address.
func (m *Main) Ready() <-chan struct{} { return m.readyChan() }

func (m *Main) readyChan() chan struct{} {
	m.readyMu.Lock()
	defer m.readyMu.Unlock()
	if m.ready == nil {
		m.ready = make(chan struct{})
	}
	return m.ready
}

// URL returns the base URL the server listens on, e.g.
// http://127.0.0.1:8080, once Ready is closed; "" before.
func (m *Main) URL() string {
	m.readyMu.Lock()
	defer m.readyMu.Unlock()
	return m.url
}

func (m *Main) setReady(url string) {
	ready := m.readyChan()
	m.readyMu.Lock()
	m.url = url
	m.readyMu.Unlock()
	close(ready)
}

// Run opens the store and the broker, serves until ctx ends, then shuts
// down gracefully: it stops accepting, ends every stream cleanly (clients
// reconnect and resume), waits for requests in flight, and closes the
// broker and the store. It returns nil after a clean shutdown.
func (m *Main) Run(ctx context.Context) (err error) {
	log := m.logger()
	unlock, err := lockStore(m.Store)
	if err != nil {
		return err
	}
	defer unlock()
	if m.DemoMode {
		if err := m.keepDemoCredentials(log); err != nil {
			return err
		}
	}
	tracer, stopTracing, err := m.Tracing.open(log)
	if err != nil {
		return err
	}
	defer stopTracing() // after the server, so every span has ended
	store, err := openStore(ctx, m.Store, m.CommitInterval, log)
	if err != nil {
		return fmt.Errorf("store %s: %w", redactURL(m.Store), err)
	}
	defer func() {
		if cerr := store.Close(); cerr != nil && err == nil {
			err = fmt.Errorf("closing the store: %w", cerr)
		}
	}()
	broker, err := openBroker(ctx, m.Broker, m.RedisPrefix, log)
	if err != nil {
		return fmt.Errorf("broker %s: %w", redactURL(m.Broker), err)
	}
	defer func() {
		if cerr := broker.Close(); cerr != nil && err == nil {
			err = fmt.Errorf("closing the broker: %w", cerr)
		}
	}()

	presence, leavePresence, closePresence, err := openPresence(ctx, m.Broker, m.RedisPrefix, log)
	if err != nil {
		return fmt.Errorf("presence on %s: %w", redactURL(m.Broker), err)
	}
	defer closePresence()
	hub := hub.New(hub.Config{Store: store, Broker: broker, Presence: presence,
		Heartbeat: m.Heartbeat, WriteTimeout: m.WriteTimeout,
		QueueSize: m.QueueSize, ReplaysPerUser: m.ReplaysPerUser, MaxStreamsPerUser: noLimitIfZero(m.MaxStreamsPerUser),
		MaxStreams: m.MaxStreams, Logger: log, Tracer: tracer})
	m.warnNofile(log)
	reach, err := m.buildReach(store, presence, log)
	if err != nil {
		return err
	}
	reach.reach.Tracer = tracer
	inbox := &belfry.Inbox{Store: store, Broker: broker, Reach: reach.reach, Logger: log, Tracer: tracer}
	retention := &belfry.Retention{Inbox: inbox, Retain: m.Retain, RetainUnread: m.RetainUnread,
		MaxPerUser: m.MaxPerUser}
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))

	var userAuth httpapi.UserAuth
	if m.AuthURL != "" {
		a, err := httpapi.NewAuthURL(httpapi.AuthURLConfig{URL: m.AuthURL,
			UserField: m.AuthUserField, Cookie: m.AuthCookie, TTL: authCacheTTL(m.AuthCacheTTL),
			Concurrency: m.AuthConcurrency, Registerer: reg})
		if err != nil {
			return err
		}
		userAuth = a
	}
	proxies, err := parseProxies(m.TrustedProxies)
	if err != nil {
		return err
	}
	api, err := httpapi.New(httpapi.Config{
		Inbox: inbox, Hub: hub,
		JWTSecret: []byte(m.JWTSecret), APIKeys: m.APIKeys, UserAuth: userAuth, AllowOrigins: m.AllowOrigins,
		AuthFailRate: authFailRate(m.AuthFailRate), AuthFailBurst: m.AuthFailBurst, TrustedProxies: proxies,
		PublishRate: m.PublishRate, PublishBurst: m.PublishBurst, IdempotencyWindow: m.IdempotencyWindow,
		Retry: m.Retry, DisableLean: !m.Lean,
		Presence: presence, PushKey: reach.pushKey, CheckEndpoint: reach.endpoint,
		Demo: m.Demo, Assets: web.Handler(), Pusher: m.Pusher.config(),
		Admin:  m.Admin.config(m.Store, m.Broker, presence),
		Logger: log, Registry: reg, Tracer: tracer,
	})
	if err != nil {
		return err
	}

	// The broker delivers to the hub until the server is down.
	brokerCtx, stopBroker := context.WithCancel(context.WithoutCancel(ctx))
	brokerDone := make(chan error, 1)
	go func() { brokerDone <- broker.Run(brokerCtx, hub) }()
	defer func() {
		stopBroker()
		if berr := <-brokerDone; berr != nil && err == nil {
			err = fmt.Errorf("broker: %w", berr)
		}
	}()

	// Presence and the outbox's runner run until the server is down.
	reachCtx, stopReach := context.WithCancel(context.WithoutCancel(ctx))
	var reachWG sync.WaitGroup
	reachWG.Go(func() { _ = presence.Run(reachCtx) })
	reachWG.Go(func() { _ = reach.reach.Run(reachCtx) })
	defer func() {
		stopReach()
		reachWG.Wait()
		lctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Second)
		leavePresence(lctx)
		cancel()
	}()

	// The purge runs until the server is down.
	purgeCtx, stopPurge := context.WithCancel(context.WithoutCancel(ctx))
	purgeDone := make(chan struct{})
	go func() { retention.Run(purgeCtx); close(purgeDone) }()
	defer func() { stopPurge(); <-purgeDone }()

	// After a burst (streams connecting, a storm of resumes), the free
	// heap goes back to the system once the server is quiet.
	if m.TrimMemory {
		trimCtx, stopTrim := context.WithCancel(context.WithoutCancel(ctx))
		trimDone := make(chan struct{})
		go func() {
			memtrim.Run(trimCtx, memtrim.Config{}, func(before, after uint64) {
				log.Debug("free heap given back to the system", "reclaimable_bytes", before, "free_after_bytes", after)
			})
			close(trimDone)
		}()
		defer func() { stopTrim(); <-trimDone }()
	}

	// NewHTTPServer's timeouts protect against slow clients; streams lift
	// them for themselves.
	httpOpts := httpapi.HTTPOptions{Addr: m.Addr, H2C: m.H2C, Logger: log}
	srv := httpapi.NewHTTPServer(api.Handler(), httpOpts)
	scheme := "http"
	if m.TLSCert != "" {
		// Loaded now, so a bad file fails the start, not the first request.
		cert, err := tls.LoadX509KeyPair(m.TLSCert, m.TLSKey)
		if err != nil {
			return fmt.Errorf("--tls-cert/--tls-key: %w", err)
		}
		// ServeTLS adds h2 and http/1.1 to the ALPN protocols.
		srv.TLSConfig = &tls.Config{MinVersion: tls.VersionTLS12, Certificates: []tls.Certificate{cert}}
		scheme = "https"
	}
	ln, err := net.Listen("tcp", m.Addr)
	if err != nil {
		return err
	}
	if m.PprofAddr != "" {
		stop, err := servePprof(m.PprofAddr, log)
		if err != nil {
			ln.Close()
			return fmt.Errorf("--pprof-addr: %w", err)
		}
		defer stop()
	}
	url := scheme + "://" + displayAddr(ln.Addr())
	served := make(chan error, 1)
	var fast *httpapi.FastListener // publish connections, served without net/http
	if m.TLSCert == "" {
		fast = httpapi.NewFastListener(ln, srv.Handler, httpOpts)
	}
	go func() {
		if m.TLSCert != "" {
			served <- srv.ServeTLS(ln, "", "")
		} else {
			served <- srv.Serve(fast)
		}
	}()

	log.Info("belfry listening", "url", url, "store", redactURL(m.Store),
		"broker", redactURL(m.Broker), "tls", m.TLSCert != "", "h2c", m.H2C, "demo", m.Demo,
		"pusher", m.Pusher.on(), "max_streams", m.MaxStreams, "max_streams_per_user", m.MaxStreamsPerUser)
	fmt.Fprintf(m.Stdout, "belfry listening on %s\n", url)
	if m.DemoMode {
		m.printDemo(url)
	}
	m.setReady(url)

	select {
	case <-ctx.Done():
	case err := <-served:
		return fmt.Errorf("serving: %w", err)
	}

	log.Info("shutting down")
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), m.ShutdownTimeout)
	defer cancel()
	// Stop accepting first, so no stream opens while the others are ended.
	// Server.Shutdown closes the listeners, then waits for the handlers; the
	// API's Shutdown ends the streams those handlers are serving (and the
	// hijacked ones Server.Shutdown does not know about).
	shutdownDone := make(chan error, 1)
	go func() {
		err := srv.Shutdown(sctx)
		if fast != nil {
			err = errors.Join(err, fast.Shutdown(sctx))
		}
		shutdownDone <- err
	}()
	apiErr := api.Shutdown(sctx)
	srvErr := <-shutdownDone
	if e := <-served; e != nil && !errors.Is(e, http.ErrServerClosed) {
		log.Warn("serve", "err", e)
	}
	if err := errors.Join(apiErr, srvErr); err != nil {
		srv.Close()
		return fmt.Errorf("graceful shutdown: %w", err)
	}
	log.Info("stopped")
	return nil
}

// displayAddr turns a listener's address into one a browser can open:
// the unspecified address (":8080") becomes localhost.
func displayAddr(a net.Addr) string {
	tcp, ok := a.(*net.TCPAddr)
	if !ok {
		return a.String()
	}
	if tcp.IP == nil || tcp.IP.IsUnspecified() {
		return "localhost:" + strconv.Itoa(tcp.Port)
	}
	return net.JoinHostPort(tcp.IP.String(), strconv.Itoa(tcp.Port))
}

// redactURL hides the password of a database URL, for logs and errors:
// the one in the user info, and a password (or sslpassword) query
// parameter, which pgx accepts too.
func redactURL(s string) string {
	if base, query, ok := strings.Cut(s, "?"); ok {
		params := strings.Split(query, "&")
		for i, p := range params {
			if k, _, ok := strings.Cut(p, "="); ok {
				if k = strings.ToLower(k); k == "password" || k == "sslpassword" {
					params[i] = k + "=xxxxx"
				}
			}
		}
		return redactUserInfo(base) + "?" + strings.Join(params, "&")
	}
	return redactUserInfo(s)
}

// redactUserInfo hides the password of the user info of a URL.
func redactUserInfo(s string) string {
	at := strings.LastIndex(s, "@")
	scheme := strings.Index(s, "://")
	if at < 0 || scheme < 0 || at < scheme {
		return s
	}
	creds := s[scheme+3 : at]
	if user, _, ok := strings.Cut(creds, ":"); ok {
		return s[:scheme+3] + user + ":xxxxx" + s[at:]
	}
	return s
}

// authCacheTTL turns --auth-cache-ttl into AuthURLConfig.TTL, where zero
// means the default: on the command line "0" means no caching.
func authCacheTTL(flag time.Duration) time.Duration {
	if flag <= 0 {
		return -1
	}
	return flag
}
