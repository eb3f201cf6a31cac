package bench

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// pubServer is a net/http server that counts the publishes it reads (by
// seq) and the connections it accepts, and answers each seq as mode says.
type pubServer struct {
	*httptest.Server
	t       *testing.T
	mode    func(seq int) string
	got     chan int      // seqs that reached a "block" handler
	release chan struct{} // closed at cleanup: "block" handlers return

	mu    sync.Mutex
	seqs  map[int]int
	conns int
	idle  map[net.Conn]bool
}

func startPubServer(t *testing.T, mode func(seq int) string) *pubServer {
	s := &pubServer{t: t, mode: mode, got: make(chan int, 16), release: make(chan struct{}),
		seqs: map[int]int{}, idle: map[net.Conn]bool{}}
	s.Server = httptest.NewUnstartedServer(http.HandlerFunc(s.serve))
	s.Config.ConnState = func(c net.Conn, st http.ConnState) {
		s.mu.Lock()
		defer s.mu.Unlock()
		switch st {
		case http.StateNew:
			s.conns++
		case http.StateIdle:
			s.idle[c] = true
		default:
			delete(s.idle, c)
		}
	}
	s.Start()
	t.Cleanup(func() { close(s.release); s.Close() })
	return s
}

func (s *pubServer) serve(w http.ResponseWriter, r *http.Request) {
	seq, err := strconv.Atoi(r.URL.Query().Get("seq"))
	var body struct {
		UserID  string   `json:"user_id"`
		UserIDs []string `json:"user_ids"`
		Message string   `json:"message"`
	}
	if err == nil {
		err = json.NewDecoder(r.Body).Decode(&body)
	}
	switch {
	case err != nil:
	case r.Method != http.MethodPost || r.Header.Get("Authorization") != "Bearer k1" ||
		r.Header.Get("Content-Type") != "application/json" || r.Host != s.Listener.Addr().String():
		err = fmt.Errorf("request %s %s, headers %v", r.Method, r.Host, r.Header)
	case !strings.HasPrefix(body.Message, "seq="+strconv.Itoa(seq)+" t="):
		err = fmt.Errorf("seq %d, message %q", seq, body.Message)
	case body.UserID == "" && len(body.UserIDs) == 0:
		err = fmt.Errorf("no user in %+v", body)
	}
	if err != nil {
		s.t.Errorf("bad request: %v", err)
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	s.mu.Lock()
	s.seqs[seq]++
	s.mu.Unlock()

	switch s.mode(seq) {
	case "length":
		w.Write([]byte(`{"ok":true}`))
	case "chunked": // several chunks and a trailer
		w.Header().Set("Trailer", "X-Sum")
		w.Write([]byte(`{"ok":`))
		w.(http.Flusher).Flush()
		w.Write([]byte(`true}`))
		w.Header().Set("X-Sum", "1")
	case "close":
		w.Header().Set("Connection", "close")
		w.Write([]byte("bye"))
	case "eof": // no Content-Length, not chunked: the body ends at close
		conn, bw, _ := w.(http.Hijacker).Hijack()
		bw.WriteString("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\nuntil the end")
		bw.Flush()
		conn.Close()
	case "vanish": // read the request, then close without an answer
		conn, _, _ := w.(http.Hijacker).Hijack()
		conn.Close()
	case "early": // a 1xx interim answer first
		w.Header().Set("Link", "</x>; rel=preload")
		w.WriteHeader(http.StatusEarlyHints)
		w.Write([]byte("ok"))
	case "empty":
		w.WriteHeader(http.StatusNoContent)
	case "fail":
		w.WriteHeader(http.StatusInternalServerError)
		w.Write([]byte("  " + strings.Repeat("x", 300)))
	case "block":
		s.got <- seq
		select {
		case <-r.Context().Done():
		case <-s.release:
		}
	}
}

// counts returns how often each seq was read and the connections accepted.
func (s *pubServer) counts() (map[int]int, int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	m := make(map[int]int, len(s.seqs))
	for k, v := range s.seqs {
		m[k] = v
	}
	return m, s.conns
}

// closeIdle closes the server's idle keep-alive connections (with a reset
// instead of a FIN when rst) once there is one, and returns how many.
func (s *pubServer) closeIdle(rst bool) int {
	s.t.Helper()
	var n int
	poll(s.t, "an idle server connection", func() bool {
		s.mu.Lock()
		defer s.mu.Unlock()
		for c := range s.idle {
			if tc, ok := c.(*net.TCPConn); ok && rst {
				tc.SetLinger(0)
			}
			c.Close()
			delete(s.idle, c)
			n++
		}
		return n > 0
	})
	return n
}

// poll waits until cond holds, failing the test after 10 s.
func poll(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for end := time.Now().Add(10 * time.Second); !cond(); {
		if time.Now().After(end) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

func testPublisher(t *testing.T, url string) *publisher {
	t.Helper()
	p, err := newPublisher(&Config{PublishURL: url, APIKey: "k1",
		PublishBody:      `{"user_id":"{{user}}","message":"{{payload}}"}`,
		PublishBodyMulti: `{"user_ids":{{users}},"message":"{{payload}}"}`,
		PublishHdrs:      []string{"Authorization: Bearer {{api_key}}"}},
		[]string{"u0", "u1", "u2"})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func requests(n int) []pubRequest {
	reqs := make([]pubRequest, n)
	for i := range reqs {
		reqs[i] = pubRequest{seq: int32(i), users: []int{i % 3}}
		if i%4 == 3 {
			reqs[i].users = []int{0, 1, 2}
		}
	}
	return reqs
}

// Every kind of answer gives the right result, each request is read by
// the server once, and connections are kept exactly when they may be.
func TestPublisherAnswers(t *testing.T) {
	const n, conc = 20, 2
	for _, tc := range []struct {
		mode      string
		ok        int
		keepAlive bool
		err       string
	}{
		{"length", n, true, ""},
		{"chunked", n, true, ""},
		{"early", n, true, ""},
		{"empty", n, true, ""},
		{"close", n, false, ""},
		{"eof", n, false, ""},
		{"fail", 0, true, "publish answered 500: " + strings.Repeat("x", 200)},
	} {
		t.Run(tc.mode, func(t *testing.T) {
			srv := startPubServer(t, func(int) string { return tc.mode })
			p := testPublisher(t, srv.URL+"/api/notifications?seq={{seq}}")
			st := p.run(t.Context(), requests(n), conc, 0)
			if st.Sent != n || st.OK != tc.ok || st.Failed != n-tc.ok {
				t.Fatalf("sent %d, ok %d, failed %d, errors %q", st.Sent, st.OK, st.Failed, st.Errors)
			}
			if tc.err != "" && (len(st.Errors) == 0 || st.Errors[0] != tc.err) {
				t.Fatalf("errors %q, want %q", st.Errors, tc.err)
			}
			seqs, conns := srv.counts()
			for seq := range n {
				if seqs[seq] != 1 {
					t.Errorf("seq %d read %d times", seq, seqs[seq])
				}
			}
			if tc.keepAlive && conns > conc || !tc.keepAlive && conns != n {
				t.Errorf("%d connections for %d requests by %d publishers", conns, n, conc)
			}
		})
	}
}

// The server closes an idle keep-alive connection (FIN or reset): the next
// request goes over a fresh connection, and nothing is sent twice.
func TestPublisherServerClosedIdle(t *testing.T) {
	for _, rst := range []bool{false, true} {
		t.Run(fmt.Sprintf("reset=%v", rst), func(t *testing.T) {
			srv := startPubServer(t, func(int) string { return "length" })
			p := testPublisher(t, srv.URL+"/p?seq={{seq}}")
			s := &sender{conn: newHTTPConn(t.Context(), &p.target)}
			defer s.conn.close()
			reqs := requests(3)
			for i, r := range reqs {
				if i > 0 {
					srv.closeIdle(rst)
					// The close reaches the client's socket asynchronously.
					poll(t, "the client to see the close", func() bool { return !s.conn.reusable() })
				}
				if err := p.send(s, r); err != nil {
					t.Fatalf("send %d: %v", i, err)
				}
			}
			seqs, conns := srv.counts()
			if len(seqs) != 3 || seqs[0] != 1 || seqs[1] != 1 || seqs[2] != 1 || conns != 3 {
				t.Fatalf("seqs %v over %d connections", seqs, conns)
			}
		})
	}
}

// A server that read a request and closed without answering may have
// acted on it: the request fails and is not sent again, and the next one
// goes over a new connection.
func TestPublisherNoResend(t *testing.T) {
	srv := startPubServer(t, func(seq int) string {
		if seq == 1 {
			return "vanish"
		}
		return "length"
	})
	p := testPublisher(t, srv.URL+"/p?seq={{seq}}")
	st := p.run(t.Context(), requests(3), 1, 0)
	if st.OK != 2 || st.Failed != 1 || len(st.Acked) != 2 || st.Acked[1].seq != 2 {
		t.Fatalf("ok %d, failed %d, acked %v, errors %q", st.OK, st.Failed, st.Acked, st.Errors)
	}
	seqs, conns := srv.counts()
	if seqs[0] != 1 || seqs[1] != 1 || seqs[2] != 1 || conns != 2 {
		t.Fatalf("seqs %v over %d connections", seqs, conns)
	}
}

// The run's end stops a request the server does not answer; so does the
// request's deadline.
func TestPublisherCancelAndDeadline(t *testing.T) {
	srv := startPubServer(t, func(int) string { return "block" })
	p := testPublisher(t, srv.URL+"/p?seq={{seq}}")

	ctx, cancel := context.WithCancel(t.Context())
	go func() {
		<-srv.got
		cancel()
	}()
	st := p.run(ctx, requests(1), 1, 0)
	if st.Failed != 1 || len(st.Errors) != 1 || !strings.Contains(st.Errors[0], "context canceled") {
		t.Fatalf("failed %d, errors %q", st.Failed, st.Errors)
	}

	s := &sender{conn: newHTTPConn(t.Context(), &p.target)}
	defer s.conn.close()
	s.conn.timeout = 50 * time.Millisecond
	if err := p.send(s, requests(2)[1]); !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("send: %v, want a deadline error", err)
	}
}

func TestPublisherURLs(t *testing.T) {
	p := testPublisher(t, "http://localhost/api?u={{user}}&s={{seq}}#frag")
	if got := p.render(nil, p.path, pubRequest{seq: 3, users: []int{1}}, 0); string(got) != "/api?u=u1&s=3" {
		t.Errorf("path %s", got)
	}
	if p.target.addr != "localhost:80" {
		t.Errorf("addr %q", p.target.addr)
	}
	if p := testPublisher(t, "http://127.0.0.1:9?x=1"); p.path.Render(nil) != "/?x=1" {
		t.Errorf("path %q", p.path.Render(nil))
	}
	for _, url := range []string{
		"https://127.0.0.1:8443/api", // no TLS
		"http://a:b@127.0.0.1:80/api",
		"http://127.0.0.1:{{seq}}/api",
	} {
		if _, err := newPublisher(&Config{PublishURL: url}, []string{"u"}); err == nil {
			t.Errorf("%s: no error", url)
		}
	}
	// {{users}} is a JSON array, each user escaped.
	p = testPublisher(t, "http://localhost/")
	p.users = []string{"a", `b"c`}
	p.usersJSON = []string{`"a"`, `"b\"c"`}
	body := p.render(nil, p.multi, pubRequest{seq: 7, users: []int{0, 1}}, 9)
	if string(body) != `{"user_ids":["a","b\"c"],"message":"seq=7 t=9"}` {
		t.Errorf("body %s", body)
	}
	// Headers: the user's Content-Type replaces the default; Content-Length is ours.
	p, err := newPublisher(&Config{PublishURL: "http://127.0.0.1:1/", PublishHdrs: []string{
		"content-type: text/plain", "X-A: 1"}}, []string{"u"})
	if err != nil {
		t.Fatal(err)
	}
	want := "Host: 127.0.0.1:1\r\nUser-Agent: belfry-bench\r\ncontent-type: text/plain\r\nX-A: 1\r\n"
	if string(p.target.lines) != want {
		t.Errorf("lines %q, want %q", p.target.lines, want)
	}
	if _, err := newPublisher(&Config{PublishURL: "http://127.0.0.1:1/",
		PublishHdrs: []string{"Content-Length: 3"}}, []string{"u"}); err == nil {
		t.Error("Content-Length header: no error")
	}
}

// Response heads and bodies, parsed from a byte stream.
func TestReadResponse(t *testing.T) {
	for _, tc := range []struct {
		in     string
		status int
		keep   bool
		msg    string
		err    bool
	}{
		{"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok", 200, true, "ok", false},
		{"HTTP/1.1 200\nContent-Length:2\n\nok", 200, true, "ok", false}, // bare LF, no reason
		{"HTTP/1.1 201 Created\r\nContent-Length: 2\r\nConnection: Keep-Alive, Close\r\n\r\nok", 201, false, "ok", false},
		{"HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nok", 200, false, "ok", false},
		{"HTTP/1.0 200 OK\r\nContent-Length: 2\r\nConnection: keep-alive\r\n\r\nok", 200, true, "ok", false},
		{"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2;x=y\r\nok\r\nA\r\n0123456789\r\n0\r\nT: 1\r\n\r\n", 200, true, "ok0123456789", false},
		{"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nokX\r\n", 200, false, "ok", false}, // bad chunk end
		{"HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\nContent-Length: 1\r\n\r\nabc", 200, false, "abc", false},
		{"HTTP/1.1 200 OK\r\n\r\nto the end", 200, false, "to the end", false},
		{"HTTP/1.1 304 Not Modified\r\nContent-Length: 9\r\n\r\n", 304, true, "", false},
		{"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", 200, true, "", false},
		{"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nok", 200, false, "", false}, // cut body
		{"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\nok", 0, false, "", true},
		{"HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n", 0, false, "", true},
		{"HTTP/2 200\r\n\r\n", 0, false, "", true},
		{"HTTP/1.1 2x0 OK\r\n\r\n", 0, false, "", true},
		{"HTTP/1.1 200 OK\r\nno colon\r\n\r\n", 0, false, "", true},
		{"HTTP/1.1 200 OK\r\nX: " + strings.Repeat("a", 5000) + "\r\n\r\n", 0, false, "", true},
		{"HTTP/1.1 200 OK\r\nContent-Le", 0, false, "", true},
		{"", 0, false, "", true},
	} {
		c := newHTTPConn(t.Context(), &httpTarget{})
		c.br = bufio.NewReaderSize(strings.NewReader(tc.in), 4096)
		status, keep, err := c.readResponse()
		if (err != nil) != tc.err || status != tc.status || keep != tc.keep || (!tc.err && string(c.msg) != tc.msg) {
			t.Errorf("%q: status %d, keep %v, msg %q, err %v", tc.in, status, keep, c.msg, err)
		}
	}
}

// BenchmarkPublisherSend is one publish over a kept-alive connection to a
// minimal server that does not allocate, so allocs/op are the client's.
func BenchmarkPublisherSend(b *testing.B) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			go answerOK(conn)
		}
	}()
	p, err := newPublisher(&Config{PublishURL: "http://" + ln.Addr().String() + "/api/notifications",
		PublishBody: `{"user_id":"{{user}}","message":"{{payload}}"}`, APIKey: "k1",
		PublishHdrs: []string{"Authorization: Bearer {{api_key}}"}}, []string{"u0"})
	if err != nil {
		b.Fatal(err)
	}
	s := &sender{conn: newHTTPConn(b.Context(), &p.target)}
	defer s.conn.close()
	r := pubRequest{users: []int{0}}
	b.ReportAllocs()
	for b.Loop() {
		if err := p.send(s, r); err != nil {
			b.Fatal(err)
		}
	}
}

// answerOK answers every request on conn with 200 and a 2-byte body.
func answerOK(conn net.Conn) {
	defer conn.Close()
	br := bufio.NewReader(conn)
	resp := []byte("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
	c := &httpConn{br: br}
	for {
		n := int64(0)
		for {
			line, err := c.readLine()
			if err != nil {
				return
			}
			if len(line) == 0 {
				break
			}
			if k, v, _ := cutHeader(line); eqFold(k, "Content-Length") {
				n, _ = parseDec(v)
			}
		}
		if _, err := br.Discard(int(n)); err != nil {
			return
		}
		if _, err := conn.Write(resp); err != nil {
			return
		}
	}
}
