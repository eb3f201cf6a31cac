package httpapi_test

import (
	"bufio"
	"context"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/belfry/belfry/hub"

	"github.com/belfry/belfry"
)

// attempt is the answer to one stream request: a 200 is held open, read
// past its sync event; anything else is read whole.
type attempt struct {
	status int
	header http.Header
	body   []byte
	close  func() // ends the stream of a 200; a no-op otherwise
}

// tryStream requests the stream and returns the answer. It is safe on any
// goroutine: failures are reported with Errorf.
func (e *env) tryStream(opts ...reqOpt) attempt {
	ctx, cancel := context.WithCancel(context.Background())
	req, err := http.NewRequestWithContext(ctx, "GET", e.url+"/notifications/stream", nil)
	if err != nil {
		cancel()
		e.t.Error(err)
		return attempt{close: func() {}}
	}
	for _, o := range opts {
		o(req)
	}
	resp, err := e.client.Do(req)
	if err != nil {
		cancel()
		e.t.Errorf("stream request: %v", err)
		return attempt{close: func() {}}
	}
	a := attempt{status: resp.StatusCode, header: resp.Header}
	if resp.StatusCode != http.StatusOK {
		a.body, _ = io.ReadAll(resp.Body)
		resp.Body.Close()
		cancel()
		a.close = func() {}
		return a
	}
	var once sync.Once
	a.close = func() { once.Do(func() { cancel(); resp.Body.Close() }) }
	e.t.Cleanup(a.close)
	// A stream that never sends its sync is cut after the wait.
	timer := time.AfterFunc(wait, cancel)
	defer timer.Stop()
	r := bufio.NewReader(resp.Body)
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			e.t.Errorf("stream ended before its sync: %v", err)
			return a
		}
		if line == "event: sync\n" {
			return a
		}
	}
}

// reply is the answer of a refused attempt, to check as a reply.
func (a attempt) reply() reply { return reply{status: a.status, header: a.header, body: a.body} }

const (
	refusedUser = `belfry_streams_refused_total{reason="too_many_streams"}`
	refusedNode = `belfry_streams_refused_total{reason="server_full"}`
)

// TestStreamsPerUserLimit: one user's 33rd stream on a node is refused
// with 429 too_many_streams and a Retry-After (GET, and HEAD, which the
// browser client sends to learn why its EventSource failed); another user
// still connects; once one of the 32 closes, the user connects again.
func TestStreamsPerUserLimit(t *testing.T) { bothModes(t, testStreamsPerUserLimit) }

func testStreamsPerUserLimit(t *testing.T, lean bool) {
	e := newEnv(t, envOpts{disableLean: !lean, allowOrigins: []string{appOrigin}})
	alice := withBearer(e.token("alice"))
	var open []attempt
	for i := range hub.DefaultMaxStreamsPerUser {
		a := e.tryStream(alice)
		if a.status != http.StatusOK {
			t.Fatalf("stream %d of alice: %d %s", i+1, a.status, a.body)
		}
		open = append(open, a)
	}

	r := e.tryStream(alice, withHeader("Origin", appOrigin)).reply()
	if r.status != http.StatusTooManyRequests || r.errorCode(t) != belfry.ETOOMANYSTREAMS {
		t.Fatalf("alice's 33rd stream: %d %s", r.status, r.body)
	}
	if got := r.header.Get("Retry-After"); got != "5" {
		t.Errorf("Retry-After %q, want the default 5", got)
	}
	// A page on an allowed origin may read the refusal's Retry-After.
	if r.header.Get("Access-Control-Allow-Origin") != appOrigin ||
		!strings.Contains(r.header.Get("Access-Control-Expose-Headers"), "Retry-After") {
		t.Errorf("the refusal's CORS headers: %v", r.header)
	}
	if h := e.do("HEAD", "/notifications/stream", alice); h.status != http.StatusTooManyRequests || h.header.Get("Retry-After") == "" {
		t.Fatalf("HEAD at the limit: %d, Retry-After %q", h.status, h.header.Get("Retry-After"))
	}
	if s := e.hub.Stats(); s.Streams != hub.DefaultMaxStreamsPerUser {
		t.Fatalf("the hub holds %d streams, want %d", s.Streams, hub.DefaultMaxStreamsPerUser)
	}
	if got := e.metric(t, refusedUser); got != 2 {
		t.Errorf("%s = %v, want 2", refusedUser, got)
	}

	if bob := e.tryStream(withBearer(e.token("bob"))); bob.status != http.StatusOK {
		t.Fatalf("bob, next to alice's full set: %d %s", bob.status, bob.body)
	}

	open[0].close()
	eventually(t, "a place for alice once one of her streams closed", func() bool {
		return e.tryStream(alice).status == http.StatusOK
	})
}

// TestNodeStreamLimit: a node at its MaxStreams answers a new stream 503
// server_full with a Retry-After, at once, before it checks the credential
// (no setup place, no store read); the API still answers; a stream that
// closes frees a place.
func TestNodeStreamLimit(t *testing.T) { bothModes(t, testNodeStreamLimit) }

func testNodeStreamLimit(t *testing.T, lean bool) {
	e := newEnv(t, envOpts{disableLean: !lean, maxStreams: 3, retryAfter: 1500 * time.Millisecond})
	var open []attempt
	for _, u := range []string{"a", "b", "c"} {
		a := e.tryStream(withBearer(e.token(u)))
		if a.status != http.StatusOK {
			t.Fatalf("stream of %s: %d %s", u, a.status, a.body)
		}
		open = append(open, a)
	}
	dave := withBearer(e.token("dave"))
	r := e.tryStream(dave).reply()
	if r.status != http.StatusServiceUnavailable || r.errorCode(t) != belfry.ESERVERFULL {
		t.Fatalf("the 4th stream: %d %s", r.status, r.body)
	}
	if got := r.header.Get("Retry-After"); got != "2" {
		t.Errorf("Retry-After %q, want 2 (Config.RetryAfter 1.5s, rounded up)", got)
	}
	if r := e.tryStream().reply(); r.status != http.StatusServiceUnavailable || r.errorCode(t) != belfry.ESERVERFULL {
		t.Fatalf("without a credential, a full node answers before checking it: %d %s", r.status, r.body)
	}
	if h := e.do("HEAD", "/notifications/stream", dave); h.status != http.StatusServiceUnavailable || h.header.Get("Retry-After") == "" {
		t.Fatalf("HEAD on a full node: %d, Retry-After %q", h.status, h.header.Get("Retry-After"))
	}
	if s := e.hub.Stats(); s.Streams != 3 {
		t.Fatalf("the hub holds %d streams, want 3", s.Streams)
	}
	// The rest of the node still works.
	if h := e.do("GET", "/healthz"); h.status != http.StatusOK {
		t.Fatalf("healthz on a full node: %d", h.status)
	}
	e.publish("a", "still published")
	if got := e.metric(t, refusedNode); got != 3 {
		t.Errorf("%s = %v, want 3", refusedNode, got)
	}
	if got := e.metric(t, refusedUser); got != 0 {
		t.Errorf("%s = %v, want 0", refusedUser, got)
	}

	open[0].close()
	eventually(t, "a place once a stream closed", func() bool {
		return e.tryStream(dave).status == http.StatusOK
	})
}

// TestStreamLimitConcurrentRequests: many stream requests of one user at
// once never get more streams than the limit; every other one is a 429.
func TestStreamLimitConcurrentRequests(t *testing.T) { bothModes(t, testStreamLimitConcurrentRequests) }

func testStreamLimitConcurrentRequests(t *testing.T, lean bool) {
	const limit, tries = 8, 40
	e := newEnv(t, envOpts{disableLean: !lean, maxStreamsPerUser: limit})
	alice := withBearer(e.token("alice"))
	var (
		wg      sync.WaitGroup
		mu      sync.Mutex
		byCode  = map[int]int{}
		release = make(chan struct{})
	)
	for range tries {
		wg.Go(func() {
			<-release
			a := e.tryStream(alice)
			mu.Lock()
			byCode[a.status]++
			mu.Unlock()
		})
	}
	close(release)
	wg.Wait()
	if byCode[http.StatusOK] != limit || byCode[http.StatusTooManyRequests] != tries-limit || len(byCode) != 2 {
		t.Fatalf("answers by status %v, want %d × 200 and %d × 429", byCode, limit, tries-limit)
	}
	if s := e.hub.Stats(); s.Streams != limit || s.RefusedUser != tries-limit {
		t.Fatalf("hub stats %+v, want %d streams and %d refused", s, limit, tries-limit)
	}
}
