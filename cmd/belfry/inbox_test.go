package main

import (
	"bytes"
	"encoding/json"
	"io"
	"strings"
	"testing"
	"time"
)

// The retention and idempotency flags, from the command line and the
// environment, and the bad values refused at start.
func TestInboxFlags(t *testing.T) {
	parse := func(env map[string]string, args ...string) (*Main, error) {
		m := NewMain()
		m.Stderr = io.Discard
		base := []string{"--jwt-secret", testSecret, "--api-key", testAPIKey}
		return m, m.ParseFlags(append(base, args...), func(k string) string { return env[k] })
	}
	m, err := parse(nil)
	if err != nil || m.MaxPerUser != 10_000 || m.Retain != 0 || m.RetainUnread || m.IdempotencyWindow != 24*time.Hour {
		t.Fatalf("defaults: %v %+v", err, m)
	}
	m, err = parse(nil, "--retain", "90d", "--retain-unread", "--max-per-user", "5", "--idempotency-window", "1h")
	if err != nil || m.Retain != 90*24*time.Hour || !m.RetainUnread || m.MaxPerUser != 5 || m.IdempotencyWindow != time.Hour {
		t.Fatalf("flags: %v %+v", err, m)
	}
	m, err = parse(map[string]string{"BELFRY_RETAIN": "36h", "BELFRY_MAX_PER_USER": "0"})
	if err != nil || m.Retain != 36*time.Hour || m.MaxPerUser != 0 {
		t.Fatalf("environment: %v %+v", err, m)
	}
	for _, bad := range [][]string{{"--retain", "9x"}, {"--retain", "-1h"}, {"--retain", "d"},
		{"--max-per-user", "-1"}, {"--idempotency-window", "0s"}} {
		if _, err := parse(nil, bad...); err == nil {
			t.Errorf("%v was accepted", bad)
		}
	}
}

// belfry send's inbox options reach the server: the avatar, the expiry, and
// the idempotency key (a second send creates nothing). The server runs the
// purge: once the notification expires, the open stream is told.
func TestSendInboxOptions(t *testing.T) {
	srv := startServer(t, t.TempDir())
	events := openStream(t, t.Context(), srv.url, mustToken(t, "bob"), "")
	waitEvent(t, events, "sync")
	send := func(key string, ttl time.Duration) string {
		out := &bytes.Buffer{}
		s := &Send{URL: srv.url, APIKey: testAPIKey, Users: []string{"bob"}, Message: "hi",
			Avatar: "/a.png", TTL: ttl, IdempotencyKey: key, Out: out}
		if err := s.Run(t.Context()); err != nil {
			t.Fatal(err)
		}
		return out.String()
	}
	first := send("k-1", 90*time.Minute)
	var n struct {
		ID        int64      `json:"id"`
		Avatar    string     `json:"avatar"`
		ExpiresAt *time.Time `json:"expires_at"`
	}
	if err := json.Unmarshal([]byte(first), &n); err != nil || n.ID != 1 || n.Avatar != "/a.png" ||
		n.ExpiresAt == nil || time.Until(*n.ExpiresAt) < 80*time.Minute {
		t.Fatalf("first send: %v %s", err, first)
	}
	if again := send("k-1", 90*time.Minute); again != first {
		t.Fatalf("a repeat with the key:\n%s\nwant\n%s", again, first)
	}
	send("k-2", time.Second) // id 2, expiring in a second
	if d := waitEvent(t, events, "notification-deleted"); !strings.Contains(d.Data, `"id":2,"reason":"expired"`) {
		t.Fatalf("notification-deleted: %s", d.Data)
	}
}
