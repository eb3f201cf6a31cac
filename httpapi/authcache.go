package httpapi

import (
	"container/list"
	"crypto/sha256"
	"time"
)

// credKey is the SHA-256 of a credential: the cache never holds a session
// cookie or a token.
type credKey = [sha256.Size]byte

// authEntry is one answer of the app: a user, or a refusal (err).
type authEntry struct {
	user    string
	err     error
	expires time.Time
}

// authCache is a bounded cache of the app's answers, least recently used
// out first. AuthURL keeps two: answers naming a user, and refusals, so
// that a flood of unknown cookies only ever evicts other refusals. It is
// not safe for concurrent use (AuthURL.mu guards it).
type authCache struct {
	max   int
	items map[credKey]*list.Element // of *authItem
	order list.List                 // front: the most recently used
}

type authItem struct {
	key credKey
	authEntry
}

func newAuthCache(max int) *authCache {
	return &authCache{max: max, items: make(map[credKey]*list.Element)}
}

// get returns the entry for key unless it has expired at now (then it is
// dropped), and marks it used.
func (c *authCache) get(key credKey, now time.Time) (authEntry, bool) {
	el, ok := c.items[key]
	if !ok {
		return authEntry{}, false
	}
	it := el.Value.(*authItem)
	if !now.Before(it.expires) {
		c.order.Remove(el)
		delete(c.items, key)
		return authEntry{}, false
	}
	c.order.MoveToFront(el)
	return it.authEntry, true
}

// put adds or replaces the entry for key, evicting the least recently
// used one when full.
func (c *authCache) put(key credKey, e authEntry) {
	if el, ok := c.items[key]; ok {
		el.Value.(*authItem).authEntry = e
		c.order.MoveToFront(el)
		return
	}
	if len(c.items) >= c.max {
		if old := c.order.Back(); old != nil {
			c.order.Remove(old)
			delete(c.items, old.Value.(*authItem).key)
		}
	}
	c.items[key] = c.order.PushFront(&authItem{key: key, authEntry: e})
}

func (c *authCache) remove(key credKey) {
	if el, ok := c.items[key]; ok {
		c.order.Remove(el)
		delete(c.items, key)
	}
}

func (c *authCache) len() int { return len(c.items) }
