package sqlite

import (
	"context"
	"path/filepath"
	"testing"
	"testing/synctest"
	"time"

	"github.com/belfry/belfry"
)

// The hold's rules, on the bubble's clock: concurrent callers wait until
// the interval since the last commit has passed, taking what arrives
// meanwhile; a lone caller, a quiet store and a closed queue never wait.
func TestCommitHoldRules(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const interval = 10 * time.Millisecond
		queue := make(chan *request, 4)
		h := newCommitHold(interval)

		h.started(1)
		start := time.Now()
		if r, ok := h.wait(queue, 1); ok || r != nil {
			t.Fatal("a batch of one after a commit of one was held")
		}
		if time.Since(start) != 0 {
			t.Fatalf("a lone caller waited %s", time.Since(start))
		}

		// Two calls in the batch: held for what is left of the interval.
		time.Sleep(3 * time.Millisecond)
		start = time.Now()
		if _, ok := h.wait(queue, 2); ok {
			t.Fatal("the hold returned a call that was never sent")
		}
		if got := time.Since(start); got != interval-3*time.Millisecond {
			t.Fatalf("held %s, want the rest of the interval, %s", got, interval-3*time.Millisecond)
		}

		// The last commit held two: a batch of one waits too, and a call
		// that arrives meanwhile joins it.
		h.started(2)
		sent := &request{op: opCreate}
		go func() {
			time.Sleep(4 * time.Millisecond)
			queue <- sent
		}()
		start = time.Now()
		r, ok := h.wait(queue, 1)
		if !ok || r != sent {
			t.Fatalf("wait = %v, %v; want the call sent during the hold", r, ok)
		}
		if got := time.Since(start); got != 4*time.Millisecond {
			t.Fatalf("the call sent after 4ms was taken after %s", got)
		}

		// The interval has passed: no wait.
		time.Sleep(interval)
		start = time.Now()
		if _, ok := h.wait(queue, 5); ok || time.Since(start) != 0 {
			t.Fatal("held after the interval had passed")
		}

		// A closed queue ends a hold at once.
		h.started(3)
		close(queue)
		start = time.Now()
		if _, ok := h.wait(queue, 3); ok || time.Since(start) != 0 {
			t.Fatal("held on a closed queue")
		}

		// No interval: never held.
		off := newCommitHold(0)
		off.started(50)
		if _, ok := off.wait(make(chan *request), 50); ok {
			t.Fatal("held without an interval")
		}
	})
}

// With an interval far longer than the test, a lone caller that waits for
// each answer is still answered: its batches are never held.
func TestCommitIntervalSparesALoneCaller(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	s, err := OpenConfig(ctx, Config{Path: filepath.Join(t.TempDir(), "b.db"), CommitInterval: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	for i := range 20 {
		n := &belfry.Notification{UserID: "u1", Message: "m"}
		if err := s.Create(ctx, []*belfry.Notification{n}); err != nil {
			t.Fatalf("create %d: %v", i, err)
		}
		if n.ID != int64(i+1) {
			t.Fatalf("create %d: id %d", i, n.ID)
		}
	}
}

func TestCommitIntervalNegative(t *testing.T) {
	_, err := OpenConfig(context.Background(), Config{Path: filepath.Join(t.TempDir(), "b.db"), CommitInterval: -time.Millisecond})
	if belfry.ErrorCode(err) != belfry.EINVALID {
		t.Fatalf("err = %v, want EINVALID", err)
	}
}
