package redisbus

import (
	"context"
	"time"

	"github.com/belfry/belfry"
)

// PresenceNode is one node of the presence's node list (P+"nodes").
type PresenceNode struct {
	ID string
	// Beat is the node's last heartbeat; zero when the node left (Leave)
	// and no sweep has removed it yet.
	Beat time.Time
	// Live: the heartbeat is at most belfry.PresenceTimeout old, by this
	// node's clock. A node that is not live is removed by the next sweep.
	Live bool
}

// Nodes lists the nodes that share this presence, as the nodes set holds
// them: live ones, and dead or departed ones that no sweep has removed
// yet, by id. One ZRANGE. Errors: EUNAVAILABLE.
func (p *Presence) Nodes(ctx context.Context) ([]PresenceNode, error) {
	ctx, cancel := context.WithTimeout(ctx, p.opts.Timeout)
	defer cancel()
	zs, err := p.client.ZRangeWithScores(ctx, p.keys.nodes(), 0, -1).Result()
	if err != nil {
		return nil, belfry.Unavailable("redis presence", err)
	}
	cutoff := p.nowMs() - belfry.PresenceTimeout.Milliseconds()
	out := make([]PresenceNode, 0, len(zs))
	for _, z := range zs {
		id, ok := z.Member.(string)
		if !ok {
			continue
		}
		ms := int64(z.Score)
		n := PresenceNode{ID: id, Live: ms > 0 && ms >= cutoff}
		if ms > 0 {
			n.Beat = time.UnixMilli(ms)
		}
		out = append(out, n)
	}
	return out, nil
}
