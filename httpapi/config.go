package httpapi

import (
	"log/slog"
	"net/http"
	"time"

	"github.com/belfry/belfry"
	"github.com/prometheus/client_golang/prometheus"
)

// Config configures the HTTP API. Zero values take the defaults noted.
type Config struct {
	Inbox *belfry.Inbox // required
	Hub   *belfry.Hub   // required

	// JWTSecret verifies user tokens (HS256; sub = user id; exp required).
	JWTSecret []byte
	// APIKeys are the publishers' keys (compared in constant time).
	APIKeys []string
	// UserAuth, when set, resolves users that present no JWT (for example
	// by asking the app: --auth-url). Tried after the JWT sources.
	UserAuth UserAuth

	// Heartbeat is the interval of SSE comment lines. Default 20s.
	Heartbeat time.Duration
	// Retry is the reconnect delay sent in the stream's retry: line.
	// Default 2s.
	Retry time.Duration
	// RetryAfter is the Retry-After of 429 and 503 answers (a stream over
	// a limit, the store unavailable) whose handler set none: how long
	// the client should wait before it tries again. Rounded up to whole
	// seconds. Default 5s (DefaultRetryAfter).
	RetryAfter time.Duration
	// WriteTimeout bounds each write to a stream. Default 10s.
	WriteTimeout time.Duration

	// AllowOrigins are the web origins (scheme://host[:port]) allowed to
	// call the API from a browser on another origin (CORS, credentials
	// included); they are trusted by the cookie CSRF check too. Default:
	// none, same-origin only (mount belfry under the app's domain).
	AllowOrigins []string

	// DisableLean serves HTTP/1.1 streams the ordinary way (a goroutine
	// and net/http's buffers per stream) instead of hijacking the
	// connection and handing it to the Hub. HTTP/2 and TLS streams always
	// take the ordinary way, and so does every stream on systems other
	// than Unix. Default false: lean.
	DisableLean bool

	// SetupConcurrency bounds how many streams are set up at once: the
	// credential check, the first store reads and the replay. A stream
	// waits its turn before any of that, then holds its place only until
	// it is live. Default 64 (DefaultSetupConcurrency). When every client
	// reconnects at once, an unbounded setup has each of thousands of
	// handlers grow its goroutine stack in fresh memory and wait for the
	// store with it; see docs/PERFORMANCE.md (storm).
	SetupConcurrency int

	// Demo enables the demo-only endpoints (the demo page's publish form).
	Demo bool
	// Assets, when set, serves the browser files under /assets/ and the
	// demo page at / (see package web).
	Assets http.Handler

	Logger   *slog.Logger         // default slog.Default()
	Registry *prometheus.Registry // metrics are registered here; nil: no /metrics

	// Now is the clock that tokens are checked against, and that ends a
	// goroutine-path stream when its token expires. Default time.Now.
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
