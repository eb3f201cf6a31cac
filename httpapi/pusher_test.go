package httpapi_test

import (
	"bufio"
	"bytes"
	"crypto/hmac"
	"crypto/md5"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/belfry/belfry"
	"github.com/belfry/belfry/httpapi"
)

const (
	pusherApp    = "1001"
	pusherKey    = "test-pusher-key"
	pusherSecret = "test-pusher-secret-0123456789"
)

// newPusherEnv is newEnv with the Pusher endpoints on (app pusherApp,
// key pusherKey, secret pusherSecret, the default user channel).
func newPusherEnv(t *testing.T, o envOpts) *env {
	t.Helper()
	if o.pusher == nil {
		o.pusher = &httpapi.PusherConfig{AppID: pusherApp, Key: pusherKey, Secret: pusherSecret}
	}
	return newEnv(t, o)
}

// pusherSigned is a request signed by hand as Pusher's HTTP API reference
// says; the fields let a test spoil one part of it.
type pusherSigned struct {
	path      string // default /apps/pusherApp/events
	signPath  string // the path signed; default path
	body      string
	key       string // default pusherKey
	secret    string // default pusherSecret
	version   string // default 1.0
	ts        int64  // default the env's clock
	md5       string // default the body's; "-" for none
	sendBody  string // when set, sent instead of body (after signing)
	extra     map[string]string
	signature string // when set, sent instead of the computed one
}

func (e *env) pusherDo(p pusherSigned) reply {
	e.t.Helper()
	if p.path == "" {
		p.path = "/apps/" + pusherApp + "/events"
	}
	if p.signPath == "" {
		p.signPath = p.path
	}
	if p.key == "" {
		p.key = pusherKey
	}
	if p.secret == "" {
		p.secret = pusherSecret
	}
	if p.version == "" {
		p.version = "1.0"
	}
	if p.ts == 0 {
		p.ts = e.now().Unix()
	}
	params := map[string]string{"auth_key": p.key, "auth_timestamp": strconv.FormatInt(p.ts, 10), "auth_version": p.version}
	switch p.md5 {
	case "":
		sum := md5.Sum([]byte(p.body))
		params["body_md5"] = hex.EncodeToString(sum[:])
	case "-":
	default:
		params["body_md5"] = p.md5
	}
	for k, v := range p.extra {
		params[k] = v
	}
	keys := make([]string, 0, len(params))
	for k := range params {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	var q []string
	for _, k := range keys {
		q = append(q, k+"="+params[k])
	}
	query := strings.Join(q, "&")
	mac := hmac.New(sha256.New, []byte(p.secret))
	mac.Write([]byte("POST\n" + p.signPath + "\n" + query))
	sig := hex.EncodeToString(mac.Sum(nil))
	if p.signature != "" {
		sig = p.signature
	}
	body := p.body
	if p.sendBody != "" {
		body = p.sendBody
	}
	return e.do("POST", p.path+"?"+query+"&auth_signature="+sig, withJSON(body))
}

// laravelData is the data of a BroadcastNotificationCreated event as
// Laravel builds it: the notification's toArray, its id and its type.
func laravelData(id string, fields map[string]any) string {
	m := map[string]any{"id": id, "type": `App\Notifications\InvoicePaid`}
	for k, v := range fields {
		m[k] = v
	}
	b, _ := json.Marshal(m)
	return string(b)
}

// pusherBody is the body of POST /events.
func pusherBody(name string, channels []string, data string) string {
	b, _ := json.Marshal(map[string]any{"name": name, "channels": channels, "data": data})
	return string(b)
}

// pusherCounts scrapes belfry_pusher_events_total by result.
func (e *env) pusherCounts() map[string]float64 {
	e.t.Helper()
	r := e.do("GET", "/metrics")
	got := map[string]float64{}
	sc := bufio.NewScanner(bytes.NewReader(r.body))
	for sc.Scan() {
		rest, ok := strings.CutPrefix(sc.Text(), `belfry_pusher_events_total{result="`)
		if !ok {
			continue
		}
		result, num, _ := strings.Cut(rest, `"} `)
		v, err := strconv.ParseFloat(num, 64)
		if err != nil {
			e.t.Fatalf("metrics line %q", sc.Text())
		}
		got[result] = v
	}
	return got
}

func wantCounts(t *testing.T, e *env, want map[string]float64) {
	t.Helper()
	got := e.pusherCounts()
	for _, r := range []string{"stored", "duplicate", "skipped", "ignored"} {
		if got[r] != want[r] {
			t.Errorf("belfry_pusher_events_total{result=%q} = %v, want %v (all: %v)", r, got[r], want[r], got)
		}
	}
}

// TestPusherWorkedExample sends the worked example of Pusher's HTTP API
// reference byte for byte (app 3, its key, secret, timestamp, body and
// signature), at the server time of its timestamp.
func TestPusherWorkedExample(t *testing.T) {
	e := newEnv(t, envOpts{pusher: &httpapi.PusherConfig{AppID: "3",
		Key: "278d425bdf160c739803", Secret: "7ad3773142a6692b25b8"}})
	e.clockSkew.Store(int64(time.Until(time.Unix(1353088179, 0))))
	const body = `{"name":"foo","channels":["project-3"],"data":"{\"some\":\"data\"}"}`
	const query = "auth_key=278d425bdf160c739803&auth_timestamp=1353088179&auth_version=1.0&body_md5=ec365a775a4cd0599faeb73354201b6f&auth_signature="
	const sig = "da454824c97ba181a32ccc17a72625ba02771f50b50e1e7430e47a1f3f457e6c"
	r := e.do("POST", "/apps/3/events?"+query+sig, withJSON(body))
	if r.status != http.StatusOK || string(r.body) != "{}\n" || r.header.Get("Content-Type") != "application/json" {
		t.Fatalf("worked example: %d %q %q", r.status, r.header.Get("Content-Type"), r.body)
	}
	bad := "0" + sig[1:]
	if r := e.do("POST", "/apps/3/events?"+query+bad, withJSON(body)); r.status != http.StatusUnauthorized {
		t.Fatalf("spoiled signature: %d %s", r.status, r.body)
	}
	wantCounts(t, e, map[string]float64{"ignored": 1})
}

// TestPusherStoresNotification: a hand-signed BroadcastNotificationCreated
// for user 42 is stored with the payload's fields, reaches the live
// stream, and its repeat creates nothing.
func TestPusherStoresNotification(t *testing.T) {
	e := newPusherEnv(t, envOpts{})
	s := e.openStream(t, "", withBearer(e.token("42")))
	defer s.close()
	s.sync(t)
	data := laravelData("9f0b6c2e-5d1a-4f7e-8a43-3c2b1d0e9f11", map[string]any{
		"message": "Invoice #7 was paid", "title": "Paid", "link": "/invoices/7",
		"category": "billing", "invoice_id": 7, "note": "<b>€</b>"})
	body := pusherBody(httpapi.PusherNotificationEvent, []string{"private-App.Models.User.42"}, data)
	if r := e.pusherDo(pusherSigned{body: body}); r.status != http.StatusOK || string(r.body) != "{}\n" {
		t.Fatalf("events: %d %s", r.status, r.body)
	}
	n := s.notification(t)
	if n.UserID != "42" || n.Message != "Invoice #7 was paid" || n.Title != "Paid" || n.Link != "/invoices/7" || n.Category != "billing" {
		t.Fatalf("stored %+v", n)
	}
	var d map[string]any
	if err := json.Unmarshal(n.Data, &d); err != nil {
		t.Fatal(err)
	}
	if d["invoice_id"] != 7.0 || d["id"] != "9f0b6c2e-5d1a-4f7e-8a43-3c2b1d0e9f11" ||
		d["type"] != `App\Notifications\InvoicePaid` || d["note"] != "<b>€</b>" || len(d) != 4 {
		t.Fatalf("data %s", n.Data)
	}
	if r := e.pusherDo(pusherSigned{body: body}); r.status != http.StatusOK {
		t.Fatalf("repeat: %d %s", r.status, r.body)
	}
	// The same id rendered again with other fields (a retried job whose
	// toArray reads the clock) is the same notification: the first stays.
	again := pusherBody(httpapi.PusherNotificationEvent, []string{"private-App.Models.User.42"},
		laravelData("9f0b6c2e-5d1a-4f7e-8a43-3c2b1d0e9f11", map[string]any{"message": "Invoice #7 was paid at 10:01"}))
	if r := e.pusherDo(pusherSigned{body: again}); r.status != http.StatusOK {
		t.Fatalf("re-rendered: %d %s", r.status, r.body)
	}
	if ns := e.inboxOf(t, "42"); len(ns) != 1 || ns[0].Message != "Invoice #7 was paid" {
		t.Fatalf("after the repeats, user 42 has %+v", ns)
	}
	wantCounts(t, e, map[string]float64{"stored": 1, "duplicate": 2})
}

// TestPusherRefusals: every refusal answers its status with a text
// message and stores nothing, whatever it carries.
func TestPusherRefusals(t *testing.T) {
	e := newPusherEnv(t, envOpts{})
	const user = "private-App.Models.User.42"
	valid := pusherBody(httpapi.PusherNotificationEvent, []string{user},
		laravelData("id-1", map[string]any{"message": "hello"}))
	now := e.now().Unix()
	manyChannels := make([]string, 101)
	for i := range manyChannels {
		manyChannels[i] = user + strconv.Itoa(i)
	}
	batchOf := func(n int, bad bool) string {
		var evs []map[string]any
		for i := range n {
			evs = append(evs, map[string]any{"name": httpapi.PusherNotificationEvent, "channel": user,
				"data": laravelData("b"+strconv.Itoa(i), map[string]any{"message": "m"})})
		}
		if bad {
			evs[n-1]["channel"] = "bad channel"
		}
		b, _ := json.Marshal(map[string]any{"batch": evs})
		return string(b)
	}
	batch := "/apps/" + pusherApp + "/batch_events"
	for _, c := range []struct {
		name   string
		req    pusherSigned
		status int
		says   string
	}{
		{"bad signature", pusherSigned{body: valid, secret: "another-secret-0123456789"}, 401, "auth_signature"},
		{"signature not hex", pusherSigned{body: valid, signature: "zz"}, 401, "auth_signature"},
		// Well outside the 600 s window: the server reads its clock a
		// moment after now, perhaps in the next second.
		{"stale timestamp", pusherSigned{body: valid, ts: now - 900}, 401, "auth_timestamp"},
		{"future timestamp", pusherSigned{body: valid, ts: now + 900}, 401, "auth_timestamp"},
		{"body_md5 mismatch", pusherSigned{body: valid, sendBody: strings.Replace(valid, "hello", "HELLO", 1)}, 401, "body_md5"},
		{"no body_md5", pusherSigned{body: valid, md5: "-"}, 401, "body_md5"},
		{"unknown key", pusherSigned{body: valid, key: "other-key"}, 401, "auth_key"},
		{"auth_version 2.0", pusherSigned{body: valid, version: "2.0"}, 401, "auth_version"},
		{"signed for another path", pusherSigned{body: valid, signPath: batch}, 401, "auth_signature"},
		{"unknown app", pusherSigned{body: valid, path: "/apps/9/events"}, 404, "app_id"},
		{"not JSON", pusherSigned{body: "{"}, 400, "JSON"},
		{"not UTF-8", pusherSigned{body: "{\"name\":\"\xff\"}"}, 400, "UTF-8"},
		{"no name", pusherSigned{body: `{"channel":"` + user + `","data":"{}"}`}, 400, "name"},
		{"name of 201", pusherSigned{body: pusherBody(strings.Repeat("n", 201), []string{user}, "{}")}, 400, "200"},
		{"no data", pusherSigned{body: `{"name":"x","channel":"` + user + `"}`}, 400, "data"},
		{"data over 10 KB", pusherSigned{body: pusherBody(httpapi.PusherNotificationEvent, []string{user},
			laravelData("id-2", map[string]any{"message": strings.Repeat("m", 10240)}))}, 413, "10240"},
		{"101 channels", pusherSigned{body: pusherBody("x", manyChannels, "{}")}, 400, "100"},
		{"no channel", pusherSigned{body: `{"name":"x","data":"{}"}`}, 400, "channel"},
		{"channel and channels", pusherSigned{body: `{"name":"x","data":"{}","channel":"a","channels":["b"]}`}, 400, "not both"},
		{"channel with a space", pusherSigned{body: pusherBody("x", []string{user, "a b"}, "{}")}, 400, "channel"},
		{"channel of 165", pusherSigned{body: pusherBody("x", []string{user, strings.Repeat("c", 165)}, "{}")}, 400, "164"},
		{"payload not an object", pusherSigned{body: pusherBody(httpapi.PusherNotificationEvent, []string{user}, `"hi"`)}, 400, "JSON object"},
		{"bad link", pusherSigned{body: pusherBody(httpapi.PusherNotificationEvent, []string{user},
			laravelData("id-3", map[string]any{"message": "m", "link": "javascript:alert(1)"}))}, 400, "link"},
		{"bad id", pusherSigned{body: pusherBody(httpapi.PusherNotificationEvent, []string{user}, `{"id":{"a":1}}`)}, 400, "id"},
		{"body over 512 KiB", pusherSigned{body: `{"name":"x","data":"` + strings.Repeat("d", 600<<10) + `"}`}, 413, "512"},
		{"batch of 11", pusherSigned{path: batch, body: batchOf(11, false)}, 400, "10"},
		{"empty batch", pusherSigned{path: batch, body: `{"batch":[]}`}, 400, "batch"},
		{"batch with a bad last event", pusherSigned{path: batch, body: batchOf(3, true)}, 400, "batch[2]"},
		{"batch event with channels", pusherSigned{path: batch, body: `{"batch":[{"name":"x","data":"{}","channels":["a"]}]}`}, 400, "channel"},
	} {
		t.Run(c.name, func(t *testing.T) {
			r := e.pusherDo(c.req)
			if r.status != c.status || !strings.Contains(string(r.body), c.says) {
				t.Fatalf("got %d %q, want %d saying %q", r.status, r.body, c.status, c.says)
			}
			if ct := r.header.Get("Content-Type"); ct != "text/plain; charset=utf-8" {
				t.Errorf("Content-Type %q", ct)
			}
		})
	}
	if ns := e.inboxOf(t, "42"); len(ns) != 0 {
		t.Fatalf("refused requests stored %d notifications", len(ns))
	}
	wantCounts(t, e, nil)
}

// TestPusherOffWhenNotConfigured: without Config.Pusher the paths are
// unknown.
func TestPusherOffWhenNotConfigured(t *testing.T) {
	e := newEnv(t, envOpts{})
	r := e.pusherDo(pusherSigned{body: pusherBody("x", []string{"c"}, "{}")})
	if r.status != http.StatusNotFound || r.errorCode(t) != belfry.ENOTFOUND {
		t.Fatalf("got %d %s", r.status, r.body)
	}
}

// TestPusherBatchAndFanOut: a batch stores each notification event and
// acknowledges the others; one event to several user channels makes one
// notification per user; the message comes from the title, else the type.
func TestPusherBatchAndFanOut(t *testing.T) {
	e := newPusherEnv(t, envOpts{})
	batch, _ := json.Marshal(map[string]any{"batch": []map[string]any{
		{"name": httpapi.PusherNotificationEvent, "channel": "private-App.Models.User.7",
			"data": laravelData("n-7", map[string]any{"amount": 12})},
		{"name": "order.updated", "channel": "private-orders", "data": `{"id":1}`},
		{"name": "order.updated", "channel": "private-App.Models.User.7", "data": `{"id":2}`},
		{"name": httpapi.PusherNotificationEvent, "channel": "private-App.Models.User.8", "socket_id": "123.456",
			"data": laravelData("n-8", map[string]any{"title": "Welcome aboard"})},
	}})
	r := e.pusherDo(pusherSigned{path: "/apps/" + pusherApp + "/batch_events", body: string(batch)})
	if r.status != http.StatusOK || string(r.body) != `{"batch":[{},{},{},{}]}`+"\n" {
		t.Fatalf("batch: %d %s", r.status, r.body)
	}
	if ns := e.inboxOf(t, "7"); len(ns) != 1 || ns[0].Message != "Invoice paid" || ns[0].Title != "" {
		t.Fatalf("user 7: %+v", ns)
	}
	if ns := e.inboxOf(t, "8"); len(ns) != 1 || ns[0].Message != "Welcome aboard" || ns[0].Title != "" {
		t.Fatalf("user 8: %+v", ns)
	}
	fan := pusherBody(httpapi.PusherNotificationEvent, []string{"private-App.Models.User.1",
		"private-App.Models.User.2", "presence-room", "private-App.Models.User.1"},
		laravelData("shared-id", map[string]any{"message": "to both"}))
	if r := e.pusherDo(pusherSigned{body: fan}); r.status != http.StatusOK {
		t.Fatalf("fan-out: %d %s", r.status, r.body)
	}
	for _, u := range []string{"1", "2"} {
		if ns := e.inboxOf(t, u); len(ns) != 1 || ns[0].Message != "to both" {
			t.Fatalf("user %s: %+v", u, ns)
		}
	}
	// A user whose preferences turn the category off gets nothing.
	if r := e.user("3", "PUT", "/notifications/preferences", withJSON(`{"categories":{"billing":{"in_app":false}}}`)); r.status != http.StatusOK {
		t.Fatalf("preferences: %d %s", r.status, r.body)
	}
	muted := pusherBody(httpapi.PusherNotificationEvent, []string{"private-App.Models.User.3"},
		laravelData("muted", map[string]any{"message": "m", "category": "billing"}))
	if r := e.pusherDo(pusherSigned{body: muted}); r.status != http.StatusOK {
		t.Fatalf("muted: %d %s", r.status, r.body)
	}
	if ns := e.inboxOf(t, "3"); len(ns) != 0 {
		t.Fatalf("user 3: %+v", ns)
	}
	wantCounts(t, e, map[string]float64{"stored": 4, "ignored": 3, "skipped": 1})
}

// TestPusherRateLimit: the Pusher key has a bucket of its own at the
// publish rate; the API key's is untouched.
func TestPusherRateLimit(t *testing.T) {
	e := newPusherEnv(t, envOpts{publishRate: 0.001, publishBurst: 1})
	body := pusherBody(httpapi.PusherNotificationEvent, []string{"private-App.Models.User.5"},
		laravelData("r-1", map[string]any{"message": "one"}))
	if r := e.pusherDo(pusherSigned{body: body}); r.status != http.StatusOK {
		t.Fatalf("first: %d %s", r.status, r.body)
	}
	body2 := pusherBody(httpapi.PusherNotificationEvent, []string{"private-App.Models.User.5"},
		laravelData("r-2", map[string]any{"message": "two"}))
	r := e.pusherDo(pusherSigned{body: body2})
	if r.status != http.StatusTooManyRequests || r.header.Get("Retry-After") == "" {
		t.Fatalf("second: %d %s (Retry-After %q)", r.status, r.body, r.header.Get("Retry-After"))
	}
	if ns := e.inboxOf(t, "5"); len(ns) != 1 {
		t.Fatalf("user 5 has %d notifications", len(ns))
	}
	e.publish("5", "through the API key")
}

// TestPusherUserChannelPattern: a custom --pusher-user-channel maps its
// own channels, and the default one no longer.
func TestPusherUserChannelPattern(t *testing.T) {
	e := newPusherEnv(t, envOpts{pusher: &httpapi.PusherConfig{AppID: pusherApp, Key: pusherKey,
		Secret: pusherSecret, UserChannel: "private-user.{id}.inbox"}})
	body := pusherBody(httpapi.PusherNotificationEvent, []string{"private-user.u-9.inbox", "private-App.Models.User.9"},
		laravelData("p-1", map[string]any{"message": "custom"}))
	if r := e.pusherDo(pusherSigned{body: body}); r.status != http.StatusOK {
		t.Fatalf("events: %d %s", r.status, r.body)
	}
	if ns := e.inboxOf(t, "u-9"); len(ns) != 1 {
		t.Fatalf("user u-9 has %d notifications", len(ns))
	}
	if ns := e.inboxOf(t, "9"); len(ns) != 0 {
		t.Fatalf("user 9 has %d notifications", len(ns))
	}
}

// TestPusherConfigValidate checks the settings New refuses.
func TestPusherConfigValidate(t *testing.T) {
	for _, c := range []httpapi.PusherConfig{
		{Key: "k", Secret: pusherSecret},
		{AppID: "a/b", Key: "k", Secret: pusherSecret},
		{AppID: "1", Secret: pusherSecret},
		{AppID: "1", Key: "k", Secret: "short"},
		{AppID: "1", Key: "k", Secret: pusherSecret, UserChannel: "private-user"},
		{AppID: "1", Key: "k", Secret: pusherSecret, UserChannel: "user.{id}.{id}"},
		{AppID: "1", Key: "k", Secret: pusherSecret, UserChannel: "user:{id}"},
	} {
		if err := c.Validate(); belfry.ErrorCode(err) != belfry.EINVALID {
			t.Errorf("%+v: got %v, want invalid", c, err)
		}
	}
	ok := httpapi.PusherConfig{AppID: "app-1", Key: "k", Secret: pusherSecret}
	if err := ok.Validate(); err != nil || ok.UserChannel != httpapi.DefaultPusherUserChannel || ok.MaxDataBytes != httpapi.DefaultPusherMaxData {
		t.Fatalf("%+v: %v", ok, err)
	}
}
