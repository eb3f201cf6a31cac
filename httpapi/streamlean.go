package httpapi

import (
	"bytes"
	"net/http"
	"strconv"

	"github.com/belfry/belfry/hub"
)

// streamLean serves an HTTP/1.1 stream without keeping a goroutine or
// net/http's buffers for it: it attaches the stream (a store that is down
// still gets a 503), hijacks the connection, lets the Hub write the
// response head (see leanHead), the replay and the sync event on this
// goroutine, and returns; from then on the Hub owns the connection. It
// reports false, having done nothing, where that is not possible (HTTP/2,
// TLS, a connection without a file descriptor, lean streams disabled), and
// the caller serves the stream through a hub.Pipe.
//
// setUp gives back the stream's setup place and replayed its user's replay
// place (see Options); both are safe to call more than once.
func (s *Server) streamLean(w http.ResponseWriter, r *http.Request, p principal, lastID int64, resume bool,
	setUp, replayed func()) (bool, error) {
	if s.cfg.DisableLean || r.ProtoMajor != 1 || r.TLS != nil || r.Method != http.MethodGet {
		return false, nil
	}
	rc := http.NewResponseController(w)
	ls, err := s.hub.Attach(r.Context(), p.user, lastID, resume, hub.Options{
		Expires: p.expires, SetUp: setUp, Replayed: replayed, Head: s.leanHead(w.Header().Clone())})
	if err != nil {
		return true, err
	}
	conn, brw, err := rc.Hijack()
	if err != nil {
		ls.Close()
		return false, nil
	}
	rawc, ok := conn.(rawNetConn)
	var c *tcpConn
	if ok {
		c, err = newTCPConn(rawc)
	}
	if !ok || err != nil {
		// Hijacked but without a descriptor to write to (an exotic
		// listener): the ordinary path is gone, so close; the client
		// reconnects.
		ls.Close()
		conn.Close()
		return true, nil
	}
	brw.Reader.Reset(nil) // a stream reads nothing more from the client
	if rw, ok := w.(*responseWriter); ok {
		rw.status, rw.wroteHeader = http.StatusOK, true
	}
	// Before Start, while nothing else has the connection: a hangup
	// reported at once (the client already left) closes the stream,
	// whose Start then closes the connection.
	c.watchHangup(func() { ls.End(hub.ErrClientGone) })
	ls.Start(c)
	return true, nil
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
