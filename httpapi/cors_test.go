package httpapi_test

import (
	"bufio"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/belfry/belfry"
	"github.com/belfry/belfry/httpapi"
	"github.com/belfry/belfry/web"
)

const appOrigin = "https://app.example.com"

func TestCORSAllowedOrigin(t *testing.T) {
	e := newEnv(t, envOpts{allowOrigins: []string{appOrigin}})
	tok := e.token("cors")

	pre := e.do("OPTIONS", "/notifications/1/read", withHeader("Origin", appOrigin),
		withHeader("Access-Control-Request-Method", "POST"),
		withHeader("Access-Control-Request-Headers", "authorization"))
	if pre.status != http.StatusNoContent || pre.header.Get("Access-Control-Allow-Origin") != appOrigin ||
		pre.header.Get("Access-Control-Allow-Credentials") != "true" ||
		!strings.Contains(pre.header.Get("Access-Control-Allow-Headers"), "Authorization") {
		t.Fatalf("preflight: %d %v", pre.status, pre.header)
	}

	// The bell's preferences panel saves with PUT and a JSON body.
	pre = e.do("OPTIONS", "/notifications/preferences", withHeader("Origin", appOrigin),
		withHeader("Access-Control-Request-Method", "PUT"),
		withHeader("Access-Control-Request-Headers", "authorization, content-type"))
	if pre.status != http.StatusNoContent || !strings.Contains(pre.header.Get("Access-Control-Allow-Methods"), "PUT") ||
		!strings.Contains(pre.header.Get("Access-Control-Allow-Headers"), "Content-Type") {
		t.Fatalf("preflight of a PUT: %d %v", pre.status, pre.header)
	}

	e.publish("cors", "hi")
	r := e.do("GET", "/notifications?limit=1", withBearer(tok), withHeader("Origin", appOrigin))
	if r.status != http.StatusOK || r.header.Get("Access-Control-Allow-Origin") != appOrigin ||
		!strings.Contains(r.header.Get("Vary"), "Origin") || r.header.Get("Access-Control-Expose-Headers") != "Link, Retry-After" {
		t.Fatalf("GET from the allowed origin: %d %v", r.status, r.header)
	}

	// The belfry_token cookie from the allowed origin may change state.
	r = e.do("POST", "/notifications/1/read", withHeader("Origin", appOrigin),
		withHeader("Sec-Fetch-Site", "cross-site"),
		func(req *http.Request) { req.AddCookie(&http.Cookie{Name: httpapi.TokenCookie, Value: tok}) })
	if r.status != http.StatusOK {
		t.Fatalf("cookie POST from the allowed origin: %d %s", r.status, r.body)
	}
}

func TestCORSOtherOrigin(t *testing.T) {
	e := newEnv(t, envOpts{allowOrigins: []string{appOrigin}})
	tok := e.token("cors")
	e.publish("cors", "hi")
	evil := "https://evil.example"
	r := e.do("GET", "/notifications", withBearer(tok), withHeader("Origin", evil))
	if r.header.Get("Access-Control-Allow-Origin") != "" {
		t.Fatalf("CORS headers for another origin: %v", r.header)
	}
	pre := e.do("OPTIONS", "/notifications", withHeader("Origin", evil), withHeader("Access-Control-Request-Method", "GET"))
	if pre.status == http.StatusNoContent || pre.header.Get("Access-Control-Allow-Origin") != "" {
		t.Fatalf("preflight from another origin: %d %v", pre.status, pre.header)
	}
	r = e.do("POST", "/notifications/1/read", withHeader("Origin", evil), withHeader("Sec-Fetch-Site", "cross-site"),
		func(req *http.Request) { req.AddCookie(&http.Cookie{Name: httpapi.TokenCookie, Value: tok}) })
	if r.status != http.StatusForbidden || r.errorCode(t) != belfry.EFORBIDDEN {
		t.Fatalf("cookie POST from another origin: %d %s", r.status, r.body)
	}
}

// A lean stream writes its response head itself: the CORS headers must be
// in it, or a bell on the allowed origin cannot read the stream.
func TestCORSOnLeanStream(t *testing.T) {
	e := newEnv(t, envOpts{allowOrigins: []string{appOrigin}})
	u, _ := url.Parse(e.url)
	c, err := net.Dial("tcp", u.Host)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	fmt.Fprintf(c, "GET /notifications/stream?token=%s HTTP/1.1\r\nHost: %s\r\nOrigin: %s\r\n\r\n", e.token("cors"), u.Host, appOrigin)
	c.SetReadDeadline(time.Now().Add(wait))
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != 200 || resp.Header.Get("Access-Control-Allow-Origin") != appOrigin || resp.Header.Get("Content-Type") != "text/event-stream" {
		t.Fatalf("lean stream head: %d %v", resp.StatusCode, resp.Header)
	}
}

func TestCORSBadOrigin(t *testing.T) {
	e := newEnv(t, envOpts{})
	good := httpapi.Config{Inbox: e.inbox, Hub: e.hub, AllowOrigins: []string{appOrigin, "http://localhost:5173"}}
	if _, err := httpapi.New(good); err != nil {
		t.Fatal(err)
	}
	for _, o := range []string{"app.example.com", "https://app.example.com/path", "ftp://x", "*", "https://u@app.example.com"} {
		cfg := good
		cfg.AllowOrigins = []string{o}
		if _, err := httpapi.New(cfg); belfry.ErrorCode(err) != belfry.EINVALID {
			t.Errorf("%q: %v, want %s", o, err, belfry.EINVALID)
		}
	}
}

// The asset files answer every origin the same way: "*" and no
// credentials (browsers refuse "*" with Access-Control-Allow-Credentials),
// no Vary: Origin. The API keeps echoing an allowed origin with
// credentials: never "*" with them.
func TestCORSAssets(t *testing.T) {
	e := newEnv(t, envOpts{allowOrigins: []string{appOrigin}, assets: web.Handler()})
	check := func(what string, r reply, wantOrigin string, credentials bool) {
		t.Helper()
		h := r.header
		if got := h.Get("Access-Control-Allow-Origin"); got != wantOrigin {
			t.Errorf("%s: Access-Control-Allow-Origin %q, want %q", what, got, wantOrigin)
		}
		if got := h.Get("Access-Control-Allow-Credentials"); (got == "true") != credentials {
			t.Errorf("%s: Access-Control-Allow-Credentials %q", what, got)
		}
		if h.Get("Access-Control-Allow-Origin") == "*" && h.Get("Access-Control-Allow-Credentials") != "" {
			t.Errorf("%s: \"*\" with credentials", what)
		}
		if vary := strings.Join(h.Values("Vary"), ","); strings.Contains(vary, "Origin") != credentials {
			t.Errorf("%s: Vary %q", what, vary)
		}
	}
	for _, origin := range []string{appOrigin, "https://evil.example", ""} {
		var opts []reqOpt
		if origin != "" {
			opts = append(opts, withHeader("Origin", origin))
		}
		r := e.do("GET", "/assets/notification-bell.js", opts...)
		if r.status != http.StatusOK {
			t.Fatalf("GET the bell from %q: %d", origin, r.status)
		}
		check("GET the bell from "+origin, r, "*", false)
		etag := r.header.Get("ETag")
		check("revalidation from "+origin, e.do("GET", "/assets/belfry-client.js",
			append(opts, withHeader("If-None-Match", etag))...), "*", false)
		check("HEAD from "+origin, e.do("HEAD", "/assets/vue2/NotificationBell.vue", opts...), "*", false)
		check("a missing asset from "+origin, e.do("GET", "/assets/nope.js", opts...), "*", false)
	}
	// The API and the demo page, from the allowed origin: echoed, with
	// credentials.
	check("the API", e.do("GET", "/notifications/unread-count", withBearer(e.token("cors")),
		withHeader("Origin", appOrigin)), appOrigin, true)
	check("the demo page", e.do("GET", "/", withHeader("Origin", appOrigin)), appOrigin, true)
}
