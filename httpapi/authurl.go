package httpapi

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/belfry/belfry"
)

// Defaults of AuthURLConfig.
const (
	DefaultAuthUserField  = "id"
	DefaultAuthCacheTTL   = 30 * time.Second
	DefaultAuthCacheSize  = 10000
	DefaultAuthURLTimeout = 5 * time.Second
	// authNegativeTTL bounds how long a refusal is remembered: long enough
	// to absorb a reconnect storm, short enough that logging in is seen.
	authNegativeTTL = 5 * time.Second
	// maxAuthAnswer bounds the app's answer read.
	maxAuthAnswer = 64 << 10
)

// AuthURLConfig configures AuthURL (--auth-url and friends). Zero values
// take the defaults noted.
type AuthURLConfig struct {
	// URL is the app's "who am I" endpoint, e.g. Laravel's
	// https://app.example/api/user. Required, http or https.
	URL string
	// UserField is the JSON field that holds the user id, a string or a
	// number; a dotted path ("data.id") reaches into nested objects.
	// Default "id".
	UserField string
	// TTL is how long an answer is cached (--auth-cache-ttl). Default 30s;
	// negative disables the cache. Refusals are cached at most 5s.
	TTL time.Duration
	// MaxEntries bounds the cache. Default 10,000.
	MaxEntries int
	// Client makes the calls. Default: a client with a 5s timeout. Its
	// redirects are never followed (a redirect to a login page is a 401).
	Client *http.Client
	// Now is the cache's clock. Default time.Now.
	Now func() time.Time
}

// AuthURL resolves users by asking the app: it forwards the request's
// Cookie and Authorization headers to the app's URL and reads the user id
// from the JSON answer. It implements UserAuth, so the original app's
// browser code (session cookie, no token) works against belfry.
//
// Answers are cached by the SHA-256 of the forwarded credentials (the raw
// cookie is never kept), and concurrent requests with the same credentials
// make one call.
type AuthURL struct {
	url    string
	path   []string
	ttl    time.Duration
	max    int
	client *http.Client
	now    func() time.Time
	csrf   *http.CrossOriginProtection

	mu       sync.Mutex
	cache    map[[sha256.Size]byte]authEntry
	inflight map[[sha256.Size]byte]*authCall
}

type authEntry struct {
	user    string
	err     error
	expires time.Time
}

type authCall struct {
	done chan struct{}
	user string
	err  error
}

var _ UserAuth = (*AuthURL)(nil)

// NewAuthURL returns an AuthURL for cfg. Errors: EINVALID (no URL, or not
// an absolute http(s) URL).
func NewAuthURL(cfg AuthURLConfig) (*AuthURL, error) {
	u, err := url.Parse(cfg.URL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, belfry.Errorf(belfry.EINVALID, "auth-url must be an absolute http(s) URL")
	}
	if cfg.UserField == "" {
		cfg.UserField = DefaultAuthUserField
	}
	if cfg.TTL == 0 {
		cfg.TTL = DefaultAuthCacheTTL
	}
	if cfg.MaxEntries <= 0 {
		cfg.MaxEntries = DefaultAuthCacheSize
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	c := cfg.Client
	if c == nil {
		c = &http.Client{Timeout: DefaultAuthURLTimeout}
	}
	noRedirect := *c
	noRedirect.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	return &AuthURL{url: u.String(), path: strings.Split(cfg.UserField, "."), ttl: cfg.TTL,
		max: cfg.MaxEntries, client: &noRedirect, now: cfg.Now, csrf: http.NewCrossOriginProtection(),
		cache: make(map[[sha256.Size]byte]authEntry), inflight: make(map[[sha256.Size]byte]*authCall)}, nil
}

// User asks the app who sent r. The session never expires from belfry's
// side (zero time): a stream lives until the client leaves.
// Errors: EUNAUTHORIZED (no credential, or the app answered non-2xx or
// without a usable user id), EFORBIDDEN (a state-changing request from
// another origin carrying only a cookie: CSRF), EUNAVAILABLE (the app could
// not be reached or timed out).
func (a *AuthURL) User(r *http.Request) (string, time.Time, error) {
	cookie := r.Header.Values("Cookie")
	authz := r.Header.Get("Authorization")
	if len(cookie) == 0 && authz == "" {
		return "", time.Time{}, belfry.Errorf(belfry.EUNAUTHORIZED, "no session cookie or Authorization header")
	}
	if authz == "" {
		// The browser sends the session cookie on cross-site requests
		// too: a form on another site must not mark notifications read.
		if err := a.csrf.Check(r); err != nil {
			return "", time.Time{}, belfry.Errorf(belfry.EFORBIDDEN, "cross-origin request with a session cookie")
		}
	}
	key := credentialKey(cookie, authz)
	user, err := a.lookup(r.Context(), key, cookie, authz)
	return user, time.Time{}, err
}

// credentialKey hashes what is forwarded, so the cache never holds a
// session cookie or a token.
func credentialKey(cookie []string, authz string) [sha256.Size]byte {
	h := sha256.New()
	for _, c := range cookie {
		io.WriteString(h, c)
		h.Write([]byte{0})
	}
	h.Write([]byte{1})
	io.WriteString(h, authz)
	var k [sha256.Size]byte
	h.Sum(k[:0])
	return k
}

func (a *AuthURL) lookup(ctx context.Context, key [sha256.Size]byte, cookie []string, authz string) (string, error) {
	now := a.now()
	a.mu.Lock()
	if e, ok := a.cache[key]; ok {
		if now.Before(e.expires) {
			a.mu.Unlock()
			return e.user, e.err
		}
		delete(a.cache, key)
	}
	if c, ok := a.inflight[key]; ok {
		a.mu.Unlock()
		select {
		case <-c.done:
			return c.user, c.err
		case <-ctx.Done():
			return "", belfry.Unavailable("the auth-url app", ctx.Err())
		}
	}
	c := &authCall{done: make(chan struct{})}
	a.inflight[key] = c
	a.mu.Unlock()

	// The call is not tied to this one request: others wait on it.
	callCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), DefaultAuthURLTimeout)
	c.user, c.err = a.ask(callCtx, cookie, authz)
	cancel()

	a.mu.Lock()
	delete(a.inflight, key)
	if ttl := a.ttlFor(c.err); ttl > 0 {
		a.store(key, authEntry{user: c.user, err: c.err, expires: a.now().Add(ttl)})
	}
	a.mu.Unlock()
	close(c.done)
	return c.user, c.err
}

// ttlFor says how long an answer is kept: answers for the full TTL,
// refusals briefly, unavailability not at all.
func (a *AuthURL) ttlFor(err error) time.Duration {
	if a.ttl < 0 {
		return 0
	}
	switch belfry.ErrorCode(err) {
	case "":
		return a.ttl
	case belfry.EUNAUTHORIZED:
		return min(a.ttl, authNegativeTTL)
	}
	return 0
}

// store adds an entry, evicting expired ones when full, then arbitrary
// ones (map order) if it is still full. a.mu must be held.
func (a *AuthURL) store(key [sha256.Size]byte, e authEntry) {
	if len(a.cache) >= a.max {
		now := a.now()
		for k, old := range a.cache {
			if !now.Before(old.expires) {
				delete(a.cache, k)
			}
		}
		for k := range a.cache {
			if len(a.cache) < a.max {
				break
			}
			delete(a.cache, k)
		}
	}
	a.cache[key] = e
}

// ask makes one call to the app.
func (a *AuthURL) ask(ctx context.Context, cookie []string, authz string) (string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, a.url, nil)
	if err != nil {
		return "", &belfry.Error{Code: belfry.EINTERNAL, Message: "building the auth-url request", Err: err}
	}
	for _, c := range cookie {
		req.Header.Add("Cookie", c)
	}
	if authz != "" {
		req.Header.Set("Authorization", authz)
	}
	// Laravel answers an unauthenticated JSON request with 401 instead of
	// a redirect to its login page.
	req.Header.Set("Accept", "application/json")
	req.Header.Set("X-Requested-With", "XMLHttpRequest")
	res, err := a.client.Do(req)
	if err != nil {
		return "", belfry.Unavailable("the auth-url app", err)
	}
	defer res.Body.Close()
	body, err := io.ReadAll(io.LimitReader(res.Body, maxAuthAnswer))
	if err != nil {
		return "", belfry.Unavailable("the auth-url app", err)
	}
	if res.StatusCode < 200 || res.StatusCode > 299 {
		if res.StatusCode >= 500 {
			// The app is up but failing: that is not the user's fault.
			return "", belfry.Unavailable("the auth-url app",
				errors.New("auth-url answered "+strconv.Itoa(res.StatusCode)))
		}
		return "", belfry.Errorf(belfry.EUNAUTHORIZED, "the app did not recognize the session (auth-url answered %d)", res.StatusCode)
	}
	user, ok := a.userID(body)
	if !ok || belfry.ValidateUserID(user) != nil {
		return "", belfry.Errorf(belfry.EUNAUTHORIZED, "the auth-url answer has no usable %q field", strings.Join(a.path, "."))
	}
	return user, nil
}

// userID reads the configured field: a string, or an integer kept as
// its decimal text (Laravel's ids are integers).
func (a *AuthURL) userID(body []byte) (string, bool) {
	dec := json.NewDecoder(strings.NewReader(string(body)))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return "", false
	}
	for _, k := range a.path {
		obj, ok := v.(map[string]any)
		if !ok {
			return "", false
		}
		v = obj[k]
	}
	switch id := v.(type) {
	case string:
		return id, id != ""
	case json.Number:
		if _, err := strconv.ParseInt(string(id), 10, 64); err != nil {
			return "", false
		}
		return string(id), true
	}
	return "", false
}
