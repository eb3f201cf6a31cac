package webpush

import (
	"bufio"
	"encoding/json"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/belfry/belfry"
)

// receiver is testdata/receiver.mjs running under Node: a push service
// that decrypts with http_ece and verifies the VAPID JWT with Node's
// crypto, and tells the test what it saw.
type receiver struct {
	origin  string // http://127.0.0.1:port
	p256dh  string // the subscription's keys, made by Node, base64url
	auth    string
	reports chan report
}

// report is what the receiver saw of one request.
type report struct {
	Path    string
	Status  int
	TTL     string
	Urgency string
	Topic   string
	K       string
	Header  struct{ Alg, Typ string }
	Claims  struct {
		Aud string
		Exp int64
		Sub string
	}
	BodyLen   int `json:"body_len"`
	RS        int
	Idlen     int
	Plaintext []byte
	Errors    []string
}

const testSubject = "mailto:ops@belfry.example"

// startReceiver starts the Node receiver, or skips the test when node or
// web/node_modules (npm ci in web/) is missing. It stops at the test's end.
func startReceiver(t *testing.T) *receiver {
	t.Helper()
	node, err := exec.LookPath("node")
	if err != nil {
		t.Skip("node is not on the PATH: the tests against http_ece and Node's crypto need it")
	}
	web, err := filepath.Abs(filepath.Join("..", "web"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(web, "node_modules", "http_ece")); err != nil {
		t.Skip("web/node_modules/http_ece is missing: run npm ci in web/")
	}
	cmd := exec.Command(node, filepath.Join("testdata", "receiver.mjs"))
	cmd.Env = append(os.Environ(), "BELFRY_WEB_DIR="+web, "VAPID_SUB="+testSubject)
	cmd.Stderr = &testWriter{t}
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		stdin.Close() // the receiver exits when its stdin closes
		done := make(chan struct{})
		go func() { cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			cmd.Process.Kill()
			<-done
		}
	})

	lines := make(chan []byte, 16)
	go func() {
		defer close(lines)
		sc := bufio.NewScanner(stdout)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		for sc.Scan() {
			lines <- append([]byte(nil), sc.Bytes()...)
		}
	}()
	var hello struct {
		Port         int
		P256DH, Auth string
	}
	if err := json.Unmarshal(waitLine(t, lines), &hello); err != nil {
		t.Fatalf("the receiver's first line: %v", err)
	}
	r := &receiver{
		origin:  "http://127.0.0.1:" + strconv.Itoa(hello.Port),
		p256dh:  hello.P256DH,
		auth:    hello.Auth,
		reports: make(chan report, 16),
	}
	go func() {
		defer close(r.reports)
		for line := range lines {
			var rep report
			if err := json.Unmarshal(line, &rep); err != nil {
				rep.Errors = []string{"unreadable report " + string(line) + ": " + err.Error()}
			}
			r.reports <- rep
		}
	}()
	return r
}

// subscription returns the receiver's subscription whose endpoint answers
// status (with Retry-After retryAfter when not "").
func (r *receiver) subscription(status int, retryAfter string) belfry.Subscription {
	ep := r.origin + "/push/" + strconv.Itoa(status)
	if retryAfter != "" {
		ep += "?retry_after=" + url.QueryEscape(retryAfter)
	}
	return belfry.Subscription{Endpoint: ep, P256DH: r.p256dh, Auth: r.auth}
}

// next returns the receiver's report of the next request.
func (r *receiver) next(t *testing.T) report {
	t.Helper()
	select {
	case rep, ok := <-r.reports:
		if !ok {
			t.Fatal("the receiver stopped")
		}
		return rep
	case <-time.After(10 * time.Second):
		t.Fatal("no report from the receiver within 10s")
	}
	panic("unreachable")
}

func waitLine(t *testing.T, lines <-chan []byte) []byte {
	t.Helper()
	select {
	case l, ok := <-lines:
		if !ok {
			t.Fatal("the receiver exited before it was ready (see its stderr above)")
		}
		return l
	case <-time.After(10 * time.Second):
		t.Fatal("the receiver was not ready within 10s")
	}
	panic("unreachable")
}

// testWriter sends a child's stderr to the test log.
type testWriter struct{ t *testing.T }

func (w *testWriter) Write(p []byte) (int, error) {
	w.t.Logf("receiver: %s", p)
	return len(p), nil
}
