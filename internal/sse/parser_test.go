package sse

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"time"
)

// got is an event as the tests compare it: owned strings.
type got struct {
	Type, Data, ID string
	HasID          bool
}

func own(ev Event) got {
	return got{string(ev.Type), string(ev.Data), string(ev.ID), ev.HasID}
}

// parseAll feeds s to a new Parser in pieces of the given sizes (the last
// size repeats; none: s at once) and returns its events.
func parseAll(t testing.TB, s string, sizes ...int) ([]got, *Parser) {
	t.Helper()
	var p Parser
	var out []got
	for i := 0; len(s) > 0; i++ {
		k := len(s)
		if len(sizes) > 0 {
			k = min(k, sizes[min(i, len(sizes)-1)])
		}
		b := []byte(s[:k])
		s = s[k:]
		for len(b) > 0 {
			n, ev, ok, err := p.Parse(b)
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			if n == 0 || n > len(b) {
				t.Fatalf("Parse consumed %d of %d bytes", n, len(b))
			}
			b = b[n:]
			if ok {
				out = append(out, own(ev))
			}
		}
	}
	return out, &p
}

// stream holds every rule of the format once; want is what it dispatches.
const stream = "\xEF\xBB\xBFretry: 1500\n\n" + // a BOM, dropped
	": heartbeat\n\n" +
	"id: 1\r\nevent: new-notification\r\ndata: {\"id\":1}\r\n\r\n" + // CRLF
	"event: sync\rdata: {\"unread_count\":1}\r\r" + // CR alone
	"data: line one\ndata:line two\ndata:  two spaces\n\n" + // one space dropped, not two
	"id: 7\n\n" + // no data: nothing dispatched, but the id is taken
	"event: nothing\n\n" + // no data: nothing dispatched, and the type resets
	"data\n\n" + // a field without a colon: empty data, dispatched
	"data:\ndata:\n\n" + // two empty data lines: one "\n"
	"id: bad\x00id\ndata: x\n\n" + // an id with NUL is ignored
	"Data: case\nunknown: field\nretry: 2x\ndata: y\n\n" + // names are case-sensitive; a bad retry is ignored
	"id\ndata: z\n\n" + // an empty id resets the last id
	"event: read-state\ndata: {}\n\n"

var want = []got{
	{"new-notification", `{"id":1}`, "1", true},
	{"sync", `{"unread_count":1}`, "1", false},
	{"message", "line one\nline two\n two spaces", "1", false},
	{"message", "", "7", true},
	{"message", "\n", "7", false},
	{"message", "x", "7", false},
	{"message", "y", "7", false},
	{"message", "z", "", true},
	{"read-state", "{}", "", false},
}

func checkEvents(t *testing.T, evs []got) {
	t.Helper()
	if len(evs) != len(want) {
		t.Fatalf("got %d events %#v, want %d", len(evs), evs, len(want))
	}
	for i := range want {
		if evs[i] != want[i] {
			t.Errorf("event %d: got %#v, want %#v", i, evs[i], want[i])
		}
	}
}

func TestSSEParser(t *testing.T) {
	for _, tc := range []struct {
		name  string
		sizes []int
	}{
		{"at once", nil},
		{"one byte at a time", []int{1}},
		{"seven bytes at a time", []int{7}},
		{"a CRLF split", []int{len("\xEF\xBB\xBFretry: 1500\n\n: heartbeat\n\nid: 1\r"), 1 << 20}},
		{"a BOM split", []int{2, 1 << 20}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			evs, p := parseAll(t, stream, tc.sizes...)
			checkEvents(t, evs)
			if d, ok := p.Retry(); d != 1500*time.Millisecond || !ok {
				t.Errorf("retry %v %v", d, ok)
			}
			if p.Comments() != 1 {
				t.Errorf("comments %d", p.Comments())
			}
			if p.Pending() {
				t.Error("pending at the end of whole events")
			}
		})
	}
	// Every split in two.
	for i := range len(stream) {
		evs, _ := parseAll(t, stream, i+1, len(stream))
		if !slices.Equal(evs, want) {
			t.Fatalf("split at %d: got %#v", i+1, evs)
		}
	}
}

func TestSSEParserRetry(t *testing.T) {
	for _, tc := range []struct {
		in string
		d  time.Duration
		ok bool
	}{
		{"retry: 0\n", 0, true},
		{"retry:250\n", 250 * time.Millisecond, true},
		{"retry: 0003000\n", 3 * time.Second, true},
		{"retry: 2147483647\n", 2147483647 * time.Millisecond, true},
		{"retry: 2147483648\n", 0, false},
		{"retry: 99999999999999999999999\n", 0, false},
		{"retry: +5\n", 0, false},
		{"retry: -5\n", 0, false},
		{"retry: 5 \n", 0, false},
		{"retry: \n", 0, false},
		{"retry\n", 0, false},
		{"retry: 10\nretry: x\n", 10 * time.Millisecond, true}, // a bad value keeps the last good one
	} {
		_, p := parseAll(t, tc.in)
		if d, ok := p.Retry(); d != tc.d || ok != tc.ok {
			t.Errorf("%q: got %v %v, want %v %v", tc.in, d, ok, tc.d, tc.ok)
		}
	}
}

func TestSSEParserPending(t *testing.T) {
	for _, tc := range []struct {
		in      string
		pending bool
	}{
		{"", false},
		{"data: x\n\n", false},
		{": ping\n", false},
		{"id: 3\n", false}, // an id alone is taken, not pending
		{"retry: 5\n", false},
		{"data: x\n", true},
		{"event: e\n", true},
		{"data: x", true}, // an unfinished line
		{"data: x\n\nda", true},
		{"data: x\r", true}, // the line ended, the event did not
	} {
		_, p := parseAll(t, tc.in)
		if p.Pending() != tc.pending {
			t.Errorf("%q: pending %v", tc.in, p.Pending())
		}
	}
}

func TestSSEParserLineTooLong(t *testing.T) {
	long := "data: " + strings.Repeat("x", MaxLine) + "\n\n"
	for _, sizes := range [][]int{nil, {4096}} { // in one piece; across pieces
		var p Parser
		b := []byte(long)
		var err error
		for len(b) > 0 && err == nil {
			k := len(b)
			if sizes != nil {
				k = min(k, sizes[0])
			}
			var n int
			n, _, _, err = p.Parse(b[:k])
			b = b[n:]
		}
		if !errors.Is(err, ErrLineTooLong) {
			t.Errorf("pieces %v: err %v", sizes, err)
		}
		if _, _, _, err := p.Parse([]byte("data: x\n\n")); !errors.Is(err, ErrLineTooLong) {
			t.Errorf("pieces %v: after the error: %v", sizes, err)
		}
	}
	// A line of exactly MaxLine bytes is fine.
	evs, _ := parseAll(t, "data: "+strings.Repeat("x", MaxLine-len("data: "))+"\n\n", 4096)
	if len(evs) != 1 || len(evs[0].Data) != MaxLine-len("data: ") {
		t.Errorf("a line of MaxLine bytes: %d events", len(evs))
	}
}

// TestSSEParserAllocs holds the parser to what the load generator needs of
// it: once its buffers have grown, reading an event allocates nothing,
// whether events arrive whole or split across pieces.
func TestSSEParserAllocs(t *testing.T) {
	frame := []byte(benchFrame)
	var p Parser
	for _, split := range []int{len(frame), 100, 7} {
		allocs := testing.AllocsPerRun(100, func() {
			evs := 0
			for _, b := range [][]byte{frame[:split], frame[split:]} {
				for len(b) > 0 {
					n, _, ok, err := p.Parse(b)
					if err != nil {
						t.Fatal(err)
					}
					b = b[n:]
					if ok {
						evs++
					}
				}
			}
			if evs != 1 {
				t.Fatalf("split at %d: %d events", split, evs)
			}
		})
		if allocs != 0 {
			t.Errorf("split at %d: %v allocations per event", split, allocs)
		}
	}
}
