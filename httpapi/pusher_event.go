package httpapi

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"hash"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/belfry/belfry"
)

// pusherEventIn is one event as Pusher's API takes it: the body of
// /events, or an entry of /batch_events' batch (which names one channel).
// socket_id (excluding a connection) and info (channel attributes in the
// answer) are accepted and ignored: belfry has no Pusher connections.
type pusherEventIn struct {
	Name     *string         `json:"name"`
	Data     json.RawMessage `json:"data"`
	Channels []string        `json:"channels"`
	Channel  *string         `json:"channel"`
}

// pusherEvent is an event checked against the limits, with the
// notifications it makes.
type pusherEvent struct {
	// notes are its notifications, one per user channel, when it is a
	// notification event. Each is published on its own, with an
	// idempotency key of its own: Laravel gives each notifiable its own
	// notification id, but an app that sets the id itself sends one id
	// to several users, one event each, and one key for the event's
	// whole set of users would refuse the second user's as a conflict.
	notes []pusherNote
	// ignored counts its channels that make no notification.
	ignored int
}

// pusherNote is one notification to publish.
type pusherNote struct {
	draft   belfry.Draft // validated, one user
	keyName string       // "" when the payload has no id
	hash    [sha256.Size]byte
}

// check validates an event (batch: an entry of a batch, with channel
// only) against Pusher's limits and, for a notification event, its
// payload against the publish rules. Errors: EINVALID, ETOOLARGE.
func (p *pusherAPI) check(in *pusherEventIn, batch bool) (*pusherEvent, error) {
	if in.Name == nil || *in.Name == "" {
		return nil, belfry.Errorf(belfry.EINVALID, "name is required")
	}
	name := *in.Name
	if utf8.RuneCountInString(name) > pusherMaxName {
		return nil, belfry.Errorf(belfry.EINVALID, "name must be at most %d characters", pusherMaxName)
	}
	data, err := p.eventData(in.Data)
	if err != nil {
		return nil, err
	}
	channels, err := eventChannels(in, batch)
	if err != nil {
		return nil, err
	}
	ev := &pusherEvent{}
	var d belfry.Draft
	var id string
	if name == PusherNotificationEvent {
		for _, ch := range channels {
			if _, ok := p.userOf(ch); ok {
				if d, id, err = notificationDraft(data); err != nil {
					return nil, err
				}
				break
			}
		}
	}
	for _, ch := range channels {
		user, ok := p.userOf(ch)
		if !ok || name != PusherNotificationEvent {
			ev.ignored++
			continue
		}
		n := pusherNote{draft: d}
		n.draft.UserIDs = []string{user}
		if err := n.draft.Validate(); err != nil {
			return nil, err
		}
		if id != "" {
			// A channel holds no ':' (Pusher's rules), so the name is
			// unambiguous; it is at most 7+164+1+64 bytes.
			n.keyName = "pusher:" + user + ":" + id
			n.hash = noteHash(&n.draft)
		}
		ev.notes = append(ev.notes, n)
	}
	return ev, nil
}

// eventData returns the event's data: a JSON string, as Pusher's API
// takes it (the SDKs encode objects), or, leniently, any other JSON
// value as its text. Errors: EINVALID (none), ETOOLARGE (over
// MaxDataBytes).
func (p *pusherAPI) eventData(raw json.RawMessage) (string, error) {
	if len(raw) == 0 || bytes.Equal(raw, []byte("null")) {
		return "", belfry.Errorf(belfry.EINVALID, "data is required")
	}
	data := string(raw)
	if raw[0] == '"' {
		if err := json.Unmarshal(raw, &data); err != nil {
			return "", belfry.Errorf(belfry.EINVALID, "data must be a string")
		}
	}
	if len(data) > p.cfg.MaxDataBytes {
		return "", belfry.Errorf(belfry.ETOOLARGE, "data must be at most %d bytes", p.cfg.MaxDataBytes)
	}
	return data, nil
}

// eventChannels returns the event's channels, checked against Pusher's
// rules, duplicates dropped: /events takes channels (1 to 100) or
// channel, a batch entry channel. Errors: EINVALID.
func eventChannels(in *pusherEventIn, batch bool) ([]string, error) {
	var chs []string
	switch {
	case batch && in.Channel == nil:
		return nil, belfry.Errorf(belfry.EINVALID, "channel is required")
	case batch && in.Channels != nil:
		return nil, belfry.Errorf(belfry.EINVALID, "a batch event names one channel, not channels")
	case in.Channel != nil && in.Channels != nil:
		return nil, belfry.Errorf(belfry.EINVALID, "give channels or channel, not both")
	case in.Channel != nil:
		chs = []string{*in.Channel}
	case len(in.Channels) == 0:
		return nil, belfry.Errorf(belfry.EINVALID, "channels (1 to %d) or channel is required", pusherMaxChannels)
	case len(in.Channels) > pusherMaxChannels:
		return nil, belfry.Errorf(belfry.EINVALID, "at most %d channels per event", pusherMaxChannels)
	default:
		chs = in.Channels
	}
	out := chs[:0:0]
	for _, ch := range chs {
		if ch == "" || len(ch) > pusherMaxChannel || !validChannelChars(ch) {
			return nil, belfry.Errorf(belfry.EINVALID,
				"channel names are 1 to %d letters, digits and _ - = @ , . ; (got %q)", pusherMaxChannel, ch)
		}
		if !slices.Contains(out, ch) {
			out = append(out, ch)
		}
	}
	return out, nil
}

// notificationDraft maps the payload of a BroadcastNotificationCreated
// event (Laravel's toBroadcast or toArray, plus its id and type) to a
// draft, users unset, and returns the payload's id ("" when it has none).
//
// The string members message, title, link and category become those
// fields; every other member stays in data, id and type included (the
// app's own notification id and class). When message is missing or
// empty, the title becomes the message (and there is no title); without
// a title either, the message is made from the type: Laravel's class
// name App\Notifications\InvoicePaid reads "Invoice paid"; with no type,
// "New notification". Errors: EINVALID.
func notificationDraft(data string) (belfry.Draft, string, error) {
	var d belfry.Draft
	var payload map[string]json.RawMessage
	if err := json.Unmarshal([]byte(data), &payload); err != nil || payload == nil {
		return d, "", belfry.Errorf(belfry.EINVALID,
			"the data of a %s event must be a JSON object", PusherNotificationEvent)
	}
	for _, f := range []struct {
		name string
		to   *string
	}{{"message", &d.Message}, {"title", &d.Title}, {"link", &d.Link}, {"category", &d.Category}} {
		if raw, ok := payload[f.name]; ok && len(raw) > 0 && raw[0] == '"' {
			if err := json.Unmarshal(raw, f.to); err != nil {
				return d, "", belfry.Errorf(belfry.EINVALID, "%s must be a string", f.name)
			}
			delete(payload, f.name)
		}
	}
	id, err := payloadID(payload["id"])
	if err != nil {
		return d, "", err
	}
	if strings.TrimSpace(d.Message) == "" {
		if strings.TrimSpace(d.Title) != "" {
			d.Message, d.Title = d.Title, ""
		} else {
			var typ string
			_ = json.Unmarshal(payload["type"], &typ) // not a string: no type
			d.Message = messageOfType(typ)
		}
	}
	if len(payload) > 0 {
		var b bytes.Buffer
		enc := json.NewEncoder(&b)
		enc.SetEscapeHTML(false)
		_ = enc.Encode(payload) // raw members of a parsed object
		d.Data = bytes.TrimSuffix(b.Bytes(), []byte("\n"))
	}
	return d, id, nil
}

// payloadID reads the payload's notification id: a string of printable
// ASCII (Laravel's is a UUID) or an integer, at most 64 characters; ""
// when absent or null. Errors: EINVALID.
func payloadID(raw json.RawMessage) (string, error) {
	if len(raw) == 0 || bytes.Equal(raw, []byte("null")) {
		return "", nil
	}
	id := string(raw) // a number as written
	if raw[0] == '"' {
		if err := json.Unmarshal(raw, &id); err != nil {
			return "", belfry.Errorf(belfry.EINVALID, "id must be a string")
		}
	} else if strings.IndexFunc(id, func(r rune) bool { return r < '0' || r > '9' }) >= 0 {
		return "", belfry.Errorf(belfry.EINVALID, "id must be a string or an integer")
	}
	if id == "" || len(id) > pusherMaxNotificationID ||
		strings.IndexFunc(id, func(r rune) bool { return r <= 0x20 || r > 0x7e }) >= 0 {
		return "", belfry.Errorf(belfry.EINVALID,
			"id must be 1 to %d printable ASCII characters without spaces", pusherMaxNotificationID)
	}
	return id, nil
}

// messageOfType makes a message from a notification's type: the last
// part of a class name (after \), words split at case changes and at
// . _ -, the first capitalized and the others lower-cased unless they
// are acronyms: App\Notifications\InvoicePaid → "Invoice paid",
// order.shipped → "Order shipped". No type: "New notification".
func messageOfType(typ string) string {
	if i := strings.LastIndexByte(typ, '\\'); i >= 0 {
		typ = typ[i+1:]
	}
	var words []string
	for part := range strings.FieldsFuncSeq(typ, func(r rune) bool {
		return r == '.' || r == '_' || r == '-' || r == ' ' || r == '/' || r == ':'
	}) {
		words = append(words, splitCamel(part)...)
	}
	if len(words) == 0 {
		return "New notification"
	}
	for i, w := range words {
		acronym := len(w) > 1 && strings.ToUpper(w) == w
		switch {
		case i == 0:
			r, n := utf8.DecodeRuneInString(w)
			words[i] = string(unicode.ToUpper(r)) + w[n:]
			if !acronym {
				words[i] = string(unicode.ToUpper(r)) + strings.ToLower(w[n:])
			}
		case !acronym:
			words[i] = strings.ToLower(w)
		}
	}
	return strings.Join(words, " ")
}

// splitCamel splits InvoicePaid into Invoice and Paid, and HTTPError into
// HTTP and Error.
func splitCamel(s string) []string {
	rs := []rune(s)
	var words []string
	start := 0
	for i := 1; i < len(rs); i++ {
		prev, cur := rs[i-1], rs[i]
		next := rune(0)
		if i+1 < len(rs) {
			next = rs[i+1]
		}
		if unicode.IsUpper(cur) && (unicode.IsLower(prev) || unicode.IsDigit(prev) ||
			unicode.IsUpper(prev) && unicode.IsLower(next)) {
			words = append(words, string(rs[start:i]))
			start = i
		}
	}
	if start < len(rs) {
		words = append(words, string(rs[start:]))
	}
	return words
}

// noteHash is the idempotency hash of a notification: every field stored,
// each length-prefixed so that no two drafts share one.
func noteHash(d *belfry.Draft) [sha256.Size]byte {
	h := sha256.New()
	for _, f := range []string{"pusher", d.UserIDs[0], d.Message, d.Title, d.Link, d.Category, string(d.Data)} {
		writeField(h, f)
	}
	var sum [sha256.Size]byte
	h.Sum(sum[:0])
	return sum
}

func writeField(h hash.Hash, f string) {
	var n [binary.MaxVarintLen64]byte
	h.Write(n[:binary.PutUvarint(n[:], uint64(len(f)))])
	h.Write([]byte(f))
}
