package httpapi_test

import (
	"encoding/json"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/belfry/belfry"
	"github.com/belfry/belfry/httpapi"
	"github.com/golang-jwt/jwt/v5"
)

// signed returns a JWT with the given claims, method and key, for the
// credentials the server must refuse.
func signed(t *testing.T, m jwt.SigningMethod, key any, claims jwt.MapClaims) string {
	t.Helper()
	s, err := jwt.NewWithClaims(m, claims).SignedString(key)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// TestErrors: every error status and code of the contract, with the JSON
// error shape; bad input changes nothing.
func TestErrors(t *testing.T) {
	e := newEnv(t, envOpts{})
	e.publish("owner", "mine")   // owner's id 1
	e.publish("owner", "mine 2") // owner's id 2
	e.publish("other", "theirs") // other's id 1

	exp := time.Now().Add(time.Hour).Unix()
	expired := signed(t, jwt.SigningMethodHS256, testSecret, jwt.MapClaims{"sub": "owner", "exp": time.Now().Add(-time.Minute).Unix()})
	noExp := signed(t, jwt.SigningMethodHS256, testSecret, jwt.MapClaims{"sub": "owner"})
	wrongKey := signed(t, jwt.SigningMethodHS256, []byte("another secret"), jwt.MapClaims{"sub": "owner", "exp": exp})
	hs512 := signed(t, jwt.SigningMethodHS512, testSecret, jwt.MapClaims{"sub": "owner", "exp": exp})
	none := signed(t, jwt.SigningMethodNone, jwt.UnsafeAllowNoneSignatureType, jwt.MapClaims{"sub": "owner", "exp": exp})
	noSub := signed(t, jwt.SigningMethodHS256, testSecret, jwt.MapClaims{"exp": exp})
	owner := withBearer(e.token("owner"))
	key := withBearer(testAPIKey)
	ok := `{"user_id":"owner","message":"m"}`

	cases := []struct {
		name         string
		method, path string
		opts         []reqOpt
		status       int
		code         string
	}{
		{"malformed JSON", "POST", "/api/notifications", []reqOpt{key, withJSON(`{"user_id":`)}, 400, belfry.EINVALID},
		{"not an object", "POST", "/api/notifications", []reqOpt{key, withJSON(`[1]`)}, 400, belfry.EINVALID},
		{"two values", "POST", "/api/notifications", []reqOpt{key, withJSON(ok + ok)}, 400, belfry.EINVALID},
		{"unknown field", "POST", "/api/notifications", []reqOpt{key, withJSON(`{"user_id":"owner","message":"m","mesage":"x"}`)}, 400, belfry.EINVALID},
		{"wrong type", "POST", "/api/notifications", []reqOpt{key, withJSON(`{"user_id":"owner","message":5}`)}, 400, belfry.EINVALID},
		{"user_id bool", "POST", "/api/notifications", []reqOpt{key, withJSON(`{"user_id":true,"message":"m"}`)}, 400, belfry.EINVALID},
		{"user_id float", "POST", "/api/notifications", []reqOpt{key, withJSON(`{"user_id":1.5,"message":"m"}`)}, 400, belfry.EINVALID},
		{"both user fields", "POST", "/api/notifications", []reqOpt{key, withJSON(`{"user_id":"owner","user_ids":["a"],"message":"m"}`)}, 400, belfry.EINVALID},
		{"no user", "POST", "/api/notifications", []reqOpt{key, withJSON(`{"message":"m"}`)}, 400, belfry.EINVALID},
		{"empty user_ids", "POST", "/api/notifications", []reqOpt{key, withJSON(`{"user_ids":[],"message":"m"}`)}, 400, belfry.EINVALID},
		{"no message", "POST", "/api/notifications", []reqOpt{key, withJSON(`{"user_id":"owner"}`)}, 400, belfry.EINVALID},
		{"bad link", "POST", "/api/notifications", []reqOpt{key, withJSON(`{"user_id":"owner","message":"m","link":"javascript:alert(1)"}`)}, 400, belfry.EINVALID},
		{"data not object", "POST", "/api/notifications", []reqOpt{key, withJSON(`{"user_id":"owner","message":"m","data":[1]}`)}, 400, belfry.EINVALID},
		{"limit 0", "GET", "/notifications?limit=0", []reqOpt{owner}, 400, belfry.EINVALID},
		{"limit 101", "GET", "/notifications?limit=101", []reqOpt{owner}, 400, belfry.EINVALID},
		{"limit text", "GET", "/notifications?limit=ten", []reqOpt{owner}, 400, belfry.EINVALID},
		{"before negative", "GET", "/notifications?before=-1", []reqOpt{owner}, 400, belfry.EINVALID},
		{"unread maybe", "GET", "/notifications?unread=maybe", []reqOpt{owner}, 400, belfry.EINVALID},
		{"Last-Event-ID text", "GET", "/notifications/stream", []reqOpt{owner, withHeader("Last-Event-ID", "abc")}, 400, belfry.EINVALID},
		{"Last-Event-ID negative", "GET", "/notifications/stream", []reqOpt{owner, withHeader("Last-Event-ID", "-1")}, 400, belfry.EINVALID},
		{"last_event_id query", "GET", "/notifications/stream?last_event_id=1.5", []reqOpt{owner}, 400, belfry.EINVALID},

		{"no credential", "GET", "/notifications", nil, 401, belfry.EUNAUTHORIZED},
		{"no credential stream", "GET", "/notifications/stream", nil, 401, belfry.EUNAUTHORIZED},
		{"garbage token", "GET", "/notifications", []reqOpt{withBearer("garbage")}, 401, belfry.EUNAUTHORIZED},
		{"expired token", "GET", "/notifications/unread-count", []reqOpt{withBearer(expired)}, 401, belfry.EUNAUTHORIZED},
		{"token without exp", "GET", "/notifications/unread-count", []reqOpt{withBearer(noExp)}, 401, belfry.EUNAUTHORIZED},
		{"token of another secret", "GET", "/notifications/unread-count", []reqOpt{withBearer(wrongKey)}, 401, belfry.EUNAUTHORIZED},
		{"HS512 token", "GET", "/notifications/unread-count", []reqOpt{withBearer(hs512)}, 401, belfry.EUNAUTHORIZED},
		{"alg none token", "GET", "/notifications/unread-count", []reqOpt{withBearer(none)}, 401, belfry.EUNAUTHORIZED},
		{"token without sub", "GET", "/notifications/unread-count", []reqOpt{withBearer(noSub)}, 401, belfry.EUNAUTHORIZED},
		{"bad cookie", "GET", "/notifications", []reqOpt{withHeader("Cookie", "belfry_token="+expired)}, 401, belfry.EUNAUTHORIZED},
		{"bad query token", "GET", "/notifications/stream?token=" + wrongKey, nil, 401, belfry.EUNAUTHORIZED},
		{"publish without key", "POST", "/api/notifications", []reqOpt{withJSON(ok)}, 401, belfry.EUNAUTHORIZED},
		{"publish wrong key", "POST", "/api/notifications", []reqOpt{withBearer("nope"), withJSON(ok)}, 401, belfry.EUNAUTHORIZED},
		{"publish wrong X-API-Key", "POST", "/api/notifications", []reqOpt{withHeader("X-API-Key", "nope"), withJSON(ok)}, 401, belfry.EUNAUTHORIZED},

		{"user token publishes", "POST", "/api/notifications", []reqOpt{owner, withJSON(ok)}, 403, belfry.EFORBIDDEN},
		{"user cookie publishes", "POST", "/api/notifications", []reqOpt{withHeader("Cookie", "belfry_token="+e.token("owner")), withJSON(ok)}, 403, belfry.EFORBIDDEN},
		{"API key lists", "GET", "/notifications", []reqOpt{key}, 403, belfry.EFORBIDDEN},
		{"X-API-Key streams", "GET", "/notifications/stream", []reqOpt{withHeader("X-API-Key", testAPIKey)}, 403, belfry.EFORBIDDEN},
		{"cross-origin cookie write", "POST", "/notifications/read-all", []reqOpt{
			withHeader("Cookie", "belfry_token="+e.token("owner")), withHeader("Sec-Fetch-Site", "cross-site")}, 403, belfry.EFORBIDDEN},

		{"unknown path", "GET", "/nope", nil, 404, belfry.ENOTFOUND},
		{"unknown api path", "GET", "/api/notifications/1", nil, 404, belfry.ENOTFOUND},
		{"another user's id read", "POST", "/notifications/3/read", []reqOpt{withBearer(e.token("other"))}, 404, belfry.ENOTFOUND},
		{"non-numeric id", "POST", "/notifications/abc/read", []reqOpt{owner}, 404, belfry.ENOTFOUND},
		{"zero id", "DELETE", "/notifications/0", []reqOpt{owner}, 404, belfry.ENOTFOUND},
		{"missing id", "DELETE", "/notifications/99", []reqOpt{owner}, 404, belfry.ENOTFOUND},

		{"GET publish", "GET", "/api/notifications", nil, 405, belfry.EMETHOD},
		{"PUT list", "PUT", "/notifications", []reqOpt{owner}, 405, belfry.EMETHOD},
		{"GET read", "GET", "/notifications/1/read", []reqOpt{owner}, 405, belfry.EMETHOD},
		{"POST healthz", "POST", "/healthz", nil, 405, belfry.EMETHOD},

		{"body too large", "POST", "/api/notifications", []reqOpt{key, withJSON(`{"user_id":"owner","message":"` +
			strings.Repeat("a", belfry.MaxBodyBytes) + `"}`)}, 413, belfry.ETOOLARGE},
		{"body too large, no length", "POST", "/api/notifications", []reqOpt{key, withJSON(`{"user_id":"owner","message":"` +
			strings.Repeat("a", belfry.MaxBodyBytes) + `"}`), func(r *http.Request) { r.ContentLength = -1 }}, 413, belfry.ETOOLARGE},

		{"no content type", "POST", "/api/notifications", []reqOpt{key, withJSON(ok), withHeader("Content-Type", "")}, 415, belfry.EMEDIATYPE},
		{"text/plain", "POST", "/api/notifications", []reqOpt{key, withJSON(ok), withHeader("Content-Type", "text/plain")}, 415, belfry.EMEDIATYPE},
		{"form", "POST", "/api/notifications", []reqOpt{key, withJSON(ok), withHeader("Content-Type", "application/x-www-form-urlencoded")}, 415, belfry.EMEDIATYPE},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := e.do(c.method, c.path, c.opts...)
			if r.status != c.status {
				t.Fatalf("status %d, want %d: %s", r.status, c.status, r.body)
			}
			if code := r.errorCode(t); code != c.code {
				t.Fatalf("code %q, want %q", code, c.code)
			}
			switch r.status {
			case 401:
				if r.header.Get("WWW-Authenticate") == "" {
					t.Error("401 without WWW-Authenticate")
				}
			case 405:
				if r.header.Get("Allow") == "" {
					t.Error("405 without Allow")
				}
			}
		})
	}
	// Nothing of the above changed anything.
	for user, want := range map[string]string{"owner": "2", "other": "1"} {
		r := e.user(user, "GET", "/notifications/unread-count")
		if strings.TrimSpace(string(r.body)) != `{"unread":`+want+`}` {
			t.Errorf("%s: unread-count %s after the bad requests", user, r.body)
		}
		var ns []belfry.Notification
		if err := json.Unmarshal(e.user(user, "GET", "/notifications").body, &ns); err != nil || strconv.Itoa(len(ns)) != want {
			t.Errorf("%s: %d notifications after the bad requests (%v)", user, len(ns), err)
		}
	}
	if r := e.do("GET", "/api/notifications"); !strings.Contains(r.header.Get("Allow"), "POST") {
		t.Errorf("Allow = %q", r.header.Get("Allow"))
	}
}

// TestStatusOf pins the one mapping of codes to statuses.
func TestStatusOf(t *testing.T) {
	for code, status := range map[string]int{
		belfry.EINVALID: 400, belfry.EUNAUTHORIZED: 401, belfry.EFORBIDDEN: 403,
		belfry.ENOTFOUND: 404, belfry.EMETHOD: 405, belfry.ECONFLICT: 409,
		belfry.ETOOLARGE: 413, belfry.EMEDIATYPE: 415, belfry.ERATELIMIT: 429,
		belfry.EINTERNAL: 500, belfry.EUNAVAILABLE: 503, "no such code": 500,
		belfry.ETOOMANYSTREAMS: 429, belfry.ESERVERFULL: 503,
	} {
		if got := httpapi.StatusOf(code); got != status {
			t.Errorf("StatusOf(%q) = %d, want %d", code, got, status)
		}
	}
}

// TestUnavailable: a store that cannot be reached (a real SQLite store,
// closed) answers 503 everywhere it is needed, and /readyz says which part.
func TestUnavailable(t *testing.T) {
	e := newEnv(t, envOpts{})
	tok := e.token("u")
	if r := e.do("GET", "/readyz"); r.status != 200 || !strings.Contains(string(r.body), `"status":"ready"`) {
		t.Fatalf("readyz: %d %s", r.status, r.body)
	}
	if err := e.store.Close(); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		method, path string
		opts         []reqOpt
	}{
		{"POST", "/api/notifications", []reqOpt{withBearer(testAPIKey), withJSON(`{"user_id":"u","message":"m"}`)}},
		{"GET", "/notifications", []reqOpt{withBearer(tok)}},
		{"GET", "/notifications/unread-count", []reqOpt{withBearer(tok)}},
		{"GET", "/notifications/stream", []reqOpt{withBearer(tok)}},
		{"POST", "/notifications/1/read", []reqOpt{withBearer(tok)}},
		{"POST", "/notifications/read-all", []reqOpt{withBearer(tok)}},
		{"DELETE", "/notifications/1", []reqOpt{withBearer(tok)}},
		{"GET", "/readyz", nil},
	} {
		r := e.do(c.method, c.path, c.opts...)
		if r.status != 503 || r.errorCode(t) != belfry.EUNAVAILABLE {
			t.Errorf("%s %s: %d %s", c.method, c.path, r.status, r.body)
		}
		if c.path == "/readyz" {
			var rd struct{ Store, Broker string }
			if err := json.Unmarshal(r.body, &rd); err != nil || rd.Store == "ok" || rd.Broker != "ok" {
				t.Errorf("readyz body %s", r.body)
			}
		}
	}
	if r := e.do("GET", "/healthz"); r.status != 200 {
		t.Errorf("healthz with the store down: %d", r.status)
	}
}

// TestIsolation: user A never sees, counts or changes B's notifications.
func TestIsolation(t *testing.T) {
	e := newEnv(t, envOpts{})
	sa := e.openStream(t, "", withBearer(e.token("A")))
	sa.sync(t)
	for range 5 {
		e.publish("B", "for B only")
	}
	e.publish("A", "for A") // A's id 1
	e.publish("A", "for A") // A's id 2
	sa.expectIDs(t, "A", 1, 2)

	// B's ids 3..5 do not exist for A.
	for _, c := range []struct{ method, path string }{
		{"POST", "/notifications/4/read"}, {"POST", "/notifications/4/unread"},
		{"DELETE", "/notifications/5"}, {"DELETE", "/notifications/3"},
	} {
		r := e.user("A", c.method, c.path)
		if r.status != 404 || r.errorCode(t) != belfry.ENOTFOUND {
			t.Errorf("A %s %s: %d %s", c.method, c.path, r.status, r.body)
		}
	}
	var ns []belfry.Notification
	if err := json.Unmarshal(e.user("A", "GET", "/notifications?limit=100").body, &ns); err != nil || len(ns) != 2 {
		t.Fatalf("A lists %d (%v)", len(ns), err)
	}
	for _, n := range ns {
		if n.UserID != "A" {
			t.Fatalf("A sees %+v", n)
		}
	}
	if r := e.user("A", "GET", "/notifications/unread-count"); strings.TrimSpace(string(r.body)) != `{"unread":2}` {
		t.Fatalf("A counts %s", r.body)
	}
	// A's read-all and reads touch only A's.
	if r := e.user("A", "POST", "/notifications/read-all"); strings.TrimSpace(string(r.body)) != `{"updated":2,"unread_count":0,"unseen_count":0,"last_id":2,"by_category":{}}` {
		t.Fatalf("A read-all %s", r.body)
	}
	if r := e.user("A", "POST", "/notifications/1/read"); r.status != 200 {
		t.Fatalf("A reads its own 1: %d", r.status)
	}
	if r := e.user("B", "GET", "/notifications/unread-count"); strings.TrimSpace(string(r.body)) != `{"unread":5}` {
		t.Fatalf("B counts %s after A's changes", r.body)
	}
	if err := json.Unmarshal(e.user("B", "GET", "/notifications").body, &ns); err != nil || len(ns) != 5 {
		t.Fatalf("B lists %d after A's changes", len(ns))
	}
	// B's changes never reach A's stream: the next thing A sees is A's own.
	sa.state(t, "read-state") // A's read-all
	sa.state(t, "read-state") // A's read of 1
	e.user("B", "POST", "/notifications/read-all")
	e.user("B", "DELETE", "/notifications/1")
	e.publish("B", "more for B")
	e.publish("A", "for A again")
	sa.expectIDs(t, "A", 3, 3)
}

// TestPagingWalksAllPages follows Link rel="next" until it ends.
func TestPagingWalksAllPages(t *testing.T) {
	e := newEnv(t, envOpts{})
	if r := e.user("empty", "GET", "/notifications"); strings.TrimSpace(string(r.body)) != "[]" || r.header.Get("Link") != "" {
		t.Fatalf("empty inbox: %s, Link %q", r.body, r.header.Get("Link"))
	}
	e.publishMany("pager", 21)
	e.user("pager", "POST", "/notifications/5/read")
	e.user("pager", "POST", "/notifications/6/read")

	linkRE := regexp.MustCompile(`^<(/notifications\?[^>]+)>; rel="next"$`)
	walk := func(path string) (ids []int64, sizes []int) {
		t.Helper()
		for path != "" {
			r := e.user("pager", "GET", path)
			if r.status != 200 {
				t.Fatalf("%s: %d %s", path, r.status, r.body)
			}
			var page []belfry.Notification
			if err := json.Unmarshal(r.body, &page); err != nil {
				t.Fatal(err)
			}
			sizes = append(sizes, len(page))
			for _, n := range page {
				ids = append(ids, n.ID)
			}
			path = ""
			if l := r.header.Get("Link"); l != "" {
				m := linkRE.FindStringSubmatch(l)
				if m == nil {
					t.Fatalf("Link %q", l)
				}
				path = m[1]
			}
			if len(sizes) > 30 {
				t.Fatal("paging does not end")
			}
		}
		return ids, sizes
	}
	ids, sizes := walk("/notifications?limit=7")
	if len(ids) != 21 || len(sizes) != 3 {
		t.Fatalf("limit 7: pages %v", sizes)
	}
	for i, id := range ids {
		if id != int64(21-i) {
			t.Fatalf("limit 7: ids %v", ids)
		}
	}
	ids, sizes = walk("/notifications")
	if len(ids) != 21 || sizes[0] != 10 || len(sizes) != 3 {
		t.Fatalf("default: pages %v", sizes)
	}
	ids, sizes = walk("/notifications?unread=true&limit=10")
	if len(ids) != 19 || len(sizes) != 2 {
		t.Fatalf("unread: pages %v ids %v", sizes, ids)
	}
	for _, id := range ids {
		if id == 5 || id == 6 {
			t.Fatalf("unread page has read %d", id)
		}
	}
	if ids, _ := walk("/notifications?before=4&limit=100"); len(ids) != 3 || ids[0] != 3 {
		t.Fatalf("before=4: %v", ids)
	}
}

// TestPublishToMany: user_ids answers an array in the order given,
// duplicates dropped, and every user's stream gets its own.
func TestPublishToMany(t *testing.T) {
	e := newEnv(t, envOpts{})
	s7 := e.openStream(t, "", withBearer(e.token("7")))
	s7.sync(t)
	r := e.do("POST", "/api/notifications", withHeader("X-API-Key", testAPIKey),
		withJSON(`{"user_ids":["x", 7, "x", "y"],"message":"all"}`))
	var ns []belfry.Notification
	if r.status != 201 || json.Unmarshal(r.body, &ns) != nil || len(ns) != 3 ||
		ns[0].UserID != "x" || ns[1].UserID != "7" || ns[2].UserID != "y" {
		t.Fatalf("publish to many: %d %s", r.status, r.body)
	}
	s7.expectIDs(t, "7", 1, 1)
}

// TestUserAuth: Config.UserAuth resolves users that present no JWT.
func TestUserAuth(t *testing.T) {
	e := newEnv(t, envOpts{userAuth: sessionAuth{}})
	e.publish("app-9", "hi")
	r := e.do("GET", "/notifications/unread-count", withHeader("X-Session", "app-9"))
	if strings.TrimSpace(string(r.body)) != `{"unread":1}` {
		t.Fatalf("UserAuth user: %d %s", r.status, r.body)
	}
	if r := e.do("GET", "/notifications", withHeader("X-Session", "down")); r.status != 503 || r.errorCode(t) != belfry.EUNAVAILABLE {
		t.Fatalf("UserAuth unavailable: %d %s", r.status, r.body)
	}
	if r := e.do("GET", "/notifications"); r.status != 401 || r.errorCode(t) != belfry.EUNAUTHORIZED {
		t.Fatalf("UserAuth refuses: %d %s", r.status, r.body)
	}
	// A JWT still wins over UserAuth.
	if r := e.user("app-9", "GET", "/notifications/unread-count", withHeader("X-Session", "down")); r.status != 200 {
		t.Fatalf("JWT with UserAuth: %d %s", r.status, r.body)
	}
}

// sessionAuth is an app's session check: X-Session names the user.
type sessionAuth struct{}

func (sessionAuth) User(r *http.Request) (string, time.Time, error) {
	switch s := r.Header.Get("X-Session"); s {
	case "":
		return "", time.Time{}, belfry.Errorf(belfry.EUNAUTHORIZED, "no session")
	case "down":
		return "", time.Time{}, belfry.Errorf(belfry.EUNAVAILABLE, "the app is unavailable")
	default:
		return s, time.Time{}, nil
	}
}

// TestCookieAuth: the belfry_token cookie authenticates, and a same-origin
// state change with it passes the CSRF check.
func TestCookieAuth(t *testing.T) {
	e := newEnv(t, envOpts{})
	e.publish("c", "x")
	cookie := withHeader("Cookie", "belfry_token="+e.token("c"))
	if r := e.do("POST", "/notifications/1/read", cookie, withHeader("Sec-Fetch-Site", "same-origin")); r.status != 200 {
		t.Fatalf("same-origin cookie write: %d %s", r.status, r.body)
	}
	if r := e.do("GET", "/notifications", cookie, withHeader("Sec-Fetch-Site", "cross-site")); r.status != 200 {
		t.Fatalf("cross-site cookie read: %d %s", r.status, r.body)
	}
}

func TestHealthAndMetrics(t *testing.T) {
	e := newEnv(t, envOpts{})
	if r := e.do("GET", "/healthz"); r.status != 200 || strings.TrimSpace(string(r.body)) != `{"status":"ok"}` {
		t.Fatalf("healthz: %d %s", r.status, r.body)
	}
	s := e.openStream(t, "", withBearer(e.token("m")))
	s.sync(t)
	e.publish("m", "counted")
	s.expectIDs(t, "m", 1, 1)
	r := e.do("GET", "/metrics")
	if r.status != 200 {
		t.Fatalf("metrics: %d", r.status)
	}
	for _, want := range []string{
		"belfry_streams_open 1",
		"belfry_streams_lean 1",
		"belfry_stream_users 1",
		"belfry_stream_setups_waiting 0",
		"belfry_slow_disconnects_total 0",
		"belfry_events_delivered_total 1",
		"belfry_lean_writes_blocked_total 0",
		"belfry_notifications_published_total 1",
		`belfry_http_requests_total{code="201",route="POST /api/notifications"} 1`,
		`belfry_http_requests_total{code="200",route="GET /healthz"} 1`,
	} {
		if !strings.Contains(string(r.body), want+"\n") {
			t.Errorf("metrics lack %q", want)
		}
	}
}

// TestTokensRedactedFromLogs: a ?token= never reaches the log.
func TestTokensRedactedFromLogs(t *testing.T) {
	e := newEnv(t, envOpts{})
	tok := e.token("logged")
	e.do("GET", "/notifications?limit=5&token="+tok)
	e.do("GET", "/notifications?Token="+tok+"&x=1")
	s := e.openStream(t, "/notifications/stream?token="+tok)
	s.sync(t)
	s.close()
	eventually(t, "the stream's log line", func() bool {
		return strings.Contains(e.logs.String(), "/notifications/stream?token=REDACTED")
	})
	logs := e.logs.String()
	if strings.Contains(logs, tok) || strings.Contains(logs, strings.Split(tok, ".")[2]) {
		t.Fatalf("the token is in the log:\n%s", logs)
	}
	for _, want := range []string{"/notifications?limit=5&token=REDACTED", "/notifications?Token=REDACTED&x=1"} {
		if !strings.Contains(logs, want) {
			t.Errorf("log lacks %q:\n%s", want, logs)
		}
	}
}

func TestDemoEndpoints(t *testing.T) {
	e := newEnv(t, envOpts{})
	r := e.do("POST", "/demo/token", withJSON(`{"user_id": 5}`))
	var out map[string]string
	if r.status != 200 || json.Unmarshal(r.body, &out) != nil || out["user_id"] != "5" || out["token"] == "" {
		t.Fatalf("demo token: %d %s", r.status, r.body)
	}
	if r := e.do("GET", "/demo/token?user=alice"); r.status != 200 || !strings.Contains(string(r.body), `"user_id":"alice"`) {
		t.Fatalf("GET demo token: %d %s", r.status, r.body)
	}
	r = e.do("POST", "/demo/notifications", withBearer(out["token"]), withJSON(`{"message":"to me"}`))
	var n belfry.Notification
	if r.status != 201 || json.Unmarshal(r.body, &n) != nil || n.UserID != "5" {
		t.Fatalf("demo publish: %d %s", r.status, r.body)
	}
}

func TestMintToken(t *testing.T) {
	for _, c := range []struct {
		secret []byte
		user   string
		ttl    time.Duration
	}{{nil, "u", time.Hour}, {testSecret, "", time.Hour}, {testSecret, "u", 0}, {testSecret, "bad\nuser", time.Hour}} {
		if _, err := httpapi.MintToken(c.secret, c.user, c.ttl); belfry.ErrorCode(err) != belfry.EINVALID {
			t.Errorf("MintToken(%q, %q, %v) = %v, want invalid", c.secret, c.user, c.ttl, err)
		}
	}
	tok, err := httpapi.MintToken(testSecret, "u", 100*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	var claims jwt.RegisteredClaims
	if _, err := jwt.ParseWithClaims(tok, &claims, func(*jwt.Token) (any, error) { return testSecret, nil }); err != nil {
		t.Fatal(err) // rounded up to the second: not expired yet
	}
	if claims.Subject != "u" || claims.ExpiresAt == nil {
		t.Fatalf("claims %+v", claims)
	}
}

// TestPanicIs500: a handler that panics (here the assets handler) answers
// 500 with the error shape, and the server keeps serving.
func TestPanicIs500(t *testing.T) {
	e := newEnv(t, envOpts{assets: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/assets/boom" {
			panic("boom")
		}
		w.Write([]byte("asset"))
	})})
	r := e.do("GET", "/assets/boom")
	if r.status != 500 || r.errorCode(t) != belfry.EINTERNAL || strings.Contains(string(r.body), "boom") {
		t.Fatalf("panic: %d %s", r.status, r.body)
	}
	if r := e.do("GET", "/assets/x.js"); r.status != 200 || string(r.body) != "asset" {
		t.Fatalf("after the panic: %d %s", r.status, r.body)
	}
	if r := e.do("GET", "/"); r.status != 200 {
		t.Fatalf("demo page: %d", r.status)
	}
	// What a browser asks on its own, and the demo's sample link, reach
	// the assets rather than the JSON 404.
	for _, p := range []string{"/favicon.ico", "/inbox"} {
		if r := e.do("GET", p); r.status != 200 || string(r.body) != "asset" {
			t.Fatalf("GET %s: %d %s", p, r.status, r.body)
		}
	}
	if !strings.Contains(e.logs.String(), "panic: boom") {
		t.Error("the panic is not in the log")
	}
}
