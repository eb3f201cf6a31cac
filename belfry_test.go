package belfry_test

import (
	"encoding/json"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/belfry/belfry"
)

// The hand-written encoder must produce what encoding/json would accept and
// decode to the same values, for any message text.
func FuzzNotificationJSON(f *testing.F) {
	for _, s := range []string{"", "hello", "line\nbreak", "<script>&", "\u2028\u2029", "\x00\x1f\"\\", "héllo 🔔", "\xff\xfe"} {
		f.Add(s, s)
	}
	f.Fuzz(func(t *testing.T, msg, title string) {
		at := time.Date(2026, 11, 23, 17, 42, 24, 123_000_000, time.UTC)
		n := &belfry.Notification{ID: 17, UserID: "42", Message: msg, Title: title,
			Data: json.RawMessage(`{"a":1}`), CreatedAt: at}
		b, err := json.Marshal(n)
		if err != nil {
			t.Fatal(err)
		}
		if strings.ContainsAny(string(b), "\r\n") {
			t.Fatalf("raw line break in %q", b)
		}
		var m map[string]any
		if err := json.Unmarshal(b, &m); err != nil {
			t.Fatalf("invalid JSON %q: %v", b, err)
		}
		ref, _ := json.Marshal(msg)
		var want string
		_ = json.Unmarshal(ref, &want)
		if m["message"] != want {
			t.Fatalf("message %q, want %q", m["message"], want)
		}
		if title == "" && m["title"] != nil {
			t.Fatalf("empty title encoded as %v, want null", m["title"])
		}
		if title != "" && utf8.ValidString(title) && m["title"] != title {
			t.Fatalf("title %q, want %q", m["title"], title)
		}
	})
}

func TestNotificationJSONShape(t *testing.T) {
	at := time.Date(2026, 11, 23, 17, 42, 24, 123_000_000, time.UTC)
	n := &belfry.Notification{ID: 17, UserID: "42", Message: "hi", Link: "/x", CreatedAt: at}
	b, _ := json.Marshal(n)
	want := `{"id":17,"user_id":"42","message":"hi","title":null,"link":"/x","category":null,"data":null,"read_at":null,"created_at":"2026-11-23T17:42:24.123Z","avatar":null,"actions":[],"action":null,"acted_at":null,"seen_at":null,"archived_at":null,"expires_at":null}`
	if string(b) != want {
		t.Fatalf("got  %s\nwant %s", b, want)
	}
	var back belfry.Notification
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	if back.ID != 17 || back.UserID != "42" || back.Link != "/x" || !back.CreatedAt.Equal(at) || back.ReadAt != nil || back.Data != nil {
		t.Fatalf("round trip: %+v", back)
	}
}

func TestUserIDAcceptsIntegers(t *testing.T) {
	var v struct{ U belfry.UserID }
	for in, want := range map[string]string{`{"U":42}`: "42", `{"U":"abc"}`: "abc"} {
		if err := json.Unmarshal([]byte(in), &v); err != nil || string(v.U) != want {
			t.Fatalf("%s: got %q, %v", in, v.U, err)
		}
	}
	for _, in := range []string{`{"U":4.5}`, `{"U":true}`, `{"U":{}}`} {
		if err := json.Unmarshal([]byte(in), &v); err == nil {
			t.Fatalf("%s: accepted", in)
		}
	}
}

func TestDraftValidate(t *testing.T) {
	ok := func() belfry.Draft { return belfry.Draft{UserIDs: []string{"42"}, Message: "hi"} }
	bad := map[string]func(d *belfry.Draft){
		"no users":          func(d *belfry.Draft) { d.UserIDs = nil },
		"empty user":        func(d *belfry.Draft) { d.UserIDs = []string{""} },
		"long user":         func(d *belfry.Draft) { d.UserIDs = []string{strings.Repeat("u", 129)} },
		"control in user":   func(d *belfry.Draft) { d.UserIDs = []string{"a\nb"} },
		"too many users":    func(d *belfry.Draft) { d.UserIDs = make([]string, 1001) },
		"no message":        func(d *belfry.Draft) { d.Message = "" },
		"blank message":     func(d *belfry.Draft) { d.Message = "  \n" },
		"long message":      func(d *belfry.Draft) { d.Message = strings.Repeat("m", 4097) },
		"javascript link":   func(d *belfry.Draft) { d.Link = "javascript:alert(1)" },
		"JavaScript link":   func(d *belfry.Draft) { d.Link = "JavaScript:alert(1)" },
		"data link":         func(d *belfry.Draft) { d.Link = "data:text/html,x" },
		"protocol relative": func(d *belfry.Draft) { d.Link = "//evil.example/x" },
		"backslash":         func(d *belfry.Draft) { d.Link = "/\\evil.example" },
		"relative":          func(d *belfry.Draft) { d.Link = "x/y" },
		"ftp":               func(d *belfry.Draft) { d.Link = "ftp://h/x" },
		"data array":        func(d *belfry.Draft) { d.Data = json.RawMessage(`[1]`) },
		"data string":       func(d *belfry.Draft) { d.Data = json.RawMessage(`"x"`) },
		"data broken":       func(d *belfry.Draft) { d.Data = json.RawMessage(`{"a":`) },
		"data too big":      func(d *belfry.Draft) { d.Data = json.RawMessage(`{"a":"` + strings.Repeat("x", 16<<10) + `"}`) },
		"invalid utf8":      func(d *belfry.Draft) { d.Message = "\xff" },
		"NUL in message":    func(d *belfry.Draft) { d.Message = "a\x00b" },
		"NUL in title":      func(d *belfry.Draft) { d.Title = "a\x00b" },
	}
	for name, mutate := range bad {
		d := ok()
		mutate(&d)
		if err := d.Validate(); belfry.ErrorCode(err) != belfry.EINVALID {
			t.Errorf("%s: got %v, want %s", name, err, belfry.EINVALID)
		}
	}
	d := ok()
	d.UserIDs = []string{"a", "b", "a"}
	d.Link = "https://app.example/n/1?x=y"
	d.Data = json.RawMessage("{\n  \"a\": [1, 2]\n}")
	d.Message = strings.Repeat("m", 4096)
	if err := d.Validate(); err != nil {
		t.Fatal(err)
	}
	if len(d.UserIDs) != 2 || string(d.Data) != `{"a":[1,2]}` {
		t.Fatalf("not normalised: %v %s", d.UserIDs, d.Data)
	}
	d = ok()
	d.Link = "/notifications/7"
	if err := d.Validate(); err != nil {
		t.Fatal(err)
	}
}
