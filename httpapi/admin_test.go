package httpapi_test

import (
	"context"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/belfry/belfry"
	"github.com/belfry/belfry/httpapi"
)

const testAdminKey = "admin-key-0123456789abcdef"

func newAdminEnv(t *testing.T, o envOpts) *env {
	t.Helper()
	o.admin = &httpapi.AdminConfig{Key: testAdminKey, NodeID: "node-a", Store: "sqlite", Broker: "memory"}
	return newEnv(t, o)
}

// noRedirect sends one request and returns the answer as it is (a 303
// is not followed).
func (e *env) noRedirect(req *http.Request) (*http.Response, string) {
	e.t.Helper()
	c := *e.client
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	resp, err := c.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

func (e *env) adminLogin(key string, opts ...reqOpt) (*http.Response, string) {
	e.t.Helper()
	form := url.Values{"key": {key}}.Encode()
	req, _ := http.NewRequest("POST", e.url+"/admin/login", strings.NewReader(form))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	for _, o := range opts {
		o(req)
	}
	return e.noRedirect(req)
}

func TestAdminOffWithoutKey(t *testing.T) {
	e := newEnv(t, envOpts{})
	for _, opt := range []reqOpt{withHeader("X-None", "1"), withBearer(testAdminKey)} {
		if r := e.do("GET", "/admin", opt); r.status != http.StatusNotFound || r.errorCode(t) != belfry.ENOTFOUND {
			t.Errorf("GET /admin without an admin key configured: %d %s", r.status, r.body)
		}
	}
	if r := e.do("POST", "/admin/login"); r.status != http.StatusNotFound {
		t.Errorf("POST /admin/login: %d", r.status)
	}
}

func TestAdminKeyTooShort(t *testing.T) {
	e := newEnv(t, envOpts{})
	_, err := httpapi.New(httpapi.Config{Inbox: e.inbox, Hub: e.hub,
		Admin: &httpapi.AdminConfig{Key: "short"}})
	if belfry.ErrorCode(err) != belfry.EINVALID {
		t.Fatalf("New with a 5-byte admin key: %v, want EINVALID", err)
	}
}

func TestAdminBearer(t *testing.T) {
	e := newAdminEnv(t, envOpts{})
	r := e.do("GET", "/admin")
	if r.status != http.StatusUnauthorized || !strings.Contains(string(r.body), `action="/admin/login"`) {
		t.Errorf("no credential: %d, want 401 and the sign-in form: %s", r.status, r.body)
	}
	r = e.do("GET", "/admin", withBearer("wrong-admin-key-0123456789"))
	if r.status != http.StatusUnauthorized || !strings.Contains(string(r.body), "wrong admin key") {
		t.Errorf("wrong key: %d %s", r.status, r.body)
	}
	// Neither an API key nor a user token opens the page.
	for _, tok := range []string{testAPIKey, e.token("alice")} {
		if r := e.do("GET", "/admin", withBearer(tok)); r.status != http.StatusUnauthorized {
			t.Errorf("another credential: %d", r.status)
		}
	}
	r = e.do("GET", "/admin", withBearer(testAdminKey))
	if r.status != http.StatusOK || !strings.Contains(string(r.body), "node-a") {
		t.Fatalf("right key: %d %s", r.status, r.body)
	}
	h := r.header
	if h.Get("Cache-Control") != "no-store" || h.Get("X-Frame-Options") != "DENY" ||
		h.Get("Content-Type") != "text/html; charset=utf-8" {
		t.Errorf("headers: %v", h)
	}
	csp := h.Get("Content-Security-Policy")
	for _, want := range []string{"default-src 'none'", "style-src 'sha256-", "form-action 'self'", "frame-ancestors 'none'"} {
		if !strings.Contains(csp, want) {
			t.Errorf("Content-Security-Policy %q lacks %q", csp, want)
		}
	}
	if strings.Contains(string(r.body), "<script") {
		t.Error("the page has a script")
	}
}

func TestAdminFailuresCharged(t *testing.T) {
	e := newAdminEnv(t, envOpts{authFailRate: 0.001, authFailBurst: 2})
	for range 2 {
		if r := e.do("GET", "/admin", withBearer("guess-guess-guess-guess")); r.status != http.StatusUnauthorized {
			t.Fatalf("guess: %d", r.status)
		}
	}
	r := e.do("GET", "/admin", withBearer("guess-guess-guess-guess"))
	if r.status != http.StatusTooManyRequests || r.header.Get("Retry-After") == "" {
		t.Fatalf("third guess: %d, want 429 with Retry-After", r.status)
	}
	if resp, _ := e.adminLogin("guess-guess-guess-guess"); resp.StatusCode != http.StatusTooManyRequests {
		t.Errorf("form guess from a blocked address: %d, want 429", resp.StatusCode)
	}
	// The same address still gets in with the key.
	if r := e.do("GET", "/admin", withBearer(testAdminKey)); r.status != http.StatusOK {
		t.Errorf("right key from a blocked address: %d", r.status)
	}
	// A visit without a credential is neither charged nor refused.
	if r := e.do("GET", "/admin"); r.status != http.StatusUnauthorized {
		t.Errorf("no credential from a blocked address: %d, want 401 (the form)", r.status)
	}
}

func TestAdminCookieLogin(t *testing.T) {
	e := newAdminEnv(t, envOpts{})
	resp, body := e.adminLogin("wrong-admin-key-0123456789")
	if resp.StatusCode != http.StatusUnauthorized || !strings.Contains(body, "wrong admin key") ||
		len(resp.Cookies()) != 0 {
		t.Fatalf("wrong key in the form: %d, cookies %v: %s", resp.StatusCode, resp.Cookies(), body)
	}
	resp, _ = e.adminLogin(testAdminKey)
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/admin" {
		t.Fatalf("sign in: %d %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	cs := resp.Cookies()
	if len(cs) != 1 || cs[0].Name != httpapi.AdminCookie {
		t.Fatalf("cookies: %v", cs)
	}
	c := cs[0]
	if !c.HttpOnly || c.SameSite != http.SameSiteStrictMode || c.Secure || c.Path != "/admin" {
		t.Errorf("cookie attributes: %+v (plain HTTP: not Secure)", c)
	}
	if strings.Contains(c.Value, testAdminKey) || strings.Contains(resp.Header.Get("Set-Cookie"), testAdminKey) {
		t.Error("the cookie holds the key")
	}
	withCookie := func(v string) reqOpt {
		return func(r *http.Request) { r.AddCookie(&http.Cookie{Name: httpapi.AdminCookie, Value: v}) }
	}
	if r := e.do("GET", "/admin", withCookie(c.Value)); r.status != http.StatusOK {
		t.Fatalf("with the cookie: %d %s", r.status, r.body)
	}
	// A cookie with another expiry, or another MAC, is refused.
	exp, mac, _ := strings.Cut(c.Value, ".")
	for _, forged := range []string{exp + "1." + mac, exp + "." + strings.Repeat("A", len(mac)), "x"} {
		if r := e.do("GET", "/admin", withCookie(forged)); r.status != http.StatusUnauthorized {
			t.Errorf("forged cookie %q: %d", forged, r.status)
		}
	}
	// Sign out clears it.
	req, _ := http.NewRequest("POST", e.url+"/admin/logout", nil)
	resp, _ = e.noRedirect(req)
	if resp.StatusCode != http.StatusSeeOther || len(resp.Cookies()) != 1 || resp.Cookies()[0].MaxAge >= 0 {
		t.Errorf("sign out: %d %v", resp.StatusCode, resp.Cookies())
	}
}

func TestAdminCookieTLS(t *testing.T) {
	e := newAdminEnv(t, envOpts{tls: true})
	resp, _ := e.adminLogin(testAdminKey)
	if resp.StatusCode != http.StatusSeeOther || len(resp.Cookies()) != 1 || !resp.Cookies()[0].Secure {
		t.Fatalf("sign in over TLS: %d %v, want a Secure cookie", resp.StatusCode, resp.Cookies())
	}
}

func TestAdminCSRF(t *testing.T) {
	e := newAdminEnv(t, envOpts{allowOrigins: []string{"https://app.example"}})
	failWebhooks(t, e, "msg_csrf")
	resp, _ := e.adminLogin(testAdminKey)
	cookie := resp.Cookies()[0]
	cross := []reqOpt{
		withHeader("Sec-Fetch-Site", "cross-site"),
		withHeader("Origin", "https://evil.example"),
		// The bell's origins are trusted with user cookies, not with the
		// operator's session.
		withHeader("Origin", "https://app.example"),
	}
	for i, o := range cross {
		if resp, _ := e.adminLogin(testAdminKey, o); resp.StatusCode != http.StatusForbidden || len(resp.Cookies()) != 0 {
			t.Errorf("cross-origin sign-in %d: %d %v", i, resp.StatusCode, resp.Cookies())
		}
		req, _ := http.NewRequest("POST", e.url+"/admin/jobs/msg_csrf/retry", nil)
		req.AddCookie(cookie)
		o(req)
		if resp, _ := e.noRedirect(req); resp.StatusCode != http.StatusForbidden {
			t.Errorf("cross-origin retry %d: %d", i, resp.StatusCode)
		}
	}
	jobs, err := e.store.FailedJobs(context.Background(), belfry.JobWebhook, "", 10)
	if err != nil || len(jobs) != 1 {
		t.Fatalf("the failed webhook after refused retries: %v %v", jobs, err)
	}
	// The same retry from the page's own origin goes through.
	req, _ := http.NewRequest("POST", e.url+"/admin/jobs/msg_csrf/retry", nil)
	req.AddCookie(cookie)
	req.Header.Set("Origin", e.url)
	req.Header.Set("Sec-Fetch-Site", "same-origin")
	if resp, _ := e.noRedirect(req); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("same-origin retry: %d", resp.StatusCode)
	}
	if jobs, _ := e.store.FailedJobs(context.Background(), belfry.JobWebhook, "", 10); len(jobs) != 0 {
		t.Errorf("still failed after the retry: %v", jobs)
	}
}

func TestAdminRetryBearer(t *testing.T) {
	e := newAdminEnv(t, envOpts{})
	failWebhooks(t, e, "msg_one", "msg_two")
	r := e.do("GET", "/admin", withBearer(testAdminKey))
	for _, want := range []string{"msg_one", "msg_two", "notification.unseen", "the app answered 500", `action="/admin/jobs/msg_one/retry"`} {
		if !strings.Contains(string(r.body), want) {
			t.Errorf("the page lacks %q", want)
		}
	}
	req, _ := http.NewRequest("POST", e.url+"/admin/jobs/msg_one/retry", nil)
	req.Header.Set("Authorization", "Bearer "+testAdminKey)
	resp, _ := e.noRedirect(req)
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/admin?retried=msg_one" {
		t.Fatalf("retry: %d %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	jobs, err := e.store.FailedJobs(context.Background(), belfry.JobWebhook, "", 10)
	if err != nil || len(jobs) != 1 || jobs[0].ID != "msg_two" {
		t.Fatalf("failed after the retry: %v %v", jobs, err)
	}
	req, _ = http.NewRequest("POST", e.url+"/admin/jobs/msg_one/retry", nil)
	req.Header.Set("Authorization", "Bearer "+testAdminKey)
	if resp, _ := e.noRedirect(req); resp.StatusCode != http.StatusNotFound {
		t.Errorf("retrying a job that is not failed: %d", resp.StatusCode)
	}
	req, _ = http.NewRequest("POST", e.url+"/admin/jobs/msg_two/retry", nil)
	if resp, _ := e.noRedirect(req); resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("retry without a credential: %d", resp.StatusCode)
	}
}

func TestAdminUserEscaped(t *testing.T) {
	e := newAdminEnv(t, envOpts{})
	e.publish("mallory", `<script>alert("x")</script>`)
	r := e.do("GET", "/admin?user=mallory", withBearer(testAdminKey))
	body := string(r.body)
	if r.status != http.StatusOK || strings.Contains(body, "<script>alert") ||
		!strings.Contains(body, "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;") {
		t.Fatalf("the message is not escaped: %d %s", r.status, body)
	}
	if r := e.do("GET", "/admin?user="+url.QueryEscape(strings.Repeat("x", 300)), withBearer(testAdminKey)); r.status != http.StatusOK ||
		!strings.Contains(string(r.body), `class="err"`) {
		t.Errorf("a bad user id: %d, want the page with an error", r.status)
	}
}

// adminTraffic drives the operator page's operations through e's client
// (TestOpenAPITraffic: checked against the spec). Redirects are not
// followed, so each answer is the operation's own.
func adminTraffic(t *testing.T, e *env) {
	t.Helper()
	failWebhooks(t, e, "msg_spec")
	send := func(status int, method, path string, body url.Values, opts ...reqOpt) *http.Response {
		t.Helper()
		var r io.Reader
		if body != nil {
			r = strings.NewReader(body.Encode())
		}
		req, _ := http.NewRequest(method, e.url+path, r)
		if body != nil {
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		}
		for _, o := range opts {
			o(req)
		}
		resp, b := e.noRedirect(req)
		if resp.StatusCode != status {
			t.Errorf("%s %s = %d, want %d: %s", method, path, resp.StatusCode, status, b)
		}
		return resp
	}
	admin := withBearer(testAdminKey)
	send(200, "GET", "/admin?user=alice", nil, admin)
	send(401, "GET", "/admin", nil, withValidity(reqInvalid))
	send(401, "GET", "/admin", nil, withBearer("wrong-admin-key-0123456789"))
	send(401, "POST", "/admin/login", url.Values{"key": {"wrong-admin-key-0123456789"}})
	send(403, "POST", "/admin/login", url.Values{"key": {testAdminKey}}, withHeader("Sec-Fetch-Site", "cross-site"))
	send(303, "POST", "/admin/login", url.Values{"key": {testAdminKey}})
	send(303, "POST", "/admin/jobs/msg_spec/retry", nil, admin)
	send(404, "POST", "/admin/jobs/msg_spec/retry", nil, admin)
	send(303, "POST", "/admin/logout", nil)
}
