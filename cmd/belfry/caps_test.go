package main

import (
	"context"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"
)

// TestMaxStreamsFor pins the default of --max-streams: the open-files
// limit less a reserve of max(64, a tenth of it), at least 1.
func TestMaxStreamsFor(t *testing.T) {
	for limit, want := range map[uint64]int{
		1: 1, 64: 1, 65: 1, 200: 136, 640: 576, 1024: 922, 20000: 18000,
		65536: 58983, 1 << 20: 943719, ^uint64(0): (1<<40 - 1<<40/10),
	} {
		if got := maxStreamsFor(limit); got != want {
			t.Errorf("maxStreamsFor(%d) = %d, want %d", limit, got, want)
		}
	}
	if limit, ok := openFilesLimit(); ok && NewMain().MaxStreams != maxStreamsFor(limit) {
		t.Errorf("the default --max-streams is %d, want %d for the open-files limit %d",
			NewMain().MaxStreams, maxStreamsFor(limit), limit)
	}
}

// TestServeStreamLimitFlags: the flags (and their variables) reach the
// Hub: one user's second stream gets 429 too_many_streams, the node's
// third 503 server_full, each with a Retry-After; 0 means no limit and a
// negative value is refused.
func TestServeStreamLimitFlags(t *testing.T) {
	s := startServer(t, t.TempDir(), "--max-streams-per-user", "1", "--max-streams", "2")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	waitEvent(t, openStream(t, ctx, s.url, mustToken(t, "alice"), ""), "sync")
	refused(t, ctx, s.url, "alice", http.StatusTooManyRequests, "too_many_streams")
	waitEvent(t, openStream(t, ctx, s.url, mustToken(t, "bob"), ""), "sync")
	refused(t, ctx, s.url, "carol", http.StatusServiceUnavailable, "server_full")

	m := NewMain()
	m.Stderr = io.Discard
	env := map[string]string{"BELFRY_MAX_STREAMS_PER_USER": "0", "BELFRY_MAX_STREAMS": "0"}
	if err := m.ParseFlags([]string{"--jwt-secret", testSecret, "--api-key", testAPIKey},
		func(k string) string { return env[k] }); err != nil {
		t.Fatal(err)
	}
	if m.MaxStreamsPerUser != 0 || m.MaxStreams != 0 || noLimitIfZero(m.MaxStreamsPerUser) != -1 {
		t.Errorf("from the environment: per user %d, node %d", m.MaxStreamsPerUser, m.MaxStreams)
	}
	for _, args := range [][]string{{"--max-streams", "-1"}, {"--max-streams-per-user", "-5"}} {
		m := NewMain()
		m.Stderr = io.Discard
		err := m.ParseFlags(append([]string{"--jwt-secret", testSecret, "--api-key", testAPIKey}, args...), nil)
		if err == nil || !strings.Contains(err.Error(), "0 (no limit) or positive") {
			t.Errorf("%v: %v, want it refused", args, err)
		}
	}
}

// refused checks that a stream request of user gets status and code, with
// a Retry-After.
func refused(t *testing.T, ctx context.Context, url, user string, status int, code string) {
	t.Helper()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url+"/notifications/stream", nil)
	req.Header.Set("Authorization", "Bearer "+mustToken(t, user))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode == http.StatusOK {
		t.Fatalf("stream of %s: 200, want %d %s", user, status, code)
	}
	if e := readAPIError(resp); e.Status != status || e.Code != code || resp.Header.Get("Retry-After") == "" {
		t.Fatalf("stream of %s: %+v, Retry-After %q; want %d %s with a Retry-After", user, e, resp.Header.Get("Retry-After"), status, code)
	}
}
