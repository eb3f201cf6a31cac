package redisbus

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/belfry/belfry"
)

// Lookup returns the presence of each user, in the order asked, in one
// round trip: the nodes' heartbeats, and each user's hash and seen key.
// Only the fields of live nodes count (streams add up; Since is the
// earliest); a user with none is offline, last seen at the latest of the
// seen key and the last heartbeat of a dead node that still had a field.
// Counts written at a beat lag by up to PresenceOptions.Beat. Errors:
// EUNAVAILABLE (Redis unreachable, or too slow for PresenceOptions.Timeout).
func (p *Presence) Lookup(ctx context.Context, userIDs []string) ([]belfry.UserPresence, error) {
	out := make([]belfry.UserPresence, len(userIDs))
	if len(userIDs) == 0 {
		return out, nil
	}
	ctx, cancel := context.WithTimeout(ctx, p.opts.Timeout)
	defer cancel()
	pipe := p.client.Pipeline()
	nodesCmd := pipe.ZRangeWithScores(ctx, p.keys.nodes(), 0, -1)
	hashes := make([]*redis.MapStringStringCmd, len(userIDs))
	seens := make([]*redis.StringCmd, len(userIDs))
	for i, u := range userIDs {
		hashes[i] = pipe.HGetAll(ctx, p.keys.user(u))
		seens[i] = pipe.Get(ctx, p.keys.seen(u))
	}
	if _, err := pipe.Exec(ctx); err != nil && !errors.Is(err, redis.Nil) {
		return nil, belfry.Unavailable("redis presence", err)
	}
	nodes, err := nodesCmd.Result()
	if err != nil {
		return nil, belfry.Unavailable("redis presence", err)
	}
	beats := make(map[string]int64, len(nodes))
	for _, z := range nodes {
		if id, ok := z.Member.(string); ok {
			beats[id] = int64(z.Score)
		}
	}
	cutoff := p.nowMs() - belfry.PresenceTimeout.Milliseconds()
	for i, u := range userIDs {
		fields, err := hashes[i].Result()
		if err != nil {
			return nil, belfry.Unavailable("redis presence", err)
		}
		var since, lastSeen int64
		up := &out[i]
		up.UserID = u
		for node, v := range fields {
			n, t, ok := parseField(v)
			beat, known := beats[node]
			if !ok || n <= 0 || !known {
				// A field of a node that is gone from the heartbeats
				// (swept mid-write by an older belfry, or a hand edit)
				// says nothing.
				continue
			}
			if beat < cutoff {
				lastSeen = max(lastSeen, beat)
				continue
			}
			up.Streams += n
			if since == 0 || t < since {
				since = t
			}
		}
		if up.Streams > 0 {
			up.Online, up.Since = true, time.UnixMilli(since)
			continue
		}
		if s, err := seens[i].Result(); err == nil {
			if ms, err := strconv.ParseInt(s, 10, 64); err == nil {
				lastSeen = max(lastSeen, ms)
			}
		} else if !errors.Is(err, redis.Nil) {
			return nil, belfry.Unavailable("redis presence", err)
		}
		if lastSeen > 0 {
			up.LastSeen = time.UnixMilli(lastSeen)
		}
	}
	return out, nil
}

// parseField reads a hash field's "streams sinceUnixMs".
func parseField(v string) (streams int, since int64, ok bool) {
	a, b, ok := strings.Cut(v, " ")
	if !ok {
		return 0, 0, false
	}
	n, err1 := strconv.Atoi(a)
	t, err2 := strconv.ParseInt(b, 10, 64)
	return n, t, err1 == nil && err2 == nil
}

// Announce records the presence last announced for the user, cluster-wide,
// and reports whether it changed: SET "1" GET (with an expiry of
// PresenceOptions.Remember) for online, GETDEL for offline, so a user
// never announced, or forgotten, counts as announced offline. Each is one
// atomic command: of nodes that announce the same change at once, one sees
// it changed. Errors: EUNAVAILABLE.
func (p *Presence) Announce(ctx context.Context, userID string, online bool) (bool, error) {
	ctx, cancel := context.WithTimeout(ctx, p.opts.Timeout)
	defer cancel()
	key := p.keys.said(userID)
	var old string
	var err error
	if online {
		old, err = p.client.SetArgs(ctx, key, "1", redis.SetArgs{Get: true, TTL: p.opts.Remember}).Result()
	} else {
		old, err = p.client.GetDel(ctx, key).Result()
	}
	if err != nil && !errors.Is(err, redis.Nil) {
		return false, belfry.Unavailable("redis presence", err)
	}
	return (old == "1") != online, nil
}

// Leave marks this node as gone, for a clean shutdown after the Hub closed
// its streams and Run returned: its users are last seen now, and the next
// sweep of another node (within its Beat) removes its fields and sends its
// users on that node's Changes. Run writes nothing after Leave. Without
// Leave, a stopped node counts until PresenceTimeout has passed. Errors:
// EUNAVAILABLE.
func (p *Presence) Leave(ctx context.Context) error {
	p.left.Store(true)
	ctx, cancel := context.WithTimeout(ctx, p.opts.Timeout)
	defer cancel()
	err := leaveScript.Run(ctx, p.client, []string{p.keys.nodes(), p.keys.node(p.opts.NodeID)},
		p.opts.NodeID, p.nowMs(), p.keys.p, p.opts.Remember.Milliseconds()).Err()
	if err != nil {
		return belfry.Unavailable("redis presence", err)
	}
	return nil
}
