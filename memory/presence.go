package memory

import (
	"container/list"
	"context"
	"hash/maphash"
	"sync"
	"time"

	"github.com/belfry/belfry"
)

// PresenceOptions configures a Presence. Zero values take the defaults noted.
type PresenceOptions struct {
	// Now is the clock of Since and LastSeen. Default time.Now.
	Now func() time.Time
	// MaxLastSeen bounds how many offline users' last-seen times are kept;
	// beyond it the oldest are forgotten (LastSeen then reads zero). The
	// bound is kept per lock shard, so what is forgotten first is the oldest
	// of its shard. Default 100,000.
	MaxLastSeen int
}

const (
	defaultMaxLastSeen = 100_000
	// changesBuffer is the capacity of Changes: a receiver that falls this
	// far behind misses events (the contract allows dropping).
	changesBuffer = 1024
)

// Presence is the belfry.Presence of a single node: the counts the Hub
// tracks are the whole truth. It is safe for concurrent use; create it with
// NewPresence.
//
// Lock order: the caller's locks (the Hub calls Track under a shard lock),
// then a shard's mu. saidMu is never held with another lock of the
// Presence.
type Presence struct {
	now    func() time.Time
	maxLS  int // per shard
	seed   maphash.Seed
	shards [shards]presenceShard
	// changes receives users on their 0→n and n→0 transitions.
	changes chan string

	saidMu sync.Mutex
	// said holds the users last announced online; a missing user counts
	// as announced offline, so the map stays as small as the online set.
	said map[string]struct{}
}

type presenceShard struct {
	mu     sync.Mutex
	online map[string]onlineUser
	// seen maps offline users to their element of order, which lists
	// lastSeen values oldest first: the front is evicted first.
	seen  map[string]*list.Element
	order list.List
}

// onlineUser is a map value per online user, so it is kept small: the
// start of presence in Unix nanoseconds rather than a time.Time.
type onlineUser struct {
	streams int
	since   int64
}

type lastSeen struct {
	user string
	at   time.Time
}

var _ belfry.Presence = (*Presence)(nil)

// NewPresence returns a Presence where no user was ever seen.
func NewPresence(opts PresenceOptions) *Presence {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.MaxLastSeen <= 0 {
		opts.MaxLastSeen = defaultMaxLastSeen
	}
	p := &Presence{now: opts.Now, maxLS: max(1, opts.MaxLastSeen/shards), seed: maphash.MakeSeed(),
		changes: make(chan string, changesBuffer), said: make(map[string]struct{})}
	for i := range p.shards {
		p.shards[i].online = make(map[string]onlineUser)
		p.shards[i].seen = make(map[string]*list.Element)
	}
	return p
}

func (p *Presence) shard(user string) *presenceShard {
	return &p.shards[maphash.String(p.seed, user)%shards]
}

// Track records that the user holds streams open streams (0: none). It only
// updates maps under a short lock, reads the clock on a 0→n or n→0
// transition, and then sends the user on Changes without blocking.
func (p *Presence) Track(userID string, streams int) {
	sh := p.shard(userID)
	sh.mu.Lock()
	cur, ok := sh.online[userID]
	edge := false
	switch {
	case streams > 0 && ok:
		cur.streams = streams
		sh.online[userID] = cur
	case streams > 0:
		sh.online[userID] = onlineUser{streams: streams, since: p.now().UnixNano()}
		if e, ok := sh.seen[userID]; ok {
			sh.order.Remove(e)
			delete(sh.seen, userID)
		}
		edge = true
	case ok: // streams <= 0
		delete(sh.online, userID)
		sh.remember(userID, p.now(), p.maxLS)
		edge = true
	}
	sh.mu.Unlock()
	if edge {
		select {
		case p.changes <- userID:
		default:
		}
	}
}

// remember records the user's last-seen time, evicting the oldest beyond
// limit. sh.mu is held; the user is not in sh.seen (it was online).
func (sh *presenceShard) remember(user string, at time.Time, limit int) {
	sh.seen[user] = sh.order.PushBack(lastSeen{user: user, at: at})
	for sh.order.Len() > limit {
		e := sh.order.Front()
		sh.order.Remove(e)
		delete(sh.seen, e.Value.(lastSeen).user)
	}
}

// Lookup returns the presence of each user, in the order asked. It never
// fails.
func (p *Presence) Lookup(_ context.Context, userIDs []string) ([]belfry.UserPresence, error) {
	out := make([]belfry.UserPresence, len(userIDs))
	for i, u := range userIDs {
		out[i].UserID = u
		sh := p.shard(u)
		sh.mu.Lock()
		if cur, ok := sh.online[u]; ok {
			out[i].Online, out[i].Streams, out[i].Since = true, cur.streams, time.Unix(0, cur.since)
		} else if e, ok := sh.seen[u]; ok {
			out[i].LastSeen = e.Value.(lastSeen).at
		}
		sh.mu.Unlock()
	}
	return out, nil
}

// Announce records the presence last announced for the user and reports
// whether it changed; a user never announced counts as announced offline.
// It never fails.
func (p *Presence) Announce(_ context.Context, userID string, online bool) (bool, error) {
	p.saidMu.Lock()
	defer p.saidMu.Unlock()
	_, was := p.said[userID]
	if online {
		p.said[userID] = struct{}{}
	} else {
		delete(p.said, userID)
	}
	return was != online, nil
}

// Changes delivers users on their first stream and after their last: by the
// time a user is received, Lookup already reflects the change.
func (p *Presence) Changes() <-chan string { return p.changes }

// Run waits for ctx to end and returns nil: one node has nothing to keep
// current.
func (p *Presence) Run(ctx context.Context) error {
	<-ctx.Done()
	return nil
}
