package httpapi

import (
	"log/slog"
	"net/http"
	"time"
)

// HTTPOptions configure NewHTTPServer. Zero values take the defaults noted.
type HTTPOptions struct {
	Addr string // the listen address, e.g. ":8080"
	// H2C also accepts HTTP/2 without TLS (prior knowledge), for a proxy
	// that speaks h2c to belfry. HTTP/1.1 is always served, and HTTP/2
	// over TLS whenever the server runs with TLS.
	H2C bool
	// ReadHeaderTimeout bounds reading a request's headers. Default 10s.
	ReadHeaderTimeout time.Duration
	// ReadTimeout bounds reading a whole request (publish bodies are at
	// most 64 KiB). Default 30s. Streams lift it for themselves.
	ReadTimeout time.Duration
	// WriteTimeout bounds writing an ordinary response. Default 60s.
	// Streams lift it and set their own deadline around each write.
	WriteTimeout time.Duration
	// IdleTimeout closes keep-alive connections idle this long. Default 120s.
	IdleTimeout time.Duration
	// Logger receives the server's own errors (TLS handshakes, panics) at
	// Warn. Default slog.Default().
	Logger *slog.Logger
}

// NewHTTPServer returns an *http.Server for h with timeouts that protect
// the server from slow clients without ending SSE streams, serving
// HTTP/1.1 and HTTP/2 (over TLS, and h2c when o.H2C).
func NewHTTPServer(h http.Handler, o HTTPOptions) *http.Server {
	o = o.withDefaults()
	p := new(http.Protocols)
	p.SetHTTP1(true)
	p.SetHTTP2(true)
	p.SetUnencryptedHTTP2(o.H2C)
	return &http.Server{
		Addr:              o.Addr,
		Handler:           h,
		Protocols:         p,
		ReadHeaderTimeout: o.ReadHeaderTimeout,
		ReadTimeout:       o.ReadTimeout,
		WriteTimeout:      o.WriteTimeout,
		IdleTimeout:       o.IdleTimeout,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(o.Logger.Handler(), slog.LevelWarn),
	}
}

// withDefaults fills in the zero fields.
func (o HTTPOptions) withDefaults() HTTPOptions {
	if o.ReadHeaderTimeout <= 0 {
		o.ReadHeaderTimeout = 10 * time.Second
	}
	if o.ReadTimeout <= 0 {
		o.ReadTimeout = 30 * time.Second
	}
	if o.WriteTimeout <= 0 {
		o.WriteTimeout = 60 * time.Second
	}
	if o.IdleTimeout <= 0 {
		o.IdleTimeout = 120 * time.Second
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	return o
}
