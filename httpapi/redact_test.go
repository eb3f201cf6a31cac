package httpapi_test

import (
	"net/url"
	"strings"
	"testing"

	"github.com/belfry/belfry/httpapi"
)

// Credentials in forms belfry itself ignores (it reads only ?token=) are
// kept out of the access log all the same: each request is a real one to
// the server, and the test reads what its logger wrote.
func TestSecretsRedactedFromLogs(t *testing.T) {
	e := newEnv(t, envOpts{})
	tok := e.token("logged")
	key := testAPIKey
	cases := []struct{ path, logged string }{
		{"/notifications?limit=5;token=" + tok, "/notifications?limit=5;token=REDACTED"},
		{"/notifications;token=" + tok, "/notifications;token=REDACTED"},
		{"/notifications/stream%3Ftoken=" + tok, "/notifications/stream%3Ftoken=REDACTED"},
		{"/notifications/stream%3Ftoken%3D" + tok, "/notifications/stream%3Ftoken%3DREDACTED"},
		{"/notifications/stream%253Ftoken%253D" + tok, "/notifications/stream%253Ftoken%253DREDACTED"},
		{"/notifications%3Faccess_token%3D" + tok + "%26limit%3D5", "/notifications%3Faccess_token%3DREDACTED"},
		{"/notifications?x=1&amp;token=" + tok, "/notifications?x=1&amp;token=REDACTED"},
		{"/notifications?TOKEN=" + tok + "&limit=5", "/notifications?TOKEN=REDACTED&limit=5"},
		{"/notifications?access_token=" + tok, "/notifications?access_token=REDACTED"},
		{"/notifications?Access_Token=" + tok, "/notifications?Access_Token=REDACTED"},
		{"/notifications?jwt=" + tok, "/notifications?jwt=REDACTED"},
		{"/notifications?to%6Ben=" + tok, "/notifications?to%6Ben=REDACTED"},
		{"/notifications?auth[token]=" + tok, "/notifications?auth[token]=REDACTED"},
		{"/notifications?redirect=/inbox/token=" + tok + "&limit=5", "/notifications?redirect=/inbox/token=REDACTED&limit=5"},
		{"/api/notifications?api_key=" + key, "/api/notifications?api_key=REDACTED"},
		{"/api/notifications?X-API-Key=" + key, "/api/notifications?X-API-Key=REDACTED"},
		{"/api/notifications?apikey=" + key + ";x=1", "/api/notifications?apikey=REDACTED;x=1"},
		{"/notifications/" + tok + "/read", "/notifications/REDACTED/read"},
		{"/notifications?" + tok, "/notifications?REDACTED"},
	}
	for _, c := range cases {
		e.do("GET", c.path)
	}
	eventually(t, "a log line per request", func() bool {
		return strings.Count(e.logs.String(), `msg="http request"`) >= len(cases)
	})
	logs := e.logs.String()
	for _, c := range cases {
		if !strings.Contains(logs, c.logged) {
			t.Errorf("the log lacks %s", c.logged)
		}
	}
	sig := tok[strings.LastIndexByte(tok, '.')+1:]
	for _, secret := range []string{tok, sig, key} {
		if strings.Contains(logs, secret) {
			t.Fatalf("%q is in the log:\n%s", secret, logs)
		}
	}
	// Everything else is logged as it came.
	e.do("GET", "/notifications?limit=5&before=9&unread=true;x=%2F")
	eventually(t, "an untouched query", func() bool {
		return strings.Contains(e.logs.String(), "/notifications?limit=5&before=9&unread=true;x=%2F")
	})
}

// FuzzRedactedURI: whatever precedes it, a token parameter's value is
// redacted; redacting twice changes nothing more; nothing panics.
func FuzzRedactedURI(f *testing.F) {
	for _, s := range []string{"", "/a", "/a%", "/a%2", "%25%32%35", "/x;token=", "?eyJ.a.b", "/eyJ", "&amp;", "=", "%3D%3d"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		const secret = "zzSECRETzz"
		u := &url.URL{Path: "/x", RawQuery: s + "&token=" + secret}
		got := httpapi.RedactedURI(u)
		if strings.Contains(got, secret) {
			t.Fatalf("%q: %q", u.RawQuery, got)
		}
		if s == "" {
			return
		}
		once := httpapi.RedactedURI(&url.URL{Path: "/", RawQuery: s})
		q := strings.TrimPrefix(once, "/?")
		if twice := httpapi.RedactedURI(&url.URL{Path: "/", RawQuery: q}); twice != once {
			t.Fatalf("%q: %q then %q", s, once, twice)
		}
	})
}

// BenchmarkRedactedURI measures the log's URI for a stream request with
// its token and for a publish (nothing to redact).
func BenchmarkRedactedURI(b *testing.B) {
	for _, c := range []struct{ name, uri string }{
		{"stream", "/notifications/stream?last_event_id=42&token=eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiI0MiJ9.c2lnbmF0dXJl"},
		{"publish", "/api/notifications"},
	} {
		u, err := url.ParseRequestURI(c.uri)
		if err != nil {
			b.Fatal(err)
		}
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				httpapi.RedactedURI(u)
			}
		})
	}
}
