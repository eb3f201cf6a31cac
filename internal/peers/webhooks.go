package peers

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"sync"
	"testing"
	"time"
)

// Webhook is one request the webhook receiver got.
type Webhook struct {
	ID      string `json:"id"`      // webhook-id
	Attempt int    `json:"attempt"` // 1 for the first request with this id
	OK      bool   `json:"ok"`      // the signature verified
	Status  int    `json:"status"`  // what the receiver answered
	Error   string `json:"error"`   // why it did not verify
	Event   struct {
		Type      string          `json:"type"`
		Timestamp string          `json:"timestamp"`
		Data      json.RawMessage `json:"data"`
	} `json:"event"` // the verified body
}

// Webhooks is a running webhook receiver.
type Webhooks struct {
	URL string

	mu   sync.Mutex
	got  []Webhook
	more chan struct{}
}

// dir is this package's directory; web is the repository's web/.
func dir() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Dir(file)
}

func webDir() string { return filepath.Join(dir(), "..", "..", "web") }

// node returns the node binary, or skips t when node or the npm module is
// missing.
func node(t testing.TB, module string) string {
	t.Helper()
	bin, err := exec.LookPath("node")
	if err != nil {
		t.Skip("node is not installed: the test's peer needs it")
	}
	if _, err := os.Stat(filepath.Join(webDir(), "node_modules", module, "package.json")); err != nil {
		t.Skipf("web/node_modules/%s is missing: run npm ci in web/", module)
	}
	return bin
}

// StartWebhooks starts a receiver that verifies with secret (whsec_…)
// and answers 500 to the first failFirst attempts of each webhook-id.
func StartWebhooks(t testing.TB, secret string, failFirst int) *Webhooks {
	t.Helper()
	cmd := exec.Command(node(t, "standardwebhooks"), filepath.Join(dir(), "webhooks.mjs"), webDir(), secret, strconv.Itoa(failFirst))
	w := &Webhooks{more: make(chan struct{}, 1)}
	port := make(chan int, 1)
	start(t, cmd, func(line []byte) {
		var hello struct {
			Listening int `json:"listening"`
		}
		if json.Unmarshal(line, &hello) == nil && hello.Listening != 0 {
			port <- hello.Listening
			return
		}
		var h Webhook
		if err := json.Unmarshal(line, &h); err != nil {
			t.Errorf("webhook receiver: %v in %s", err, line)
			return
		}
		w.mu.Lock()
		w.got = append(w.got, h)
		w.mu.Unlock()
		select {
		case w.more <- struct{}{}:
		default:
		}
	})
	select {
	case p := <-port:
		w.URL = fmt.Sprintf("http://127.0.0.1:%d/hooks", p)
	case <-time.After(20 * time.Second):
		t.Fatal("the webhook receiver did not start")
	}
	return w
}

// Got returns the requests so far.
func (w *Webhooks) Got() []Webhook {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]Webhook(nil), w.got...)
}

// WaitFor waits until cond holds for the requests so far, failing t
// after timeout.
func (w *Webhooks) WaitFor(t testing.TB, timeout time.Duration, what string, cond func([]Webhook) bool) []Webhook {
	t.Helper()
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	for {
		got := w.Got()
		if cond(got) {
			return got
		}
		select {
		case <-w.more:
		case <-deadline.C:
			t.Fatalf("timed out after %v waiting for %s; got %d requests: %+v", timeout, what, len(got), got)
		}
	}
}

// start runs cmd with stdin held open (the peer exits when it closes) and
// hands each stdout line to onLine; the peer is stopped at cleanup. It
// returns the peer's stdin, for a peer that takes commands there.
func start(t testing.TB, cmd *exec.Cmd, onLine func([]byte)) io.Writer {
	t.Helper()
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		sc := bufio.NewScanner(stdout)
		sc.Buffer(make([]byte, 1<<20), 4<<20)
		for sc.Scan() {
			onLine(sc.Bytes())
		}
	}()
	t.Cleanup(func() {
		stdin.Close()
		<-done
		_ = cmd.Wait()
	})
	return stdin
}

// Wait waits for the next request, at most d, and reports whether one came.
func (w *Webhooks) Wait(d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-w.more:
		return true
	case <-t.C:
		return false
	}
}
