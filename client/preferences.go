package client

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"

	"github.com/belfry/belfry"
)

// Preferences returns the user's switches, per category and by default
// (all on for a user who never set any).
// Errors: *Error with belfry.EINVALID, EUNAUTHORIZED, EFORBIDDEN,
// EUNAVAILABLE; network errors.
func (c *Client) Preferences(ctx context.Context, userID string) (*belfry.Preferences, error) {
	p, err := userPath(userID)
	if err != nil {
		return nil, err
	}
	a, err := c.do(ctx, call{method: http.MethodGet, path: p + "/preferences", idempotent: true})
	if err != nil {
		return nil, err
	}
	return decodePreferences(a.body)
}

// SetPreferences applies the patch to the user's switches atomically and
// returns them as they are now. Switches the patch leaves nil keep their
// value; a category mapped to nil is removed (it follows the default
// again). Applying the same patch twice gives the same preferences, so
// the call is retried like a read.
// Errors: *Error with belfry.EINVALID, EUNAUTHORIZED, EFORBIDDEN,
// EUNAVAILABLE; network errors.
func (c *Client) SetPreferences(ctx context.Context, userID string, patch belfry.PreferencesPatch) (*belfry.Preferences, error) {
	p, err := userPath(userID)
	if err != nil {
		return nil, err
	}
	body, err := json.Marshal(&patch)
	if err != nil {
		return nil, fmt.Errorf("belfry client: encoding the preferences: %w", err)
	}
	a, err := c.do(ctx, call{method: http.MethodPut, path: p + "/preferences", body: body, idempotent: true})
	if err != nil {
		return nil, err
	}
	return decodePreferences(a.body)
}

func decodePreferences(body []byte) (*belfry.Preferences, error) {
	var p belfry.Preferences
	if err := json.Unmarshal(body, &p); err != nil {
		return nil, fmt.Errorf("belfry client: decoding the preferences: %w", err)
	}
	if p.Categories == nil {
		p.Categories = map[string]belfry.Channels{}
	}
	return &p, nil
}
