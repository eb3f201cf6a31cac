package redisbus

import (
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/belfry/belfry"
)

// The payload of a message on a user's channel. The channel names the user,
// so the payload does not repeat the id. Publish writes a compact binary
// form, which the receiving node decodes without encoding/json (measured:
// BenchmarkDecode* in codec_test.go); a payload that starts with '{' is read
// as the JSON of a belfry.Message instead, so a tool such as redis-cli can
// publish a test event.
//
// Every payload names its deployment: the channel prefix of the nodes that
// published it. A node delivers only its own deployment's messages; the
// others (and payloads of a belfry from before deployment ids, which have
// none) are dropped and counted in Stats.Foreign. Distinct channel names
// (channel.go) already keep deployments apart; this check still holds if a
// channel is shared some other way: by a node of an older belfry, whose
// channel names could collide, or by a tool publishing by hand.
//
// Binary form, version 2 (ints are zigzag varints, lengths uvarints,
// strings a length then bytes, a time its Unix seconds then nanoseconds):
//
//	0x02, deployment string, kind (1 new-notification, 2 read-state,
//	3 notification-deleted), then
//	new:   id, message, title, link, category, data length+1 (0: no data)
//	       and bytes, created_at, read_at flag byte (0 or 1) [and time]
//	state: flags byte (1 all, 2 read, 4 read_at set), id, up_to_id,
//	       unread_count [, read_at string]
//
// Version 1 was the same without the deployment. The JSON form is
// belfry.Message's with a "deployment" field:
//
//	{"deployment":"belfry:u:","kind":"notification-deleted","state":{"id":4,"unread_count":2}}
const (
	version1 = 0x01 // no deployment id: dropped on receipt
	version2 = 0x02

	kindNew     = 1
	kindRead    = 2
	kindDeleted = 3

	flagAll    = 1
	flagRead   = 2
	flagReadAt = 4
)

// jsonMessage is the JSON form of a payload.
type jsonMessage struct {
	Deployment string `json:"deployment"`
	belfry.Message
}

// appendMessage appends the payload of m, published by deployment, to b.
func appendMessage(b []byte, deployment string, m *belfry.Message) ([]byte, error) {
	switch {
	case m.Kind == belfry.KindNew && m.New != nil:
		n := m.New
		b = appendString(append(b, version2), deployment)
		b = append(b, kindNew)
		b = appendVarint(b, n.ID)
		b = appendString(b, n.Message)
		b = appendString(b, n.Title)
		b = appendString(b, n.Link)
		b = appendString(b, n.Category)
		if n.Data == nil {
			b = appendUvarint(b, 0)
		} else {
			b = appendUvarint(b, uint64(len(n.Data))+1)
			b = append(b, n.Data...)
		}
		b = appendTime(b, n.CreatedAt)
		if n.ReadAt == nil {
			return append(b, 0), nil
		}
		return appendTime(append(b, 1), *n.ReadAt), nil
	case (m.Kind == belfry.KindRead || m.Kind == belfry.KindDeleted) && m.State != nil:
		c := m.State
		k := byte(kindRead)
		if m.Kind == belfry.KindDeleted {
			k = kindDeleted
		}
		var flags byte
		if c.All {
			flags |= flagAll
		}
		if c.Read {
			flags |= flagRead
		}
		if c.ReadAt != nil {
			flags |= flagReadAt
		}
		b = appendString(append(b, version2), deployment)
		b = append(b, k, flags)
		b = appendVarint(b, c.ID)
		b = appendVarint(b, c.UpTo)
		b = appendVarint(b, int64(c.Unread))
		if c.ReadAt != nil {
			b = appendString(b, *c.ReadAt)
		}
		return b, nil
	}
	// Not a message the Hub sends; keep it readable all the same.
	p, err := json.Marshal(jsonMessage{Deployment: deployment, Message: *m})
	if err != nil {
		return b, err
	}
	return append(b, p...), nil
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
	switch r.byte() {
	case version2:
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
	m.UserID = user
	switch r.byte() {
	case kindNew:
		n := &belfry.Notification{UserID: user}
		n.ID = r.varint()
		n.Message = r.string()
		n.Title = r.string()
		n.Link = r.string()
		n.Category = r.string()
		if l := r.uvarint(); l > 0 {
			n.Data = json.RawMessage(r.bytes(l - 1))
		}
		n.CreatedAt = r.time()
		switch r.byte() {
		case 0:
		case 1:
			t := r.time()
			n.ReadAt = &t
		default:
			r.bad = true
		}
		m.Kind, m.New = belfry.KindNew, n
	case kindRead, kindDeleted:
		m.Kind = belfry.KindRead
		if r.s[r.i-1] == kindDeleted {
			m.Kind = belfry.KindDeleted
		}
		flags := r.byte()
		if flags&^(flagAll|flagRead|flagReadAt) != 0 {
			r.bad = true
		}
		c := &belfry.StateChange{All: flags&flagAll != 0, Read: flags&flagRead != 0}
		c.ID = r.varint()
		c.UpTo = r.varint()
		c.Unread = int(r.varint())
		if flags&flagReadAt != 0 {
			s := r.string()
			c.ReadAt = &s
		}
		m.State = c
	default:
		return belfry.Message{}, errMalformed
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

func appendUvarint(b []byte, v uint64) []byte {
	for v >= 0x80 {
		b = append(b, byte(v)|0x80)
		v >>= 7
	}
	return append(b, byte(v))
}

func appendVarint(b []byte, v int64) []byte {
	return appendUvarint(b, uint64(v<<1)^uint64(v>>63))
}

func appendString(b []byte, s string) []byte {
	return append(appendUvarint(b, uint64(len(s))), s...)
}

func appendTime(b []byte, t time.Time) []byte {
	return appendUvarint(appendVarint(b, t.Unix()), uint64(t.Nanosecond()))
}

// reader decodes the binary form. Strings it returns share the payload's
// memory. After any error bad is set and every read returns a zero value.
type reader struct {
	s   string
	i   int
	bad bool
}

func (r *reader) byte() byte {
	if r.i >= len(r.s) {
		r.bad = true
		return 0
	}
	c := r.s[r.i]
	r.i++
	return c
}

func (r *reader) uvarint() uint64 {
	var v uint64
	for shift := 0; shift < 64; shift += 7 {
		if r.i >= len(r.s) {
			r.bad = true
			return 0
		}
		c := r.s[r.i]
		r.i++
		v |= uint64(c&0x7f) << shift
		if c < 0x80 {
			return v
		}
	}
	r.bad = true
	return 0
}

func (r *reader) varint() int64 {
	u := r.uvarint()
	return int64(u>>1) ^ -int64(u&1)
}

func (r *reader) take(n uint64) string {
	if r.bad || n > uint64(len(r.s)-r.i) {
		r.bad = true
		return ""
	}
	s := r.s[r.i : r.i+int(n)]
	r.i += int(n)
	return s
}

func (r *reader) string() string { return r.take(r.uvarint()) }

func (r *reader) bytes(n uint64) []byte { return []byte(r.take(n)) }

func (r *reader) time() time.Time {
	sec := r.varint()
	nsec := r.uvarint()
	if nsec >= 1e9 {
		r.bad = true
		return time.Time{}
	}
	return time.Unix(sec, int64(nsec)).UTC()
}
