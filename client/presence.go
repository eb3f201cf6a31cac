package client

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"time"

	"github.com/belfry/belfry"
)

// Presence returns, for each user asked (1 to 100), whether they have a
// stream open on a live node, keyed by user id. Since is set for an
// online user, LastSeen for an offline one, each when known.
// Errors: *Error with belfry.EINVALID, EUNAUTHORIZED, EFORBIDDEN,
// EUNAVAILABLE (Redis unreachable); network errors.
func (c *Client) Presence(ctx context.Context, userIDs ...string) (map[string]belfry.UserPresence, error) {
	if len(userIDs) == 0 {
		return nil, fmt.Errorf("belfry client: Presence needs at least one user")
	}
	a, err := c.do(ctx, call{method: http.MethodGet, path: "/api/presence",
		query: url.Values{"user_id": userIDs}, idempotent: true})
	if err != nil {
		return nil, err
	}
	var in map[string]struct {
		Online   bool       `json:"online"`
		Streams  int        `json:"streams"`
		Since    *time.Time `json:"since"`
		LastSeen *time.Time `json:"last_seen"`
	}
	if err := json.Unmarshal(a.body, &in); err != nil {
		return nil, fmt.Errorf("belfry client: decoding the presence: %w", err)
	}
	out := make(map[string]belfry.UserPresence, len(in))
	for u, p := range in {
		up := belfry.UserPresence{UserID: u, Online: p.Online, Streams: p.Streams}
		if p.Since != nil {
			up.Since = *p.Since
		}
		if p.LastSeen != nil {
			up.LastSeen = *p.LastSeen
		}
		out[u] = up
	}
	return out, nil
}
