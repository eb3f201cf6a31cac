package httpapi

import (
	"log/slog"
	"net/http"
	"net/netip"
	"time"

	"github.com/belfry/belfry/hub"

	"github.com/belfry/belfry"
	"github.com/prometheus/client_golang/prometheus"
)

// Config configures the HTTP API. Zero values take the defaults noted.
type Config struct {
	Inbox *belfry.Inbox // required
	Hub   *hub.Hub      // required

	// JWTSecret verifies user tokens (HS256; sub = user id; exp required).
	JWTSecret []byte
	// APIKeys are the publishers' keys (compared in constant time).
	APIKeys []string
	// IdempotencyWindow is how long a publish's Idempotency-Key is
	// remembered. Default 24h (DefaultIdempotencyWindow).
	IdempotencyWindow time.Duration
	// UserAuth, when set, resolves users that present no JWT (for example
	// by asking the app: --auth-url, AuthURL). Tried after the JWT
	// sources. It bounds its own waits (AuthURLConfig.Concurrency): a
	// stream holds no setup place while it runs.
	UserAuth UserAuth

	// The heartbeat interval and the write timeout of streams are the
	// Hub's (hub.Config.Heartbeat, hub.Config.WriteTimeout).

	// Retry is the reconnect delay sent in the stream's retry: line.
	// Default 2s.
	Retry time.Duration
	// RetryAfter is the Retry-After of 429 and 503 answers (a stream over
	// a limit, the store unavailable) whose handler set none: how long
	// the client should wait before it tries again. Rounded up to whole
	// seconds. Default 5s (DefaultRetryAfter).
	RetryAfter time.Duration

	// Tracer, when set, records a server span for each publish (POST
	// /api/notifications, the Inbox's spans its children) and for each
	// stream's setup, continuing the caller's traceparent. Default nil:
	// off, at no cost.
	Tracer belfry.Tracer

	// AllowOrigins are the web origins (scheme://host[:port]) allowed to
	// call the API from a browser on another origin (CORS, credentials
	// included); they are trusted by the cookie CSRF check too. Default:
	// none, same-origin only (mount belfry under the app's domain).
	AllowOrigins []string

	// DisableLean serves HTTP/1.1 streams through a hub.Pipe that the
	// handler's goroutine writes to the ResponseWriter (a goroutine and
	// net/http's buffers per stream) instead of hijacking the connection
	// and handing it to the Hub. HTTP/2 and TLS streams always take the
	// pipe, and so does every stream on systems other than Unix. Either
	// way the stream is the same hub.Stream. Default false: lean.
	DisableLean bool

	// SetupConcurrency bounds how many streams are set up at once: the
	// first store reads. A stream's credential is checked first, outside
	// this bound (a UserAuth that is slow to answer holds no place); then
	// the stream waits its turn, and holds its place only until its first
	// write that can wait on the client. Default 64 (DefaultSetupConcurrency). When every
	// client reconnects at once, an unbounded setup has each of thousands
	// of handlers grow its goroutine stack in fresh memory and wait for
	// the store with it; see docs/PERFORMANCE.md (storm).
	SetupConcurrency int

	// AuthFailRate limits failed authentications per client address
	// (ratelimit.go): an address may spend AuthFailBurst failures at
	// once, refilled at AuthFailRate per second; with none left, its
	// requests carrying a credential that is not recognized cheaply (a
	// JWT signed with JWTSecret, expired or not, or an API key) are
	// answered 429 rate_limited with Retry-After, unchecked. Default 2
	// per second and a burst of 30 (DefaultAuthFailRate,
	// DefaultAuthFailBurst); a negative rate turns the limit off. A
	// request carries a credential when it has an Authorization or
	// X-API-Key header, the token cookie or ?token=, or, with UserAuth
	// set, any cookie (what AuthURL forwards); a UserAuth that reads
	// other headers is not limited.
	AuthFailRate  float64
	AuthFailBurst int
	// AuthFailMaxAddrs bounds the addresses tracked; when it is reached
	// the one charged least recently is forgotten. Default 65,536
	// (DefaultAuthFailMaxAddrs).
	AuthFailMaxAddrs int
	// TrustedProxies are the proxies (e.g. 127.0.0.1/32 for an nginx on
	// the same host) whose X-Forwarded-For, or X-Real-IP, names the
	// client for AuthFailRate. Default none: the peer address is the
	// client, and those headers are ignored.
	TrustedProxies []netip.Prefix
	// PublishRate limits each API key to this many POST
	// /api/notifications requests per second, with a burst of
	// PublishBurst; over it the answer is 429 rate_limited with
	// Retry-After, and nothing is stored. Default 0: no limit.
	// PublishBurst defaults to PublishRate rounded up (at least 1).
	PublishRate  float64
	PublishBurst int

	// Pusher, when set, serves Pusher's HTTP API for an app's Pusher
	// server SDK (pusher.go); nil: those paths answer 404. PublishRate
	// and PublishBurst limit its key too, in a bucket of its own.
	Pusher *PusherConfig
	// Admin, when set, serves the operator page at /admin (admin.go);
	// nil: /admin answers 404.
	Admin *AdminConfig

	// Demo enables the demo-only endpoints (the demo page's publish form).
	// Presence answers GET /api/presence; nil: 503 there.
	Presence belfry.Presence
	// PushKey is the VAPID public key (base64url) that GET
	// /notifications/push/key answers; "" turns push subscriptions off.
	PushKey string
	// CheckEndpoint vets a push subscription's endpoint (webpush.Policy);
	// nil refuses every endpoint. Errors: EINVALID.
	CheckEndpoint func(endpoint string) error

	Demo bool
	// Assets, when set, serves the browser files under /assets/ and
	// /favicon.ico, and with Demo the demo page at / and its sample link's
	// page at /inbox (see package web).
	Assets http.Handler

	Logger   *slog.Logger         // default slog.Default()
	Registry *prometheus.Registry // metrics are registered here; nil: no /metrics

	// Now is the clock that tokens are checked against, that ends a
	// goroutine-path stream when its token expires, and that refills the
	// rate limits. Default time.Now.
	// Write deadlines, heartbeats and a lean stream's expiry timer always
	// use the real clock.
	Now func() time.Time
}

// UserAuth resolves the user a request acts for, when it has no JWT.
// It returns the user id and when the credential expires (zero: never).
// Errors: EUNAUTHORIZED (no or bad credential), EUNAVAILABLE (the app that
// answers who the user is cannot be reached).
type UserAuth interface {
	User(r *http.Request) (user string, expires time.Time, err error)
}
