package main

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"strconv"
	"strings"
	"time"
)

// sseEvent is one dispatched Server-Sent Event.
type sseEvent struct {
	ID    string // the stream's last event id after this event ("" if none yet)
	HasID bool   // the event itself carried an id: line
	Event string // "message" when the event had no event: line
	Data  string // data: lines joined with "\n"
}

// maxSSELine bounds one line of the stream, so a broken server cannot make
// the client buffer without end.
const maxSSELine = 1 << 20

var errSSELineTooLong = errors.New("sse: line too long")

// sseReader parses a text/event-stream as the HTML standard describes it:
// comment lines (":") are skipped, "field: value" loses one leading space,
// data lines are joined with newlines, an event is dispatched at a blank
// line and only if it has data, and the last event id persists across
// events. Lines end in "\n" or "\r\n" (a lone "\r" is not treated as an end,
// which no server of ours sends).
type sseReader struct {
	r       *bufio.Reader
	lastID  string
	retry   time.Duration // the latest retry: value, 0 if none
	onLine  func()        // called after every line read, comments included
	scratch []byte
}

func newSSEReader(r io.Reader, lastID string) *sseReader {
	return &sseReader{r: bufio.NewReaderSize(r, 16<<10), lastID: lastID}
}

// readLine returns the next line without its end of line.
func (p *sseReader) readLine() ([]byte, error) {
	p.scratch = p.scratch[:0]
	for {
		chunk, err := p.r.ReadSlice('\n')
		p.scratch = append(p.scratch, chunk...)
		if len(p.scratch) > maxSSELine {
			return nil, errSSELineTooLong
		}
		if err == bufio.ErrBufferFull {
			continue
		}
		if err != nil {
			if err == io.EOF && len(p.scratch) > 0 {
				// A last line without its end: the event is incomplete.
				return nil, io.ErrUnexpectedEOF
			}
			return nil, err
		}
		if p.onLine != nil {
			p.onLine()
		}
		line := bytes.TrimSuffix(p.scratch[:len(p.scratch)-1], []byte{'\r'})
		return line, nil
	}
}

// Next returns the next event. At the end of the stream it returns io.EOF
// (or io.ErrUnexpectedEOF when the stream stopped inside an event).
func (p *sseReader) Next() (sseEvent, error) {
	var (
		data    strings.Builder
		hasData bool
		ev      sseEvent
	)
	for {
		line, err := p.readLine()
		if err != nil {
			if err == io.EOF && (hasData || ev.Event != "") {
				err = io.ErrUnexpectedEOF
			}
			return sseEvent{}, err
		}
		if len(line) == 0 {
			if !hasData {
				ev = sseEvent{} // nothing to dispatch; the id, if any, stays
				continue
			}
			ev.ID, ev.Data = p.lastID, data.String()
			if ev.Event == "" {
				ev.Event = "message"
			}
			return ev, nil
		}
		if line[0] == ':' {
			continue
		}
		field, value, _ := bytes.Cut(line, []byte{':'})
		value = bytes.TrimPrefix(value, []byte{' '})
		switch string(field) {
		case "event":
			ev.Event = string(value)
		case "data":
			if hasData {
				data.WriteByte('\n')
			}
			data.Write(value)
			hasData = true
		case "id":
			if bytes.IndexByte(value, 0) < 0 {
				p.lastID = string(value)
				ev.HasID = true
			}
		case "retry":
			if ms, err := strconv.ParseUint(string(value), 10, 31); err == nil {
				p.retry = time.Duration(ms) * time.Millisecond
			}
		}
	}
}
