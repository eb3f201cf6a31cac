package belfry

import (
	"bytes"
	"encoding/json"
	"net/url"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// Draft is a notification to create, for one or more users.
type Draft struct {
	UserIDs   []string
	Message   string
	Title     string
	Link      string
	Category  string
	Data      json.RawMessage
	Avatar    string
	Actions   []Action
	ExpiresAt *time.Time    // at most one of ExpiresAt and TTL
	TTL       time.Duration // expires this long after the publish
	Push      PushMode      // "" means the server's default (--push-default)
}

// Validate checks the draft against the limits, drops duplicate user ids
// and compacts Data (so it never spans lines in an SSE frame).
// Errors: EINVALID, ETOOLARGE.
func (d *Draft) Validate() error {
	if len(d.UserIDs) == 0 {
		return Errorf(EINVALID, "user_id or user_ids is required")
	}
	if len(d.UserIDs) > MaxUsersPerCall {
		return Errorf(EINVALID, "at most %d user_ids per request", MaxUsersPerCall)
	}
	seen := make(map[string]struct{}, len(d.UserIDs))
	ids := d.UserIDs[:0:0]
	for _, u := range d.UserIDs {
		if err := ValidateUserID(u); err != nil {
			return err
		}
		if _, dup := seen[u]; dup {
			continue
		}
		seen[u] = struct{}{}
		ids = append(ids, u)
	}
	d.UserIDs = ids
	if strings.TrimSpace(d.Message) == "" {
		return Errorf(EINVALID, "message is required")
	}
	if err := checkText("message", d.Message, MaxMessageBytes); err != nil {
		return err
	}
	if err := checkText("title", d.Title, MaxTitleBytes); err != nil {
		return err
	}
	if err := checkText("category", d.Category, MaxCategoryLen); err != nil {
		return err
	}
	if err := checkLink("link", d.Link); err != nil {
		return err
	}
	if err := checkLink("avatar", d.Avatar); err != nil {
		return err
	}
	if d.Push != "" && !ValidPushMode(d.Push) {
		return Errorf(EINVALID, "push must be never, offline or always")
	}
	if err := checkActions(d.Actions); err != nil {
		return err
	}
	if d.ExpiresAt != nil && d.TTL != 0 {
		return Errorf(EINVALID, "give expires_at or ttl, not both")
	}
	if d.TTL < 0 || d.TTL > MaxTTL {
		return Errorf(EINVALID, "ttl must be between 1 and %d seconds", int64(MaxTTL/time.Second))
	}
	return d.checkData()
}

// expiry resolves TTL into ExpiresAt at now, and checks that the
// notification does not expire before it is published. Errors: EINVALID.
func (d *Draft) expiry(now time.Time) error {
	if d.TTL > 0 {
		at := Now(now.Add(d.TTL))
		d.ExpiresAt, d.TTL = &at, 0
	}
	if d.ExpiresAt == nil {
		return nil
	}
	at := Now(*d.ExpiresAt)
	if !at.After(now) {
		return Errorf(EINVALID, "expires_at must be in the future")
	}
	if at.Sub(now) > MaxTTL {
		return Errorf(EINVALID, "expires_at must be within %d days", int(MaxTTL/(24*time.Hour)))
	}
	d.ExpiresAt = &at
	return nil
}

// checkActions allows at most MaxActions actions, each with a unique id of
// 1 to MaxActionIDLen characters, a label of 1 to MaxActionLabel
// characters, and an optional url with the rules of a link.
func checkActions(as []Action) error {
	if len(as) > MaxActions {
		return Errorf(EINVALID, "at most %d actions", MaxActions)
	}
	for i, a := range as {
		if n := utf8.RuneCountInString(a.ID); n == 0 || n > MaxActionIDLen || !utf8.ValidString(a.ID) ||
			strings.IndexFunc(a.ID, unicode.IsControl) >= 0 || strings.TrimSpace(a.ID) != a.ID {
			return Errorf(EINVALID, "action id must be 1 to %d characters without spaces at either end or control characters", MaxActionIDLen)
		}
		if n := utf8.RuneCountInString(a.Label); strings.TrimSpace(a.Label) == "" || n > MaxActionLabel ||
			!utf8.ValidString(a.Label) || strings.IndexFunc(a.Label, unicode.IsControl) >= 0 {
			return Errorf(EINVALID, "action label must be 1 to %d characters without control characters", MaxActionLabel)
		}
		if err := checkLink("action url", a.URL); err != nil {
			return err
		}
		for _, b := range as[:i] {
			if b.ID == a.ID {
				return Errorf(EINVALID, "action ids must be unique")
			}
		}
	}
	return nil
}

// ValidateUserID checks one user id: 1 to 128 characters, no control
// characters. Errors: EINVALID.
func ValidateUserID(u string) error {
	if u == "" || utf8.RuneCountInString(u) > MaxUserIDLen {
		return Errorf(EINVALID, "user id must be 1 to %d characters", MaxUserIDLen)
	}
	if !utf8.ValidString(u) || strings.IndexFunc(u, unicode.IsControl) >= 0 {
		return Errorf(EINVALID, "user id must be valid text without control characters")
	}
	return nil
}

func checkText(field, s string, max int) error {
	if len(s) > max {
		return Errorf(EINVALID, "%s must be at most %d bytes", field, max)
	}
	if !utf8.ValidString(s) {
		return Errorf(EINVALID, "%s must be valid UTF-8", field)
	}
	if strings.IndexByte(s, 0) >= 0 {
		// PostgreSQL text cannot hold NUL; refusing it here keeps every
		// store answering the same.
		return Errorf(EINVALID, "%s must not contain NUL characters", field)
	}
	return nil
}

// checkLink allows, for a link, an avatar or an action's url, an absolute
// http(s) URL or a path on the app's own origin. Everything else (javascript:, data:, protocol-relative //host,
// backslash tricks) is refused, since the bell turns links into hrefs.
func checkLink(field, link string) error {
	if link == "" {
		return nil
	}
	bad := Errorf(EINVALID, "%s must be an http(s) URL or a path starting with /", field)
	if len(link) > MaxLinkBytes {
		return Errorf(EINVALID, "%s must be at most %d bytes", field, MaxLinkBytes)
	}
	if strings.ContainsAny(link, "\\ \t\r\n") || strings.IndexFunc(link, unicode.IsControl) >= 0 {
		return bad
	}
	if strings.HasPrefix(link, "/") {
		if strings.HasPrefix(link, "//") {
			return bad
		}
		if _, err := url.Parse(link); err != nil {
			return bad
		}
		return nil
	}
	u, err := url.Parse(link)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return bad
	}
	return nil
}

func (d *Draft) checkData() error {
	raw := bytes.TrimSpace(d.Data)
	if len(raw) == 0 || bytes.Equal(raw, []byte("null")) {
		d.Data = nil
		return nil
	}
	if len(raw) > MaxDataBytes {
		return Errorf(EINVALID, "data must be at most %d bytes", MaxDataBytes)
	}
	if raw[0] != '{' {
		return Errorf(EINVALID, "data must be a JSON object")
	}
	var out bytes.Buffer
	if err := json.Compact(&out, raw); err != nil {
		return Errorf(EINVALID, "data must be valid JSON")
	}
	d.Data = out.Bytes()
	return nil
}
