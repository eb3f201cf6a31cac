package httpapi

import (
	"container/list"
	"crypto/sha256"
	"crypto/subtle"
	"fmt"
	"math"
	"net/http"
	"net/netip"
	"strings"
	"sync"
	"time"

	"github.com/belfry/belfry"
	"github.com/golang-jwt/jwt/v5"
	"golang.org/x/time/rate"
)

// Defaults of the rate limit fields of Config.
const (
	// DefaultAuthFailRate and DefaultAuthFailBurst: an address may fail
	// 30 authentications at once, then 2 a second. What is charged is
	// only a credential belfry does not recognize (a token not signed
	// with its secret, an unknown API key, a session the --auth-url app
	// refused): a real user's expired token is not charged, and a user
	// produces a handful of the others at most (one per open tab after
	// the secret was rotated). 2/s refills an empty allowance in 15 s.
	DefaultAuthFailRate  = 2.0
	DefaultAuthFailBurst = 30
	// DefaultAuthFailMaxAddrs bounds the addresses tracked: 271 bytes
	// each (measured with 65,536 IPv6 prefixes), so at most about 18 MiB.
	DefaultAuthFailMaxAddrs = 65536
)

// authLimiter holds, per client address, a token bucket of failed
// authentications (golang.org/x/time/rate). An address is tracked from
// its first failure until its bucket is full again or, when the table is
// full, it is the one charged least recently: a flood from many addresses
// cannot grow the table past max.
type authLimiter struct {
	rate  rate.Limit
	burst int
	max   int

	mu    sync.Mutex
	addrs map[netip.Prefix]*list.Element // of *addrBucket
	lru   list.List                      // front: charged most recently
}

type addrBucket struct {
	key netip.Prefix
	lim *rate.Limiter
}

func newAuthLimiter(r float64, burst, max int) *authLimiter {
	return &authLimiter{rate: rate.Limit(r), burst: burst, max: max,
		addrs: make(map[netip.Prefix]*list.Element)}
}

// blocked reports whether key has no failure left at now, and how long
// until it has one.
func (a *authLimiter) blocked(key netip.Prefix, now time.Time) (time.Duration, bool) {
	a.mu.Lock()
	el, ok := a.addrs[key]
	a.mu.Unlock()
	if !ok {
		return 0, false
	}
	return emptyFor(el.Value.(*addrBucket).lim, now)
}

// charge spends one failure of key's allowance at now.
func (a *authLimiter) charge(key netip.Prefix, now time.Time) {
	a.mu.Lock()
	defer a.mu.Unlock()
	el, ok := a.addrs[key]
	if ok {
		a.lru.MoveToFront(el)
	} else {
		a.prune(now)
		if len(a.addrs) >= a.max {
			a.remove(a.lru.Back())
		}
		el = a.lru.PushFront(&addrBucket{key: key, lim: rate.NewLimiter(a.rate, a.burst)})
		a.addrs[key] = el
	}
	el.Value.(*addrBucket).lim.AllowN(now, 1)
}

// prune drops the least recently charged addresses whose bucket is full
// again: they carry nothing a fresh bucket would not. Each charge prunes,
// so the table holds about the addresses that failed in the last
// burst/rate seconds. a.mu must be held.
func (a *authLimiter) prune(now time.Time) {
	for el := a.lru.Back(); el != nil; el = a.lru.Back() {
		if el.Value.(*addrBucket).lim.TokensAt(now) < float64(a.burst) {
			return
		}
		a.remove(el)
	}
}

// remove drops el. a.mu must be held.
func (a *authLimiter) remove(el *list.Element) {
	delete(a.addrs, el.Value.(*addrBucket).key)
	a.lru.Remove(el)
}

// size is the number of addresses tracked, for the metrics.
func (a *authLimiter) size() int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return len(a.addrs)
}

// emptyFor reports whether lim has less than one token at now, and how
// long until it has one.
func emptyFor(lim *rate.Limiter, now time.Time) (time.Duration, bool) {
	tokens := lim.TokensAt(now)
	if tokens >= 1 {
		return 0, false
	}
	return time.Duration((1 - tokens) / float64(lim.Limit()) * float64(time.Second)), true
}

// retryAfter is the cause of a rate_limited error: writeError sends it as
// the Retry-After header.
type retryAfter struct {
	what string
	wait time.Duration
}

func (e *retryAfter) Error() string { return fmt.Sprintf("%s: retry after %s", e.what, e.wait) }

// seconds is the wait in whole seconds, rounded up, at least 1.
func (e *retryAfter) seconds() int {
	return max(1, int(math.Ceil(e.wait.Seconds())))
}

func rateLimited(what, message string, wait time.Duration) error {
	ra := &retryAfter{what: what, wait: wait}
	return &belfry.Error{Code: belfry.ERATELIMIT, Err: ra,
		Message: fmt.Sprintf("%s; retry in %d s", message, ra.seconds())}
}

// limitAuth wraps an endpoint that authenticates its caller with the
// limit of failed authentications per client address: once the address
// has none left, a request carrying a credential that belfry does not
// recognize cheaply (a JWT signed with its secret, expired or not, or one
// of the API keys) is answered 429 rate_limited with Retry-After, without
// checking it further (the --auth-url app is not asked). A recognized one
// goes through, so a user behind the same NAT as a guesser keeps working.
// A 401 for a credential that was not recognized is charged; requests
// without a credential are neither stopped nor charged.
func (s *Server) limitAuth(h handlerFunc) handlerFunc {
	if s.authLim == nil {
		return h
	}
	return func(w http.ResponseWriter, r *http.Request) error {
		if !s.hasCredential(r) {
			return h(w, r)
		}
		key := s.clientKey(r)
		if wait, blocked := s.authLim.blocked(key, s.now()); blocked && !s.recognized(r) {
			s.metrics.rateLimited.WithLabelValues("auth").Inc()
			return rateLimited("failed authentications from "+key.String(),
				"too many failed authentications from this address", wait)
		}
		err := h(w, r)
		if belfry.ErrorCode(err) == belfry.EUNAUTHORIZED && !s.recognized(r) {
			s.authLim.charge(key, s.now())
			s.metrics.authFailures.Inc()
		}
		return err
	}
}

// hasCredential reports whether r carries something that would be checked
// as a credential: an Authorization or X-API-Key header, the token cookie
// or ?token=, or, when Config.UserAuth is set, any cookie.
func (s *Server) hasCredential(r *http.Request) bool {
	h := r.Header
	if h.Get("Authorization") != "" || h.Get(hdrAPIKey) != "" {
		return true
	}
	if len(h.Values("Cookie")) > 0 {
		if s.cfg.UserAuth != nil {
			return true
		}
		if _, err := r.Cookie(TokenCookie); err == nil {
			return true
		}
	}
	return strings.Contains(r.URL.RawQuery, "token") && r.URL.Query().Get("token") != ""
}

// recognized reports whether r carries a credential of this server,
// checked cheaply: one of the API keys, or a user JWT whose signature is
// valid with the secret (expired or not: only a holder of the secret can
// make one, so it is not a guess). An --auth-url session is never checked
// here: that is a call to the app.
func (s *Server) recognized(r *http.Request) bool {
	if s.isAPIKey(r.Header.Get(hdrAPIKey)) || s.isAPIKey(bearer(r)) {
		return true
	}
	for _, tok := range userTokens(r) {
		if s.signedByUs(tok) {
			return true
		}
	}
	return false
}

// signedByUs reports whether tok is an HS256 JWT signed with the secret,
// whatever its claims say.
func (s *Server) signedByUs(tok string) bool {
	if len(s.cfg.JWTSecret) == 0 || tok == "" || len(tok) > maxTokenLen {
		return false
	}
	_, err := s.sigOnly.ParseWithClaims(tok, &jwt.RegisteredClaims{}, func(*jwt.Token) (any, error) {
		return s.cfg.JWTSecret, nil
	})
	return err == nil
}

// clientKey is the bucket of r's client: its address (see clientAddr),
// IPv4 as is, IPv6 by /64 (one subscriber's whole prefix, as a host
// usually gets a /64 and can pick any address in it). A peer that is not
// an IP address (a Unix socket) falls in the zero bucket, shared.
func (s *Server) clientKey(r *http.Request) netip.Prefix {
	a := s.clientAddr(r)
	if !a.IsValid() {
		return netip.Prefix{}
	}
	if a.Is4() {
		return netip.PrefixFrom(a, 32)
	}
	p, _ := a.Prefix(64)
	return p
}

// clientAddr is the address of r's client: the peer (RemoteAddr), unless
// the peer is one of Config.TrustedProxies. Then X-Forwarded-For is read
// from the right, each trusted proxy skipped, and the first address that
// is not a trusted proxy is the client (the entries left of it could be
// written by anyone); without X-Forwarded-For, X-Real-IP. An entry that
// is not an address stops the walk at the last good one.
func (s *Server) clientAddr(r *http.Request) netip.Addr {
	peer := parseAddr(r.RemoteAddr)
	if !peer.IsValid() || !s.trustedProxy(peer) {
		return peer
	}
	hops := r.Header.Values("X-Forwarded-For")
	if len(hops) == 0 {
		if a := parseAddr(r.Header.Get("X-Real-IP")); a.IsValid() {
			return a
		}
		return peer
	}
	client := peer
	for i := len(hops) - 1; i >= 0; i-- {
		parts := strings.Split(hops[i], ",")
		for j := len(parts) - 1; j >= 0; j-- {
			a := parseAddr(parts[j])
			if !a.IsValid() {
				return client
			}
			client = a
			if !s.trustedProxy(a) {
				return a
			}
		}
	}
	return client
}

func (s *Server) trustedProxy(a netip.Addr) bool {
	for _, p := range s.cfg.TrustedProxies {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// parseAddr reads "1.2.3.4", "1.2.3.4:5", "::1" or "[::1]:5", without
// zone, IPv4-mapped IPv6 as IPv4; the zero Addr when it is none of them.
func parseAddr(s string) netip.Addr {
	s = strings.TrimSpace(s)
	// An address with a port (every RemoteAddr) is tried that way first:
	// a failed parse allocates its error, and this runs on every request.
	withPort := strings.HasPrefix(s, "[") || strings.Count(s, ":") == 1
	var a netip.Addr
	if withPort {
		ap, err := netip.ParseAddrPort(s)
		if err != nil {
			return netip.Addr{}
		}
		a = ap.Addr()
	} else {
		var err error
		if a, err = netip.ParseAddr(s); err != nil {
			return netip.Addr{}
		}
	}
	return a.WithZone("").Unmap()
}

// publishLimits holds a token bucket per API key (Config.PublishRate);
// the keys are fixed at start, so the table is too.
type publishLimits map[[sha256.Size]byte]*rate.Limiter

func newPublishLimits(keys [][sha256.Size]byte, r float64, burst int) publishLimits {
	if r <= 0 {
		return nil
	}
	if burst <= 0 {
		burst = max(1, int(math.Ceil(r)))
	}
	l := publishLimits{}
	for _, k := range keys {
		l[k] = rate.NewLimiter(rate.Limit(r), burst)
	}
	return l
}

// limitPublish wraps the publish endpoint with the per-key limit: a
// request with a valid API key that has no publish left is answered 429
// rate_limited with Retry-After, before its body is read, and stores
// nothing. Each request counts once, however many users it names.
func (s *Server) limitPublish(h handlerFunc) handlerFunc {
	if s.publishLim == nil {
		return h
	}
	return func(w http.ResponseWriter, r *http.Request) error {
		lim := s.publishLim.of(r.Header.Get(hdrAPIKey))
		if lim == nil {
			lim = s.publishLim.of(bearer(r))
		}
		if lim == nil { // no valid key: the endpoint says why
			return h(w, r)
		}
		now := s.now()
		if !lim.AllowN(now, 1) {
			wait, _ := emptyFor(lim, now)
			s.metrics.rateLimited.WithLabelValues("publish").Inc()
			return rateLimited("publish limit", "this API key publishes too fast", wait)
		}
		return h(w, r)
	}
}

// of returns the limiter of key k, nil when k is not an API key. Every
// key is compared, in constant time, as isAPIKey does.
func (l publishLimits) of(k string) *rate.Limiter {
	if k == "" {
		return nil
	}
	h := sha256.Sum256([]byte(k))
	var found *rate.Limiter
	for key, lim := range l {
		if subtle.ConstantTimeCompare(h[:], key[:]) == 1 {
			found = lim
		}
	}
	return found
}
