package hub

import (
	"sync"
	"time"
)

// wheel is the one goroutine that heartbeats every stream and finds
// dead peers (a non-blocking peek) one interval before a write would fail.
// It starts with the first stream and stops on Hub.CloseAll.
type wheel struct {
	once    sync.Once // starts the goroutine
	stopped sync.Once // stops it
	stop    chan struct{}
	every   time.Duration
}

// wheelTick is the interval of the wheel's visits for a heartbeat of
// every.
func wheelTick(every time.Duration) time.Duration { return max(every/4, time.Millisecond) }

func (w *wheel) start(h *Hub, every time.Duration) {
	w.once.Do(func() {
		w.every = every
		w.stop = make(chan struct{})
		go w.run(h)
	})
}

// run visits every stream four times per interval, so a heartbeat is
// at most a quarter interval late.
func (w *wheel) run(h *Hub) {
	t := time.NewTicker(wheelTick(w.every))
	defer t.Stop()
	var batch []*Stream
	for {
		select {
		case <-w.stop:
			return
		case now := <-t.C:
			for i := range h.shards {
				batch = h.shards[i].streams(batch[:0])
				for _, l := range batch {
					l.beat(now, w.every)
				}
			}
			clear(batch)
		}
	}
}

// streams appends the shard's streams to out.
func (sh *hubShard) streams(out []*Stream) []*Stream {
	sh.mu.RLock()
	for _, list := range sh.users {
		out = append(out, list...)
	}
	sh.mu.RUnlock()
	return out
}

func (h *Hub) stopWheel() {
	h.wheel.once.Do(func() {}) // a wheel not started by now never will be
	h.wheel.stopped.Do(func() {
		if h.wheel.stop != nil {
			close(h.wheel.stop)
		}
	})
}
