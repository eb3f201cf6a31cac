package httpapi

import (
	"crypto/sha256"
	"encoding/json"
	"hash"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/belfry/belfry"
)

// publishRequest is the body of POST /api/notifications: exactly one of
// user_id and user_ids, ids as strings or integers.
type publishRequest struct {
	UserID    *belfry.UserID  `json:"user_id"`
	UserIDs   []belfry.UserID `json:"user_ids"`
	Message   string          `json:"message"`
	Title     string          `json:"title"`
	Link      string          `json:"link"`
	Category  string          `json:"category"`
	Data      json.RawMessage `json:"data"`
	Avatar    string          `json:"avatar"`
	Actions   []belfry.Action `json:"actions"`
	ExpiresAt *string         `json:"expires_at"`
	TTL       *int64          `json:"ttl"`
	Push      belfry.PushMode `json:"push"`
}

// MaxIdempotencyKey is the longest Idempotency-Key accepted.
const MaxIdempotencyKey = 255

// publish creates a notification for one user (201, the notification) or
// several (201, an array in the order given, duplicates dropped). Users
// whose preferences turn the category off are skipped: a user_id publish
// then answers 200 {"skipped":[…]}; a user_ids publish leaves them out of
// the array and lists them in the Belfry-Skipped header. With an
// Idempotency-Key, a repeat answers the first call's body with 200 and
// Idempotent-Replayed: true.
func (s *Server) publish(w http.ResponseWriter, r *http.Request) error {
	if err := s.authPublisher(r); err != nil {
		return err
	}
	keyName, hasKey, err := idempotencyKey(r)
	if err != nil {
		return err
	}
	var in publishRequest
	var h hash.Hash
	if hasKey {
		h = sha256.New()
	}
	if err := decodePublish(w, r, &in, h); err != nil {
		return err
	}
	d, err := in.draft()
	if err != nil {
		return err
	}
	var key *belfry.IdempotencyKey
	if hasKey {
		key = &belfry.IdempotencyKey{Name: keyName, Expires: s.now().Add(s.cfg.IdempotencyWindow)}
		h.Sum(key.Hash[:0])
	}
	p, err := s.inbox.Publish(r.Context(), d, key)
	if err != nil {
		return err
	}
	status := http.StatusCreated
	if p.Replayed {
		w.Header().Set("Idempotent-Replayed", "true")
		status = http.StatusOK
	} else {
		s.metrics.published.Add(float64(len(p.Notifications)))
	}
	if len(p.Notifications) == 0 {
		status = http.StatusOK
	}
	if in.UserID != nil {
		if len(p.Notifications) == 0 {
			writeJSON(w, status, map[string][]string{"skipped": p.Skipped})
			return nil
		}
		writeAnswer(w, status, func(b []byte) []byte { return append(p.Notifications[0].AppendJSON(b), '\n') })
		return nil
	}
	if len(p.Skipped) > 0 {
		b, _ := json.Marshal(p.Skipped) // ASCII only: non-ASCII is \u-escaped below
		w.Header().Set("Belfry-Skipped", asciiJSON(b))
	}
	writeAnswer(w, status, func(b []byte) []byte { return appendList(b, p.Notifications) })
	return nil
}

// answerBufs hold publish answers while they are written: a ResponseWriter
// copies what it is given, so the buffer serves the next answer.
var answerBufs = sync.Pool{New: func() any { b := make([]byte, 0, 1024); return &b }}

// writeAnswer writes the JSON that appendTo appends, from a pooled buffer.
func writeAnswer(w http.ResponseWriter, status int, appendTo func([]byte) []byte) {
	bp := answerBufs.Get().(*[]byte)
	b := appendTo((*bp)[:0])
	writeRaw(w, status, b)
	if cap(b) <= 64<<10 { // a rare large answer is left to the GC
		*bp = b[:0]
		answerBufs.Put(bp)
	}
}

// draft turns the request into a belfry.Draft. Errors: EINVALID.
func (in *publishRequest) draft() (belfry.Draft, error) {
	d := belfry.Draft{Message: in.Message, Title: in.Title, Link: in.Link,
		Category: in.Category, Data: in.Data, Avatar: in.Avatar, Actions: in.Actions, Push: in.Push}
	switch {
	case in.UserID != nil && in.UserIDs != nil:
		return d, belfry.Errorf(belfry.EINVALID, "give user_id or user_ids, not both")
	case in.UserID != nil:
		d.UserIDs = []string{string(*in.UserID)}
	case in.UserIDs != nil:
		if len(in.UserIDs) == 0 {
			return d, belfry.Errorf(belfry.EINVALID, "user_ids must not be empty")
		}
		d.UserIDs = make([]string, len(in.UserIDs))
		for i, u := range in.UserIDs {
			d.UserIDs[i] = string(u)
		}
	}
	if in.ExpiresAt != nil {
		at, err := time.Parse(time.RFC3339Nano, *in.ExpiresAt)
		if err != nil {
			return d, belfry.Errorf(belfry.EINVALID, "expires_at must be an RFC 3339 time, such as 2026-12-31T23:59:59Z")
		}
		d.ExpiresAt = &at
	}
	if in.TTL != nil {
		if *in.TTL < 1 || *in.TTL > int64(belfry.MaxTTL/time.Second) {
			return d, belfry.Errorf(belfry.EINVALID, "ttl must be between 1 and %d seconds", int64(belfry.MaxTTL/time.Second))
		}
		d.TTL = time.Duration(*in.TTL) * time.Second
	}
	return d, nil
}

// idempotencyKey reads the Idempotency-Key header: 1 to 255 printable
// ASCII characters. Errors: EINVALID.
func idempotencyKey(r *http.Request) (string, bool, error) {
	vs := r.Header.Values("Idempotency-Key")
	if len(vs) == 0 {
		return "", false, nil
	}
	k := vs[0]
	if len(vs) > 1 || k == "" || len(k) > MaxIdempotencyKey ||
		strings.IndexFunc(k, func(c rune) bool { return c < 0x20 || c > 0x7e }) >= 0 {
		return "", false, belfry.Errorf(belfry.EINVALID,
			"Idempotency-Key must be one header of 1 to %d printable ASCII characters", MaxIdempotencyKey)
	}
	return k, true, nil
}

// asciiJSON escapes the non-ASCII characters of the JSON b as \u
// sequences, so that it can be a header value.
func asciiJSON(b []byte) string {
	var sb strings.Builder
	for _, r := range string(b) {
		switch {
		case r < 0x80:
			sb.WriteRune(r)
		case r > 0xffff:
			r -= 0x10000
			writeU(&sb, 0xd800+(r>>10))
			writeU(&sb, 0xdc00+(r&0x3ff))
		default:
			writeU(&sb, r)
		}
	}
	return sb.String()
}

func writeU(sb *strings.Builder, r rune) {
	const hex = "0123456789abcdef"
	sb.WriteString(`\u`)
	sb.WriteByte(hex[r>>12&0xf])
	sb.WriteByte(hex[r>>8&0xf])
	sb.WriteByte(hex[r>>4&0xf])
	sb.WriteByte(hex[r&0xf])
}

// retract answers DELETE /api/users/{user_id}/notifications/{id}: 204; the
// user's streams get notification-deleted with reason "retracted".
func (s *Server) retract(w http.ResponseWriter, r *http.Request) error {
	if err := s.authPublisher(r); err != nil {
		return err
	}
	id, err := notificationID(r)
	if err != nil {
		return err
	}
	if err := s.inbox.Retract(r.Context(), r.PathValue("user_id"), id); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
