package httpapi

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/belfry/belfry"
	"github.com/prometheus/client_golang/prometheus"
)

// Defaults of AuthURLConfig.
const (
	DefaultAuthUserField = "id"
	// DefaultAuthCookie is Laravel's session cookie when APP_NAME is
	// unset or "Laravel" (Laravel names it after APP_NAME).
	DefaultAuthCookie         = "laravel_session"
	DefaultAuthCacheTTL       = 30 * time.Second
	DefaultAuthCacheSize      = 10000
	DefaultAuthURLTimeout     = 5 * time.Second
	DefaultAuthURLConcurrency = 16
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
	// Cookie names the app's session cookie (--auth-cookie): answers are
	// cached by its value and the Authorization header, and a request
	// with neither is refused without asking the app. It must get a new
	// value when the user logs in or out (Laravel's does). Default
	// "laravel_session".
	Cookie string
	// TTL is how long an answer is cached (--auth-cache-ttl). Default 30s;
	// negative disables the cache. Refusals are cached at most 5s.
	TTL time.Duration
	// MaxEntries bounds the cache of answers naming a user, least
	// recently used out first. Default 10,000.
	MaxEntries int
	// MaxRefusals bounds the separate cache of refusals, so that unknown
	// cookies never evict a user's answer. Default a tenth of MaxEntries
	// (1,000), at least 1.
	MaxRefusals int
	// Concurrency bounds the calls to the app in flight at once
	// (--auth-url-concurrency); further requests wait for a free place
	// as long as their client stays. Default 16.
	Concurrency int
	// Timeout bounds one call to the app. Default 5s.
	Timeout time.Duration
	// Client makes the calls. Default: http.DefaultTransport's client.
	// Its redirects are never followed (a redirect to a login page is a
	// 401).
	Client *http.Client
	// Now is the cache's clock. Default time.Now.
	Now func() time.Time
	// Registerer, when set, gets the gauges belfry_auth_url_waiting
	// (requests waiting for a place to call the app) and
	// belfry_auth_url_calls_in_flight. Default none.
	Registerer prometheus.Registerer
}

// AuthURL resolves users by asking the app: it forwards the request's
// Cookie and Authorization headers to the app's URL and reads the user id
// from the JSON answer. It implements UserAuth, so the original app's
// browser code (session cookie, no token) works against belfry.
//
// Answers are cached by the SHA-256 of the session cookie's value and the
// Authorization header (the raw cookie is never kept); the other cookies
// are forwarded but do not change the key. Requests with the same
// credential share one call, and at most Config.Concurrency calls are in
// flight, each on a goroutine of its own that ends within Config.Timeout.
type AuthURL struct {
	url     string
	path    []string
	cookie  string
	ttl     time.Duration
	timeout time.Duration
	client  *http.Client
	now     func() time.Time
	csrf    *http.CrossOriginProtection

	// calls holds a token per call in flight; waiting counts the requests
	// waiting for one.
	calls   chan struct{}
	waiting atomic.Int64

	// mu guards the caches, inflight and the calls' waiters and begun.
	mu       sync.Mutex
	answers  *authCache            // answers naming a user
	refusals *authCache            // the app's refusals, kept apart
	inflight map[credKey]*authCall // waiting for a place, or under way
}

// authCall is one call to the app about a credential, shared by every
// request with that credential. started is closed once a request has
// taken a place among the calls and started it; done once user and err
// are set.
type authCall struct {
	started chan struct{}
	done    chan struct{}
	user    string
	err     error
	// a.mu guards these: the requests that came for the call, and
	// whether it was started (a call that is not, and that every
	// request left, is forgotten).
	waiters int
	begun   bool
}

var _ UserAuth = (*AuthURL)(nil)

// NewAuthURL returns an AuthURL for cfg. Errors: EINVALID (no URL, or not
// an absolute http(s) URL; a Cookie that is not a valid cookie name; a
// gauge already registered on Registerer).
func NewAuthURL(cfg AuthURLConfig) (*AuthURL, error) {
	u, err := url.Parse(cfg.URL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, belfry.Errorf(belfry.EINVALID, "auth-url must be an absolute http(s) URL")
	}
	if cfg.UserField == "" {
		cfg.UserField = DefaultAuthUserField
	}
	if cfg.Cookie == "" {
		cfg.Cookie = DefaultAuthCookie
	}
	if err := (&http.Cookie{Name: cfg.Cookie, Value: "x"}).Valid(); err != nil {
		return nil, belfry.Errorf(belfry.EINVALID, "auth-cookie %q is not a valid cookie name", cfg.Cookie)
	}
	if cfg.TTL == 0 {
		cfg.TTL = DefaultAuthCacheTTL
	}
	if cfg.MaxEntries <= 0 {
		cfg.MaxEntries = DefaultAuthCacheSize
	}
	if cfg.MaxRefusals <= 0 {
		cfg.MaxRefusals = max(cfg.MaxEntries/10, 1)
	}
	if cfg.Concurrency <= 0 {
		cfg.Concurrency = DefaultAuthURLConcurrency
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = DefaultAuthURLTimeout
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	c := cfg.Client
	if c == nil {
		c = &http.Client{}
	}
	noRedirect := *c
	noRedirect.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	a := &AuthURL{url: u.String(), path: strings.Split(cfg.UserField, "."), cookie: cfg.Cookie,
		ttl: cfg.TTL, timeout: cfg.Timeout, client: &noRedirect, now: cfg.Now,
		csrf: http.NewCrossOriginProtection(), calls: make(chan struct{}, cfg.Concurrency),
		answers: newAuthCache(cfg.MaxEntries), refusals: newAuthCache(cfg.MaxRefusals),
		inflight: make(map[credKey]*authCall)}
	if cfg.Registerer != nil {
		if err := a.register(cfg.Registerer); err != nil {
			return nil, &belfry.Error{Code: belfry.EINVALID, Message: "auth-url: registering metrics", Err: err}
		}
	}
	return a, nil
}

func (a *AuthURL) register(reg prometheus.Registerer) error {
	for _, g := range []prometheus.Collector{
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "belfry_auth_url_waiting",
			Help: "Requests waiting for a place to ask the --auth-url app who they are."},
			func() float64 { return float64(a.waiting.Load()) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "belfry_auth_url_calls_in_flight",
			Help: "Calls to the --auth-url app in flight."},
			func() float64 { return float64(len(a.calls)) }),
	} {
		if err := reg.Register(g); err != nil {
			return err
		}
	}
	return nil
}

// User asks the app who sent r. The session never expires from belfry's
// side (zero time): a stream lives until the client leaves.
// Errors: EUNAUTHORIZED (neither the session cookie nor an Authorization
// header, or the app answered non-2xx or without a usable user id),
// EFORBIDDEN (a state-changing request from another origin carrying only
// a cookie: CSRF), EUNAVAILABLE (the app could not be reached or timed
// out, or the client left while waiting for it).
func (a *AuthURL) User(r *http.Request) (string, time.Time, error) {
	authz := r.Header.Get("Authorization")
	session := r.CookiesNamed(a.cookie)
	if len(session) == 0 && authz == "" {
		return "", time.Time{}, belfry.Errorf(belfry.EUNAUTHORIZED, "no %s cookie or Authorization header", a.cookie)
	}
	if authz == "" {
		// The browser sends the session cookie on cross-site requests
		// too: a form on another site must not mark notifications read.
		if err := a.csrf.Check(r); err != nil {
			return "", time.Time{}, belfry.Errorf(belfry.EFORBIDDEN, "cross-origin request with a session cookie")
		}
	}
	user, err := a.lookup(r.Context(), credentialKey(session, authz), r.Header.Values("Cookie"), authz)
	return user, time.Time{}, err
}

// credentialKey hashes what names the user: every value of the session
// cookie, in order, and the Authorization header.
func credentialKey(session []*http.Cookie, authz string) credKey {
	h := sha256.New()
	for _, c := range session {
		io.WriteString(h, c.Value)
		h.Write([]byte{0})
	}
	h.Write([]byte{1})
	io.WriteString(h, authz)
	var k credKey
	h.Sum(k[:0])
	return k
}

// lookup answers from the caches, else waits for the call about key: the
// one in flight, or a new one that the first of its requests to get a
// place among the calls starts. The call is not tied to a request: others
// join it, and its answer is cached even if every one of them left.
func (a *AuthURL) lookup(ctx context.Context, key credKey, cookie []string, authz string) (string, error) {
	a.mu.Lock()
	e, hit, c := a.find(key)
	if hit {
		a.mu.Unlock()
		return e.user, e.err
	}
	if c == nil {
		c = &authCall{started: make(chan struct{}), done: make(chan struct{})}
		a.inflight[key] = c
	}
	c.waiters++
	a.mu.Unlock()
	if err := a.start(ctx, key, c, cookie, authz); err != nil {
		return "", err
	}
	select {
	case <-c.done:
		return c.user, c.err
	case <-ctx.Done():
		return "", belfry.Unavailable("the auth-url app", ctx.Err())
	}
}

// find returns the cached answer for key, or else the call about it, if
// any. a.mu must be held.
func (a *AuthURL) find(key credKey) (e authEntry, hit bool, c *authCall) {
	now := a.now()
	if e, ok := a.answers.get(key, now); ok {
		return e, true, nil
	}
	if e, ok := a.refusals.get(key, now); ok {
		return e, true, nil
	}
	return authEntry{}, false, a.inflight[key]
}

// start returns once c is under way: started by this request, having
// taken a place among the calls, or by another one with the same
// credential. While every place is taken it waits until the client
// leaves: a 503 would end a browser's EventSource for good, and the wait
// holds a parked goroutine and nothing else. Errors: EUNAVAILABLE when
// ctx ends first (the last request to leave a call not started forgets
// it).
func (a *AuthURL) start(ctx context.Context, key credKey, c *authCall, cookie []string, authz string) error {
	select {
	case <-c.started:
		return nil
	case a.calls <- struct{}{}:
		a.begin(key, c, cookie, authz)
		return nil
	default:
	}
	a.waiting.Add(1)
	defer a.waiting.Add(-1)
	select {
	case <-c.started:
		return nil
	case a.calls <- struct{}{}:
		a.begin(key, c, cookie, authz)
		return nil
	case <-ctx.Done():
		a.mu.Lock()
		if c.waiters--; c.waiters == 0 && !c.begun {
			delete(a.inflight, key)
		}
		a.mu.Unlock()
		return belfry.Unavailable("the auth-url app", ctx.Err())
	}
}

// begin starts c on the place just taken, unless another request started
// it meanwhile (then the place goes back).
func (a *AuthURL) begin(key credKey, c *authCall, cookie []string, authz string) {
	a.mu.Lock()
	if c.begun {
		a.mu.Unlock()
		a.release()
		return
	}
	c.begun = true
	close(c.started)
	a.mu.Unlock()
	go a.call(key, c, slices.Clone(cookie), authz)
}

func (a *AuthURL) release() { <-a.calls }

// call asks the app, caches the answer, gives its place back and wakes
// the requests waiting for it. It ends within a.timeout.
func (a *AuthURL) call(key credKey, c *authCall, cookie []string, authz string) {
	ctx, cancel := context.WithTimeout(context.Background(), a.timeout)
	c.user, c.err = a.ask(ctx, cookie, authz)
	cancel()
	a.mu.Lock()
	delete(a.inflight, key)
	a.remember(key, c.user, c.err)
	a.mu.Unlock()
	a.release()
	close(c.done)
}

// remember caches an answer: a user for the full TTL, a refusal briefly
// and in the refusals' own cache, unavailability not at all. a.mu must be
// held.
func (a *AuthURL) remember(key credKey, user string, err error) {
	if a.ttl < 0 {
		return
	}
	now := a.now()
	switch belfry.ErrorCode(err) {
	case "":
		a.refusals.remove(key)
		a.answers.put(key, authEntry{user: user, expires: now.Add(a.ttl)})
	case belfry.EUNAUTHORIZED:
		a.answers.remove(key)
		a.refusals.put(key, authEntry{err: err, expires: now.Add(min(a.ttl, authNegativeTTL))})
	}
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
