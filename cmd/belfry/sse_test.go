package main

import (
	"errors"
	"io"
	"strings"
	"testing"
	"time"
)

func readAll(t *testing.T, stream, lastID string) ([]sseEvent, *sseReader, error) {
	t.Helper()
	p := newSSEReader(strings.NewReader(stream), lastID)
	var evs []sseEvent
	for {
		ev, err := p.Next()
		if err != nil {
			return evs, p, err
		}
		evs = append(evs, ev)
	}
}

func TestSSEReader(t *testing.T) {
	stream := "retry: 1500\n\n" +
		": heartbeat\n\n" +
		"id: 1\nevent: new-notification\ndata: {\"id\":1}\n\n" +
		"event: sync\r\ndata: {\"unread_count\":1}\r\n\r\n" +
		"data: line one\ndata:line two\n\n" +
		"id: 7\n\n" + // no data: not dispatched, but the id stays
		"data\n\n" + // a field with no colon: empty data
		"id: bad\x00id\ndata: x\n\n" + // an id with NUL is ignored
		"event: read-state\ndata: {}\nunknown: field\n\n"
	evs, p, err := readAll(t, stream, "")
	if err != io.EOF {
		t.Fatalf("err %v, want EOF", err)
	}
	want := []sseEvent{
		{ID: "1", HasID: true, Event: "new-notification", Data: `{"id":1}`},
		{ID: "1", Event: "sync", Data: `{"unread_count":1}`},
		{ID: "1", Event: "message", Data: "line one\nline two"},
		{ID: "7", Event: "message", Data: ""},
		{ID: "7", Event: "message", Data: "x"},
		{ID: "7", Event: "read-state", Data: "{}"},
	}
	if len(evs) != len(want) {
		t.Fatalf("got %d events %+v, want %d", len(evs), evs, len(want))
	}
	for i := range want {
		if evs[i] != want[i] {
			t.Errorf("event %d: got %+v, want %+v", i, evs[i], want[i])
		}
	}
	if p.retry != 1500*time.Millisecond {
		t.Errorf("retry %s", p.retry)
	}
}

func TestSSEReaderTruncated(t *testing.T) {
	// A stream cut inside an event does not dispatch it.
	for _, s := range []string{"id: 3\ndata: {\"id\":3}\n", "id: 3\ndata: {\"id\":3", "data: x\n\ndata: y"} {
		evs, _, err := readAll(t, s, "2")
		if !errors.Is(err, io.ErrUnexpectedEOF) {
			t.Errorf("%q: err %v, want unexpected EOF", s, err)
		}
		for _, ev := range evs {
			if ev.Data != "x" {
				t.Errorf("%q: dispatched %+v", s, ev)
			}
		}
	}
	_, _, err := readAll(t, "data: "+strings.Repeat("x", maxSSELine+1)+"\n\n", "")
	if !errors.Is(err, errSSELineTooLong) {
		t.Errorf("long line: %v", err)
	}
}

func FuzzSSEReader(f *testing.F) {
	f.Add("id: 1\nevent: e\ndata: d\n\n")
	f.Add(": c\r\nretry: 10\r\n\r\n")
	f.Fuzz(func(t *testing.T, s string) {
		p := newSSEReader(strings.NewReader(s), "")
		for range len(s) + 1 {
			ev, err := p.Next()
			if err != nil {
				return
			}
			if ev.Event == "" {
				t.Fatalf("dispatched an event without a type: %+v", ev)
			}
		}
		t.Fatal("more events than bytes")
	})
}

// BenchmarkSSEReader is one event read by belfry tail.
func BenchmarkSSEReader(b *testing.B) {
	frame := []byte("id: 12345\nevent: new-notification\ndata: " +
		`{"id":12345,"user_id":"u123","message":"seq=123 t=1700000000123456789",` +
		`"link":"https://example.com/n/12345","read_at":null,"created_at":"2026-11-24T05:41:00.123Z"}` +
		"\n\n")
	p := newSSEReader(&loopReader{frame: frame}, "")
	b.SetBytes(int64(len(frame)))
	b.ReportAllocs()
	for b.Loop() {
		ev, err := p.Next()
		if err != nil || ev.Data == "" {
			b.Fatal(ev, err)
		}
	}
}

// loopReader returns frame over and over, without end, filling each read.
type loopReader struct {
	frame []byte
	off   int
}

func (l *loopReader) Read(p []byte) (int, error) {
	n := 0
	for n < len(p) {
		k := copy(p[n:], l.frame[l.off:])
		n += k
		l.off = (l.off + k) % len(l.frame)
	}
	return n, nil
}
