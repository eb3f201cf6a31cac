package httpapi_test

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/belfry/belfry"
	"github.com/belfry/belfry/httpapi"
)

// checkAnswer fails unless the answer is want or a clean 4xx with the
// contract's error shape and the status of its code.
func checkAnswer(t *testing.T, rec *httptest.ResponseRecorder, want int) {
	t.Helper()
	if rec.Code == want {
		return
	}
	if rec.Code < 400 || rec.Code >= 500 {
		t.Fatalf("status %d: %s", rec.Code, rec.Body)
	}
	var b httpapi.ErrorBody
	if err := json.Unmarshal(rec.Body.Bytes(), &b); err != nil || b.Error.Code == "" || b.Error.Message == "" {
		t.Fatalf("status %d with body %q", rec.Code, rec.Body)
	}
	if httpapi.StatusOf(b.Error.Code) != rec.Code {
		t.Fatalf("code %s with status %d", b.Error.Code, rec.Code)
	}
}

// FuzzPublish: any body gives 201 or a clean 4xx, never a 5xx or a panic;
// a body that is not valid UTF-8 is never accepted, and an accepted one
// has no U+FFFD in its answer that it did not send (a lone surrogate
// escape repaired instead of refused).
func FuzzPublish(f *testing.F) {
	for _, s := range []string{
		`{"user_id":"1","message":"hi"}`,
		`{"user_id":1,"message":"hi","title":"t","link":"https://x.example/a","category":"c","data":{"k":[1,{"z":null}]}}`,
		`{"user_ids":["a",2,"a"],"message":"m"}`,
		`{"user_ids":[],"message":"m"}`,
		`{"user_id":"1","user_ids":["2"],"message":"m"}`,
		`{"user_id":1e3,"message":"m"}`,
		`{"user_id":"\u0000","message":"m"}`,
		`{"user_id":"1","message":"m","data":"x"}`,
		`{"user_id":"1","message":"m","data":{"a":1}  }`,
		`{"user_id":"1","message":"m","link":"//evil"}`,
		`{"user_id":"1","message":"\ud800"}`,
		`{"user_id":"1","message":"m"} {}`,
		`{"user_id":"1","message":"m","extra":1}`,
		`{"user_id":"1","message":"m","title":null,"data":null}`,
		`[]`, `null`, `"x"`, `{`, ``, "\xff\xfe",
		`{"user_id":99999999999999999999999,"message":"m"}`,
		"{\"user_id\":\"ab\xffcd\",\"message\":\"m\"}",
		`{"user_id":"1","message":"\ud83d\ude00","data":{"k":"\\ud800"}}`,
		`{"user_id":"1","message":"\ud83dx"}`,
	} {
		f.Add([]byte(s))
	}
	e := newEnv(f, envOpts{})
	h := e.srv.Handler()
	f.Fuzz(func(t *testing.T, body []byte) {
		req := httptest.NewRequest("POST", "/api/notifications", bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", "Bearer "+testAPIKey)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		checkAnswer(t, rec, http.StatusCreated)
		if rec.Code != http.StatusCreated {
			return
		}
		if !json.Valid(rec.Body.Bytes()) {
			t.Fatalf("201 with invalid JSON %q", rec.Body)
		}
		if !utf8.Valid(body) {
			t.Fatalf("201 for a body that is not UTF-8: %q", body)
		}
		answer := strings.ToLower(rec.Body.String())
		sent := strings.Contains(string(body), "\uFFFD") || strings.Contains(strings.ToLower(string(body)), `\ufffd`)
		if !sent && (strings.Contains(answer, "\uFFFD") || strings.Contains(answer, `\ufffd`)) {
			t.Fatalf("201 with a U+FFFD the body did not send: %q -> %q", body, rec.Body)
		}
	})
}

// FuzzToken: any string presented as a user token, in any of the three
// places, is refused with 401 and never panics.
func FuzzToken(f *testing.F) {
	for _, s := range []string{"", "a", "a.b.c", "..", "Bearer x",
		"eyJhbGciOiJub25lIn0.eyJzdWIiOiIxIn0.",
		"eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIiwiZXhwIjo5OTk5OTk5OTk5fQ.AAAA",
		strings.Repeat("x", 10000)} {
		f.Add(s)
	}
	e := newEnv(f, envOpts{})
	h := e.srv.Handler()
	f.Fuzz(func(t *testing.T, tok string) {
		if tok == testAPIKey {
			t.Skip()
		}
		for _, where := range []string{"header", "cookie", "query"} {
			req := httptest.NewRequest("GET", "/notifications/unread-count", nil)
			switch where {
			case "header":
				req.Header.Set("Authorization", "Bearer "+tok)
			case "cookie":
				req.AddCookie(&http.Cookie{Name: httpapi.TokenCookie, Value: url.QueryEscape(tok)})
			case "query":
				req.URL.RawQuery = "token=" + url.QueryEscape(tok)
			}
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			if rec.Code != http.StatusUnauthorized {
				t.Fatalf("%s token %q: status %d %s", where, tok, rec.Code, rec.Body)
			}
			checkAnswer(t, rec, 0)
		}
	})
}

// FuzzLastEventID: ParseLastEventID accepts exactly the non-negative
// integers (empty = a fresh stream) and refuses the rest with EINVALID.
func FuzzLastEventID(f *testing.F) {
	for _, s := range []string{"", "0", "1", "42", " 7 ", "-1", "+1", "1.5", "abc", "9223372036854775807",
		"9223372036854775808", "0x10", "１"} {
		f.Add(s, false)
		f.Add(s, true)
	}
	f.Fuzz(func(t *testing.T, v string, inQuery bool) {
		req := httptest.NewRequest("GET", "/notifications/stream", nil)
		if inQuery {
			req.URL.RawQuery = "last_event_id=" + url.QueryEscape(v)
		} else {
			req.Header.Set("Last-Event-ID", v)
		}
		// What the request actually carries (header values and query
		// decoding may change it).
		got := req.Header.Get("Last-Event-ID")
		if inQuery {
			got = req.URL.Query().Get("last_event_id")
		}
		got = strings.TrimSpace(got)
		id, resume, err := httpapi.ParseLastEventID(req)
		if got == "" {
			if err != nil || resume || id != 0 {
				t.Fatalf("%q: %d %v %v, want a fresh stream", v, id, resume, err)
			}
			return
		}
		want, perr := strconv.ParseInt(got, 10, 64)
		if perr != nil || want < 0 || got[0] == '+' {
			if belfry.ErrorCode(err) != belfry.EINVALID {
				t.Fatalf("%q: %d %v %v, want EINVALID", v, id, resume, err)
			}
			return
		}
		if err != nil || !resume || id != want {
			t.Fatalf("%q: %d %v %v, want %d", v, id, resume, err, want)
		}
	})
}
