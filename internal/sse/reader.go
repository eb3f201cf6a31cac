package sse

import (
	"io"
	"time"
)

// readerBuf is what Reader reads at a time: a few events of belfry's.
const readerBuf = 4 << 10

// Reader reads the events of a stream from an io.Reader with a Parser.
type Reader struct {
	rd   io.Reader
	buf  []byte
	r, w int
	err  error // the read error, returned once buf is used up
	p    Parser
}

// NewReader returns a Reader of rd's event stream (the body of a
// text/event-stream response).
func NewReader(rd io.Reader) *Reader {
	return &Reader{rd: rd, buf: make([]byte, readerBuf)}
}

// Next returns the next event; its slices are valid until the next call.
// Errors: io.EOF when the stream ended between events,
// io.ErrUnexpectedEOF when it ended inside one (which is dropped),
// ErrLineTooLong, or rd's error.
func (r *Reader) Next() (Event, error) {
	for {
		if r.r < r.w {
			n, ev, ok, err := r.p.Parse(r.buf[r.r:r.w])
			r.r += n
			if err != nil {
				return Event{}, err
			}
			if ok {
				return ev, nil
			}
			continue
		}
		if r.err != nil {
			if r.err == io.EOF && r.p.Pending() {
				return Event{}, io.ErrUnexpectedEOF
			}
			return Event{}, r.err
		}
		r.r = 0
		r.w, r.err = r.rd.Read(r.buf)
	}
}

// Retry returns the stream's last valid retry: value; ok is false when
// the server sent none.
func (r *Reader) Retry() (d time.Duration, ok bool) { return r.p.Retry() }
