package main

import (
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestServeRefusesBadReachFlags: each bad Web Push or webhook setting is
// refused at start with a message naming the flag.
func TestServeRefusesBadReachFlags(t *testing.T) {
	real := []string{"--jwt-secret", testSecret, "--api-key", testAPIKey}
	for _, c := range []struct {
		args []string
		want string
	}{
		{append([]string{"--push-default", "sometimes"}, real...), "--push-default"},
		{append([]string{"--push-delay", "-1s"}, real...), "--push-delay"},
		{append([]string{"--push-ttl", "0s"}, real...), "--push-ttl"},
		{append([]string{"--push-ttl", "700h"}, real...), "--push-ttl"},
		{append([]string{"--vapid-key-file", "/tmp/k.pem"}, real...), "--vapid-subject"},
		{append([]string{"--vapid-key-file", "/tmp/k.pem", "--vapid-subject", "ops@example.com"}, real...), "--vapid-subject"},
		{append([]string{"--webhook-url", "https://app.test/hooks"}, real...), "--webhook-secret"},
		{append([]string{"--webhook-secret", "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"}, real...), "--webhook-url"},
		{append([]string{"--webhook-url", "https://app.test/hooks", "--webhook-secret", "whsec_c2hvcnQ="}, real...), "--webhook"},
		{append([]string{"--public-url", "https://belfry.test/base"}, real...), "--public-url"},
		{[]string{"--push-allow-loopback"}, "--push-allow-loopback"}, // demo mode
	} {
		m := NewMain()
		m.Stderr = io.Discard
		err := m.ParseFlags(append([]string{"--store", "sqlite:" + filepath.Join(t.TempDir(), "b.db")}, c.args...),
			func(string) string { return "" })
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%v: %v, want an error naming %s", c.args, err, c.want)
		}
	}
}

// TestServePushKey: --vapid-key-file is created (mode 0600) and served; a
// restart serves the same key; without it push is off.
func TestServePushKey(t *testing.T) {
	dir := t.TempDir()
	keyFile := filepath.Join(dir, "vapid.pem")
	key := func(url string) (int, string) {
		resp, err := http.Get(url + "/notifications/push/key")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var b struct {
			PublicKey string `json:"public_key"`
		}
		_ = json.NewDecoder(resp.Body).Decode(&b)
		return resp.StatusCode, b.PublicKey
	}
	s := startServer(t, dir, "--vapid-key-file", keyFile, "--vapid-subject", "mailto:ops@example.com")
	st, first := key(s.m.URL())
	if st != 200 || len(first) != 87 {
		t.Fatalf("push key: %d %q", st, first)
	}
	if fi, err := os.Stat(keyFile); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("key file: %v %v", fi, err)
	}
	s.shutdown(t)
	s = startServer(t, dir, "--vapid-key-file", keyFile, "--vapid-subject", "mailto:ops@example.com")
	if st, again := key(s.m.URL()); st != 200 || again != first {
		t.Fatalf("after a restart: %d %q, want %q", st, again, first)
	}
	s.shutdown(t)
	s = startServer(t, dir)
	if st, _ := key(s.m.URL()); st != 404 {
		t.Fatalf("without a key file: %d, want 404", st)
	}
	s.shutdown(t)
}

// TestServeDemoPushKey: demo mode turns push on with a key beside the
// database.
func TestServeDemoPushKey(t *testing.T) {
	dir := t.TempDir()
	m := NewMain()
	m.Stderr, m.Stdout = io.Discard, io.Discard
	if err := m.ParseFlags([]string{"--addr", "127.0.0.1:0", "--store", "sqlite:" + filepath.Join(dir, "demo.db")},
		func(string) string { return "" }); err != nil {
		t.Fatal(err)
	}
	if got := demoVAPIDFile(m.Store); got != filepath.Join(dir, "belfry-vapid.pem") {
		t.Fatalf("demo key file %q", got)
	}
}

func TestWebhookSecretCommand(t *testing.T) {
	code, out, _ := runCmd(t, nil, "webhook-secret")
	if code != 0 || !strings.HasPrefix(out, "whsec_") || len(strings.TrimSpace(out)) < 40 {
		t.Fatalf("webhook-secret: %d %q", code, out)
	}
	m := NewMain()
	m.Stderr = io.Discard
	err := m.ParseFlags([]string{"--jwt-secret", testSecret, "--api-key", testAPIKey,
		"--webhook-url", "https://app.test/hooks", "--webhook-secret", strings.TrimSpace(out)}, func(string) string { return "" })
	if err != nil {
		t.Fatalf("the printed secret is refused: %v", err)
	}
}

// belfry send --push reaches the server, which checks it.
func TestSendPush(t *testing.T) {
	srv := startServer(t, t.TempDir())
	send := func(mode string) error {
		return (&Send{URL: srv.url, APIKey: testAPIKey, Users: []string{"bob"}, Message: "hi", Push: mode,
			Out: io.Discard}).Run(t.Context())
	}
	if err := send("never"); err != nil {
		t.Fatalf("--push never: %v", err)
	}
	err := send("sometimes")
	if err == nil || !strings.Contains(err.Error(), "push must be never, offline or always") {
		t.Fatalf("--push sometimes: %v", err)
	}
}
