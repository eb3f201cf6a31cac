package sse

import (
	"testing"
)

// benchFrame is a new-notification event as belfry writes it, with the
// payload the load generator publishes.
const benchFrame = "id: 12345\nevent: new-notification\ndata: " +
	`{"id":12345,"user_id":"u123","message":"seq=123 t=1700000000123456789",` +
	`"link":"https://example.com/n/12345","read_at":null,"created_at":"2026-11-24T05:41:00.123Z"}` +
	"\n\n"

// BenchmarkParser is one event parsed from pieces of a stream: one event
// per piece, or 2 KiB pieces that split events (a burst).
func BenchmarkParser(b *testing.B) {
	b.Run("event-per-piece", func(b *testing.B) {
		frame := []byte(benchFrame)
		var p Parser
		b.SetBytes(int64(len(frame)))
		b.ReportAllocs()
		for b.Loop() {
			n, ev, ok, err := p.Parse(frame)
			if n != len(frame) || !ok || err != nil || len(ev.Data) == 0 {
				b.Fatal(n, ok, err)
			}
		}
	})
	b.Run("2KiB-pieces", func(b *testing.B) {
		src := &loopReader{frame: []byte(benchFrame)}
		buf := make([]byte, 2048)
		var p Parser
		var r, w int
		b.SetBytes(int64(len(benchFrame)))
		b.ReportAllocs()
		for b.Loop() {
			for {
				if r == w {
					w, _ = src.Read(buf)
					r = 0
				}
				n, _, ok, err := p.Parse(buf[r:w])
				if err != nil {
					b.Fatal(err)
				}
				r += n
				if ok {
					break
				}
			}
		}
	})
}

// BenchmarkReader is one event read with a Reader, as belfry tail reads.
func BenchmarkReader(b *testing.B) {
	r := NewReader(&loopReader{frame: []byte(benchFrame)})
	b.SetBytes(int64(len(benchFrame)))
	b.ReportAllocs()
	for b.Loop() {
		ev, err := r.Next()
		if err != nil || len(ev.Data) == 0 {
			b.Fatal(err)
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
