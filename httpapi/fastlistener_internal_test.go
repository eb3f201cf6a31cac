package httpapi

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"
)

// echo answers what it was asked, and whether FastListener served it.
type echoed struct {
	Fast          bool                `json:"fast"`
	Method        string              `json:"method"`
	URI           string              `json:"uri"`
	Query         string              `json:"query"`
	Host          string              `json:"host"`
	Header        map[string][]string `json:"header"`
	ContentLength int64               `json:"content_length"`
	Body          string              `json:"body"`
}

func echo(w http.ResponseWriter, r *http.Request) {
	b, err := io.ReadAll(r.Body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	_, fast := w.(*fastWriter)
	h := r.Header.Clone()
	h.Del("Content-Length")
	out, _ := json.Marshal(echoed{Fast: fast, Method: r.Method, URI: r.RequestURI, Query: r.URL.RawQuery,
		Host: r.Host, Header: h, ContentLength: r.ContentLength, Body: string(b)})
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Injected", "a\r\nSet-Cookie: b") // must stay one header
	w.WriteHeader(http.StatusCreated)
	w.Write(out)
}

// frontServer serves echo behind a FastListener (front) or net/http alone.
func frontServer(t *testing.T, front bool, h http.HandlerFunc) (string, *FastListener) {
	t.Helper()
	return frontServerWith(t, front, h, HTTPOptions{})
}

// frontServerWith is frontServer with the timeouts of o.
func frontServerWith(t *testing.T, front bool, h http.HandlerFunc, o HTTPOptions) (string, *FastListener) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := NewHTTPServer(h, o)
	var fl *FastListener
	var served net.Listener = ln
	if front {
		fl = NewFastListener(ln, srv.Handler, o)
		served = fl
	}
	done := make(chan struct{})
	go func() { srv.Serve(served); close(done) }()
	t.Cleanup(func() {
		srv.Close()
		if fl != nil {
			fl.Shutdown(context.Background())
		}
		<-done
	})
	return ln.Addr().String(), fl
}

type rawAnswer struct {
	status int
	header http.Header
	echo   echoed
	body   string
}

// exchange writes raw on one connection and reads n answers.
func exchange(t *testing.T, addr, raw string, n int) []rawAnswer {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(fastWait))
	if _, err := io.WriteString(c, raw); err != nil {
		t.Fatal(err)
	}
	br := bufio.NewReader(c)
	var out []rawAnswer
	for range n {
		out = append(out, readAnswer(t, br))
	}
	return out
}

// readAnswer reads one answer from br; its JSON body, if an echo, into
// echo.
func readAnswer(t *testing.T, br *bufio.Reader) rawAnswer {
	t.Helper()
	res, err := http.ReadResponse(br, nil)
	if err != nil {
		msg := err.Error()
		t.Fatal(msg[:min(len(msg), 200)])
	}
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	a := rawAnswer{status: res.StatusCode, header: res.Header, body: string(b)}
	json.Unmarshal(b, &a.echo)
	return a
}

const fastWait = 15 * time.Second

func publishRaw(body string, extra ...string) string {
	h := "POST /api/notifications HTTP/1.1\r\nHost: belfry.test\r\nContent-Type: application/json\r\n"
	for _, e := range extra {
		h += e + "\r\n"
	}
	return h + "Content-Length: " + strconv.Itoa(len(body)) + "\r\n\r\n" + body
}

// TestFastListenerServesPublishes: publishes are served fast, one after
// the other and pipelined, with the same request as net/http would give
// the handler, and a well-formed answer.
func TestFastListenerServesPublishes(t *testing.T) {
	for _, front := range []bool{true, false} {
		addr, _ := frontServer(t, front, echo)
		raw := publishRaw(`{"a":1}`, "Authorization: Bearer k1", "x-lower-case: v", "X-Two: 1", "X-Two: 2") +
			publishRaw(`{"b":2}`) +
			strings.Replace(publishRaw(`{"c":3}`), "/api/notifications", "/apps/1/events?auth_key=k&body_md5=x", 1)
		got := exchange(t, addr, raw, 3)
		for i, a := range got {
			if a.status != http.StatusCreated || a.echo.Fast != front || a.echo.Method != "POST" || a.echo.Host != "belfry.test" {
				t.Fatalf("front=%v answer %d: %d %+v", front, i, a.status, a.echo)
			}
			if a.header.Get("Date") == "" || a.header.Get("Content-Type") != "application/json" {
				t.Errorf("front=%v answer %d header %v", front, i, a.header)
			}
			if v := a.header.Values("X-Injected"); len(v) != 1 || a.header.Get("Set-Cookie") != "" {
				t.Errorf("front=%v: a CR LF in a value made a header: %q", front, a.header)
			}
		}
		e := got[0].echo
		if e.Body != `{"a":1}` || e.ContentLength != 7 || e.URI != "/api/notifications" ||
			e.Header["Authorization"][0] != "Bearer k1" || e.Header["X-Lower-Case"][0] != "v" ||
			strings.Join(e.Header["X-Two"], ",") != "1,2" {
			t.Errorf("front=%v first request seen as %+v", front, e)
		}
		if e := got[2].echo; e.URI != "/apps/1/events?auth_key=k&body_md5=x" || e.Query != "auth_key=k&body_md5=x" || e.Body != `{"c":3}` {
			t.Errorf("front=%v Pusher request seen as %+v", front, e)
		}
	}
}

// TestFastListenerHandsOver: whatever is not a plain publish goes to
// net/http and is answered exactly as net/http alone answers it, also
// after publishes on the same connection.
func TestFastListenerHandsOver(t *testing.T) {
	pub := publishRaw(`{"a":1}`)
	cases := []struct {
		name string
		raw  string
		n    int
		fast []bool // which answers the front served
	}{
		{"a GET", "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n", 1, []bool{false}},
		{"a publish then a GET", pub + "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n", 2, []bool{true, false}},
		{"a publish then a chunked one", pub + "POST /api/notifications HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n7\r\n{\"a\":1}\r\n0\r\n\r\n", 2, []bool{true, false}},
		{"HTTP/1.0", strings.Replace(pub, "HTTP/1.1", "HTTP/1.0", 1), 1, []bool{false}},
		{"Expect", publishRaw(`{"a":1}`, "Expect: 100-continue"), 1, []bool{false}},
		{"no Host", strings.Replace(pub, "Host: belfry.test\r\n", "", 1), 1, []bool{false}},
		{"two Hosts", publishRaw(`{}`, "Host: other"), 1, []bool{false}},
		{"a space before the colon", publishRaw(`{}`, "X-A : b"), 1, []bool{false}},
		{"a folded line", publishRaw(`{}`, "X-A: b", " c"), 1, []bool{false}},
		{"two lengths", publishRaw(`{}`, "Content-Length: 3"), 1, []bool{false}},
		{"a signed length", strings.Replace(pub, "Content-Length: 7", "Content-Length: +7", 1), 1, []bool{false}},
		{"a control character", publishRaw(`{}`, "X-A: b\x01"), 1, []bool{false}},
		{"a large head", publishRaw(`{}`, "X-Big: "+strings.Repeat("b", 5000)), 1, []bool{false}},
		{"Connection: upgrade", publishRaw(`{}`, "Connection: upgrade", "Upgrade: websocket"), 1, []bool{false}},
		{"a lookalike path", strings.Replace(pub, "/api/notifications", "/api/notificationsX", 1), 1, []bool{false}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			fastAddr, _ := frontServer(t, true, echo)
			plainAddr, _ := frontServer(t, false, echo)
			got := exchange(t, fastAddr, c.raw, c.n)
			want := exchange(t, plainAddr, c.raw, c.n)
			for i := range got {
				if got[i].status != want[i].status {
					t.Errorf("answer %d: %d, net/http alone %d (%s)", i, got[i].status, want[i].status, got[i].body)
				}
				if got[i].echo.Fast != c.fast[i] {
					t.Errorf("answer %d served fast: %v, want %v", i, got[i].echo.Fast, c.fast[i])
				}
				g, w := got[i].echo, want[i].echo
				g.Fast, w.Fast = false, false
				gj, _ := json.Marshal(g)
				wj, _ := json.Marshal(w)
				if string(gj) != string(wj) {
					t.Errorf("answer %d: handler saw %s, with net/http alone %s", i, gj, wj)
				}
			}
		})
	}
}

// TestFastListenerBodies: an unread body is skipped and the connection
// kept; Connection: close is honoured.
func TestFastListenerBodies(t *testing.T) {
	addr, _ := frontServer(t, true, func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("X-Read") == "no" {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		echo(w, r)
	})
	got := exchange(t, addr, publishRaw(`{"unread":true}`, "X-Read: no")+publishRaw(`{"a":1}`), 2)
	if got[0].status != http.StatusUnauthorized || got[1].status != http.StatusCreated || got[1].echo.Body != `{"a":1}` {
		t.Fatalf("after an unread body: %d, %d %+v", got[0].status, got[1].status, got[1].echo)
	}
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(fastWait))
	io.WriteString(c, publishRaw(`{}`, "Connection: close"))
	br := bufio.NewReader(c)
	res, err := http.ReadResponse(br, nil)
	if err != nil || res.StatusCode != http.StatusCreated || !res.Close {
		t.Fatalf("Connection: close answered %v (close %v), %v", res.StatusCode, res.Close, err)
	}
	io.Copy(io.Discard, res.Body)
	if _, err := br.ReadByte(); err != io.EOF {
		t.Errorf("the connection stayed open: %v", err)
	}
}

// TestFastListenerShutdown: Shutdown closes idle fast connections and
// lets one in the middle of a request answer first.
func TestFastListenerShutdown(t *testing.T) {
	entered, release := make(chan struct{}), make(chan struct{})
	addr, fl := frontServer(t, true, func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("X-Hold") != "" {
			close(entered)
			<-release
		}
		echo(w, r)
	})
	idle, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer idle.Close()
	idle.SetDeadline(time.Now().Add(fastWait))
	io.WriteString(idle, publishRaw(`{}`))
	ibr := bufio.NewReader(idle)
	if res, err := http.ReadResponse(ibr, nil); err != nil || res.StatusCode != http.StatusCreated {
		t.Fatalf("idle connection's publish: %v", err)
	} else {
		io.Copy(io.Discard, res.Body)
	}

	busy, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	busy.SetDeadline(time.Now().Add(fastWait))
	io.WriteString(busy, publishRaw(`{"held":1}`, "X-Hold: 1"))
	<-entered

	shut := make(chan error, 1)
	go func() { shut <- fl.Shutdown(context.Background()) }()
	if _, err := ibr.ReadByte(); err != io.EOF {
		t.Errorf("idle connection after Shutdown: %v, want EOF", err)
	}
	select {
	case err := <-shut:
		t.Fatalf("Shutdown returned (%v) while a request was being served", err)
	default:
	}
	close(release)
	res, err := http.ReadResponse(bufio.NewReader(busy), nil)
	if err != nil || res.StatusCode != http.StatusCreated || !res.Close {
		t.Fatalf("the held request: %v %v", res, err)
	}
	if err := <-shut; err != nil {
		t.Fatal(err)
	}
}

// A connection's requests share one request, header and value slice: the
// second request keeps none of the first one's headers, and parsing it
// allocates only the head's string.
func TestFastParseHeadReuses(t *testing.T) {
	fc := &fastConn{tmpl: &http.Request{}, remote: "127.0.0.1:1"}
	first := []byte("POST /api/notifications HTTP/1.1\r\nHost: a\r\nX-Api-Key: k1\r\nX-One: 1\r\nContent-Length: 2\r\n\r\n")
	second := []byte("POST /api/notifications?x=1 HTTP/1.1\r\nHost: b\r\nAuthorization: Bearer k2\r\nContent-Length: 3\r\n\r\n")
	r := fc.parseHead(first)
	if r == nil || r.Header.Get("X-One") != "1" || r.Host != "a" {
		t.Fatalf("first: %+v", r)
	}
	r = fc.parseHead(second)
	if r == nil || r.Host != "b" || r.URL.RawQuery != "x=1" || r.ContentLength != 3 {
		t.Fatalf("second: %+v", r)
	}
	if len(r.Header) != 2 || r.Header.Get("Authorization") != "Bearer k2" || r.Header.Get("Content-Length") != "3" {
		t.Fatalf("second request's header: %v", r.Header)
	}
	plain := []byte("POST /api/notifications HTTP/1.1\r\nHost: a\r\nX-Api-Key: k1\r\nContent-Length: 2\r\n\r\n")
	if n := testing.AllocsPerRun(100, func() { fc.parseHead(plain) }); n > 1 {
		t.Fatalf("parseHead allocates %v times, want 1 (the head's string)", n)
	}
}
