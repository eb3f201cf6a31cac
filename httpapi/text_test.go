package httpapi_test

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/belfry/belfry"
)

// inbox lists the user's notifications through the API.
func (e *env) inboxOf(t *testing.T, user string) []belfry.Notification {
	t.Helper()
	r := e.user(user, "GET", "/notifications?limit=100")
	var ns []belfry.Notification
	if r.status != http.StatusOK || json.Unmarshal(r.body, &ns) != nil {
		t.Fatalf("list of %q: %d %s", user, r.status, r.body)
	}
	return ns
}

// Invalid UTF-8 and unpaired surrogate escapes are refused, wherever they
// are in the body: encoding/json would turn each into U+FFFD, so "ab\xffcd"
// and "ab\xfecd" would be one user, and a message would be stored other
// than it was sent. Nothing is stored, neither for the user named nor for
// the user the id would have collapsed to.
func TestPublishRefusesBadText(t *testing.T) {
	e := newEnv(t, envOpts{})
	const fffd = "ab\uFFFDcd" // what "ab\xffcd" and "ab\ud800cd" decode to
	for _, c := range []struct{ name, body string }{
		{"invalid byte in message", `{"user_id":"u1","message":"caf` + "\xff" + `"}`},
		{"truncated rune in message", `{"user_id":"u1","message":"` + "\xe2\x82" + `"}`},
		{"encoded surrogate in message", `{"user_id":"u1","message":"` + "\xed\xa0\x80" + `"}`},
		{"overlong encoding in message", `{"user_id":"u1","message":"` + "\xc0\xaf" + `"}`},
		{"invalid byte in user_id", `{"user_id":"ab` + "\xff" + `cd","message":"m"}`},
		{"other invalid byte in user_id", `{"user_id":"ab` + "\xfe" + `cd","message":"m"}`},
		{"invalid byte in user_ids", `{"user_ids":["u1","ab` + "\xff" + `cd"],"message":"m"}`},
		{"invalid byte in title", `{"user_id":"u1","message":"m","title":"` + "\x80" + `"}`},
		{"invalid byte in link", `{"user_id":"u1","message":"m","link":"/a` + "\xff" + `"}`},
		{"invalid byte in category", `{"user_id":"u1","message":"m","category":"` + "\xff" + `"}`},
		{"invalid byte in a data value", `{"user_id":"u1","message":"m","data":{"k":"` + "\xff" + `"}}`},
		{"invalid byte in a data key", `{"user_id":"u1","message":"m","data":{"` + "\xff" + `":1}}`},
		{"invalid byte after the object", `{"user_id":"u1","message":"m"}` + " \xff"},
		{"lone high surrogate", `{"user_id":"u1","message":"\ud800"}`},
		{"lone low surrogate", `{"user_id":"u1","message":"\udc00"}`},
		{"high then high", `{"user_id":"u1","message":"\ud83d\ud83d"}`},
		{"high then a letter", `{"user_id":"u1","message":"\ud83dx"}`},
		{"high then another escape", `{"user_id":"u1","message":"\ud83d\n"}`},
		{"high then a non-surrogate escape", `{"user_id":"u1","message":"\ud83d\u0041"}`},
		{"low then high", `{"user_id":"u1","message":"\ude00\ud83d"}`},
		{"upper-case hex", `{"user_id":"u1","message":"\uDBFF"}`},
		{"lone surrogate after an escaped backslash", `{"user_id":"u1","message":"\\\ud800"}`},
		{"lone surrogate in user_id", `{"user_id":"ab\ud800cd","message":"m"}`},
		{"lone surrogate in user_ids", `{"user_ids":["u1","ab\udfffcd"],"message":"m"}`},
		{"lone surrogate in title", `{"user_id":"u1","message":"m","title":"\udc00"}`},
		{"lone surrogate in link", `{"user_id":"u1","message":"m","link":"/\ud800"}`},
		{"lone surrogate in category", `{"user_id":"u1","message":"m","category":"\ud800"}`},
		{"lone surrogate in data", `{"user_id":"u1","message":"m","data":{"k":["\ud800"]}}`},
		{"lone surrogate in a data key", `{"user_id":"u1","message":"m","data":{"\udc00":1}}`},
	} {
		r := e.do("POST", "/api/notifications", withBearer(testAPIKey), withJSON(c.body))
		if r.status != http.StatusBadRequest {
			t.Errorf("%s: %d %s, want 400", c.name, r.status, r.body)
			continue
		}
		if code := r.errorCode(t); code != belfry.EINVALID {
			t.Errorf("%s: code %s", c.name, code)
		}
	}
	for _, u := range []string{"u1", fffd} {
		if ns := e.inboxOf(t, u); len(ns) != 0 {
			t.Errorf("%q's inbox after refused publishes: %+v", u, ns)
		}
	}
}

// Escapes that are not lone surrogates still work: a surrogate pair, an
// escaped backslash before a "u", and U+FFFD itself, escaped or not.
func TestPublishAcceptsValidEscapes(t *testing.T) {
	e := newEnv(t, envOpts{})
	for _, c := range []struct{ body, want string }{
		{`{"user_id":"u1","message":"\ud83d\ude00"}`, "😀"},
		{`{"user_id":"u1","message":"\uD83D\uDE00!"}`, "😀!"},
		{`{"user_id":"u1","message":"a\\ud800"}`, `a\ud800`},
		{`{"user_id":"u1","message":"a\\\\ud800"}`, `a\\ud800`},
		{`{"user_id":"u1","message":"\ufffd"}`, "\uFFFD"},
		{`{"user_id":"u1","message":"` + "\uFFFD caf\u00e9" + `"}`, "\uFFFD caf\u00e9"},
		{`{"user_id":"u1","message":"\u00e9\"\\\/\b\f\n\r\t"}`, "\u00e9\"\\/\b\f\n\r\t"},
	} {
		r := e.do("POST", "/api/notifications", withBearer(testAPIKey), withJSON(c.body))
		var n belfry.Notification
		if r.status != http.StatusCreated || json.Unmarshal(r.body, &n) != nil || n.Message != c.want {
			t.Errorf("%s: %d %s, want 201 with message %q", c.body, r.status, r.body, c.want)
		}
	}
	if ns := e.inboxOf(t, "u1"); len(ns) != 7 {
		t.Errorf("u1 holds %d notifications, want 7", len(ns))
	}
	// Two user ids that differ only in a character beyond the BMP stay two users.
	for _, u := range []string{`x\ud83d\ude00`, `x\ud83d\ude01`} {
		if r := e.do("POST", "/api/notifications", withBearer(testAPIKey),
			withJSON(`{"user_id":"`+u+`","message":"m"}`)); r.status != http.StatusCreated {
			t.Fatalf("publish to %s: %d %s", u, r.status, r.body)
		}
	}
	if a, b := e.inboxOf(t, "x😀"), e.inboxOf(t, "x😁"); len(a) != 1 || len(b) != 1 {
		t.Errorf("inboxes %v and %v, want one each", a, b)
	}
}

// The demo endpoints read JSON bodies with the same check, and a user id
// given in the query is refused when it is not valid UTF-8.
func TestDemoRefusesBadText(t *testing.T) {
	e := newEnv(t, envOpts{})
	tok := e.token("u1")
	for _, c := range []struct{ name, body string }{
		{"invalid byte", `{"message":"` + "\xff" + `"}`},
		{"lone surrogate", `{"message":"\ud800"}`},
		{"lone surrogate in data", `{"message":"m","data":{"k":"\udfff"}}`},
	} {
		r := e.do("POST", "/demo/notifications", withBearer(tok), withJSON(c.body))
		if r.status != http.StatusBadRequest || r.errorCode(t) != belfry.EINVALID {
			t.Errorf("demo publish, %s: %d %s", c.name, r.status, r.body)
		}
	}
	if ns := e.inboxOf(t, "u1"); len(ns) != 0 {
		t.Errorf("inbox after refused demo publishes: %+v", ns)
	}
	for _, body := range []string{`{"user_id":"ab` + "\xff" + `cd"}`, `{"user_id":"ab\ud800cd"}`} {
		r := e.do("POST", "/demo/token", withJSON(body))
		if r.status != http.StatusBadRequest || r.errorCode(t) != belfry.EINVALID {
			t.Errorf("demo token for %q: %d %s", body, r.status, r.body)
		}
	}
	r := e.do("GET", "/demo/token?user="+url.QueryEscape("ab\xffcd"))
	if r.status != http.StatusBadRequest || r.errorCode(t) != belfry.EINVALID {
		t.Errorf("demo token for ?user=ab%%FFcd: %d %s", r.status, r.body)
	}
	if strings.Contains(string(r.body), "\uFFFD") {
		t.Errorf("the answer holds U+FFFD: %s", r.body)
	}
}
