package httpapi

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"time"
)

// The requests FastListener serves: a publish, and Pusher's events and
// batch events (their auth is in the query).
var fastPrefixes = []string{"POST /api/notifications ", "POST /api/notifications?", "POST /apps/"}

// fastPeekBytes is enough of a request to tell: the longest prefix.
const fastPeekBytes = 32

// fastStart reports whether the request that b begins is served fast;
// done is false while b is too short to tell.
func fastStart(b []byte) (fast, done bool) {
	for _, p := range fastPrefixes {
		switch {
		case len(b) >= len(p) && string(b[:len(p)]) == p:
			return true, true
		case len(b) < len(p) && string(b) == p[:len(b)]:
			return false, false
		}
	}
	return false, true
}

const (
	// fastBufBytes is a fast connection's read buffer; a request head
	// larger than this goes to net/http.
	fastBufBytes = 4 << 10
	// fastDrainBytes is the most of an unread body skipped to keep the
	// connection; past it the connection is closed.
	fastDrainBytes = 256 << 10
)

// fastConn is a connection FastListener serves: one request at a time,
// each parsed in place from the read buffer.
type fastConn struct {
	l      *FastListener
	nc     net.Conn
	br     *bufio.Reader
	remote string
	busy   atomic.Bool   // serving a request (FastListener.setBusy)
	tmpl   *http.Request // carries the connection's context
	body   fastBody
	w      fastWriter
	// The request, its header and the header's values are reused from
	// one request to the next, as body and w are: a request is done once
	// do has answered it, and nothing keeps it past that.
	req  fastRequest
	hdr  http.Header
	vals []string

	// tw tries each answer with non-blocking write(2) calls, as a lean
	// stream writes its events; nil where the descriptor cannot be had.
	tw *tcpConn

	// The read deadline armed now: the idle one, armed at idleAt, or
	// ReadTimeout's while a request is read (readArmed).
	idleAt    time.Time
	readArmed bool
}

func newFastConn(l *FastListener, c net.Conn) *fastConn {
	fc := &fastConn{l: l, nc: c, br: bufio.NewReaderSize(c, fastBufBytes), remote: c.RemoteAddr().String()}
	ctx := context.WithValue(context.Background(), http.LocalAddrContextKey, c.LocalAddr())
	fc.tmpl = (&http.Request{}).WithContext(ctx)
	fc.w.fc = fc
	fc.w.h = http.Header{}
	if rc, ok := c.(rawNetConn); ok {
		if tw, err := newTCPConn(rc); err == nil {
			fc.tw = tw
		}
	}
	return fc
}

// serve answers requests until the client leaves, one is not a fast one
// (the connection then goes to net/http), or the listener closes.
func (fc *fastConn) serve() {
	handedOver := false
	defer func() {
		fc.l.forget(fc)
		if !handedOver {
			fc.nc.Close()
		}
	}()
	for {
		if fc.br.Buffered() == 0 {
			fc.armIdle()
			if _, err := fc.br.Peek(1); err != nil {
				return
			}
		}
		fc.l.setBusy(fc, true)
		r, headLen, err := fc.readHead()
		if err != nil {
			return
		}
		if r == nil {
			fc.handOver()
			handedOver = true
			return
		}
		fc.br.Discard(headLen)
		if fc.body.n > int64(fc.br.Buffered()) {
			fc.armRead() // the body is still to come
		}
		if !fc.do(r) || !fc.l.setBusy(fc, false) {
			return
		}
	}
}

// readHead finds the next request's head in the read buffer and parses
// it, consuming nothing. It returns a nil request when the request is not
// one to serve here.
func (fc *fastConn) readHead() (*http.Request, int, error) {
	n := fc.br.Buffered()
	lineSeen := false
	for {
		if n > fc.br.Buffered() {
			fc.armRead()
		}
		b, err := fc.br.Peek(n)
		if !lineSeen {
			if i := bytes.IndexByte(b, '\n'); i >= 0 || len(b) >= fastPeekBytes {
				if fast, _ := fastStart(b); !fast {
					return nil, 0, nil
				}
				lineSeen = i >= 0
			}
		}
		if i := bytes.Index(b, []byte("\r\n\r\n")); i >= 0 {
			return fc.parseHead(b[:i+4]), i + 4, nil
		}
		if len(b) >= fastBufBytes || errors.Is(err, bufio.ErrBufferFull) {
			return nil, 0, nil // a large head: net/http's limits apply
		}
		if err != nil {
			return nil, 0, err
		}
		n = len(b) + 1
	}
}

// parseHead turns a request head into a request, or nil when anything in
// it is not plainly valid HTTP/1.1 of the kind served here: net/http then
// serves it, answering what it must (400, 417, 501…).
func (fc *fastConn) parseHead(head []byte) *http.Request {
	s := string(head) // every string of the request shares this one
	line, rest, _ := strings.Cut(s, "\r\n")
	method, line, ok1 := strings.Cut(line, " ")
	target, proto, ok2 := strings.Cut(line, " ")
	if !ok1 || !ok2 || proto != "HTTP/1.1" || method != http.MethodPost || target == "" || target[0] != '/' {
		return nil
	}
	fr := &fc.req
	*fr = fastRequest{}
	u := &fr.url
	if target == "/api/notifications" {
		u.Path = target
	} else {
		pu, err := url.ParseRequestURI(target)
		if err != nil {
			return nil
		}
		*u = *pu
	}
	rest = rest[:len(rest)-2] // the blank line
	lines := strings.Count(rest, "\r\n") + 1
	h := fc.hdr
	if h == nil {
		h = make(http.Header, lines)
		fc.hdr = h
	} else {
		clear(h)
	}
	if cap(fc.vals) < lines {
		fc.vals = make([]string, 0, lines)
	}
	vals := fc.vals[:0]
	var (
		host       string
		hosts      int
		length     int64 = -1
		closeAfter bool
	)
	for rest != "" {
		var l string
		l, rest, _ = strings.Cut(rest, "\r\n")
		name, value, ok := strings.Cut(l, ":")
		if !ok || !validToken(name) {
			return nil // also a folded line or a space before the colon
		}
		value = strings.Trim(value, " \t")
		if !validFieldValue(value) {
			return nil
		}
		key := name
		if !isCanonical(name) {
			key = http.CanonicalHeaderKey(name)
		}
		switch key {
		case "Host":
			host, hosts = value, hosts+1
		case "Content-Length":
			if length >= 0 || value == "" || len(value) > 18 || strings.Trim(value, "0123456789") != "" {
				return nil
			}
			length, _ = strconv.ParseInt(value, 10, 64)
		case "Connection":
			switch strings.ToLower(value) {
			case "close":
				closeAfter = true
			case "keep-alive":
			default:
				return nil
			}
		case "Transfer-Encoding", "Expect", "Upgrade", "Te", "Trailer":
			return nil
		}
		if key == "Host" {
			continue // r.Host, as net/http has it
		}
		if vs, ok := h[key]; ok {
			h[key] = append(vs, value)
		} else {
			vals = append(vals, value)
			h[key] = vals[len(vals)-1 : len(vals) : len(vals)]
		}
	}
	if hosts != 1 || !validHost(host) {
		return nil
	}
	r := &fr.Request
	*r = *fc.tmpl
	r.Method, r.URL, r.RequestURI, r.Host = method, u, target, host
	r.Proto, r.ProtoMajor, r.ProtoMinor = "HTTP/1.1", 1, 1
	r.Header, r.RemoteAddr, r.Close = h, fc.remote, closeAfter
	r.ContentLength = max(length, 0)
	fc.body = fastBody{r: fc.br, n: r.ContentLength}
	if r.ContentLength == 0 {
		r.Body = http.NoBody
	} else {
		r.Body = &fc.body
	}
	return r
}

// fastRequest is a request with room for its URL.
type fastRequest struct {
	http.Request
	url url.URL
}

// do serves r and answers it; false: close the connection.
func (fc *fastConn) do(r *http.Request) bool {
	w := &fc.w
	w.reset()
	if !fc.run(w, r) {
		return false
	}
	keep := !r.Close
	if fc.body.n > 0 { // the handler left part of the body unread
		if fc.body.n > fastDrainBytes {
			keep = false
		} else if _, err := io.Copy(io.Discard, &fc.body); err != nil {
			keep = false
		}
	}
	if w.h.Get("Connection") == "close" || fc.l.closed.Load() {
		keep = false
	}
	return w.finish(!keep) == nil && keep
}

// run calls the handler; false when it panicked (the connection is then
// closed without an answer, as net/http does).
func (fc *fastConn) run(w *fastWriter, r *http.Request) (ok bool) {
	defer func() {
		if v := recover(); v != nil {
			if v != http.ErrAbortHandler {
				fc.l.log.Error("http: panic serving "+fc.remote, "panic", v)
			}
			ok = false
		}
	}()
	fc.l.handler.ServeHTTP(w, r)
	return true
}

// A request that arrived whole, the common case for a publish, is read
// from the buffer alone: the connection then needs no deadline of its own
// beyond the idle one, and arming one (a timer change) at every request
// is skipped. The deadlines are:
//
//   - the idle one, IdleTimeout after the connection went idle, armed
//     while waiting for a request. It is left as it is when it was armed
//     less than idleSlack ago and no other deadline came in between, so
//     a busy connection may be closed up to that much early once idle.
//   - ReadTimeout's, armed before the first read(2) a request needs
//     beyond what the buffer holds: the rest of its head or its body.
//   - WriteTimeout's, armed only when the answer does not go out at once
//     (tcpConn.TryWrite) and has to wait for the peer.

// idleSlack is how long ago the idle deadline may have been armed and
// still be left as it is: a second, or a tenth of IdleTimeout if shorter.
func idleSlack(idle time.Duration) time.Duration {
	return min(time.Second, idle/10)
}

// armIdle arms the idle deadline while waiting for the next request.
func (fc *fastConn) armIdle() {
	now := time.Now()
	o := fc.l.o
	if !fc.readArmed && !fc.idleAt.IsZero() && now.Sub(fc.idleAt) < idleSlack(o.IdleTimeout) {
		return
	}
	fc.nc.SetReadDeadline(now.Add(o.IdleTimeout))
	fc.idleAt, fc.readArmed = now, false
}

// armRead arms ReadTimeout's deadline before a read(2) of a request.
func (fc *fastConn) armRead() {
	if fc.readArmed {
		return
	}
	fc.nc.SetReadDeadline(time.Now().Add(fc.l.o.ReadTimeout))
	fc.readArmed = true
}

// write writes an answer: non-blocking write(2) calls while the socket
// takes it, then, for what the peer's window did not take, the poller
// under WriteTimeout's deadline.
func (fc *fastConn) write(b []byte) error {
	if fc.tw != nil {
		n, err := fc.tw.TryWrite(b)
		if err != nil {
			return err
		}
		if b = b[n:]; len(b) == 0 {
			return nil
		}
	}
	fc.nc.SetWriteDeadline(time.Now().Add(fc.l.o.WriteTimeout))
	_, err := fc.nc.Write(b)
	// No deadline is left behind: a past one would fail the next
	// TryWrite before it writes.
	fc.nc.SetWriteDeadline(time.Time{})
	return err
}

// handOver gives the connection to net/http with the bytes already read.
func (fc *fastConn) handOver() {
	c := fc.nc
	if n := fc.br.Buffered(); n > 0 {
		b, _ := fc.br.Peek(n)
		c = &primedConn{Conn: c, pre: bytes.Clone(b)}
	}
	c.SetDeadline(time.Time{})
	fc.l.forget(fc)
	fc.l.give(c)
}

// fastBody is a request's body: the next n bytes of the connection.
type fastBody struct {
	r *bufio.Reader
	n int64
}

func (b *fastBody) Read(p []byte) (int, error) {
	if b.n <= 0 {
		return 0, io.EOF
	}
	if int64(len(p)) > b.n {
		p = p[:b.n]
	}
	k, err := b.r.Read(p)
	b.n -= int64(k)
	if err == io.EOF && b.n > 0 {
		err = io.ErrUnexpectedEOF
	}
	return k, err
}

func (b *fastBody) Close() error { return nil }

// primedConn is a connection handed to net/http after some of it was
// read: those bytes come first. It keeps the descriptor reachable, so the
// connection can still become a lean stream.
type primedConn struct {
	net.Conn
	pre []byte
}

func (c *primedConn) Read(b []byte) (int, error) {
	if len(c.pre) > 0 {
		n := copy(b, c.pre)
		c.pre = c.pre[n:]
		if len(c.pre) == 0 {
			c.pre = nil
		}
		return n, nil
	}
	return c.Conn.Read(b)
}

func (c *primedConn) SyscallConn() (syscall.RawConn, error) {
	sc, ok := c.Conn.(syscall.Conn)
	if !ok {
		return nil, errors.ErrUnsupported
	}
	return sc.SyscallConn()
}

// CloseWrite lets net/http end a connection gracefully.
func (c *primedConn) CloseWrite() error {
	if cw, ok := c.Conn.(interface{ CloseWrite() error }); ok {
		return cw.CloseWrite()
	}
	return c.Conn.Close()
}

// validToken reports whether s is an RFC 9110 token (a header name).
func validToken(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 0x80 || !tokenChars[c] {
			return false
		}
	}
	return true
}

var tokenChars = func() (t [128]bool) {
	for c := '0'; c <= '9'; c++ {
		t[c] = true
	}
	for c := 'a'; c <= 'z'; c++ {
		t[c], t[c-'a'+'A'] = true, true
	}
	for _, c := range "!#$%&'*+-.^_`|~" {
		t[c] = true
	}
	return t
}()

// validFieldValue: no control characters but tab.
func validFieldValue(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < ' ' && c != '\t' || c == 0x7f {
			return false
		}
	}
	return true
}

// validHost: a host and port, or an IP literal; nothing that could be
// read as a path, user info or a second header.
func validHost(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c <= ' ' || c >= 0x7f || strings.IndexByte(`/?#@\"<>{}|^`+"`", c) >= 0 {
			return false
		}
	}
	return true
}

// isCanonical reports whether name is already in canonical form
// (Content-Length, not content-length), the common case.
func isCanonical(name string) bool {
	upper := true
	for i := 0; i < len(name); i++ {
		c := name[i]
		switch {
		case upper && 'a' <= c && c <= 'z', !upper && 'A' <= c && c <= 'Z':
			return false
		}
		upper = c == '-'
	}
	return true
}
