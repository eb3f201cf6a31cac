package bench

import (
	"fmt"
	"io"
	"strings"
	"testing"
	"testing/iotest"
	"time"
)

type gotEvent struct{ typ, data, id string }

// readAll parses a whole response (head and body) and returns its events.
func readAll(t *testing.T, r io.Reader, bufSize int) ([]gotEvent, *eventReader) {
	t.Helper()
	er := newEventReader(r, bufSize)
	status, ct, err := er.readHead()
	if err != nil || status != 200 || ct != "text/event-stream" {
		t.Fatalf("head: %d %q %v", status, ct, err)
	}
	var out []gotEvent
	for {
		ev, err := er.Next()
		if err == io.EOF {
			return out, er
		}
		if err != nil {
			t.Fatalf("Next: %v", err)
		}
		out = append(out, gotEvent{string(ev.Type), string(ev.Data), string(ev.ID)})
	}
}

// chunk encodes body as chunks of at most n bytes.
func chunk(body string, n int) string {
	var b strings.Builder
	for len(body) > 0 {
		k := min(n, len(body))
		fmt.Fprintf(&b, "%x\r\n%s\r\n", k, body[:k])
		body = body[k:]
	}
	b.WriteString("0\r\n\r\n")
	return b.String()
}

const plainHead = "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n\r\n"
const chunkedHead = "HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\nTransfer-Encoding: chunked\r\n\r\n"

// The SSE body of the parser tests, and what it holds.
const sseBody = "\xEF\xBB\xBFretry: 1500\n\n" +
	": a comment\n" +
	"id: 1\r\nevent: new-notification\r\ndata: {\"a\":1}\r\n\r\n" + // CRLF
	"data: line one\rdata: line two\r\r" + // CR alone
	"id: 7\nevent: custom\ndata:no space\ndata:  two spaces\n\n" +
	"event: nothing\n\n" + // no data: not dispatched, type reset
	"data\n\n" + // a field with no colon: empty data, dispatched
	"id: bad\x00id\ndata: x\n\n" + // an id with NUL is ignored
	"data: last\n\n"

var sseWant = []gotEvent{
	{"new-notification", `{"a":1}`, "1"},
	{"message", "line one\nline two", "1"},
	{"custom", "no space\n two spaces", "7"},
	{"message", "", "7"},
	{"message", "x", "7"},
	{"message", "last", "7"},
}

func checkEvents(t *testing.T, got []gotEvent) {
	t.Helper()
	if len(got) != len(sseWant) {
		t.Fatalf("got %d events %q, want %d", len(got), got, len(sseWant))
	}
	for i := range got {
		if got[i] != sseWant[i] {
			t.Errorf("event %d: got %q, want %q", i, got[i], sseWant[i])
		}
	}
}

func TestSSEEventReader(t *testing.T) {
	for _, tc := range []struct {
		name string
		resp string
		r    func(io.Reader) io.Reader
		buf  int
	}{
		{"plain", plainHead + sseBody, nil, 2048},
		{"plain one byte at a time", plainHead + sseBody, iotest.OneByteReader, 2048},
		{"chunked", chunkedHead + chunk(sseBody, 40), nil, 2048},
		{"chunked one byte at a time", chunkedHead + chunk(sseBody, 7), iotest.OneByteReader, 2048},
		{"chunked half reads", chunkedHead + chunk(sseBody, 1000), iotest.HalfReader, 64},
		{"lines longer than the buffer", plainHead + sseBody, nil, 16},
		{"chunked, small buffer, one byte", chunkedHead + chunk(sseBody, 3), iotest.OneByteReader, 16},
		// A CRLF head whose LF arrives in a later read than its CR.
		{"head split in its last CRLF", plainHead + sseBody, func(r io.Reader) io.Reader {
			return &splitReader{r: r, at: len(plainHead) - 1}
		}, 2048},
		{"chunked head split in its last CRLF", chunkedHead + chunk(sseBody, 50), func(r io.Reader) io.Reader {
			return &splitReader{r: r, at: len(chunkedHead) - 1}
		}, 2048},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var r io.Reader = strings.NewReader(tc.resp)
			if tc.r != nil {
				r = tc.r(r)
			}
			got, er := readAll(t, r, tc.buf)
			checkEvents(t, got)
			if retry, _ := er.p.Retry(); er.p.Comments() != 1 || retry != 1500*time.Millisecond {
				t.Errorf("comments %d, retry %v", er.p.Comments(), retry)
			}
		})
	}
}

// splitReader returns the first at bytes in one read, then the rest.
type splitReader struct {
	r    io.Reader
	at   int
	done bool
}

func (s *splitReader) Read(p []byte) (int, error) {
	if !s.done {
		s.done = true
		return io.ReadFull(s.r, p[:s.at])
	}
	return s.r.Read(p)
}

func TestSSEEventReaderErrors(t *testing.T) {
	for _, tc := range []struct{ name, resp string }{
		{"bad chunk size", chunkedHead + "zz\r\ndata: x\n\n\r\n"},
		{"chunk without CRLF after the data", chunkedHead + "3\r\nabcXY"},
		{"bad status line", "HTTP/1.1 2x0 OK\r\n\r\n"},
		{"not HTTP", "SSH-2.0-OpenSSH\r\n\r\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			er := newEventReader(strings.NewReader(tc.resp), 64)
			_, _, err := er.readHead()
			for err == nil {
				_, err = er.Next()
			}
			if err == io.EOF {
				t.Fatalf("want a format error, got EOF")
			}
		})
	}
	// A stream that ends mid-event ends with EOF and dispatches nothing.
	er := newEventReader(strings.NewReader(plainHead+"data: half"), 64)
	if _, _, err := er.readHead(); err != nil {
		t.Fatal(err)
	}
	if ev, err := er.Next(); err != io.EOF {
		t.Fatalf("got %q %v, want EOF", ev.Data, err)
	}
	// A status other than 200 is read, not refused, by the head parser.
	er = newEventReader(strings.NewReader("HTTP/1.1 401 Unauthorized\r\nContent-Type: application/json\r\n\r\n{}"), 64)
	if st, ct, err := er.readHead(); st != 401 || ct != "application/json" || err != nil {
		t.Fatalf("%d %q %v", st, ct, err)
	}
}

func TestParsePayload(t *testing.T) {
	for _, tc := range []struct {
		data string
		seq  int32
		sent int64
		ok   bool
	}{
		{`{"id":3,"message":"seq=42 t=1700000000123456789","x":1}`, 42, 1700000000123456789, true},
		// Centrifugo's envelope: the published data nested in a publication.
		{`{"channel":"personal:#u1","pub":{"data":{"text":"seq=8 t=17"},"offset":3,"epoch":"ab"}}`, 8, 17, true},
		{`seq=0 t=5`, 0, 5, true},
		{`seq=7`, 7, 0, true},
		{`{"message":"hello"}`, 0, 0, false},
		{`seq=x t=1`, 0, 0, false},
		{`seq=99999999999 t=1`, 0, 0, false}, // beyond int32
	} {
		seq, sent, ok := parsePayload([]byte(tc.data))
		if seq != tc.seq || sent != tc.sent || ok != tc.ok {
			t.Errorf("%s: got %d %d %v, want %d %d %v", tc.data, seq, sent, ok, tc.seq, tc.sent, tc.ok)
		}
	}
	// What the publisher sends is what the client finds.
	seq, sent, ok := parsePayload(appendPayload(nil, 12, 345))
	if seq != 12 || sent != 345 || !ok {
		t.Errorf("round trip: %d %d %v", seq, sent, ok)
	}
}

func TestTemplate(t *testing.T) {
	tm, err := ParseTemplate(`{"user_id":"{{user}}","message":"{{ payload }}","k":"{{api_key}}"}`)
	if err != nil {
		t.Fatal(err)
	}
	got := tm.Render(Vars{"user": "u1", "payload": "seq=1 t=2", "api_key": "K"})
	if want := `{"user_id":"u1","message":"seq=1 t=2","k":"K"}`; got != want {
		t.Errorf("got %s, want %s", got, want)
	}
	if !tm.Uses("payload") || tm.Uses("token") {
		t.Error("Uses")
	}
	tm = MustParseTemplate(`{"user_ids":{{users}}}`)
	if got := tm.Render(Vars{"users": jsonStrings([]string{"a", `b"c`})}); got != `{"user_ids":["a","b\"c"]}` {
		t.Errorf("users: %s", got)
	}
	if got := MustParseTemplate("no placeholders").Render(nil); got != "no placeholders" {
		t.Errorf("literal: %s", got)
	}
	if got := MustParseTemplate("{{token}}").Render(Vars{}); got != "" {
		t.Errorf("missing value: %q", got)
	}
	for _, bad := range []string{"{{nope}}", "x {{user", "{{}}"} {
		if _, err := ParseTemplate(bad); err == nil {
			t.Errorf("%q: no error", bad)
		}
	}
}

func TestHist(t *testing.T) {
	var h Hist
	for i := 1; i <= 1000; i++ {
		h.Record(time.Duration(i) * time.Microsecond)
	}
	within := func(got, want time.Duration) bool {
		return got >= want*96/100 && got <= want*104/100
	}
	if q := h.Quantile(.5); !within(q, 500*time.Microsecond) {
		t.Errorf("p50 %v", q)
	}
	if q := h.Quantile(.99); !within(q, 990*time.Microsecond) {
		t.Errorf("p99 %v", q)
	}
	if h.Max() != time.Millisecond || h.Count() != 1000 {
		t.Errorf("max %v count %d", h.Max(), h.Count())
	}
	var m Hist
	m.Merge(h.export())
	m.Merge(h.export())
	if m.Count() != 2000 || m.Quantile(.5) != h.Quantile(.5) || m.Max() != h.Max() {
		t.Errorf("merged: %d %v %v", m.Count(), m.Quantile(.5), m.Max())
	}
	var e Hist
	if e.Quantile(.5) != 0 {
		t.Error("empty")
	}
	for _, v := range []int64{0, 1, 31, 32, 33, 1000, 1 << 40, 1<<46 + 5} {
		i := histIndex(v)
		if i < 0 || i >= histBuckets {
			t.Errorf("index of %d: %d", v, i)
		}
		if v < 1<<45 {
			if mid := histValue(i); mid < v*96/100 || mid > v*104/100+1 {
				t.Errorf("value of bucket of %d: %d", v, mid)
			}
		}
	}
}

// benchFrame is a new-notification event as belfry writes it, with the
// payload the bench publishes.
const benchFrame = "id: 12345\nevent: new-notification\ndata: " +
	`{"id":12345,"user_id":"u123","message":"seq=123 t=1700000000123456789",` +
	`"link":"https://example.com/n/12345","read_at":null,"created_at":"2026-11-24T05:41:00.123Z"}` +
	"\n\n"

// loopReader returns frame over and over, without end. whole: a read
// stops at the end of the frame (each event arrives in a read of its own,
// as on an idle loopback stream); else a read fills p (a burst: events
// split across reads).
type loopReader struct {
	frame []byte
	off   int
	whole bool
}

func (l *loopReader) Read(p []byte) (int, error) {
	n := 0
	for n < len(p) {
		k := copy(p[n:], l.frame[l.off:])
		n += k
		l.off = (l.off + k) % len(l.frame)
		if l.whole && l.off == 0 {
			break
		}
	}
	return n, nil
}

// BenchmarkEventReader is one event read from a stream by a bench client,
// with the default 2 KiB buffer.
func BenchmarkEventReader(b *testing.B) {
	chunked := fmt.Sprintf("%x\r\n%s\r\n", len(benchFrame), benchFrame)
	for _, bc := range []struct {
		name, head, frame string
		whole             bool
	}{
		{"plain/event-per-read", plainHead, benchFrame, true},
		{"plain/full-reads", plainHead, benchFrame, false},
		{"chunked/event-per-read", chunkedHead, chunked, true},
		{"chunked/full-reads", chunkedHead, chunked, false},
	} {
		b.Run(bc.name, func(b *testing.B) {
			body := &loopReader{frame: []byte(bc.frame), whole: bc.whole}
			er := newEventReader(io.MultiReader(strings.NewReader(bc.head), body), 2048)
			if _, _, err := er.readHead(); err != nil {
				b.Fatal(err)
			}
			b.SetBytes(int64(len(benchFrame)))
			b.ReportAllocs()
			for b.Loop() {
				ev, err := er.Next()
				if err != nil || len(ev.Data) == 0 {
					b.Fatal(ev, err)
				}
			}
		})
	}
}
