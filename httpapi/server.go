package httpapi

import (
	"context"
	"crypto/sha256"
	"log/slog"
	"math"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/belfry/belfry/hub"

	"github.com/belfry/belfry"
	"github.com/golang-jwt/jwt/v5"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Defaults of the Config fields that have one.
const (
	DefaultRetry      = 2 * time.Second
	DefaultRetryAfter = 5 * time.Second
	// DefaultSetupConcurrency is Config.SetupConcurrency's default.
	DefaultSetupConcurrency = 64
	// DefaultIdempotencyWindow is Config.IdempotencyWindow's default.
	DefaultIdempotencyWindow = 24 * time.Hour
	// readyTimeout bounds the store and broker pings of GET /readyz.
	readyTimeout = 3 * time.Second
)

// Server is the HTTP API of one belfry node: the publish endpoint, the
// user's inbox endpoints, the SSE stream and the operator endpoints.
type Server struct {
	cfg     Config
	inbox   *belfry.Inbox
	hub     *hub.Hub
	log     *slog.Logger
	now     func() time.Time
	mux     *http.ServeMux
	metrics *metrics
	jwt     *jwt.Parser
	sigOnly *jwt.Parser         // checks a JWT's signature only (ratelimit.go)
	keys    [][sha256.Size]byte // sha256 of each API key
	csrf    *http.CrossOriginProtection
	origins map[string]bool // Config.AllowOrigins, normalised
	// retryAfter is Config.RetryAfter as the header's value, in seconds.
	retryAfter string

	authLim    *authLimiter  // nil: failed authentications are not limited
	publishLim publishLimits // nil: publishes are not limited
	pusher     *pusherAPI    // nil: the Pusher endpoints are off (Config.Pusher)
	admin      *admin        // nil: the operator page is off (Config.Admin)

	// setup holds a token per stream being set up (see enterSetup);
	// setupWaiting counts the handlers waiting for one.
	setup        chan struct{}
	setupWaiting atomic.Int32

	// mu guards closing; streams counts running stream handlers. A handler
	// adds itself only while !closing (under mu), so every Add happens
	// before Shutdown's Wait.
	mu      sync.Mutex
	closing bool
	streams sync.WaitGroup
}

// New returns a Server for cfg. It registers the metrics on cfg.Registry.
// Errors: EINVALID (Inbox, its Store or Broker, or Hub missing; a metric
// already registered on the registry; an AllowOrigins entry that is not an
// origin; a rate that is not a finite number; a Pusher setting out of
// PusherConfig.Validate's bounds; an AdminConfig.Key shorter than
// MinAdminKeyLen).
func New(cfg Config) (*Server, error) {
	if cfg.Inbox == nil || cfg.Inbox.Store == nil || cfg.Inbox.Broker == nil {
		return nil, belfry.Errorf(belfry.EINVALID, "httpapi: Config.Inbox with a Store and a Broker is required")
	}
	if cfg.Hub == nil {
		return nil, belfry.Errorf(belfry.EINVALID, "httpapi: Config.Hub is required")
	}
	if cfg.Retry <= 0 {
		cfg.Retry = DefaultRetry
	}
	if cfg.RetryAfter <= 0 {
		cfg.RetryAfter = DefaultRetryAfter
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.SetupConcurrency <= 0 {
		cfg.SetupConcurrency = DefaultSetupConcurrency
	}
	if !finite(cfg.AuthFailRate) || !finite(cfg.PublishRate) {
		return nil, belfry.Errorf(belfry.EINVALID, "httpapi: AuthFailRate and PublishRate must be finite numbers")
	}
	if cfg.AuthFailRate == 0 {
		cfg.AuthFailRate = DefaultAuthFailRate
	}
	if cfg.AuthFailBurst <= 0 {
		cfg.AuthFailBurst = DefaultAuthFailBurst
	}
	if cfg.AuthFailMaxAddrs <= 0 {
		cfg.AuthFailMaxAddrs = DefaultAuthFailMaxAddrs
	}
	if cfg.IdempotencyWindow <= 0 {
		cfg.IdempotencyWindow = DefaultIdempotencyWindow
	}
	if !leanSupported {
		cfg.DisableLean = true
	}
	s := &Server{cfg: cfg, inbox: cfg.Inbox, hub: cfg.Hub, log: cfg.Logger, now: cfg.Now,
		mux: http.NewServeMux(), csrf: http.NewCrossOriginProtection(),
		setup:      make(chan struct{}, cfg.SetupConcurrency),
		retryAfter: strconv.FormatInt(int64((cfg.RetryAfter+time.Second-1)/time.Second), 10)}
	s.jwt = jwt.NewParser(jwt.WithValidMethods([]string{"HS256"}),
		jwt.WithExpirationRequired(), jwt.WithTimeFunc(s.now))
	s.sigOnly = jwt.NewParser(jwt.WithValidMethods([]string{"HS256"}), jwt.WithoutClaimsValidation())
	for _, k := range cfg.APIKeys {
		if k != "" {
			s.keys = append(s.keys, sha256.Sum256([]byte(k)))
		}
	}
	if cfg.AuthFailRate > 0 {
		s.authLim = newAuthLimiter(cfg.AuthFailRate, cfg.AuthFailBurst, cfg.AuthFailMaxAddrs)
	}
	s.publishLim = newPublishLimits(s.keys, cfg.PublishRate, cfg.PublishBurst)
	if err := s.setupCORS(); err != nil {
		return nil, err
	}
	reg := cfg.Registry
	if reg == nil {
		reg = prometheus.NewRegistry() // counted, never served
	}
	m, err := newMetrics(reg, cfg.Hub, func() float64 { return float64(s.setupWaiting.Load()) },
		func() float64 {
			if s.authLim == nil {
				return 0
			}
			return float64(s.authLim.size())
		})
	if err != nil {
		return nil, &belfry.Error{Code: belfry.EINVALID, Message: "httpapi: registering metrics", Err: err}
	}
	s.metrics = m
	if cfg.Inbox.Reach != nil {
		if err := reg.Register(newReachCollector(cfg.Inbox.Reach)); err != nil {
			return nil, &belfry.Error{Code: belfry.EINVALID, Message: "httpapi: registering metrics", Err: err}
		}
	}
	if cfg.Pusher != nil {
		if s.pusher, err = newPusherAPI(*cfg.Pusher, &cfg, reg); err != nil {
			return nil, err
		}
	}
	if cfg.Admin != nil {
		if s.admin, err = newAdmin(*cfg.Admin); err != nil {
			return nil, err
		}
	}
	s.routes()
	return s, nil
}

// routes registers every endpoint. The patterns are the contract's table.
// Every endpoint that authenticates its caller is wrapped in limitAuth.
func (s *Server) routes() {
	s.mux.Handle("POST /api/notifications", s.handle(s.traced("POST /api/notifications", s.limitAuth(s.limitPublish(s.publish)))))
	s.mux.Handle("GET /notifications", s.handle(s.limitAuth(s.list)))
	s.mux.Handle("GET /notifications/stream", s.handle(s.limitAuth(s.stream)))
	s.mux.Handle("GET /notifications/unread-count", s.handle(s.limitAuth(s.unreadCount)))
	s.mux.Handle("POST /notifications/{id}/read", s.handle(s.limitAuth(s.markRead)))
	s.mux.Handle("POST /notifications/{id}/unread", s.handle(s.limitAuth(s.markUnread)))
	s.mux.Handle("POST /notifications/read-all", s.handle(s.limitAuth(s.readAll)))
	s.mux.Handle("DELETE /notifications/{id}", s.handle(s.limitAuth(s.delete)))
	s.mux.Handle("GET /notifications/counts", s.handle(s.limitAuth(s.counts)))
	s.mux.Handle("POST /notifications/seen", s.handle(s.limitAuth(s.seen)))
	s.mux.Handle("POST /notifications/{id}/archive", s.handle(s.limitAuth(s.archive)))
	s.mux.Handle("POST /notifications/{id}/unarchive", s.handle(s.limitAuth(s.unarchive)))
	s.mux.Handle("POST /notifications/archive-all", s.handle(s.limitAuth(s.archiveAll)))
	s.mux.Handle("POST /notifications/{id}/actions/{action_id}", s.handle(s.limitAuth(s.act)))
	s.mux.Handle("GET /notifications/preferences", s.handle(s.limitAuth(s.userPreferences)))
	s.mux.Handle("PUT /notifications/preferences", s.handle(s.limitAuth(s.setUserPreferences)))
	s.mux.Handle("DELETE /api/users/{user_id}/notifications/{id}", s.handle(s.limitAuth(s.retract)))
	s.mux.Handle("GET /api/users/{user_id}/preferences", s.handle(s.limitAuth(s.appPreferences)))
	s.mux.Handle("PUT /api/users/{user_id}/preferences", s.handle(s.limitAuth(s.setAppPreferences)))
	s.mux.Handle("GET /notifications/push/key", s.handle(s.pushKey))
	s.mux.Handle("GET /notifications/push/subscriptions", s.handle(s.limitAuth(s.subscriptions)))
	s.mux.Handle("POST /notifications/push/subscriptions", s.handle(s.limitAuth(s.subscribe)))
	s.mux.Handle("DELETE /notifications/push/subscriptions", s.handle(s.limitAuth(s.unsubscribe)))
	s.mux.Handle("GET /api/presence", s.handle(s.limitAuth(s.presence)))
	s.mux.Handle("GET /api/webhooks/failed", s.handle(s.limitAuth(s.failedWebhooks)))
	s.mux.Handle("POST /api/webhooks/{id}/retry", s.handle(s.limitAuth(s.retryWebhook)))
	s.mux.Handle("GET /healthz", s.handle(s.healthz))
	s.mux.Handle("GET /readyz", s.handle(s.readyz))
	s.mux.Handle("GET /openapi.json", s.handle(s.openAPI))
	if s.cfg.Registry != nil {
		s.mux.Handle("GET /metrics", promhttp.HandlerFor(s.cfg.Registry,
			promhttp.HandlerOpts{ErrorLog: slog.NewLogLogger(s.log.Handler(), slog.LevelWarn)}))
	}
	s.pusherRoutes()
	s.adminRoutes()
	s.demoRoutes()
	if s.cfg.Assets != nil {
		s.mux.Handle("GET "+assetsPrefix, s.cfg.Assets)
		s.mux.Handle("GET /favicon.ico", s.cfg.Assets)
		if s.cfg.Demo { // the demo pages exist only in demo mode
			s.mux.Handle("GET /{$}", s.cfg.Assets)
			s.mux.Handle("GET /inbox", s.cfg.Assets)
		}
	}
}

// Handler returns the API's handler: routing, JSON 404 and 405, request
// logging (tokens redacted), metrics and panic recovery included.
func (s *Server) Handler() http.Handler { return http.HandlerFunc(s.serveHTTP) }

// Shutdown stops accepting streams (new ones and GET /readyz answer 503),
// ends every open stream of the Hub (clients reconnect and resume from
// their last id) and waits until every stream handler has returned or ctx
// ends. Call it before http.Server.Shutdown, which waits for handlers.
// Errors: ctx.Err() when ctx ended first.
func (s *Server) Shutdown(ctx context.Context) error {
	s.mu.Lock()
	s.closing = true
	s.mu.Unlock()
	s.hub.CloseAll()
	done := make(chan struct{})
	go func() { // ends when the last stream handler returns
		s.streams.Wait()
		close(done)
	}()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func finite(f float64) bool { return !math.IsNaN(f) && !math.IsInf(f, 0) }

func (s *Server) isClosing() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.closing
}

// handlerFunc is an endpoint: it returns an error instead of writing one,
// and the error is rendered in one place (writeError).
type handlerFunc func(w http.ResponseWriter, r *http.Request) error

func (s *Server) handle(h handlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		err := h(w, r)
		if err == nil {
			return
		}
		if rw, ok := w.(*responseWriter); ok && rw.wroteHeader {
			rw.err = err // a stream that already answered 200: logged only
			return
		}
		s.writeError(w, err)
	})
}
