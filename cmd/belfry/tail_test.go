package main

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/belfry/belfry"
	"github.com/belfry/belfry/memory"
	"github.com/belfry/belfry/sqlite"
	"github.com/golang-jwt/jwt/v5"
)

// startTail runs a Tail of user in process; its output goes to the
// returned buffer. It stops when the test ends.
func startTail(t *testing.T, url, user, lastID string) (*syncBuffer, *syncBuffer) {
	t.Helper()
	out, logs := &syncBuffer{}, &syncBuffer{}
	tail := &Tail{URL: url, Secret: testSecret, User: user, LastEventID: lastID,
		MinDelay: 10 * time.Millisecond, MaxDelay: 50 * time.Millisecond,
		Out: out, Logger: slog.New(slog.NewTextHandler(logs, nil))}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- tail.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("tail returned %v", err)
		}
		if t.Failed() {
			t.Logf("tail output:\n%s\ntail log:\n%s", out.String(), logs.String())
		}
	})
	return out, logs
}

// notificationsIn returns the messages of the new-notification lines of a
// tail's output, checking that each line's id is that of its data.
func notificationsIn(t *testing.T, lines []string) (ids []int64, msgs []string) {
	t.Helper()
	for _, l := range lines {
		id, event, data := splitTailLine(t, l)
		if event != "new-notification" {
			continue
		}
		nid, _, msg := decodeNotification(t, data)
		if strconv.FormatInt(nid, 10) != id {
			t.Fatalf("line id %s, notification id %d: %s", id, nid, l)
		}
		ids, msgs = append(ids, nid), append(msgs, msg)
	}
	return ids, msgs
}

func splitTailLine(t *testing.T, l string) (id, event, data string) {
	t.Helper()
	parts := strings.SplitN(l, " ", 3)
	if len(parts) != 3 {
		t.Fatalf("tail line %q is not ID EVENT DATA", l)
	}
	return parts[0], parts[1], parts[2]
}

func countEvents(lines []string, event string) int {
	n := 0
	for _, l := range lines {
		if parts := strings.SplitN(l, " ", 3); len(parts) == 3 && parts[1] == event {
			n++
		}
	}
	return n
}

func send(t *testing.T, url, user, message string) {
	t.Helper()
	code, out, errOut := runCmd(t, nil, "send", "--url", url, "--api-key", testAPIKey,
		"--user", user, "--message", message)
	if code != 0 {
		t.Fatalf("send %q: exit %d: %s%s", message, code, out, errOut)
	}
}

// TestSendAndTail publishes with `belfry send` and sees the notification
// in `belfry tail`; the answer of send is the stored notification.
func TestSendAndTail(t *testing.T) {
	s := startServer(t, t.TempDir())
	out, _ := startTail(t, s.url, "alice", "")
	waitUntil(t, 30*time.Second, "the sync event", func() bool { return countEvents(out.lines(), "sync") == 1 })

	code, answer, errOut := runCmd(t, nil, "send", "--url", s.url, "--api-key", testAPIKey,
		"--user", "alice", "--message", "Build finished", "--title", "CI", "--link", "/builds/7",
		"--category", "ci", "--data", `{"build": 7}`)
	if code != 0 {
		t.Fatalf("send: %d %s", code, errOut)
	}
	id, user, msg := decodeNotification(t, answer)
	if id != 1 || user != "alice" || msg != "Build finished" || !strings.Contains(answer, `"data":{"build":7}`) {
		t.Fatalf("send printed %s", answer)
	}
	waitUntil(t, 30*time.Second, "the notification in tail", func() bool {
		return countEvents(out.lines(), "new-notification") == 1
	})
	ids, msgs := notificationsIn(t, out.lines())
	if ids[0] != 1 || msgs[0] != "Build finished" {
		t.Fatalf("tail shows %v %v", ids, msgs)
	}

	// State events have no id: tail prints "-" for it.
	req, _ := http.NewRequest(http.MethodPost, s.url+"/notifications/1/read", nil)
	req.Header.Set("Authorization", "Bearer "+mustToken(t, "alice"))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("mark read: %d", resp.StatusCode)
	}
	waitUntil(t, 30*time.Second, "the read-state event", func() bool { return countEvents(out.lines(), "read-state") == 1 })
	for _, l := range out.lines() {
		if id, ev, data := splitTailLine(t, l); ev == "read-state" && (id != "-" || !strings.Contains(data, `"unread_count":0`)) {
			t.Fatalf("read-state line %q", l)
		}
	}

	// Several users at once: an array comes back, bob's tail is untouched.
	code, answer, _ = runCmd(t, nil, "send", "--url", s.url, "--api-key", testAPIKey,
		"--user", "bob", "--user", "carol", "--message", "hi")
	if code != 0 || !strings.HasPrefix(answer, "[") || strings.Count(answer, `"message":"hi"`) != 2 {
		t.Fatalf("send to two users: %d %s", code, answer)
	}

	// A key list shared with serve (BELFRY_API_KEY=k1,k2): send uses the first.
	code, _, errOut = runCmd(t, nil, "send", "--url", s.url, "--api-key", testAPIKey+",other-key",
		"--user", "dave", "--message", "from a shared key list")
	if code != 0 {
		t.Fatalf("send with a key list: %d %s", code, errOut)
	}

	// Errors: the server's code and message, exit status 1.
	code, _, errOut = runCmd(t, nil, "send", "--url", s.url, "--api-key", "wrong", "--user", "alice", "--message", "x")
	if code != 1 || !strings.Contains(errOut, "401 unauthorized") {
		t.Fatalf("bad key: exit %d %q", code, errOut)
	}
	code, _, errOut = runCmd(t, nil, "send", "--url", s.url, "--api-key", testAPIKey, "--user", "alice", "--message", "")
	if code != 1 || !strings.Contains(errOut, "400 invalid_request") {
		t.Fatalf("empty message: exit %d %q", code, errOut)
	}
	if ids, _ := notificationsIn(t, out.lines()); len(ids) != 1 {
		t.Fatalf("alice's tail shows %v after failed sends", ids)
	}
}

// TestTailResumesAcrossRestart: tail follows alice while the server stops
// and starts again on the same address and SQLite file; what was published
// before, while the server was down (written to the store directly) and
// after, is shown exactly once, in order.
func TestTailResumesAcrossRestart(t *testing.T) {
	dir := t.TempDir()
	s := startServer(t, dir)
	addr := strings.TrimPrefix(s.url, "http://")
	out, _ := startTail(t, s.url, "alice", "")
	waitUntil(t, 30*time.Second, "the sync event", func() bool { return countEvents(out.lines(), "sync") == 1 })

	for i := 1; i <= 3; i++ {
		send(t, s.url, "alice", fmt.Sprintf("n%d", i))
	}
	send(t, s.url, "bob", "not alice's")
	waitUntil(t, 30*time.Second, "3 notifications", func() bool {
		return countEvents(out.lines(), "new-notification") == 3
	})
	s.shutdown(t)

	// While the server is down an app writes to the same database.
	writeToStore(t, dir, "alice", "n4")

	s2 := startServer(t, dir, "--addr", addr)
	if s2.url != s.url {
		t.Fatalf("restarted on %s, want %s", s2.url, s.url)
	}
	for i := 5; i <= 6; i++ {
		send(t, s2.url, "alice", fmt.Sprintf("n%d", i))
	}
	waitUntil(t, 30*time.Second, "6 notifications", func() bool {
		return countEvents(out.lines(), "new-notification") >= 6
	})
	ids, msgs := notificationsIn(t, out.lines())
	if want := []int64{1, 2, 3, 4, 5, 6}; fmt.Sprint(ids) != fmt.Sprint(want) {
		t.Fatalf("tail shows ids %v, want %v (messages %v)", ids, want, msgs)
	}
	if fmt.Sprint(msgs) != "[n1 n2 n3 n4 n5 n6]" {
		t.Fatalf("tail shows %v", msgs)
	}
	if countEvents(out.lines(), "sync") < 2 {
		t.Errorf("tail did not reconnect (one sync event)")
	}
}

// writeToStore creates a notification in the SQLite file of a stopped
// server, as another process sharing the database would.
func writeToStore(t *testing.T, dir, user, message string) {
	t.Helper()
	ctx := context.Background()
	store, err := sqlite.Open(ctx, filepath.Join(dir, "belfry.db"))
	if err != nil {
		t.Fatal(err)
	}
	ib := &belfry.Inbox{Store: store, Broker: memory.New(), Logger: slog.New(slog.DiscardHandler)}
	if _, err := ib.Create(ctx, belfry.Draft{UserIDs: []string{user}, Message: message}); err != nil {
		t.Fatal(err)
	}
	if err := store.Close(); err != nil {
		t.Fatal(err)
	}
}

// TestTailFreshResumesAcrossRestart: a tail that has received no
// notification yet resumes from the sync event's last_id, so what is
// published while it is disconnected is not lost either.
func TestTailFreshResumesAcrossRestart(t *testing.T) {
	dir := t.TempDir()
	s := startServer(t, dir)
	send(t, s.url, "alice", "before the tail")
	out, _ := startTail(t, s.url, "alice", "")
	waitUntil(t, 30*time.Second, "the sync event", func() bool { return countEvents(out.lines(), "sync") == 1 })
	addr := strings.TrimPrefix(s.url, "http://")
	s.shutdown(t)
	writeToStore(t, dir, "alice", "while down")
	s2 := startServer(t, dir, "--addr", addr)
	send(t, s2.url, "alice", "after")
	waitUntil(t, 30*time.Second, "2 notifications", func() bool {
		return countEvents(out.lines(), "new-notification") >= 2
	})
	ids, msgs := notificationsIn(t, out.lines())
	if fmt.Sprint(ids) != "[2 3]" || fmt.Sprint(msgs) != "[while down after]" {
		t.Fatalf("tail shows %v %v", ids, msgs)
	}
}

// TestTailLastEventID: --last-event-id replays what came after it.
func TestTailLastEventID(t *testing.T) {
	s := startServer(t, t.TempDir())
	for i := 1; i <= 4; i++ {
		send(t, s.url, "alice", fmt.Sprintf("n%d", i))
	}
	out, _ := startTail(t, s.url, "alice", "2")
	waitUntil(t, 30*time.Second, "the sync event", func() bool { return countEvents(out.lines(), "sync") == 1 })
	ids, _ := notificationsIn(t, out.lines())
	if fmt.Sprint(ids) != "[3 4]" {
		t.Fatalf("replay after 2 shows %v", ids)
	}
}

// TestTailRenewsExpiredToken: with --secret, tail mints a new token when
// the stream says token-expired, and goes on without losing anything.
func TestTailRenewsExpiredToken(t *testing.T) {
	s := startServer(t, t.TempDir())
	out, logs := &syncBuffer{}, &syncBuffer{}
	tail := &Tail{URL: s.url, Secret: testSecret, User: "alice", TokenTTL: time.Second,
		MinDelay: 10 * time.Millisecond, MaxDelay: 50 * time.Millisecond,
		Out: out, Logger: slog.New(slog.NewTextHandler(logs, nil))}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- tail.Run(ctx) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("tail returned %v", err)
		}
	}()
	waitUntil(t, 30*time.Second, "token-expired", func() bool { return countEvents(out.lines(), "token-expired") >= 1 })
	send(t, s.url, "alice", "after renewal")
	waitUntil(t, 30*time.Second, "the notification", func() bool { return countEvents(out.lines(), "new-notification") == 1 })
	if _, msgs := notificationsIn(t, out.lines()); msgs[0] != "after renewal" {
		t.Fatalf("tail shows %v", msgs)
	}
}

// TestTailRefusedToken: a token the server refuses ends tail with an
// error (reconnecting would not help).
func TestTailRefusedToken(t *testing.T) {
	s := startServer(t, t.TempDir())
	code, _, errOut := runCmd(t, nil, "tail", "--url", s.url, "--token", "not-a-jwt")
	if code != 1 || !strings.Contains(errOut, "refused the token") {
		t.Fatalf("exit %d: %s", code, errOut)
	}
}

func TestToken(t *testing.T) {
	code, out, errOut := runCmd(t, map[string]string{"BELFRY_JWT_SECRET": testSecret},
		"token", "--user", "42", "--ttl", "90m")
	if code != 0 {
		t.Fatalf("token: %d %s", code, errOut)
	}
	var claims jwt.RegisteredClaims
	_, err := jwt.NewParser(jwt.WithValidMethods([]string{"HS256"}), jwt.WithExpirationRequired()).
		ParseWithClaims(strings.TrimSpace(out), &claims, func(*jwt.Token) (any, error) { return []byte(testSecret), nil })
	if err != nil {
		t.Fatal(err)
	}
	if claims.Subject != "42" {
		t.Errorf("sub %q", claims.Subject)
	}
	if left := time.Until(claims.ExpiresAt.Time); left < 89*time.Minute || left > 91*time.Minute {
		t.Errorf("expires in %s, want 90m", left)
	}
}
