package httpapi

import (
	"bufio"
	"errors"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

// shortTimeout is the timeout under test; the others are fastWait or
// longer, so only the deadline under test can end the connection.
const shortTimeout = 300 * time.Millisecond

// dialFast connects to addr and sends a first publish, which is answered
// fast, so that the connection is a fast one and has seen a request that
// arrived whole (no read deadline of its own).
func dialFast(t *testing.T, addr string) (net.Conn, *bufio.Reader) {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	c.SetDeadline(time.Now().Add(fastWait))
	if _, err := io.WriteString(c, publishRaw(`{"first":1}`)); err != nil {
		t.Fatal(err)
	}
	br := bufio.NewReader(c)
	a := readAnswer(t, br)
	if a.status != http.StatusCreated || !a.echo.Fast {
		t.Fatalf("first answer: %d %+v", a.status, a.echo)
	}
	return c, br
}

// closedByServer waits (at most fastWait, the client's deadline) for the
// server to end the connection, and fails if the client's deadline ends
// it instead.
func closedByServer(t *testing.T, br *bufio.Reader) {
	t.Helper()
	_, err := io.Copy(io.Discard, br)
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		t.Fatalf("the server kept the connection open: %v", err)
	}
}

// TestFastDeadlines: a fast connection arms a deadline only when it needs
// one, and each still holds: a request whose head or body stops coming
// is cut off by ReadTimeout, also after requests that arrived whole; an
// idle connection is closed by IdleTimeout.
func TestFastDeadlines(t *testing.T) {
	long := 4 * fastWait
	t.Run("head stops", func(t *testing.T) {
		addr, _ := frontServerWith(t, true, echo, HTTPOptions{ReadTimeout: shortTimeout, IdleTimeout: long, WriteTimeout: long})
		c, br := dialFast(t, addr)
		io.WriteString(c, "POST /api/notifications HTTP/1.1\r\nHost: belfry.test\r\n")
		closedByServer(t, br)
	})
	t.Run("body stops", func(t *testing.T) {
		addr, _ := frontServerWith(t, true, echo, HTTPOptions{ReadTimeout: shortTimeout, IdleTimeout: long, WriteTimeout: long})
		c, br := dialFast(t, addr)
		raw := publishRaw(`{"second":2}`)
		io.WriteString(c, raw[:len(raw)-4])
		closedByServer(t, br)
	})
	t.Run("idle", func(t *testing.T) {
		addr, _ := frontServerWith(t, true, echo, HTTPOptions{ReadTimeout: long, IdleTimeout: shortTimeout, WriteTimeout: long})
		_, br := dialFast(t, addr)
		closedByServer(t, br)
	})
	t.Run("whole requests", func(t *testing.T) {
		// Many requests in a row, each arriving whole: none is cut off
		// by a deadline left from an earlier one.
		addr, _ := frontServerWith(t, true, echo, HTTPOptions{ReadTimeout: shortTimeout, IdleTimeout: shortTimeout, WriteTimeout: shortTimeout})
		c, br := dialFast(t, addr)
		for i := range 200 {
			if _, err := io.WriteString(c, publishRaw(`{"n":1}`)); err != nil {
				t.Fatal(err)
			}
			if a := readAnswer(t, br); a.status != http.StatusCreated || a.echo.Body != `{"n":1}` {
				t.Fatalf("request %d: %d %+v", i, a.status, a.echo)
			}
		}
	})
}

// TestFastLargeAnswer: an answer larger than the socket takes at once
// goes out whole, its rest through the poller once the client reads, and
// the connection then serves the next request.
func TestFastLargeAnswer(t *testing.T) {
	big := strings.Repeat("0123456789abcdef", 1<<18) // 4 MiB
	h := func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		if _, fast := w.(*fastWriter); !fast {
			http.Error(w, "not fast", http.StatusInternalServerError)
			return
		}
		if r.Header.Get("X-Big") != "" {
			io.WriteString(w, big)
			return
		}
		io.WriteString(w, "small")
	}
	addr, _ := frontServer(t, true, h)
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(fastWait))
	br := bufio.NewReader(c)
	io.WriteString(c, publishRaw(`{}`, "X-Big: 1"))
	if a := readAnswer(t, br); a.status != http.StatusOK || a.body != big {
		t.Fatalf("big answer: %d, %d bytes, want %d", a.status, len(a.body), len(big))
	}
	io.WriteString(c, publishRaw(`{}`))
	if a := readAnswer(t, br); a.status != http.StatusOK || a.body != "small" {
		t.Fatalf("next answer: %d %q", a.status, a.body)
	}
}
