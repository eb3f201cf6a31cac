package sse

import (
	"errors"
	"io"
	"strings"
	"testing"
	"time"
)

// reference parses s the way the HTML standard's algorithm reads, one
// step after another, with strings: the fuzz test holds Parser to it.
// pending: s ends inside an event.
func reference(s string) (evs []got, retry time.Duration, hasRetry bool, comments int, pending bool) {
	var lines []string
	for {
		i := strings.IndexAny(s, "\r\n")
		if i < 0 {
			break
		}
		lines = append(lines, s[:i])
		if s[i] == '\r' && i+1 < len(s) && s[i+1] == '\n' {
			i++
		}
		s = s[i+1:]
	}
	if len(lines) > 0 {
		lines[0] = strings.TrimPrefix(lines[0], "\uFEFF")
	}
	var data, typ, lastID string
	var hasData, idSince bool
	for _, line := range lines {
		switch {
		case line == "": // dispatch
			if hasData {
				if typ == "" {
					typ = "message"
				}
				evs = append(evs, got{typ, strings.TrimSuffix(data, "\n"), lastID, idSince})
				idSince = false
			}
			data, typ, hasData = "", "", false
			continue
		case line[0] == ':':
			comments++
			continue
		}
		field, value := line, ""
		if i := strings.IndexByte(line, ':'); i >= 0 {
			field, value = line[:i], strings.TrimPrefix(line[i+1:], " ")
		}
		switch field {
		case "event":
			typ = value
		case "data":
			data += value + "\n"
			hasData = true
		case "id":
			if !strings.Contains(value, "\x00") {
				lastID, idSince = value, true
			}
		case "retry":
			digits := value != "" && strings.Trim(value, "0123456789") == ""
			if ms := strings.TrimLeft(value, "0"); digits && (len(ms) < 10 || len(ms) == 10 && ms <= "2147483647") {
				n := 0
				for _, c := range ms {
					n = n*10 + int(c-'0')
				}
				retry, hasRetry = time.Duration(n)*time.Millisecond, true
			}
		}
	}
	return evs, retry, hasRetry, comments, s != "" || hasData || typ != ""
}

// pieceReader returns at most size bytes per read.
type pieceReader struct {
	s    string
	size int
}

func (r *pieceReader) Read(p []byte) (int, error) {
	if r.s == "" {
		return 0, io.EOF
	}
	n := copy(p[:min(len(p), r.size)], r.s)
	r.s = r.s[n:]
	return n, nil
}

// FuzzSSEParser feeds the stream at once, in pieces of the fuzzed size, and
// through a Reader, and compares all three with the reference.
func FuzzSSEParser(f *testing.F) {
	f.Add(stream, uint8(0))
	f.Add(stream, uint8(6))
	f.Add(benchFrame, uint8(3))
	f.Add("id: 1\nevent: e\ndata: d\n\n", uint8(1))
	f.Add(": c\r\nretry: 10\r\n\r\n", uint8(2))
	f.Add("\xEF\xBB\xBF\xEF\xBB\xBFdata\r\r\n\n", uint8(0))
	f.Add("data: a\r\n\r\ndata: b\r", uint8(0))
	f.Fuzz(func(t *testing.T, s string, size uint8) {
		wantEvs, retry, hasRetry, comments, pending := reference(s)
		check := func(how string, evs []got, p *Parser) {
			t.Helper()
			if len(evs) != len(wantEvs) {
				t.Fatalf("%s: got %d events %#v, want %d %#v", how, len(evs), evs, len(wantEvs), wantEvs)
			}
			for i := range evs {
				if evs[i] != wantEvs[i] {
					t.Fatalf("%s: event %d: got %#v, want %#v", how, i, evs[i], wantEvs[i])
				}
			}
			if d, ok := p.Retry(); d != retry || ok != hasRetry {
				t.Fatalf("%s: retry %v %v, want %v %v", how, d, ok, retry, hasRetry)
			}
			if p.Comments() != comments || p.Pending() != pending {
				t.Fatalf("%s: comments %d pending %v, want %d %v", how, p.Comments(), p.Pending(), comments, pending)
			}
		}
		evs, p := parseAll(t, s)
		check("at once", evs, p)
		evs, p = parseAll(t, s, int(size%32)+1)
		check("in pieces", evs, p)

		r := NewReader(&pieceReader{s: s, size: int(size%32) + 1})
		evs = evs[:0]
		for {
			ev, err := r.Next()
			if err != nil {
				want := io.EOF
				if pending {
					want = io.ErrUnexpectedEOF
				}
				if !errors.Is(err, want) {
					t.Fatalf("Reader: %v, want %v", err, want)
				}
				break
			}
			evs = append(evs, own(ev))
		}
		check("Reader", evs, &r.p)
	})
}
