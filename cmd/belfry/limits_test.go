package main

import (
	"net/http"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestServeRefusesShortAPIKey: an API key under 16 bytes stops the real
// program at start, with a message that names the rule, not the key.
func TestServeRefusesShortAPIKey(t *testing.T) {
	const short = "fifteen-bytes!!"
	p := startProcess(t, nil, "serve", "--addr", "127.0.0.1:0", "--store", "sqlite:"+filepath.Join(t.TempDir(), "k.db"),
		"--jwt-secret", testSecret, "--api-key", testAPIKey+","+short)
	if code := p.wait(t, 60*time.Second); code != exitUsage {
		t.Fatalf("exit %d, want %d", code, exitUsage)
	}
	errOut := p.stderr.String()
	if !strings.Contains(errOut, "--api-key must be at least 16 bytes") || !strings.Contains(errOut, "key 2 of 2") {
		t.Errorf("stderr %q; want the 16-byte rule and which key", errOut)
	}
	if strings.Contains(errOut, short) {
		t.Errorf("the message shows the key: %q", errOut)
	}
	code, _, errOut := runCmd(t, map[string]string{"BELFRY_JWT_SECRET": testSecret, "BELFRY_API_KEY": "k1"},
		"serve", "--addr", "127.0.0.1:0")
	if code != exitUsage || !strings.Contains(errOut, "at least 16 bytes") {
		t.Errorf("BELFRY_API_KEY=k1: exit %d, stderr %q", code, errOut)
	}
}

// TestServeRateLimitFlags: the rate limit flags reach the server, and bad
// values are refused at start.
func TestServeRateLimitFlags(t *testing.T) {
	s := startServer(t, t.TempDir(), "--auth-fail-rate", "0.01", "--auth-fail-burst", "2",
		"--publish-rate", "0.01", "--publish-burst", "1")
	get := func(token string) *http.Response {
		t.Helper()
		req, _ := http.NewRequest("GET", s.url+"/notifications", nil)
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp
	}
	for i := range 2 {
		if resp := get("bad"); resp.StatusCode != 401 {
			t.Fatalf("failure %d: %d", i+1, resp.StatusCode)
		}
	}
	resp := get("bad")
	if secs, err := strconv.Atoi(resp.Header.Get("Retry-After")); resp.StatusCode != 429 || err != nil || secs < 1 {
		t.Fatalf("third failure: %d, Retry-After %q; want 429 with whole seconds", resp.StatusCode, resp.Header.Get("Retry-After"))
	}
	if resp := get(mustToken(t, "alice")); resp.StatusCode != 200 {
		t.Fatalf("a valid token from the same address: %d", resp.StatusCode)
	}
	send(t, s.url, "alice", "the one publish allowed")
	code, _, errOut := runCmd(t, nil, "send", "--url", s.url, "--api-key", testAPIKey, "--user", "alice", "--message", "x")
	if code == 0 || !strings.Contains(errOut, "429 rate_limited") {
		t.Errorf("second publish: exit %d, stderr %q; want 429 rate_limited", code, errOut)
	}

	for _, args := range [][]string{
		{"--auth-fail-rate", "-1"}, {"--auth-fail-rate", "NaN"}, {"--auth-fail-burst", "0"},
		{"--publish-rate", "+Inf"}, {"--publish-burst", "-1"}, {"--trusted-proxy", "nginx"},
	} {
		code, _, errOut := runCmd(t, nil, append([]string{"serve", "--addr", "127.0.0.1:0",
			"--jwt-secret", testSecret, "--api-key", testAPIKey}, args...)...)
		if code != exitUsage || errOut == "" {
			t.Errorf("serve %v: exit %d, stderr %q; want refused", args, code, errOut)
		}
	}
}

// TestServeAuthFailRateZeroIsOff: --auth-fail-rate 0 turns the limit off.
func TestServeAuthFailRateZeroIsOff(t *testing.T) {
	s := startServer(t, t.TempDir(), "--auth-fail-rate", "0", "--auth-fail-burst", "1", "--log-level", "warn")
	for i := range 5 {
		req, _ := http.NewRequest("GET", s.url+"/notifications", nil)
		req.Header.Set("Authorization", "Bearer bad")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 401 {
			t.Fatalf("failure %d with the limit off: %d", i+1, resp.StatusCode)
		}
	}
}
