package belfry

import (
	"math/rand/v2"
	"testing"
	"time"
)

func checkWireTime(t *testing.T, tm time.Time) {
	t.Helper()
	want := tm.UTC().Format(TimeFormat)
	if got := string(appendWireTime(nil, tm)); got != want {
		t.Fatalf("appendWireTime(%v) = %s, want %s", tm, got, want)
	}
}

func TestAppendWireTimeAgreesWithTime(t *testing.T) {
	east := time.FixedZone("east", 5*3600+1800)
	edges := []time.Time{
		time.Unix(0, 0),
		time.Unix(-1, 0),
		time.Unix(-1, 999_999_999),
		time.Unix(minWireUnix, 0),
		time.Unix(minWireUnix-1, 0), // year 0: time's own
		time.Unix(maxWireUnix, 999_999_999),
		time.Unix(maxWireUnix+1, 0), // year 10000: time's own
		time.Date(2000, 2, 29, 23, 59, 59, 999_999_999, time.UTC),
		time.Date(1900, 2, 28, 0, 0, 0, 1_000_000, time.UTC),
		time.Date(2100, 3, 1, 12, 0, 0, 0, time.UTC),
		time.Date(2026, 12, 31, 23, 59, 59, 500_000, east),
		time.Date(1969, 12, 31, 23, 59, 59, 999_000_000, time.UTC),
		{},
	}
	for _, tm := range edges {
		checkWireTime(t, tm)
	}
	r := rand.New(rand.NewPCG(1, 2))
	for range 200_000 {
		sec := minWireUnix - 86400 + r.Int64N(maxWireUnix-minWireUnix+2*86400)
		checkWireTime(t, time.Unix(sec, r.Int64N(1e9)).In(east))
	}
}

func FuzzAppendWireTime(f *testing.F) {
	f.Add(int64(0), int64(0))
	f.Add(int64(maxWireUnix), int64(999_999_999))
	f.Fuzz(func(t *testing.T, sec, nsec int64) {
		checkWireTime(t, time.Unix(sec, nsec))
	})
}

func BenchmarkAppendWireTime(b *testing.B) {
	tm := time.Date(2026, 12, 7, 15, 4, 5, 123_456_789, time.UTC)
	buf := make([]byte, 0, 64)
	b.Run("belfry", func(b *testing.B) {
		for b.Loop() {
			buf = appendWireTime(buf[:0], tm)
		}
	})
	b.Run("time", func(b *testing.B) {
		for b.Loop() {
			buf = tm.UTC().AppendFormat(buf[:0], TimeFormat)
		}
	})
}
