package client

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/belfry/belfry"
)

// Message is what a publish sends: the fields of POST /api/notifications
// other than the recipients (docs/API.md has their limits).
type Message struct {
	Message  string // required
	Title    string // optional, "" for none (as are Link, Category and Avatar)
	Link     string // an http(s) URL or a path starting with "/"
	Category string
	Avatar   string // an image URL: the rules of Link
	// Data is any value that encodes to a JSON object (a map, a struct,
	// json.RawMessage); nil for none.
	Data    any
	Actions []belfry.Action // up to belfry.MaxActions buttons
	// ExpiresAt (not zero) or TTL (positive; rounded up to whole
	// seconds): when the notification expires. At most one of them.
	ExpiresAt time.Time
	TTL       time.Duration
	// Push is "never", "offline" or "always" (belfry.PushNever…); "" for
	// the server's default (--push-default).
	Push belfry.PushMode

	// IdempotencyKey makes the publish safe to repeat: the same key and
	// the same message within the server's window create nothing more and
	// answer the first call's notifications (Published.Replayed). Give a
	// key of your own (1 to 255 printable ASCII characters, such as your
	// job's id) to make your own retries safe; without one the client
	// makes a random key per call, which covers its own retries only.
	IdempotencyKey string
}

// Published is the answer of a publish.
type Published struct {
	// Notifications are those created, in the order of the users given,
	// without the skipped users.
	Notifications []belfry.Notification
	// Skipped are the users whose preferences turned the notification's
	// category off for the inbox: nothing was stored for them.
	Skipped []string
	// Replayed is true when the answer is the replay of an earlier call
	// with the same IdempotencyKey (one of the client's own retries, or
	// the caller's repeat): nothing was created by this call.
	Replayed bool
	// IdempotencyKey is the key sent: the caller's, or the one the client
	// made.
	IdempotencyKey string
}

// publishBody is the JSON of POST /api/notifications.
type publishBody struct {
	UserID    *string         `json:"user_id,omitempty"`
	UserIDs   []string        `json:"user_ids,omitempty"`
	Message   string          `json:"message"`
	Title     string          `json:"title,omitempty"`
	Link      string          `json:"link,omitempty"`
	Category  string          `json:"category,omitempty"`
	Data      json.RawMessage `json:"data,omitempty"`
	Avatar    string          `json:"avatar,omitempty"`
	Actions   []belfry.Action `json:"actions,omitempty"`
	ExpiresAt string          `json:"expires_at,omitempty"`
	TTL       int64           `json:"ttl,omitempty"`
	Push      belfry.PushMode `json:"push,omitempty"`
}

// Publish creates the notification for one user. A user whose preferences
// skip it gets none: Published.Notifications is empty and Skipped names
// the user.
// Errors: *Error with belfry.EINVALID, EUNAUTHORIZED, EFORBIDDEN,
// EIDEMCONFLICT, ETOOLARGE, ERATELIMIT, EUNAVAILABLE; network errors.
func (c *Client) Publish(ctx context.Context, userID string, m Message) (*Published, error) {
	b := publishBody{UserID: &userID}
	return c.publish(ctx, b, m)
}

// PublishMany creates the same notification for each user (1 to
// belfry.MaxUsersPerCall; duplicates are dropped): all are stored or none
// is. Errors: those of Publish.
func (c *Client) PublishMany(ctx context.Context, userIDs []string, m Message) (*Published, error) {
	if len(userIDs) == 0 {
		return nil, fmt.Errorf("belfry client: PublishMany needs at least one user")
	}
	return c.publish(ctx, publishBody{UserIDs: userIDs}, m)
}

func (c *Client) publish(ctx context.Context, b publishBody, m Message) (*Published, error) {
	b.Message, b.Title, b.Link, b.Category, b.Avatar = m.Message, m.Title, m.Link, m.Category, m.Avatar
	b.Actions, b.Push = m.Actions, m.Push
	if m.Data != nil {
		raw, err := json.Marshal(m.Data)
		if err != nil {
			return nil, fmt.Errorf("belfry client: encoding data: %w", err)
		}
		if string(raw) != "null" {
			b.Data = raw
		}
	}
	if !m.ExpiresAt.IsZero() {
		b.ExpiresAt = m.ExpiresAt.UTC().Format(time.RFC3339Nano)
	}
	if m.TTL > 0 {
		b.TTL = int64((m.TTL + time.Second - 1) / time.Second)
	}
	body, err := json.Marshal(b)
	if err != nil {
		return nil, fmt.Errorf("belfry client: encoding the publish: %w", err)
	}
	key := m.IdempotencyKey
	if key == "" {
		key = "belfry-go-" + rand.Text()
	} else if !validKey(key) {
		// Checked here: a header the transport refuses would look like a
		// network error, and be retried.
		return nil, fmt.Errorf("belfry client: IdempotencyKey must be 1 to %d printable ASCII characters", maxKey)
	}
	a, err := c.do(ctx, call{method: http.MethodPost, path: "/api/notifications", body: body,
		header: http.Header{"Idempotency-Key": {key}}, idempotent: true})
	if err != nil {
		return nil, err
	}
	p := &Published{IdempotencyKey: key, Replayed: a.header.Get("Idempotent-Replayed") == "true"}
	if b.UserID != nil {
		return p, p.readOne(a.body)
	}
	if err := json.Unmarshal(a.body, &p.Notifications); err != nil {
		return nil, fmt.Errorf("belfry client: decoding the notifications: %w", err)
	}
	if h := a.header.Get("Belfry-Skipped"); h != "" {
		if err := json.Unmarshal([]byte(h), &p.Skipped); err != nil {
			return nil, fmt.Errorf("belfry client: decoding Belfry-Skipped: %w", err)
		}
	}
	return p, nil
}

// readOne reads the answer of a one-user publish: the notification, or
// {"skipped": [user]}.
func (p *Published) readOne(body []byte) error {
	var head struct {
		ID      int64     `json:"id"`
		Skipped *[]string `json:"skipped"`
	}
	if err := json.Unmarshal(body, &head); err != nil {
		return fmt.Errorf("belfry client: decoding the notification: %w", err)
	}
	if head.ID == 0 && head.Skipped != nil {
		p.Skipped = *head.Skipped
		return nil
	}
	var n belfry.Notification
	if err := json.Unmarshal(body, &n); err != nil {
		return fmt.Errorf("belfry client: decoding the notification: %w", err)
	}
	p.Notifications = []belfry.Notification{n}
	return nil
}

// Retract deletes one notification of the user (the app cancelled what it
// announced); the user's open streams are told. A retry after a lost
// answer finds it gone and answers 404: when the goal is "it is gone",
// treat IsNotFound(err) as done.
// Errors: *Error with belfry.EINVALID, EUNAUTHORIZED, EFORBIDDEN,
// ENOTFOUND, EUNAVAILABLE; network errors.
func (c *Client) Retract(ctx context.Context, userID string, id int64) error {
	p, err := userPath(userID)
	if err != nil {
		return err
	}
	_, err = c.do(ctx, call{method: http.MethodDelete,
		path: p + "/notifications/" + strconv.FormatInt(id, 10), idempotent: true})
	return err
}

// userPath is /api/users/{user_id}, the id percent-encoded as one path
// segment ("user/7" is /api/users/user%2F7).
func userPath(userID string) (string, error) {
	if userID == "" {
		return "", fmt.Errorf("belfry client: the user id is empty")
	}
	return "/api/users/" + url.PathEscape(userID), nil
}

// maxKey is the longest Idempotency-Key belfry accepts.
const maxKey = 255

// validKey reports whether k is 1 to maxKey printable ASCII characters.
func validKey(k string) bool {
	if k == "" || len(k) > maxKey {
		return false
	}
	for i := 0; i < len(k); i++ {
		if k[i] < 0x20 || k[i] > 0x7e {
			return false
		}
	}
	return true
}
