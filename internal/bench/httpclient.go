package bench

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"syscall"
	"time"
)

const (
	requestTimeout = 30 * time.Second // one request, dial included (net/http's Client.Timeout before)
	dialTimeout    = 10 * time.Second
	// maxIdle: a connection idle this long is closed rather than reused.
	// Servers' idle timeouts are usually longer (belfry: 120 s), so we do
	// not write a request just as the server gives the connection up.
	maxIdle = 30 * time.Second
	maxBody = 1 << 20 // response body read at most; beyond, the connection is dropped
	msgKeep = 256     // response body bytes kept for error messages
)

// httpTarget is where requests go and the head lines they all share.
type httpTarget struct {
	addr  string // host:port to dial
	lines []byte // "Host: …\r\n…": every header but Content-Length, each line ending in CRLF
	close bool   // the headers ask the server to close after each answer
}

// httpConn is a lean HTTP/1.1 keep-alive client over one TCP connection,
// used by one goroutine for one request at a time. The request goes out in
// one write and the response is read by the same goroutine: no reader and
// writer goroutines handing it over, as net/http's Transport has, which
// cost the load generator about as much CPU per publish as the server's
// work for it.
//
// It does not resend a request. A reused connection is checked before the
// request is written (idle for less than maxIdle, nothing unread, no FIN
// or RST from the server waiting in the socket); if the check fails it is
// replaced by a fresh one. Once any byte of a request is written, a failure
// is the request's: an EOF before the answer may mean the server closed an
// idle connection just as the request arrived, but it may as well mean that
// the server read the request, published, and died before answering, and a
// resent publish would be counted twice. So there is a (narrow) window in
// which a server's idle close fails a request; net/http does not resend a
// POST in that case either.
type httpConn struct {
	ctx context.Context // the run: when it ends, the connection is closed
	t   *httpTarget

	conn    net.Conn
	raw     syscall.RawConn
	br      *bufio.Reader
	stop    func() bool // unregisters the close on ctx's end
	idle    time.Time   // when the last answer was read
	timeout time.Duration

	wbuf []byte
	msg  []byte // the start of the last response body, for error messages

	peekFn  func(fd uintptr) bool // made once: a closure per request would be an allocation
	peekN   int
	peekErr error
	peekBuf [1]byte
}

func newHTTPConn(ctx context.Context, t *httpTarget) *httpConn {
	c := &httpConn{ctx: ctx, t: t, timeout: requestTimeout, msg: make([]byte, 0, msgKeep)}
	c.peekFn = func(fd uintptr) bool {
		c.peekN, c.peekErr = peekFD(fd, c.peekBuf[:])
		return true
	}
	return c
}

// post sends a POST of body to target (the request target: path and
// query) and reads the answer. It returns the status and the first bytes
// of the body, valid until the next post. A malformed or cut body after
// the head still returns the status (and drops the connection). Errors:
// dialing, writing, a malformed or missing response head, the deadline,
// or the run's end.
func (c *httpConn) post(target, body []byte) (status int, msg []byte, err error) {
	if err := c.ctx.Err(); err != nil {
		return 0, nil, err
	}
	deadline := time.Now().Add(c.timeout)
	if c.conn != nil {
		_ = c.conn.SetDeadline(deadline)
		if !c.reusable() {
			c.close()
		}
	}
	if c.conn == nil {
		if err := c.dial(deadline); err != nil {
			return 0, nil, c.fail(err)
		}
	}
	c.wbuf = c.appendRequest(c.wbuf[:0], target, body)
	if _, err := c.conn.Write(c.wbuf); err != nil {
		c.close()
		return 0, nil, c.fail(fmt.Errorf("writing the request: %w", err))
	}
	status, keep, err := c.readResponse()
	if err != nil {
		c.close()
		return 0, nil, c.fail(fmt.Errorf("reading the answer: %w", err))
	}
	if keep {
		c.idle = time.Now()
	} else {
		c.close()
	}
	return status, c.msg, nil
}

func (c *httpConn) appendRequest(b, target, body []byte) []byte {
	b = append(b, "POST "...)
	b = append(b, target...)
	b = append(b, " HTTP/1.1\r\n"...)
	b = append(b, c.t.lines...)
	b = append(b, "Content-Length: "...)
	b = strconv.AppendInt(b, int64(len(body)), 10)
	b = append(b, "\r\n\r\n"...)
	return append(b, body...)
}

func (c *httpConn) dial(deadline time.Time) error {
	d := net.Dialer{Timeout: dialTimeout, Deadline: deadline}
	conn, err := d.DialContext(c.ctx, "tcp", c.t.addr)
	if err != nil {
		return err
	}
	tc, ok := conn.(*net.TCPConn)
	if !ok {
		conn.Close()
		return fmt.Errorf("dial %s: not a TCP connection", c.t.addr)
	}
	if c.raw, err = tc.SyscallConn(); err != nil {
		conn.Close()
		return err
	}
	_ = conn.SetDeadline(deadline)
	c.stop = context.AfterFunc(c.ctx, func() { conn.Close() })
	if c.br == nil {
		c.br = bufio.NewReaderSize(conn, 4096)
	} else {
		c.br.Reset(conn)
	}
	c.conn = conn
	return nil
}

// reusable reports whether the idle connection can take a request: not
// idle too long, nothing unread, and the server has neither closed it nor
// sent anything unasked (a 408, say) since the last answer. The socket is
// peeked without blocking: one system call.
func (c *httpConn) reusable() bool {
	if time.Since(c.idle) >= maxIdle || c.br.Buffered() > 0 {
		return false
	}
	if err := c.raw.Read(c.peekFn); err != nil {
		return false
	}
	// EAGAIN: open and quiet. n == 0 without an error is the server's FIN;
	// n > 0 bytes nobody asked for; any other error (ECONNRESET) a reset.
	return c.peekErr == syscall.EAGAIN
}

// close closes the connection; the next post dials a new one.
func (c *httpConn) close() {
	if c.conn == nil {
		return
	}
	c.stop()
	c.conn.Close()
	c.conn, c.raw = nil, nil
}

// fail is the error for err, naming the run's end when that was the cause.
func (c *httpConn) fail(err error) error {
	if ctxErr := c.ctx.Err(); ctxErr != nil {
		return fmt.Errorf("publish: %w", ctxErr)
	}
	return fmt.Errorf("publish to %s: %w", c.t.addr, err)
}

// respHead is what a response head says about the body and the connection.
type respHead struct {
	status  int
	length  int64 // Content-Length, -1 if none
	chunked bool
	coded   bool // a Transfer-Encoding other than chunked last: the body ends at close
	close   bool
}

// readResponse reads the head and the body of the answer, skipping 1xx
// interim answers. keep reports whether the connection may carry another
// request. Errors come from the head only: a body that is cut or malformed
// after a valid head makes keep false, as the status was given.
func (c *httpConn) readResponse() (status int, keep bool, err error) {
	var h respHead
	for {
		if h, err = c.readHead(); err != nil {
			return 0, false, err
		}
		if h.status >= 200 {
			break
		}
		if h.status == 101 {
			return 0, false, errors.New("server switched protocols (101)")
		}
	}
	c.msg = c.msg[:0]
	keep = !h.close && !c.t.close
	switch {
	case h.status == 204 || h.status == 304: // no body, whatever the head says
	case h.chunked:
		keep = c.readChunked() == nil && keep
	case h.coded || h.length < 0:
		_ = c.readToEOF()
		keep = false
	case h.length > maxBody:
		_ = c.readBody(msgKeep)
		keep = false
	default:
		keep = c.readBody(h.length) == nil && keep
	}
	return h.status, keep, nil
}

// readHead reads a status line and headers. Errors: the connection's, or
// a malformed head.
func (c *httpConn) readHead() (h respHead, err error) {
	line, err := c.readLine()
	if err != nil {
		return h, err
	}
	// "HTTP/1.1 200 OK"
	if len(line) < 12 || string(line[:7]) != "HTTP/1." || line[8] != ' ' || (len(line) > 12 && line[12] != ' ') {
		return h, fmt.Errorf("bad status line %q", truncate(line, 64))
	}
	for _, d := range line[9:12] {
		if d < '0' || d > '9' {
			return h, fmt.Errorf("bad status line %q", truncate(line, 64))
		}
		h.status = h.status*10 + int(d-'0')
	}
	keepAlive := line[7] != '0' // HTTP/1.0 closes unless it says keep-alive
	h.length = -1
	for {
		line, err := c.readLine()
		if err != nil {
			return h, err
		}
		if len(line) == 0 {
			break
		}
		name, v, ok := cutHeader(line)
		if !ok {
			return h, fmt.Errorf("bad header line %q", truncate(line, 64))
		}
		switch {
		case eqFold(name, "Content-Length"):
			n, ok := parseDec(v)
			if !ok || (h.length >= 0 && n != h.length) {
				return h, fmt.Errorf("bad Content-Length %q", truncate(v, 64))
			}
			h.length = n
		case eqFold(name, "Transfer-Encoding"):
			h.chunked = eqFold(lastToken(v), "chunked")
			h.coded = !h.chunked
		case eqFold(name, "Connection"):
			h.close = h.close || hasToken(v, "close")
			keepAlive = keepAlive || hasToken(v, "keep-alive")
		}
	}
	h.close = h.close || !keepAlive
	return h, nil
}

// readLine returns the next line without its CRLF or LF; it is valid
// until the next read. A line longer than the buffer is an error.
func (c *httpConn) readLine() ([]byte, error) {
	line, err := c.br.ReadSlice('\n')
	if err == bufio.ErrBufferFull {
		return nil, errors.New("response head line too long")
	}
	if err == io.EOF && len(line) > 0 {
		err = io.ErrUnexpectedEOF
	}
	if err != nil {
		return nil, err
	}
	line = line[:len(line)-1]
	if n := len(line); n > 0 && line[n-1] == '\r' {
		line = line[:n-1]
	}
	return line, nil
}

// readBody consumes n body bytes, keeping the first ones in msg.
func (c *httpConn) readBody(n int64) error {
	if k := min(n, int64(cap(c.msg)-len(c.msg))); k > 0 {
		at := len(c.msg)
		c.msg = c.msg[:at+int(k)]
		if _, err := io.ReadFull(c.br, c.msg[at:]); err != nil {
			c.msg = c.msg[:at]
			return err
		}
		n -= k
	}
	_, err := c.br.Discard(int(n))
	return err
}

// readChunked consumes a chunked body and its trailers.
func (c *httpConn) readChunked() error {
	total := int64(0)
	for {
		line, err := c.readLine()
		if err != nil {
			return err
		}
		size, ok := parseHex(line)
		if !ok {
			return errChunk
		}
		if size == 0 {
			break
		}
		if total += size; total > maxBody {
			return errors.New("response body too long")
		}
		if err := c.readBody(size); err != nil {
			return err
		}
		if line, err := c.readLine(); err != nil || len(line) != 0 {
			return errChunk
		}
	}
	for { // trailers, up to the blank line
		line, err := c.readLine()
		if err != nil || len(line) == 0 {
			return err
		}
	}
}

// readToEOF consumes a body that ends when the server closes.
func (c *httpConn) readToEOF() error {
	for total := 0; total < maxBody; {
		var n int
		var err error
		if len(c.msg) < cap(c.msg) {
			n, err = c.br.Read(c.msg[len(c.msg):cap(c.msg)])
			c.msg = c.msg[:len(c.msg)+n]
		} else {
			n, err = c.br.Discard(4096)
		}
		total += n
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
	}
	return errors.New("response body too long")
}

// cutHeader splits "Name: value", trimming the value's spaces and tabs.
func cutHeader(line []byte) (name, value []byte, ok bool) {
	for i, b := range line {
		if b == ':' {
			return line[:i], trimOWS(line[i+1:]), i > 0
		}
	}
	return nil, nil, false
}

func trimOWS(b []byte) []byte {
	for len(b) > 0 && (b[0] == ' ' || b[0] == '\t') {
		b = b[1:]
	}
	for len(b) > 0 && (b[len(b)-1] == ' ' || b[len(b)-1] == '\t') {
		b = b[:len(b)-1]
	}
	return b
}

// eqFold reports whether b equals the ASCII string s, ignoring case.
func eqFold(b []byte, s string) bool {
	if len(b) != len(s) {
		return false
	}
	for i := range b {
		x, y := b[i], s[i]
		if 'A' <= x && x <= 'Z' {
			x += 'a' - 'A'
		}
		if 'A' <= y && y <= 'Z' {
			y += 'a' - 'A'
		}
		if x != y {
			return false
		}
	}
	return true
}

// hasToken reports whether the comma-separated list v holds tok.
func hasToken(v []byte, tok string) bool {
	for len(v) > 0 {
		i := 0
		for i < len(v) && v[i] != ',' {
			i++
		}
		if eqFold(trimOWS(v[:i]), tok) {
			return true
		}
		if i == len(v) {
			break
		}
		v = v[i+1:]
	}
	return false
}

// lastToken is the last element of the comma-separated list v.
func lastToken(v []byte) []byte {
	for i := len(v) - 1; i >= 0; i-- {
		if v[i] == ',' {
			return trimOWS(v[i+1:])
		}
	}
	return trimOWS(v)
}

// parseDec parses a Content-Length: decimal digits only, at most 18.
func parseDec(b []byte) (int64, bool) {
	if len(b) == 0 || len(b) > 18 {
		return 0, false
	}
	var n int64
	for _, d := range b {
		if d < '0' || d > '9' {
			return 0, false
		}
		n = n*10 + int64(d-'0')
	}
	return n, true
}

// parseHex parses a chunk-size line, ignoring chunk extensions.
func parseHex(line []byte) (int64, bool) {
	var n int64
	k := 0
	for ; k < len(line); k++ {
		d := line[k]
		switch {
		case '0' <= d && d <= '9':
			d -= '0'
		case 'a' <= d && d <= 'f':
			d -= 'a' - 10
		case 'A' <= d && d <= 'F':
			d -= 'A' - 10
		default:
			rest := trimOWS(line[k:])
			return n, k > 0 && (len(rest) == 0 || rest[0] == ';')
		}
		if k >= 15 {
			return 0, false
		}
		n = n<<4 | int64(d)
	}
	return n, k > 0
}
