package httpapi

import (
	"context"
	"fmt"
	"net/http"
	"runtime/debug"
	"sync"
	"time"

	"github.com/belfry/belfry"
)

// Setting a stream up (the credential check, the first store reads, the
// replay) runs on one of a few long-lived setup workers, at most
// Config.SetupConcurrency at a time, while the request's own goroutine
// waits.
//
// The setup needs a deep stack: encoding/json inside the JWT parser, then
// the SQLite driver. Every connection's goroutine starts with a small
// stack, so running the setup there made each of them grow its stack
// several times, copying it each time; and when ten thousand clients
// reconnected at once, thousands of handlers held grown stacks together
// while they waited for the store, in fresh memory taken page by page.
// Those two costs were a quarter of the server's CPU in the 10,000-stream
// storm (docs/PERFORMANCE.md). A worker grows its stack once and keeps it
// for the setups that follow; a waiting request keeps its small one.

// setupIdle is how long a setup worker waits for the next setup before it
// exits.
const setupIdle = 5 * time.Second

// setupJob is one stream's setup, handed to a worker.
type setupJob struct {
	f        func() (lean bool, err error)
	lean     bool
	err      error
	panicked any // what f panicked with, re-raised on the request's goroutine
	done     chan struct{}
}

// setUp waits for a place among the streams being set up, runs f on a
// setup worker and returns what f returned. A panic in f is raised again
// on the calling goroutine, where net/http handles it as a handler's.
// Errors: f's, or EUNAVAILABLE when the client leaves while waiting.
func (s *Server) setUp(ctx context.Context, f func() (bool, error)) (bool, error) {
	release, err := s.enterSetup(ctx)
	if err != nil {
		return false, err
	}
	defer release()
	j := &setupJob{f: f, done: make(chan struct{})}
	select {
	case s.setupJobs <- j: // an idle worker takes it
	default:
		go s.setupWorker(j)
	}
	<-j.done
	if j.panicked != nil {
		panic(j.panicked)
	}
	return j.lean, j.err
}

// enterSetup waits for one of the Config.SetupConcurrency places and
// returns the function that gives it back. It waits on the request's
// goroutine, whose stack is still small. Errors: EUNAVAILABLE when the
// client leaves while waiting.
func (s *Server) enterSetup(ctx context.Context) (release func(), err error) {
	select {
	case s.setup <- struct{}{}:
	default:
		s.setupWaiting.Add(1)
		select {
		case s.setup <- struct{}{}:
			s.setupWaiting.Add(-1)
		case <-ctx.Done():
			s.setupWaiting.Add(-1)
			return nil, belfry.Unavailable("stream setup", ctx.Err())
		}
	}
	var once sync.Once
	return func() { once.Do(func() { <-s.setup }) }, nil
}

// setupWorker runs j, then every setup handed to it, until none comes for
// setupIdle.
func (s *Server) setupWorker(j *setupJob) {
	idle := time.NewTimer(setupIdle)
	defer idle.Stop()
	for {
		j.run()
		idle.Reset(setupIdle)
		select {
		case j = <-s.setupJobs:
		case <-idle.C:
			return
		}
	}
}

func (j *setupJob) run() {
	defer close(j.done)
	defer func() {
		if v := recover(); v != nil {
			if v == http.ErrAbortHandler {
				j.panicked = v
				return
			}
			j.panicked = fmt.Sprintf("stream setup: %v\n%s", v, debug.Stack())
		}
	}()
	j.lean, j.err = j.f()
}
