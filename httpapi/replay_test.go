package httpapi_test

import (
	"bufio"
	"context"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/belfry/belfry/hub"

	"github.com/belfry/belfry"
)

// bigBacklog stores n notifications of user of about 20 KiB each on the
// wire (a full message and data near their limits).
func (e *env) bigBacklog(user string, n int) {
	e.t.Helper()
	data := []byte(`{"blob":"` + strings.Repeat("d", belfry.MaxDataBytes-16) + `"}`)
	for range n {
		if _, err := e.inbox.Create(e.t.Context(), belfry.Draft{UserIDs: []string{user},
			Message: strings.Repeat("m", belfry.MaxMessageBytes), Data: data}); err != nil {
			e.t.Fatal(err)
		}
	}
}

// stalledResume opens a stream of user resuming after id 0 on a raw
// connection with a small receive buffer, reads its response head and a
// first event, and then reads nothing more: the server's writes of the
// rest of the backlog soon wait on this client.
func (e *env) stalledResume(t *testing.T, user string) net.Conn {
	t.Helper()
	c, err := net.Dial("tcp", strings.TrimPrefix(e.url, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	_ = c.(*net.TCPConn).SetReadBuffer(4096)
	req := "GET /notifications/stream HTTP/1.1\r\nHost: belfry\r\nAuthorization: Bearer " + e.token(user) +
		"\r\nLast-Event-ID: 0\r\n\r\n"
	if _, err := io.WriteString(c, req); err != nil {
		t.Fatal(err)
	}
	_ = c.SetReadDeadline(time.Now().Add(wait))
	br := bufio.NewReader(c)
	resp, err := http.ReadResponse(br, nil)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("stalled resume: %v %v", resp, err)
	}
	for {
		line, err := br.ReadString('\n')
		if err != nil {
			t.Fatalf("stalled resume: %v", err)
		}
		if strings.HasPrefix(line, "id: ") {
			return c
		}
	}
}

// A resume whose client stops reading in the middle of a large backlog
// holds no setup place while the server waits on it: with a single place,
// another user's stream is set up and reaches its sync while the first
// write still waits (the write timeout is longer than the test's wait).
func TestStalledResumeHoldsNoSetupPlace(t *testing.T) {
	bothModes(t, testStalledResumeHoldsNoSetupPlace)
}

func testStalledResumeHoldsNoSetupPlace(t *testing.T, lean bool) {
	e := newEnv(t, envOpts{disableLean: !lean, setupConcurrency: 1, sndbuf: 4096, writeTimeout: 10 * wait})
	e.bigBacklog("big", 100) // about 2 MB, far beyond both sockets' buffers
	e.stalledResume(t, "big")

	e.syncWithin(t, "other", "")
}

// syncWithin opens a stream of user (resuming after lastID unless empty)
// and fails the test unless it reaches its sync within the test's wait.
func (e *env) syncWithin(t *testing.T, user, lastID string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), wait)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "GET", e.url+"/notifications/stream", nil)
	req.Header.Set("Authorization", "Bearer "+e.token(user))
	if lastID != "" {
		req.Header.Set("Last-Event-ID", lastID)
	}
	resp, err := e.client.Do(req)
	if err != nil {
		t.Fatalf("stream of %s: %v", user, err)
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		if sc.Text() == "event: sync" {
			return
		}
	}
	t.Fatalf("stream of %s ended before its sync: %v", user, sc.Err())
}

// A flood of resumes of one user takes at most ReplaysPerUser of the
// node's replays: with the default of 4 and one setup place, 8 stalled
// resumers of one user leave the place free for another user.
func TestResumeFloodOfOneUserLeavesOthersAlone(t *testing.T) {
	e := newEnv(t, envOpts{setupConcurrency: 1, sndbuf: 4096, writeTimeout: 10 * wait})
	e.bigBacklog("big", 100)
	for range hub.DefaultReplaysPerUser {
		e.stalledResume(t, "big")
	}
	// The next ones wait for a replay place of their user, holding nothing.
	for range 4 {
		c, err := net.Dial("tcp", strings.TrimPrefix(e.url, "http://"))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		io.WriteString(c, "GET /notifications/stream HTTP/1.1\r\nHost: belfry\r\nAuthorization: Bearer "+
			e.token("big")+"\r\nLast-Event-ID: 0\r\n\r\n")
	}
	eventually(t, "4 more resumes of big wait for a replay place", func() bool {
		return e.hub.Stats().ReplaysWaiting == 4
	})
	if n := e.hub.Stats().Streams; n != hub.DefaultReplaysPerUser {
		t.Fatalf("%d streams open, want %d", n, hub.DefaultReplaysPerUser)
	}
	e.syncWithin(t, "other", "0")
}

// A replay whose client stops reading is cut like any slow stream once a
// write waits longer than the write timeout, and counted as slow.
func TestStalledReplayIsCutAsSlow(t *testing.T) {
	e := newEnv(t, envOpts{sndbuf: 4096, writeTimeout: 200 * time.Millisecond})
	e.bigBacklog("big", 100)
	e.stalledResume(t, "big")
	eventually(t, "the stalled replay is cut as slow", func() bool {
		s := e.hub.Stats()
		return s.Slow == 1 && s.Streams == 0
	})
	e.endedFor(t, hub.EndSlow, 1)
}
