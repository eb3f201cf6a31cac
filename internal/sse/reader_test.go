package sse

import (
	"errors"
	"io"
	"strings"
	"testing"
	"testing/iotest"
	"time"
)

// readAll reads r to its end and returns its events and the error it
// ended with.
func readAll(r *Reader) ([]got, error) {
	var evs []got
	for {
		ev, err := r.Next()
		if err != nil {
			return evs, err
		}
		evs = append(evs, own(ev))
	}
}

func TestSSEReader(t *testing.T) {
	for _, tc := range []struct {
		name string
		r    func(io.Reader) io.Reader
	}{
		{"whole", func(r io.Reader) io.Reader { return r }},
		{"one byte at a time", iotest.OneByteReader},
		{"half reads", iotest.HalfReader},
		{"data with EOF", iotest.DataErrReader},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := NewReader(tc.r(strings.NewReader(stream)))
			evs, err := readAll(r)
			if err != io.EOF {
				t.Fatalf("err %v, want EOF", err)
			}
			checkEvents(t, evs)
			if d, ok := r.Retry(); d != 1500*time.Millisecond || !ok {
				t.Errorf("retry %v %v", d, ok)
			}
		})
	}
}

func TestSSEReaderEnd(t *testing.T) {
	// A stream cut inside an event does not dispatch it and says so.
	for _, s := range []string{"id: 3\ndata: {\"id\":3}\n", "id: 3\ndata: {\"id\":3}", "data: x\n\ndata: y", "event: e\n"} {
		evs, err := readAll(NewReader(strings.NewReader(s)))
		if !errors.Is(err, io.ErrUnexpectedEOF) {
			t.Errorf("%q: err %v, want unexpected EOF", s, err)
		}
		for _, ev := range evs {
			if ev.Data != "x" {
				t.Errorf("%q: dispatched %+v", s, ev)
			}
		}
	}
	// Between events, the end is a plain EOF.
	for _, s := range []string{"", "data: x\n\n", "data: x\n\n: ping\n", "id: 4\n"} {
		if _, err := readAll(NewReader(strings.NewReader(s))); err != io.EOF {
			t.Errorf("%q: err %v, want EOF", s, err)
		}
	}
	// A read error comes out after the events read before it.
	boom := errors.New("boom")
	evs, err := readAll(NewReader(io.MultiReader(strings.NewReader("data: x\n\n"), iotest.ErrReader(boom))))
	if err != boom || len(evs) != 1 {
		t.Errorf("read error: %v after %d events", err, len(evs))
	}
	// So does a line too long.
	_, err = readAll(NewReader(strings.NewReader("data: " + strings.Repeat("x", MaxLine) + "\n\n")))
	if !errors.Is(err, ErrLineTooLong) {
		t.Errorf("long line: %v", err)
	}
}
