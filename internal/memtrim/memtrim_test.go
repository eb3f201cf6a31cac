package memtrim_test

import (
	"context"
	"runtime"
	"runtime/debug"
	"testing"
	"time"

	"github.com/belfry/belfry/internal/memtrim"
)

const mib = 1 << 20

func TestDue(t *testing.T) {
	cfg := memtrim.Config{QuietBytes: mib, Quiet: 2, MinFree: 4 * mib}
	steps := []struct {
		name string
		s    memtrim.Sample
		want bool
	}{
		{"the first sample has nothing to compare", memtrim.Sample{Allocs: 100 * mib, Free: 50 * mib, Objects: 20 * mib, Live: 20 * mib}, false},
		{"one quiet tick is not enough", memtrim.Sample{Allocs: 100 * mib, Free: 50 * mib, Objects: 20 * mib, Live: 20 * mib}, false},
		{"a busy tick starts the count again", memtrim.Sample{Allocs: 110 * mib, Free: 50 * mib, Objects: 20 * mib, Live: 20 * mib}, false},
		{"quiet once", memtrim.Sample{Allocs: 110 * mib, Free: 50 * mib, Objects: 20 * mib, Live: 20 * mib}, false},
		{"quiet twice, much free: trim", memtrim.Sample{Allocs: 110*mib + 1000, Free: 50 * mib, Objects: 20 * mib, Live: 20 * mib}, true},
		{"the count starts again after a trim", memtrim.Sample{Allocs: 110*mib + 2000, Free: 0, Objects: 20 * mib, Live: 20 * mib}, false},
		{"too little to give back", memtrim.Sample{Allocs: 110*mib + 3000, Free: 1 * mib, Objects: 22 * mib, Live: 20 * mib}, false},
		{"under a quarter of the live heap", memtrim.Sample{Allocs: 110*mib + 4000, Free: 5 * mib, Objects: 41 * mib, Live: 40 * mib}, false},
		{"garbage not yet collected counts", memtrim.Sample{Allocs: 110*mib + 5000, Free: 1 * mib, Objects: 60 * mib, Live: 40 * mib}, true},
	}
	tr := memtrim.New(cfg)
	for _, st := range steps {
		if got := tr.Due(st.s); got != st.want {
			t.Errorf("%s: Due = %v, want %v", st.name, got, st.want)
		}
	}
}

// sink keeps the garbage reachable until the test lets go of it.
var sink [][]byte

// TestRunGivesFreeHeapBack: after a burst of allocation that is then
// dropped, Run hands the free heap back to the operating system once the
// process has gone quiet.
func TestRunGivesFreeHeapBack(t *testing.T) {
	for range 128 * 1024 {
		sink = append(sink, make([]byte, 1024))
	}
	sink = nil
	runtime.GC()
	before := memtrim.Read()
	if before.Free < 32*mib {
		t.Fatalf("after dropping 128 MiB the free heap is only %d MiB", before.Free/mib)
	}

	awaitTrim(t)
	if now := memtrim.Read(); now.Free >= before.Free/4 {
		t.Errorf("free heap %d MiB after the trim, %d MiB before", now.Free/mib, before.Free/mib)
	}
}

// TestRunCollectsQuietGarbage: a process that went quiet before its GC
// ran has its burst counted as objects, not free heap; Run trims it too.
func TestRunCollectsQuietGarbage(t *testing.T) {
	runtime.GC()
	// No GC while the burst allocates, as when the last one ran early in it.
	defer debug.SetGCPercent(debug.SetGCPercent(-1))
	for range 64 * 1024 {
		sink = append(sink, make([]byte, 1024))
	}
	sink = nil
	before := memtrim.Read()
	if before.Free >= 4*mib || before.Objects < before.Live+48*mib {
		t.Fatalf("the burst is not uncollected garbage: free %d MiB, objects %d MiB, live %d MiB",
			before.Free/mib, before.Objects/mib, before.Live/mib)
	}
	awaitTrim(t)
	if now := memtrim.Read(); now.Objects >= before.Objects-48*mib {
		t.Errorf("objects %d MiB after the trim, %d MiB before", now.Objects/mib, before.Objects/mib)
	}
}

// awaitTrim runs Run until its first trim, and checks that the trim left
// under a quarter of what it could give back.
func awaitTrim(t *testing.T) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	trims := make(chan [2]uint64, 1)
	done := make(chan struct{})
	go func() {
		defer close(done)
		memtrim.Run(ctx, memtrim.Config{Every: 5 * time.Millisecond, QuietBytes: 8 * mib}, func(b, a uint64) {
			select {
			case trims <- [2]uint64{b, a}:
			default:
			}
		})
	}()
	defer func() { cancel(); <-done }()
	select {
	case tr := <-trims:
		if tr[1] >= tr[0]/4 {
			t.Errorf("a trim left %d of %d MiB it could give back", tr[1]/mib, tr[0]/mib)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no trim within 10s of going quiet")
	}
}
