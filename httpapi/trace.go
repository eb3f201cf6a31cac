package httpapi

import (
	"net/http"
	"strings"
	"sync"

	"github.com/belfry/belfry"
)

// traced wraps a handler in a server span named name that continues the
// caller's trace (its traceparent header) and ends with the handler: the
// method, the route and the status it answered (or will, for an error
// that handle renders). Without Config.Tracer it returns h itself.
func (s *Server) traced(name string, h handlerFunc) handlerFunc {
	t := s.cfg.Tracer
	if t == nil {
		return h
	}
	return func(w http.ResponseWriter, r *http.Request) error {
		ctx, sp := t.Start(t.Continue(r.Context(), r.Header.Get), name, belfry.SpanServer)
		setRequest(sp, r, name)
		err := h(w, r.WithContext(ctx))
		sp.SetInt("http.response.status_code", int64(answered(w, err)))
		sp.End(err)
		return err
	}
}

// setRequest sets the request's attributes; name is the route's pattern
// ("GET /notifications/stream", which HEAD requests take too).
func setRequest(sp belfry.Span, r *http.Request, name string) {
	_, route, _ := strings.Cut(name, " ")
	sp.SetString("http.request.method", r.Method)
	sp.SetString("http.route", route)
	sp.SetString("url.path", r.URL.Path)
}

// answered is the status of a handler's answer: the one written, else
// the one handle will write for err.
func answered(w http.ResponseWriter, err error) int {
	if rw, ok := w.(*responseWriter); ok && rw.wroteHeader {
		return rw.status
	}
	if err != nil {
		return StatusOf(belfry.ErrorCode(err))
	}
	return http.StatusOK
}

// streamTrace is the span of a stream's setup: from the request to the
// moment the stream is set up (its replay and sync queued, its setup
// place given back), or to the error that ended it first.
type streamTrace struct {
	sp   belfry.Span
	once sync.Once
}

// end ends the span once; later calls do nothing. Safe for concurrent
// use (a lean stream's setup ends on the Hub's goroutine).
func (t *streamTrace) end(w http.ResponseWriter, err error) {
	t.once.Do(func() {
		if w != nil {
			t.sp.SetInt("http.response.status_code", int64(answered(w, err)))
		}
		t.sp.End(err)
	})
}
