package hub

import (
	"context"

	"github.com/belfry/belfry"
)

// replayGate holds the replay places of one user while any are taken or
// waited for (Hub.EnterReplay).
type replayGate struct {
	places chan struct{}
	refs   int // holders and waiters; the gate is dropped at zero
}

// EnterReplay waits for one of the user's replay places
// (Config.ReplaysPerUser) and returns the function that gives it back.
// A stream that resumes takes one before its setup, and gives it back when
// its replay is written (Options.Replayed): however
// many resumes of one user arrive at once, only a few read that user's
// backlog, so they cannot take every store read of the node. It waits
// without holding anything else. Errors: EUNAVAILABLE when ctx ends first.
func (h *Hub) EnterReplay(ctx context.Context, user string) (release func(), err error) {
	sh := h.shard(user)
	sh.mu.Lock()
	g := sh.replays[user]
	if g == nil {
		if sh.replays == nil {
			sh.replays = make(map[string]*replayGate)
		}
		g = &replayGate{places: make(chan struct{}, h.replaysPerUser)}
		sh.replays[user] = g
	}
	g.refs++
	sh.mu.Unlock()
	leave := func() {
		sh.mu.Lock()
		if g.refs--; g.refs == 0 {
			delete(sh.replays, user)
		}
		sh.mu.Unlock()
	}
	select {
	case g.places <- struct{}{}:
	default:
		h.replaysWaiting.Add(1)
		select {
		case g.places <- struct{}{}:
			h.replaysWaiting.Add(-1)
		case <-ctx.Done():
			h.replaysWaiting.Add(-1)
			leave()
			return nil, belfry.Unavailable("waiting for a replay place", ctx.Err())
		}
	}
	return func() {
		<-g.places
		leave()
	}, nil
}
