package sqlite

import "time"

// commitHold spaces commits while callers are concurrent. Every commit
// costs the same fixed work whatever it holds (BEGIN, COMMIT, the WAL
// frames' headers and write calls, one fsync, the file locks), and at a
// steady few thousand calls a second the writer would otherwise commit
// one or two calls at a time, as soon as each arrives: at 5,000
// publishes/s half of the server's CPU went to those fixed costs. Holding
// a batch until the interval since the last commit began has passed lets
// it gather more calls for the same fixed work.
//
// A lone caller that waits for each answer before sending again is never
// held: the hold only applies when the batch being filled, or the one
// before it, had more than one call. Neither does a call that finds the
// store quiet for longer than the interval wait.
type commitHold struct {
	interval time.Duration
	timer    *time.Timer
	last     time.Time // when the last commit began
	lastLen  int       // how many calls it held
}

func newCommitHold(interval time.Duration) *commitHold {
	h := &commitHold{interval: interval}
	if interval > 0 {
		h.timer = time.NewTimer(time.Hour)
		h.timer.Stop()
	}
	return h
}

// wait returns the next call to add to a batch of n calls whose queue was
// just found empty, or false when the batch should be committed now: no
// hold applies, the interval has passed, or the queue was closed.
func (h *commitHold) wait(queue <-chan *request, n int) (*request, bool) {
	if h.timer == nil || (n < 2 && h.lastLen < 2) {
		return nil, false
	}
	left := h.interval - time.Since(h.last)
	if left <= 0 {
		return nil, false
	}
	h.timer.Reset(left)
	select {
	case r, ok := <-queue:
		h.timer.Stop()
		return r, ok
	case <-h.timer.C:
		return nil, false
	}
}

// started records that a commit of n calls begins now.
func (h *commitHold) started(n int) {
	if h.timer != nil {
		h.last = time.Now()
		h.lastLen = n
	}
}
