package httpapi

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/belfry/belfry"
)

// fakeLaravel stands in for the app's GET /api/user: it knows sessions by
// cookie and API tokens by bearer, answers 401 JSON otherwise, and counts
// its calls.
type fakeLaravel struct {
	calls atomic.Int64
	srv   *httptest.Server
	mu    sync.Mutex
	seen  http.Header
}

func newFakeLaravel(t *testing.T) *fakeLaravel {
	f := &fakeLaravel{}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /api/user", func(w http.ResponseWriter, r *http.Request) {
		f.calls.Add(1)
		f.mu.Lock()
		f.seen = r.Header.Clone()
		f.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		if c, err := r.Cookie("laravel_session"); err == nil && c.Value == "s3cret-alice" {
			w.Write([]byte(`{"id": 42, "name": "Alice", "email": "alice@example.com"}`))
			return
		}
		if r.Header.Get("Authorization") == "Bearer api-token-bob" {
			w.Write([]byte(`{"id": "bob", "name": "Bob"}`))
			return
		}
		w.WriteHeader(http.StatusUnauthorized)
		w.Write([]byte(`{"message": "Unauthenticated."}`))
	})
	mux.HandleFunc("GET /api/wrapped", func(w http.ResponseWriter, r *http.Request) {
		f.calls.Add(1)
		w.Write([]byte(`{"data": {"id": 7}}`))
	})
	mux.HandleFunc("GET /login-redirect", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/login", http.StatusFound)
	})
	mux.HandleFunc("GET /login", func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte(`{"id": 1}`)) // would be taken as user 1 if the redirect were followed
	})
	mux.HandleFunc("GET /broken", func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusInternalServerError)
	})
	f.srv = httptest.NewServer(mux)
	t.Cleanup(f.srv.Close)
	return f
}

func newAuthURL(t *testing.T, cfg AuthURLConfig) *AuthURL {
	t.Helper()
	a, err := NewAuthURL(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func userRequest(method string, headers ...string) *http.Request {
	r := httptest.NewRequest(method, "http://belfry.test/notifications", nil)
	for i := 0; i+1 < len(headers); i += 2 {
		r.Header.Add(headers[i], headers[i+1])
	}
	return r
}

func wantCode(t *testing.T, err error, code string) {
	t.Helper()
	if got := belfry.ErrorCode(err); got != code {
		t.Fatalf("error code = %q (%v), want %q", got, err, code)
	}
}

func TestAuthURLSessionCookie(t *testing.T) {
	app := newFakeLaravel(t)
	now := time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)
	var clock atomic.Pointer[time.Time]
	clock.Store(&now)
	a := newAuthURL(t, AuthURLConfig{URL: app.srv.URL + "/api/user", Now: func() time.Time { return *clock.Load() }})

	r := userRequest("GET", "Cookie", "laravel_session=s3cret-alice; XSRF-TOKEN=x")
	user, exp, err := a.User(r)
	if err != nil || user != "42" || !exp.IsZero() {
		t.Fatalf("User = %q, %v, %v; want 42, zero, nil", user, exp, err)
	}
	app.mu.Lock()
	seen := app.seen
	app.mu.Unlock()
	if got := seen.Get("Cookie"); got != "laravel_session=s3cret-alice; XSRF-TOKEN=x" {
		t.Errorf("the app got Cookie %q", got)
	}
	if got := seen.Get("Accept"); got != "application/json" {
		t.Errorf("the app got Accept %q", got)
	}

	// Cached: no second call within the TTL.
	for range 3 {
		if user, _, err := a.User(userRequest("GET", "Cookie", "laravel_session=s3cret-alice; XSRF-TOKEN=x")); err != nil || user != "42" {
			t.Fatalf("cached User = %q, %v", user, err)
		}
	}
	if n := app.calls.Load(); n != 1 {
		t.Fatalf("app called %d times, want 1 (cached)", n)
	}
	// After the TTL the app is asked again.
	later := now.Add(DefaultAuthCacheTTL + time.Second)
	clock.Store(&later)
	if _, _, err := a.User(userRequest("GET", "Cookie", "laravel_session=s3cret-alice; XSRF-TOKEN=x")); err != nil {
		t.Fatal(err)
	}
	if n := app.calls.Load(); n != 2 {
		t.Fatalf("app called %d times after the TTL, want 2", n)
	}

	// The cache holds a hash of the credentials, never the cookie itself.
	a.mu.Lock()
	defer a.mu.Unlock()
	for k, el := range a.answers.items {
		if strings.Contains(string(k[:]), "s3cret") || strings.Contains(el.Value.(*authItem).user, "s3cret") {
			t.Fatal("the raw cookie is in the cache")
		}
	}
}

func TestAuthURLBearerAndField(t *testing.T) {
	app := newFakeLaravel(t)
	a := newAuthURL(t, AuthURLConfig{URL: app.srv.URL + "/api/user"})
	user, _, err := a.User(userRequest("POST", "Authorization", "Bearer api-token-bob"))
	if err != nil || user != "bob" {
		t.Fatalf("User = %q, %v; want bob", user, err)
	}

	w := newAuthURL(t, AuthURLConfig{URL: app.srv.URL + "/api/wrapped", UserField: "data.id"})
	if user, _, err := w.User(userRequest("GET", "Cookie", "laravel_session=b")); err != nil || user != "7" {
		t.Fatalf("data.id: User = %q, %v; want 7", user, err)
	}
	missing := newAuthURL(t, AuthURLConfig{URL: app.srv.URL + "/api/wrapped", UserField: "uuid"})
	_, _, err = missing.User(userRequest("GET", "Cookie", "laravel_session=b"))
	wantCode(t, err, belfry.EUNAUTHORIZED)
}

func TestAuthURLRefusals(t *testing.T) {
	app := newFakeLaravel(t)
	a := newAuthURL(t, AuthURLConfig{URL: app.srv.URL + "/api/user"})

	// No credential at all: refused without asking the app.
	_, _, err := a.User(userRequest("GET"))
	wantCode(t, err, belfry.EUNAUTHORIZED)
	if n := app.calls.Load(); n != 0 {
		t.Fatalf("app called %d times for a request without credentials", n)
	}
	// The app does not know the session: 401.
	_, _, err = a.User(userRequest("GET", "Cookie", "laravel_session=expired"))
	wantCode(t, err, belfry.EUNAUTHORIZED)
	if StatusOf(belfry.ErrorCode(err)) != http.StatusUnauthorized {
		t.Fatal("not mapped to 401")
	}
	// A redirect to a login page is a refusal, not followed.
	r := newAuthURL(t, AuthURLConfig{URL: app.srv.URL + "/login-redirect"})
	_, _, err = r.User(userRequest("GET", "Cookie", "laravel_session=s3cret-alice"))
	wantCode(t, err, belfry.EUNAUTHORIZED)

	// A cross-site form POST carrying only the session cookie: CSRF.
	csrf := userRequest("POST", "Cookie", "laravel_session=s3cret-alice", "Sec-Fetch-Site", "cross-site")
	_, _, err = a.User(csrf)
	wantCode(t, err, belfry.EFORBIDDEN)
	// The same from the same origin is fine.
	same := userRequest("POST", "Cookie", "laravel_session=s3cret-alice", "Sec-Fetch-Site", "same-origin")
	if user, _, err := a.User(same); err != nil || user != "42" {
		t.Fatalf("same-origin POST: %q, %v", user, err)
	}
}

func TestAuthURLUnavailable(t *testing.T) {
	app := newFakeLaravel(t)
	broken := newAuthURL(t, AuthURLConfig{URL: app.srv.URL + "/broken"})
	_, _, err := broken.User(userRequest("GET", "Cookie", "laravel_session=s3cret-alice"))
	wantCode(t, err, belfry.EUNAVAILABLE)

	down := httptest.NewServer(http.NotFoundHandler())
	downURL := down.URL + "/api/user"
	down.Close()
	a := newAuthURL(t, AuthURLConfig{URL: downURL})
	_, _, err = a.User(userRequest("GET", "Cookie", "laravel_session=s3cret-alice"))
	wantCode(t, err, belfry.EUNAVAILABLE)
	if StatusOf(belfry.ErrorCode(err)) != http.StatusServiceUnavailable {
		t.Fatal("not mapped to 503")
	}
	// Unavailability is not cached: the next request asks again.
	a.mu.Lock()
	n := a.answers.len() + a.refusals.len()
	a.mu.Unlock()
	if n != 0 {
		t.Fatalf("%d cache entries after an unreachable app, want 0", n)
	}
}

func TestAuthURLCacheBounded(t *testing.T) {
	app := newFakeLaravel(t)
	a := newAuthURL(t, AuthURLConfig{URL: app.srv.URL + "/api/user", MaxEntries: 3, MaxRefusals: 2})
	for i := range 20 {
		a.User(userRequest("GET", "Cookie", "laravel_session=guess"+strings.Repeat("x", i)))
		a.User(userRequest("GET", "Authorization", "Bearer token"+strings.Repeat("x", i)))
	}
	a.mu.Lock()
	n, refused := a.answers.len(), a.refusals.len()
	a.mu.Unlock()
	if n != 0 || refused != 2 {
		t.Fatalf("caches hold %d answers and %d refusals, want 0 and 2 (the bound)", n, refused)
	}
}

func TestAuthURLConcurrent(t *testing.T) {
	app := newFakeLaravel(t)
	a := newAuthURL(t, AuthURLConfig{URL: app.srv.URL + "/api/user"})
	var wg sync.WaitGroup
	for range 16 {
		wg.Go(func() {
			user, _, err := a.User(userRequest("GET", "Cookie", "laravel_session=s3cret-alice"))
			if err != nil || user != "42" {
				t.Errorf("User = %q, %v", user, err)
			}
		})
	}
	wg.Wait()
	// Concurrent requests share calls; at most a few reach the app.
	if n := app.calls.Load(); n < 1 || n > 16 {
		t.Fatalf("app called %d times", n)
	}
}

func TestNewAuthURLInvalid(t *testing.T) {
	for _, u := range []string{"", "/api/user", "ftp://app/api/user", "http://"} {
		_, err := NewAuthURL(AuthURLConfig{URL: u})
		wantCode(t, err, belfry.EINVALID)
	}
}
