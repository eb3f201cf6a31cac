package client

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"time"
)

// FailedWebhook is a webhook (or push) delivery that gave up after its
// retries.
type FailedWebhook struct {
	ID             string          `json:"id"`   // its webhook-id, kept when retried
	Type           string          `json:"type"` // the event: notification.unseen, user.online…
	UserID         string          `json:"user_id"`
	NotificationID int64           `json:"notification_id,omitempty"` // 0 when none
	CreatedAt      time.Time       `json:"created_at"`
	Attempts       int             `json:"attempts"`
	LastError      string          `json:"last_error"`
	Body           json.RawMessage `json:"body"` // the payload it delivers
}

// FailedWebhooksPage is one page of failed webhooks, newest first. Next,
// when not "", is the Before of the next page.
type FailedWebhooksPage struct {
	Webhooks []FailedWebhook `json:"webhooks"`
	Next     string          `json:"next"`
}

// FailedWebhooks lists the failed deliveries (kept 30 days), newest first:
// up to limit (1 to 100; 0 for the server's default, 10), older than the
// webhook id before when it is not "".
// Errors: *Error with belfry.EINVALID, EUNAUTHORIZED, EFORBIDDEN,
// EUNAVAILABLE; network errors.
func (c *Client) FailedWebhooks(ctx context.Context, limit int, before string) (*FailedWebhooksPage, error) {
	q := url.Values{}
	if limit != 0 {
		q.Set("limit", strconv.Itoa(limit))
	}
	if before != "" {
		q.Set("before", before)
	}
	a, err := c.do(ctx, call{method: http.MethodGet, path: "/api/webhooks/failed", query: q, idempotent: true})
	if err != nil {
		return nil, err
	}
	var p FailedWebhooksPage
	if err := json.Unmarshal(a.body, &p); err != nil {
		return nil, fmt.Errorf("belfry client: decoding the failed webhooks: %w", err)
	}
	return &p, nil
}

// RetryWebhook makes a failed delivery due again at once, with the same
// webhook-id, and returns it. It is retried after 429 and 503 only: once
// it succeeded the delivery is no longer failed and a repeat answers 404,
// so a retry after a lost answer could not tell success from an unknown
// id.
// Errors: *Error with belfry.ENOTFOUND (no such failed delivery),
// EUNAUTHORIZED, EFORBIDDEN, EUNAVAILABLE; network errors.
func (c *Client) RetryWebhook(ctx context.Context, id string) (*FailedWebhook, error) {
	if id == "" {
		return nil, fmt.Errorf("belfry client: the webhook id is empty")
	}
	a, err := c.do(ctx, call{method: http.MethodPost, path: "/api/webhooks/" + url.PathEscape(id) + "/retry"})
	if err != nil {
		return nil, err
	}
	var w FailedWebhook
	if err := json.Unmarshal(a.body, &w); err != nil {
		return nil, fmt.Errorf("belfry client: decoding the webhook: %w", err)
	}
	return &w, nil
}
