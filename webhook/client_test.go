package webhook

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/belfry/belfry"
)

// captured is what a test endpoint saw of one request.
type captured struct {
	method, path string
	header       http.Header
	body         []byte
}

// recorder starts an endpoint that answers every request with status (and
// Retry-After when retryAfter is set) and hands each request to the test.
func recorder(t *testing.T, status int, retryAfter string) (*httptest.Server, <-chan captured) {
	t.Helper()
	got := make(chan captured, 16)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		got <- captured{r.Method, r.URL.Path, r.Header.Clone(), b}
		if retryAfter != "" {
			w.Header().Set("Retry-After", retryAfter)
		}
		w.WriteHeader(status)
		io.WriteString(w, "thanks")
	}))
	t.Cleanup(srv.Close)
	return srv, got
}

func key(c byte, n int) []byte { return []byte(strings.Repeat(string(c), n)) }

func wantCode(t *testing.T, err error, code string) {
	t.Helper()
	if got := belfry.ErrorCode(err); got != code {
		t.Fatalf("error %v has code %q, want %q", err, got, code)
	}
}

func TestDeliverRequest(t *testing.T) {
	srv, got := recorder(t, http.StatusNoContent, "")
	k := key('a', 32)
	c := &Client{URL: srv.URL + "/hooks/belfry", Keys: [][]byte{k}}
	at := time.Unix(1765101600, 0)
	body := []byte(`{"type":"notification.unseen","timestamp":"2025-12-07T10:00:00.000Z","data":{"id":12,"title":"Größe 🔔"}}`)

	d, err := c.Deliver(t.Context(), "01JF8ZQ3X4", at, body)
	if err != nil {
		t.Fatal(err)
	}
	if d != (belfry.Delivery{Status: http.StatusNoContent}) {
		t.Fatalf("Deliver = %+v, want status 204 and no Retry-After", d)
	}
	r := <-got
	if r.method != http.MethodPost || r.path != "/hooks/belfry" {
		t.Fatalf("request %s %s, want POST /hooks/belfry", r.method, r.path)
	}
	if string(r.body) != string(body) {
		t.Fatalf("body %q, want %q", r.body, body)
	}
	for h, want := range map[string]string{
		"Webhook-Id":        "01JF8ZQ3X4",
		"Webhook-Timestamp": "1765101600",
		"Webhook-Signature": Sign(k, "01JF8ZQ3X4", at, body),
		"Content-Type":      "application/json",
		"User-Agent":        "belfry",
		"Content-Length":    strconv.Itoa(len(body)),
	} {
		if v := r.header.Get(h); v != want {
			t.Errorf("%s: %q, want %q", h, v, want)
		}
	}
	if n := len(r.header.Values("Webhook-Signature")); n != 1 {
		t.Errorf("%d webhook-signature headers, want 1", n)
	}

	c.UserAgent = "belfry/1.4.0"
	if _, err := c.Deliver(t.Context(), "01JF8ZQ3X5", at, body); err != nil {
		t.Fatal(err)
	}
	if ua := (<-got).header.Get("User-Agent"); ua != "belfry/1.4.0" {
		t.Fatalf("User-Agent %q, want belfry/1.4.0", ua)
	}
}

// The header names go on the wire in lower case, as the specification
// writes them (a Go server would hide that: it canonicalizes names).
func TestDeliverHeaderNamesOnTheWire(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	head := make(chan string, 1)
	go func() {
		conn, err := ln.Accept()
		if err != nil {
			head <- "accept: " + err.Error()
			return
		}
		defer conn.Close()
		br := bufio.NewReader(conn)
		var sb strings.Builder
		for {
			line, err := br.ReadString('\n')
			sb.WriteString(line)
			if err != nil || line == "\r\n" {
				break
			}
		}
		head <- sb.String()
		io.WriteString(conn, "HTTP/1.1 202 Accepted\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
	}()

	c := &Client{URL: "http://" + ln.Addr().String() + "/", Keys: [][]byte{key('w', 24)}}
	d, err := c.Deliver(t.Context(), "msg_wire", time.Unix(1700000000, 0), []byte(`{}`))
	if err != nil {
		t.Fatal(err)
	}
	if d.Status != http.StatusAccepted {
		t.Fatalf("status %d, want 202", d.Status)
	}
	h := <-head
	for _, line := range []string{
		"\r\nwebhook-id: msg_wire\r\n",
		"\r\nwebhook-timestamp: 1700000000\r\n",
		"\r\nwebhook-signature: v1,",
	} {
		if !strings.Contains(h, line) {
			t.Errorf("request head lacks %q:\n%s", strings.TrimSpace(line), h)
		}
	}
}

// With several keys, one signature per key, in the order of the keys, so a
// receiver that has either the old or the new secret verifies.
func TestDeliverRotation(t *testing.T) {
	srv, got := recorder(t, http.StatusOK, "")
	newKey, oldKey, other := key('n', 32), key('o', 24), key('x', 24)
	c := &Client{URL: srv.URL, Keys: [][]byte{newKey, oldKey}}
	at := time.Unix(1700000000, 0)
	if _, err := c.Deliver(t.Context(), "msg_rot", at, []byte(`{"a":1}`)); err != nil {
		t.Fatal(err)
	}
	r := <-got
	sigs := strings.Split(r.header.Get("Webhook-Signature"), " ")
	if len(sigs) != 2 {
		t.Fatalf("webhook-signature %q: want 2 signatures, space-separated", r.header.Get("Webhook-Signature"))
	}
	for i, k := range [][]byte{newKey, oldKey} {
		if !verifies(k, r) {
			t.Errorf("key %d does not verify %q", i, sigs)
		}
		if want := Sign(k, "msg_rot", at, r.body); sigs[i] != want {
			t.Errorf("signature %d is %q, want %q", i, sigs[i], want)
		}
	}
	if verifies(other, r) {
		t.Errorf("a key the client does not hold verifies %q", sigs)
	}
}

// verifies checks r as a Standard Webhooks receiver holding key would,
// without the timestamp tolerance.
func verifies(key []byte, r captured) bool {
	ts, err := strconv.ParseInt(r.header.Get("Webhook-Timestamp"), 10, 64)
	if err != nil {
		return false
	}
	want := Sign(key, r.header.Get("Webhook-Id"), time.Unix(ts, 0), r.body)
	for _, s := range strings.Split(r.header.Get("Webhook-Signature"), " ") {
		if s == want {
			return true
		}
	}
	return false
}

func TestDeliverZeroTimeIsNow(t *testing.T) {
	srv, got := recorder(t, http.StatusOK, "")
	now := time.Unix(1800000000, 500)
	c := &Client{URL: srv.URL, Keys: [][]byte{key('k', 24)}, Now: func() time.Time { return now }}
	if _, err := c.Deliver(t.Context(), "msg_now", time.Time{}, []byte(`{}`)); err != nil {
		t.Fatal(err)
	}
	r := <-got
	if ts := r.header.Get("Webhook-Timestamp"); ts != "1800000000" {
		t.Fatalf("webhook-timestamp %q, want 1800000000", ts)
	}
	if !verifies(key('k', 24), r) {
		t.Fatal("the signature does not cover the timestamp sent")
	}
}

// Every answer is a Delivery, not an error, with its Retry-After.
func TestDeliverStatusAsIs(t *testing.T) {
	now := time.Date(2026, 12, 7, 10, 0, 0, 0, time.UTC)
	for _, c := range []struct {
		status     int
		retryAfter string
		want       time.Duration
	}{
		{http.StatusOK, "", 0},
		{http.StatusBadRequest, "", 0},
		{http.StatusGone, "", 0},
		{http.StatusTooManyRequests, "30", 30 * time.Second},
		{http.StatusInternalServerError, "", 0},
		{http.StatusServiceUnavailable, "Mon, 07 Dec 2026 10:02:00 GMT", 2 * time.Minute},
		{http.StatusServiceUnavailable, "whenever", 0},
	} {
		srv, got := recorder(t, c.status, c.retryAfter)
		cl := &Client{URL: srv.URL, Keys: [][]byte{key('s', 24)}, Now: func() time.Time { return now }}
		d, err := cl.Deliver(t.Context(), "msg_status", now, []byte(`{}`))
		if err != nil {
			t.Fatalf("status %d: %v", c.status, err)
		}
		<-got
		if d != (belfry.Delivery{Status: c.status, RetryAfter: c.want}) {
			t.Errorf("status %d, Retry-After %q: Deliver = %+v, want RetryAfter %v", c.status, c.retryAfter, d, c.want)
		}
	}
}

func TestDeliverDoesNotFollowRedirects(t *testing.T) {
	var followed atomic.Int32
	mux := http.NewServeMux()
	mux.HandleFunc("/elsewhere", func(w http.ResponseWriter, r *http.Request) { followed.Add(1) })
	mux.HandleFunc("/hook/{code}", func(w http.ResponseWriter, r *http.Request) {
		code, _ := strconv.Atoi(r.PathValue("code"))
		w.Header().Set("Location", "/elsewhere")
		w.Header().Set("Retry-After", "5")
		w.WriteHeader(code)
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)

	for _, code := range []int{301, 302, 303, 307, 308} {
		c := &Client{URL: srv.URL + "/hook/" + strconv.Itoa(code), Keys: [][]byte{key('r', 24)}}
		d, err := c.Deliver(t.Context(), "msg_redirect", time.Now(), []byte(`{}`))
		if err != nil {
			t.Fatalf("%d: %v", code, err)
		}
		if d.Status != code || d.RetryAfter != 5*time.Second {
			t.Errorf("%d: Deliver = %+v, want the %d itself with its Retry-After", code, d, code)
		}
	}
	if n := followed.Load(); n != 0 {
		t.Fatalf("the client followed %d redirects", n)
	}
}

// silentServer accepts connections and never answers on them.
func silentServer(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var conns []net.Conn
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, conn)
			mu.Unlock()
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		<-done
		mu.Lock()
		defer mu.Unlock()
		for _, c := range conns {
			c.Close()
		}
	})
	return "http://" + ln.Addr().String() + "/"
}

func TestDeliverTimeout(t *testing.T) {
	c := &Client{URL: silentServer(t), Keys: [][]byte{key('t', 24)}, Timeout: 50 * time.Millisecond}
	_, err := c.Deliver(t.Context(), "msg_silent", time.Now(), []byte(`{}`))
	wantCode(t, err, belfry.EUNAVAILABLE)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("error %v: want the deadline as its cause", err)
	}
}

func TestDeliverDefaultTimeout(t *testing.T) {
	if got := (&Client{}).timeout(); got != 10*time.Second {
		t.Fatalf("default timeout %v, want 10s", got)
	}
}

func TestDeliverNoAnswer(t *testing.T) {
	// A port that was just closed: the connection is refused.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	refused := "http://" + ln.Addr().String() + "/"
	ln.Close()
	c := &Client{URL: refused, Keys: [][]byte{key('t', 24)}}
	_, err = c.Deliver(t.Context(), "msg_refused", time.Now(), []byte(`{}`))
	wantCode(t, err, belfry.EUNAVAILABLE)
	var be *belfry.Error
	if !errors.As(err, &be) || be.Err == nil {
		t.Fatalf("error %v: want a *belfry.Error with its cause", err)
	}

	// The caller gave up.
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	c.URL = silentServer(t)
	_, err = c.Deliver(ctx, "msg_cancelled", time.Now(), []byte(`{}`))
	wantCode(t, err, belfry.EUNAVAILABLE)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("error %v: want the cancellation as its cause", err)
	}
}

// countingTransport counts the response body bytes the client reads.
type countingTransport struct{ n atomic.Int64 }

func (ct *countingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	resp, err := http.DefaultTransport.RoundTrip(r)
	if err == nil {
		resp.Body = countingBody{resp.Body, &ct.n}
	}
	return resp, err
}

type countingBody struct {
	io.ReadCloser
	n *atomic.Int64
}

func (b countingBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	b.n.Add(int64(n))
	return n, err
}

// An endless answer is read up to the limit and cut off: Deliver returns
// its status without waiting for the timeout.
func TestDeliverDrainsALittle(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusOK)
		chunk := []byte(strings.Repeat("z", 4096))
		for r.Context().Err() == nil {
			if _, err := w.Write(chunk); err != nil {
				return
			}
		}
	}))
	t.Cleanup(srv.Close)
	ct := &countingTransport{}
	c := &Client{URL: srv.URL, Keys: [][]byte{key('d', 24)}, Transport: ct, Timeout: 30 * time.Second}
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	d, err := c.Deliver(ctx, "msg_endless", time.Now(), []byte(`{}`))
	if err != nil {
		t.Fatal(err)
	}
	if d.Status != http.StatusOK {
		t.Fatalf("status %d, want 200", d.Status)
	}
	if ctx.Err() != nil {
		t.Fatal("Deliver read the endless body until the deadline")
	}
	if n := ct.n.Load(); n > maxDrain {
		t.Fatalf("read %d bytes of the answer, want at most %d", n, maxDrain)
	}
}

func TestDeliverRefusesBadIDs(t *testing.T) {
	srv, got := recorder(t, http.StatusOK, "")
	c := &Client{URL: srv.URL, Keys: [][]byte{key('i', 24)}}
	for _, id := range []string{"", "msg.1", "msg 1", "msg\r\nX-Evil: 1"} {
		_, err := c.Deliver(t.Context(), id, time.Now(), []byte(`{}`))
		wantCode(t, err, belfry.EINVALID)
	}
	select {
	case r := <-got:
		t.Fatalf("a request was sent: %+v", r)
	default:
	}
}

func TestDeliverMisconfigured(t *testing.T) {
	srv, _ := recorder(t, http.StatusOK, "")
	for _, c := range []*Client{{URL: srv.URL}, {Keys: [][]byte{key('m', 24)}}} {
		_, err := c.Deliver(t.Context(), "msg_1", time.Now(), []byte(`{}`))
		wantCode(t, err, belfry.EINTERNAL)
	}
}

func TestNew(t *testing.T) {
	s1, s2 := NewSecret(), NewSecret()
	c, err := New("https://app.example/hooks", s1, s2)
	if err != nil {
		t.Fatal(err)
	}
	k1, _ := ParseSecret(s1)
	k2, _ := ParseSecret(s2)
	if c.URL != "https://app.example/hooks" || len(c.Keys) != 2 || string(c.Keys[0]) != string(k1) || string(c.Keys[1]) != string(k2) {
		t.Fatalf("New = %+v", c)
	}
	for _, bad := range []struct {
		url     string
		secrets []string
	}{
		{"", []string{s1}},
		{"/hooks", []string{s1}},
		{"ftp://app.example/hooks", []string{s1}},
		{"https:///hooks", []string{s1}},
		{"https://app.example/hooks", nil},
		{"https://app.example/hooks", []string{s1, "whsec_c2hvcnQ="}},
	} {
		_, err := New(bad.url, bad.secrets...)
		wantCode(t, err, belfry.EINVALID)
	}
}
