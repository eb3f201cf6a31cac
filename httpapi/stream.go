package httpapi

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/belfry/belfry/hub"

	"github.com/belfry/belfry"
)

// ParseLastEventID reads the id a client resumes after: the Last-Event-ID
// header, else the last_event_id query parameter (EventSource sends the
// header on reconnects; a fresh page can only use the query). An empty
// value means a fresh stream (resume false).
// Errors: EINVALID (not a non-negative integer).
func ParseLastEventID(r *http.Request) (id int64, resume bool, err error) {
	v := r.Header.Get("Last-Event-ID")
	if v == "" {
		v = r.URL.Query().Get("last_event_id")
	}
	return parseEventID(v)
}

func parseEventID(v string) (int64, bool, error) {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0, false, nil
	}
	id, err := strconv.ParseInt(v, 10, 64)
	if err != nil || id < 0 || v[0] == '+' {
		return 0, false, belfry.Errorf(belfry.EINVALID, "Last-Event-ID must be a non-negative integer")
	}
	return id, true, nil
}

// stream answers GET /notifications/stream with the SSE stream: retry
// line, replay after Last-Event-ID, sync, then live events and heartbeats,
// until the client leaves, the token expires, the stream is cut as slow,
// or the server shuts down.
func (s *Server) stream(w http.ResponseWriter, r *http.Request) error {
	t := s.cfg.Tracer
	if t == nil {
		return s.serveStream(w, r, nil)
	}
	const name = "GET /notifications/stream"
	ctx, sp := t.Start(t.Continue(r.Context(), r.Header.Get), name, belfry.SpanServer)
	setRequest(sp, r, name)
	st := &streamTrace{sp: sp}
	err := s.serveStream(w, r.WithContext(ctx), st)
	st.end(w, err) // the setup ended on an error, or the stream before the Hub said so
	return err
}

// serveStream is stream; st, when not nil, is the span of the setup,
// ended when the stream is set up.
func (s *Server) serveStream(w http.ResponseWriter, r *http.Request, st *streamTrace) error {
	rc := http.NewResponseController(w)
	// A stream reads nothing more, so the server's ReadTimeout must not
	// apply to it. net/http already clears it for HTTP/1's background
	// read; this keeps that true whatever server serves the handler.
	_ = rc.SetReadDeadline(time.Time{})

	// A full node answers at once, before the request costs a credential
	// check or waits for a place; the Hub decides again, exactly, when it
	// attaches the stream.
	if err := s.hub.CheckRoom(); err != nil {
		return err
	}
	// The credential is checked before the wait for a setup place, which
	// is for the store reads and the replay: an --auth-url app that is
	// slow to answer must not hold the places of users with a JWT.
	p, err := s.authUserAside(r)
	if err != nil {
		return err
	}
	lastID, resume, err := ParseLastEventID(r)
	if err != nil {
		return err
	}
	if st != nil {
		st.sp.SetString("belfry.user_id", p.user)
		if resume {
			st.sp.SetInt("belfry.last_event_id", lastID)
		}
	}
	// A resume waits for one of its user's replay places, then every
	// stream for a setup place; neither wait holds anything else. The
	// setup place is given back before the first write that can wait on
	// the client, the replay place once the replay is written.
	replayed := func() {}
	if resume {
		release, err := s.hub.EnterReplay(r.Context(), p.user)
		if err != nil {
			return err
		}
		replayed = sync.OnceFunc(release)
	}
	defer replayed()
	if err := s.enterSetup(r.Context()); err != nil {
		return err
	}
	leave := sync.OnceFunc(s.leaveSetup)
	defer leave()
	setUp := leave
	if st != nil {
		setUp = func() { leave(); st.end(nil, nil) }
	}

	s.mu.Lock()
	if s.closing {
		s.mu.Unlock()
		return belfry.Errorf(belfry.EUNAVAILABLE, "the server is shutting down")
	}
	s.streams.Add(1)
	s.mu.Unlock()
	defer s.streams.Done()

	if lean, err := s.streamLean(w, r, p, lastID, resume, setUp, replayed); lean {
		return openError(err) // nil once the Hub owns the connection
	}

	// The same stream engine as the lean path, written through a pipe that
	// this goroutine empties into the ResponseWriter (HTTP/2, TLS). The
	// token's expiry is checked here, on the server's clock (Config.Now).
	ctx := r.Context()
	pipe, err := s.hub.OpenPipe(ctx, p.user, lastID, resume, hub.Options{Replayed: replayed})
	if err != nil {
		return openError(err)
	}
	// end is why the stream ends, counted by the Hub (a cut by the Hub,
	// slow or shutdown, has already counted its own).
	end := hub.ErrStreamClosed
	defer func() { pipe.End(end) }()
	if s.isClosing() { // Shutdown's CloseAll may have run before Open attached
		return belfry.Errorf(belfry.EUNAVAILABLE, "the server is shutting down")
	}
	setUp() // set up: the loop below runs for the stream's life

	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-cache")
	h.Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	if r.Method == http.MethodHead {
		return nil
	}
	retry := "retry: " + strconv.FormatInt(s.cfg.Retry.Milliseconds(), 10) + "\n\n"
	if err := s.write(w, rc, []byte(retry)); err != nil {
		end = err
		return err
	}

	for {
		idle := time.Minute
		if !p.expires.IsZero() {
			idle = p.expires.Sub(s.now())
			if idle <= 0 {
				end = hub.ErrTokenExpired
				return s.write(w, rc, hub.EncodeTokenExpired().Bytes)
			}
		}
		b, err := pipe.Next(ctx, idle)
		if err != nil {
			end = err
			return streamEnd(err)
		}
		if b == nil {
			continue // woke for the token's expiry
		}
		if err := s.write(w, rc, b); err != nil {
			end = err
			return err
		}
	}
}

// openError maps the Hub's refusal to attach after CloseAll to 503, like
// the other errors of opening a stream (the store's EUNAVAILABLE).
func openError(err error) error {
	if errors.Is(err, hub.ErrShutdown) {
		return belfry.Errorf(belfry.EUNAVAILABLE, "the server is shutting down")
	}
	return err
}

// enterSetup waits for a place among the streams being set up
// (Config.SetupConcurrency); leaveSetup gives it back. It waits on a
// shallow stack: the store reads and the token check grow a goroutine's
// stack (the SQLite driver, encoding/json inside the JWT parser; the
// check runs on a goroutine of its own, see authUserAside), and when ten
// thousand clients reconnect at once, thousands of grown stacks waiting
// together took fresh memory page by page, the dearest part of the storm.
// Errors: EUNAVAILABLE when the client leaves while waiting.
func (s *Server) enterSetup(ctx context.Context) error {
	select {
	case s.setup <- struct{}{}:
		return nil
	default:
	}
	s.setupWaiting.Add(1)
	defer s.setupWaiting.Add(-1)
	select {
	case s.setup <- struct{}{}:
		return nil
	case <-ctx.Done():
		return belfry.Unavailable("stream setup", ctx.Err())
	}
}

func (s *Server) leaveSetup() { <-s.setup }

// streamEnd says which ends of Pipe.Next are clean: the client left, the
// stream was cut as slow (it resumes on reconnect), or shutdown.
func streamEnd(err error) error {
	switch {
	case errors.Is(err, hub.ErrSlowStream), errors.Is(err, hub.ErrShutdown),
		errors.Is(err, hub.ErrStreamClosed), errors.Is(err, hub.ErrClientGone),
		errors.Is(err, hub.ErrTokenExpired), errors.Is(err, context.Canceled),
		errors.Is(err, context.DeadlineExceeded):
		return nil
	}
	return err // EUNAVAILABLE: logged; the client reconnects
}

// write sends one batch within the write timeout, flushes it, and clears
// the deadline again (HTTP/2 resets a stream whose deadline passes even
// while it is idle).
func (s *Server) write(w http.ResponseWriter, rc *http.ResponseController, b []byte) error {
	if err := rc.SetWriteDeadline(time.Now().Add(s.hub.WriteTimeout())); err != nil && !errors.Is(err, http.ErrNotSupported) {
		return err
	}
	if _, err := w.Write(b); err != nil {
		return err
	}
	if err := rc.Flush(); err != nil {
		return err
	}
	if err := rc.SetWriteDeadline(time.Time{}); err != nil && !errors.Is(err, http.ErrNotSupported) {
		return err
	}
	return nil
}
