package sse

import (
	"bytes"
	"errors"
	"math"
	"time"
)

// MaxLine bounds one line of a stream, so that a broken or hostile server
// cannot make a client buffer without end.
const MaxLine = 1 << 20

// ErrLineTooLong reports a line longer than MaxLine.
var ErrLineTooLong = errors.New("sse: line longer than 1 MiB")

// Event is one dispatched event. Its slices belong to the Parser: they are
// valid until the next call to Parse (or Reader.Next) and must not be
// modified.
type Event struct {
	Type []byte // the event: field; "message" when the event had none
	Data []byte // the data: fields, joined with "\n"
	// ID is the last event id at dispatch: this event's id: field, or the
	// latest one before it ("" if none yet).
	ID []byte
	// HasID tells that an id: field was read since the previous event was
	// dispatched, so ID is new (an id: in a block without data takes
	// effect, but only the next dispatched event shows it).
	HasID bool
}

// Parser turns the bytes of an event stream into events. Feed it the
// stream in pieces of any size, in order; it keeps what a piece left
// unfinished. The zero Parser is ready to use; it allocates only while
// its buffers grow to the stream's longest line and event.
type Parser struct {
	line     []byte // the start of a line that an earlier piece did not end
	data     []byte
	typ      []byte
	id       []byte
	hasData  bool          // a data: field was read (data may still be empty)
	hasID    bool          // an id: field was read since the last dispatch
	started  bool          // the first line is behind (it alone may start with a BOM)
	skipLF   bool          // the last line ended in CR: an LF right after belongs to it
	reset    bool          // an event was dispatched: the next Parse empties its buffers
	hasRetry bool          // retry holds a value
	tooLong  bool          // a line was too long: the stream is broken past it
	retry    time.Duration // the last valid retry: field
	comments int
}

var (
	bom         = []byte("\xEF\xBB\xBF")
	messageType = []byte("message")
)

// Parse reads b up to the end of the line that dispatches an event, or to
// its end. It returns how many bytes it consumed and, when ok, the event
// (valid until the next call). Call it again with b[n:] (or with the next
// piece of the stream once b is used up). Errors: ErrLineTooLong, after
// which every call returns it again.
func (p *Parser) Parse(b []byte) (n int, ev Event, ok bool, err error) {
	if p.tooLong {
		return 0, Event{}, false, ErrLineTooLong
	}
	if p.reset {
		p.data, p.typ = p.data[:0], p.typ[:0]
		p.hasData, p.hasID, p.reset = false, false, false
	}
	// lf is the index of the next LF at or after n, or len(b): found once
	// per LF, so a stream of lone CRs is not scanned again for every line.
	lf := -1
	for n < len(b) {
		if p.skipLF {
			p.skipLF = false
			if b[n] == '\n' {
				n++
				continue
			}
		}
		if lf < n {
			lf = bytes.IndexByte(b[n:], '\n')
			if lf < 0 {
				lf = len(b)
			} else {
				lf += n
			}
		}
		end := lf // the line ends at the first CR or LF
		if i := bytes.IndexByte(b[n:lf], '\r'); i >= 0 {
			end = n + i
		}
		if end == len(b) { // no line end: keep the start for the next piece
			if len(p.line)+len(b)-n > MaxLine {
				p.tooLong = true
				return len(b), Event{}, false, ErrLineTooLong
			}
			p.line = append(p.line, b[n:]...)
			return len(b), Event{}, false, nil
		}
		line := b[n:end]
		p.skipLF = b[end] == '\r'
		n = end + 1
		if len(p.line) > 0 {
			line = append(p.line, line...)
			p.line = line[:0]
		}
		if len(line) > MaxLine {
			p.tooLong = true
			return n, Event{}, false, ErrLineTooLong
		}
		if p.processLine(line) {
			p.reset = true
			ev = Event{Type: p.typ, Data: p.data, ID: p.id, HasID: p.hasID}
			if len(ev.Type) == 0 {
				ev.Type = messageType
			}
			return n, ev, true, nil
		}
	}
	return n, Event{}, false, nil
}

// processLine applies one line and reports whether it dispatches an event.
func (p *Parser) processLine(line []byte) bool {
	if !p.started {
		p.started = true
		line = bytes.TrimPrefix(line, bom)
	}
	if len(line) == 0 {
		if !p.hasData { // nothing to dispatch; the event type resets too
			p.typ = p.typ[:0]
			return false
		}
		return true
	}
	if line[0] == ':' {
		p.comments++
		return false
	}
	field, value, found := bytes.Cut(line, []byte{':'})
	if found && len(value) > 0 && value[0] == ' ' {
		value = value[1:]
	}
	switch string(field) { // no allocation: the compiler special-cases this
	case "data":
		if p.hasData {
			p.data = append(p.data, '\n')
		}
		p.data = append(p.data, value...)
		p.hasData = true
	case "event":
		p.typ = append(p.typ[:0], value...)
	case "id":
		if bytes.IndexByte(value, 0) < 0 {
			p.id = append(p.id[:0], value...)
			p.hasID = true
		}
	case "retry":
		if d, ok := parseRetry(value); ok {
			p.retry, p.hasRetry = d, true
		}
	}
	return false
}

// parseRetry reads a retry: value: ASCII digits only, in milliseconds, at
// most math.MaxInt32 (24 days); anything else is ignored.
func parseRetry(v []byte) (time.Duration, bool) {
	if len(v) == 0 {
		return 0, false
	}
	var ms int64
	for _, c := range v {
		if c < '0' || c > '9' {
			return 0, false
		}
		ms = min(ms*10+int64(c-'0'), math.MaxInt32+1)
	}
	if ms > math.MaxInt32 {
		return 0, false
	}
	return time.Duration(ms) * time.Millisecond, true
}

// Retry returns the stream's last valid retry: value, the reconnection
// delay the server asks for; ok is false when it sent none.
func (p *Parser) Retry() (d time.Duration, ok bool) { return p.retry, p.hasRetry }

// Comments returns how many comment lines (heartbeats) were read.
func (p *Parser) Comments() int { return p.comments }

// Pending reports whether the bytes so far end inside an event: in an
// unfinished line, or after data: or event: fields not yet dispatched. At
// the end of a stream that event is dropped; a caller may want to say so.
func (p *Parser) Pending() bool {
	if p.reset {
		return false
	}
	return len(p.line) > 0 || p.hasData || len(p.typ) > 0
}
