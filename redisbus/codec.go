package redisbus

import (
	"encoding/json"
	"errors"
	"fmt"

	"github.com/belfry/belfry"
)

// The payload of a message on a user's channel. The channel names the user,
// so the payload does not repeat the id. Publish writes a compact binary
// form, which the receiving node decodes without encoding/json and with one
// or two allocations per message (measured: BenchmarkDecode* in
// codec_test.go); a payload that starts with '{' is read as the JSON of a
// belfry.Message instead, so a tool such as redis-cli can publish a test
// event.
//
// Every payload names its deployment: the channel prefix of the nodes that
// published it. A node delivers only its own deployment's messages; the
// others (and payloads of a belfry from before deployment ids, which have
// none) are dropped and counted in Stats.Foreign. Distinct channel names
// (channel.go) already keep deployments apart; this check still holds if a
// channel is shared some other way: by a node of an older belfry, whose
// channel names could collide, or by a tool publishing by hand.
//
// Binary form, version 3 (varint.go: ints are zigzag varints, lengths and
// counts uvarints, strings a length then bytes, a time its Unix seconds then
// nanoseconds; a count is 0 for nil, else n+1, so nil and empty stay apart):
//
//	0x03, deployment string, kind (1 new-notification, 2 read-state,
//	3 notification-deleted, 4 seen-state, 5 archive-state, 6 action-state),
//	then
//	new:   id, message, title, link, category, data length+1 (0: no data)
//	       and bytes, created_at, avatar, action, time flags (uvarint:
//	       1 read_at, 2 seen_at, 4 archived_at, 8 expires_at, 16 acted_at)
//	       and those times in that order, actions count, each action's id,
//	       label and url
//	state: flags (uvarint: 1 all, 2 read, 4 archived, 8 read_at, 16 seen_at,
//	       32 archived_at, 64 acted_at), id, up_to_id, the time strings the
//	       flags name in that order, action, reason, filter byte (0: none;
//	       else 1 | 2 category | 4 read | 8 read is true) [and category],
//	       unread_count, unseen_count, last_id, by_category count and each
//	       category, unread, unseen
//
// Every field of every kind travels, whatever the kind: the codec carries a
// Message exactly and leaves meaning to the Hub. The notification's user is
// the channel's; a message whose notification names another user (or with
// a payload that does not match its kind, or of an unknown kind) is sent as
// JSON, which the receiver checks.
//
// Version 2, the form of the belfry before the inbox events, lacks every
// field that version 3 added (codec_v2.go). A node still sends a message
// in version 2 when version 2 carries it exactly: a new notification
// without avatar, actions, seen, archive, expiry or action. (A state event
// of a Store never fits: version 2 has no unseen or per-category counts.)
// So during a rolling upgrade older nodes still get plain new notifications
// live; what they cannot read they drop (docs/scaling.md). A node reads
// both versions; a version 2 state event, from an older node, decodes with
// unseen_count 0, last_id 0 and a nil ByCategory (a Store never returns
// nil, so nil marks counts that are not known).
//
// Version 1 was version 2 without the deployment. The JSON form is
// belfry.Message's with a "deployment" field:
//
//	{"deployment":"belfry:u:","kind":"notification-deleted","state":{"id":4,"reason":"expired","unread_count":2}}
const (
	version1 = 0x01 // no deployment id: dropped on receipt
	version2 = 0x02
	version3 = 0x03

	kindNew     = 1
	kindRead    = 2
	kindDeleted = 3
	kindSeen    = 4
	kindArchive = 5
	kindAction  = 6
)

// kindCode returns the binary code of a state kind, or 0 for a kind that
// is not one.
func kindCode(k belfry.Kind) byte {
	switch k {
	case belfry.KindRead:
		return kindRead
	case belfry.KindDeleted:
		return kindDeleted
	case belfry.KindSeen:
		return kindSeen
	case belfry.KindArchive:
		return kindArchive
	case belfry.KindAction:
		return kindAction
	}
	return 0
}

// stateKinds maps a state kind's binary code to the kind.
var stateKinds = [...]belfry.Kind{
	kindRead:    belfry.KindRead,
	kindDeleted: belfry.KindDeleted,
	kindSeen:    belfry.KindSeen,
	kindArchive: belfry.KindArchive,
	kindAction:  belfry.KindAction,
}

// jsonMessage is the JSON form of a payload.
type jsonMessage struct {
	Deployment string `json:"deployment"`
	belfry.Message
}

// appendMessage appends the payload of m, published by deployment, to b.
// Errors: only a JSON encoding error, for a message the binary form does
// not carry.
func appendMessage(b []byte, deployment string, m *belfry.Message) ([]byte, error) {
	switch {
	case !binaryFits(m):
	case fitsV2(m):
		return appendV2(b, deployment, m), nil
	default:
		return appendV3(b, deployment, m), nil
	}
	p, err := json.Marshal(jsonMessage{Deployment: deployment, Message: *m})
	if err != nil {
		return b, err
	}
	return append(b, p...), nil
}

// binaryFits reports whether the binary form carries m exactly: a message
// the Hub sends, with the payload of its kind only, and a notification of
// the channel's user.
func binaryFits(m *belfry.Message) bool {
	if m.Kind == belfry.KindNew {
		return m.New != nil && m.State == nil && m.New.UserID == m.UserID
	}
	return kindCode(m.Kind) != 0 && m.State != nil && m.New == nil
}

var (
	errMalformed    = errors.New("malformed payload")
	errUserMismatch = errors.New("payload user_id differs from the channel's user")
	errLegacy       = errors.New("payload without a deployment id (from a node of an older belfry)")
)

// foreignError is the error of a payload of another deployment.
type foreignError struct{ deployment string }

func (e *foreignError) Error() string {
	return fmt.Sprintf("payload of another deployment (%q)", e.deployment)
}

// decodeMessage decodes a payload received on user's channel by a node of
// deployment. Errors: errLegacy and *foreignError for a payload that is not
// of deployment; errMalformed, errUserMismatch or a JSON error for one that
// cannot be read.
func decodeMessage(deployment, user, payload string) (belfry.Message, error) {
	if len(payload) > 0 && payload[0] == '{' {
		return decodeJSON(deployment, user, payload)
	}
	r := reader{s: payload}
	v := r.byte()
	switch v {
	case version2, version3:
	case version1:
		return belfry.Message{}, errLegacy
	default:
		return belfry.Message{}, errMalformed
	}
	if d := r.string(); d != deployment {
		if r.bad {
			return belfry.Message{}, errMalformed
		}
		return belfry.Message{}, &foreignError{deployment: d}
	}
	var m belfry.Message
	if v == version3 {
		m = r.messageV3(user)
	} else {
		m = r.messageV2(user)
	}
	if r.bad || r.i != len(r.s) {
		return belfry.Message{}, errMalformed
	}
	return m, nil
}

func decodeJSON(deployment, user, payload string) (belfry.Message, error) {
	var j jsonMessage
	if err := json.Unmarshal([]byte(payload), &j); err != nil {
		return belfry.Message{}, err
	}
	switch j.Deployment {
	case deployment:
	case "":
		return belfry.Message{}, errLegacy
	default:
		return belfry.Message{}, &foreignError{deployment: j.Deployment}
	}
	m := j.Message
	if m.UserID == "" {
		m.UserID = user
	}
	if m.UserID != user || (m.New != nil && m.New.UserID != user) {
		return m, errUserMismatch
	}
	return m, nil
}
