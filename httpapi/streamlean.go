package httpapi

import (
	"bytes"
	"net/http"
	"strconv"

	"github.com/belfry/belfry"
)

// streamLean serves an HTTP/1.1 stream without keeping a goroutine or
// net/http's buffers for it: it hijacks the connection, writes the response
// head itself, lets the Hub write the replay and the sync event on this
// goroutine, and returns; from then on the Hub owns the connection. It
// reports false, having done nothing, where that is not possible (HTTP/2,
// TLS, a connection without a file descriptor, lean streams disabled), and
// the caller serves the ordinary way.
func (s *Server) streamLean(w http.ResponseWriter, r *http.Request, p principal, lastID int64, resume bool) bool {
	if s.cfg.DisableLean || r.ProtoMajor != 1 || r.TLS != nil || r.Method != http.MethodGet {
		return false
	}
	rc := http.NewResponseController(w)
	conn, brw, err := rc.Hijack()
	if err != nil {
		return false
	}
	rawc, ok := conn.(rawNetConn)
	if !ok {
		// Hijacked but not writable without a goroutine: serve it over
		// the ordinary path is no longer possible, so close it; the
		// client reconnects. Only exotic listeners get here.
		conn.Close()
		return true
	}
	c, err := newTCPConn(rawc)
	if err != nil {
		conn.Close()
		return true
	}
	brw.Reader.Reset(nil) // a stream reads nothing more from the client
	if rw, ok := w.(*responseWriter); ok {
		rw.status, rw.wroteHeader = http.StatusOK, true
	}
	if err := c.WriteAll(s.leanHead(w.Header()), s.cfg.WriteTimeout); err != nil {
		conn.Close()
		return true
	}
	s.hub.OpenLean(p.user, lastID, resume, c, belfry.LeanOptions{
		Expires: p.expires, Heartbeat: s.cfg.Heartbeat, WriteTimeout: s.cfg.WriteTimeout})
	return true
}

// leanHead is the response head and the retry line. The body is delimited
// by the connection's close (Connection: close), as an SSE stream never
// ends otherwise; headers the middleware set (CORS, say) are kept.
func (s *Server) leanHead(h http.Header) []byte {
	var b bytes.Buffer
	b.WriteString("HTTP/1.1 200 OK\r\n")
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-cache")
	h.Set("X-Accel-Buffering", "no")
	h.Set("Connection", "close")
	h.Del("Content-Length")
	_ = h.Write(&b)
	b.WriteString("\r\nretry: ")
	b.WriteString(strconv.FormatInt(s.cfg.Retry.Milliseconds(), 10))
	b.WriteString("\n\n")
	return b.Bytes()
}
