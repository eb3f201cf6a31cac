package bench

import (
	"math/bits"
	"sync/atomic"
	"time"
)

// Hist is a log-linear histogram of durations in nanoseconds: 32 buckets
// per power of two (about 3% relative error), from 1 ns to about 9 hours.
// Record is safe for concurrent use (atomic counters). Histograms of
// several workers merge exactly.
type Hist struct {
	counts [histBuckets]atomic.Uint64
	max    atomic.Int64
	n      atomic.Uint64
}

const (
	histSubBits = 5
	histSub     = 1 << histSubBits
	histBuckets = (46 - histSubBits + 1) * histSub // values below 2^46 ns (19 hours)
)

func histIndex(v int64) int {
	if v < histSub {
		if v < 0 {
			v = 0
		}
		return int(v)
	}
	exp := bits.Len64(uint64(v)) - 1 // >= histSubBits
	shift := exp - histSubBits
	i := (shift+1)*histSub + int(uint64(v)>>uint(shift)) - histSub
	if i >= histBuckets {
		return histBuckets - 1
	}
	return i
}

// histValue returns the middle of bucket i.
func histValue(i int) int64 {
	if i < histSub {
		return int64(i)
	}
	shift := i/histSub - 1
	mant := int64(i%histSub + histSub)
	lo := mant << uint(shift)
	return lo + (int64(1)<<uint(shift))/2
}

// Record adds one value.
func (h *Hist) Record(d time.Duration) {
	v := int64(d)
	h.counts[histIndex(v)].Add(1)
	h.n.Add(1)
	for {
		m := h.max.Load()
		if v <= m || h.max.CompareAndSwap(m, v) {
			return
		}
	}
}

// Count returns how many values were recorded.
func (h *Hist) Count() uint64 { return h.n.Load() }

// Max returns the largest value recorded.
func (h *Hist) Max() time.Duration { return time.Duration(h.max.Load()) }

// Quantile returns the q-quantile (0 < q <= 1), or 0 when empty.
func (h *Hist) Quantile(q float64) time.Duration {
	n := h.n.Load()
	if n == 0 {
		return 0
	}
	rank := uint64(q*float64(n) + 0.5)
	rank = max(rank, 1)
	var seen uint64
	for i := range h.counts {
		seen += h.counts[i].Load()
		if seen >= rank {
			return min(time.Duration(histValue(i)), h.Max())
		}
	}
	return h.Max()
}

// Merge adds the counts of o.
func (h *Hist) Merge(o *histJSON) {
	if o == nil {
		return
	}
	for _, bc := range o.Buckets {
		if bc[0] >= 0 && bc[0] < histBuckets {
			h.counts[bc[0]].Add(uint64(bc[1]))
			h.n.Add(uint64(bc[1]))
		}
	}
	for {
		m := h.max.Load()
		if o.Max <= m || h.max.CompareAndSwap(m, o.Max) {
			return
		}
	}
}

// histJSON is a histogram on the wire between worker and parent: the
// non-empty buckets as [index, count] pairs.
type histJSON struct {
	Buckets [][2]int64 `json:"buckets"`
	Max     int64      `json:"max"`
}

func (h *Hist) export() *histJSON {
	out := &histJSON{Max: h.max.Load()}
	for i := range h.counts {
		if c := h.counts[i].Load(); c > 0 {
			out.Buckets = append(out.Buckets, [2]int64{int64(i), int64(c)})
		}
	}
	return out
}
