package main

import (
	"crypto/hmac"
	"crypto/md5"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/belfry/belfry/httpapi"
)

const testPusherSecret = "pusher-secret-0123456789"

// pusherTrigger sends one event as Pusher's HTTP API reference says to
// sign it (app 7, key pk), and returns the status.
func pusherTrigger(t *testing.T, url, channel, data string) int {
	t.Helper()
	body, _ := json.Marshal(map[string]any{"name": httpapi.PusherNotificationEvent,
		"channels": []string{channel}, "data": data})
	sum := md5.Sum(body)
	path := "/apps/7/events"
	query := "auth_key=pk&auth_timestamp=" + strconv.FormatInt(time.Now().Unix(), 10) +
		"&auth_version=1.0&body_md5=" + hex.EncodeToString(sum[:])
	mac := hmac.New(sha256.New, []byte(testPusherSecret))
	mac.Write([]byte("POST\n" + path + "\n" + query))
	resp, err := http.Post(url+path+"?"+query+"&auth_signature="+hex.EncodeToString(mac.Sum(nil)),
		"application/json", strings.NewReader(string(body)))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, resp.Body)
	return resp.StatusCode
}

// The --pusher-* flags turn the Pusher endpoints on, from the command
// line or the environment, with the user channel given.
func TestPusherFlagsWire(t *testing.T) {
	srv := startServer(t, t.TempDir(), "--pusher-app-id", "7", "--pusher-key", "pk",
		"--pusher-secret", testPusherSecret, "--pusher-user-channel", "private-users.{id}")
	events := openStream(t, t.Context(), srv.url, mustToken(t, "42"), "")
	waitEvent(t, events, "sync")
	if code := pusherTrigger(t, srv.url, "private-users.42", `{"id":"n-1","message":"from Laravel"}`); code != http.StatusOK {
		t.Fatalf("events: %d", code)
	}
	if ev := waitEvent(t, events, "new-notification"); !strings.Contains(ev.Data, `"message":"from Laravel"`) {
		t.Fatalf("new-notification: %s", ev.Data)
	}
	if code := pusherTrigger(t, srv.url, "private-App.Models.User.42", `{"id":"n-2","message":"ignored"}`); code != http.StatusOK {
		t.Fatalf("another channel: %d", code)
	}

	m := NewMain()
	m.Stderr = io.Discard
	env := map[string]string{"BELFRY_PUSHER_APP_ID": "7", "BELFRY_PUSHER_KEY": "pk", "BELFRY_PUSHER_SECRET": testPusherSecret}
	if err := m.ParseFlags([]string{"--jwt-secret", testSecret, "--api-key", testAPIKey},
		func(k string) string { return env[k] }); err != nil {
		t.Fatal(err)
	}
	if c := m.Pusher.config(); c == nil || c.AppID != "7" || c.Key != "pk" || c.UserChannel != httpapi.DefaultPusherUserChannel {
		t.Fatalf("from the environment: %+v", c)
	}
}

// Without the flags the Pusher paths are unknown.
func TestPusherFlagsOff(t *testing.T) {
	srv := startServer(t, t.TempDir())
	if code := pusherTrigger(t, srv.url, "private-App.Models.User.42", `{"message":"x"}`); code != http.StatusNotFound {
		t.Fatalf("events without --pusher-*: %d", code)
	}
}

// The three go together, and bad values are refused at start.
func TestPusherFlagsAllOrNone(t *testing.T) {
	all := []string{"--pusher-app-id", "7", "--pusher-key", "pk", "--pusher-secret", testPusherSecret}
	for _, args := range [][]string{
		all[:2], all[2:4], all[4:], all[:4], all[2:],
		append(append([]string{}, all...), "--pusher-user-channel", "private-user"),
		{"--pusher-app-id", "7", "--pusher-key", "pk", "--pusher-secret", "short"},
		{"--pusher-app-id", "a/b", "--pusher-key", "pk", "--pusher-secret", testPusherSecret},
	} {
		code, _, errOut := runCmd(t, nil, append([]string{"serve", "--addr", "127.0.0.1:0",
			"--jwt-secret", testSecret, "--api-key", testAPIKey}, args...)...)
		if code == 0 || !strings.Contains(errOut, "pusher") {
			t.Errorf("serve %v: exit %d, %q; want a refusal naming the pusher flags", args, code, errOut)
		}
	}
}
