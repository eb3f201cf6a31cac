package httpapi

import (
	"encoding/json"
	"strings"

	"github.com/belfry/belfry"
)

// decodePublishFast decodes the usual publish body b, already checked by
// validText, into in (which it leaves alone when it answers false): one
// object of known keys, each at most once, with the values
// encoding/json would accept for them. It answers false for anything
// else, such as a key twice, a key in other case, an escaped key, an id
// or ttl with a fraction or an exponent, a null in a list, or trailing
// bytes; encoding/json then decodes the body and says what is wrong.
//
// It reads b twice: first to check it and measure its strings, then to
// fill in. Every string shares one allocation (a strings.Builder of the
// measured size, escapes decoded into it), so a publish of a user id and
// a few strings costs two allocations: those strings and the user id's
// pointer. A string kept past the publish keeps the others alive: what
// a store holds on to, it clones (as sqlite's cache of last ids does).
func decodePublishFast(b []byte, in *publishRequest) bool {
	d := fastDec{b: b}
	if !d.object(nil) {
		return false
	}
	var sb strings.Builder
	sb.Grow(d.need)
	d = fastDec{b: b, sb: &sb, ids: d.ids, acts: d.acts}
	var out publishRequest
	if !d.object(&out) {
		return false // not reached: the first reading checked the same bytes
	}
	*in = out
	return true
}

// maxDataDepth is the deepest data decodePublishFast reads itself.
const maxDataDepth = 64

// fastDec reads a publish body. On the first reading out is nil: it only
// checks and measures. On the second, sb has room for every string.
type fastDec struct {
	b    []byte
	i    int
	sb   *strings.Builder // nil on the first reading
	need int              // bytes of the strings' values
	ids  int              // elements of user_ids
	acts int              // elements of actions
}

// The keys of publishRequest, as bits of a set.
const (
	kUserID = 1 << iota
	kUserIDs
	kMessage
	kTitle
	kLink
	kCategory
	kData
	kAvatar
	kActions
	kExpiresAt
	kTTL
	kPush
)

func publishKey(k []byte) int {
	switch string(k) {
	case "user_id":
		return kUserID
	case "user_ids":
		return kUserIDs
	case "message":
		return kMessage
	case "title":
		return kTitle
	case "link":
		return kLink
	case "category":
		return kCategory
	case "data":
		return kData
	case "avatar":
		return kAvatar
	case "actions":
		return kActions
	case "expires_at":
		return kExpiresAt
	case "ttl":
		return kTTL
	case "push":
		return kPush
	}
	return 0
}

// object reads the whole body: the object, then nothing but white space.
func (d *fastDec) object(out *publishRequest) bool {
	d.ws()
	if !d.eat('{') {
		return false
	}
	seen := 0
	d.ws()
	if !d.eat('}') {
		for {
			k := d.key()
			f := publishKey(k)
			if f == 0 || !d.colon(&seen, f) {
				return false
			}
			if !d.value(f, out) {
				return false
			}
			more, ok := d.next('}')
			if !ok {
				return false
			}
			if !more {
				break
			}
		}
	}
	d.ws()
	return d.i == len(d.b)
}

// value reads the value of key f into out (when not nil). A null leaves
// a string as it is and sets a pointer or a list to nil, as
// encoding/json does; data holds any value as its bytes, null included.
func (d *fastDec) value(f int, out *publishRequest) bool {
	if f == kData {
		start := d.i
		if !d.skip(0) {
			return false
		}
		if out != nil {
			out.Data = append(json.RawMessage(nil), d.b[start:d.i]...)
		}
		return true
	}
	if d.null() {
		return true // out is new: its strings are "", its pointers and lists nil
	}
	switch f {
	case kUserID:
		u, ok := d.userID()
		if ok && out != nil {
			out.UserID = new(u)
		}
		return ok
	case kUserIDs:
		return d.userIDs(out)
	case kActions:
		return d.actions(out)
	case kTTL:
		n, ok := d.int()
		if ok && out != nil {
			out.TTL = new(n)
		}
		return ok
	case kExpiresAt:
		s, ok := d.str()
		if ok && out != nil {
			out.ExpiresAt = new(s)
		}
		return ok
	}
	s, ok := d.str()
	if ok && out != nil {
		switch f {
		case kMessage:
			out.Message = s
		case kTitle:
			out.Title = s
		case kLink:
			out.Link = s
		case kCategory:
			out.Category = s
		case kAvatar:
			out.Avatar = s
		case kPush:
			out.Push = belfry.PushMode(s)
		}
	}
	return ok
}

// userID reads a string or an integer, as belfry.UserID's UnmarshalJSON
// takes them: an integer is kept as it was written.
func (d *fastDec) userID() (belfry.UserID, bool) {
	if d.peek() == '"' {
		s, ok := d.str()
		return belfry.UserID(s), ok
	}
	start := d.i
	if _, ok := d.int(); !ok {
		return "", false
	}
	return belfry.UserID(d.put(d.b[start:d.i])), true
}

func (d *fastDec) userIDs(out *publishRequest) bool {
	if !d.eat('[') {
		return false
	}
	if out != nil {
		out.UserIDs = make([]belfry.UserID, 0, d.ids) // [] is a list, not nil
	}
	return d.list(func() bool {
		u, ok := d.userID()
		if out != nil {
			out.UserIDs = append(out.UserIDs, u)
		} else {
			d.ids++
		}
		return ok
	})
}

func (d *fastDec) actions(out *publishRequest) bool {
	if !d.eat('[') {
		return false
	}
	if out != nil {
		out.Actions = make([]belfry.Action, 0, d.acts)
	}
	return d.list(func() bool {
		var a belfry.Action
		ok := d.action(&a)
		if out != nil {
			out.Actions = append(out.Actions, a)
		} else {
			d.acts++
		}
		return ok
	})
}

// action reads one action object: id, label and url, each a string or
// null, each at most once.
func (d *fastDec) action(a *belfry.Action) bool {
	if !d.eat('{') {
		return false
	}
	d.ws()
	if d.eat('}') {
		return true
	}
	seen := 0
	for {
		var f int
		var p *string
		switch string(d.key()) {
		case "id":
			f, p = 1, &a.ID
		case "label":
			f, p = 2, &a.Label
		case "url":
			f, p = 4, &a.URL
		default:
			return false
		}
		if !d.colon(&seen, f) {
			return false
		}
		if !d.null() {
			s, ok := d.str()
			if !ok {
				return false
			}
			*p = s
		}
		if more, ok := d.next('}'); !more {
			return ok
		}
	}
}
