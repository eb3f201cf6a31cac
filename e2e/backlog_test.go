package e2e

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// plainBin is a belfry built without the race detector, for measuring a
// node's memory (the detector's shadow memory would swamp it).
var plainBin = sync.OnceValues(func() (string, error) {
	dir, err := os.MkdirTemp("", "belfry-e2e-plain-")
	if err != nil {
		return "", err
	}
	bin := filepath.Join(dir, "belfry")
	build := exec.Command("go", "build", "-o", bin, "./cmd/belfry")
	build.Dir = ".."
	if out, err := build.CombinedOutput(); err != nil {
		return "", fmt.Errorf("building belfry: %v\n%s", err, out)
	}
	return bin, nil
})

// procKiB reads a VmRSS-style field of /proc/PID/status, in KiB.
func procKiB(t *testing.T, pid int, field string) int64 {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Fatal(err)
	}
	for line := range strings.Lines(string(b)) {
		if v, ok := strings.CutPrefix(line, field+":"); ok {
			n, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			if err != nil {
				t.Fatal(err)
			}
			return n
		}
	}
	t.Fatalf("no %s in /proc/%d/status", field, pid)
	return 0
}

// Many clients that resume a large backlog and stop reading cost the node
// a small constant each, whatever the backlog: 100 resumers of a 50 MB
// backlog, all replaying at once, reading 1 MB each and then nothing, keep
// the node's peak RSS within tens of MiB of where it was. Meanwhile 200
// requests with unknown session cookies wait on an --auth-url app that
// does not answer, and another user's stream still reaches its sync.
func TestStalledResumersOfALargeBacklog(t *testing.T) {
	if testing.Short() {
		t.Skip("publishes a 50 MB backlog")
	}
	const (
		resumers = 100
		backlog  = 2500 // notifications of about 20 KiB: 50 MB
		readEach = 1 << 20
		limitMiB = 64
	)
	bin, err := plainBin()
	if err != nil {
		t.Fatal(err)
	}
	// The app behind --auth-url answers no one until the test ends.
	stuck := make(chan struct{})
	app := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-stuck:
		case <-r.Context().Done():
		}
		w.WriteHeader(http.StatusUnauthorized)
	}))
	t.Cleanup(app.Close)
	t.Cleanup(func() { close(stuck) })

	saved := belfryBin
	belfryBin = bin
	n := startNode(t, "backlog", "--store", "sqlite:"+filepath.Join(t.TempDir(), "b.db"),
		"--replays-per-user", strconv.Itoa(resumers), "--max-streams-per-user", "0",
		"--write-timeout", "10m", "--auth-url", app.URL)
	belfryBin = saved

	data := `{"blob":"` + strings.Repeat("d", 16<<10-16) + `"}`
	body := []byte(`{"user_id":"big","message":"` + strings.Repeat("m", 4<<10) + `","data":` + data + `}`)
	var wg sync.WaitGroup
	var next sync.Mutex
	left := backlog
	for range 8 {
		wg.Go(func() {
			for {
				next.Lock()
				if left == 0 || t.Failed() {
					next.Unlock()
					return
				}
				left--
				next.Unlock()
				req, _ := http.NewRequest("POST", n.url+"/api/notifications", bytes.NewReader(body))
				req.Header.Set("Authorization", "Bearer "+testAPIKey)
				req.Header.Set("Content-Type", "application/json")
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					t.Error(err)
					return
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode != http.StatusCreated {
					t.Errorf("publish: %d", resp.StatusCode)
				}
			}
		})
	}
	wg.Wait()
	if t.Failed() {
		t.FailNow()
	}

	pid := n.cmd.Process.Pid
	before := procKiB(t, pid, "VmRSS")
	addr := strings.TrimPrefix(n.url, "http://")
	got := make(chan error, resumers)
	for range resumers {
		go func() { got <- stalledResume(t, addr, readEach) }()
	}
	for range resumers {
		if err := <-got; err != nil {
			t.Fatal(err)
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	for i := range 200 {
		go func() {
			req, _ := http.NewRequestWithContext(ctx, "GET", n.url+"/notifications/stream", nil)
			req.Header.Set("Cookie", fmt.Sprintf("laravel_session=unknown-%d", i))
			if resp, err := http.DefaultClient.Do(req); err == nil {
				resp.Body.Close()
			}
		}()
	}
	waitFor(t, time.Minute, "200 cookie requests wait on the app", func() bool {
		return metric(t, n.url, "belfry_auth_url_waiting")+metric(t, n.url, "belfry_auth_url_calls_in_flight") >= 200
	})
	start := time.Now()
	syncWithin(t, n.url, "other")
	t.Logf("another user's stream reached its sync in %v", time.Since(start))
	peak := procKiB(t, pid, "VmHWM")
	t.Logf("RSS before %d MiB; peak with %d stalled resumers %d MiB (+%d MiB)",
		before>>10, resumers, peak>>10, (peak-before)>>10)
	if (peak-before)>>10 > limitMiB {
		t.Fatalf("peak RSS grew by %d MiB, want at most %d", (peak-before)>>10, limitMiB)
	}
}

// metric reads one sample of the node's /metrics, 0 when absent.
func metric(t *testing.T, url, sample string) float64 {
	t.Helper()
	resp, err := http.Get(url + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), sample+" "); ok {
			f, _ := strconv.ParseFloat(v, 64)
			return f
		}
	}
	return 0
}

// stalledResume resumes user big after id 0 on a connection with a small
// receive buffer, reads n bytes of the stream, and then reads nothing
// more; the connection stays open until the test ends.
func stalledResume(t *testing.T, addr string, n int) error {
	c, err := net.Dial("tcp", addr)
	if err != nil {
		return err
	}
	t.Cleanup(func() { c.Close() })
	_ = c.(*net.TCPConn).SetReadBuffer(4096)
	fmt.Fprintf(c, "GET /notifications/stream HTTP/1.1\r\nHost: belfry\r\nAuthorization: Bearer %s\r\nLast-Event-ID: 0\r\n\r\n",
		token(t, "big"))
	_ = c.SetReadDeadline(time.Now().Add(2 * time.Minute))
	br := bufio.NewReader(c)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("resume: status %d", resp.StatusCode)
	}
	_, err = io.CopyN(io.Discard, br, int64(n))
	return err
}

// syncWithin opens a fresh stream of user and fails the test unless it
// reaches its sync within a minute.
func syncWithin(t *testing.T, url, user string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "GET", url+"/notifications/stream", nil)
	req.Header.Set("Authorization", "Bearer "+token(t, user))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("stream of %s: %v", user, err)
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		if sc.Text() == "event: sync" {
			return
		}
	}
	t.Fatalf("stream of %s ended before its sync: %v", user, sc.Err())
}
