package httpapi_test

import (
	"bufio"
	"context"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/belfry/belfry"
)

// gateStore is the real store whose Stats, the first read of a stream's
// setup, waits for each user until the test lets it: open(user).
type gateStore struct {
	belfry.Store
	entered chan string // every user whose setup read the store, in order
	mu      sync.Mutex
	gates   map[string]chan struct{}
}

func newGateStore(s belfry.Store) *gateStore {
	return &gateStore{Store: s, entered: make(chan string, 16), gates: map[string]chan struct{}{}}
}

func (g *gateStore) gate(user string) chan struct{} {
	g.mu.Lock()
	defer g.mu.Unlock()
	c, ok := g.gates[user]
	if !ok {
		c = make(chan struct{})
		g.gates[user] = c
	}
	return c
}

func (g *gateStore) open(user string) { close(g.gate(user)) }

// next returns the next user whose stream reads the store, failing the
// test if none does within the wait.
func (g *gateStore) next(t *testing.T) string {
	t.Helper()
	select {
	case u := <-g.entered:
		return u
	case <-time.After(wait):
		t.Fatal("no stream read the store")
		return ""
	}
}

// admit lets user's setup read the store and returns the stream's
// response, failing the test unless it is a 200 within the wait.
func (g *gateStore) admit(t *testing.T, user string, resp <-chan *http.Response) *http.Response {
	t.Helper()
	g.open(user)
	select {
	case r := <-resp:
		if r == nil || r.StatusCode != http.StatusOK {
			t.Fatalf("stream of %s: %v", user, r)
		}
		return r
	case <-time.After(wait):
		t.Fatalf("no response head for %s", user)
		return nil
	}
}

func (g *gateStore) Stats(ctx context.Context, user string) (belfry.Stats, error) {
	g.entered <- user
	select {
	case <-g.gate(user):
		return g.Store.Stats(ctx, user)
	case <-ctx.Done():
		return belfry.Stats{}, belfry.Unavailable("the store", ctx.Err())
	}
}

// startStream sends a stream request with the user's token and returns at
// once; the channel gets the response (or the error) when the head
// arrives.
func (e *env) startStream(t *testing.T, user string) <-chan *http.Response {
	ctx, cancel := context.WithCancel(context.Background())
	req, err := http.NewRequestWithContext(ctx, "GET", e.url+"/notifications/stream", nil)
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+e.token(user))
	got := make(chan *http.Response, 1)
	var resp *http.Response
	var mu sync.Mutex
	go func() {
		r, err := e.client.Do(req)
		if err != nil {
			if ctx.Err() == nil { // not the test's own end
				t.Errorf("stream of %s: %v", user, err)
			}
			close(got)
			return
		}
		mu.Lock()
		resp = r
		mu.Unlock()
		got <- r
	}()
	t.Cleanup(func() {
		cancel()
		mu.Lock()
		defer mu.Unlock()
		if resp != nil {
			resp.Body.Close()
		}
	})
	return got
}

func (e *env) setupsWaiting(t testing.TB) string {
	r := e.do("GET", "/metrics")
	for line := range strings.Lines(string(r.body)) {
		if v, ok := strings.CutPrefix(line, "belfry_stream_setups_waiting "); ok {
			return strings.TrimSpace(v)
		}
	}
	t.Fatalf("no belfry_stream_setups_waiting in /metrics")
	return ""
}

// TestStreamSetupsWaitTheirTurn: with Config.SetupConcurrency 1, a second
// stream, its credential checked, does not read the store while the first
// one is set up, and does as soon as the first is live, which holds no
// place from then on, on either path.
func TestStreamSetupsWaitTheirTurn(t *testing.T) { bothModes(t, testStreamSetupsWaitTheirTurn) }

func testStreamSetupsWaitTheirTurn(t *testing.T, lean bool) {
	var store *gateStore
	e := newEnv(t, envOpts{disableLean: !lean, setupConcurrency: 1,
		hubStore: func(s belfry.Store) belfry.Store { store = newGateStore(s); return store }})

	first := e.startStream(t, "first")
	if u := store.next(t); u != "first" {
		t.Fatalf("the store was read for %q first", u)
	}
	second := e.startStream(t, "second")
	eventually(t, "the second stream waits for its turn", func() bool { return e.setupsWaiting(t) == "1" })
	select {
	case u := <-store.entered:
		t.Fatalf("%s was set up beside the first stream", u)
	default:
	}

	r1 := store.admit(t, "first", first)
	// The first stream stays open; the second goes on without it.
	if u := store.next(t); u != "second" {
		t.Fatalf("the store was read for %q, want second", u)
	}
	r2 := store.admit(t, "second", second)
	if w := e.setupsWaiting(t); w != "0" {
		t.Fatalf("%s setups still waiting", w)
	}

	// Both streams are live.
	e.publish("first", "one")
	e.publish("second", "two")
	for _, r := range []*http.Response{r1, r2} {
		if !readUntil(r, "event: new-notification") {
			t.Fatalf("no notification on a stream")
		}
	}
}

// TestStreamSetupWaitEndsWithTheClient: a client that leaves while its
// stream waits for its turn is forgotten and takes no place afterwards.
func TestStreamSetupWaitEndsWithTheClient(t *testing.T) {
	var store *gateStore
	e := newEnv(t, envOpts{setupConcurrency: 1,
		hubStore: func(s belfry.Store) belfry.Store { store = newGateStore(s); return store }})
	e.startStream(t, "first")
	store.next(t)

	ctx, cancel := context.WithCancel(context.Background())
	req, _ := http.NewRequestWithContext(ctx, "GET", e.url+"/notifications/stream", nil)
	req.Header.Set("Authorization", "Bearer "+e.token("gone"))
	done := make(chan struct{})
	go func() {
		defer close(done)
		if resp, err := e.client.Do(req); err == nil {
			resp.Body.Close()
		}
	}()
	eventually(t, "the second stream waits", func() bool { return e.setupsWaiting(t) == "1" })
	cancel()
	<-done
	eventually(t, "the one that left stops waiting", func() bool { return e.setupsWaiting(t) == "0" })

	store.open("first")
	third := e.startStream(t, "third")
	if u := store.next(t); u != "third" {
		t.Fatalf("the store was read for %q, want third", u)
	}
	store.admit(t, "third", third)
}

// readUntil reads the stream's lines until one starts with prefix, or the
// stream ends or the test's wait passes.
func readUntil(r *http.Response, prefix string) bool {
	found := make(chan bool, 1)
	go func() {
		sc := bufio.NewScanner(r.Body)
		for sc.Scan() {
			if strings.HasPrefix(sc.Text(), prefix) {
				found <- true
				return
			}
		}
		found <- false
	}()
	select {
	case ok := <-found:
		return ok
	case <-time.After(wait):
		return false
	}
}
