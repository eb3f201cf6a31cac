package bench

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"strconv"

	"github.com/belfry/belfry/internal/sse"
)

// maxLine bounds one line of a response head; a longer line is an error
// rather than unbounded memory. (sse.MaxLine bounds the stream's lines.)
const maxLine = 1 << 20

// errChunk reports a malformed chunked body.
var errChunk = errors.New("malformed chunked encoding")

// eventReader reads an HTTP/1.1 response head and then the SSE stream of
// its body from one small buffer. Chunked transfer encoding is undone in
// place as bytes arrive, so no second buffer is needed; the body's bytes
// go to an sse.Parser, which copies only what an event keeps.
type eventReader struct {
	rd   io.Reader
	buf  []byte
	r, w int
	lim  int // buf[r:lim] is whole lines, for the parser; 0 after a fill

	chunked bool
	cs      chunkState
	bodyEnd bool // the last chunk was read

	skipLF bool   // the previous head line ended in CR: drop a following LF
	long   []byte // a head line longer than buf, assembled here
	p      sse.Parser
}

// newEventReader returns a reader of rd with a buffer of size bytes.
func newEventReader(rd io.Reader, size int) *eventReader {
	return &eventReader{rd: rd, buf: make([]byte, size)}
}

// readHead reads the status line and headers. It returns the status code
// and the Content-Type, and switches to chunked decoding when the response
// says so. Errors: a malformed head, or the connection's error.
func (e *eventReader) readHead() (status int, contentType string, err error) {
	line, err := e.readLine()
	if err != nil {
		return 0, "", err
	}
	// "HTTP/1.1 200 OK"
	if len(line) < 12 || !bytes.HasPrefix(line, []byte("HTTP/1.")) || line[8] != ' ' {
		return 0, "", fmt.Errorf("bad status line %q", truncate(line, 64))
	}
	status, err = strconv.Atoi(string(line[9:12]))
	if err != nil {
		return 0, "", fmt.Errorf("bad status line %q", truncate(line, 64))
	}
	chunked := false // set once the head is consumed: fill must not decode the head's last LF
	for {
		line, err := e.readLine()
		if err != nil {
			return 0, "", err
		}
		if len(line) == 0 {
			break
		}
		k, v, ok := bytes.Cut(line, []byte(":"))
		if !ok {
			continue
		}
		v = bytes.TrimSpace(v)
		switch {
		case bytes.EqualFold(k, []byte("Transfer-Encoding")):
			chunked = bytes.Contains(bytes.ToLower(v), []byte("chunked"))
		case bytes.EqualFold(k, []byte("Content-Type")):
			contentType = string(v)
		}
	}
	// The blank line ended in CR; its LF must not reach the chunked decoder.
	if e.skipLF {
		if e.r == e.w {
			if err := e.fill(); err != nil {
				return 0, "", err
			}
		}
		if e.buf[e.r] == '\n' {
			e.r++
		}
		e.skipLF = false
	}
	e.chunked = chunked
	if e.chunked && e.r < e.w {
		n, err := e.dechunk(e.buf[e.r:e.w])
		if err != nil {
			return 0, "", err
		}
		e.w = e.r + n
	}
	return status, contentType, nil
}

// Next returns the next dispatched event; its slices are valid until the
// next call. The parser counts comments and keeps retry: values. Errors:
// io.EOF when the stream ended, sse.ErrLineTooLong, or the connection's
// error.
func (e *eventReader) Next() (sse.Event, error) {
	for {
		if e.lim <= e.r && e.r < e.w {
			// The parser is given whole lines only: the start of an
			// unfinished line stays in buf, where fill moves it to the
			// front, so the parser keeps no copy of it (no second buffer
			// per stream) unless a line outgrows buf.
			e.lim = e.w
			if e.r > 0 || e.w < len(e.buf) {
				e.lim = e.r + lastEOL(e.buf[e.r:e.w]) + 1
			}
		}
		if e.r < e.lim {
			n, ev, ok, err := e.p.Parse(e.buf[e.r:e.lim])
			e.r += n
			if err != nil {
				return sse.Event{}, err
			}
			if ok {
				return ev, nil
			}
			continue
		}
		if err := e.fill(); err != nil {
			return sse.Event{}, err
		}
	}
}

// lastEOL returns the index of the last CR or LF in b, or -1.
func lastEOL(b []byte) int {
	for i := len(b) - 1; i >= 0; i-- {
		if b[i] == '\n' || b[i] == '\r' {
			return i
		}
	}
	return -1
}

// readLine returns the next line of the response head without its
// ending. The slice is valid until the next call.
func (e *eventReader) readLine() ([]byte, error) {
	e.long = e.long[:0]
	for {
		if e.skipLF && e.r < e.w {
			if e.buf[e.r] == '\n' {
				e.r++
			}
			e.skipLF = false
		}
		if e.r < e.w {
			seg := e.buf[e.r:e.w]
			if i := indexEOL(seg); i >= 0 {
				e.skipLF = seg[i] == '\r'
				e.r += i + 1
				if len(e.long) > 0 {
					e.long = append(e.long, seg[:i]...)
					return e.long, nil
				}
				return seg[:i], nil
			}
			if e.r == 0 && e.w == len(e.buf) { // a line longer than the buffer
				if len(e.long)+len(seg) > maxLine {
					return nil, fmt.Errorf("line longer than %d bytes", maxLine)
				}
				e.long = append(e.long, seg...)
				e.r, e.w = 0, 0
			}
		}
		if err := e.fill(); err != nil {
			return nil, err
		}
	}
}

// indexEOL returns the index of the first CR or LF in b, or -1.
func indexEOL(b []byte) int {
	for i, c := range b {
		if c == '\n' || c == '\r' {
			return i
		}
	}
	return -1
}

// fill moves unread bytes to the front and reads more.
func (e *eventReader) fill() error {
	e.lim = 0
	if e.r > 0 {
		e.w = copy(e.buf, e.buf[e.r:e.w])
		e.r = 0
	}
	for {
		if e.bodyEnd {
			return io.EOF
		}
		n, err := e.rd.Read(e.buf[e.w:])
		if n > 0 && e.chunked {
			var derr error
			n, derr = e.dechunk(e.buf[e.w : e.w+n])
			if derr != nil {
				return derr
			}
		}
		e.w += n
		if n > 0 {
			return nil
		}
		if err != nil {
			return err
		}
	}
}

// chunkState is where the chunked decoder is between reads.
type chunkState struct {
	state uint8
	n     int64 // the chunk size being parsed, or the bytes left of the chunk
}

const (
	csSize   = iota // hex digits of a chunk size
	csExt           // a chunk extension, up to LF
	csSizeLF        // CR seen after the size
	csData          // n bytes of data
	csDataCR        // CR after the data
	csDataLF        // LF after the data
	csDone          // the last chunk: the body is over
)

// dechunk undoes chunked encoding in p in place: it moves the data bytes to
// the front of p and returns how many there are.
func (e *eventReader) dechunk(p []byte) (int, error) {
	cs := &e.cs
	m := 0
	for i := 0; i < len(p); {
		c := p[i]
		switch cs.state {
		case csSize:
			switch {
			case '0' <= c && c <= '9':
				cs.n = cs.n<<4 | int64(c-'0')
			case 'a' <= c && c <= 'f':
				cs.n = cs.n<<4 | int64(c-'a'+10)
			case 'A' <= c && c <= 'F':
				cs.n = cs.n<<4 | int64(c-'A'+10)
			case c == ';' || c == ' ' || c == '\t':
				cs.state = csExt
			case c == '\r':
				cs.state = csSizeLF
			case c == '\n':
				e.endSize()
			default:
				return 0, errChunk
			}
			if cs.n > 1<<40 {
				return 0, errChunk
			}
			i++
		case csExt:
			if c == '\n' {
				e.endSize()
			}
			i++
		case csSizeLF:
			if c != '\n' {
				return 0, errChunk
			}
			e.endSize()
			i++
		case csData:
			k := int(min(cs.n, int64(len(p)-i)))
			m += copy(p[m:], p[i:i+k])
			i += k
			cs.n -= int64(k)
			if cs.n == 0 {
				cs.state = csDataCR
			}
		case csDataCR:
			switch c {
			case '\r':
				cs.state = csDataLF
			case '\n':
				cs.state = csSize
			default:
				return 0, errChunk
			}
			i++
		case csDataLF:
			if c != '\n' {
				return 0, errChunk
			}
			cs.state = csSize
			i++
		case csDone:
			return m, nil // trailers and beyond: the body is over
		}
	}
	return m, nil
}

func (e *eventReader) endSize() {
	if e.cs.n == 0 {
		e.cs.state = csDone
		e.bodyEnd = true
		return
	}
	e.cs.state = csData
}

func truncate(b []byte, n int) []byte {
	if len(b) > n {
		return b[:n]
	}
	return b
}
