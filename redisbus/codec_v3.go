package redisbus

import (
	"time"

	"github.com/belfry/belfry"
)

// Version 3 of the binary form; codec.go shows the layout.

// The time flags of a new notification, in the order the times follow.
const (
	timeReadAt = 1 << iota
	timeSeenAt
	timeArchivedAt
	timeExpiresAt
	timeActedAt
	timeAll = 1<<iota - 1
)

// The flags of a state change; the time strings follow in this order.
const (
	stateAll = 1 << iota
	stateRead
	stateArchived
	stateReadAt
	stateSeenAt
	stateArchivedAt
	stateActedAt
	stateFlagsAll = 1<<iota - 1
)

// The filter byte of a state change: 0 for no filter, else filterSet and
// the filters it has.
const (
	filterSet = 1 << iota
	filterCategory
	filterRead
	filterReadTrue
	filterAll = 1<<iota - 1
)

// appendV3 appends m, which binaryFits, in version 3.
func appendV3(b []byte, deployment string, m *belfry.Message) []byte {
	b = appendString(append(b, version3), deployment)
	if m.Kind == belfry.KindNew {
		return appendNewV3(append(b, kindNew), m.New)
	}
	return appendStateV3(append(b, kindCode(m.Kind)), m.State)
}

func appendNewV3(b []byte, n *belfry.Notification) []byte {
	b = appendNewHead(b, n)
	b = appendString(b, n.Avatar)
	b = appendString(b, n.Action)
	times := [...]*time.Time{n.ReadAt, n.SeenAt, n.ArchivedAt, n.ExpiresAt, n.ActedAt}
	var flags uint64
	for i, t := range times {
		if t != nil {
			flags |= 1 << i
		}
	}
	b = appendUvarint(b, flags)
	for _, t := range times {
		if t != nil {
			b = appendTime(b, *t)
		}
	}
	b = appendCount(b, len(n.Actions), n.Actions == nil)
	for i := range n.Actions {
		a := &n.Actions[i]
		b = appendString(b, a.ID)
		b = appendString(b, a.Label)
		b = appendString(b, a.URL)
	}
	return b
}

func appendStateV3(b []byte, c *belfry.StateChange) []byte {
	times := [...]*string{c.ReadAt, c.SeenAt, c.ArchivedAt, c.ActedAt}
	var flags uint64
	if c.All {
		flags |= stateAll
	}
	if c.Read {
		flags |= stateRead
	}
	if c.Archived {
		flags |= stateArchived
	}
	for i, t := range times {
		if t != nil {
			flags |= stateReadAt << i
		}
	}
	b = appendUvarint(b, flags)
	b = appendVarint(b, c.ID)
	b = appendVarint(b, c.UpTo)
	for _, t := range times {
		if t != nil {
			b = appendString(b, *t)
		}
	}
	b = appendString(b, c.Action)
	b = appendString(b, string(c.Reason))
	if f := c.Filter; f == nil {
		b = append(b, 0)
	} else {
		fb := byte(filterSet)
		if f.Category != nil {
			fb |= filterCategory
		}
		if f.Read != nil {
			fb |= filterRead
			if *f.Read {
				fb |= filterReadTrue
			}
		}
		b = append(b, fb)
		if f.Category != nil {
			b = appendString(b, *f.Category)
		}
	}
	b = appendVarint(b, int64(c.Unread))
	b = appendVarint(b, int64(c.Unseen))
	b = appendVarint(b, c.LastID)
	b = appendCount(b, len(c.ByCategory), c.ByCategory == nil)
	for k, v := range c.ByCategory {
		b = appendString(b, k)
		b = appendVarint(b, int64(v.Unread))
		b = appendVarint(b, int64(v.Unseen))
	}
	return b
}

// newBox holds a decoded notification and its times in one allocation;
// newBoxActions its actions too, when they are few.
type newBox struct {
	n     belfry.Notification
	times [5]time.Time
}

type newBoxActions struct {
	newBox
	actions [belfry.MaxActions]belfry.Action
}

// stateBox holds a decoded state change, its time strings and its filter
// in one allocation.
type stateBox struct {
	c        belfry.StateChange
	times    [4]string
	filter   belfry.EventFilter
	category string
	read     bool
}

// messageV3 reads the rest of a version 3 payload of user's channel.
func (r *reader) messageV3(user string) belfry.Message {
	m := belfry.Message{UserID: user}
	k := r.byte()
	switch {
	case k == kindNew:
		m.Kind, m.New = belfry.KindNew, r.newV3(user)
	case int(k) < len(stateKinds) && stateKinds[k] != "":
		m.Kind, m.State = stateKinds[k], r.stateV3()
	default:
		r.bad = true
	}
	return m
}

func (r *reader) newV3(user string) *belfry.Notification {
	// The fields are read onto the stack, then moved into one allocation
	// sized by the number of actions.
	n := belfry.Notification{UserID: user}
	r.newHead(&n)
	n.Avatar = r.string()
	n.Action = r.string()
	flags := r.uvarint()
	if flags&^timeAll != 0 {
		r.bad = true
	}
	var times [5]time.Time
	for i := range times {
		if flags&(1<<i) != 0 {
			times[i] = r.time()
		}
	}
	// An action is at least three bytes: three empty strings.
	nActions, hasActions := r.count(3)
	var box *newBox
	if hasActions && nActions > 0 && nActions <= belfry.MaxActions {
		ba := new(newBoxActions)
		n.Actions = ba.actions[:nActions:nActions]
		box = &ba.newBox
	} else {
		box = new(newBox)
		if hasActions {
			n.Actions = make([]belfry.Action, nActions)
		}
	}
	for i := range n.Actions {
		a := &n.Actions[i]
		a.ID = r.string()
		a.Label = r.string()
		a.URL = r.string()
	}
	box.times = times
	ptrs := [...]**time.Time{&n.ReadAt, &n.SeenAt, &n.ArchivedAt, &n.ExpiresAt, &n.ActedAt}
	for i, p := range ptrs {
		if flags&(1<<i) != 0 {
			*p = &box.times[i]
		}
	}
	box.n = n
	return &box.n
}

func (r *reader) stateV3() *belfry.StateChange {
	box := new(stateBox)
	c := &box.c
	flags := r.uvarint()
	if flags&^stateFlagsAll != 0 {
		r.bad = true
	}
	c.All = flags&stateAll != 0
	c.Read = flags&stateRead != 0
	c.Archived = flags&stateArchived != 0
	c.ID = r.varint()
	c.UpTo = r.varint()
	ptrs := [...]**string{&c.ReadAt, &c.SeenAt, &c.ArchivedAt, &c.ActedAt}
	for i, p := range ptrs {
		if flags&(stateReadAt<<i) != 0 {
			box.times[i] = r.string()
			*p = &box.times[i]
		}
	}
	c.Action = r.string()
	c.Reason = belfry.Reason(r.string())
	if fb := r.byte(); fb != 0 {
		if fb&filterSet == 0 || fb&^filterAll != 0 || (fb&filterReadTrue != 0 && fb&filterRead == 0) {
			r.bad = true
		}
		if fb&filterCategory != 0 {
			box.category = r.string()
			box.filter.Category = &box.category
		}
		if fb&filterRead != 0 {
			box.read = fb&filterReadTrue != 0
			box.filter.Read = &box.read
		}
		c.Filter = &box.filter
	}
	c.Unread = int(r.varint())
	c.Unseen = int(r.varint())
	c.LastID = r.varint()
	// A category is at least three bytes: an empty name and two counts.
	if n, ok := r.count(3); ok {
		m := make(map[string]belfry.Counts, n)
		for range n {
			k := r.string()
			u := r.varint()
			s := r.varint()
			if r.bad {
				break
			}
			m[k] = belfry.Counts{Unread: int(u), Unseen: int(s)}
		}
		if len(m) != n {
			r.bad = true // truncated, or a category twice
		}
		c.ByCategory = m
	}
	return c
}
