package client_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/belfry/belfry"
	"github.com/belfry/belfry/client"
)

// proxy forwards every request to the env's server. The first drop
// requests are forwarded and answered by the server (which commits), but
// their answer is lost: the proxy cuts the client's connection instead.
type proxy struct {
	t    *testing.T
	to   string
	drop atomic.Int32
	url  string

	mu   sync.Mutex
	seen []http.Header // the headers of every request, in order
}

func newProxy(t *testing.T, to string, drop int) *proxy {
	p := &proxy{t: t, to: to}
	p.drop.Store(int32(drop))
	ts := httptest.NewServer(http.HandlerFunc(p.serve))
	t.Cleanup(ts.Close)
	p.url = ts.URL
	return p
}

func (p *proxy) serve(w http.ResponseWriter, r *http.Request) {
	p.mu.Lock()
	p.seen = append(p.seen, r.Header.Clone())
	p.mu.Unlock()
	body, _ := io.ReadAll(r.Body)
	req, _ := http.NewRequestWithContext(r.Context(), r.Method, p.to+r.URL.RequestURI(), bytes.NewReader(body))
	req.Header = r.Header.Clone()
	resp, err := http.DefaultTransport.RoundTrip(req)
	if err != nil {
		p.t.Errorf("proxy: %v", err)
		w.WriteHeader(http.StatusBadGateway)
		return
	}
	defer resp.Body.Close()
	answer, err := io.ReadAll(resp.Body) // the server has answered: what it did is done
	if err != nil {
		p.t.Errorf("proxy: reading the answer: %v", err)
	}
	if p.drop.Add(-1) >= 0 {
		conn, _, err := http.NewResponseController(w).Hijack()
		if err != nil {
			p.t.Errorf("proxy: hijack: %v", err)
			return
		}
		conn.Close()
		return
	}
	for k, vs := range resp.Header {
		w.Header()[k] = vs
	}
	w.WriteHeader(resp.StatusCode)
	w.Write(answer)
}

func (p *proxy) requests() []http.Header {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]http.Header(nil), p.seen...)
}

// A publish whose answer is lost after the server committed is retried
// with the same client-made key, gets the replay, and the user has one
// notification.
func TestPublishRetryAfterLostAnswerIsReplayed(t *testing.T) {
	e := newEnv(t, envOpts{})
	p := newProxy(t, e.url, 1)
	c := e.client(p.url)
	pub, err := c.Publish(ctxT(t), "alice", client.Message{Message: "exactly once"})
	if err != nil {
		t.Fatal(err)
	}
	reqs := p.requests()
	if len(reqs) != 2 || len(e.waits()) != 1 {
		t.Fatalf("%d requests, waits %v; want 2 and 1", len(reqs), e.waits())
	}
	k1, k2 := reqs[0].Get("Idempotency-Key"), reqs[1].Get("Idempotency-Key")
	if k1 == "" || k1 != k2 || k1 != pub.IdempotencyKey {
		t.Fatalf("keys %q, %q, reported %q: want one key", k1, k2, pub.IdempotencyKey)
	}
	if !pub.Replayed || len(pub.Notifications) != 1 || pub.Notifications[0].ID != 1 {
		t.Fatalf("published %+v, want the replay of id 1", pub)
	}
	if n := e.count("alice"); n != 1 {
		t.Fatalf("alice has %d notifications, want 1", n)
	}

	// The same for many users, twice lost.
	p.drop.Store(2)
	pub, err = c.PublishMany(ctxT(t), []string{"alice", "bob"}, client.Message{Message: "to both"})
	if err != nil {
		t.Fatal(err)
	}
	if !pub.Replayed || len(pub.Notifications) != 2 || e.count("alice") != 2 || e.count("bob") != 1 {
		t.Fatalf("many: %+v; alice %d, bob %d", pub, e.count("alice"), e.count("bob"))
	}
}

// A read whose answer is lost is retried; a failed webhook's retry, whose
// repeat could not tell success from an unknown id, is not.
func TestNetworkErrors(t *testing.T) {
	e := newEnv(t, envOpts{})
	p := newProxy(t, e.url, 1)
	c := e.client(p.url)
	if _, err := c.Preferences(ctxT(t), "alice"); err != nil {
		t.Fatalf("preferences after a lost answer: %v", err)
	}
	if n := len(p.requests()); n != 2 {
		t.Fatalf("%d requests, want 2", n)
	}
	p.drop.Store(1)
	_, err := c.RetryWebhook(ctxT(t), "msg_x")
	var ce *client.Error
	if err == nil || errors.As(err, &ce) {
		t.Fatalf("retry webhook after a lost answer: %v, want the network error", err)
	}
	if n := len(p.requests()); n != 3 {
		t.Fatalf("%d requests, want 3 (the webhook retry sent once)", n)
	}
	// Attempts are bounded by the policy.
	p.drop.Store(100)
	c = e.client(p.url, client.WithRetry(client.RetryPolicy{MaxAttempts: 3}))
	before := len(p.requests())
	if _, err := c.Presence(ctxT(t), "alice"); err == nil {
		t.Fatal("no error with every answer lost")
	}
	if n := len(p.requests()) - before; n != 3 {
		t.Fatalf("%d attempts, want 3", n)
	}
}

// The publish rate limit answers 429 with Retry-After; the client waits
// that long (plus jitter) and the retry goes through. A Retry-After over
// MaxDelay, or past the context's deadline, is returned at once.
func TestRateLimitRetryAfter(t *testing.T) {
	e := newEnv(t, envOpts{publishRate: 1.0 / 60, publishBurst: 1})
	c := e.client("", client.WithRetry(client.RetryPolicy{MaxDelay: 2 * time.Minute}))
	// The waits are instant, but a context deadline before the end of
	// the 60 s wait would end the call at once (checked below).
	long, cancelLong := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancelLong()
	for i := range 2 {
		if _, err := c.Publish(long, "alice", client.Message{Message: "m"}); err != nil {
			t.Fatalf("publish %d: %v", i, err)
		}
	}
	w := e.waits()
	if len(w) != 1 || w[0] < 60*time.Second || w[0] > 60*time.Second+client.DefaultBaseDelay {
		t.Fatalf("waits %v, want one of 60s plus at most %v of jitter", w, client.DefaultBaseDelay)
	}
	if n := e.count("alice"); n != 2 {
		t.Fatalf("%d stored, want 2", n)
	}

	// MaxDelay below the Retry-After: the 429 comes back with it.
	short := e.client("", client.WithRetry(client.RetryPolicy{MaxDelay: 10 * time.Second}))
	_, err := short.Publish(ctxT(t), "alice", client.Message{Message: "m"})
	ce := asError(t, err)
	if ce.Status != http.StatusTooManyRequests || ce.Code != belfry.ERATELIMIT || ce.RetryAfter < 59*time.Second || ce.RetryAfter > 60*time.Second {
		t.Fatalf("over MaxDelay: %+v", ce)
	}
	// A context that ends before the wait would: the same.
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_, err = c.Publish(ctx, "alice", client.Message{Message: "m"})
	if ce := asError(t, err); ce.Status != http.StatusTooManyRequests {
		t.Fatalf("past the deadline: %+v", ce)
	}
	if w := e.waits(); len(w) != 1 {
		t.Fatalf("waits %v: the refused calls waited", w)
	}
}

// flakyStore answers EUNAVAILABLE to the first fails publishes, as a
// store that cannot be reached does.
type flakyStore struct {
	belfry.Store
	fails atomic.Int32
}

func (s *flakyStore) Publish(ctx context.Context, b *belfry.Batch) error {
	if s.fails.Add(-1) >= 0 {
		return belfry.Unavailable("the store", errors.New("connection refused"))
	}
	return s.Store.Publish(ctx, b)
}

// 503 is retried after its Retry-After, and attempts stop at MaxAttempts.
func TestUnavailableRetried(t *testing.T) {
	flaky := &flakyStore{}
	e := newEnv(t, envOpts{retryAfter: 3 * time.Second, store: func(s belfry.Store) belfry.Store {
		flaky.Store = s
		return flaky
	}})
	c := e.client("")
	flaky.fails.Store(2)
	p, err := c.Publish(ctxT(t), "alice", client.Message{Message: "m"})
	if err != nil {
		t.Fatal(err)
	}
	if p.Replayed || len(p.Notifications) != 1 || e.count("alice") != 1 {
		t.Fatalf("published %+v, %d stored", p, e.count("alice"))
	}
	w := e.waits()
	if len(w) != 2 || w[0] < 3*time.Second || w[1] < 3*time.Second || w[1] > 3*time.Second+client.DefaultBaseDelay {
		t.Fatalf("waits %v, want two of 3s plus jitter", w)
	}

	flaky.fails.Store(100)
	c = e.client("", client.WithRetry(client.RetryPolicy{MaxAttempts: 3}))
	_, err = c.Publish(ctxT(t), "alice", client.Message{Message: "m"})
	ce := asError(t, err)
	if ce.Status != http.StatusServiceUnavailable || ce.Code != belfry.EUNAVAILABLE || ce.RetryAfter != 3*time.Second {
		t.Fatalf("after MaxAttempts: %+v", ce)
	}
	if used := 100 - flaky.fails.Load(); used != 3 {
		t.Fatalf("%d attempts, want 3", used)
	}
}

// A context cancelled during a wait ends the call with both errors.
func TestCancelDuringWait(t *testing.T) {
	flaky := &flakyStore{}
	e := newEnv(t, envOpts{store: func(s belfry.Store) belfry.Store { flaky.Store = s; return flaky }})
	flaky.fails.Store(100)
	ctx, cancel := context.WithCancel(context.Background())
	c, err := client.New(e.url, testAPIKey, client.WithSleep(func(context.Context, time.Duration) error {
		cancel()
		return context.Canceled
	}))
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.Publish(ctx, "alice", client.Message{Message: "m"})
	if !errors.Is(err, context.Canceled) || asError(t, err).Status != http.StatusServiceUnavailable {
		t.Fatalf("cancelled: %v", err)
	}
}
