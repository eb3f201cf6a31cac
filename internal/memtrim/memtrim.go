// Package memtrim gives the Go heap's free memory back to the operating
// system once the process has gone quiet after a burst.
//
// A notification server spends most of its life holding idle streams. A
// burst (thousands of streams connecting at once, a storm of resumes, a
// large broadcast) leaves the heap with as much free memory as it holds
// live objects: the GC lets the heap grow to twice its live size between
// collections, and the runtime keeps what it grew to, giving it back only
// slowly (the background scavenger keeps about the heap goal). For 10,000
// idle streams that was about 1.5 KiB of resident memory per stream that
// nothing used.
//
// A Trimmer samples the runtime's own counters (runtime/metrics, which
// stops nothing) every tick. When the process has allocated little for
// Quiet consecutive ticks and much of the heap is free or garbage, it calls
// debug.FreeOSMemory once: one forced GC and the free pages handed back.
// While the process is busy it does nothing, so a server under load pays
// nothing, and a server that stays quiet trims once: what a trim can give
// back only grows again with allocation, so there is at most one trim per
// 4 MiB (and a quarter of the live heap) allocated, and only in a quiet
// spell.
//
// With the defaults the trim comes a second to a second and a half after
// a burst ends. Waiting longer would gain nothing: a trim costs one GC
// over the live heap and, when the next burst comes, the page faults of
// the memory it grows back into.
package memtrim

import (
	"context"
	"runtime/debug"
	"runtime/metrics"
	"time"
)

// Config sets when a Trimmer trims. The zero value takes the defaults.
type Config struct {
	// Every is how often the counters are sampled. Default 500ms.
	Every time.Duration
	// QuietBytes is the most a tick may allocate and still count as
	// quiet. Default 256 KiB (about 120 targeted publishes).
	QuietBytes uint64
	// Quiet is how many quiet ticks in a row come before a trim.
	// Default 2.
	Quiet int
	// MinFree is the least heap a trim must be able to give back (free,
	// or held by objects the last GC did not find live); it must also be
	// at least a quarter of the live heap. Default 4 MiB.
	MinFree uint64
}

func (c Config) withDefaults() Config {
	if c.Every <= 0 {
		c.Every = 500 * time.Millisecond
	}
	if c.QuietBytes == 0 {
		c.QuietBytes = 256 << 10
	}
	if c.Quiet <= 0 {
		c.Quiet = 2
	}
	if c.MinFree == 0 {
		c.MinFree = 4 << 20
	}
	return c
}

// Sample is what a Trimmer reads of the runtime at each tick.
type Sample struct {
	Allocs  uint64 // bytes allocated since the process started
	Free    uint64 // heap that is free and not yet returned
	Objects uint64 // heap held by objects, live or not yet collected
	Live    uint64 // heap the last GC found live
}

// reclaimable is what a GC and a return to the system would give back:
// the free heap, and the objects allocated since the last GC that are
// not live (a quiet process may not have collected them yet).
func (s Sample) reclaimable() uint64 {
	if s.Objects < s.Live {
		return s.Free
	}
	return s.Free + s.Objects - s.Live
}

// Trimmer decides, tick by tick, when to trim.
type Trimmer struct {
	cfg   Config
	prev  Sample
	seen  bool
	quiet int
}

// New returns a Trimmer with cfg's settings.
func New(cfg Config) *Trimmer {
	return &Trimmer{cfg: cfg.withDefaults()}
}

// Due takes the tick's sample and reports whether to trim now.
func (t *Trimmer) Due(s Sample) bool {
	first := !t.seen
	allocated := s.Allocs - t.prev.Allocs
	t.prev, t.seen = s, true
	if first || allocated > t.cfg.QuietBytes {
		t.quiet = 0
		return false
	}
	t.quiet++
	if r := s.reclaimable(); t.quiet < t.cfg.Quiet || r < t.cfg.MinFree || r < s.Live/4 {
		return false
	}
	t.quiet = 0
	return true
}

var names = [...]string{"/gc/heap/allocs:bytes", "/memory/classes/heap/free:bytes",
	"/memory/classes/heap/objects:bytes", "/gc/heap/live:bytes"}

// Read samples the runtime's counters.
func Read() Sample {
	var ms [len(names)]metrics.Sample
	for i, n := range names {
		ms[i].Name = n
	}
	metrics.Read(ms[:])
	v := func(i int) uint64 {
		if ms[i].Value.Kind() != metrics.KindUint64 {
			return 0
		}
		return ms[i].Value.Uint64()
	}
	return Sample{Allocs: v(0), Free: v(1), Objects: v(2), Live: v(3)}
}

// Run trims as the Trimmer decides until ctx ends. After each trim it
// calls trimmed, if set, with what the trim could give back (the free
// heap and the uncollected garbage) and the free heap it left.
func Run(ctx context.Context, cfg Config, trimmed func(before, after uint64)) {
	t := New(cfg)
	tick := time.NewTicker(t.cfg.Every)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		s := Read()
		if !t.Due(s) {
			continue
		}
		debug.FreeOSMemory()
		after := Read()
		// The trim's own allocations are not the process's: the next
		// tick measures from here.
		t.prev = after
		if trimmed != nil {
			trimmed(s.reclaimable(), after.Free)
		}
	}
}
