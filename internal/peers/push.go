package peers

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
	"time"
)

// Push is one request the push receiver got, as it saw it.
type Push struct {
	Path      string         `json:"path"`   // /push/<status>[/<label>]
	URL       string         `json:"url"`    // the path and query
	Status    int            `json:"status"` // what it answered
	TTL       string         `json:"ttl"`
	Urgency   string         `json:"urgency"`
	Topic     string         `json:"topic"`
	Claims    map[string]any `json:"claims"`    // the VAPID JWT's, verified
	Plaintext []byte         `json:"plaintext"` // decrypted with http_ece
	Errors    []string       `json:"errors"`    // every check that failed
}

// Pushes is a running Web Push service and browser in one
// (webpush/testdata/receiver.mjs): it decrypts each request with
// http_ece and the subscription's private key, and verifies its VAPID JWT
// with Node's crypto.
type Pushes struct {
	Base   string // http://127.0.0.1:PORT
	P256DH string // the subscription's public key
	Auth   string // and auth secret

	mu   sync.Mutex
	got  []Push
	more chan struct{}
}

// StartPushes starts the receiver; it expects sub as the JWT's sub.
func StartPushes(t testing.TB, sub string) *Pushes {
	t.Helper()
	cmd := exec.Command(node(t, "http_ece"), filepath.Join(dir(), "..", "..", "webpush", "testdata", "receiver.mjs"))
	cmd.Env = append(os.Environ(), "BELFRY_WEB_DIR="+webDir(), "VAPID_SUB="+sub)
	p := &Pushes{more: make(chan struct{}, 1)}
	hello := make(chan struct{})
	first := true
	start(t, cmd, func(line []byte) {
		if first {
			first = false
			var h struct {
				Port         int
				P256DH, Auth string
			}
			if err := json.Unmarshal(line, &h); err != nil || h.Port == 0 {
				t.Errorf("push receiver: %v in %s", err, line)
				return
			}
			p.Base, p.P256DH, p.Auth = fmt.Sprintf("http://127.0.0.1:%d", h.Port), h.P256DH, h.Auth
			close(hello)
			return
		}
		var r Push
		if err := json.Unmarshal(line, &r); err != nil {
			t.Errorf("push receiver: %v in %s", err, line)
			return
		}
		p.mu.Lock()
		p.got = append(p.got, r)
		p.mu.Unlock()
		select {
		case p.more <- struct{}{}:
		default:
		}
	})
	select {
	case <-hello:
	case <-time.After(20 * time.Second):
		t.Fatal("the push receiver did not start")
	}
	return p
}

// Endpoint returns a subscription endpoint that answers status, told
// apart from others by label (letters, digits, - and _).
func (p *Pushes) Endpoint(status int, label string) string {
	return fmt.Sprintf("%s/push/%d/%s", p.Base, status, label)
}

// Got returns the requests so far.
func (p *Pushes) Got() []Push {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]Push(nil), p.got...)
}

// Wait waits for the next request, at most d, and reports whether one came.
func (p *Pushes) Wait(d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-p.more:
		return true
	case <-t.C:
		return false
	}
}
