package webhook

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// peerReport is one line that testdata/receiver.mjs prints.
type peerReport struct {
	Listening int    `json:"listening"`
	ID        string `json:"id"`
	Path      string `json:"path"`
	OK        bool   `json:"ok"`
	Error     string `json:"error"`
	Type      string `json:"type"`
}

// peer is a running testdata/receiver.mjs: a receiver built on the
// standardwebhooks npm package, an implementation of the specification that
// is not ours.
type peer struct {
	base    string // http://127.0.0.1:port
	reports chan peerReport
	stderr  *strings.Builder
}

const peerWait = 15 * time.Second

// startPeer starts the receiver with secrets; POST /s/<i> verifies with
// secrets[i]. It skips the test when node or web/node_modules is missing.
func startPeer(t *testing.T, secrets ...string) *peer {
	t.Helper()
	node, err := exec.LookPath("node")
	if err != nil {
		t.Skip("node is not installed: the Standard Webhooks peer needs it")
	}
	webDir, err := filepath.Abs(filepath.Join("..", "web"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(webDir, "node_modules", "standardwebhooks", "package.json")); err != nil {
		t.Skip("web/node_modules/standardwebhooks is missing: run npm ci in web/")
	}
	cmd := exec.Command(node, append([]string{filepath.Join("testdata", "receiver.mjs"), webDir}, secrets...)...)
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	p := &peer{reports: make(chan peerReport, 64), stderr: &strings.Builder{}}
	cmd.Stderr = p.stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	readDone := make(chan struct{})
	go func() {
		defer close(readDone)
		defer close(p.reports)
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			var r peerReport
			if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
				r = peerReport{Error: "unreadable line: " + sc.Text()}
			}
			p.reports <- r
		}
	}()
	t.Cleanup(func() {
		stdin.Close() // the receiver exits when its stdin closes
		select {
		case <-readDone:
		case <-time.After(peerWait):
			cmd.Process.Kill()
			<-readDone
		}
		cmd.Wait()
	})

	first := p.next(t)
	if first.Listening == 0 {
		t.Fatalf("the receiver said %+v, want its port; stderr:\n%s", first, p.stderr)
	}
	p.base = fmt.Sprintf("http://127.0.0.1:%d", first.Listening)
	return p
}

// next returns the receiver's next report, failing the test when none comes
// before peerWait.
func (p *peer) next(t *testing.T) peerReport {
	t.Helper()
	select {
	case r, ok := <-p.reports:
		if !ok {
			t.Fatalf("the receiver exited; stderr:\n%s", p.stderr)
		}
		return r
	case <-time.After(peerWait):
		t.Fatalf("no report from the receiver in %v; stderr:\n%s", peerWait, p.stderr)
	}
	panic("unreachable")
}

// event is a body of the shape belfry sends.
func event(t *testing.T, typ string, data any) []byte {
	t.Helper()
	b, err := json.Marshal(map[string]any{"type": typ, "timestamp": "2026-12-07T10:00:00.000Z", "data": data})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestPeerVerifies sends deliveries to the standardwebhooks npm receiver:
// the ones it must accept (one key, rotation, a secret without its prefix,
// unicode and large bodies) and the ones it must refuse (a key it does not
// have, a stale or future timestamp), and checks each verdict it reports.
func TestPeerVerifies(t *testing.T) {
	oldSecret, newSecret := NewSecret(), NewSecret()
	// A 24-byte key written without the prefix, as some providers show it.
	bare := strings.TrimPrefix(FormatSecret([]byte("twenty-four bytes of key")), SecretPrefix)
	p := startPeer(t, oldSecret, newSecret, bare)

	client := func(path string, secrets ...string) *Client {
		c, err := New(p.base+path, secrets...)
		if err != nil {
			t.Fatal(err)
		}
		c.UserAgent = "belfry/test"
		return c
	}
	now := time.Now()
	cases := []struct {
		name   string
		c      *Client
		id     string
		at     time.Time
		body   []byte
		accept bool
		reason string // the receiver's message when it refuses
	}{
		{"one key", client("/s/0", oldSecret), "msg_one", now,
			event(t, "notification.unseen", map[string]any{"id": 12, "user_id": "alice", "title": "Invoice paid"}), true, ""},
		{"unicode", client("/s/0", oldSecret), "msg_unicode", now,
			event(t, "notification.action", map[string]any{"id": 13, "title": "Größe 🔔 «ok»", "action": "approve"}), true, ""},
		{"large", client("/s/0", oldSecret), "msg_large", now,
			event(t, "notification.read", map[string]any{"id": 14, "body": strings.Repeat("x", 200<<10)}), true, ""},
		{"presence", client("/s/0", oldSecret), "01JF8ZQ3X4K2", now,
			event(t, "user.online", map[string]any{"user_id": "t2:bob"}), true, ""},
		{"rotation, old receiver", client("/s/0", newSecret, oldSecret), "msg_rot_old", now,
			event(t, "user.offline", map[string]any{"user_id": "alice"}), true, ""},
		{"rotation, new receiver", client("/s/1", newSecret, oldSecret), "msg_rot_new", now,
			event(t, "user.offline", map[string]any{"user_id": "alice"}), true, ""},
		{"no prefix", client("/s/2", bare), "msg_bare", now,
			event(t, "notification.unseen", map[string]any{"id": 15}), true, ""},
		{"wrong secret", client("/s/0", newSecret), "msg_wrong_key", now,
			event(t, "notification.unseen", map[string]any{"id": 16}), false, "No matching signature"},
		{"stale timestamp", client("/s/0", oldSecret), "msg_stale", now.Add(-10 * time.Minute),
			event(t, "notification.unseen", map[string]any{"id": 17}), false, "too old"},
		{"future timestamp", client("/s/0", oldSecret), "msg_future", now.Add(10 * time.Minute),
			event(t, "notification.unseen", map[string]any{"id": 18}), false, "too new"},
	}
	for _, c := range cases {
		d, err := c.c.Deliver(t.Context(), c.id, c.at, c.body)
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		r := p.next(t)
		if r.ID != c.id {
			t.Fatalf("%s: the receiver reported %+v, want id %q", c.name, r, c.id)
		}
		switch {
		case c.accept && (!r.OK || d.Status != http.StatusNoContent):
			t.Errorf("%s: the receiver refused it (status %d): %s", c.name, d.Status, r.Error)
		case c.accept:
			var sent struct{ Type string }
			json.Unmarshal(c.body, &sent)
			if r.Type != sent.Type {
				t.Errorf("%s: the receiver read type %q, want %q", c.name, r.Type, sent.Type)
			}
		case r.OK || d.Status != http.StatusUnauthorized:
			t.Errorf("%s: the receiver accepted it (status %d)", c.name, d.Status)
		case !strings.Contains(r.Error, c.reason):
			t.Errorf("%s: refused for %q, want %q", c.name, r.Error, c.reason)
		}
	}
}

// A hand-made request with a tampered body is refused too: the receiver
// does check, so TestPeerVerifies's acceptances mean something.
func TestPeerRefusesTamperedBody(t *testing.T) {
	secret := NewSecret()
	p := startPeer(t, secret)
	key, err := ParseSecret(secret)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	body := event(t, "notification.unseen", map[string]any{"id": 1})
	req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, p.base+"/s/0",
		strings.NewReader(strings.Replace(string(body), `"id":1`, `"id":2`, 1)))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("webhook-id", "msg_tampered")
	req.Header.Set("webhook-timestamp", fmt.Sprint(now.Unix()))
	req.Header.Set("webhook-signature", Sign(key, "msg_tampered", now, body))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if r := p.next(t); r.OK || resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("the receiver accepted a tampered body: %+v, status %d", r, resp.StatusCode)
	}
}
