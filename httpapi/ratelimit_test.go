package httpapi_test

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/belfry/belfry"
	"github.com/golang-jwt/jwt/v5"
)

// clientFrom returns a client whose connections leave from ip (any of
// 127.0.0.0/8 on Linux): a real second address for the server.
func clientFrom(t *testing.T, ip string) *http.Client {
	t.Helper()
	d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(ip)}}
	tr := &http.Transport{DialContext: d.DialContext}
	t.Cleanup(tr.CloseIdleConnections)
	return &http.Client{Transport: tr}
}

// doWith is env.do with another client.
func (e *env) doWith(c *http.Client, method, path string, opts ...reqOpt) reply {
	e.t.Helper()
	saved := e.client
	e.client = c
	defer func() { e.client = saved }()
	return e.do(method, path, opts...)
}

// expectLimited checks a 429 rate_limited answer with a Retry-After of
// whole seconds between 1 and most.
func expectLimited(t *testing.T, r reply, most int, what string) {
	t.Helper()
	if r.status != http.StatusTooManyRequests || r.errorCode(t) != belfry.ERATELIMIT {
		t.Fatalf("%s: %d %s, want 429 rate_limited", what, r.status, r.body)
	}
	secs, err := strconv.Atoi(r.header.Get("Retry-After"))
	if err != nil || secs < 1 || secs > most {
		t.Fatalf("%s: Retry-After %q, want whole seconds in [1, %d]", what, r.header.Get("Retry-After"), most)
	}
}

func expectStatus(t *testing.T, r reply, status int, what string) {
	t.Helper()
	if r.status != status {
		t.Fatalf("%s: %d %s, want %d", what, r.status, r.body, status)
	}
}

// metric returns the value of one sample of /metrics, -1 when absent.
func (e *env) metric(t *testing.T, sample string) float64 {
	t.Helper()
	r := e.do("GET", "/metrics")
	m := regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(sample) + ` (\S+)$`).FindSubmatch(r.body)
	if m == nil {
		return -1
	}
	v, err := strconv.ParseFloat(string(m[1]), 64)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// TestAuthFailLimit: an address that failed its burst of authentications
// gets 429 with Retry-After for further unknown credentials, unchecked;
// another address is unaffected; a valid token or API key from the
// blocked address still works (a user behind the same NAT as a guesser),
// and an expired token of ours gets its 401 without being charged. The
// allowance refills with the clock.
func TestAuthFailLimit(t *testing.T) {
	// One failure back every 20 s: the test's own pace refills nothing.
	const burst, limited = 5, 20
	e := newEnv(t, envOpts{authFailRate: 0.05, authFailBurst: burst})
	guesser, neighbour := clientFrom(t, "127.0.0.2"), clientFrom(t, "127.0.0.3")
	bad := withBearer("not-a-token")
	wrongKey := signed(t, jwt.SigningMethodHS256, []byte("another secret"),
		jwt.MapClaims{"sub": "alice", "exp": time.Now().Add(time.Hour).Unix()})
	expired := signed(t, jwt.SigningMethodHS256, testSecret,
		jwt.MapClaims{"sub": "alice", "exp": time.Now().Add(-time.Minute).Unix()})

	for i := range burst {
		cred := bad
		if i%2 == 1 {
			cred = withBearer(wrongKey)
		}
		expectStatus(t, e.doWith(guesser, "GET", "/notifications", cred), 401, fmt.Sprint("failure ", i+1))
	}
	expectLimited(t, e.doWith(guesser, "GET", "/notifications", bad), limited, "a bad token once empty")
	expectLimited(t, e.doWith(guesser, "GET", "/notifications/stream", withBearer(wrongKey)), limited, "a stream with a foreign token")
	expectLimited(t, e.doWith(guesser, "GET", "/notifications", withHeader("Cookie", "belfry_token=x")), limited, "a bad cookie")
	expectLimited(t, e.doWith(guesser, "POST", "/api/notifications", withHeader("X-API-Key", "guessed-key-0000000000"),
		withJSON(`{"user_id":"alice","message":"m"}`)), limited, "a guessed API key")

	// What belfry recognizes cheaply still goes through.
	expectStatus(t, e.doWith(guesser, "GET", "/notifications", withBearer(e.token("alice"))), 200, "a valid token from the blocked address")
	expectStatus(t, e.doWith(guesser, "POST", "/api/notifications", withBearer(testAPIKey),
		withJSON(`{"user_id":"alice","message":"m"}`)), 201, "the API key from the blocked address")
	expectStatus(t, e.doWith(guesser, "GET", "/notifications", withBearer(expired)), 401, "our expired token")
	expectStatus(t, e.doWith(guesser, "GET", "/notifications"), 401, "no credential")
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "GET", e.url+"/notifications/stream", nil)
	req.Header.Set("Authorization", "Bearer "+e.token("alice"))
	resp, err := guesser.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "text/event-stream" {
		t.Fatalf("a valid stream from the blocked address: %d", resp.StatusCode)
	}
	cancel()
	resp.Body.Close()

	// Another address has its own allowance.
	expectStatus(t, e.doWith(neighbour, "GET", "/notifications", bad), 401, "a bad token from another address")
	expectStatus(t, e.doWith(neighbour, "GET", "/notifications", withBearer(e.token("bob"))), 200, "a valid token from another address")

	// 20 s at 0.05/s give one failure back, and only one.
	e.clockSkew.Add(int64(limited * time.Second))
	expectStatus(t, e.doWith(guesser, "GET", "/notifications", bad), 401, "after the refill")
	expectLimited(t, e.doWith(guesser, "GET", "/notifications", bad), limited, "after the refill's one failure")

	if got := e.metric(t, `belfry_rate_limited_total{limit="auth"}`); got != 5 {
		t.Errorf("belfry_rate_limited_total{limit=auth} = %v, want 5", got)
	}
	// 5 + the neighbour's 1 + 1 after the refill; the expired token is not charged.
	if got := e.metric(t, "belfry_auth_failures_total"); got != burst+2 {
		t.Errorf("belfry_auth_failures_total = %v, want %d", got, burst+2)
	}
}

// TestAuthFailLimitTrustedProxy: behind a trusted proxy the client is
// the rightmost X-Forwarded-For entry that is not a trusted proxy (a
// client cannot escape by prepending addresses), IPv6 clients share a
// bucket per /64; from an untrusted peer the header is ignored.
func TestAuthFailLimitTrustedProxy(t *testing.T) {
	const burst = 3
	e := newEnv(t, envOpts{authFailRate: 0.05, authFailBurst: burst,
		trustedProxies: []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32"), netip.MustParsePrefix("10.0.0.0/8")}})
	bad := withBearer("not-a-token")
	fail := func(xff string, want int, what string) {
		t.Helper()
		r := e.do("GET", "/notifications", bad, withHeader("X-Forwarded-For", xff))
		if want == 429 {
			expectLimited(t, r, 20, what)
		} else {
			expectStatus(t, r, want, what)
		}
	}
	for range burst {
		fail("203.0.113.7", 401, "203.0.113.7 failing")
	}
	fail("203.0.113.7", 429, "203.0.113.7 once empty")
	fail("198.51.100.1, 203.0.113.7", 429, "203.0.113.7 with a forged left entry")
	fail("203.0.113.7, 10.1.2.3", 429, "203.0.113.7 through a second trusted proxy")
	fail("203.0.113.8", 401, "another client of the proxy")
	// X-Real-IP when there is no X-Forwarded-For.
	r := e.do("GET", "/notifications", bad, withHeader("X-Real-IP", "203.0.113.7"))
	expectLimited(t, r, 20, "X-Real-IP 203.0.113.7")

	for i := range burst {
		fail(fmt.Sprintf("2001:db8:1:2::%x", i+1), 401, "an IPv6 /64 failing")
	}
	fail("2001:db8:1:2:ffff:ffff:ffff:ffff", 429, "another address of the same /64")
	fail("2001:db8:1:3::1", 401, "the next /64")

	// An untrusted peer's X-Forwarded-For is ignored: it is 127.0.0.2.
	other := clientFrom(t, "127.0.0.2")
	for i := range burst {
		expectStatus(t, e.doWith(other, "GET", "/notifications", bad,
			withHeader("X-Forwarded-For", fmt.Sprintf("192.0.2.%d", i))), 401, "an untrusted peer failing")
	}
	expectLimited(t, e.doWith(other, "GET", "/notifications", bad,
		withHeader("X-Forwarded-For", "192.0.2.200")), 20, "an untrusted peer with a fresh X-Forwarded-For")
}

// TestAuthFailLimitBounded: addresses that fail are tracked in a table
// of bounded size, however many there are.
func TestAuthFailLimitBounded(t *testing.T) {
	const most = 10
	e := newEnv(t, envOpts{authFailMaxAddrs: most, authFailRate: 0.001,
		trustedProxies: []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")}})
	for i := range 5 * most {
		expectStatus(t, e.do("GET", "/notifications", withBearer("x"),
			withHeader("X-Forwarded-For", fmt.Sprintf("198.51.100.%d", i))), 401, "a failure")
	}
	if got := e.metric(t, "belfry_auth_fail_addresses"); got != most {
		t.Fatalf("belfry_auth_fail_addresses = %v, want %d", got, most)
	}
}

// TestAuthFailLimitOff: a negative rate turns the limit off.
func TestAuthFailLimitOff(t *testing.T) {
	e := newEnv(t, envOpts{authFailRate: -1, authFailBurst: 1})
	for range 5 {
		expectStatus(t, e.do("GET", "/notifications", withBearer("x")), 401, "a failure with the limit off")
	}
}

// TestPublishRateLimit: over its key's rate a publish is answered 429
// with Retry-After and stores nothing; each key has its own allowance,
// refilled with the clock.
func TestPublishRateLimit(t *testing.T) {
	const other = "other-api-key-0123456789"
	e := newEnv(t, envOpts{publishRate: 0.05, publishBurst: 2, extraKeys: []string{other}})
	body := withJSON(`{"user_ids":["alice","bob"],"message":"m"}`)
	for i := range 2 {
		expectStatus(t, e.do("POST", "/api/notifications", withBearer(testAPIKey), body), 201, fmt.Sprint("publish ", i+1))
	}
	expectLimited(t, e.do("POST", "/api/notifications", withBearer(testAPIKey),
		withJSON(`{"user_id":"carol","message":"m"}`)), 20, "the third publish")
	expectLimited(t, e.do("POST", "/api/notifications", withHeader("X-API-Key", testAPIKey),
		withJSON(`{"user_id":"carol","message":"m"}`)), 20, "the same key as X-API-Key")
	if r := e.user("carol", "GET", "/notifications/unread-count"); strings.TrimSpace(string(r.body)) != `{"unread":0}` {
		t.Fatalf("a refused publish stored something: %s", r.body)
	}
	expectStatus(t, e.do("POST", "/api/notifications", withBearer(other),
		withJSON(`{"user_id":"carol","message":"m"}`)), 201, "another key")
	// A bad key is not charged to anyone: it is the endpoint's 401.
	expectStatus(t, e.do("POST", "/api/notifications", withBearer("bad-key-0123456789"), body), 401, "a bad key")

	e.clockSkew.Add(int64(20 * time.Second))
	expectStatus(t, e.do("POST", "/api/notifications", withBearer(testAPIKey),
		withJSON(`{"user_id":"carol","message":"m"}`)), 201, "after 20 s")
	if r := e.user("carol", "GET", "/notifications/unread-count"); strings.TrimSpace(string(r.body)) != `{"unread":2}` {
		t.Fatalf("carol's count: %s", r.body)
	}
	if got := e.metric(t, `belfry_rate_limited_total{limit="publish"}`); got != 2 {
		t.Errorf("belfry_rate_limited_total{limit=publish} = %v, want 2", got)
	}
}
