package bench_test

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/belfry/belfry/httpapi"
	"github.com/belfry/belfry/internal/bench"
)

func TestIdle(t *testing.T) {
	url := startBelfry(t)
	cfg := belfryConfig(url, "idle")
	cfg.Streams, cfg.Duration = 50, 10*time.Millisecond
	res := run(t, cfg)
	if res.Connect == nil || res.Connect.Connected != 50 || res.Connect.Failed != 0 {
		t.Fatalf("connect: %+v, errors %v", res.Connect, res.Errors)
	}
	// The server runs in this process: found by its port all the same.
	if res.Server == nil || res.Server.RSSAfter <= 0 || !res.Server.SameProcess {
		t.Fatalf("server: %+v", res.Server)
	}
	if res.Client == nil || res.Client.RSS <= 0 {
		t.Fatalf("client: %+v", res.Client)
	}
}

func TestTargeted(t *testing.T) {
	url := startBelfry(t)
	cfg := belfryConfig(url, "targeted")
	cfg.Streams, cfg.Publishes = 20, 1000
	res := run(t, cfg)
	d := res.Delivery
	if d == nil || d.Delivered != 1000 || d.Expected != 1000 || d.Lost != 0 || d.Dup != 0 || d.Unexpected != 0 {
		t.Fatalf("delivery: %+v, errors %v", d, res.Errors)
	}
	if p := res.Publish; p.OK != 1000 || p.Failed != 0 {
		t.Fatalf("publish: %+v", p)
	}
	if d.Max <= 0 {
		t.Errorf("no latency measured: %+v", d)
	}
	// The server runs in this process, so the load generator's CPU over
	// the publishing includes it: well over the 10 ms a /proc tick
	// counts, and less than the whole run's.
	c := res.Client
	if c == nil || c.PhaseCPU <= 0 || c.PhaseCPU > c.CPU || c.CPUPerDelivery != c.PhaseCPU*1e6/1000 {
		t.Errorf("client CPU: %+v", c)
	}
}

// Several users per request (user_ids), several streams per user, and two
// worker processes (this test binary re-executed).
func TestBroadcastWorkerProcesses(t *testing.T) {
	url := startBelfry(t)
	cfg := belfryConfig(url, "broadcast")
	cfg.Streams, cfg.Users, cfg.Publishes, cfg.Batch, cfg.Procs = 30, 10, 4, 5, 2
	res := run(t, cfg)
	if res.Procs != 2 || res.Connect.Connected != 30 {
		t.Fatalf("procs %d, connect %+v, errors %v", res.Procs, res.Connect, res.Errors)
	}
	// 4 requests of 5 users (round robin over 10): each user named twice,
	// 3 streams per user.
	d := res.Delivery
	if d.Delivered != 60 || d.Expected != 60 || d.Lost != 0 || d.Dup != 0 {
		t.Fatalf("delivery: %+v, errors %v", d, res.Errors)
	}
	if res.Publish.Notifications != 20 {
		t.Fatalf("publish: %+v", res.Publish)
	}
}

func TestStorm(t *testing.T) {
	url := startBelfry(t)
	cfg := belfryConfig(url, "storm")
	cfg.Streams, cfg.Missed = 20, 3
	res := run(t, cfg)
	d, s := res.Delivery, res.Storm
	if s == nil || s.Reconnected != 20 || s.Failed != 0 {
		t.Fatalf("storm: %+v, errors %v", s, res.Errors)
	}
	// One live notification and 3 missed per stream (one user each).
	if d.Expected != 80 || d.Delivered != 80 || d.Lost != 0 || d.Dup != 0 || d.Incomplete != 0 {
		t.Fatalf("delivery: %+v, errors %v", d, res.Errors)
	}
	if s.CatchUp < 0 {
		t.Fatalf("not caught up: %+v", s)
	}
}

// Main: flags, the table, the JSON file, the exit status.
func TestMainJSON(t *testing.T) {
	url := startBelfry(t)
	file := filepath.Join(t.TempDir(), "out.json")
	var stdout, stderr bytes.Buffer
	code := bench.Main(t.Context(), []string{"--scenario", "targeted", "--url", url,
		"--jwt-secret", testSecret, "--api-key", testAPIKey, "--streams", "5", "--publishes", "10",
		"--json", file}, &stdout, &stderr)
	if code != bench.ExitOK {
		t.Fatalf("exit %d\n%s\n%s", code, stdout.String(), stderr.String())
	}
	if !strings.Contains(stdout.String(), "lost / dup / unexpected") {
		t.Errorf("no table:\n%s", stdout.String())
	}
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	var res bench.Result
	if err := json.Unmarshal(b, &res); err != nil {
		t.Fatal(err)
	}
	if res.Delivery == nil || res.Delivery.Delivered != 10 {
		t.Fatalf("json: %s", b)
	}
}

// A wrong API key: every publish fails, which fails the run (exit 1), and
// nothing counts as lost.
func TestMainPublishFails(t *testing.T) {
	url := startBelfry(t)
	var stdout, stderr bytes.Buffer
	code := bench.Main(t.Context(), []string{"--url", url, "--jwt-secret", testSecret,
		"--api-key", "wrong", "--streams", "2", "--publishes", "3", "--drain", "1s"}, &stdout, &stderr)
	if code != bench.ExitFail || !strings.Contains(stderr.String(), "3 publishes failed") {
		t.Fatalf("exit %d\n%s\n%s", code, stdout.String(), stderr.String())
	}
	if !strings.Contains(stdout.String(), "0 / 0 / 0") || !strings.Contains(stdout.String(), "401") {
		t.Errorf("table:\n%s", stdout.String())
	}
}

func TestMainUsage(t *testing.T) {
	for _, args := range [][]string{
		{"--scenario", "nope"},
		{"--url", "http://192.0.2.1:8080"}, // not loopback, no --allow-remote
		{"--stream-url", "http://127.0.0.1:1/s?x={{nope}}"},
		{"extra"},
	} {
		var stdout, stderr bytes.Buffer
		if code := bench.Main(t.Context(), args, &stdout, &stderr); code != bench.ExitUsage {
			t.Errorf("%q: exit %d, want %d\n%s", args, code, bench.ExitUsage, stderr.String())
		}
	}
}

func TestFloor(t *testing.T) {
	res := run(t, bench.Config{Scenario: "floor", Streams: 10, Rounds: 3})
	f := res.Floor
	if f == nil || f.Writes != 30 || f.Sockets != 10 || f.WallPerOp <= 0 {
		t.Fatalf("floor: %+v", f)
	}
}

// Users and tokens from a file (--tokens), and a stream URL template that
// carries the token in a header instead of the query.
func TestTokensFileAndHeaderTemplate(t *testing.T) {
	url := startBelfry(t)
	var lines strings.Builder
	lines.WriteString("# user token\n")
	for _, u := range []string{"alice", "bob", "carol"} {
		tok, err := httpapi.MintToken([]byte(testSecret), u, time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		lines.WriteString(u + " " + tok + "\n")
	}
	file := filepath.Join(t.TempDir(), "tokens")
	if err := os.WriteFile(file, []byte(lines.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg := belfryConfig(url, "targeted")
	cfg.JWTSecret = ""
	cfg.TokensFile = file
	cfg.StreamURL = url + "/notifications/stream"
	cfg.StreamHdrs = []string{"Authorization: Bearer {{token}}"}
	cfg.Streams, cfg.Publishes = 6, 9 // two streams for each of the 3 users
	res := run(t, cfg)
	if res.Users != 3 || res.Connect.Connected != 6 {
		t.Fatalf("users %d, connect %+v, errors %v", res.Users, res.Connect, res.Errors)
	}
	if d := res.Delivery; d.Delivered != 18 || d.Lost != 0 || d.Dup != 0 {
		t.Fatalf("delivery: %+v", d)
	}
}
