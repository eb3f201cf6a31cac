package httpapi_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/belfry/belfry/hub"

	"github.com/belfry/belfry"
	"github.com/belfry/belfry/httpapi"
	sse "github.com/tmaxmax/go-sse"
)

// bothModes runs a stream test with lean HTTP/1.1 streams (hijacked,
// written by the Hub) and with a goroutine per stream (as HTTP/2 always is).
func bothModes(t *testing.T, f func(t *testing.T, lean bool)) {
	t.Run("lean", func(t *testing.T) { f(t, true) })
	t.Run("goroutine", func(t *testing.T) { f(t, false) })
}

func TestStreamLiveAndRetry(t *testing.T) { bothModes(t, testStreamLiveAndRetry) }

func testStreamLiveAndRetry(t *testing.T, lean bool) {
	e := newEnv(t, envOpts{disableLean: !lean})
	s := e.openStream(t, "", withBearer(e.token("42")))
	select {
	case v := <-s.retry:
		if v != "2000" {
			t.Errorf("retry = %q, want 2000", v)
		}
	case <-time.After(wait):
		t.Fatal("no retry line")
	}
	if d := s.sync(t); d != (syncData{}) {
		t.Fatalf("fresh sync = %+v", d)
	}
	if st := e.hub.Stats(); st.Streams != 1 || (st.Lean == 1) != lean {
		t.Fatalf("hub stats %+v with lean=%v", st, lean)
	}
	// An integer user id reaches the user "42".
	r := e.do("POST", "/api/notifications", withBearer(testAPIKey),
		withJSON(`{"user_id": 42, "message": "hello", "title": "T", "link": "/x", "category": "c", "data": {"a": [1, 2]}}`))
	if r.status != http.StatusCreated {
		t.Fatalf("publish: %d %s", r.status, r.body)
	}
	n := s.notification(t)
	if n.ID != 1 || n.UserID != "42" || n.Message != "hello" || n.Title != "T" || n.Link != "/x" ||
		n.Category != "c" || string(n.Data) != `{"a":[1,2]}` || n.ReadAt != nil {
		t.Fatalf("streamed %+v", n)
	}
	var got map[string]any
	if err := json.Unmarshal(r.body, &got); err != nil || got["user_id"] != "42" || got["id"] != 1.0 {
		t.Fatalf("publish body %s", r.body)
	}
}

// TestReplayExact: a client that resumes after Last-Event-ID gets every
// notification it missed, in order, once, then a sync with the truth.
func TestReplayExact(t *testing.T) { bothModes(t, testReplayExact) }

func testReplayExact(t *testing.T, lean bool) {
	e := newEnv(t, envOpts{disableLean: !lean})
	for _, missed := range []int{0, 1, 500} {
		t.Run(strconv.Itoa(missed), func(t *testing.T) {
			user := "replay-" + strconv.Itoa(missed)
			s := e.openStream(t, "", withBearer(e.token(user)))
			s.sync(t)
			for i := range 3 {
				e.publish(user, "seen "+strconv.Itoa(i))
			}
			s.expectIDs(t, user, 1, 3)
			s.close()
			e.publishMany(user, missed)

			last := int64(3 + missed)
			for _, how := range []string{"header", "query", "header wins"} {
				var s2 *sseStream
				switch how {
				case "header":
					s2 = e.openStream(t, "", withBearer(e.token(user)), lastEventID(3))
				case "query":
					s2 = e.openStream(t, "/notifications/stream?last_event_id=3", withBearer(e.token(user)))
				case "header wins":
					s2 = e.openStream(t, "/notifications/stream?last_event_id=0", withBearer(e.token(user)), lastEventID(3))
				}
				s2.expectIDs(t, user, 4, last)
				if d := s2.sync(t); d.LastID != last || d.Unread != int(last) {
					t.Fatalf("%s: sync %+v, want last_id %d unread %d", how, d, last, last)
				}
				// Live events follow without a duplicate.
				e.publish(user, "live")
				last++
				s2.expectIDs(t, user, last, last)
				s2.close()
			}
		})
	}
}

// TestGoSSEClientResumes reads the stream with an independent client
// (tmaxmax/go-sse), which reconnects with Last-Event-ID after the server
// ends every stream: no notification lost, none duplicated.
func TestGoSSEClientResumes(t *testing.T) { bothModes(t, testGoSSEClientResumes) }

func testGoSSEClientResumes(t *testing.T, lean bool) {
	e := newEnv(t, envOpts{retry: 20 * time.Millisecond, disableLean: !lean})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, "GET",
		e.url+"/notifications/stream?token="+url.QueryEscape(e.token("gs")), nil)
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	reconnects := 0
	client := &sse.Client{HTTPClient: e.client,
		OnRetry: func(error, time.Duration) { mu.Lock(); reconnects++; mu.Unlock() },
		Backoff: sse.Backoff{InitialInterval: 10 * time.Millisecond, MaxInterval: 100 * time.Millisecond}}
	conn := client.NewConnection(req)
	ids := make(chan int64, 1000)
	synced := make(chan struct{}, 10)
	conn.SubscribeEvent("new-notification", func(ev sse.Event) {
		var n belfry.Notification
		if err := json.Unmarshal([]byte(ev.Data), &n); err != nil || ev.LastEventID != strconv.FormatInt(n.ID, 10) {
			t.Errorf("bad event %+v: %v", ev, err)
		}
		ids <- n.ID
	})
	conn.SubscribeEvent("sync", func(sse.Event) { synced <- struct{}{} })
	done := make(chan error, 1)
	go func() { done <- conn.Connect() }()
	defer func() {
		cancel()
		<-done
	}()

	waitSync := func() {
		t.Helper()
		select {
		case <-synced:
		case <-time.After(wait):
			t.Fatal("no sync event")
		}
	}
	expect := func(from, to int64) {
		t.Helper()
		for id := from; id <= to; id++ {
			select {
			case got := <-ids:
				if got != id {
					t.Fatalf("got id %d, want %d", got, id)
				}
			case <-time.After(wait):
				t.Fatalf("timed out waiting for id %d", id)
			}
		}
	}
	waitSync()
	for range 5 {
		e.publish("gs", "before")
	}
	expect(1, 5)
	for round := range 3 {
		e.conns.closeAll()              // a network blip: the client reconnects and resumes
		e.client.CloseIdleConnections() // the publisher's own connection went too
		for range 5 {
			e.publish("gs", "during")
		}
		waitSync()
		expect(int64(6+5*round), int64(10+5*round))
	}
	e.publish("gs", "after")
	expect(21, 21)
	select {
	case id := <-ids:
		t.Fatalf("extra id %d", id)
	default:
	}
	mu.Lock()
	defer mu.Unlock()
	if reconnects < 3 {
		t.Fatalf("the client reconnected %d times, want 3", reconnects)
	}
}

// TestEveryStreamOfAUser: three streams of one user (two of ours, one
// go-sse) all get every event.
func TestEveryStreamOfAUser(t *testing.T) { bothModes(t, testEveryStreamOfAUser) }

func testEveryStreamOfAUser(t *testing.T, lean bool) {
	e := newEnv(t, envOpts{disableLean: !lean})
	tok := e.token("multi")
	a := e.openStream(t, "", withBearer(tok))
	b := e.openStream(t, "", withHeader("Cookie", "belfry_token="+tok))
	a.sync(t)
	b.sync(t)

	ctx, cancel := context.WithCancel(context.Background())
	req, _ := http.NewRequestWithContext(ctx, "GET", e.url+"/notifications/stream?token="+tok, nil)
	conn := (&sse.Client{HTTPClient: e.client}).NewConnection(req)
	cids := make(chan string, 100)
	csync := make(chan struct{}, 1)
	conn.SubscribeEvent("new-notification", func(ev sse.Event) { cids <- ev.LastEventID })
	conn.SubscribeEvent("sync", func(sse.Event) { csync <- struct{}{} })
	done := make(chan error, 1)
	go func() { done <- conn.Connect() }()
	defer func() {
		cancel()
		<-done
	}()
	select {
	case <-csync:
	case <-time.After(wait):
		t.Fatal("go-sse: no sync")
	}
	const n = 20
	for i := range n {
		e.publish("multi", fmt.Sprint("m", i))
	}
	a.expectIDs(t, "multi", 1, n)
	b.expectIDs(t, "multi", 1, n)
	for id := 1; id <= n; id++ {
		select {
		case got := <-cids:
			if got != strconv.Itoa(id) {
				t.Fatalf("go-sse got %s, want %d", got, id)
			}
		case <-time.After(wait):
			t.Fatal("go-sse: timed out")
		}
	}
}

// TestStateEventsReachOtherTabs: read, unread, delete and read-all made in
// one tab arrive on another stream of the user with the new unread count.
func TestStateEventsReachOtherTabs(t *testing.T) { bothModes(t, testStateEventsReachOtherTabs) }

func testStateEventsReachOtherTabs(t *testing.T, lean bool) {
	e := newEnv(t, envOpts{disableLean: !lean})
	s := e.openStream(t, "", withBearer(e.token("tabs")))
	s.sync(t)
	for range 3 {
		e.publish("tabs", "x")
	}
	s.expectIDs(t, "tabs", 1, 3)

	r := e.user("tabs", "POST", "/notifications/2/read")
	var n belfry.Notification
	if r.status != 200 || json.Unmarshal(r.body, &n) != nil || n.ID != 2 || n.ReadAt == nil {
		t.Fatalf("read: %d %s", r.status, r.body)
	}
	if d := s.state(t, "read-state"); d.ID != 2 || !d.Read || d.ReadAt == nil || d.Unread != 2 {
		t.Fatalf("read-state %+v", d)
	}
	r = e.user("tabs", "POST", "/notifications/2/unread")
	if r.status != 200 || json.Unmarshal(r.body, &n) != nil || n.ReadAt != nil {
		t.Fatalf("unread: %d %s", r.status, r.body)
	}
	if d := s.state(t, "read-state"); d.ID != 2 || d.Read || d.ReadAt != nil || d.Unread != 3 {
		t.Fatalf("read-state %+v", d)
	}
	if r = e.user("tabs", "DELETE", "/notifications/1"); r.status != http.StatusNoContent || len(r.body) != 0 {
		t.Fatalf("delete: %d %s", r.status, r.body)
	}
	if d := s.state(t, "notification-deleted"); d.ID != 1 || d.Unread != 2 {
		t.Fatalf("notification-deleted %+v", d)
	}
	r = e.user("tabs", "POST", "/notifications/read-all")
	if r.status != 200 || strings.TrimSpace(string(r.body)) != `{"updated":2,"unread_count":0,"unseen_count":0,"last_id":3,"by_category":{}}` {
		t.Fatalf("read-all: %d %s", r.status, r.body)
	}
	if d := s.state(t, "read-state"); !d.All || d.UpTo != 3 || !d.Read || d.Unread != 0 {
		t.Fatalf("read-all state %+v", d)
	}
	if r = e.user("tabs", "GET", "/notifications/unread-count"); strings.TrimSpace(string(r.body)) != `{"unread":0}` {
		t.Fatalf("unread-count %s", r.body)
	}
}

// TestHeartbeatKeepsIdleStream: an idle stream gets a comment every
// heartbeat and outlives the server's ReadTimeout and WriteTimeout.
func TestHeartbeatKeepsIdleStream(t *testing.T) { bothModes(t, testHeartbeatKeepsIdleStream) }

func testHeartbeatKeepsIdleStream(t *testing.T, lean bool) {
	e := newEnv(t, envOpts{heartbeat: 50 * time.Millisecond,
		readTimeout: 200 * time.Millisecond, httpWriteTimeout: 200 * time.Millisecond, disableLean: !lean})
	s := e.openStream(t, "", withBearer(e.token("idle")))
	s.sync(t)
	start := time.Now()
	pings := 0
	for pings < 12 {
		ev, ok := s.next(t)
		if !ok {
			t.Fatalf("stream ended after %d pings", pings)
		}
		if ev.comment != "ping" {
			t.Fatalf("want a ping comment, got %+v", ev)
		}
		pings++
	}
	if time.Since(start) < 400*time.Millisecond {
		t.Logf("12 pings took %v (heartbeat 50ms)", time.Since(start))
	}
	e.publish("idle", "still there")
	s.expectIDs(t, "idle", 1, 1)
}

// TestTokenExpiryEndsStream: when the token's exp passes, the stream sends
// token-expired and ends. exp has second precision, so this waits up to 2s.
func TestTokenExpiryEndsStream(t *testing.T) { bothModes(t, testTokenExpiryEndsStream) }

func testTokenExpiryEndsStream(t *testing.T, lean bool) {
	e := newEnv(t, envOpts{heartbeat: 50 * time.Millisecond, disableLean: !lean})
	tok, err := httpapi.MintToken(testSecret, "exp", time.Second)
	if err != nil {
		t.Fatal(err)
	}
	s := e.openStream(t, "", withBearer(tok))
	s.sync(t)
	for {
		ev, ok := s.next(t)
		if !ok {
			t.Fatal("stream ended without token-expired")
		}
		if ev.comment != "" {
			continue
		}
		if ev.name != "token-expired" || ev.hasID {
			t.Fatalf("want token-expired, got %+v", ev)
		}
		break
	}
	s.ended(t)
	e.endedFor(t, hub.EndTokenExpired, 1)
	if r := e.do("GET", "/notifications/unread-count", withBearer(tok)); r.status != http.StatusUnauthorized {
		t.Fatalf("expired token: %d", r.status)
	}
}

// TestTokenExpiryOnServerClock: expiry follows Config.Now (the clock is
// passed in), without waiting for real time.
func TestTokenExpiryOnServerClock(t *testing.T) {
	e := newEnv(t, envOpts{heartbeat: 50 * time.Millisecond, disableLean: true})
	s := e.openStream(t, "", withBearer(e.token("exp")))
	s.sync(t)
	e.clockSkew.Store(int64(2 * time.Hour)) // the 1h token is now expired
	// event skips heartbeat comments: the next event must be the expiry.
	if ev := s.event(t); ev.name != "token-expired" {
		t.Fatalf("want token-expired, got %+v", ev)
	}
	s.ended(t)
}

// TestSlowStreamIsCut: a client that never reads is disconnected (its
// queue overflows), while another stream of the same user keeps getting
// every event.
func TestSlowStreamIsCut(t *testing.T) { bothModes(t, testSlowStreamIsCut) }

func testSlowStreamIsCut(t *testing.T, lean bool) {
	e := newEnv(t, envOpts{queue: 4, writeTimeout: 2 * time.Second, disableLean: !lean})
	tok := e.token("slow")
	good := e.openStream(t, "", withBearer(tok))
	good.sync(t)

	c, err := net.Dial("tcp", strings.TrimPrefix(e.url, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	fmt.Fprintf(c, "GET /notifications/stream?token=%s HTTP/1.1\r\nHost: belfry\r\n\r\n", tok)
	// Read only the response head and the first event, then never again.
	br := bufio.NewReaderSize(c, 512)
	line, err := br.ReadString('\n')
	if err != nil || !strings.Contains(line, "200") {
		t.Fatalf("stalled client: %q %v", line, err)
	}
	eventually(t, "both streams attached", func() bool { return e.hub.Stats().Streams == 2 })

	big := strings.Repeat("x", belfry.MaxMessageBytes)
	data := `{"pad":"` + strings.Repeat("y", belfry.MaxDataBytes-20) + `"}`
	body := `{"user_id":"slow","message":"` + big + `","data":` + data + `}`
	var id int64
	for e.hub.Stats().Slow == 0 {
		if id > 5000 {
			t.Fatal("the stalled stream was never cut")
		}
		r := e.do("POST", "/api/notifications", withBearer(testAPIKey), withJSON(body))
		if r.status != http.StatusCreated {
			t.Fatalf("publish: %d %s", r.status, r.body)
		}
		id++
		// Pace on the good stream so only the stalled one falls behind.
		good.expectIDs(t, "slow", id, id)
	}
	if s := e.hub.Stats().Slow; s != 1 {
		t.Fatalf("slow disconnects = %d, want 1", s)
	}
	eventually(t, "the stalled stream detached", func() bool { return e.hub.Stats().Streams == 1 })
	e.publish("slow", "after the cut")
	good.expectIDs(t, "slow", id+1, id+1)
	t.Logf("the stalled stream was cut after %d notifications of ~%d KiB", id, len(body)>>10)
}

// TestShutdownEndsStreams: Shutdown ends every stream; new streams and
// /readyz answer 503 meanwhile.
func TestShutdownEndsStreams(t *testing.T) { bothModes(t, testShutdownEndsStreams) }

func testShutdownEndsStreams(t *testing.T, lean bool) {
	e := newEnv(t, envOpts{disableLean: !lean})
	a := e.openStream(t, "", withBearer(e.token("a")))
	b := e.openStream(t, "", withBearer(e.token("b")))
	a.sync(t)
	b.sync(t)
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	if err := e.srv.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	a.ended(t)
	b.ended(t)
	if n := e.hub.Stats().Streams; n != 0 {
		t.Fatalf("%d streams open after Shutdown", n)
	}
	r := e.user("a", "GET", "/notifications/stream")
	if r.status != http.StatusServiceUnavailable || r.errorCode(t) != belfry.EUNAVAILABLE {
		t.Fatalf("stream after shutdown: %d %s", r.status, r.body)
	}
	if r := e.do("GET", "/readyz"); r.status != http.StatusServiceUnavailable {
		t.Fatalf("readyz after shutdown: %d %s", r.status, r.body)
	}
}

// TestHTTP2OverTLS: the stream works over HTTP/2 (the server's write
// deadline handling differs there).
func TestHTTP2OverTLS(t *testing.T) {
	// Idle gaps (the heartbeat) are longer than the per-write deadline:
	// the stream must clear its deadline after each write, or HTTP/2 resets
	// it while idle. The stream also outlives the server's WriteTimeout
	// (1s; shorter would also cut TLS handshakes on a loaded machine).
	e := newEnv(t, envOpts{tls: true, heartbeat: 300 * time.Millisecond,
		writeTimeout: 150 * time.Millisecond, httpWriteTimeout: time.Second})
	s := e.openStream(t, "", withBearer(e.token("h2")))
	if s.resp.ProtoMajor != 2 {
		t.Fatalf("stream over %s, want HTTP/2", s.resp.Proto)
	}
	s.sync(t)
	for i := range 3 {
		n := e.publish("h2", "over h2")
		if n.ID != int64(i+1) {
			t.Fatalf("published id %d", n.ID)
		}
	}
	s.expectIDs(t, "h2", 1, 3)
	// Idle past the server's WriteTimeout and several write deadlines.
	for pings := 0; pings < 5; {
		ev, ok := s.next(t)
		if !ok {
			t.Fatal("h2 stream ended")
		}
		if ev.comment == "ping" {
			pings++
		}
	}
	e.publish("h2", "still")
	s.expectIDs(t, "h2", 4, 4)
	if r := e.user("h2", "GET", "/notifications"); r.proto != 2 || r.status != 200 {
		t.Fatalf("list over h2: proto %d status %d", r.proto, r.status)
	}
}

// TestStreamAfterHubCloseAll: a Hub that was closed (by another path than
// Server.Shutdown) refuses new streams with 503, not 500.
func TestStreamAfterHubCloseAll(t *testing.T) { bothModes(t, testStreamAfterHubCloseAll) }

func testStreamAfterHubCloseAll(t *testing.T, lean bool) {
	e := newEnv(t, envOpts{disableLean: !lean})
	e.hub.CloseAll()
	r := e.user("late", "GET", "/notifications/stream")
	if r.status != http.StatusServiceUnavailable || r.errorCode(t) != belfry.EUNAVAILABLE {
		t.Fatalf("stream on a closed hub: %d %s", r.status, r.body)
	}
}
