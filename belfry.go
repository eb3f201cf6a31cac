package belfry

import (
	"encoding/json"
	"strconv"
	"time"
	"unicode/utf8"
)

// Limits on what a publisher may send. Inbox.Create enforces them; stores
// may rely on them.
const (
	MaxUserIDLen    = 128      // characters in a user id
	MaxUsersPerCall = 1000     // user_ids in one publish
	MaxMessageBytes = 4 << 10  // message
	MaxTitleBytes   = 256      // title
	MaxCategoryLen  = 64       // category
	MaxLinkBytes    = 2048     // link
	MaxDataBytes    = 16 << 10 // data, as JSON
	MaxBodyBytes    = 64 << 10 // a whole publish request body
	DefaultPageSize = 10       // GET /notifications without limit
	MaxPageSize     = 100      // the largest limit
	MaxReplay       = 1000     // notifications read from the store per replay query
	MaxActions      = 3        // actions on one notification
	MaxActionIDLen  = 64       // characters in an action id
	MaxActionLabel  = 64       // characters in an action label
	MaxTTL          = 10 * 365 * 24 * time.Hour
)

// Action is a button on a notification. URL is optional (same rules as a
// notification's link): the bell opens it after recording the action.
type Action struct {
	ID    string `json:"id"`
	Label string `json:"label"`
	URL   string `json:"url,omitempty"`
}

// Notification is one entry of a user's inbox. ID is the user's sequence
// number: strictly increasing per user, in commit order, never reused.
type Notification struct {
	ID        int64
	UserID    string
	Message   string
	Title     string          // optional, "" when unset
	Link      string          // optional: http(s) URL or a path starting with "/"
	Category  string          // optional
	Data      json.RawMessage // optional JSON object; nil when unset
	Avatar    string          // optional: http(s) URL or a path starting with "/"
	Actions   []Action        // optional, at most MaxActions
	ReadAt    *time.Time      // nil while unread
	CreatedAt time.Time       // set by the store, UTC, millisecond precision

	SeenAt     *time.Time // nil while unseen; set with ReadAt if it was nil
	ArchivedAt *time.Time // nil unless archived
	ExpiresAt  *time.Time // optional: from then on it is never listed, counted or replayed
	Action     string     // the id of the action taken, "" if none
	ActedAt    *time.Time // when Action was taken
}

// Expired reports whether the notification has expired at now.
func (n *Notification) Expired(now time.Time) bool {
	return n.ExpiresAt != nil && !n.ExpiresAt.After(now)
}

// FindAction returns the notification's action with this id, or nil.
func (n *Notification) FindAction(id string) *Action {
	for i := range n.Actions {
		if n.Actions[i].ID == id {
			return &n.Actions[i]
		}
	}
	return nil
}

// Unread reports whether the notification has not been read.
func (n *Notification) Unread() bool { return n.ReadAt == nil }

// TimeFormat is the layout of every timestamp on the wire:
// UTC with exactly three fractional digits, e.g. 2026-11-23T17:42:24.123Z.
const TimeFormat = "2006-01-02T15:04:05.000Z"

// Now returns t truncated to the millisecond in UTC, the precision stored
// and sent on the wire.
func Now(t time.Time) time.Time { return t.UTC().Truncate(time.Millisecond) }

// MarshalJSON writes the contract's JSON: snake_case, optional strings as
// null when unset, data as an object or null, read_at as null while unread.
func (n *Notification) MarshalJSON() ([]byte, error) {
	return n.AppendJSON(make([]byte, 0, 160+len(n.Message)+len(n.Data))), nil
}

// AppendJSON appends the notification's JSON to b, every field present
// (unset ones as null, actions as []): the shape of every HTTP answer.
func (n *Notification) AppendJSON(b []byte) []byte { return n.appendJSON(b, false) }

// AppendEventJSON appends the notification's JSON as a stream event
// carries it: the inbox fields (avatar, actions, action, acted_at,
// seen_at, archived_at, expires_at) only when set, so that a new
// notification, which has none of most of them, costs each of the
// user's streams about 110 bytes less. A client reads a missing field as
// null (actions as []). It is the one encoder of events: they are encoded
// once and the bytes shared by every stream.
func (n *Notification) AppendEventJSON(b []byte) []byte { return n.appendJSON(b, true) }

func (n *Notification) appendJSON(b []byte, compact bool) []byte {
	b = append(b, `{"id":`...)
	b = strconv.AppendInt(b, n.ID, 10)
	b = append(b, `,"user_id":`...)
	b = appendString(b, n.UserID)
	b = append(b, `,"message":`...)
	b = appendString(b, n.Message)
	b = append(b, `,"title":`...)
	b = appendOptString(b, n.Title)
	b = append(b, `,"link":`...)
	b = appendOptString(b, n.Link)
	b = append(b, `,"category":`...)
	b = appendOptString(b, n.Category)
	b = append(b, `,"data":`...)
	if len(n.Data) == 0 {
		b = append(b, "null"...)
	} else {
		b = append(b, n.Data...)
	}
	b = append(b, `,"read_at":`...)
	b = appendTime(b, n.ReadAt)
	b = append(b, `,"created_at":`...)
	b = appendTime(b, &n.CreatedAt)
	if !compact || n.Avatar != "" {
		b = append(b, `,"avatar":`...)
		b = appendOptString(b, n.Avatar)
	}
	if !compact || len(n.Actions) > 0 {
		b = append(b, `,"actions":[`...)
		for i := range n.Actions {
			a := &n.Actions[i]
			if i > 0 {
				b = append(b, ',')
			}
			b = append(b, `{"id":`...)
			b = appendString(b, a.ID)
			b = append(b, `,"label":`...)
			b = appendString(b, a.Label)
			if a.URL != "" {
				b = append(b, `,"url":`...)
				b = appendString(b, a.URL)
			}
			b = append(b, '}')
		}
		b = append(b, ']')
	}
	if !compact || n.Action != "" {
		b = append(b, `,"action":`...)
		b = appendOptString(b, n.Action)
	}
	b = appendOptTime(b, `,"acted_at":`, n.ActedAt, compact)
	b = appendOptTime(b, `,"seen_at":`, n.SeenAt, compact)
	b = appendOptTime(b, `,"archived_at":`, n.ArchivedAt, compact)
	b = appendOptTime(b, `,"expires_at":`, n.ExpiresAt, compact)
	return append(b, '}')
}

// appendOptTime appends the member name and t, or null; when compact, a
// nil t appends nothing.
func appendOptTime(b []byte, name string, t *time.Time, compact bool) []byte {
	if compact && t == nil {
		return b
	}
	b = append(b, name...)
	return appendTime(b, t)
}

// UnmarshalJSON reads the contract's JSON (used by clients and brokers).
// user_id may be a string or an integer.
func (n *Notification) UnmarshalJSON(p []byte) error {
	var w struct {
		ID        int64           `json:"id"`
		UserID    UserID          `json:"user_id"`
		Message   string          `json:"message"`
		Title     *string         `json:"title"`
		Link      *string         `json:"link"`
		Category  *string         `json:"category"`
		Data      json.RawMessage `json:"data"`
		ReadAt    *time.Time      `json:"read_at"`
		CreatedAt time.Time       `json:"created_at"`

		Avatar     *string    `json:"avatar"`
		Actions    []Action   `json:"actions"`
		Action     *string    `json:"action"`
		ActedAt    *time.Time `json:"acted_at"`
		SeenAt     *time.Time `json:"seen_at"`
		ArchivedAt *time.Time `json:"archived_at"`
		ExpiresAt  *time.Time `json:"expires_at"`
	}
	if err := json.Unmarshal(p, &w); err != nil {
		return err
	}
	*n = Notification{ID: w.ID, UserID: string(w.UserID), Message: w.Message,
		Title: deref(w.Title), Link: deref(w.Link), Category: deref(w.Category),
		ReadAt: w.ReadAt, CreatedAt: w.CreatedAt,
		Avatar: deref(w.Avatar), Action: deref(w.Action), ActedAt: w.ActedAt,
		SeenAt: w.SeenAt, ArchivedAt: w.ArchivedAt, ExpiresAt: w.ExpiresAt}
	if len(w.Actions) > 0 {
		n.Actions = w.Actions
	}
	if len(w.Data) > 0 && string(w.Data) != "null" {
		n.Data = w.Data
	}
	return nil
}

// UserID accepts a JSON string or integer and holds it as a string, since
// apps such as the original Laravel one use integer user ids.
type UserID string

// UnmarshalJSON accepts "42" and 42.
func (u *UserID) UnmarshalJSON(p []byte) error {
	if len(p) > 0 && p[0] == '"' {
		var s string
		if err := json.Unmarshal(p, &s); err != nil {
			return err
		}
		*u = UserID(s)
		return nil
	}
	var num json.Number
	if err := json.Unmarshal(p, &num); err != nil {
		return Errorf(EINVALID, "user id must be a string or an integer")
	}
	if _, err := strconv.ParseInt(string(num), 10, 64); err != nil {
		return Errorf(EINVALID, "user id must be a string or an integer")
	}
	*u = UserID(num)
	return nil
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

func appendOptString(b []byte, s string) []byte {
	if s == "" {
		return append(b, "null"...)
	}
	return appendString(b, s)
}

func appendTime(b []byte, t *time.Time) []byte {
	if t == nil {
		return append(b, "null"...)
	}
	b = append(b, '"')
	b = appendWireTime(b, *t)
	return append(b, '"')
}

const hexDigits = "0123456789abcdef"

// appendString appends s as a JSON string. It escapes what encoding/json
// escapes (including <, >, & and U+2028/9, so the output is safe in HTML and
// in an SSE data line: no raw newline ever appears).
func appendString(b []byte, s string) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < 0x80 {
			if c >= 0x20 && c != '"' && c != '\\' && c != '<' && c != '>' && c != '&' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == 0xFFFD && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hexDigits[r&0xf])
			i += size
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}
