package httpapi_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/belfry/belfry"
	"github.com/belfry/belfry/httpapi"
	"github.com/prometheus/client_golang/prometheus"
)

// heldApp is the app behind --auth-url on a real server, whose answers
// wait until the test opens its gate, or lets that session's calls
// through (or belfry gives up on the call). It
// knows one session, laravel_session=alice-session (user "alice"), and
// refuses the rest with 401; it counts calls per session and the calls in
// flight, and remembers the most in flight at once.
type heldApp struct {
	srv      *httptest.Server
	gate     chan struct{}
	openOnce sync.Once
	entered  atomic.Int64 // calls that came in
	answered atomic.Int64 // calls that ended, answered or abandoned
	inFlight atomic.Int64
	most     atomic.Int64

	mu    sync.Mutex
	calls map[string]int           // by laravel_session value ("" for none)
	lets  map[string]chan struct{} // closed: that session's calls pass
}

func newHeldApp(t *testing.T) *heldApp {
	a := &heldApp{gate: make(chan struct{}), calls: map[string]int{}, lets: map[string]chan struct{}{}}
	a.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		session := ""
		if c, err := r.Cookie("laravel_session"); err == nil {
			session = c.Value
		}
		a.mu.Lock()
		a.calls[session]++
		let := a.letChan(session)
		a.mu.Unlock()
		a.entered.Add(1)
		n := a.inFlight.Add(1)
		for m := a.most.Load(); n > m && !a.most.CompareAndSwap(m, n); m = a.most.Load() {
		}
		defer func() {
			a.inFlight.Add(-1)
			a.answered.Add(1)
		}()
		select {
		case <-a.gate:
		case <-let:
		case <-r.Context().Done():
			return
		}
		w.Header().Set("Content-Type", "application/json")
		if session == "alice-session" {
			w.Write([]byte(`{"id": "alice"}`))
			return
		}
		w.WriteHeader(http.StatusUnauthorized)
		w.Write([]byte(`{"message": "Unauthenticated."}`))
	}))
	t.Cleanup(func() {
		a.open()
		a.srv.Close()
	})
	return a
}

// open lets every call, held or to come, be answered.
func (a *heldApp) open() { a.openOnce.Do(func() { close(a.gate) }) }

// let lets the calls about one session, held or to come, be answered.
func (a *heldApp) let(session string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	close(a.letChan(session))
}

// letChan returns the channel of session; a.mu must be held.
func (a *heldApp) letChan(session string) chan struct{} {
	c, ok := a.lets[session]
	if !ok {
		c = make(chan struct{})
		a.lets[session] = c
	}
	return c
}

func (a *heldApp) callsFor(session string) int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.calls[session]
}

func (a *heldApp) url() string { return a.srv.URL + "/api/user" }

func newTestAuthURL(t *testing.T, cfg httpapi.AuthURLConfig) *httpapi.AuthURL {
	t.Helper()
	a, err := httpapi.NewAuthURL(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// cookieRequest is a same-origin user request carrying cookie.
func cookieRequest(ctx context.Context, cookie string) *http.Request {
	r := httptest.NewRequestWithContext(ctx, "GET", "http://belfry.test/notifications/unread-count", nil)
	r.Header.Set("Cookie", cookie)
	return r
}

// TestAuthURLDoesNotBlockJWTStreams: while the --auth-url app holds every
// answer and 200 streams with session cookies wait on it, a user with a
// JWT still gets a stream up to its sync event: the app calls take no
// setup place.
func TestAuthURLDoesNotBlockJWTStreams(t *testing.T) { bothModes(t, testAuthURLDoesNotBlockJWTStreams) }

func testAuthURLDoesNotBlockJWTStreams(t *testing.T, lean bool) {
	app := newHeldApp(t)
	// A call timeout longer than the test: the app's calls end only when
	// the test opens the gate.
	auth := newTestAuthURL(t, httpapi.AuthURLConfig{URL: app.url(), Timeout: wait * 4})
	e := newEnv(t, envOpts{disableLean: !lean, userAuth: auth})

	const flood = 200
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	t.Cleanup(func() {
		cancel()
		app.open()
		wg.Wait()
	})
	var accepted atomic.Int64
	for i := range flood {
		wg.Go(func() {
			req, _ := http.NewRequestWithContext(ctx, "GET", e.url+"/notifications/stream", nil)
			req.Header.Set("Cookie", fmt.Sprintf("laravel_session=guess-%d; XSRF-TOKEN=x", i))
			accepted.Add(1)
			if resp, err := e.client.Do(req); err == nil {
				resp.Body.Close()
			}
		})
	}
	eventually(t, "the app holds calls", func() bool {
		return accepted.Load() == flood && app.entered.Load() >= httpapi.DefaultAuthURLConcurrency
	})
	eventually(t, "the flood reaches belfry", func() bool {
		e.conns.mu.Lock()
		defer e.conns.mu.Unlock()
		return len(e.conns.conns) >= flood
	})

	req, _ := http.NewRequestWithContext(ctx, "GET", e.url+"/notifications/stream", nil)
	req.Header.Set("Authorization", "Bearer "+e.token("jwt-user"))
	resp, err := e.client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("JWT stream: %d", resp.StatusCode)
	}
	if !readUntil(resp, "event: sync") {
		t.Fatal("the JWT user's stream got no sync event")
	}
	if n := app.answered.Load(); n != 0 {
		t.Fatalf("the sync came after %d app calls ended: it waited for the app", n)
	}
}

// TestAuthURLKeyedOnSessionCookie: the cache is keyed on the session
// cookie (and Authorization), not on the whole Cookie header: other
// cookies changing does not ask the app again. The whole header is still
// what the app gets.
func TestAuthURLKeyedOnSessionCookie(t *testing.T) {
	app := newHeldApp(t)
	app.open()
	a := newTestAuthURL(t, httpapi.AuthURLConfig{URL: app.url()})
	for _, cookie := range []string{
		"laravel_session=alice-session; XSRF-TOKEN=one",
		"XSRF-TOKEN=two; laravel_session=alice-session; _ga=GA1.2.3",
		"laravel_session=alice-session",
	} {
		user, _, err := a.User(cookieRequest(t.Context(), cookie))
		if err != nil || user != "alice" {
			t.Fatalf("%s: User = %q, %v; want alice", cookie, user, err)
		}
	}
	if n := app.callsFor("alice-session"); n != 1 {
		t.Fatalf("the app was asked %d times about one session, want 1", n)
	}

	// Without the session cookie and without Authorization: refused, and
	// the app is not asked.
	before := app.entered.Load()
	_, _, err := a.User(cookieRequest(t.Context(), "XSRF-TOKEN=x; other=y"))
	wantErrCode(t, err, belfry.EUNAUTHORIZED)
	if n := app.entered.Load() - before; n != 0 {
		t.Fatalf("the app was asked %d times about a request without the session cookie", n)
	}

	// Another cookie name is configurable.
	named := newTestAuthURL(t, httpapi.AuthURLConfig{URL: app.url(), Cookie: "myapp_session"})
	_, _, err = named.User(cookieRequest(t.Context(), "laravel_session=alice-session"))
	wantErrCode(t, err, belfry.EUNAUTHORIZED)
	if _, err := httpapi.NewAuthURL(httpapi.AuthURLConfig{URL: app.url(), Cookie: "bad name;"}); belfry.ErrorCode(err) != belfry.EINVALID {
		t.Fatalf("an invalid cookie name: %v, want EINVALID", err)
	}
}

// TestAuthURLRefusalsDoNotEvictSessions: a flood of unknown session
// cookies, more than either cache holds, does not push a real user's
// cached session out: refusals are kept apart, in a smaller cache.
func TestAuthURLRefusalsDoNotEvictSessions(t *testing.T) {
	app := newHeldApp(t)
	app.open()
	a := newTestAuthURL(t, httpapi.AuthURLConfig{URL: app.url(), MaxEntries: 8, MaxRefusals: 4})
	alice := "laravel_session=alice-session"
	if user, _, err := a.User(cookieRequest(t.Context(), alice)); err != nil || user != "alice" {
		t.Fatalf("User = %q, %v", user, err)
	}
	const flood = 100
	for i := range flood {
		_, _, err := a.User(cookieRequest(t.Context(), fmt.Sprintf("laravel_session=guess-%d", i)))
		wantErrCode(t, err, belfry.EUNAUTHORIZED)
	}
	if n := app.entered.Load(); n != 1+flood {
		t.Fatalf("the app was asked %d times, want %d (each guess once)", n, 1+flood)
	}
	if user, _, err := a.User(cookieRequest(t.Context(), alice)); err != nil || user != "alice" {
		t.Fatalf("after the flood: User = %q, %v", user, err)
	}
	if n := app.callsFor("alice-session"); n != 1 {
		t.Fatalf("the app was asked %d times about alice's session: the flood evicted it", n)
	}
	// The latest refusals are remembered: no call for a repeated guess.
	before := app.entered.Load()
	_, _, err := a.User(cookieRequest(t.Context(), fmt.Sprintf("laravel_session=guess-%d", flood-1)))
	wantErrCode(t, err, belfry.EUNAUTHORIZED)
	if n := app.entered.Load() - before; n != 0 {
		t.Fatalf("a refusal just made was not cached (%d calls)", n)
	}
}

// TestAuthURLConcurrencyBound: however many requests with unknown
// sessions come at once, at most Concurrency calls reach the app; the
// others wait (belfry_auth_url_waiting counts them) and are answered in
// turn. One whose client leaves stops waiting.
func TestAuthURLConcurrencyBound(t *testing.T) {
	app := newHeldApp(t)
	reg := prometheus.NewRegistry()
	const bound, requests = 4, 40
	a := newTestAuthURL(t, httpapi.AuthURLConfig{URL: app.url(), Concurrency: bound, Registerer: reg})

	var wg sync.WaitGroup
	t.Cleanup(func() {
		app.open()
		wg.Wait()
	})
	for i := range requests {
		wg.Go(func() {
			_, _, err := a.User(cookieRequest(t.Context(), fmt.Sprintf("laravel_session=guess-%d", i)))
			if belfry.ErrorCode(err) != belfry.EUNAUTHORIZED {
				t.Errorf("guess %d: %v, want EUNAUTHORIZED", i, err)
			}
		})
	}
	eventually(t, "the calls fill the bound and the rest wait", func() bool {
		if m := app.most.Load(); m > bound {
			t.Fatalf("%d calls in flight at the app, bound %d", m, bound)
		}
		return app.inFlight.Load() == bound && gauge(t, reg, "belfry_auth_url_waiting") == requests-bound
	})
	if n := gauge(t, reg, "belfry_auth_url_calls_in_flight"); n != bound {
		t.Fatalf("belfry_auth_url_calls_in_flight = %v, want %d", n, bound)
	}

	// A waiting request whose client leaves gets 503 and waits no more.
	ctx, cancel := context.WithCancel(t.Context())
	left := make(chan error, 1)
	go func() {
		_, _, err := a.User(cookieRequest(ctx, "laravel_session=leaves"))
		left <- err
	}()
	eventually(t, "one more waits", func() bool { return gauge(t, reg, "belfry_auth_url_waiting") == requests-bound+1 })
	cancel()
	wantErrCode(t, <-left, belfry.EUNAVAILABLE)
	eventually(t, "it stops waiting", func() bool { return gauge(t, reg, "belfry_auth_url_waiting") == requests-bound })

	app.open()
	wg.Wait()
	if m := app.most.Load(); m > bound {
		t.Fatalf("%d calls in flight at the app, bound %d", m, bound)
	}
	if n := app.entered.Load(); n != requests {
		t.Fatalf("the app was asked %d times, want %d", n, requests)
	}
	if n := app.callsFor("leaves"); n != 0 {
		t.Fatalf("the app was asked about a request whose client had left")
	}
}

// TestAuthURLTabsShareAWaitingCall: requests with the same session (a
// user's tabs) that wait for a place to call the app wait for one call
// together: once it answers, all of them have the user, whatever else is
// still waiting for a place.
func TestAuthURLTabsShareAWaitingCall(t *testing.T) {
	app := newHeldApp(t)
	app.let("alice-session")
	reg := prometheus.NewRegistry()
	// Calls end only when the test lets them.
	a := newTestAuthURL(t, httpapi.AuthURLConfig{URL: app.url(), Concurrency: 1, Registerer: reg, Timeout: wait * 4})

	var wg sync.WaitGroup
	t.Cleanup(func() {
		app.open()
		wg.Wait()
	})
	answers := make(chan string, 2)
	send := func(session string, waiting float64) {
		wg.Go(func() {
			user, _, err := a.User(cookieRequest(t.Context(), "laravel_session="+session))
			if session == "alice-session" {
				if err != nil {
					t.Errorf("alice: %v", err)
				}
				answers <- user
			}
		})
		eventually(t, session+" waits", func() bool { return gauge(t, reg, "belfry_auth_url_waiting") == waiting })
	}
	wg.Go(func() { a.User(cookieRequest(t.Context(), "laravel_session=guess-1")) })
	eventually(t, "the app holds the one call", func() bool { return app.inFlight.Load() == 1 })
	send("alice-session", 1) // the first tab
	send("guess-2", 2)
	send("alice-session", 3) // the second tab, behind guess-2

	app.let("guess-1") // a place: alice's call, then guess-2's, held
	for range 2 {
		select {
		case u := <-answers:
			if u != "alice" {
				t.Fatalf("a tab got %q", u)
			}
		case <-time.After(wait):
			t.Fatal("a tab still waits, though alice's call has answered")
		}
	}
	if n := app.callsFor("alice-session"); n != 1 {
		t.Fatalf("the app was asked %d times about alice's session, want 1", n)
	}
}

func wantErrCode(t *testing.T, err error, code string) {
	t.Helper()
	if got := belfry.ErrorCode(err); got != code {
		t.Fatalf("error code = %q (%v), want %q", got, err, code)
	}
}

// gauge reads a gauge without labels from reg.
func gauge(t *testing.T, reg *prometheus.Registry, name string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() == name && len(mf.GetMetric()) == 1 {
			return mf.GetMetric()[0].GetGauge().GetValue()
		}
	}
	t.Fatalf("no gauge %s", name)
	return 0
}
