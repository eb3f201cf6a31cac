package hub

import (
	"context"
	"hash/maphash"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/belfry/belfry"
)

// The defaults of the node-wide stream settings (Config), in one place:
// cmd/belfry's flags and httpapi use them too.
const (
	DefaultHeartbeat      = 20 * time.Second
	DefaultWriteTimeout   = 10 * time.Second
	DefaultQueueSize      = 256
	DefaultStoreReads     = 64
	DefaultStoreOutage    = 60 * time.Second
	DefaultReplaysPerUser = 4
)

// Config configures a Hub. Zero values take the defaults noted.
type Config struct {
	Store  belfry.Store  // required: replay, gap fill and catch-up read from it
	Broker belfry.Broker // required: the Hub subscribes users on it
	// Presence, when set, is told of every change of a user's stream count
	// on this node (Presence.Track, under the user's shard lock).
	Presence belfry.Presence
	// Heartbeat is the interval of the streams' heartbeat comments.
	// Default 20s (DefaultHeartbeat).
	Heartbeat time.Duration
	// WriteTimeout bounds a write to a stream that waits on its client;
	// past it the stream is cut as slow. Default 10s (DefaultWriteTimeout).
	WriteTimeout time.Duration
	// QueueSize bounds each stream's queue of undelivered events; a stream
	// whose queue is full is disconnected (it resumes from its last id).
	// Default 256 (DefaultQueueSize).
	QueueSize int
	// Shards is the number of lock shards of the user table. Default 64.
	Shards int
	// StoreOutage is how long a stream that must read the store (the
	// replay, a gap in ids, a broker resync) keeps retrying while the store
	// fails, holding the events that came meanwhile, before it is cut (the
	// client then resumes from its last id). Default 60s
	// (DefaultStoreOutage).
	StoreOutage time.Duration
	// StoreReads bounds the streams' store reads in flight at once
	// (a resync's snapshot, a catch-up, a gap fill); the others wait their
	// turn, still sent heartbeats. After a broker resync every stream of
	// the node reads the store: unbounded, each of thousands of workers
	// would grow its stack in the database driver at the same moment.
	// Default 64 (DefaultStoreReads).
	StoreReads int
	// ReplaysPerUser bounds the replays of one user's resuming streams that
	// run at once (Hub.EnterReplay). Default 4 (DefaultReplaysPerUser).
	ReplaysPerUser int
	// MaxStreamsPerUser bounds the streams one user holds open on this
	// node; Open and Attach refuse one more with ErrTooManyStreams.
	// Default 32 (DefaultMaxStreamsPerUser); negative: no limit.
	MaxStreamsPerUser int
	// MaxStreams bounds the streams open on this node; Open and Attach
	// refuse one more with ErrServerFull. Default 0: no limit (belfry
	// serve derives one from the process's open-files limit).
	MaxStreams int
	Logger     *slog.Logger // default: slog.Default()
	// Tracer, when set, records a span per message fanned out in a
	// publisher's call (ReceiveContext). Default nil: off.
	Tracer belfry.Tracer
}

// Hub holds this node's live streams and fans broker messages out to them.
// It is the broker's Receiver. Every stream of a user gets every event; a
// stream that cannot keep up is cut and counted, never waited for.
//
// Lock order: a shard's mu, then a stream's mu, then the broker's and the
// presence's own locks (Subscribe, Unsubscribe and Track are called with
// the shard lock held so that a user's first attach and last detach
// cannot interleave, and counts reach the Presence in order). Nothing
// takes a shard's mu while holding a stream's mu: a stream detaches itself
// only after releasing its own lock.
type Hub struct {
	store     belfry.Store
	broker    belfry.Broker
	presence  belfry.Presence // nil: none
	queueSize int
	// heartbeat and writeTimeout: Config's, for every stream.
	heartbeat, writeTimeout time.Duration
	// storeOutage: how long a stream retries a failing store read.
	storeOutage time.Duration
	// reads holds a token per store read in flight (Config.StoreReads).
	reads chan struct{}
	// replaysPerUser: the places of each user's replay gate.
	replaysPerUser int
	log            *slog.Logger
	tracer         belfry.Tracer // nil: off
	seed           maphash.Seed
	shards         []hubShard

	wheel  wheel       // heartbeats and dead-peer checks of every stream
	closed atomic.Bool // set by CloseAll: streams attached later are cut

	// maxPerUser and maxStreams are the limits of admit; 0: none.
	maxPerUser  int
	maxStreams  int64
	refusedUser atomic.Uint64
	refusedNode atomic.Uint64

	open      atomic.Int64
	lean      atomic.Int64
	users     atomic.Int64
	slow      atomic.Uint64
	delivered atomic.Uint64
	blocked   atomic.Uint64
	// replaysWaiting counts EnterReplay calls waiting for a place.
	replaysWaiting atomic.Int64
	ends           [numEndReasons]atomic.Uint64 // streams ended, by EndReason
	lastStreamID   atomic.Uint64                // the id of the newest stream
}

type hubShard struct {
	mu sync.RWMutex
	// users maps a user id to its streams. Slices are copy-on-write, so a
	// fan-out reads one under the read lock and iterates it unlocked.
	users map[string][]*Stream
	// replays maps a user id to its replay gate while it is in use.
	replays map[string]*replayGate
}

// New returns a Hub. Run the broker with the Hub as its Receiver.
func New(cfg Config) *Hub {
	if cfg.Heartbeat <= 0 {
		cfg.Heartbeat = DefaultHeartbeat
	}
	if cfg.WriteTimeout <= 0 {
		cfg.WriteTimeout = DefaultWriteTimeout
	}
	if cfg.QueueSize <= 0 {
		cfg.QueueSize = DefaultQueueSize
	}
	if cfg.Shards <= 0 {
		cfg.Shards = 64
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.StoreOutage <= 0 {
		cfg.StoreOutage = DefaultStoreOutage
	}
	if cfg.StoreReads <= 0 {
		cfg.StoreReads = DefaultStoreReads
	}
	if cfg.ReplaysPerUser <= 0 {
		cfg.ReplaysPerUser = DefaultReplaysPerUser
	}
	if cfg.MaxStreamsPerUser == 0 {
		cfg.MaxStreamsPerUser = DefaultMaxStreamsPerUser
	}
	h := &Hub{store: cfg.Store, broker: cfg.Broker, presence: cfg.Presence, queueSize: cfg.QueueSize, storeOutage: cfg.StoreOutage,
		heartbeat: cfg.Heartbeat, writeTimeout: cfg.WriteTimeout,
		log: cfg.Logger, tracer: cfg.Tracer, seed: maphash.MakeSeed(), shards: make([]hubShard, cfg.Shards),
		reads: make(chan struct{}, cfg.StoreReads), replaysPerUser: cfg.ReplaysPerUser,
		maxPerUser: max(cfg.MaxStreamsPerUser, 0), maxStreams: int64(max(cfg.MaxStreams, 0))}
	for i := range h.shards {
		h.shards[i].users = make(map[string][]*Stream)
	}
	return h
}

// Heartbeat returns the streams' heartbeat interval (Config.Heartbeat).
func (h *Hub) Heartbeat() time.Duration { return h.heartbeat }

// WriteTimeout returns the bound on a stream's write that waits on its
// client (Config.WriteTimeout).
func (h *Hub) WriteTimeout() time.Duration { return h.writeTimeout }

// Stats are the Hub's counters, for metrics.
type Stats struct {
	Streams   int64  // open streams
	Lean      int64  // of which written to their socket by the publisher (hijacked HTTP/1.1), not through a Pipe
	Users     int64  // users with at least one open stream
	Slow      uint64 // streams cut because their queue was full
	Delivered uint64 // frames queued to streams
	Blocked   uint64 // writes the connection did not take at once
	// ReplaysWaiting are resuming streams waiting for one of their user's
	// replay places (Config.ReplaysPerUser).
	ReplaysWaiting int64
	// Opens refused: the user held MaxStreamsPerUser streams (RefusedUser),
	// the node held MaxStreams (RefusedNode, CheckRoom's included).
	RefusedUser uint64
	RefusedNode uint64
	// Ends counts the streams that ended, indexed by EndReason.
	Ends [numEndReasons]uint64
}

// Stats returns the Hub's counters.
func (h *Hub) Stats() Stats {
	var ends [numEndReasons]uint64
	for i := range ends {
		ends[i] = h.ends[i].Load()
	}
	return Stats{Ends: ends, Streams: h.open.Load(), Lean: h.lean.Load(), Users: h.users.Load(),
		Slow: h.slow.Load(), Delivered: h.delivered.Load(), Blocked: h.blocked.Load(),
		ReplaysWaiting: h.replaysWaiting.Load(),
		RefusedUser:    h.refusedUser.Load(), RefusedNode: h.refusedNode.Load()}
}

func (h *Hub) shard(user string) *hubShard {
	return &h.shards[maphash.String(h.seed, user)%uint64(len(h.shards))]
}

// attach adds s to the user's streams, or refuses it when a limit is
// reached (see admit): ErrTooManyStreams, ErrServerFull.
func (h *Hub) attach(user string, s *Stream) error {
	sh := h.shard(user)
	sh.mu.Lock()
	old := sh.users[user]
	if err := h.admit(len(old)); err != nil {
		sh.mu.Unlock()
		return err
	}
	list := make([]*Stream, len(old)+1)
	copy(list, old)
	list[len(old)] = s
	sh.users[user] = list
	if len(old) == 0 {
		h.users.Add(1)
		h.broker.Subscribe(user)
	}
	if h.presence != nil {
		h.presence.Track(user, len(list))
	}
	sh.mu.Unlock()
	return nil
}

// detach removes s; it is a no-op if s is not attached.
func (h *Hub) detach(user string, s *Stream) {
	sh := h.shard(user)
	sh.mu.Lock()
	old := sh.users[user]
	i := 0
	for i < len(old) && old[i] != s {
		i++
	}
	if i == len(old) {
		sh.mu.Unlock()
		return
	}
	if len(old) == 1 {
		delete(sh.users, user)
		h.users.Add(-1)
		h.broker.Unsubscribe(user)
	} else {
		list := make([]*Stream, 0, len(old)-1)
		list = append(list, old[:i]...)
		sh.users[user] = append(list, old[i+1:]...)
	}
	if h.presence != nil {
		h.presence.Track(user, len(old)-1)
	}
	sh.mu.Unlock()
	h.open.Add(-1)
}

// Receive fans a broker message out to the user's streams on this node. The
// frame is encoded once for all of them. It never blocks: a stream whose
// queue is full is cut.
func (h *Hub) Receive(m belfry.Message) { h.receive(m) }

// ReceiveContext is Receive in the call of the publish that sent m (the
// in-process broker's): with a Tracer, the fan-out is a span of that
// publish's trace, with the streams reached and those cut as slow.
func (h *Hub) ReceiveContext(ctx context.Context, m belfry.Message) {
	if h.tracer == nil {
		h.receive(m)
		return
	}
	_, sp := h.tracer.Start(ctx, "hub.fanout", belfry.SpanConsumer)
	delivered, cut := h.receive(m)
	sp.SetString("belfry.user_id", m.UserID)
	sp.SetString("belfry.event", string(m.Kind))
	if m.New != nil {
		sp.SetInt("belfry.notification_id", m.New.ID)
	}
	sp.SetInt("belfry.streams", int64(delivered))
	sp.SetInt("belfry.streams_cut", int64(cut))
	sp.End(nil)
}

// receive fans m out and answers how many streams got it and how many
// were cut as slow.
func (h *Hub) receive(m belfry.Message) (delivered, cut int) {
	sh := h.shard(m.UserID)
	sh.mu.RLock()
	list := sh.users[m.UserID]
	sh.mu.RUnlock()
	if len(list) == 0 {
		return 0, 0
	}
	f := EncodeMessage(m)
	for _, s := range list {
		if s.offer(f) {
			h.delivered.Add(1)
			delivered++
			continue
		}
		h.slow.Add(1)
		cut++
		s.cut(ErrSlowStream)
	}
	return delivered, cut
}

// Resync asks every stream to catch up from the store and send a fresh sync
// event: the broker may have dropped messages, state changes included. It
// returns at once; the streams are done on a few goroutines (resyncAll).
func (h *Hub) Resync() {
	var all []*Stream
	for i := range h.shards {
		all = h.shards[i].streams(all)
	}
	h.resyncAll(all)
}

// resyncAll resyncs the streams on at most StoreReads goroutines, each
// doing one stream's work after another, and returns at once. A goroutine
// per stream would start thousands at once, each with the runtime's
// current starting stack (the average of the last GC's scan, which the
// streams' setups may have made large), only to wait for a read turn.
// The price: a goroutine writing to a client that does not read holds up
// the streams after it for up to that stream's write timeout.
func (h *Hub) resyncAll(streams []*Stream) {
	var next atomic.Int64
	for range min(len(streams), cap(h.reads)) {
		go func() {
			for {
				i := next.Add(1) - 1
				if i >= int64(len(streams)) {
					return
				}
				streams[i].resyncNow()
			}
		}()
	}
}

// ResyncUsers asks the streams of these users to check the store for
// notifications they may have missed. A broker whose subscriptions take
// effect some time after Subscribe returned (Redis) calls it once they did:
// a notification published in between reaches the stream this way.
func (h *Hub) ResyncUsers(users []string) {
	for _, u := range users {
		sh := h.shard(u)
		sh.mu.RLock()
		for _, s := range sh.users[u] {
			s.wake(false)
		}
		sh.mu.RUnlock()
	}
}

// CloseAll ends every stream with ErrShutdown (clients reconnect to another
// node or after the restart). Used on shutdown.
func (h *Hub) CloseAll() {
	h.closed.Store(true)
	h.stopWheel()
	var all []*Stream
	for i := range h.shards {
		sh := &h.shards[i]
		sh.mu.RLock()
		for _, list := range sh.users {
			all = append(all, list...)
		}
		sh.mu.RUnlock()
	}
	for _, s := range all {
		s.cut(ErrShutdown)
	}
}

var _ belfry.Receiver = (*Hub)(nil)
