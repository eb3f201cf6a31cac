package redisbus

import (
	"context"
	"errors"
	"math"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/belfry/belfry"
)

// flushChunk is the most users one flush script call writes.
const flushChunk = 512

// Run keeps this node's presence current until ctx ends or the Presence is
// closed; then it returns nil, leaving its keys as they are (a node that
// stops without Leave looks dead to the others after PresenceTimeout).
//
// On start it clears what a previous run with the same NodeID left, sends
// a heartbeat and writes every user tracked so far. Then it writes first
// and last streams as they come (spaced by 10ms at least), and every Beat
// sends a heartbeat, writes the count changes and sweeps the dead nodes.
// When Redis fails, Track goes on counting in memory, and Run retries with
// backoff (50ms doubling to 2s), then rewrites all its users. Errors:
// EINVALID when another Run is active.
func (p *Presence) Run(ctx context.Context) error {
	if !p.running.CompareAndSwap(false, true) {
		return belfry.Errorf(belfry.EINVALID, "redis presence: Run is already active")
	}
	defer p.running.Store(false)
	p.registered = false // a new heartbeat, and every user written again
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() { // ends Run on Close; ends with Run
		select {
		case <-p.done:
			cancel()
		case <-ctx.Done():
		}
	}()

	beat := time.NewTicker(p.opts.Beat)
	defer beat.Stop()
	timer := time.NewTimer(0)
	<-timer.C
	defer timer.Stop()
	wait := func(d time.Duration) bool {
		timer.Reset(d)
		select {
		case <-ctx.Done():
			return false
		case <-timer.C:
			return true
		}
	}

	delay, failing := minReconnectDelay, false
	isBeat := true
	for {
		if p.left.Load() {
			<-ctx.Done()
			return nil
		}
		last := time.Now()
		err := p.cycle(ctx, isBeat)
		if ctx.Err() != nil {
			return nil
		}
		if err != nil {
			p.registered = false
			if !failing {
				p.log.Warn("redis presence: write failed; counting in memory and retrying", "err", err)
			} else {
				p.log.Debug("redis presence: retry failed", "err", err, "retry_in", delay)
			}
			failing = true
			if !wait(delay) {
				return nil
			}
			delay = min(2*delay, defaultMaxDelay)
			isBeat = true
			continue
		}
		if failing {
			p.log.Info("redis presence: writing again")
		}
		failing, delay = false, minReconnectDelay
		select {
		case <-ctx.Done():
			return nil
		case <-beat.C:
			isBeat = true
		case <-p.wake:
			isBeat = false
			if d := minFlushGap - time.Since(last); d > 0 && !wait(d) {
				return nil
			}
		}
	}
}

// cycle brings Redis up to date: the first time, clears this node id's
// previous fields; registers the node if it is not (or beat says so: a
// heartbeat); writes the dirty users; and on a beat sweeps dead nodes.
func (p *Presence) cycle(ctx context.Context, beat bool) error {
	ctx, cancel := context.WithTimeout(ctx, p.opts.Timeout)
	defer cancel()
	if !p.cleared {
		users, _, err := p.sweepNode(ctx, p.opts.NodeID, math.MaxInt64)
		if err != nil {
			return err
		}
		p.cleared = true
		p.notify(users)
	}
	if beat || !p.registered {
		if err := p.heartbeat(ctx); err != nil {
			return err
		}
	}
	ok, err := p.flush(ctx)
	if err == nil && !ok {
		// Swept while alive (a pause longer than the timeout), or Redis
		// lost its data: register again and write everything.
		p.log.Warn("redis presence: this node was no longer registered; writing all its users again")
		p.registered = false
		if err = p.heartbeat(ctx); err == nil {
			_, err = p.flush(ctx)
		}
	}
	if err != nil || !beat {
		return err
	}
	return p.sweep(ctx)
}

// heartbeat adds or refreshes the node's score. A node that was not in the
// set (first beat, swept, Redis restarted) marks all its users dirty.
func (p *Presence) heartbeat(ctx context.Context) error {
	added, err := p.client.ZAdd(ctx, p.keys.nodes(), redis.Z{Score: float64(p.nowMs()), Member: p.opts.NodeID}).Result()
	if err != nil {
		return err
	}
	if added > 0 || !p.registered {
		p.markAll()
	}
	p.registered = true
	return nil
}

// markAll marks every user with streams on this node dirty.
func (p *Presence) markAll() {
	for i := range p.shards {
		sh := &p.shards[i]
		sh.mu.Lock()
		for u := range sh.users {
			if _, ok := sh.dirty[u]; !ok {
				sh.dirty[u] = dirtyMark{}
			}
		}
		sh.mu.Unlock()
	}
}

// pending is a dirty user taken for a write.
type pending struct {
	user    string
	streams int
	at      int64 // since, or the end of the last stream
	mark    dirtyMark
}

// take removes and returns the dirty users with their current counts.
func (p *Presence) take() []pending {
	var out []pending
	for i := range p.shards {
		sh := &p.shards[i]
		sh.mu.Lock()
		for u, d := range sh.dirty {
			cur, on := sh.users[u]
			it := pending{user: u, mark: d, at: d.offAt}
			if on {
				it.streams, it.at = cur.streams, cur.since
			}
			out = append(out, it)
		}
		clear(sh.dirty)
		sh.mu.Unlock()
	}
	return out
}

// putBack marks the users of a failed write dirty again, keeping any newer
// mark.
func (p *Presence) putBack(items []pending) {
	for _, it := range items {
		sh := p.shard(it.user)
		sh.mu.Lock()
		d, ok := sh.dirty[it.user]
		if !ok {
			d = it.mark
		} else {
			d.edge = d.edge || it.mark.edge
			if d.offAt == 0 {
				d.offAt = it.mark.offAt
			}
		}
		sh.dirty[it.user] = d
		sh.mu.Unlock()
	}
}

// flush writes the dirty users in one pipeline of script calls and then
// sends those with a first or last stream on Changes. It reports false,
// having written nothing, when the node is not registered in Redis.
func (p *Presence) flush(ctx context.Context) (bool, error) {
	items := p.take()
	if len(items) == 0 {
		return true, nil
	}
	nodes, set := p.keys.nodes(), p.keys.node(p.opts.NodeID)
	remember := strconv.FormatInt(p.opts.Remember.Milliseconds(), 10)
	cutoff := p.nowMs() - belfry.PresenceTimeout.Milliseconds()
	pipe := p.client.Pipeline()
	var cmds []*redis.Cmd
	for start := 0; start < len(items); start += flushChunk {
		chunk := items[start:min(start+flushChunk, len(items))]
		keys := make([]string, 2, 2+2*len(chunk))
		keys[0], keys[1] = nodes, set
		args := make([]any, 3, 3+3*len(chunk))
		args[0], args[1], args[2] = p.opts.NodeID, remember, cutoff
		for _, it := range chunk {
			keys = append(keys, p.keys.user(it.user), p.keys.seen(it.user))
			args = append(args, escapeID(it.user), it.streams, it.at)
		}
		cmds = append(cmds, flushScript.Eval(ctx, pipe, keys, args...))
	}
	if _, err := pipe.Exec(ctx); err != nil {
		p.putBack(items)
		return false, err
	}
	for _, c := range cmds {
		if n, err := c.Int(); err != nil || n != 1 {
			p.putBack(items)
			return false, err
		}
	}
	for _, it := range items {
		if it.mark.edge {
			p.notify([]string{it.user})
		}
	}
	return true, nil
}

// sweep removes the nodes whose heartbeat is older than PresenceTimeout,
// each claimed by one node's script, and sends their users on Changes.
func (p *Presence) sweep(ctx context.Context) error {
	cutoff := p.nowMs() - belfry.PresenceTimeout.Milliseconds()
	dead, err := p.client.ZRangeArgs(ctx, redis.ZRangeArgs{Key: p.keys.nodes(), ByScore: true,
		Start: "-inf", Stop: "(" + strconv.FormatInt(cutoff, 10)}).Result()
	if err != nil {
		return err
	}
	for _, node := range dead {
		if node == p.opts.NodeID {
			continue
		}
		users, claimed, err := p.sweepNode(ctx, node, cutoff)
		if err != nil {
			return err
		}
		if claimed {
			p.log.Info("redis presence: removed a node that stopped beating", "node", node, "users", len(users))
			p.notify(users)
		}
	}
	return nil
}

// sweepNode runs sweepScript for node: claimed reports whether the node
// was removed (its heartbeat older than cutoff, or absent); users are its
// users.
func (p *Presence) sweepNode(ctx context.Context, node string, cutoff int64) (users []string, claimed bool, err error) {
	res, err := sweepScript.Run(ctx, p.client, []string{p.keys.nodes(), p.keys.node(node)},
		node, cutoff, p.keys.p, p.opts.Remember.Milliseconds()).StringSlice()
	if errors.Is(err, redis.Nil) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, err
	}
	users = res[:0]
	for _, m := range res {
		if u, ok := unescapeID(m); ok {
			users = append(users, u)
		}
	}
	return users, true, nil
}
