package main

import (
	"crypto/rand"
	"encoding/hex"
	"io"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"
)

const testAdminKey = "admin-key-0123456789abcdef"

// adminGet fetches /admin with the key and returns the status and body.
func adminGet(t *testing.T, url, key string) (int, string) {
	t.Helper()
	req, _ := http.NewRequestWithContext(t.Context(), "GET", url+"/admin", nil)
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// --admin-key turns /admin on; without it the path is unknown.
func TestAdminFlag(t *testing.T) {
	off := startServer(t, t.TempDir())
	if code, _ := adminGet(t, off.url, testAdminKey); code != http.StatusNotFound {
		t.Errorf("/admin without --admin-key: %d, want 404", code)
	}
	on := startServer(t, t.TempDir(), "--admin-key", testAdminKey)
	if code, _ := adminGet(t, on.url, "wrong-admin-key-0123456789"); code != http.StatusUnauthorized {
		t.Errorf("wrong key: %d", code)
	}
	code, body := adminGet(t, on.url, testAdminKey)
	if code != http.StatusOK || !strings.Contains(body, "<td>sqlite</td>") || !strings.Contains(body, "<td>memory</td>") ||
		!strings.Contains(body, "This node only") {
		t.Fatalf("/admin: %d %s", code, body)
	}

	m := NewMain()
	m.Stderr = io.Discard
	err := m.ParseFlags([]string{"--jwt-secret", testSecret, "--api-key", testAPIKey, "--admin-key", "short"},
		func(string) string { return "" })
	if err == nil || !strings.Contains(err.Error(), "--admin-key must be at least 16 bytes") || strings.Contains(err.Error(), "short") {
		t.Errorf("a short key: %v", err)
	}
	m = NewMain()
	m.Stderr = io.Discard
	env := map[string]string{"BELFRY_ADMIN_KEY": testAdminKey}
	if err := m.ParseFlags([]string{"--jwt-secret", testSecret, "--api-key", testAPIKey},
		func(k string) string { return env[k] }); err != nil || m.Admin.Key != testAdminKey {
		t.Errorf("from the environment: %v %q", err, m.Admin.Key)
	}
}

// With a Redis broker the page lists the deployment's nodes from the
// presence heartbeats.
func TestAdminNodesRedis(t *testing.T) {
	redisURL := os.Getenv("BELFRY_TEST_REDIS")
	if redisURL == "" {
		t.Skip("BELFRY_TEST_REDIS is not set (e.g. redis://127.0.0.1:6379/0)")
	}
	var b [6]byte
	rand.Read(b[:])
	prefix := "belfry-cmd-admin-" + hex.EncodeToString(b[:]) + ":"
	args := []string{"--broker", redisURL, "--redis-prefix", prefix, "--admin-key", testAdminKey}
	a := startServer(t, t.TempDir(), args...)
	bNode := startServer(t, t.TempDir(), args...)
	var body string
	waitUntil(t, 30*time.Second, "two live nodes on the page", func() bool {
		_, body = adminGet(t, a.url, testAdminKey)
		return strings.Count(body, `<span class="ok">live</span>`) == 2
	})
	if !strings.Contains(body, "<td>redis</td>") {
		t.Errorf("broker kind missing: %s", body)
	}
	if code, _ := adminGet(t, bNode.url, testAdminKey); code != http.StatusOK {
		t.Errorf("the other node's page: %d", code)
	}
}
