package httpapi

import (
	"fmt"
	"log/slog"
	"net/http"
	"runtime/debug"
	"strings"
	"time"

	"github.com/belfry/belfry"
)

// serveHTTP is the outermost handler: it routes, turns the mux's 404 and
// 405 into the contract's JSON, recovers panics, counts and logs.
func (s *Server) serveHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	rw := &responseWriter{ResponseWriter: w}
	route := "unmatched"
	defer func() {
		if v := recover(); v != nil {
			if v == http.ErrAbortHandler {
				panic(v)
			}
			rw.err = fmt.Errorf("panic: %v\n%s", v, debug.Stack())
			if !rw.wroteHeader {
				s.writeError(rw, rw.err)
			}
		}
		s.metrics.requestCounter(route, rw.statusCode()).Inc()
		s.logRequest(r, rw, route, time.Since(start))
	}()

	if s.cors(rw, r) {
		route = "preflight"
		return
	}
	h, pattern := s.mux.Handler(r)
	if pattern != "" {
		route = pattern
		if strings.Contains(pattern, "{") || r.RequestURI == "*" {
			s.mux.ServeHTTP(rw, r) // matches again, for r.PathValue
			return
		}
		// No wildcards: the handler needs only r.Pattern, which the mux
		// would set, so the route is not matched a second time.
		r.Pattern = pattern
		h.ServeHTTP(rw, r)
		return
	}
	// No pattern: the mux would answer 404, 405 or a redirect to a cleaned
	// path. Let it decide, then answer in JSON.
	c := &capture{header: http.Header{}}
	h.ServeHTTP(c, r)
	switch c.status {
	case http.StatusMethodNotAllowed:
		allow := c.header.Get("Allow")
		rw.Header().Set("Allow", allow)
		s.writeError(rw, belfry.Errorf(belfry.EMETHOD, "method %s is not allowed here; allowed: %s", r.Method, allow))
	case http.StatusNotFound:
		s.writeError(rw, belfry.Errorf(belfry.ENOTFOUND, "no such endpoint"))
	default:
		for k, v := range c.header {
			rw.Header()[k] = v
		}
		rw.WriteHeader(c.status)
	}
}

func (s *Server) logRequest(r *http.Request, rw *responseWriter, route string, d time.Duration) {
	level := slog.LevelInfo
	status := rw.statusCode()
	switch {
	case belfry.ErrorCode(rw.err) == belfry.ESERVERFULL:
		level = slog.LevelWarn // a limit reached, not a failure (counted in belfry_streams_refused_total)
	case status >= 500:
		level = slog.LevelError
	case rw.err != nil && status < 400:
		level = slog.LevelWarn // a stream that ended on an error after its 200
	case route == "GET /healthz" || route == "GET /readyz" || route == "GET /metrics":
		level = slog.LevelDebug
	}
	if !s.log.Enabled(r.Context(), level) {
		return
	}
	attrs := []slog.Attr{
		slog.String("method", r.Method),
		slog.String("path", RedactedURI(r.URL)),
		slog.String("route", route),
		slog.Int("status", status),
		slog.Int64("bytes", rw.bytes),
		slog.Duration("duration", d),
		slog.String("remote", r.RemoteAddr),
		slog.String("proto", r.Proto),
	}
	if rw.err != nil {
		attrs = append(attrs, slog.String("err", rw.err.Error()))
	}
	s.log.LogAttrs(r.Context(), level, "http request", attrs...)
}

// responseWriter records the status, the bytes written and the error of a
// request for the log and the metrics. Unwrap lets http.ResponseController
// reach the real writer's Flush and SetWriteDeadline.
type responseWriter struct {
	http.ResponseWriter
	status      int
	bytes       int64
	wroteHeader bool
	err         error
}

func (w *responseWriter) WriteHeader(code int) {
	if !w.wroteHeader && code >= 200 {
		w.status = code
		w.wroteHeader = true
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *responseWriter) Write(b []byte) (int, error) {
	if !w.wroteHeader {
		w.status, w.wroteHeader = http.StatusOK, true
	}
	n, err := w.ResponseWriter.Write(b)
	w.bytes += int64(n)
	return n, err
}

// Unwrap returns the wrapped writer, for http.ResponseController.
func (w *responseWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

func (w *responseWriter) statusCode() int {
	if w.status == 0 {
		return http.StatusOK
	}
	return w.status
}

// capture takes the mux's own 404, 405 or redirect answer without sending
// it, so serveHTTP can answer in JSON instead.
type capture struct {
	header http.Header
	status int
}

func (c *capture) Header() http.Header { return c.header }

func (c *capture) WriteHeader(code int) {
	if c.status == 0 {
		c.status = code
	}
}

func (c *capture) Write(b []byte) (int, error) {
	if c.status == 0 {
		c.status = http.StatusOK
	}
	return len(b), nil
}
