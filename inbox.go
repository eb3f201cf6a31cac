package belfry

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"net/url"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// Inbox is the service that publishers and users call: every change goes
// to the Store first and then, as an event, to the Broker.
type Inbox struct {
	Store  Store
	Broker Broker
	Now    func() time.Time // default time.Now
	Logger *slog.Logger     // default slog.Default()
}

// Draft is a notification to create, for one or more users.
type Draft struct {
	UserIDs  []string
	Message  string
	Title    string
	Link     string
	Category string
	Data     json.RawMessage
}

func (ib *Inbox) now() time.Time {
	if ib.Now != nil {
		return Now(ib.Now())
	}
	return Now(time.Now())
}

func (ib *Inbox) logger() *slog.Logger {
	if ib.Logger != nil {
		return ib.Logger
	}
	return slog.Default()
}

// Create validates the draft, stores one notification per user (all or
// none) and publishes them. The result is in the order of d.UserIDs, with
// duplicate user ids dropped. Errors: EINVALID, ETOOLARGE, EUNAVAILABLE.
func (ib *Inbox) Create(ctx context.Context, d Draft) ([]*Notification, error) {
	if err := d.Validate(); err != nil {
		return nil, err
	}
	ns := make([]*Notification, len(d.UserIDs))
	for i, u := range d.UserIDs {
		ns[i] = &Notification{UserID: u, Message: d.Message, Title: d.Title,
			Link: d.Link, Category: d.Category, Data: d.Data}
	}
	if err := ib.Store.Create(ctx, ns); err != nil {
		return nil, err
	}
	msgs := make([]Message, len(ns))
	for i, n := range ns {
		msgs[i] = Message{Kind: KindNew, UserID: n.UserID, New: n}
	}
	ib.publish(ctx, msgs)
	return ns, nil
}

// publish hands events to the broker. A failure is logged, not returned:
// the change is durable, and streams catch up from the store. The caller
// leaving (ctx canceled, say a publisher's client timing out) once the
// change is committed does not stop its events: the broker's own timeout
// bounds the call.
func (ib *Inbox) publish(ctx context.Context, msgs []Message) {
	if err := ib.Broker.Publish(context.WithoutCancel(ctx), msgs); err != nil {
		ib.logger().Warn("broker publish failed; streams will catch up from the store",
			"events", len(msgs), "err", err)
	}
}

// List returns a page of the user's notifications, newest first, and
// whether more exist beyond it. Errors: EINVALID, EUNAVAILABLE.
func (ib *Inbox) List(ctx context.Context, user string, q ListQuery) ([]*Notification, bool, error) {
	if q.Limit == 0 {
		q.Limit = DefaultPageSize
	}
	if q.Limit < 1 || q.Limit > MaxPageSize {
		return nil, false, Errorf(EINVALID, "limit must be between 1 and %d", MaxPageSize)
	}
	if q.Before < 0 {
		return nil, false, Errorf(EINVALID, "before must be a positive id")
	}
	want := q.Limit
	q.Limit++
	ns, err := ib.Store.List(ctx, user, q)
	if err != nil {
		return nil, false, err
	}
	if len(ns) > want {
		return ns[:want], true, nil
	}
	return ns, false, nil
}

// Stats returns the user's unread count and last id. Errors: EUNAVAILABLE.
func (ib *Inbox) Stats(ctx context.Context, user string) (Stats, error) {
	return ib.Store.Stats(ctx, user)
}

// MarkRead marks one of the user's notifications read and tells the user's
// other streams. Errors: ENOTFOUND, EUNAVAILABLE.
func (ib *Inbox) MarkRead(ctx context.Context, user string, id int64) (*Notification, error) {
	at := ib.now()
	return ib.setRead(ctx, user, id, &at)
}

// MarkUnread marks one of the user's notifications unread.
// Errors: ENOTFOUND, EUNAVAILABLE.
func (ib *Inbox) MarkUnread(ctx context.Context, user string, id int64) (*Notification, error) {
	return ib.setRead(ctx, user, id, nil)
}

func (ib *Inbox) setRead(ctx context.Context, user string, id int64, at *time.Time) (*Notification, error) {
	if id <= 0 {
		return nil, Errorf(ENOTFOUND, "notification not found")
	}
	n, err := ib.Store.SetRead(ctx, user, id, at)
	if err != nil {
		return nil, err
	}
	ctx = context.WithoutCancel(ctx) // committed: count and publish even if the caller left
	st, err := ib.Store.Stats(ctx, user)
	if err != nil {
		return nil, err
	}
	c := &StateChange{ID: n.ID, Read: n.ReadAt != nil, Stats: st}
	if n.ReadAt != nil {
		s := FormatTime(*n.ReadAt)
		c.ReadAt = &s
	}
	ib.publish(ctx, []Message{{Kind: KindRead, UserID: user, State: c}})
	return n, nil
}

// MarkAllRead marks every unread notification of the user read, up to the
// last id at the time of the call, and returns how many changed and the
// stats after. Errors: EUNAVAILABLE.
func (ib *Inbox) MarkAllRead(ctx context.Context, user string) (int, Stats, error) {
	st, err := ib.Store.Stats(ctx, user)
	if err != nil {
		return 0, Stats{}, err
	}
	at := ib.now()
	changed, err := ib.Store.ReadAll(ctx, user, Filter{UpTo: st.LastID}, at)
	if err != nil {
		return 0, Stats{}, err
	}
	ctx = context.WithoutCancel(ctx) // committed: count and publish even if the caller left
	after, err := ib.Store.Stats(ctx, user)
	if err != nil {
		return 0, Stats{}, err
	}
	s := FormatTime(at)
	ib.publish(ctx, []Message{{Kind: KindRead, UserID: user, State: &StateChange{
		All: true, UpTo: st.LastID, Read: true, ReadAt: &s, Stats: after}}})
	return changed, after, nil
}

// Delete removes one of the user's notifications.
// Errors: ENOTFOUND, EUNAVAILABLE.
func (ib *Inbox) Delete(ctx context.Context, user string, id int64) error {
	if id <= 0 {
		return Errorf(ENOTFOUND, "notification not found")
	}
	if err := ib.Store.Delete(ctx, user, id); err != nil {
		return err
	}
	ctx = context.WithoutCancel(ctx) // committed: count and publish even if the caller left
	st, err := ib.Store.Stats(ctx, user)
	if err != nil {
		return err
	}
	ib.publish(ctx, []Message{{Kind: KindDeleted, UserID: user,
		State: &StateChange{ID: id, Stats: st}}})
	return nil
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
	if err := checkLink(d.Link); err != nil {
		return err
	}
	return d.checkData()
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

// checkLink allows an absolute http(s) URL or a path on the app's own
// origin. Everything else (javascript:, data:, protocol-relative //host,
// backslash tricks) is refused, since the bell turns links into hrefs.
func checkLink(link string) error {
	if link == "" {
		return nil
	}
	bad := Errorf(EINVALID, "link must be an http(s) URL or a path starting with /")
	if len(link) > MaxLinkBytes {
		return Errorf(EINVALID, "link must be at most %d bytes", MaxLinkBytes)
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
