package redisbus

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"hash/maphash"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/redis/go-redis/v9"

	"github.com/belfry/belfry"
)

// PresenceOptions configures a Presence. Zero values take the defaults
// noted.
type PresenceOptions struct {
	// Prefix begins every key of the presence ("belfry:presence:nodes",
	// see presence_keys.go). Every node of one deployment uses the same;
	// deployments that share a Redis database use different ones. The
	// broker's prefix does: the keys live apart from its channels.
	// Checked by ValidatePrefix. Default "belfry:".
	Prefix string
	// NodeID names this node among the deployment's nodes: 1 to 128 bytes
	// of text without control characters, unique among the live nodes. A
	// node restarted with the same id clears what its previous run left
	// at once; with a new id, the previous run's streams stop counting
	// after PresenceTimeout. Default: 16 random hex digits.
	NodeID string
	// Now is the clock of heartbeats, Since and LastSeen, and the one
	// the liveness of other nodes is judged by: nodes' clocks must agree
	// to well within PresenceTimeout (NTP). Default time.Now.
	Now func() time.Time
	// Beat is the interval of heartbeats, of the writes of count changes
	// (first and last streams are written at once) and of the sweep of
	// dead nodes. It must stay well below belfry.PresenceTimeout (15s).
	// Default 5s.
	Beat time.Duration
	// Timeout bounds each Lookup, Announce and each write of Run, and is
	// the dial, read and write timeout of a client OpenPresence makes
	// unless the URL sets them. Default 2s.
	Timeout time.Duration
	// Remember is how long a user's last-seen time and last announced
	// presence are kept after they were written. Default 30 days.
	Remember time.Duration
	// Logger receives write failures and the sweeps of dead nodes.
	// Default slog.Default().
	Logger *slog.Logger
}

const (
	defaultPresencePrefix = "belfry:"
	defaultBeat           = 5 * time.Second
	defaultRemember       = 30 * 24 * time.Hour
	maxNodeIDLen          = 128
	// minFlushGap spaces the writes of first and last streams: the
	// transitions of a busy node are written together, up to 100 times a
	// second.
	minFlushGap = 10 * time.Millisecond
)

func (o *PresenceOptions) defaults() error {
	if o.Prefix == "" {
		o.Prefix = defaultPresencePrefix
	}
	if err := ValidatePrefix(o.Prefix); err != nil {
		return err
	}
	if o.NodeID == "" {
		var b [8]byte
		if _, err := rand.Read(b[:]); err != nil {
			return belfry.Errorf(belfry.EINTERNAL, "presence node id: %v", err)
		}
		o.NodeID = hex.EncodeToString(b[:])
	}
	if len(o.NodeID) > maxNodeIDLen || !utf8.ValidString(o.NodeID) ||
		strings.ContainsFunc(o.NodeID, unicode.IsControl) {
		return belfry.Errorf(belfry.EINVALID, "presence node id must be 1 to %d bytes of text without control characters", maxNodeIDLen)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Beat <= 0 {
		o.Beat = defaultBeat
	}
	if o.Timeout <= 0 {
		o.Timeout = defaultTimeout
	}
	if o.Remember <= 0 {
		o.Remember = defaultRemember
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	return nil
}

// Presence is the belfry.Presence of several nodes that share a Redis. It
// is safe for concurrent use. Create it with NewPresence or OpenPresence
// and start Run; see presence_keys.go for what it keeps in Redis.
//
// Lock order: the caller's locks (the Hub calls Track under a shard lock),
// then a shard's mu. No I/O happens while a shard's mu is held.
type Presence struct {
	client  *redis.Client
	ownsC   bool // OpenPresence made client: Close closes it
	opts    PresenceOptions
	keys    presenceKeys
	log     *slog.Logger
	seed    maphash.Seed
	shards  [presenceShards]localShard
	wake    chan struct{} // capacity 1: a first or last stream to write
	changes chan string

	running atomic.Bool
	left    atomic.Bool // Leave was called: Run writes nothing more
	done    chan struct{}
	once    sync.Once

	// Owned by Run's goroutine.
	cleared    bool // this node id's previous fields are gone
	registered bool // this node's heartbeat is in Redis, its users written
}

// presenceShards is the number of lock shards of the local counts, so that
// the Hub's shards do not meet on one lock.
const presenceShards = 32

// changesBuffer is the capacity of Changes.
const changesBuffer = 1024

// localShard holds this node's part of the truth for a share of the users.
type localShard struct {
	mu sync.Mutex
	// users holds the users with streams on this node.
	users map[string]localUser
	// dirty holds the users whose count changed since it was written.
	dirty map[string]dirtyMark
}

type localUser struct {
	streams int
	since   int64 // Unix ms of the first stream
}

type dirtyMark struct {
	offAt int64 // Unix ms of the end of the last stream; 0 if none since
	edge  bool  // a first or last stream: send the user on Changes once written
}

var _ belfry.Presence = (*Presence)(nil)

// NewPresence returns a Presence that uses c, which stays the caller's
// (Close does not close it); c should have timeouts and end commands with
// their context, as a client of Open does. Errors: EINVALID (a Prefix that
// ValidatePrefix refuses, a bad NodeID).
func NewPresence(c *redis.Client, opts PresenceOptions) (*Presence, error) {
	if err := opts.defaults(); err != nil {
		return nil, err
	}
	p := &Presence{client: c, opts: opts, keys: presenceKeys{opts.Prefix + "presence:"}, log: opts.Logger,
		seed: maphash.MakeSeed(), wake: make(chan struct{}, 1), changes: make(chan string, changesBuffer),
		done: make(chan struct{})}
	for i := range p.shards {
		p.shards[i].users = make(map[string]localUser)
		p.shards[i].dirty = make(map[string]dirtyMark)
	}
	return p, nil
}

// OpenPresence connects to the Redis at url (as Open does) and checks that
// it answers. Close closes the connections. Errors: EINVALID (a malformed
// URL, a bad Prefix or NodeID), EUNAVAILABLE (Redis does not answer within
// ctx and Options.Timeout).
func OpenPresence(ctx context.Context, url string, opts PresenceOptions) (*Presence, error) {
	if err := opts.defaults(); err != nil {
		return nil, err
	}
	c, err := newClient(url, opts.Timeout)
	if err != nil {
		return nil, err
	}
	p, err := NewPresence(c, opts)
	if err != nil {
		c.Close()
		return nil, err
	}
	p.ownsC = true
	ctx, cancel := context.WithTimeout(ctx, opts.Timeout)
	defer cancel()
	if err := c.Ping(ctx).Err(); err != nil {
		c.Close()
		return nil, belfry.Unavailable("redis presence", err)
	}
	return p, nil
}

// NodeID returns the node's id (PresenceOptions.NodeID or the one drawn).
func (p *Presence) NodeID() string { return p.opts.NodeID }

func (p *Presence) shard(user string) *localShard {
	return &p.shards[maphash.String(p.seed, user)%presenceShards]
}

func (p *Presence) nowMs() int64 { return p.opts.Now().UnixMilli() }

// Track records that this node holds streams open streams of the user. It
// never does I/O: it updates this node's counts and marks the user to be
// written by Run, at once (a wake-up of Run's writer) for a first or last
// stream, at the next beat for a count that changes between.
func (p *Presence) Track(userID string, streams int) {
	sh := p.shard(userID)
	sh.mu.Lock()
	cur, ok := sh.users[userID]
	edge := false
	switch {
	case streams > 0 && ok:
		cur.streams = streams
		sh.users[userID] = cur
		if _, ok := sh.dirty[userID]; !ok {
			sh.dirty[userID] = dirtyMark{} // an unwritten edge stays marked
		}
	case streams > 0:
		sh.users[userID] = localUser{streams: streams, since: p.nowMs()}
		d := sh.dirty[userID]
		d.edge = true
		sh.dirty[userID] = d
		edge = true
	case ok:
		delete(sh.users, userID)
		sh.dirty[userID] = dirtyMark{offAt: p.nowMs(), edge: true}
		edge = true
	}
	sh.mu.Unlock()
	if edge {
		select {
		case p.wake <- struct{}{}:
		default:
		}
	}
}

// Changes delivers the users whose first stream started or last stream
// ended on this node, once that is written to Redis (so Lookup shows it
// when they arrive), and the users of a dead node that this node swept.
func (p *Presence) Changes() <-chan string { return p.changes }

func (p *Presence) notify(users []string) {
	for _, u := range users {
		select {
		case p.changes <- u:
		default:
		}
	}
}

// Close ends Run and, for a Presence of OpenPresence, closes its client.
// It writes nothing (see Leave). It is idempotent and returns nil.
func (p *Presence) Close() error {
	p.once.Do(func() {
		close(p.done)
		if p.ownsC {
			if err := p.client.Close(); err != nil {
				p.log.Warn("redis presence: close", "err", err)
			}
		}
	})
	return nil
}
